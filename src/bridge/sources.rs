//! The sources the bridge takes deliveries from: which headers carry each
//! one's signature, event name and body, and which module maps it.

use axum::http::HeaderMap;

use super::map::{Malformed, Mapped};
use super::verify::{self, Refused, StandardHeaders};
use super::{argocd, flux, github, gitlab, jira, linear, pagerduty};
use crate::config::bridge::BridgeConfig;

/// A source, as named in `/hooks/<source>`, the config and the `source`
/// label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// GitHub webhooks.
    Github,
    /// GitLab webhooks.
    Gitlab,
    /// PagerDuty v3 webhooks.
    PagerDuty,
    /// Argo CD notifications (the template in `deploy/argocd/`).
    Argocd,
    /// Flux notification-controller, provider `generic-hmac`.
    Flux,
    /// Jira Cloud admin webhooks.
    Jira,
    /// Linear webhooks.
    Linear,
    /// `POST /events/<topic>`.
    Events,
}

impl Source {
    /// Every source, in config order.
    pub const ALL: [Source; 8] = [
        Source::Github,
        Source::Gitlab,
        Source::PagerDuty,
        Source::Argocd,
        Source::Flux,
        Source::Jira,
        Source::Linear,
        Source::Events,
    ];

    /// The name in paths, config keys and labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Github => "github",
            Source::Gitlab => "gitlab",
            Source::PagerDuty => "pagerduty",
            Source::Argocd => "argocd",
            Source::Flux => "flux",
            Source::Jira => "jira",
            Source::Linear => "linear",
            Source::Events => "events",
        }
    }

    /// The source a `/hooks/<name>` path names.
    pub fn from_path(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Index into [`BridgeConfig::access`].
    fn index(self) -> usize {
        self as usize
    }
}

/// Whether the source's routes answer.
pub fn enabled(cfg: &BridgeConfig, source: Source) -> bool {
    cfg.access()[source.index()].is_enabled()
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Checks a delivery's signature or token, as its source signs. An
/// `insecure` source lets every delivery in (it was logged at start).
pub fn verify(
    cfg: &BridgeConfig,
    source: Source,
    headers: &HeaderMap,
    body: &[u8],
    now_secs: i64,
) -> Result<(), Refused> {
    let access = cfg.access()[source.index()];
    if access.insecure {
        return Ok(());
    }
    let secrets = access.secrets.expose();
    match source {
        Source::Github => {
            verify::hmac_sha256_hex(secrets, body, header(headers, "x-hub-signature-256"))
        }
        Source::Gitlab => match header(headers, "webhook-signature") {
            // The signing token (Standard Webhooks); else the secret token.
            Some(signature) => verify::standard_webhooks(
                secrets,
                body,
                StandardHeaders {
                    id: header(headers, "webhook-id"),
                    timestamp: header(headers, "webhook-timestamp"),
                    signature: Some(signature),
                },
                now_secs,
                i64::try_from(cfg.gitlab.signing_tolerance.as_secs()).unwrap_or(i64::MAX),
            ),
            None => verify::token(secrets, header(headers, "x-gitlab-token")),
        },
        Source::PagerDuty => {
            verify::pagerduty(secrets, body, header(headers, "x-pagerduty-signature"))
        }
        Source::Argocd => verify::static_header_or_basic(
            secrets,
            header(headers, &cfg.argocd.header),
            header(headers, "authorization"),
        ),
        Source::Flux => verify::hmac_sha256_hex(secrets, body, header(headers, "x-signature")),
        Source::Jira => verify::hmac_sha256_hex(secrets, body, header(headers, "x-hub-signature")),
        Source::Linear => {
            verify::bare_hmac_sha256_hex(secrets, body, header(headers, "linear-signature"))?;
            linear::fresh(
                body,
                now_secs,
                i64::try_from(cfg.linear.timestamp_tolerance.as_secs()).unwrap_or(i64::MAX),
            )
        }
        Source::Events => verify::token(
            secrets,
            header(headers, "authorization").map(|v| v.strip_prefix("Bearer ").unwrap_or(v)),
        ),
    }
}

/// Maps an authentic delivery of a webhook source.
pub fn map(
    cfg: &BridgeConfig,
    source: Source,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Mapped, Malformed> {
    match source {
        Source::Github => github::map(
            header(headers, "x-github-event").unwrap_or_default(),
            body,
            &cfg.github,
        ),
        Source::Gitlab => gitlab::map(
            header(headers, "x-gitlab-event").unwrap_or_default(),
            body,
            &cfg.gitlab,
        ),
        Source::PagerDuty => pagerduty::map(body, &cfg.pagerduty),
        Source::Argocd => argocd::map(body, &cfg.argocd),
        Source::Flux => flux::map(body, &cfg.flux),
        Source::Jira => jira::map(body, &cfg.jira),
        Source::Linear => linear::map(body, &cfg.linear),
        Source::Events => Ok(Mapped::ignored("other")),
    }
}
