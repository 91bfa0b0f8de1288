//! The native v1 JSON contract of the six topics (see the README, "Event
//! schema", and "Value stream" for work items and satisfaction): the wire
//! types of `wire.rs` to domain events, validated.

use std::borrow::Cow;

use super::json::{DEFAULT_ENVIRONMENT, changes, check_object, classify, parse_time};
use super::usage_scan;
use super::wire::{DeployV1, IncidentV1, PushedChangeV1, SatisfactionV1, UsageV1, WorkItemV1};
use crate::domain::event::{FlowCategory, InvalidReason};
use crate::domain::{
    Deploy, DeployStatus, Incident, IncidentStatus, PushedChange, Satisfaction, SatisfactionScore,
    Usage, WorkItem,
};

/// A native deploy, and whether the object also has a `specversion`.
pub(super) fn decode_deploy(payload: &[u8]) -> Result<(Deploy<'_>, bool), InvalidReason> {
    let w: DeployV1<'_> = serde_json::from_slice(payload).map_err(|e| classify(&e))?;
    let status = match w.status.as_ref() {
        "succeeded" => DeployStatus::Succeeded,
        "failed" => DeployStatus::Failed,
        "rolled_back" => DeployStatus::RolledBack,
        _ => return Err(InvalidReason::BadStatus),
    };
    if let Some(t) = &w.started_at {
        parse_time(t)?;
    }
    let changes = changes(w.changes)?;
    let is_cloudevent = w.specversion.is_some();
    let d = Deploy {
        id: w.id,
        service: w.service,
        team: w.team,
        environment: w.environment.unwrap_or(Cow::Borrowed(DEFAULT_ENVIRONMENT)),
        status,
        finished_at: parse_time(&w.finished_at)?,
        artifact: w.artifact,
        changes,
        features: w.features,
        rollback_of: w.rollback_of,
        fixes_incident: w.fixes_incident,
        repository: w.repository,
        revision: w.revision,
    };
    d.validate()?;
    Ok((d, is_cloudevent))
}

/// A native incident, and whether the object also has a `specversion`.
pub(super) fn decode_incident(payload: &[u8]) -> Result<(Incident<'_>, bool), InvalidReason> {
    let w: IncidentV1<'_> = serde_json::from_slice(payload).map_err(|e| classify(&e))?;
    let status = match w.status.as_ref() {
        "opened" => IncidentStatus::Opened,
        "resolved" => IncidentStatus::Resolved,
        _ => return Err(InvalidReason::BadStatus),
    };
    let is_cloudevent = w.specversion.is_some();
    let i = Incident {
        id: w.id,
        service: w.service,
        team: w.team,
        environment: w.environment.unwrap_or(Cow::Borrowed(DEFAULT_ENVIRONMENT)),
        status,
        opened_at: Some(parse_time(&w.opened_at)?),
        resolved_at: w.resolved_at.as_deref().map(parse_time).transpose()?,
        source: None,
        caused_by_deploy: w.caused_by_deploy,
        artifact: w.artifact,
    };
    i.validate()?;
    Ok((i, is_cloudevent))
}

/// A native work-item transition, and whether the object also has a
/// `specversion`.
pub(super) fn decode_work_item(payload: &[u8]) -> Result<(WorkItem<'_>, bool), InvalidReason> {
    let w: WorkItemV1<'_> = serde_json::from_slice(payload).map_err(|e| classify(&e))?;
    let category = w
        .category
        .map(|c| FlowCategory::from_name(&c).ok_or(InvalidReason::BadStatus))
        .transpose()?;
    let item = WorkItem {
        id: w.id,
        service: w.service,
        team: w.team,
        environment: w.environment,
        state: w.state,
        category,
        at: parse_time(&w.at)?,
        changes: w.changes,
        deploys: w.deploys,
    };
    item.validate()?;
    Ok((item, w.specversion.is_some()))
}

/// A native satisfaction response, and whether the object also has a
/// `specversion`.
pub(super) fn decode_satisfaction(
    payload: &[u8],
) -> Result<(Satisfaction<'_>, bool), InvalidReason> {
    let w: SatisfactionV1<'_> = serde_json::from_slice(payload).map_err(|e| classify(&e))?;
    let value = u8::try_from(w.score).map_err(|_| InvalidReason::OutOfRange)?;
    let score = match w.kind.as_ref() {
        "csat" => SatisfactionScore::Csat(value),
        "nps" => SatisfactionScore::Nps(value),
        _ => return Err(InvalidReason::BadStatus),
    };
    let s = Satisfaction {
        id: w.id,
        service: w.service,
        team: w.team,
        feature: w.feature,
        score,
        at: parse_time(&w.at)?,
    };
    s.validate()?;
    Ok((s, w.specversion.is_some()))
}

/// A pushed commit of the `changes` topic (native v1 only).
pub(super) fn decode_push(payload: &[u8]) -> Result<(PushedChange<'_>, bool), InvalidReason> {
    let w: PushedChangeV1<'_> = serde_json::from_slice(payload).map_err(|e| classify(&e))?;
    if w.id.is_empty() || w.repository.is_empty() {
        return Err(InvalidReason::EmptyField);
    }
    let c = PushedChange {
        id: w.id,
        repository: w.repository,
        parent: w.parent.filter(|p| !p.is_empty()),
        committed_at: parse_time(&w.committed_at)?,
    };
    Ok((c, false))
}

/// Decodes a `feature-usage` payload (native v1, the only format of that
/// topic).
pub fn decode_usage(payload: &[u8]) -> Result<Usage<'_>, InvalidReason> {
    if let Some([feature, user, at]) = usage_scan::scan(payload) {
        if feature.is_empty() || user.is_empty() {
            return Err(InvalidReason::EmptyField);
        }
        return Ok(Usage {
            feature: Cow::Borrowed(feature),
            user: Cow::Borrowed(user),
            at: parse_time(at)?,
        });
    }
    check_object(payload)?;
    let w: UsageV1<'_> = serde_json::from_slice(payload).map_err(|e| classify(&e))?;
    if w.feature.is_empty() || w.user.is_empty() {
        return Err(InvalidReason::EmptyField);
    }
    Ok(Usage {
        feature: w.feature,
        user: w.user,
        at: parse_time(&w.at)?,
    })
}
