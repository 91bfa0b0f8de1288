//! Event time and sliding windows.
//!
//! Time is carried as milliseconds since the Unix epoch (`Millis`). A window of
//! width `w` evaluated at `now` holds every event whose time `t` satisfies
//! `t >= now - w`. There is no upper edge: an event from up to
//! `max_clock_skew` in the future (a producer whose clock runs ahead) counts as
//! happening now; anything further ahead is rejected before it reaches state.

use super::event::Outcome;

/// Milliseconds since the Unix epoch, in UTC.
pub type Millis = i64;

/// Milliseconds in one day, used for per-day rates and tier bands.
pub const DAY_MS: Millis = 86_400_000;

/// One sliding window, e.g. `7d`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// The label value exported as `window="…"`, exactly as configured.
    pub label: String,
    /// Width of the window.
    pub width: Millis,
}

impl Window {
    /// Builds a window from its label and width in milliseconds.
    pub fn new(label: impl Into<String>, width: Millis) -> Self {
        Self {
            label: label.into(),
            width,
        }
    }

    /// Whether an event at `t` is inside this window evaluated at `now`.
    #[inline]
    pub fn contains(&self, t: Millis, now: Millis) -> bool {
        t >= now - self.width
    }

    /// Width in days, for per-day rates.
    pub fn days(&self) -> f64 {
        self.width as f64 / DAY_MS as f64
    }
}

/// Limits applied to event time before an event may enter state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimePolicy {
    /// Width of the longest configured window.
    pub longest: Millis,
    /// Extra history kept beyond the longest window (replay start and pruning).
    pub grace: Millis,
    /// How far in the future an event time may be and still be accepted.
    pub max_clock_skew: Millis,
}

/// Where an event time falls relative to what state keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeCheck {
    /// Inside the retained horizon.
    InRange,
    /// Older than `now - longest - grace`.
    Late,
    /// Newer than `now + max_clock_skew`.
    Future,
}

impl TimePolicy {
    /// Oldest event time that state keeps: `now - longest - grace`.
    #[inline]
    pub fn horizon(&self, now: Millis) -> Millis {
        now - self.longest - self.grace
    }

    /// Classifies an event time.
    #[inline]
    pub fn check(&self, t: Millis, now: Millis) -> TimeCheck {
        if t < self.horizon(now) {
            TimeCheck::Late
        } else if t > now + self.max_clock_skew {
            TimeCheck::Future
        } else {
            TimeCheck::InRange
        }
    }

    /// The outcome of an event whose time state does not keep (`late` or
    /// `future`), or `None` when it is in range: every fold starts here.
    #[inline]
    pub fn rejects(&self, t: Millis, now: Millis) -> Option<Outcome> {
        match self.check(t, now) {
            TimeCheck::InRange => None,
            TimeCheck::Late => Some(Outcome::Late),
            TimeCheck::Future => Some(Outcome::Future),
        }
    }
}

#[cfg(test)]
mod tests;
