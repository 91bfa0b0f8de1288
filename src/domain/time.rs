//! Event time and sliding windows.
//!
//! Time is carried as milliseconds since the Unix epoch (`Millis`). A window of
//! width `w` evaluated at `now` holds every event whose time `t` satisfies
//! `t >= now - w`. There is no upper edge: an event from up to
//! `max_clock_skew` in the future (a producer whose clock runs ahead) counts as
//! happening now; anything further ahead is rejected before it reaches state.

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

    /// `count` events over this window as a per-day rate: the one place a
    /// count becomes "per day" (deployment frequency, its tier, the page).
    pub fn per_day(&self, count: u64) -> f64 {
        count as f64 / self.days()
    }
}

/// The configured windows, in configured order (never empty once
/// configuration is validated). Dereferences to `[Window]`, so series keep
/// one figure per window in the same order; it alone knows which window is
/// the longest, the one tiers and bands are graded on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Windows(Vec<Window>);

impl Windows {
    /// The windows, in the order given.
    pub fn new(windows: Vec<Window>) -> Self {
        Self(windows)
    }

    /// Index of the longest window (the last of equal widths, as
    /// `Iterator::max_by_key` picks; 0 when there is none).
    pub fn longest(&self) -> usize {
        let mut best = 0;
        for (i, w) in self.0.iter().enumerate() {
            if w.width >= self.0[best].width {
                best = i;
            }
        }
        best
    }

    /// The longest window.
    ///
    /// # Panics
    /// When there is no window (configuration validation refuses that).
    pub fn longest_window(&self) -> &Window {
        &self.0[self.longest()]
    }
}

impl std::ops::Deref for Windows {
    type Target = [Window];

    fn deref(&self) -> &[Window] {
        &self.0
    }
}

impl From<Vec<Window>> for Windows {
    fn from(windows: Vec<Window>) -> Self {
        Self(windows)
    }
}

impl<'a> IntoIterator for &'a Windows {
    type Item = &'a Window;
    type IntoIter = std::slice::Iter<'a, Window>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
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
}

/// A duration for people, in the unit that reads best: `40 s`, `14 min`,
/// `5.2 h`, `3.1 d` (the page and the pulse).
pub fn human_duration(seconds: f64) -> String {
    if seconds < 90.0 {
        format!("{seconds:.0} s")
    } else if seconds < 90.0 * 60.0 {
        format!("{:.0} min", seconds / 60.0)
    } else if seconds < 48.0 * 3600.0 {
        format!("{:.1} h", seconds / 3600.0)
    } else {
        format!("{:.1} d", seconds / 86_400.0)
    }
}

#[cfg(test)]
mod tests;
