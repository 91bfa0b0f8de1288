//! The native v1 JSON contract of the five topics (see the README, "Event
//! schema", and "Value stream" for work items and satisfaction).

use std::borrow::Cow;

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::json::{
    ChangeV1, DEFAULT_ENVIRONMENT, Text, changes, check_object, classify, cow, parse_time,
};
use super::usage_scan;
use crate::domain::event::{FlowCategory, InvalidReason};
use crate::domain::{
    Deploy, DeployStatus, Incident, IncidentStatus, Satisfaction, SatisfactionScore, Usage,
    WorkItem,
};

/// `deploys` topic, native v1.
#[derive(Deserialize)]
struct DeployV1<'a> {
    #[serde(borrow)]
    id: Text<'a>,
    #[serde(borrow)]
    service: Text<'a>,
    #[serde(borrow, default)]
    team: Option<Text<'a>>,
    #[serde(borrow, default)]
    environment: Option<Text<'a>>,
    #[serde(borrow)]
    status: Text<'a>,
    #[serde(borrow)]
    finished_at: Text<'a>,
    #[serde(borrow, default)]
    started_at: Option<Text<'a>>,
    #[serde(borrow, default)]
    artifact: Option<Text<'a>>,
    #[serde(borrow, default)]
    changes: Vec<ChangeV1<'a>>,
    #[serde(borrow, default)]
    features: Vec<Text<'a>>,
    #[serde(borrow, default)]
    rollback_of: Option<Text<'a>>,
    #[serde(borrow, default)]
    fixes_incident: Option<Text<'a>>,
    /// Present only when the record is in fact a CloudEvent.
    #[serde(default)]
    specversion: Option<IgnoredAny>,
}

/// `incidents` topic, native v1.
#[derive(Deserialize)]
struct IncidentV1<'a> {
    #[serde(borrow)]
    id: Text<'a>,
    #[serde(borrow)]
    service: Text<'a>,
    #[serde(borrow, default)]
    team: Option<Text<'a>>,
    #[serde(borrow, default)]
    environment: Option<Text<'a>>,
    #[serde(borrow)]
    status: Text<'a>,
    #[serde(borrow)]
    opened_at: Text<'a>,
    #[serde(borrow, default)]
    resolved_at: Option<Text<'a>>,
    #[serde(borrow, default)]
    caused_by_deploy: Option<Text<'a>>,
    #[serde(borrow, default)]
    artifact: Option<Text<'a>>,
    /// Present only when the record is in fact a CloudEvent.
    #[serde(default)]
    specversion: Option<IgnoredAny>,
}

/// A native deploy, and whether the object also has a `specversion`.
pub(super) fn decode_deploy(payload: &[u8]) -> Result<(Deploy<'_>, bool), InvalidReason> {
    let w: DeployV1<'_> = serde_json::from_slice(payload).map_err(|e| classify(&e))?;
    let status = match w.status.0.as_ref() {
        "succeeded" => DeployStatus::Succeeded,
        "failed" => DeployStatus::Failed,
        "rolled_back" => DeployStatus::RolledBack,
        _ => return Err(InvalidReason::BadStatus),
    };
    if let Some(t) = &w.started_at {
        parse_time(&t.0)?;
    }
    let changes = changes(w.changes)?;
    let is_cloudevent = w.specversion.is_some();
    let d = Deploy {
        id: w.id.0,
        service: w.service.0,
        team: cow(w.team),
        environment: cow(w.environment).unwrap_or(Cow::Borrowed(DEFAULT_ENVIRONMENT)),
        status,
        finished_at: parse_time(&w.finished_at.0)?,
        artifact: cow(w.artifact),
        changes,
        features: w.features.into_iter().map(|t| t.0).collect(),
        rollback_of: cow(w.rollback_of),
        fixes_incident: cow(w.fixes_incident),
    };
    d.validate()?;
    Ok((d, is_cloudevent))
}

/// A native incident, and whether the object also has a `specversion`.
pub(super) fn decode_incident(payload: &[u8]) -> Result<(Incident<'_>, bool), InvalidReason> {
    let w: IncidentV1<'_> = serde_json::from_slice(payload).map_err(|e| classify(&e))?;
    let status = match w.status.0.as_ref() {
        "opened" => IncidentStatus::Opened,
        "resolved" => IncidentStatus::Resolved,
        _ => return Err(InvalidReason::BadStatus),
    };
    let is_cloudevent = w.specversion.is_some();
    let i = Incident {
        id: w.id.0,
        service: w.service.0,
        team: cow(w.team),
        environment: cow(w.environment).unwrap_or(Cow::Borrowed(DEFAULT_ENVIRONMENT)),
        status,
        opened_at: Some(parse_time(&w.opened_at.0)?),
        resolved_at: w.resolved_at.map(|t| parse_time(&t.0)).transpose()?,
        source: None,
        caused_by_deploy: cow(w.caused_by_deploy),
        artifact: cow(w.artifact),
    };
    i.validate()?;
    Ok((i, is_cloudevent))
}

/// `work-items` topic, native v1: one state transition.
#[derive(Deserialize)]
struct WorkItemV1<'a> {
    #[serde(borrow)]
    id: Text<'a>,
    #[serde(borrow)]
    service: Text<'a>,
    #[serde(borrow, default)]
    team: Option<Text<'a>>,
    #[serde(borrow, default)]
    environment: Option<Text<'a>>,
    #[serde(borrow)]
    state: Text<'a>,
    #[serde(borrow, default)]
    category: Option<Text<'a>>,
    #[serde(borrow)]
    at: Text<'a>,
    #[serde(borrow, default)]
    changes: Vec<Text<'a>>,
    #[serde(borrow, default)]
    deploys: Vec<Text<'a>>,
    /// Present only when the record is in fact a CloudEvent.
    #[serde(default)]
    specversion: Option<IgnoredAny>,
}

/// A native work-item transition, and whether the object also has a
/// `specversion`.
pub(super) fn decode_work_item(payload: &[u8]) -> Result<(WorkItem<'_>, bool), InvalidReason> {
    let w: WorkItemV1<'_> = serde_json::from_slice(payload).map_err(|e| classify(&e))?;
    let category = w
        .category
        .map(|c| FlowCategory::from_name(&c.0).ok_or(InvalidReason::BadStatus))
        .transpose()?;
    let item = WorkItem {
        id: w.id.0,
        service: w.service.0,
        team: cow(w.team),
        environment: cow(w.environment),
        state: w.state.0,
        category,
        at: parse_time(&w.at.0)?,
        changes: w.changes.into_iter().map(|t| t.0).collect(),
        deploys: w.deploys.into_iter().map(|t| t.0).collect(),
    };
    item.validate()?;
    Ok((item, w.specversion.is_some()))
}

/// `satisfaction` topic, native v1: one response.
#[derive(Deserialize)]
struct SatisfactionV1<'a> {
    #[serde(borrow)]
    id: Text<'a>,
    #[serde(borrow, default)]
    service: Option<Text<'a>>,
    #[serde(borrow, default)]
    team: Option<Text<'a>>,
    #[serde(borrow, default)]
    feature: Option<Text<'a>>,
    #[serde(borrow)]
    kind: Text<'a>,
    score: i64,
    #[serde(borrow)]
    at: Text<'a>,
    /// Present only when the record is in fact a CloudEvent.
    #[serde(default)]
    specversion: Option<IgnoredAny>,
}

/// A native satisfaction response, and whether the object also has a
/// `specversion`.
pub(super) fn decode_satisfaction(
    payload: &[u8],
) -> Result<(Satisfaction<'_>, bool), InvalidReason> {
    let w: SatisfactionV1<'_> = serde_json::from_slice(payload).map_err(|e| classify(&e))?;
    let value = u8::try_from(w.score).map_err(|_| InvalidReason::OutOfRange)?;
    let score = match w.kind.0.as_ref() {
        "csat" => SatisfactionScore::Csat(value),
        "nps" => SatisfactionScore::Nps(value),
        _ => return Err(InvalidReason::BadStatus),
    };
    let s = Satisfaction {
        id: w.id.0,
        service: cow(w.service),
        team: cow(w.team),
        feature: cow(w.feature),
        score,
        at: parse_time(&w.at.0)?,
    };
    s.validate()?;
    Ok((s, w.specversion.is_some()))
}

/// `feature-usage` topic, native v1.
#[derive(Deserialize)]
struct UsageV1<'a> {
    #[serde(borrow)]
    feature: Text<'a>,
    #[serde(borrow)]
    user: Text<'a>,
    #[serde(borrow)]
    at: Text<'a>,
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
    if w.feature.0.is_empty() || w.user.0.is_empty() {
        return Err(InvalidReason::EmptyField);
    }
    Ok(Usage {
        feature: w.feature.0,
        user: w.user.0,
        at: parse_time(&w.at.0)?,
    })
}
