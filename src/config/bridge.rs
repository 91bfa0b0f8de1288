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

/// Declares the config of one source: the fields every source has
/// (`enabled`, `secrets`, `secrets_file`, `insecure`), each documented
/// once here, then its own. The shared fields are written into each struct
/// rather than flattened from one: serde's `flatten` does not combine with
/// `deny_unknown_fields`, and a misspelled key must stay an error.
macro_rules! source {
    (
        $(#[$doc:meta])*
        $name:ident = $key:literal, secrets: $secrets:literal,
        { $($(#[$fdoc:meta])* pub $field:ident: $ty:ty,)* }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Deserialize, Serialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// `true` or `false` forces it; absent: enabled when it has a
            /// secret or is insecure.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub enabled: Option<bool>,
            #[doc = $secrets]
            #[serde(default)]
            pub secrets: Secrets,
            /// A file of secrets, one per line, added to `secrets`.
            #[serde(default)]
            pub secrets_file: String,
            /// Accept unauthenticated deliveries (logged loudly at start).
            #[serde(default)]
            pub insecure: bool,
            $($(#[$fdoc])* pub $field: $ty,)*
        }

        impl $name {
            /// What lets a delivery in.
            fn access(&self) -> Access<'_> {
                Access {
                    key: $key,
                    enabled: self.enabled,
                    secrets: &self.secrets,
                    insecure: self.insecure,
                }
            }

            /// `secrets_file`'s key, its path and the secrets it adds to.
            fn secrets_file(&mut self) -> (&'static str, &str, &mut Secrets) {
                (
                    concat!($key, ".secrets_file"),
                    &self.secrets_file,
                    &mut self.secrets,
                )
            }
        }
    };
}

source! {
    /// `[bridge.github]`
    GithubSource = "bridge.github", secrets: "The webhook secrets (`X-Hub-Signature-256`).",
    {
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
}

source! {
    /// `[bridge.gitlab]`
    GitlabSource = "bridge.gitlab", secrets: "The hook's secret token (`X-Gitlab-Token`) or signing token (`webhook-signature`, Standard Webhooks).",
    {
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
}

source! {
    /// `[bridge.pagerduty]`
    PagerDutySource = "bridge.pagerduty", secrets: "The subscription's signing secrets (`X-PagerDuty-Signature`).",
    {
        /// PagerDuty service name → service and team; the first match wins.
        #[serde(default)]
        pub services: Vec<ServiceRule>,
    }
}

source! {
    /// `[bridge.argocd]`
    ArgocdSource = "bridge.argocd", secrets: "Tokens sent in [`ArgocdSource::header`], or `user:password` pairs sent with basic auth (the webhook service's `headers` or `basicAuth`, from `argocd-notifications-secret`).",
    {
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
}

source! {
    /// `[bridge.flux]`
    FluxSource = "bridge.flux", secrets: "The Provider Secret's `token` (`X-Signature: sha256=<hex>`).",
    {
        /// Environment names that are production.
        #[serde(default, with = "values::opt_regex")]
        pub production: Option<Regex>,
        /// Object name (`Kind/namespace/name`) → service and team; the first
        /// match wins.
        #[serde(default)]
        pub services: Vec<ServiceRule>,
    }
}

source! {
    /// `[bridge.jira]`
    JiraSource = "bridge.jira", secrets: "The admin webhook's secret (`X-Hub-Signature: sha256=<hex>`).",
    {
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
}

source! {
    /// `[bridge.linear]`
    LinearSource = "bridge.linear", secrets: "The webhook's signing secret (`Linear-Signature: <hex>`).",
    {
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
}

source! {
    /// `[bridge.events]`
    EventsSource = "bridge.events", secrets: "Bearer tokens (`Authorization: Bearer <secret>`).",
    {
    }
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
        [
            self.github.access(),
            self.gitlab.access(),
            self.pagerduty.access(),
            self.argocd.access(),
            self.flux.access(),
            self.jira.access(),
            self.linear.access(),
            self.events.access(),
        ]
    }

    /// Reads each `secrets_file` into its source's secrets, then checks
    /// that no source is enabled without a secret unless it is insecure.
    pub(super) fn load_secrets_and_check(&mut self) -> Result<(), ConfigError> {
        for (key, file, secrets) in [
            self.github.secrets_file(),
            self.gitlab.secrets_file(),
            self.pagerduty.secrets_file(),
            self.argocd.secrets_file(),
            self.flux.secrets_file(),
            self.jira.secrets_file(),
            self.linear.secrets_file(),
            self.events.secrets_file(),
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
