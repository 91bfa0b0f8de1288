//! Linear webhooks to native v1 work items. A pure function: no I/O, no
//! clock. (Not mapped yet: every authentic delivery is answered 202,
//! `ignored`.)

use serde::Deserialize;

use super::map::{Malformed, Mapped};
use super::verify::Refused;
use crate::config::bridge::LinearSource;

/// The delivery as native v1 events, or nothing (ignored).
pub fn map(_body: &[u8], _cfg: &LinearSource) -> Result<Mapped, Malformed> {
    Ok(Mapped::ignored("other"))
}

/// Linear puts the delivery's time in the signed body (`webhookTimestamp`,
/// Unix milliseconds): one further than `tolerance_secs` from `now_secs`
/// is a replay (`Stale`); one without it is `Missing`.
pub fn fresh(body: &[u8], now_secs: i64, tolerance_secs: i64) -> Result<(), Refused> {
    #[derive(Deserialize)]
    struct Stamp {
        #[serde(rename = "webhookTimestamp")]
        webhook_timestamp: Option<i64>,
    }
    let stamp: Stamp = serde_json::from_slice(body).map_err(|_| Refused::Malformed)?;
    let at_ms = stamp.webhook_timestamp.ok_or(Refused::Missing)?;
    if (now_secs.saturating_mul(1000) - at_ms).abs() > tolerance_secs.saturating_mul(1000) {
        return Err(Refused::Stale);
    }
    Ok(())
}
