//! Argo CD notifications to native v1 deploys. The body is the JSON of the
//! template `valuepulse-deploy` shipped in `deploy/argocd/` (sent by the
//! triggers `on-deployed` and `on-sync-failed`). A pure function: no I/O,
//! no clock.
//!
//! | `phase`, `health` | becomes |
//! |---|---|
//! | `Succeeded` and `Healthy` (`on-deployed`) | a deploy `succeeded` (event `deployed`) |
//! | `Error` or `Failed` (`on-sync-failed`) | a deploy `failed` (event `sync_failed`) |
//! | anything else (`Running`, `Succeeded` but not yet healthy, …) | nothing (event `other`) |
//!
//! Every deploy: `id` = `argocd-<application>@<revision>@<finished_at>`
//! (`finished_at` in UTC), so a notification sent again is the same deploy
//! (`duplicate`) and every new sync, even of the same revision, a new one;
//! `service` and `team` from the `services` rule taking the Application's
//! name, else the name, and the team from the label `valuepulse.io/team`
//! (else none: the daemon reports `unknown`); `environment` = the label
//! `valuepulse.io/environment`, else the destination namespace,
//! `production` when the `production` pattern takes it whole;
//! `finished_at`, `started_at` = `operationState.finishedAt`, `startedAt`;
//! `artifact` = the image when `status.summary.images` lists exactly one.
//!
//! Lead time. The synced revision is the commit of the repository Argo CD
//! syncs from, which in GitOps is a configuration repository, not the
//! application's. So by default:
//! - with the annotations `valuepulse.io/revision` (the application commit
//!   deployed) and `valuepulse.io/repository` (its repository, `owner/name`
//!   as the forge's webhook names it), which CI writes when it bumps the
//!   image: `revision` and `repository` are those, and the daemon joins
//!   the deploy to that repository's pushes (the `changes` topic) up to
//!   the commit: the application's lead time;
//! - without them: `revision` = the synced revision, no `repository` and
//!   no `changes`: no lead time (deploys still count for frequency and
//!   change failure);
//! - `sync_commit_is_change = true` (Applications that sync from the
//!   application repository itself): `changes` = the synced commit,
//!   committed at `committed_at` (the template's `GetCommitMetadata`).

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;

use super::map::{self, Field, Malformed, Mapped, Out, owned};
use crate::config::bridge::ArgocdSource;
use crate::ingest::decode::{ChangeV1, DeployV1};

/// The label that names the team when no `services` rule does.
pub const TEAM_LABEL: &str = "valuepulse.io/team";
/// The label that names the environment (else the destination namespace).
pub const ENVIRONMENT_LABEL: &str = "valuepulse.io/environment";

/// The delivery as a native v1 deploy, or nothing (ignored); `Malformed`
/// names the first field that is missing, mistyped or unreadable.
pub fn map(body: &[u8], cfg: &ArgocdSource) -> Result<Mapped, Malformed> {
    let n: Notification = map::json(body)?;
    let phase = n.phase.required("phase")?;
    let healthy = n.health.optional("health")?.as_deref() == Some("Healthy");
    let (event, status) = match phase.as_str() {
        "Succeeded" if healthy => ("deployed", "succeeded"),
        "Error" | "Failed" => ("sync_failed", "failed"),
        _ => return Ok(Mapped::ignored("other")),
    };
    let application = n.application.text("application")?;
    let synced = n.revision.text("revision")?;
    let finished_at = n.finished_at.time("finished_at")?;
    let labels = n.labels.optional("labels")?.unwrap_or_default();
    let label = |name: &str| labels.get(name).filter(|v| !v.trim().is_empty());

    let (service, rule_team) = map::service_of(&cfg.services, &application, &application);
    let team = rule_team.or_else(|| label(TEAM_LABEL).cloned());
    let destination = n.destination.optional("destination")?.unwrap_or_default();
    let namespace = destination
        .namespace
        .optional("destination.namespace")?
        .filter(|n| !n.is_empty());
    let environment = label(ENVIRONMENT_LABEL)
        .cloned()
        .or(namespace)
        .map(|e| map::environment(cfg.production.as_ref(), &e));

    let app_revision = n
        .app_revision
        .optional("app_revision")?
        .filter(|r| !r.trim().is_empty());
    let app_repository = n
        .app_repository
        .optional("app_repository")?
        .filter(|r| !r.trim().is_empty());
    let committed_at = n.committed_at.opt_time("committed_at")?;
    let changes = match (&app_revision, cfg.sync_commit_is_change, committed_at) {
        (None, true, Some(at)) => vec![ChangeV1 {
            id: Some(owned(synced.clone())),
            committed_at: owned(at),
        }],
        _ => Vec::new(),
    };
    let id = format!("argocd-{application}@{synced}@{finished_at}");
    let (revision, repository) = match app_revision {
        Some(r) => (r, app_repository),
        None => (synced, None),
    };
    let images = n.images.optional("images")?.unwrap_or_default();
    let artifact = match images.as_slice() {
        [one] if !one.is_empty() => Some(owned(one.clone())),
        _ => None,
    };

    let deploy = DeployV1 {
        id: owned(id),
        service: owned(service),
        team: team.map(owned),
        environment: environment.map(owned),
        status: Cow::Borrowed(status),
        finished_at: owned(finished_at),
        started_at: n.started_at.opt_time("started_at")?.map(owned),
        artifact,
        changes,
        repository: repository.map(owned),
        revision: Some(owned(revision)),
        ..DeployV1::default()
    };
    Ok(Mapped::one(event, Out::Deploy(deploy)))
}

/// The template's body (`deploy/argocd/argocd-notifications-cm.yaml`).
#[derive(Deserialize, Default)]
#[serde(default)]
struct Notification {
    application: Field<String>,
    labels: Field<BTreeMap<String, String>>,
    destination: Field<Destination>,
    revision: Field<String>,
    phase: Field<String>,
    health: Field<String>,
    started_at: Field<String>,
    finished_at: Field<String>,
    images: Field<Vec<String>>,
    committed_at: Field<String>,
    app_revision: Field<String>,
    app_repository: Field<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Destination {
    namespace: Field<String>,
}

#[cfg(test)]
mod tests;
