//! `[pulse.delivery]`: where `valuepulse pulse send` posts each team's
//! Weekly Value Pulse, and how hard it tries.
//!
//! A destination is a webhook URL, and a webhook URL is a credential:
//! whoever holds a Slack or Teams workflow URL can post to the channel.
//! So it is held as a [`WebhookUrl`], whose `Debug`, `Serialize` and
//! [`WebhookUrl::redacted`] show only the scheme and host
//! (`https://hooks.slack.com/<redacted>`), and every error about one names
//! its key, never its text. URLs come from the file (`url`) or from a file
//! of their own (`url_file`: a Kubernetes Secret mount), read at load.

use std::time::Duration;

use serde::{Deserialize, Serialize, Serializer};

use super::ConfigError;
use super::secrets::REDACTED;
use super::values;

/// `[pulse.delivery]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryConfig {
    /// Tries per destination and run, the first included: a 5xx, a 429 or
    /// a failed connection is tried again until they are used up.
    pub attempts: u32,
    /// Wait before the second try; doubled before each next one.
    #[serde(with = "values::duration")]
    pub backoff: Duration,
    /// Longest wait between two tries (a 429's `Retry-After` included).
    #[serde(with = "values::duration")]
    pub max_backoff: Duration,
    /// Timeout of one HTTP request (to the daemon or a destination),
    /// connecting included.
    #[serde(with = "values::duration")]
    pub timeout: Duration,
    /// Where each team's pulse goes.
    #[serde(default)]
    pub destinations: Vec<Destination>,
}

/// `[[pulse.delivery.destinations]]`: one webhook that one team's pulse (or
/// the organisation's) is posted to.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Destination {
    /// The destination's name: in log lines and in the delivery record's
    /// key (`<team>/<week>/<name>`), so it must stay stable. Letters,
    /// digits, `-`, `_` and `.`; unique.
    pub name: String,
    /// The team whose pulse is posted; absent: the organisation's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// What the webhook expects.
    pub kind: DestinationKind,
    /// The webhook URL (a secret). Exactly one of `url` and `url_file`.
    #[serde(default, skip_serializing_if = "WebhookUrl::is_empty")]
    pub url: WebhookUrl,
    /// A file holding the webhook URL (a Kubernetes Secret mount).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url_file: String,
}

impl Destination {
    /// The team part of the delivery record's key and of log lines:
    /// the team, or [`ORGANISATION`].
    pub fn team_label(&self) -> &str {
        self.team.as_deref().unwrap_or(ORGANISATION)
    }
}

/// How the organisation's pulse is named in log lines and delivery keys
/// (parentheses: no team name can be it by accident).
pub const ORGANISATION: &str = "(organisation)";

/// What a destination expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DestinationKind {
    /// A Slack-compatible incoming webhook: Block Kit JSON (Slack,
    /// Mattermost, Rocket.Chat).
    Slack,
    /// A Microsoft Teams workflow webhook ("Post to a channel when a webhook
    /// request is received"): an Adaptive Card in a `message` envelope.
    Teams,
    /// Any JSON webhook: the pulse itself (`valuepulse.pulse/v1`).
    Webhook,
}

impl DestinationKind {
    /// The name as written in config.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Slack => "slack",
            Self::Teams => "teams",
            Self::Webhook => "webhook",
        }
    }
}

/// A webhook URL: shown as its scheme and host only, never whole.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    /// A URL (for tests and builders).
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// The whole URL: only for sending the request.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether it is unset.
    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }

    /// `scheme://host[:port]/<redacted>`: what may be printed. User info,
    /// path, query and fragment (where webhook tokens live) are left out;
    /// a URL that does not parse as `http(s)://host…` is `<redacted>`.
    pub fn redacted(&self) -> String {
        let Some((scheme, rest)) = self.0.trim().split_once("://") else {
            return REDACTED.to_owned();
        };
        if !matches!(scheme, "http" | "https") {
            return REDACTED.to_owned();
        }
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = authority.rsplit('@').next().unwrap_or("");
        if host.is_empty() {
            return REDACTED.to_owned();
        }
        format!("{scheme}://{host}/{REDACTED}")
    }

    /// Why it cannot be a webhook URL (never quoting it), if it cannot.
    pub(crate) fn problem(&self) -> Option<&'static str> {
        let url = self.0.trim();
        let Some((scheme, rest)) = url.split_once("://") else {
            return Some("is not an http:// or https:// URL (value not shown)");
        };
        if !matches!(scheme, "http" | "https") {
            return Some("is not an http:// or https:// URL (value not shown)");
        }
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        if authority.rsplit('@').next().unwrap_or("").is_empty() {
            return Some("has no host (value not shown)");
        }
        if url.chars().any(char::is_whitespace) {
            return Some("contains white space (value not shown)");
        }
        None
    }
}

impl std::fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl Serialize for WebhookUrl {
    /// Redacted; an unset URL stays empty (it hides nothing, and the
    /// printed configuration loads back).
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.is_empty() {
            return s.serialize_str("");
        }
        s.serialize_str(&self.redacted())
    }
}

impl DeliveryConfig {
    /// Reads each `url_file`, then checks every destination: a name that
    /// is unique and fits a record key, a team that is not empty, exactly
    /// one URL that is http(s); and the retry settings.
    pub(super) fn load_urls_and_check(&mut self) -> Result<(), ConfigError> {
        if self.attempts == 0 {
            return Err(ConfigError::new(
                "pulse.delivery.attempts",
                "must be at least 1",
            ));
        }
        if self.max_backoff < self.backoff {
            return Err(ConfigError::new(
                "pulse.delivery.max_backoff",
                "must be at least pulse.delivery.backoff",
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, d) in self.destinations.iter_mut().enumerate() {
            let key = |field: &str| format!("pulse.delivery.destinations.{i}.{field}");
            let name_ok = !d.name.is_empty()
                && d.name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if !name_ok {
                return Err(ConfigError::new(
                    key("name"),
                    "must be letters, digits, '-', '_' or '.' (it is part of the delivery record's key)",
                ));
            }
            if !seen.insert(d.name.clone()) {
                return Err(ConfigError::new(
                    key("name"),
                    format!("{:?} names two destinations", d.name),
                ));
            }
            if d.team.as_deref().is_some_and(|t| t.trim().is_empty()) {
                return Err(ConfigError::new(
                    key("team"),
                    "must not be empty (leave it out for the organisation's pulse)",
                ));
            }
            let file = d.url_file.trim().to_owned();
            match (d.url.is_empty(), file.is_empty()) {
                (true, true) => {
                    return Err(ConfigError::new(key("url"), "missing: set url or url_file"));
                }
                (false, false) => {
                    return Err(ConfigError::new(
                        key("url_file"),
                        "set url or url_file, not both",
                    ));
                }
                (true, false) => {
                    // The error names the file, never its content.
                    let text = std::fs::read_to_string(&file).map_err(|e| {
                        ConfigError::new(
                            key("url_file"),
                            format!("cannot read {file}: {}", e.kind()),
                        )
                    })?;
                    d.url = WebhookUrl(text.trim().to_owned());
                    if let Some(p) = d.url.problem() {
                        return Err(ConfigError::new(key("url_file"), format!("its URL {p}")));
                    }
                }
                (false, true) => {
                    d.url = WebhookUrl(d.url.0.trim().to_owned());
                    if let Some(p) = d.url.problem() {
                        return Err(ConfigError::new(key("url"), p));
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
