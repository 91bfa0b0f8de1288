//! The HTTP calls of `pulse send`: GET a pulse from the daemon, POST a
//! payload to a destination. Blocking (a batch job with nothing to do
//! meanwhile), rustls with the ring provider and the Mozilla roots.
//!
//! No outcome carries a URL or an HTTP library's error text (which can
//! quote the URL, and a webhook URL is a secret): reasons are the status
//! code or one of a fixed set of transport failures.

use std::fmt::Write as _;
use std::time::Duration;

use crate::pulse::model::Pulse;

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
    /// 404: the daemon knows no such team.
    #[error("the daemon knows no such team (404)")]
    UnknownTeam,
    /// Another status.
    #[error("the daemon answered {0}")]
    Status(u16),
    /// The request did not complete.
    #[error("cannot reach the daemon: {0}")]
    Transport(&'static str),
    /// The body is not a pulse.
    #[error("the daemon's answer is not a pulse: {0}")]
    Decode(String),
}

/// One HTTP agent for the whole run.
pub struct Client {
    agent: ureq::Agent,
}

impl Client {
    /// An agent whose every request (connecting included) ends within
    /// `timeout`, that follows no redirect and reads any status as an
    /// answer.
    pub fn new(timeout: Duration) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(format!("valuepulse/{}", env!("CARGO_PKG_VERSION")))
            .build();
        Self {
            agent: ureq::Agent::new_with_config(config),
        }
    }

    /// `GET <base>/pulse?format=json[&team=<team>]`: a team's pulse, or
    /// the organisation's without a team.
    pub fn pulse(&self, base: &str, team: Option<&str>) -> Result<Pulse, FetchError> {
        let mut url = format!("{}/pulse?format=json", base.trim_end_matches('/'));
        if let Some(t) = team {
            url.push_str("&team=");
            url.push_str(&percent_encode(t));
        }
        let mut response = self
            .agent
            .get(&url)
            .header("Accept", "application/json")
            .call()
            .map_err(|e| FetchError::Transport(transport_reason(&e)))?;
        let status = response.status().as_u16();
        if status == 404 {
            return Err(FetchError::UnknownTeam);
        }
        if status != 200 {
            return Err(FetchError::Status(status));
        }
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|e| FetchError::Transport(transport_reason(&e)))?;
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

/// A transport failure as one of a fixed set of words: never the
/// library's text, which may quote the URL.
fn transport_reason(e: &ureq::Error) -> &'static str {
    match e {
        ureq::Error::Timeout(_) => "timed out",
        ureq::Error::HostNotFound => "host not found",
        ureq::Error::ConnectionFailed => "connection failed",
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
