//! DORA performance tiers.
//!
//! DORA's published clusters are not monotonic from year to year, so
//! valuepulse states its own bands (also in the README):
//!
//! | metric | elite (4) | high (3) | medium (2) | low (1) |
//! |---|---|---|---|---|
//! | deployment frequency, deploys/day | ≥ 1 | ≥ 1/7 | ≥ 1/30 | less |
//! | lead time, median | < 1 day | < 1 week | < 30 days | more |
//! | change failure ratio | ≤ 0.05 | ≤ 0.10 | ≤ 0.15 | more |
//! | time to restore, median | < 1 hour | < 1 day | < 1 week | more |

/// A tier, exported as its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tier {
    /// 1
    Low = 1,
    /// 2
    Medium = 2,
    /// 3
    High = 3,
    /// 4
    Elite = 4,
}

/// The four keys, as exported in `valuepulse_dora_tier{metric}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TierMetric {
    /// Deploys per day.
    DeploymentFrequency,
    /// Median lead time for changes.
    LeadTime,
    /// Change failure ratio.
    ChangeFailureRate,
    /// Median time to restore.
    TimeToRestore,
}

impl TierMetric {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            TierMetric::DeploymentFrequency => "deployment_frequency",
            TierMetric::LeadTime => "lead_time",
            TierMetric::ChangeFailureRate => "change_failure_rate",
            TierMetric::TimeToRestore => "time_to_restore",
        }
    }
}

const HOUR: f64 = 3600.0;
const DAY: f64 = 24.0 * HOUR;

/// Tier of a deployment frequency given in deploys per day.
pub fn deployment_frequency(per_day: f64) -> Tier {
    if per_day >= 1.0 {
        Tier::Elite
    } else if per_day >= 1.0 / 7.0 {
        Tier::High
    } else if per_day >= 1.0 / 30.0 {
        Tier::Medium
    } else {
        Tier::Low
    }
}

/// Tier of a median lead time in seconds.
pub fn lead_time(median_seconds: f64) -> Tier {
    if median_seconds < DAY {
        Tier::Elite
    } else if median_seconds < 7.0 * DAY {
        Tier::High
    } else if median_seconds < 30.0 * DAY {
        Tier::Medium
    } else {
        Tier::Low
    }
}

/// Tier of a change failure ratio in 0–1.
pub fn change_failure_rate(ratio: f64) -> Tier {
    if ratio <= 0.05 {
        Tier::Elite
    } else if ratio <= 0.10 {
        Tier::High
    } else if ratio <= 0.15 {
        Tier::Medium
    } else {
        Tier::Low
    }
}

/// Tier of a median time to restore in seconds.
pub fn time_to_restore(median_seconds: f64) -> Tier {
    if median_seconds < HOUR {
        Tier::Elite
    } else if median_seconds < DAY {
        Tier::High
    } else if median_seconds < 7.0 * DAY {
        Tier::Medium
    } else {
        Tier::Low
    }
}

#[cfg(test)]
mod tests;
