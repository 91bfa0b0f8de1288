//! Flux notification-controller events (Provider `generic-hmac`) to native
//! v1 deploys. A pure function: no I/O, no clock.
//!
//! The body is Flux's event: `involvedObject{kind,namespace,name}`,
//! `severity`, `timestamp`, `message`, `reason`, `reportingController` and
//! `metadata`. notification-controller strips the API group from the
//! controllers' metadata keys (`kustomize.toolkit.fluxcd.io/revision`
//! arrives as `revision`; both spellings are read) and adds the Alert's
//! `eventMetadata` (`env`, `cluster`) and `summary`.
//!
//! | `involvedObject.kind`, `reason` | becomes |
//! |---|---|
//! | `Kustomization`, `ReconciliationSucceeded`, with a `revision` | a deploy `succeeded` of `<object>@<revision>` |
//! | `HelmRelease`, `InstallSucceeded` or `UpgradeSucceeded` | a deploy `succeeded` of `<object>@<chart version>+<values digest>` |
//! | `HelmRelease`, `InstallFailed`, `UpgradeFailed` or `TestFailed` | that deploy `failed` |
//! | `HelmRelease`, `RollbackSucceeded` | the deploy rolled back, `rolled_back` |
//! | anything else (progress, `ReconciliationFailed`, sources, …) | nothing (event `other`, or the reason when it is one of the above with another kind) |
//!
//! Every deploy: `id` = `flux-<cluster>/<object>@<release>` where
//! `<object>` is `Kind/namespace/name` and `<cluster>` the `cluster`
//! metadata (empty when absent), so one object name in two clusters is two
//! deploys; `service` and `team` from the `services` rule taking
//! `<object>`, else the object's name and no team; `environment` = the
//! `env` metadata (or `environment`), `production` when the `production`
//! pattern takes it whole, else none (the daemon reads `production`);
//! `finished_at` = `timestamp`; `revision` = the commit of a Kustomization's
//! source (`main@sha1:<sha>` gives `<sha>`), the chart version of a
//! `HelmRelease`; no `changes` (Flux reports the configuration repository's
//! commit, not the application's: no lead time).
//!
//! Repeats. kustomize-controller reports `ReconciliationSucceeded` after
//! every reconciliation, every interval, at the same revision, with a new
//! `timestamp` and nothing else that changes. Its deploy is the same
//! (`<object>@<revision>`), and the daemon counts a deploy reported again
//! with nothing changed but a later `finished_at` as a `duplicate`: the
//! first report's time stands, whatever the order of arrival.
//!
//! Helm rollbacks. helm-controller's `RollbackSucceeded` carries, as
//! `revision`, the chart version of the release rolled back *to*, and as
//! `token` the digest of the values of the attempt that failed (the
//! upgrade events carry that attempt's chart version and the same digest).
//! So the deploy rolled back is named exactly when the failed attempt kept
//! the chart version (a values change, such as a new image tag); when it
//! also changed the chart version, the rollback names a deploy that was
//! never reported, and the daemon counts one more deploy (`rolled_back`).
//! The rolled-back deploy takes the rollback's `timestamp`.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;

use super::map::{self, Field, Malformed, Mapped, Out, owned};
use crate::config::bridge::FluxSource;
use crate::ingest::decode::DeployV1;

/// The delivery as a native v1 deploy, or nothing (ignored); `Malformed`
/// names the first field that is missing, mistyped or unreadable.
pub fn map(body: &[u8], cfg: &FluxSource) -> Result<Mapped, Malformed> {
    let e: Event = map::json(body)?;
    let o = e.involved_object.required("involvedObject")?;
    let kind = o.kind.text("involvedObject.kind")?;
    let reason = e.reason.required("reason")?;
    let (event, status, helm) = match (kind.as_str(), reason.as_str()) {
        ("Kustomization", "ReconciliationSucceeded") => {
            ("ReconciliationSucceeded", "succeeded", false)
        }
        ("HelmRelease", "InstallSucceeded") => ("InstallSucceeded", "succeeded", true),
        ("HelmRelease", "UpgradeSucceeded") => ("UpgradeSucceeded", "succeeded", true),
        ("HelmRelease", "InstallFailed") => ("InstallFailed", "failed", true),
        ("HelmRelease", "UpgradeFailed") => ("UpgradeFailed", "failed", true),
        ("HelmRelease", "TestFailed") => ("TestFailed", "failed", true),
        ("HelmRelease", "RollbackSucceeded") => ("RollbackSucceeded", "rolled_back", true),
        _ => return Ok(Mapped::ignored(label(&reason))),
    };
    let meta = e.metadata.optional("metadata")?.unwrap_or_default();
    let group = if helm {
        "helm.toolkit.fluxcd.io"
    } else {
        "kustomize.toolkit.fluxcd.io"
    };
    let read = |key: &str| {
        meta.get(key)
            .or_else(|| meta.get(&format!("{group}/{key}")))
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    };
    let Some(revision) = read("revision") else {
        // Without a revision the event names no release: nothing to count.
        return Ok(Mapped::ignored(event));
    };
    let namespace = o.namespace.text("involvedObject.namespace")?;
    let name = o.name.text("involvedObject.name")?;
    let object = format!("{kind}/{namespace}/{name}");
    let cluster = read("cluster").unwrap_or_default();
    let release = match read("token").filter(|_| helm) {
        Some(token) => format!("{revision}+{token}"),
        None => revision.to_owned(),
    };
    let (service, team) = map::service_of(&cfg.services, &object, &name);
    let environment = read("env")
        .or_else(|| read("environment"))
        .map(|env| map::environment(cfg.production.as_ref(), env));
    let deploy = DeployV1 {
        id: owned(format!("flux-{cluster}/{object}@{release}")),
        service: owned(service),
        team: team.map(owned),
        environment: environment.map(owned),
        status: Cow::Borrowed(status),
        finished_at: owned(e.timestamp.time("timestamp")?),
        revision: Some(owned(commit(revision))),
        ..DeployV1::default()
    };
    Ok(Mapped::one(event, Out::Deploy(deploy)))
}

/// The commit of a Flux source revision (`main@sha1:<sha>`, `sha1:<sha>`,
/// `latest@sha256:<digest>`): what follows the last `:`; a chart version
/// or any other form as it is.
fn commit(revision: &str) -> &str {
    match revision.rsplit_once('@') {
        Some((_, digest)) => digest.split_once(':').map_or(digest, |(_, d)| d),
        None => revision
            .strip_prefix("sha1:")
            .or_else(|| revision.strip_prefix("sha256:"))
            .unwrap_or(revision),
    }
}

/// The `event` label of a reason: one Flux's controllers document, else
/// `other`.
fn label(reason: &str) -> &'static str {
    const REASONS: [&str; 14] = [
        "ReconciliationSucceeded",
        "ReconciliationFailed",
        "HealthCheckFailed",
        "Progressing",
        "InstallSucceeded",
        "InstallFailed",
        "UpgradeSucceeded",
        "UpgradeFailed",
        "TestSucceeded",
        "TestFailed",
        "RollbackSucceeded",
        "RollbackFailed",
        "UninstallSucceeded",
        "UninstallFailed",
    ];
    REASONS
        .into_iter()
        .find(|r| *r == reason)
        .unwrap_or("other")
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Event {
    #[serde(rename = "involvedObject")]
    involved_object: Field<ObjectReference>,
    timestamp: Field<String>,
    reason: Field<String>,
    metadata: Field<BTreeMap<String, String>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ObjectReference {
    kind: Field<String>,
    namespace: Field<String>,
    name: Field<String>,
}

#[cfg(test)]
mod tests;
