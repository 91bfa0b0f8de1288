//! The native v1 event the flags describe, as a wire type (see
//! [`crate::ingest::decode::wire`]) written to the JSON value the encoder
//! reads: defaults filled in (ids, `now`), flags that cannot be right
//! refused with their name.

use serde_json::Value;

use super::args::{
    DeployArgs, DeployStatusArg, IncidentArgs, IncidentStatusArg, SatisfactionArgs, WorkItemArgs,
};
use super::{EmitError, invalid};
use crate::domain::{DeployStatus, FlowCategory};
use crate::ingest::decode::{
    ChangeV1, DeployV1, IncidentV1, SatisfactionV1, WorkItemV1, format_time, parse_time,
};

/// A generated id: `<prefix>-<ms since epoch>-<8 hex digits>`.
fn generated_id(prefix: &str, now_ms: i64) -> String {
    let nanos = crate::clock::now_nanos();
    let mix =
        xxhash_rust::xxh3::xxh3_64(format!("{nanos}/{}/{now_ms}", std::process::id()).as_bytes());
    format!("{prefix}-{now_ms}-{:08x}", mix as u32)
}

/// Checks a timestamp flag, naming it.
fn time_flag(flag: &str, value: &str) -> Result<(), EmitError> {
    parse_time(value)
        .map(drop)
        .map_err(|_| invalid(format!("{flag} {value:?} is not an RFC 3339 timestamp")))
}

/// The native v1 deploy described by the flags.
pub(super) fn deploy_json(a: &DeployArgs, now_ms: i64) -> Result<(String, Value), EmitError> {
    let id = a.id.clone().unwrap_or_else(|| generated_id("d", now_ms));
    let finished_at = a.finished_at.clone().unwrap_or_else(|| format_time(now_ms));
    time_flag("--finished-at", &finished_at)?;
    if let Some(s) = &a.started_at {
        time_flag("--started-at", s)?;
    }
    let mut changes = Vec::new();
    for c in &a.commits {
        let Some((sha, at)) = c
            .split_once('@')
            .filter(|(s, a)| !s.is_empty() && !a.is_empty())
        else {
            return Err(invalid(format!(
                "--commit {c:?} is not SHA@COMMITTED_AT, e.g. 4be1c0d@2026-11-24T16:20:00Z"
            )));
        };
        time_flag(&format!("--commit {sha}@"), at)?;
        changes.push(ChangeV1 {
            id: Some(sha.into()),
            committed_at: at.into(),
        });
    }
    let status = match a.status {
        DeployStatusArg::Succeeded => DeployStatus::Succeeded,
        DeployStatusArg::Failed => DeployStatus::Failed,
        DeployStatusArg::RolledBack => DeployStatus::RolledBack,
    };
    let wire = DeployV1 {
        id: id.as_str().into(),
        service: a.service.as_str().into(),
        team: a.team.as_deref().map(Into::into),
        environment: a.environment.as_deref().map(Into::into),
        status: status.as_str().into(),
        finished_at: finished_at.into(),
        started_at: a.started_at.as_deref().map(Into::into),
        version: a.version.as_deref().map(Into::into),
        artifact: a.artifact.as_deref().map(Into::into),
        changes,
        features: a.features.iter().map(|f| f.as_str().into()).collect(),
        rollback_of: a.rollback_of.as_deref().map(Into::into),
        fixes_incident: a.fixes_incident.as_deref().map(Into::into),
        repository: None,
        revision: None,
        specversion: None,
    };
    let value = to_value(&wire);
    Ok((id, value))
}

/// The native v1 incident event described by the flags.
pub(super) fn incident_json(a: &IncidentArgs, now_ms: i64) -> Result<(String, Value), EmitError> {
    let (status, opened_at) = match a.status {
        IncidentStatusArg::Opened => {
            if a.resolved_at.is_some() {
                return Err(invalid(
                    "--resolved-at belongs to --status resolved; an opening has none",
                ));
            }
            (
                "opened",
                a.opened_at.clone().unwrap_or_else(|| format_time(now_ms)),
            )
        }
        IncidentStatusArg::Resolved => {
            let mut missing: Vec<&str> = Vec::new();
            if a.id.is_none() {
                missing.push("--id (the id of the opened incident)");
            }
            if a.opened_at.is_none() {
                missing.push("--opened-at");
            }
            if a.resolved_at.is_none() {
                missing.push("--resolved-at");
            }
            if !missing.is_empty() {
                return Err(invalid(format!(
                    "--status resolved needs {}",
                    missing.join(", ")
                )));
            }
            ("resolved", a.opened_at.clone().unwrap_or_default())
        }
    };
    time_flag("--opened-at", &opened_at)?;
    if let Some(r) = &a.resolved_at {
        time_flag("--resolved-at", r)?;
    }
    let id = a.id.clone().unwrap_or_else(|| generated_id("inc", now_ms));
    let wire = IncidentV1 {
        id: id.as_str().into(),
        service: a.service.as_str().into(),
        team: a.team.as_deref().map(Into::into),
        environment: a.environment.as_deref().map(Into::into),
        status: status.into(),
        severity: a.severity.as_deref().map(Into::into),
        opened_at: opened_at.into(),
        resolved_at: a.resolved_at.as_deref().map(Into::into),
        caused_by_deploy: a.caused_by_deploy.as_deref().map(Into::into),
        artifact: a.artifact.as_deref().map(Into::into),
        specversion: None,
    };
    let value = to_value(&wire);
    Ok((id, value))
}

/// A wire event as the JSON value the encoder reads.
fn to_value(wire: &impl serde::Serialize) -> Value {
    serde_json::to_value(wire).expect("a wire event always serializes")
}

/// The native v1 work item described by the flags.
pub(super) fn work_item_json(a: &WorkItemArgs, now_ms: i64) -> Result<(String, Value), EmitError> {
    let at = a.at.clone().unwrap_or_else(|| format_time(now_ms));
    time_flag("--at", &at)?;
    let wire = WorkItemV1 {
        id: a.id.as_str().into(),
        service: a.service.as_str().into(),
        team: a.team.as_deref().map(Into::into),
        environment: a.environment.as_deref().map(Into::into),
        state: a.state.as_str().into(),
        category: a.category.map(|c| FlowCategory::from(c).as_str().into()),
        at: at.into(),
        changes: a.changes.iter().map(|c| c.as_str().into()).collect(),
        deploys: a.deploys.iter().map(|d| d.as_str().into()).collect(),
        summary: a.summary.as_deref().map(Into::into),
        ..WorkItemV1::default()
    };
    Ok((a.id.clone(), to_value(&wire)))
}

/// The native v1 satisfaction response described by the flags, and its
/// record key (the service, else the feature).
pub(super) fn satisfaction_json(
    a: &SatisfactionArgs,
    now_ms: i64,
) -> Result<(String, String, Value), EmitError> {
    let key = a
        .service
        .clone()
        .or_else(|| a.feature.clone())
        .ok_or_else(|| invalid("a response needs --service or --feature"))?;
    let (kind, score) = match (a.csat, a.nps) {
        (Some(s), None) => ("csat", s),
        (None, Some(s)) => ("nps", s),
        _ => return Err(invalid("give one of --csat and --nps")),
    };
    let at = a.at.clone().unwrap_or_else(|| format_time(now_ms));
    time_flag("--at", &at)?;
    let id = a.id.clone().unwrap_or_else(|| generated_id("r", now_ms));
    let wire = SatisfactionV1 {
        id: id.as_str().into(),
        service: a.service.as_deref().map(Into::into),
        team: a.team.as_deref().map(Into::into),
        feature: a.feature.as_deref().map(Into::into),
        kind: kind.into(),
        score,
        at: at.into(),
        specversion: None,
    };
    let value = to_value(&wire);
    Ok((id, key, value))
}
