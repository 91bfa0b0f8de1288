//! PagerDuty v3 webhooks (one `event` per delivery) to native v1
//! incidents. A pure function: no I/O, no clock.
//!
//! | `event.event_type` | becomes |
//! |---|---|
//! | `incident.triggered` | incident `opened`, `opened_at` = `event.data.created_at` |
//! | `incident.resolved` | incident `resolved`, `opened_at` = `event.data.created_at`, `resolved_at` = `event.occurred_at` (the incident has no resolved-at field) |
//! | `incident.reopened` | incident `opened`, `opened_at` = `event.occurred_at` |
//! | any other (`incident.acknowledged`, `incident.annotated`, `service.updated`, …) | nothing (ignored; the `event` label is the documented type, or `other`) |
//!
//! Every incident: `id` = `pagerduty-<event.data.id>`; `service` and `team`
//! from the `services` rule taking `event.data.service.summary` (the
//! PagerDuty service's name), else that name and no team; no environment
//! (the daemon reads `production`); `severity` =
//! `event.data.priority.summary` when the incident has a priority, else
//! `event.data.urgency`.
//!
//! A reopened incident is the same incident again: `incident.reopened`
//! gives an opening at its `occurred_at`, which the daemon counts `updated`
//! as it replaces the earlier opening, and the last `incident.resolved`
//! gives the resolution, replacing an earlier one. Its `opened_at` stays
//! `data.created_at` (the payload does not say when it was reopened): the
//! time to restore runs from the first trigger to the last resolution.

use std::borrow::Cow;

use serde::Deserialize;

use super::map::{self, Field, Malformed, Mapped, Out, owned};
use crate::config::bridge::PagerDutySource;
use crate::ingest::decode::IncidentV1;

/// The delivery as a native v1 incident, or nothing (ignored); `Malformed`
/// names the first field that is missing, mistyped or unreadable.
pub fn map(body: &[u8], cfg: &PagerDutySource) -> Result<Mapped, Malformed> {
    let w: Webhook = map::json(body)?;
    let event = w.event.required("event")?;
    let event_type = event.event_type.required("event.event_type")?;
    let label = label(&event_type);
    let status = match label {
        "incident.triggered" | "incident.reopened" => "opened",
        "incident.resolved" => "resolved",
        _ => return Ok(Mapped::ignored(label)),
    };
    let data = event.data.required("event.data")?;
    let summary = data
        .service
        .required("event.data.service")?
        .summary
        .text("event.data.service.summary")?;
    let (service, team) = map::service_of(&cfg.services, &summary, &summary);
    let (opened_at, resolved_at) = match label {
        "incident.reopened" => (event.occurred_at.time("event.occurred_at")?, None),
        "incident.resolved" => (
            data.created_at.time("event.data.created_at")?,
            Some(event.occurred_at.time("event.occurred_at")?),
        ),
        _ => (data.created_at.time("event.data.created_at")?, None),
    };
    let severity = match data.priority.optional("event.data.priority")? {
        Some(p) => Some(p.summary.text("event.data.priority.summary")?),
        None => data
            .urgency
            .optional("event.data.urgency")?
            .filter(|u| !u.is_empty()),
    };
    let incident = IncidentV1 {
        id: owned(format!("pagerduty-{}", data.id.text("event.data.id")?)),
        service: owned(service),
        team: team.map(owned),
        status: Cow::Borrowed(status),
        severity: severity.map(owned),
        opened_at: owned(opened_at),
        resolved_at: resolved_at.map(owned),
        ..IncidentV1::default()
    };
    Ok(Mapped::one(label, Out::Incident(incident)))
}

/// The `event` label of an event type: one of the v3 types PagerDuty
/// documents, else `other`.
fn label(event_type: &str) -> &'static str {
    const TYPES: [&str; 16] = [
        "incident.acknowledged",
        "incident.annotated",
        "incident.delegated",
        "incident.escalated",
        "incident.priority_updated",
        "incident.reassigned",
        "incident.reopened",
        "incident.resolved",
        "incident.responder.added",
        "incident.responder.replied",
        "incident.status_update_published",
        "incident.triggered",
        "incident.unacknowledged",
        "service.created",
        "service.deleted",
        "service.updated",
    ];
    TYPES
        .into_iter()
        .find(|t| *t == event_type)
        .unwrap_or("other")
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Webhook {
    event: Field<Event>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Event {
    event_type: Field<String>,
    occurred_at: Field<String>,
    data: Field<Incident>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Incident {
    id: Field<String>,
    created_at: Field<String>,
    service: Field<Reference>,
    priority: Field<Reference>,
    urgency: Field<String>,
}

/// A PagerDuty reference (`service_reference`, `priority_reference`).
#[derive(Deserialize, Default)]
#[serde(default)]
struct Reference {
    summary: Field<String>,
}

#[cfg(test)]
mod tests;
