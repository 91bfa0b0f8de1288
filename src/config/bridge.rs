//! `[bridge]`: the webhook bridge (`valuepulse bridge`), typed at load.
//!
//! Each source (`github`, `gitlab`, `pagerduty`, `argocd`, `flux`, `jira`,
//! `linear`, and `events`, the plain
//! `POST /events/<topic>` of native v1 and CDEvents) is enabled when it has
//! a secret or says `insecure = true`; `enabled = true` without either is a
//! configuration error (exit 64), so a source is never open by mistake.
//! Secrets come from the file, the environment
//! (`VALUEPULSE__BRIDGE__GITHUB__SECRETS=a,b`) or `secrets_file` (a
//! Kubernetes Secret mount: one secret per line), all at once during a
//! rotation, and are never printed ([`Secrets`]).

use std::net::SocketAddr;
use std::time::Duration;

use regex::Regex;
use serde::{Deserialize, Serialize, Serializer};

use super::ConfigError;
use super::secrets::REDACTED;
use super::values;
use super::web::{self, WebConfig};

/// `[bridge]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BridgeConfig {
    /// Address of the webhook routes, `/events`, the probes and `/metrics`.
    #[serde(with = "values::listen")]
    pub listen: SocketAddr,
    /// Largest request body; larger ones get 413 (GitHub sends up to 25 MB).
    #[serde(with = "values::size")]
    pub max_body_bytes: usize,
    /// TLS and basic auth, in the exporter-toolkit format as `http.web_config`.
    /// Basic auth guards `/metrics` only: webhook routes carry their own
    /// signatures and the probes no credentials.
    #[serde(default, with = "web")]
    pub web_config: WebConfig,
    /// GitHub webhooks (`POST /hooks/github`).
    pub github: GithubSource,
    /// GitLab webhooks (`POST /hooks/gitlab`).
    pub gitlab: GitlabSource,
    /// PagerDuty v3 webhooks (`POST /hooks/pagerduty`).
    pub pagerduty: PagerDutySource,
    /// Argo CD notifications (`POST /hooks/argocd`).
    pub argocd: ArgocdSource,
    /// Flux notification-controller, provider `generic-hmac`
    /// (`POST /hooks/flux`).
    pub flux: FluxSource,
    /// Jira Cloud admin webhooks (`POST /hooks/jira`).
    pub jira: JiraSource,
    /// Linear webhooks (`POST /hooks/linear`).
    pub linear: LinearSource,
    /// Native v1 and CDEvents over HTTP (`POST /events/<topic>`), for tools
    /// that can only send a request: `Authorization: Bearer <secret>`.
    pub events: EventsSource,
}

/// A list of secrets: shown as `<redacted>`, never as text.
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct Secrets(Vec<String>);

impl Secrets {
    /// The secrets, for verification only.
    pub fn expose(&self) -> &[String] {
        &self.0
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{REDACTED}; {}]", self.0.len())
    }
}

impl Serialize for Secrets {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|_| REDACTED))
    }
}

/// Which repository, project or service is which `service` and `team`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceRule {
    /// Regular expression over the repository's full name
    /// (`owner/name`), the GitLab project's `path_with_namespace` or the
    /// PagerDuty service's name; the whole name must match.
    #[serde(rename = "match", with = "values::regex")]
    pub matches: Regex,
    /// The service; empty keeps the default (the repository's or project's
    /// name, the PagerDuty service's name).
    #[serde(default)]
    pub service: String,
    /// The team; empty keeps `unknown`.
    #[serde(default)]
    pub team: String,
}

/// A GitHub Actions workflow whose completed runs are deploys, for teams
/// that do not use GitHub deployments.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowRule {
    /// Regular expression over the workflow's name; the whole name must match.
    #[serde(rename = "match", with = "values::regex")]
    pub matches: Regex,
    /// The environment its runs deploy to.
    pub environment: String,
}

// Each source lists the shared fields (enabled, secrets, secrets_file,
// insecure, services) itself: serde's `flatten` does not combine with
// `deny_unknown_fields`, and a misspelled key must stay an error.

/// `[bridge.github]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GithubSource {
    /// `true` or `false` forces it; absent: enabled when it has a secret or
    /// is insecure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The webhook secrets (`X-Hub-Signature-256`).
    #[serde(default)]
    pub secrets: Secrets,
    /// A file of secrets, one per line, added to `secrets`.
    #[serde(default)]
    pub secrets_file: String,
    /// Accept unsigned deliveries (logged loudly at start).
    #[serde(default)]
    pub insecure: bool,
    /// Environment names that are production: they become `production`;
    /// others pass through unchanged. Empty: none is renamed.
    #[serde(default, with = "values::opt_regex")]
    pub production: Option<Regex>,
    /// Repository → service and team; the first match wins.
    #[serde(default)]
    pub services: Vec<ServiceRule>,
    /// Workflows whose completed runs are deploys.
    #[serde(default)]
    pub workflows: Vec<WorkflowRule>,
    /// Issues with this label are incidents (opened, closed, reopened).
    pub incident_label: String,
}

/// `[bridge.gitlab]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GitlabSource {
    /// As for GitHub.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The hook's secret token (`X-Gitlab-Token`) or signing token
    /// (`webhook-signature`, Standard Webhooks).
    #[serde(default)]
    pub secrets: Secrets,
    /// A file of secrets, one per line, added to `secrets`.
    #[serde(default)]
    pub secrets_file: String,
    /// Accept unauthenticated deliveries (logged loudly at start).
    #[serde(default)]
    pub insecure: bool,
    /// Environment names that are production.
    #[serde(default, with = "values::opt_regex")]
    pub production: Option<Regex>,
    /// Project → service and team; the first match wins.
    #[serde(default)]
    pub services: Vec<ServiceRule>,
    /// Issues with this label are incidents, as are issues of type Incident.
    pub incident_label: String,
    /// A signing-token delivery whose `webhook-timestamp` is further than
    /// this from now is refused (a replay).
    #[serde(with = "values::duration")]
    pub signing_tolerance: Duration,
}

/// `[bridge.pagerduty]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PagerDutySource {
    /// As for GitHub.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The subscription's signing secrets (`X-PagerDuty-Signature`).
    #[serde(default)]
    pub secrets: Secrets,
    /// A file of secrets, one per line, added to `secrets`.
    #[serde(default)]
    pub secrets_file: String,
    /// Accept unsigned deliveries (logged loudly at start).
    #[serde(default)]
    pub insecure: bool,
    /// PagerDuty service name → service and team; the first match wins.
    #[serde(default)]
    pub services: Vec<ServiceRule>,
}

/// `[bridge.argocd]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ArgocdSource {
    /// As for GitHub.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Tokens sent in [`ArgocdSource::header`], or `user:password` pairs
    /// sent with basic auth (the webhook service's `headers` or
    /// `basicAuth`, from `argocd-notifications-secret`).
    #[serde(default)]
    pub secrets: Secrets,
    /// A file of secrets, one per line, added to `secrets`.
    #[serde(default)]
    pub secrets_file: String,
    /// Accept unauthenticated deliveries (logged loudly at start).
    #[serde(default)]
    pub insecure: bool,
    /// The header that carries the token.
    pub header: String,
    /// Environment names that are production.
    #[serde(default, with = "values::opt_regex")]
    pub production: Option<Regex>,
    /// Application name → service and team; the first match wins.
    #[serde(default)]
    pub services: Vec<ServiceRule>,
    /// The synced commit (with the date the template asks the repo server
    /// for) is the deploy's change: true only when Applications' sources
    /// are the application repositories themselves. By default it is not
    /// (a GitOps config repository's commit is not the application's).
    #[serde(default)]
    pub sync_commit_is_change: bool,
}

/// `[bridge.flux]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FluxSource {
    /// As for GitHub.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The Provider Secret's `token` (`X-Signature: sha256=<hex>`).
    #[serde(default)]
    pub secrets: Secrets,
    /// A file of secrets, one per line, added to `secrets`.
    #[serde(default)]
    pub secrets_file: String,
    /// Accept unsigned deliveries (logged loudly at start).
    #[serde(default)]
    pub insecure: bool,
    /// Environment names that are production.
    #[serde(default, with = "values::opt_regex")]
    pub production: Option<Regex>,
    /// Object name (`Kind/namespace/name`) → service and team; the first
    /// match wins.
    #[serde(default)]
    pub services: Vec<ServiceRule>,
}

/// `[bridge.jira]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct JiraSource {
    /// As for GitHub.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The admin webhook's secret (`X-Hub-Signature: sha256=<hex>`).
    #[serde(default)]
    pub secrets: Secrets,
    /// A file of secrets, one per line, added to `secrets`.
    #[serde(default)]
    pub secrets_file: String,
    /// Accept unsigned deliveries (logged loudly at start).
    #[serde(default)]
    pub insecure: bool,
    /// Project key → service and team; the first match wins.
    #[serde(default)]
    pub services: Vec<ServiceRule>,
    /// Jira status categories (`new`, `indeterminate`, `done`) whose
    /// meaning a transition carries as its `category` (`new` → waiting,
    /// `indeterminate` → active, `done` → done); a status of another
    /// category leaves it to `flow.states`. `indeterminate` ("In Progress")
    /// is not in the default: Jira files review and blocked statuses there
    /// too, which the value stream counts as waiting.
    pub status_categories: Vec<String>,
    /// Issues of these types (`fields.issuetype.name`, case-insensitive)
    /// are also incidents.
    #[serde(default)]
    pub incident_types: Vec<String>,
    /// Issues of these priorities (`fields.priority.name`) are also
    /// incidents.
    #[serde(default)]
    pub incident_priorities: Vec<String>,
    /// Issues carrying one of these labels are also incidents.
    #[serde(default)]
    pub incident_labels: Vec<String>,
}

/// `[bridge.linear]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LinearSource {
    /// As for GitHub.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The webhook's signing secret (`Linear-Signature: <hex>`).
    #[serde(default)]
    pub secrets: Secrets,
    /// A file of secrets, one per line, added to `secrets`.
    #[serde(default)]
    pub secrets_file: String,
    /// Accept unsigned deliveries (logged loudly at start).
    #[serde(default)]
    pub insecure: bool,
    /// A delivery whose `webhookTimestamp` is further than this from now
    /// is refused (a replay).
    #[serde(with = "values::duration")]
    pub timestamp_tolerance: Duration,
    /// Team key → service and team; the first match wins.
    #[serde(default)]
    pub services: Vec<ServiceRule>,
    /// Linear state types (`triage`, `backlog`, `unstarted`, `started`,
    /// `completed`, `canceled`) whose meaning a transition carries as its
    /// `category` (`started` → active, `completed` → done, `canceled` and
    /// the rest → waiting); a state of another type leaves it to
    /// `flow.states`. `started` is not in the default: Linear's "In Review"
    /// is a started state, which the value stream counts as waiting.
    pub state_types: Vec<String>,
}

/// `[bridge.events]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EventsSource {
    /// As for GitHub.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Bearer tokens (`Authorization: Bearer <secret>`).
    #[serde(default)]
    pub secrets: Secrets,
    /// A file of secrets, one per line, added to `secrets`.
    #[serde(default)]
    pub secrets_file: String,
    /// Accept requests without a token (logged loudly at start).
    #[serde(default)]
    pub insecure: bool,
}

/// What the bridge needs to know of one source to let a delivery in.
#[derive(Debug, Clone, Copy)]
pub struct Access<'a> {
    /// The source's config key, e.g. `bridge.github`.
    pub key: &'static str,
    /// `enabled`.
    pub enabled: Option<bool>,
    /// `secrets` (with the file's, once loaded).
    pub secrets: &'a Secrets,
    /// `insecure`.
    pub insecure: bool,
}

impl Access<'_> {
    /// Whether the source's routes answer.
    pub fn is_enabled(&self) -> bool {
        self.enabled
            .unwrap_or(self.insecure || !self.secrets.is_empty())
    }
}

impl BridgeConfig {
    /// Every source's access settings, in `Source::ALL`'s order.
    pub fn access(&self) -> [Access<'_>; 8] {
        let a = |key, enabled, secrets, insecure| Access {
            key,
            enabled,
            secrets,
            insecure,
        };
        [
            a(
                "bridge.github",
                self.github.enabled,
                &self.github.secrets,
                self.github.insecure,
            ),
            a(
                "bridge.gitlab",
                self.gitlab.enabled,
                &self.gitlab.secrets,
                self.gitlab.insecure,
            ),
            a(
                "bridge.pagerduty",
                self.pagerduty.enabled,
                &self.pagerduty.secrets,
                self.pagerduty.insecure,
            ),
            a(
                "bridge.argocd",
                self.argocd.enabled,
                &self.argocd.secrets,
                self.argocd.insecure,
            ),
            a(
                "bridge.flux",
                self.flux.enabled,
                &self.flux.secrets,
                self.flux.insecure,
            ),
            a(
                "bridge.jira",
                self.jira.enabled,
                &self.jira.secrets,
                self.jira.insecure,
            ),
            a(
                "bridge.linear",
                self.linear.enabled,
                &self.linear.secrets,
                self.linear.insecure,
            ),
            a(
                "bridge.events",
                self.events.enabled,
                &self.events.secrets,
                self.events.insecure,
            ),
        ]
    }

    /// Reads each `secrets_file` into its source's secrets, then checks
    /// that no source is enabled without a secret unless it is insecure.
    pub(super) fn load_secrets_and_check(&mut self) -> Result<(), ConfigError> {
        for (key, file, secrets) in [
            (
                "bridge.github.secrets_file",
                &self.github.secrets_file,
                &mut self.github.secrets,
            ),
            (
                "bridge.gitlab.secrets_file",
                &self.gitlab.secrets_file,
                &mut self.gitlab.secrets,
            ),
            (
                "bridge.pagerduty.secrets_file",
                &self.pagerduty.secrets_file,
                &mut self.pagerduty.secrets,
            ),
            (
                "bridge.argocd.secrets_file",
                &self.argocd.secrets_file,
                &mut self.argocd.secrets,
            ),
            (
                "bridge.flux.secrets_file",
                &self.flux.secrets_file,
                &mut self.flux.secrets,
            ),
            (
                "bridge.jira.secrets_file",
                &self.jira.secrets_file,
                &mut self.jira.secrets,
            ),
            (
                "bridge.linear.secrets_file",
                &self.linear.secrets_file,
                &mut self.linear.secrets,
            ),
            (
                "bridge.events.secrets_file",
                &self.events.secrets_file,
                &mut self.events.secrets,
            ),
        ] {
            secrets.0.retain(|s| !s.trim().is_empty());
            if file.trim().is_empty() {
                continue;
            }
            // The error names the file, never its content.
            let text = std::fs::read_to_string(file.trim())
                .map_err(|e| ConfigError::new(key, format!("cannot read {file}: {}", e.kind())))?;
            secrets.0.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned),
            );
        }
        for a in self.access() {
            if a.enabled == Some(true) && a.secrets.is_empty() && !a.insecure {
                let env = a.key.to_uppercase().replace('.', "__");
                return Err(ConfigError::new(
                    format!("{}.secrets", a.key),
                    format!(
                        "the source is enabled without a secret: set secrets (or secrets_file, or VALUEPULSE__{env}__SECRETS), or insecure = true to accept unsigned deliveries"
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
