//! `valuepulse pulse`: fetch the pulse of a running daemon over plain
//! HTTP (`GET /pulse?format=…&team=…`) and hand back its body, for a
//! terminal or a script. A tiny HTTP/1.1 client on `std::net`: one
//! request, `Connection: close`, read to the end.

use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use base64::Engine as _;

/// How long connecting, and then each read or write, may take.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// Why no pulse was printed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The URL is not `http://host[:port][/prefix]`.
    #[error("--url must be http://host[:port]: {0}")]
    Url(String),
    /// Connecting, writing or reading failed.
    #[error("cannot reach {addr}: {source}")]
    Io {
        /// `host:port`.
        addr: String,
        /// What failed.
        source: std::io::Error,
    },
    /// The answer is not HTTP.
    #[error("the daemon's answer is not HTTP")]
    Malformed,
    /// The daemon answered with another status than 200.
    #[error("the daemon answered {status}: {body}")]
    Status {
        /// HTTP status.
        status: u16,
        /// Its body (the list of teams for 404).
        body: String,
    },
}

/// Where a daemon is: `host:port` and a path prefix (no trailing `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `host:port` to connect to (port 80 when none is given).
    pub addr: String,
    /// Path before `/pulse` (e.g. behind a proxy), empty by default.
    pub prefix: String,
}

impl Target {
    /// Parses `http://host[:port][/prefix]`.
    pub fn parse(url: &str) -> Result<Self, ClientError> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| ClientError::Url(format!("{url} (only plain http:// is supported)")))?;
        let (host, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if host.is_empty() || host.contains('@') {
            return Err(ClientError::Url(url.to_owned()));
        }
        let has_port = host
            .rsplit_once(':')
            .is_some_and(|(_, p)| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            && !host.ends_with(']');
        let addr = if has_port {
            host.to_owned()
        } else {
            format!("{host}:80")
        };
        let prefix = prefix.trim_end_matches('/');
        Ok(Self {
            addr,
            prefix: if prefix.is_empty() {
                String::new()
            } else {
                format!("/{prefix}")
            },
        })
    }
}

/// The path and query of the pulse of `team` (the organisation without
/// one) in `format` (`json`, `markdown` or `html`).
pub fn pulse_path(prefix: &str, team: Option<&str>, format: &str) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("format", format);
    if let Some(t) = team {
        q.append_pair("team", t);
    }
    format!("{prefix}/pulse?{}", q.finish())
}

/// GETs `path` from `target` (with basic auth when `user` is
/// `name:password`) and returns the body of a 200.
pub fn get(target: &Target, path: &str, user: Option<&str>) -> Result<String, ClientError> {
    let io = |source| ClientError::Io {
        addr: target.addr.clone(),
        source,
    };
    let addrs = std::net::ToSocketAddrs::to_socket_addrs(target.addr.as_str()).map_err(io)?;
    let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "no address");
    let mut stream = None;
    for a in addrs {
        match TcpStream::connect_timeout(&a, TIMEOUT) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = e,
        }
    }
    let mut s = stream.ok_or_else(|| io(last))?;
    s.set_read_timeout(Some(TIMEOUT)).map_err(io)?;
    s.set_write_timeout(Some(TIMEOUT)).map_err(io)?;
    let mut request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nUser-Agent: valuepulse/{}\r\n",
        target.addr,
        env!("CARGO_PKG_VERSION")
    );
    if let Some(u) = user {
        let token = base64::engine::general_purpose::STANDARD.encode(u);
        let _ = write!(request, "Authorization: Basic {token}\r\n");
    }
    request.push_str("\r\n");
    s.write_all(request.as_bytes()).map_err(io)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(io)?;
    let (status, body) = parse_response(&raw)?;
    if status == 200 {
        Ok(body)
    } else {
        Err(ClientError::Status {
            status,
            body: body.trim_end().to_owned(),
        })
    }
}

/// The status and body of a complete HTTP/1.1 response (chunked or not).
pub fn parse_response(raw: &[u8]) -> Result<(u16, String), ClientError> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or(ClientError::Malformed)?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or(ClientError::Malformed)?;
    let mut body = &raw[split + 4..];
    let chunked = head
        .lines()
        .any(|l| l.to_ascii_lowercase().replace(' ', "") == "transfer-encoding:chunked");
    let body = if chunked {
        let mut out = Vec::new();
        loop {
            let eol = body
                .windows(2)
                .position(|w| w == b"\r\n")
                .ok_or(ClientError::Malformed)?;
            let size = std::str::from_utf8(&body[..eol])
                .ok()
                .and_then(|s| {
                    usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok()
                })
                .ok_or(ClientError::Malformed)?;
            if size == 0 {
                break;
            }
            let chunk = body
                .get(eol + 2..eol + 2 + size)
                .ok_or(ClientError::Malformed)?;
            out.extend_from_slice(chunk);
            body = body.get(eol + 4 + size..).ok_or(ClientError::Malformed)?;
        }
        out
    } else {
        body.to_vec()
    };
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

#[cfg(test)]
mod tests;
