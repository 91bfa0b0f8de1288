//! Is a delivery authentic? Each source's scheme, checked on the exact
//! bytes received, before any parse, in constant time, against every
//! configured secret (several at once while one is rotated).
//!
//! | scheme | who | header |
//! |---|---|---|
//! | [`hmac_sha256_hex`] | GitHub (`X-Hub-Signature-256`), Flux `generic-hmac` (`X-Signature`), Jira Cloud (`X-Hub-Signature`) | `sha256=<hex HMAC-SHA256 of the body>` |
//! | [`bare_hmac_sha256_hex`] | Linear (`Linear-Signature`) | `<hex HMAC-SHA256 of the body>` |
//! | [`static_header_or_basic`] | Argo CD (a configured header, or basic auth) | the secret, or `user:password` |
//! | [`pagerduty`] | PagerDuty v3 (`X-PagerDuty-Signature`) | `v1=<hex>[,v1=<hex>…]` |
//! | [`token`] | GitLab (`X-Gitlab-Token`), `POST /events` (`Authorization: Bearer`) | the secret itself |
//! | [`standard_webhooks`] | GitLab's signing token | `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64> …` over `id.timestamp.body` |
//!
//! A secret is never logged, never part of an error, and never compared
//! with `==`: digests are checked with `ring::hmac::verify` and tokens with
//! a comparison whose time does not depend on where they differ.

use base64::Engine as _;
use ring::hmac;

/// Why a delivery is not authentic. The label of
/// `valuepulse_bridge_deliveries_total{outcome}` is `unauthorized` for all
/// of them; the reason goes to the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The header that carries the signature or token is absent.
    #[error("the signature header is missing")]
    Missing,
    /// The header is there but not in the scheme's form.
    #[error("the signature header is malformed")]
    Malformed,
    /// No configured secret signs these bytes.
    #[error("no configured secret matches the signature")]
    Mismatch,
    /// A Standard Webhooks timestamp outside the tolerance (a replay, or a
    /// clock far off).
    #[error("the signature's timestamp is outside the tolerance")]
    Stale,
}

/// `sha256=<hex>`: the HMAC-SHA256 of `body` keyed by one of `secrets`.
pub fn hmac_sha256_hex(
    secrets: &[String],
    body: &[u8],
    header: Option<&str>,
) -> Result<(), Refused> {
    let header = header.ok_or(Refused::Missing)?.trim();
    let hex = header.strip_prefix("sha256=").ok_or(Refused::Malformed)?;
    let tag = decode_hex(hex).ok_or(Refused::Malformed)?;
    any_secret_signs(secrets, body, &tag)
}

/// `<hex>` without a prefix (Linear's `Linear-Signature`): the
/// HMAC-SHA256 of `body` keyed by one of `secrets`.
pub fn bare_hmac_sha256_hex(
    secrets: &[String],
    body: &[u8],
    header: Option<&str>,
) -> Result<(), Refused> {
    let hex = header.ok_or(Refused::Missing)?.trim();
    let tag = decode_hex(hex).ok_or(Refused::Malformed)?;
    any_secret_signs(secrets, body, &tag)
}

/// A static header carrying one of `secrets` (a leading `Bearer ` is
/// dropped), or `Authorization: Basic` whose `user:password` is one of
/// `secrets` (Argo CD's webhook service sends either).
pub fn static_header_or_basic(
    secrets: &[String],
    static_header: Option<&str>,
    authorization: Option<&str>,
) -> Result<(), Refused> {
    if let Some(v) = static_header {
        return token(secrets, Some(v.strip_prefix("Bearer ").unwrap_or(v)));
    }
    let basic = authorization
        .ok_or(Refused::Missing)?
        .strip_prefix("Basic ")
        .ok_or(Refused::Malformed)?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(basic.trim())
        .map_err(|_| Refused::Malformed)?;
    let pair = std::str::from_utf8(&decoded).map_err(|_| Refused::Malformed)?;
    token(secrets, Some(pair))
}

/// `v1=<hex>[,v1=<hex>…]`: PagerDuty signs with every secret of the
/// subscription during a rotation; one matching value is enough. Values of
/// another version are ignored.
pub fn pagerduty(secrets: &[String], body: &[u8], header: Option<&str>) -> Result<(), Refused> {
    let header = header.ok_or(Refused::Missing)?;
    let mut seen = false;
    for value in header.split(',').map(str::trim) {
        let Some(hex) = value.strip_prefix("v1=") else {
            continue;
        };
        seen = true;
        if let Some(tag) = decode_hex(hex)
            && any_secret_signs(secrets, body, &tag).is_ok()
        {
            return Ok(());
        }
    }
    Err(if seen {
        Refused::Mismatch
    } else {
        Refused::Malformed
    })
}

/// A shared token sent as it is (GitLab's `X-Gitlab-Token`, a static
/// header): equal to one of `secrets`.
pub fn token(secrets: &[String], header: Option<&str>) -> Result<(), Refused> {
    let got = header.ok_or(Refused::Missing)?;
    // Every secret is compared, whatever matched, so the time taken says
    // nothing about which one (or how much of it) matched.
    let mut ok = false;
    for s in secrets {
        ok |= constant_time_eq(s.as_bytes(), got.as_bytes());
    }
    if ok { Ok(()) } else { Err(Refused::Mismatch) }
}

/// The three headers of a Standard Webhooks delivery.
#[derive(Debug, Clone, Copy, Default)]
pub struct StandardHeaders<'a> {
    /// `webhook-id`.
    pub id: Option<&'a str>,
    /// `webhook-timestamp`: Unix seconds.
    pub timestamp: Option<&'a str>,
    /// `webhook-signature`: space-separated `v1,<base64>` values.
    pub signature: Option<&'a str>,
}

/// Standard Webhooks (GitLab's signing token): HMAC-SHA256 of
/// `{id}.{timestamp}.{body}`, base64, keyed by the secret (a `whsec_`
/// prefix means the rest is the base64 of the key); the timestamp must be
/// within `tolerance_secs` of `now_secs`.
pub fn standard_webhooks(
    secrets: &[String],
    body: &[u8],
    h: StandardHeaders<'_>,
    now_secs: i64,
    tolerance_secs: i64,
) -> Result<(), Refused> {
    let (Some(id), Some(ts), Some(sig)) = (h.id, h.timestamp, h.signature) else {
        return Err(Refused::Missing);
    };
    let at: i64 = ts.trim().parse().map_err(|_| Refused::Malformed)?;
    if (now_secs - at).abs() > tolerance_secs {
        return Err(Refused::Stale);
    }
    let mut signed = Vec::with_capacity(id.len() + ts.len() + body.len() + 2);
    signed.extend_from_slice(id.as_bytes());
    signed.push(b'.');
    signed.extend_from_slice(ts.as_bytes());
    signed.push(b'.');
    signed.extend_from_slice(body);
    let engine = base64::engine::general_purpose::STANDARD;
    let tags: Vec<Vec<u8>> = sig
        .split_whitespace()
        .filter_map(|v| v.strip_prefix("v1,"))
        .filter_map(|b| engine.decode(b).ok())
        .collect();
    if tags.is_empty() {
        return Err(Refused::Malformed);
    }
    for secret in secrets {
        let key = standard_key(secret);
        let key = hmac::Key::new(hmac::HMAC_SHA256, &key);
        if tags.iter().any(|t| hmac::verify(&key, &signed, t).is_ok()) {
            return Ok(());
        }
    }
    Err(Refused::Mismatch)
}

/// The HMAC key of a Standard Webhooks secret: `whsec_<base64>` decoded,
/// any other text as its bytes.
fn standard_key(secret: &str) -> Vec<u8> {
    secret
        .strip_prefix("whsec_")
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .unwrap_or_else(|| secret.as_bytes().to_vec())
}

/// Whether one of `secrets` keys the HMAC-SHA256 `tag` of `body`.
fn any_secret_signs(secrets: &[String], body: &[u8], tag: &[u8]) -> Result<(), Refused> {
    let mut ok = false;
    for s in secrets {
        let key = hmac::Key::new(hmac::HMAC_SHA256, s.as_bytes());
        ok |= hmac::verify(&key, body, tag).is_ok();
    }
    if ok { Ok(()) } else { Err(Refused::Mismatch) }
}

/// Equality whose time depends only on the lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Lower- or upper-case hex to bytes; `None` for anything else.
fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    s.as_bytes()
        .chunks_exact(2)
        .map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?))
        .collect()
}

/// The `sha256=<hex>` header value of `body` signed with `secret`: what
/// GitHub, Flux and Jira send (the tests and the benches sign with it).
pub fn sign_hmac_sha256_hex(secret: &str, body: &[u8]) -> String {
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes()), body);
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256=");
    for b in tag.as_ref() {
        out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    out
}

#[cfg(test)]
mod tests;
