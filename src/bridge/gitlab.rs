//! GitLab webhooks to native v1 events. `event` is the `X-Gitlab-Event`
//! header (the body's `object_kind` decides when it is absent); the body is
//! the payload GitLab documents for it. A pure function: no I/O, no clock.
//!
//! | `X-Gitlab-Event` (`object_kind`) | mapped when | becomes |
//! |---|---|---|
//! | `Deployment Hook` (`deployment`) | `status` `success` (→ `succeeded`) or `failed` (→ `failed`); `created`, `running`, `canceled`, `blocked` … are ignored | a deploy `gitlab-deployment-<deployment_id>` |
//! | `Push Hook` (`push`) | a branch pushed, not deleted | one change per entry of `commits` |
//! | `Issue Hook`, `Confidential Issue Hook` (`issue`, `work_item`) | `object_attributes.type` `Incident` (or `issue_type` `incident`), or the labels hold `incident_label` (any case); `action` `open`, `reopen` (→ `opened`), `close` (→ `resolved`), or `update` adding `incident_label` to an open issue (→ `opened`) | an incident `gitlab-issue-<path_with_namespace>#<iid>` |
//! | `Tag Push Hook` (`tag_push`), any other | never | nothing |
//!
//! Deploys: `service` and `team` from the `services` rule taking
//! `project.path_with_namespace`, else `project.name` and no team;
//! `environment` = `environment` (`production` when the `production`
//! pattern takes it whole); `finished_at` = `status_changed_at`, which
//! GitLab writes `2021-04-28 21:50:00 +0200`; `repository` =
//! `project.path_with_namespace`; `revision` = the full SHA that ends
//! `commit_url` (`…/-/commit/<sha>`), else `short_sha`. No `started_at`
//! (the hook has none) and no `changes`: the daemon joins the deploy to the
//! pushes up to `revision`. The id depends only on the deployment, so its
//! later statuses are the same deploy (`updated`, or `duplicate` when
//! redelivered).
//!
//! Changes (`push`): `id` = `commits[].id`, `committed_at` =
//! `commits[].timestamp`, `repository` = `project.path_with_namespace`,
//! `branch` = `ref` without `refs/heads/`, `before` and `after` the push's.
//! GitLab lists only the newest 20 commits of a push; `total_commits_count`
//! says how many it carried, and a push that lists fewer is flagged cut
//! short (lead time misses the commits not listed). A branch deletion
//! (`after` all zeros) is ignored.
//!
//! Incidents: `service` and `team` as for deploys, no environment (the
//! daemon reads `production`), `severity` = `object_attributes.severity`;
//! `opened_at` = `object_attributes.created_at`, and for `close`
//! `resolved_at` = `closed_at`, else `updated_at`. GitLab writes these times
//! either `2013-12-03T17:15:43Z` or `2013-12-03 17:15:43 UTC`.
//!
//! A reopened issue is the same incident again: `reopen` gives an opening
//! at `object_attributes.updated_at` (the reopening), which the daemon
//! counts `updated` as it replaces the earlier opening, and the last
//! `close` gives the resolution, replacing an earlier one. The close does
//! not say when the issue was reopened, so the resolution's `opened_at`
//! stays `created_at`: the time to restore runs from creation to last
//! close.

use std::borrow::Cow;

use serde::Deserialize;

use super::map::{self, Field, Malformed, Mapped, Out, owned};
use crate::config::bridge::GitlabSource;
use crate::ingest::decode::{DeployV1, IncidentV1};

/// The delivery as native v1 events, or nothing (ignored); `Malformed`
/// names the first field that is missing, mistyped or unreadable.
pub fn map(event: &str, body: &[u8], cfg: &GitlabSource) -> Result<Mapped, Malformed> {
    let kind = match event.trim() {
        "Deployment Hook" => Kind::Deployment,
        "Push Hook" => Kind::Push,
        "Issue Hook" | "Confidential Issue Hook" => Kind::Issue,
        "Tag Push Hook" => Kind::TagPush,
        "" => {
            let k: ObjectKind = map::json(body)?;
            match k.object_kind.required("object_kind")?.as_str() {
                "deployment" => Kind::Deployment,
                "push" => Kind::Push,
                "issue" | "work_item" => Kind::Issue,
                "tag_push" => Kind::TagPush,
                _ => Kind::Other,
            }
        }
        _ => Kind::Other,
    };
    match kind {
        Kind::Deployment => deployment(body, cfg),
        Kind::Push => push(body),
        Kind::Issue => issue(body, cfg),
        Kind::TagPush => Ok(Mapped::ignored("tag_push")),
        Kind::Other => Ok(Mapped::ignored("other")),
    }
}

enum Kind {
    Deployment,
    Push,
    Issue,
    TagPush,
    Other,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ObjectKind {
    object_kind: Field<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Project {
    name: Field<String>,
    path_with_namespace: Field<String>,
}

impl Project {
    /// `(path_with_namespace, name)`.
    fn names(self) -> Result<(String, String), Malformed> {
        Ok((
            self.path_with_namespace
                .text("project.path_with_namespace")?,
            self.name.text("project.name")?,
        ))
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DeploymentEvent {
    status: Field<String>,
    status_changed_at: Field<String>,
    deployment_id: Field<u64>,
    environment: Field<String>,
    project: Field<Project>,
    short_sha: Field<String>,
    commit_url: Field<String>,
}

fn deployment(body: &[u8], cfg: &GitlabSource) -> Result<Mapped, Malformed> {
    const EVENT: &str = "deployment";
    let e: DeploymentEvent = map::json(body)?;
    let status = match e.status.required("status")?.as_str() {
        "success" => "succeeded",
        "failed" => "failed",
        _ => return Ok(Mapped::ignored(EVENT)),
    };
    let (path, name) = e.project.required("project")?.names()?;
    let (service, team) = map::service_of(&cfg.services, &path, &name);
    let revision = match e
        .commit_url
        .optional("commit_url")?
        .as_deref()
        .and_then(full_sha)
    {
        Some(sha) => sha.to_owned(),
        None => e.short_sha.text("short_sha")?,
    };
    let deploy = DeployV1 {
        id: owned(format!(
            "gitlab-deployment-{}",
            e.deployment_id.required("deployment_id")?
        )),
        service: owned(service),
        team: team.map(owned),
        environment: Some(owned(map::environment(
            cfg.production.as_ref(),
            &e.environment.text("environment")?,
        ))),
        status: Cow::Borrowed(status),
        finished_at: owned(e.status_changed_at.time("status_changed_at")?),
        repository: Some(owned(path)),
        revision: Some(owned(revision)),
        ..DeployV1::default()
    };
    Ok(Mapped::one(EVENT, Out::Deploy(deploy)))
}

/// The commit SHA (40 or 64 hex digits) that ends a `…/-/commit/<sha>` URL.
fn full_sha(url: &str) -> Option<&str> {
    let (_, sha) = url.rsplit_once("/-/commit/")?;
    (matches!(sha.len(), 40 | 64) && sha.bytes().all(|b| b.is_ascii_hexdigit())).then_some(sha)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PushEvent {
    #[serde(rename = "ref")]
    git_ref: Field<String>,
    before: Field<String>,
    after: Field<String>,
    commits: Field<Vec<Field<map::PushedCommit>>>,
    total_commits_count: Field<u64>,
    project: Field<Project>,
}

fn push(body: &[u8]) -> Result<Mapped, Malformed> {
    const EVENT: &str = "push";
    let e: PushEvent = map::json(body)?;
    let git_ref = e.git_ref.text("ref")?;
    let Some(branch) = git_ref.strip_prefix("refs/heads/") else {
        return Ok(Mapped::ignored(EVENT));
    };
    let after = e.after.text("after")?;
    if after.bytes().all(|b| b == b'0') {
        return Ok(Mapped::ignored(EVENT));
    }
    let before = e.before.text("before")?;
    let repository = e
        .project
        .required("project")?
        .path_with_namespace
        .text("project.path_with_namespace")?;
    let commits = e.commits.required("commits")?;
    let listed = commits.len();
    let truncated_push = e
        .total_commits_count
        .optional("total_commits_count")?
        .is_some_and(|total| total > listed as u64);
    let out = map::pushed_changes(
        commits,
        &map::Push {
            repository: &repository,
            branch,
            before: &before,
            after: &after,
        },
    )?;
    Ok(Mapped {
        event: EVENT,
        out,
        truncated_push,
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct IssueEvent {
    object_attributes: Field<IssueAttributes>,
    labels: Field<Vec<Field<Label>>>,
    changes: Field<Changes>,
    project: Field<Project>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct IssueAttributes {
    iid: Field<u64>,
    action: Field<String>,
    state: Field<String>,
    #[serde(rename = "type")]
    kind: Field<String>,
    issue_type: Field<String>,
    severity: Field<String>,
    labels: Field<Vec<Field<Label>>>,
    created_at: Field<String>,
    updated_at: Field<String>,
    closed_at: Field<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Label {
    title: Field<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Changes {
    labels: Field<LabelChange>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LabelChange {
    previous: Field<Vec<Field<Label>>>,
    current: Field<Vec<Field<Label>>>,
}

/// Whether `labels` (at `name`) holds `wanted`; `wanted` empty: never.
fn holds(labels: Field<Vec<Field<Label>>>, name: &str, wanted: &str) -> Result<bool, Malformed> {
    let mut found = false;
    for (i, label) in labels
        .optional(name)?
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let title = label
            .required(&format!("{name}[{i}]"))?
            .title
            .required(&format!("{name}[{i}].title"))?;
        found |= !wanted.is_empty() && map::same_label(&title, wanted);
    }
    Ok(found)
}

fn issue(body: &[u8], cfg: &GitlabSource) -> Result<Mapped, Malformed> {
    const EVENT: &str = "issue";
    let wanted = cfg.incident_label.trim();
    let e: IssueEvent = map::json(body)?;
    let a = e.object_attributes.required("object_attributes")?;
    let action = a.action.required("object_attributes.action")?;
    if !matches!(action.as_str(), "open" | "reopen" | "close" | "update") {
        return Ok(Mapped::ignored(EVENT));
    }
    let typed = a.kind.ok().is_some_and(|k| k == "Incident")
        || a.issue_type.ok().is_some_and(|t| t == "incident");
    let labelled =
        holds(e.labels, "labels", wanted)? | holds(a.labels, "object_attributes.labels", wanted)?;
    if !typed && !labelled {
        return Ok(Mapped::ignored(EVENT));
    }
    if action == "update" {
        // Only the incident label's arrival on an open issue opens it.
        let Some(change) = e.changes.ok().and_then(|c| c.labels.ok()) else {
            return Ok(Mapped::ignored(EVENT));
        };
        let added = holds(change.current, "changes.labels.current", wanted)?
            && !holds(change.previous, "changes.labels.previous", wanted)?;
        if typed || !added || a.state.ok().as_deref() != Some("opened") {
            return Ok(Mapped::ignored(EVENT));
        }
    }
    let (path, name) = e.project.required("project")?.names()?;
    let (service, team) = map::service_of(&cfg.services, &path, &name);
    let iid = a.iid.required("object_attributes.iid")?;
    let (status, opened_at, resolved_at) = match action.as_str() {
        "reopen" => (
            "opened",
            a.updated_at.time("object_attributes.updated_at")?,
            None,
        ),
        "close" => {
            let resolved_at = match a.closed_at.opt_time("object_attributes.closed_at")? {
                Some(t) => t,
                None => a.updated_at.time("object_attributes.updated_at")?,
            };
            (
                "resolved",
                a.created_at.time("object_attributes.created_at")?,
                Some(resolved_at),
            )
        }
        // open, or the label added
        _ => (
            "opened",
            a.created_at.time("object_attributes.created_at")?,
            None,
        ),
    };
    let incident = IncidentV1 {
        id: owned(format!("gitlab-issue-{path}#{iid}")),
        service: owned(service),
        team: team.map(owned),
        status: Cow::Borrowed(status),
        severity: a
            .severity
            .optional("object_attributes.severity")?
            .filter(|s| !s.is_empty())
            .map(owned),
        opened_at: owned(opened_at),
        resolved_at: resolved_at.map(owned),
        ..IncidentV1::default()
    };
    Ok(Mapped::one(EVENT, Out::Incident(incident)))
}

#[cfg(test)]
mod tests;
