//! The pulse's one HTTP client (ureq, blocking, rustls with the ring
//! provider): `valuepulse pulse` and `pulse send` GET a pulse from the
//! daemon, `pulse send` POSTs payloads to destinations, and `/pulse` asks
//! Prometheus for distinct users ([`super::history`]).
//!
//! The daemon may sit behind TLS and basic auth (`http.web_config`):
//! [`DaemonAccess`] gives the `user:password` (on the command line or,
//! better, from a file) and the CA that signed its certificate. The
//! credentials go to the daemon only, never to a webhook or Prometheus,
//! and the CA is trusted for the daemon only (webhooks and Prometheus keep
//! Mozilla's roots).
//!
//! No outcome carries a URL or an HTTP library's error text (which can
//! quote the URL, and a webhook URL is a secret): reasons are the status
//! code or one of a fixed set of transport failures.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;

use crate::pulse::model::Pulse;
/// How long `valuepulse pulse` gives the daemon to answer (connecting
/// included).
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// What a destination made of one post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Posted {
    /// 2xx, with the status.
    Accepted(u16),
    /// Worth another try: 5xx, 429, or the request did not complete.
    Retry {
        /// The status or the transport failure.
        reason: String,
        /// The destination's `Retry-After`, in seconds.
        retry_after: Option<Duration>,
    },
    /// Not worth another try: any other status (a deleted webhook, a
    /// payload it refuses).
    Refused(String),
}

/// Why the daemon did not give a pulse.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// 404: the daemon knows no such team; the body lists the teams.
    #[error("the daemon knows no such team (404): {0}")]
    UnknownTeam(String),
    /// 401: basic auth is required, or the credentials are wrong.
    #[error("the daemon refused the credentials (401): give --user or --user-file")]
    Unauthorized,
    /// Another status.
    #[error("the daemon answered {0}: {1}")]
    Status(u16, String),
    /// The request did not complete.
    #[error("cannot reach the daemon: {0}")]
    Transport(&'static str),
    /// The body is not a pulse.
    #[error("the daemon's answer is not a pulse: {0}")]
    Decode(String),
}

/// How to reach a daemon whose admin port has TLS or basic auth
/// (`http.web_config`): flags of `valuepulse pulse` and `pulse send`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct DaemonAccess {
    /// Basic auth for the daemon's admin port as `user:password` (seen in
    /// the process list: prefer --user-file).
    #[arg(long, conflicts_with = "user_file")]
    pub user: Option<String>,
    /// File holding `user:password` for the daemon's admin port (a mounted
    /// Secret); surrounding white space is ignored.
    #[arg(long)]
    pub user_file: Option<PathBuf>,
    /// PEM file of the CA that signed the daemon's certificate, for an
    /// `https://` --url (default: Mozilla's roots).
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
}

/// Why a [`DaemonAccess`] cannot be used (never quoting a secret).
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// `--user-file` cannot be read.
    #[error("cannot read --user-file {0}: {1}")]
    UserFile(PathBuf, std::io::ErrorKind),
    /// The credentials are not `user:password`.
    #[error("the basic auth credentials must be user:password (value not shown)")]
    User,
    /// `--ca-file` cannot be read or holds no certificate.
    #[error("cannot use --ca-file {0}: {1}")]
    Ca(PathBuf, String),
}

/// Two HTTP agents for the whole run: one for the daemon (its CA, its
/// credentials), one for everything else.
pub struct Client {
    agent: ureq::Agent,
    daemon: ureq::Agent,
    /// `Basic …` for the daemon, when it asks for credentials.
    authorization: Option<String>,
}

/// An agent whose every request (connecting included) ends within
/// `timeout`, that follows no redirect and reads any status as an answer;
/// trusting `roots` instead of Mozilla's when given.
fn agent(timeout: Duration, roots: Option<Vec<ureq::tls::Certificate<'static>>>) -> ureq::Agent {
    let mut config = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .user_agent(format!("valuepulse/{}", env!("CARGO_PKG_VERSION")));
    if let Some(roots) = roots {
        config = config.tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::Specific(Arc::new(roots)))
                .build(),
        );
    }
    ureq::Agent::new_with_config(config.build())
}

impl Client {
    /// A client for webhooks and Prometheus, and a daemon without TLS or
    /// basic auth.
    pub fn new(timeout: Duration) -> Self {
        Self {
            agent: agent(timeout, None),
            daemon: agent(timeout, None),
            authorization: None,
        }
    }

    /// [`Self::new`], reaching the daemon as `access` says.
    pub fn with_daemon_access(
        timeout: Duration,
        access: &DaemonAccess,
    ) -> Result<Self, AccessError> {
        let user = match (&access.user, &access.user_file) {
            (Some(u), _) => Some(u.trim().to_owned()),
            (None, Some(file)) => Some(
                std::fs::read_to_string(file)
                    .map_err(|e| AccessError::UserFile(file.clone(), e.kind()))?
                    .trim()
                    .to_owned(),
            ),
            (None, None) => None,
        };
        if let Some(u) = &user
            && u.split_once(':').is_none_or(|(name, _)| name.is_empty())
        {
            return Err(AccessError::User);
        }
        let roots = access.ca_file.as_deref().map(read_roots).transpose()?;
        Ok(Self {
            agent: agent(timeout, None),
            daemon: agent(timeout, roots),
            authorization: user.map(|u| {
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(u)
                )
            }),
        })
    }

    /// `GET <base>/pulse?format=<format>[&team=<team>]` from the daemon:
    /// the body of a 200.
    pub fn pulse_text(
        &self,
        base: &str,
        team: Option<&str>,
        format: &str,
    ) -> Result<String, FetchError> {
        let mut url = format!(
            "{}/pulse?format={}",
            base.trim_end_matches('/'),
            percent_encode(format)
        );
        if let Some(t) = team {
            url.push_str("&team=");
            url.push_str(&percent_encode(t));
        }
        let mut request = self.daemon.get(&url);
        if let Some(a) = &self.authorization {
            request = request.header("Authorization", a);
        }
        let mut response = request
            .call()
            .map_err(|e| FetchError::Transport(transport_reason(&e)))?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .read_to_string()
            .map_err(|e| FetchError::Transport(transport_reason(&e)))?;
        match status {
            200 => Ok(body),
            401 => Err(FetchError::Unauthorized),
            404 => Err(FetchError::UnknownTeam(body.trim_end().to_owned())),
            _ => Err(FetchError::Status(status, body.trim_end().to_owned())),
        }
    }

    /// A team's pulse (the organisation's without a team), as JSON.
    pub fn pulse(&self, base: &str, team: Option<&str>) -> Result<Pulse, FetchError> {
        let text = self.pulse_text(base, team, "json")?;
        serde_json::from_str(&text).map_err(|e| FetchError::Decode(e.to_string()))
    }

    /// `GET <url>` asking for JSON: the status and the body, whatever the
    /// status; a transport failure as one of a fixed set of words.
    pub fn get_json(&self, url: &str) -> Result<(u16, String), &'static str> {
        let mut response = self
            .agent
            .get(url)
            .header("Accept", "application/json")
            .call()
            .map_err(|e| transport_reason(&e))?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .read_to_string()
            .map_err(|e| transport_reason(&e))?;
        Ok((status, body))
    }

    /// POSTs `body` (JSON) to `url` once.
    pub fn post(&self, url: &str, body: &[u8]) -> Posted {
        let response = self
            .agent
            .post(url)
            .header("Content-Type", "application/json; charset=utf-8")
            .send(body);
        match response {
            Ok(r) => classify(
                r.status().as_u16(),
                r.headers().get("retry-after").and_then(|v| v.to_str().ok()),
            ),
            Err(e) => Posted::Retry {
                reason: transport_reason(&e).to_owned(),
                retry_after: None,
            },
        }
    }
}

/// A destination's answer: 2xx accepted; 429 and 5xx worth another try
/// (after `Retry-After` seconds when given); anything else refused.
pub fn classify(status: u16, retry_after: Option<&str>) -> Posted {
    match status {
        200..=299 => Posted::Accepted(status),
        429 | 500..=599 => Posted::Retry {
            reason: format!("HTTP {status}"),
            retry_after: retry_after
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs),
        },
        _ => Posted::Refused(format!("HTTP {status}")),
    }
}

/// What an I/O error may wrap.
type IoSource = dyn std::error::Error + Send + Sync;

/// A transport failure as one of a fixed set of words: never the
/// library's text, which may quote the URL.
fn transport_reason(e: &ureq::Error) -> &'static str {
    match e {
        ureq::Error::Timeout(_) => "timed out",
        ureq::Error::HostNotFound => "host not found",
        ureq::Error::ConnectionFailed => "connection failed",
        // rustls reports a refused certificate through the I/O error.
        ureq::Error::Io(io) if io.get_ref().is_some_and(IoSource::is::<rustls::Error>) => {
            "TLS failed"
        }
        ureq::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused",
            std::io::ErrorKind::ConnectionReset => "connection reset",
            std::io::ErrorKind::TimedOut => "timed out",
            std::io::ErrorKind::UnexpectedEof => "connection closed early",
            _ => "I/O error",
        },
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => "TLS failed",
        ureq::Error::BadUri(_) => "malformed URL",
        ureq::Error::Protocol(_) => "malformed HTTP answer",
        _ => "request failed",
    }
}

/// The certificates of a PEM file, for trusting a daemon's CA.
fn read_roots(path: &Path) -> Result<Vec<ureq::tls::Certificate<'static>>, AccessError> {
    let ca = |why: String| AccessError::Ca(path.to_owned(), why);
    let pem = std::fs::read(path).map_err(|e| ca(e.kind().to_string()))?;
    let mut roots = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        if let ureq::tls::PemItem::Certificate(c) = item.map_err(|e| ca(e.to_string()))? {
            roots.push(c);
        }
    }
    if roots.is_empty() {
        return Err(ca("no certificate in it".to_owned()));
    }
    Ok(roots)
}

/// Percent-encodes a query value: unreserved characters stay, every other
/// byte becomes `%XX`.
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests;
