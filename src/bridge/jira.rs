//! Jira Cloud admin webhooks to native v1 work items and incidents. A pure
//! function: no I/O, no clock.
//!
//! | `webhookEvent` | becomes |
//! |---|---|
//! | `jira:issue_updated` with a `changelog.items[]` entry of `field` `status` | a work-item transition: `state` = the entry's `toString`, `at` = the delivery's `timestamp` |
//! | `jira:issue_created` | a work-item transition into the issue's first status (`fields.status.name`), `at` = `timestamp` |
//! | either, for an issue of a configured type, priority or label | also an incident: `opened_at` = `fields.created`, `resolved_at` = `fields.resolutiondate` (status `resolved` when it is set) |
//! | any other (`jira:issue_deleted`, comments, worklogs, sprints, …), and an update that changes neither the status nor an incident | nothing (ignored) |
//!
//! **Ids.** The item is `jira-<issue.key>`; the daemon keys a transition
//! by *(item, `at`)*, and `timestamp` is when Jira fired the event, so
//! every status change is its own transition, in whatever order they
//! arrive, and a redelivery (Jira retries with the same body) is the
//! daemon's `duplicate`. The incident is `jira-incident-<issue.key>`: its
//! opening and resolution are two events, each a `duplicate` when sent
//! again; a later resolution (reopened, then resolved again) replaces the
//! earlier one (`updated`).
//!
//! **Category.** Jira gives every status a category: `new` (To Do),
//! `indeterminate` (In Progress) or `done`. The payload's `issue` is the
//! issue after the change, so `fields.status` is the *new* status: when its
//! id is the changelog entry's `to`, its `statusCategory.key` is the
//! transition's category (`new` → waiting, `indeterminate` → active,
//! `done` → done) if that key is in `status_categories`; otherwise no
//! category is sent and the daemon's `flow.states` decides by the status
//! name. The default leaves `indeterminate` out: Jira files "In Review"
//! and "Blocked" under In Progress, which the value stream counts as
//! waiting.
//!
//! **Service.** From `fields.project.key` through the `services` rules,
//! else the project key and no team. Jira's own times
//! (`2024-03-01T10:00:00.000+0000`, no colon in the offset) are read as
//! well as RFC 3339.

use std::borrow::Cow;

use serde::Deserialize;

use super::map::{self, Field, Malformed, Mapped, Out, owned};
use crate::config::bridge::JiraSource;
use crate::domain::Millis;
use crate::ingest::decode::{IncidentV1, WorkItemV1, format_time};

/// The delivery as native v1 events, or nothing (ignored); `Malformed`
/// names the first field that is missing, mistyped or unreadable.
pub fn map(body: &[u8], cfg: &JiraSource) -> Result<Mapped, Malformed> {
    let w: Webhook = map::json(body)?;
    let label = label(&w.webhook_event.required("webhookEvent")?);
    if !matches!(label, "jira:issue_created" | "jira:issue_updated") {
        return Ok(Mapped::ignored(label));
    }
    let issue = w.issue.required("issue")?;
    let key = issue.key.text("issue.key")?;
    let fields = issue.fields.required("issue.fields")?;
    let incident = is_incident(cfg, &fields)?;
    let project = fields
        .project
        .required("issue.fields.project")?
        .key
        .text("issue.fields.project.key")?;
    let (service, team) = map::service_of(&cfg.services, &project, &project);
    let status = fields.status.optional("issue.fields.status")?;
    let mut out = Vec::new();

    let entered = if label == "jira:issue_created" {
        let status = status
            .as_ref()
            .ok_or_else(|| field("issue.fields.status"))?;
        let name = status.name.clone().text("issue.fields.status.name")?;
        Some((name, status.category(cfg)))
    } else {
        status_change(w.changelog, status.as_ref(), cfg)?
    };
    if let Some((state, category)) = entered {
        let at = w.timestamp.required("timestamp")?;
        out.push(Out::WorkItem(WorkItemV1 {
            id: owned(format!("jira-{key}")),
            service: owned(service.clone()),
            team: team.clone().map(owned),
            state: owned(state),
            category: category.map(Cow::Borrowed),
            at: owned(format_time(at)),
            ..WorkItemV1::default()
        }));
    }

    if incident {
        let opened_at = jira_time(fields.created, "issue.fields.created")?
            .ok_or_else(|| field("issue.fields.created"))?;
        let resolved_at = jira_time(fields.resolutiondate, "issue.fields.resolutiondate")?;
        let severity = match fields.priority.optional("issue.fields.priority")? {
            Some(p) => p.name.optional("issue.fields.priority.name")?,
            None => None,
        };
        out.push(Out::Incident(IncidentV1 {
            id: owned(format!("jira-incident-{key}")),
            service: owned(service),
            team: team.map(owned),
            status: Cow::Borrowed(if resolved_at.is_some() {
                "resolved"
            } else {
                "opened"
            }),
            severity: severity.filter(|s| !s.is_empty()).map(owned),
            opened_at: owned(opened_at),
            resolved_at: resolved_at.map(owned),
            ..IncidentV1::default()
        }));
    }
    Ok(Mapped {
        event: label,
        out,
        truncated_push: false,
    })
}

fn field(name: &str) -> Malformed {
    Malformed(name.to_owned())
}

/// The status an update entered and its category, if the update changed
/// the status.
fn status_change(
    changelog: Field<Changelog>,
    status: Option<&Status>,
    cfg: &JiraSource,
) -> Result<Option<(String, Option<&'static str>)>, Malformed> {
    let Some(changelog) = changelog.optional("changelog")? else {
        return Ok(None);
    };
    let items = changelog
        .items
        .optional("changelog.items")?
        .unwrap_or_default();
    for (i, item) in items.into_iter().enumerate() {
        let Some(item) = item.ok() else { continue };
        // A custom field may be named "status" too; Jira's own is `jira`.
        let system = item.fieldtype.ok().is_none_or(|t| t != "custom");
        if item.field.ok().as_deref() != Some("status") || !system {
            continue;
        }
        let name = item
            .to_string
            .text(&format!("changelog.items[{i}].toString"))?;
        let to = item.to.ok();
        // The issue is the issue after the change: its status is the one
        // entered when the ids agree.
        let category = status
            .filter(|s| to.is_some() && s.id.clone().ok() == to)
            .and_then(|s| s.category(cfg));
        return Ok(Some((name, category)));
    }
    Ok(None)
}

/// Whether the issue is of a configured incident type or priority, or
/// carries a configured label.
fn is_incident(cfg: &JiraSource, fields: &Fields) -> Result<bool, Malformed> {
    let named = |f: &Field<Named>| match f {
        Field::Ok(n) => n.name.clone().ok(),
        _ => None,
    };
    let any = |wanted: &[String], name: Option<&str>| {
        name.is_some_and(|n| wanted.iter().any(|w| map::same_label(w, n)))
    };
    if any(&cfg.incident_types, named(&fields.issuetype).as_deref())
        || any(&cfg.incident_priorities, named(&fields.priority).as_deref())
    {
        return Ok(true);
    }
    if cfg.incident_labels.is_empty() {
        return Ok(false);
    }
    let labels = fields
        .labels
        .clone()
        .optional("issue.fields.labels")?
        .unwrap_or_default();
    Ok(labels.iter().any(|l| any(&cfg.incident_labels, Some(l))))
}

/// An optional Jira time as RFC 3339 UTC; present but unreadable is
/// malformed.
fn jira_time(f: Field<String>, name: &str) -> Result<Option<String>, Malformed> {
    f.optional(name)?
        .map(|t| millis(&t).map(format_time).ok_or_else(|| field(name)))
        .transpose()
}

/// A Jira time (`2024-03-01T10:00:00.000+0000`, the offset without a
/// colon) or any form [`map::millis`] reads, in epoch milliseconds.
pub fn millis(text: &str) -> Option<Millis> {
    use time::format_description::FormatItem;
    use time::macros::format_description;
    const JIRA: &[FormatItem<'_>] = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond][offset_hour sign:mandatory][offset_minute]"
    );
    const JIRA_WHOLE: &[FormatItem<'_>] = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory][offset_minute]"
    );
    let t = text.trim();
    if let Some(ms) = map::millis(t) {
        return Some(ms);
    }
    let at = time::OffsetDateTime::parse(t, JIRA)
        .or_else(|_| time::OffsetDateTime::parse(t, JIRA_WHOLE))
        .ok()?;
    Millis::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()
}

/// The `event` label of a `webhookEvent`: one of the issue events, else
/// `other`.
fn label(event: &str) -> &'static str {
    const EVENTS: [&str; 3] = [
        "jira:issue_created",
        "jira:issue_updated",
        "jira:issue_deleted",
    ];
    EVENTS.into_iter().find(|e| *e == event).unwrap_or("other")
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Webhook {
    #[serde(rename = "webhookEvent")]
    webhook_event: Field<String>,
    /// When the event fired, epoch milliseconds.
    timestamp: Field<Millis>,
    issue: Field<Issue>,
    changelog: Field<Changelog>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Issue {
    key: Field<String>,
    fields: Field<Fields>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Fields {
    project: Field<Project>,
    status: Field<Status>,
    issuetype: Field<Named>,
    priority: Field<Named>,
    labels: Field<Vec<String>>,
    created: Field<String>,
    resolutiondate: Field<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Project {
    key: Field<String>,
}

/// An issue type or priority.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Named {
    name: Field<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Status {
    id: Field<String>,
    name: Field<String>,
    #[serde(rename = "statusCategory")]
    status_category: Field<StatusCategory>,
}

impl Status {
    /// The category the status's Jira category stands for, when that
    /// category is one the config trusts.
    fn category(&self, cfg: &JiraSource) -> Option<&'static str> {
        let key = match &self.status_category {
            Field::Ok(c) => c.key.clone().ok()?,
            _ => return None,
        };
        let category = match key.as_str() {
            "new" => "waiting",
            "indeterminate" => "active",
            "done" => "done",
            _ => return None,
        };
        cfg.status_categories.contains(&key).then_some(category)
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct StatusCategory {
    key: Field<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Changelog {
    items: Field<Vec<Field<ChangeItem>>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ChangeItem {
    field: Field<String>,
    fieldtype: Field<String>,
    to: Field<String>,
    #[serde(rename = "toString")]
    to_string: Field<String>,
}

#[cfg(test)]
mod tests;
