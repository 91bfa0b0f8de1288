//! Linear webhooks to native v1 work items. A pure function: no I/O, no
//! clock.
//!
//! | `type`, `action` | becomes |
//! |---|---|
//! | `Issue`, `update` with `updatedFrom.stateId` (the state changed) | a work-item transition: `state` = `data.state.name`, `at` = `data.updatedAt` |
//! | `Issue`, `create` | a transition into the issue's first state, `at` = `data.createdAt` |
//! | any other (`Issue` `remove`, an update of other fields, comments, projects, cycles, …) | nothing (ignored) |
//!
//! **Ids.** The item is `linear-<data.identifier>` (`ENG-42`). The daemon
//! keys a transition by *(item, `at`)*, so every state change is its own
//! transition in whatever order they arrive, and a redelivery (the same
//! `data.updatedAt`) is its `duplicate`.
//!
//! **Category.** From `data.state.type`, when that type is in
//! `state_types`: `started` → active, `completed` → done, `triage`,
//! `backlog`, `unstarted` → waiting, and `canceled` → waiting. The daemon
//! has no "none" category; what keeps an item out of every figure is that
//! it never *finishes* (its last transition is not done, see
//! `domain::flow`), and a canceled item's last transition is the
//! cancellation. Sending it as `waiting` (rather than no category) keeps it
//! out of `valuepulse_work_item_unmapped_transitions`. A type not in
//! `state_types` leaves the category to `flow.states` by the state's name;
//! the default leaves `started` out, as Linear's "In Review" is a started
//! state, which the value stream counts as waiting.
//!
//! **Service.** From the team key (`data.team.key`, else the identifier's
//! prefix) through the `services` rules, else the team key and no team.
//!
//! Authenticity is checked before: the signature over the raw body
//! (`Linear-Signature`) and [`fresh`] (`webhookTimestamp`).

use std::borrow::Cow;

use serde::Deserialize;

use super::map::{self, Field, Malformed, Mapped, Out, owned};
use super::verify::Refused;
use crate::config::bridge::LinearSource;
use crate::ingest::decode::WorkItemV1;

/// The delivery as native v1 events, or nothing (ignored); `Malformed`
/// names the first field that is missing, mistyped or unreadable.
pub fn map(body: &[u8], cfg: &LinearSource) -> Result<Mapped, Malformed> {
    let w: Webhook = map::json(body)?;
    let kind = w.kind.required("type")?;
    let action = w.action.required("action")?;
    let label = label(&kind, &action);
    let state_changed = match label {
        "issue.create" => true,
        "issue.update" => {
            let from = w.updated_from.optional("updatedFrom")?;
            from.is_some_and(|f| matches!(f.state_id, Field::Ok(_)))
        }
        _ => false,
    };
    if !state_changed {
        return Ok(Mapped::ignored(label));
    }
    let data = w.data.required("data")?;
    let identifier = data.identifier.text("data.identifier")?;
    let state = data.state.required("data.state")?;
    let name = state.name.text("data.state.name")?;
    let category = match state.kind.optional("data.state.type")? {
        Some(t) if cfg.state_types.contains(&t) => category(&t),
        _ => None,
    };
    let team_key = match data.team.optional("data.team")? {
        Some(t) => t.key.text("data.team.key")?,
        None => identifier
            .rsplit_once('-')
            .map(|(k, _)| k.to_owned())
            .filter(|k| !k.is_empty())
            .ok_or_else(|| Malformed("data.team".to_owned()))?,
    };
    let (service, team) = map::service_of(&cfg.services, &team_key, &team_key);
    let at = if label == "issue.create" {
        data.created_at.time("data.createdAt")?
    } else {
        data.updated_at.time("data.updatedAt")?
    };
    let item = WorkItemV1 {
        id: owned(format!("linear-{identifier}")),
        service: owned(service),
        team: team.map(owned),
        state: owned(name),
        category: category.map(Cow::Borrowed),
        at: owned(at),
        ..WorkItemV1::default()
    };
    Ok(Mapped::one(label, Out::WorkItem(item)))
}

/// The flow category of a Linear state type, if it is one Linear
/// documents.
fn category(state_type: &str) -> Option<&'static str> {
    match state_type {
        "started" => Some("active"),
        "completed" => Some("done"),
        // A canceled item must be in no figure: it never finishes.
        "triage" | "backlog" | "unstarted" | "canceled" => Some("waiting"),
        _ => None,
    }
}

/// The `event` label: `issue.<action>` for the issue actions, else
/// `other`.
fn label(kind: &str, action: &str) -> &'static str {
    match (kind, action) {
        ("Issue", "create") => "issue.create",
        ("Issue", "update") => "issue.update",
        ("Issue", "remove") => "issue.remove",
        _ => "other",
    }
}

/// Linear puts the delivery's time in the signed body (`webhookTimestamp`,
/// Unix milliseconds): one further than `tolerance_secs` from `now_secs`
/// is a replay (`Stale`); one without it is `Missing`.
pub fn fresh(body: &[u8], now_secs: i64, tolerance_secs: i64) -> Result<(), Refused> {
    #[derive(Deserialize)]
    struct Stamp {
        #[serde(rename = "webhookTimestamp")]
        webhook_timestamp: Option<i64>,
    }
    let stamp: Stamp = serde_json::from_slice(body).map_err(|_| Refused::Malformed)?;
    let at_ms = stamp.webhook_timestamp.ok_or(Refused::Missing)?;
    if (now_secs.saturating_mul(1000) - at_ms).abs() > tolerance_secs.saturating_mul(1000) {
        return Err(Refused::Stale);
    }
    Ok(())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Webhook {
    #[serde(rename = "type")]
    kind: Field<String>,
    action: Field<String>,
    data: Field<Issue>,
    #[serde(rename = "updatedFrom")]
    updated_from: Field<UpdatedFrom>,
}

/// The previous values of the fields an update changed.
#[derive(Deserialize, Default)]
#[serde(default)]
struct UpdatedFrom {
    #[serde(rename = "stateId")]
    state_id: Field<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Issue {
    identifier: Field<String>,
    #[serde(rename = "createdAt")]
    created_at: Field<String>,
    #[serde(rename = "updatedAt")]
    updated_at: Field<String>,
    state: Field<State>,
    team: Field<Team>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct State {
    name: Field<String>,
    #[serde(rename = "type")]
    kind: Field<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Team {
    key: Field<String>,
}

#[cfg(test)]
mod tests;
