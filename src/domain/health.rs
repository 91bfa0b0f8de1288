//! Value-stream health bands, beside the DORA tiers: the value-creation
//! framework's targets for customer value realization, the value feedback
//! cycle and flow efficiency.
//!
//! | metric | elite (3) | good (2) | below (1) |
//! |---|---|---|---|
//! | value realization (features used ÷ shipped) | > 80 % | > 60 % | less |
//! | value feedback cycle (first ship to first use, median) | < 24 hours | < 7 days | more |
//! | flow efficiency (active ÷ active + waiting) | > 40 % ("world-class") | > 25 % | less |
//!
//! Every edge is strict, as the framework writes them ("above 60 %",
//! "under 7 days"): exactly 60 % is below, exactly 7 days is below.

/// A health band, exported as its number in `valuepulse_value_stream_tier`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HealthTier {
    /// 1: short of the framework's target.
    Below = 1,
    /// 2: the framework's target ("good").
    Good = 2,
    /// 3: "elite" (realization, feedback cycle), "world-class" (flow
    /// efficiency).
    Elite = 3,
}

impl HealthTier {
    /// The name.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthTier::Below => "below",
            HealthTier::Good => "good",
            HealthTier::Elite => "elite",
        }
    }
}

/// The graded value-stream figures, as the `metric` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HealthMetric {
    /// Features used ÷ features shipped, 0–1.
    ValueRealization,
    /// Median time from a feature's first ship to its first use, seconds.
    ValueFeedbackCycle,
    /// Summed active ÷ summed active + waiting time, 0–1.
    FlowEfficiency,
}

impl HealthMetric {
    /// Every metric, in export order.
    pub const ALL: [HealthMetric; 3] = [
        HealthMetric::ValueRealization,
        HealthMetric::ValueFeedbackCycle,
        HealthMetric::FlowEfficiency,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthMetric::ValueRealization => "value_realization",
            HealthMetric::ValueFeedbackCycle => "value_feedback_cycle",
            HealthMetric::FlowEfficiency => "flow_efficiency",
        }
    }

    /// The band of `value` (a ratio, or seconds for the feedback cycle).
    pub fn grade(self, value: f64) -> HealthTier {
        match self {
            HealthMetric::ValueRealization => value_realization(value),
            HealthMetric::ValueFeedbackCycle => value_feedback_cycle(value),
            HealthMetric::FlowEfficiency => flow_efficiency(value),
        }
    }
}

const HOUR: f64 = 3600.0;
const DAY: f64 = 24.0 * HOUR;

/// Band of a value realization ratio (0–1): above 0.8 elite, above 0.6
/// good.
pub fn value_realization(ratio: f64) -> HealthTier {
    if ratio > 0.8 {
        HealthTier::Elite
    } else if ratio > 0.6 {
        HealthTier::Good
    } else {
        HealthTier::Below
    }
}

/// Band of a value feedback cycle in seconds (the median of
/// `valuepulse_value_feedback_cycle_seconds`): under 24 hours elite, under
/// 7 days good. A NaN is below.
pub fn value_feedback_cycle(seconds: f64) -> HealthTier {
    if seconds < DAY {
        HealthTier::Elite
    } else if seconds < 7.0 * DAY {
        HealthTier::Good
    } else {
        HealthTier::Below
    }
}

/// Band of a flow efficiency ratio (0–1): above 0.40 world-class (elite),
/// above 0.25 good.
pub fn flow_efficiency(ratio: f64) -> HealthTier {
    if ratio > 0.40 {
        HealthTier::Elite
    } else if ratio > 0.25 {
        HealthTier::Good
    } else {
        HealthTier::Below
    }
}

#[cfg(test)]
mod tests;
