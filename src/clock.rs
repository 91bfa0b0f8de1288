//! The wall clock: the one place that reads `SystemTime::now`.
//!
//! Event time comes from payloads; "now" (where the sliding windows end,
//! the horizon of late events, log rate limits, generated ids) comes from
//! here, and the daemon passes it down as a plain function so tests can
//! inject a fixed one. `clippy.toml` forbids `SystemTime::now` everywhere
//! else.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::domain::Millis;

/// The daemon's clock type: a function returning epoch milliseconds, so
/// tests and the demo can pass a fixed or simulated one.
pub type Clock = fn() -> Millis;

/// Wall-clock "now" in epoch milliseconds (0 on a clock set before 1970).
#[allow(clippy::disallowed_methods)] // The one permitted read of the wall clock.
pub fn now_millis() -> Millis {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| {
        Millis::try_from(d.as_millis()).unwrap_or(Millis::MAX)
    })
}

/// Wall-clock "now" in whole seconds since the epoch.
pub fn now_secs() -> u64 {
    u64::try_from(now_millis() / 1000).unwrap_or(0)
}

/// Wall-clock "now" in nanoseconds since the epoch: for ids and names that
/// must differ between two calls in the same millisecond.
#[allow(clippy::disallowed_methods)] // The one permitted read of the wall clock.
pub fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}
