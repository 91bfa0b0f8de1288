//! DORA performance tiers, graded with configurable bands.
//!
//! Each of the four keys is graded against three edges (elite, high,
//! medium); whatever passes none is low. A band set is either one of the
//! named presets ([`Preset`], sources in `presets.rs` and the README's
//! "DORA tier bands: presets") or fully custom, and is checked by
//! [`DoraBands::validate`] before use. The default, [`Preset::Valuepulse`],
//! is valuepulse's own monotonic table:
//!
//! | metric | elite (4) | high (3) | medium (2) | low (1) |
//! |---|---|---|---|---|
//! | deployment frequency, deploys/day | ≥ 1 | ≥ 1/7 | ≥ 1/30 | less |
//! | lead time, median | < 1 day | < 1 week | < 30 days | more |
//! | change failure ratio | ≤ 0.05 | ≤ 0.10 | ≤ 0.15 | more |
//! | time to restore, median | < 1 hour | < 1 day | < 1 week | more |
//!
//! Units: deployment frequency in deployments per day over the window,
//! durations in seconds, the change failure rate as a ratio in 0–1. For
//! deployment frequency higher is better (a value passes an edge at or
//! above it, or strictly above when the edge is exclusive); for the other
//! three lower is better.

mod parse;
mod presets;

pub use parse::parse_edge;

/// Seconds in an hour, a day, a week and a (30-day) month: the units the
/// presets are written in.
const HOUR: f64 = 3600.0;
const DAY: f64 = 24.0 * HOUR;
const WEEK: f64 = 7.0 * DAY;
const MONTH: f64 = 30.0 * DAY;

/// A tier, exported as its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
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

impl Tier {
    /// The tiers that have an edge, best first.
    pub const GRADED: [Tier; 3] = [Tier::Elite, Tier::High, Tier::Medium];

    /// The name, as in configuration and error messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Low => "low",
            Tier::Medium => "medium",
            Tier::High => "high",
            Tier::Elite => "elite",
        }
    }
}

/// The four keys, as exported in `valuepulse_dora_tier{metric}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    /// Every metric, in export order.
    pub const ALL: [TierMetric; 4] = [
        TierMetric::DeploymentFrequency,
        TierMetric::LeadTime,
        TierMetric::ChangeFailureRate,
        TierMetric::TimeToRestore,
    ];

    /// The label value (also the configuration key of its bands).
    pub fn as_str(self) -> &'static str {
        match self {
            TierMetric::DeploymentFrequency => "deployment_frequency",
            TierMetric::LeadTime => "lead_time",
            TierMetric::ChangeFailureRate => "change_failure_rate",
            TierMetric::TimeToRestore => "time_to_restore",
        }
    }

    /// Whether a larger value is better (deployment frequency only).
    pub fn higher_is_better(self) -> bool {
        matches!(self, TierMetric::DeploymentFrequency)
    }

    /// The unit its values and edges are in.
    pub fn unit(self) -> &'static str {
        match self {
            TierMetric::DeploymentFrequency => "deployments per day",
            TierMetric::LeadTime | TierMetric::TimeToRestore => "seconds",
            TierMetric::ChangeFailureRate => "ratio 0-1",
        }
    }
}

/// One edge of a band: the worst value its tier still holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Edge {
    /// The edge, in the metric's unit ([`TierMetric::unit`]).
    pub value: f64,
    /// Whether a value equal to the edge is in the tier (`≥`, `≤`) or not
    /// (`>`, `<`).
    pub inclusive: bool,
}

impl Edge {
    /// An edge that holds its own value (`≥ v` or `≤ v`).
    pub const fn inclusive(value: f64) -> Self {
        Self {
            value,
            inclusive: true,
        }
    }

    /// An edge that does not hold its own value (`> v` or `< v`).
    pub const fn exclusive(value: f64) -> Self {
        Self {
            value,
            inclusive: false,
        }
    }

    /// Whether `v` is within this edge for a metric where higher (or
    /// lower) is better.
    fn holds(self, v: f64, higher_is_better: bool) -> bool {
        if v == self.value {
            return self.inclusive;
        }
        if higher_is_better {
            v > self.value
        } else {
            v < self.value
        }
    }
}

/// The three edges of one metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricBands {
    /// Elite from here.
    pub elite: Edge,
    /// High from here.
    pub high: Edge,
    /// Medium from here; anything worse is low.
    pub medium: Edge,
}

impl MetricBands {
    /// The edge of a graded tier (`None` for [`Tier::Low`]).
    pub fn edge(&self, tier: Tier) -> Option<Edge> {
        match tier {
            Tier::Elite => Some(self.elite),
            Tier::High => Some(self.high),
            Tier::Medium => Some(self.medium),
            Tier::Low => None,
        }
    }
}

/// A named band set. The configuration value and the `preset` label of
/// `valuepulse_tier_bands_info` are [`Preset::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Preset {
    /// valuepulse's own monotonic table (the default).
    #[default]
    Valuepulse,
    /// The value-creation framework's table: elite lead time < 1 h, on
    /// demand, change failure < 15 %, recovery < 1 h; lower rows from
    /// DORA 2021.
    Framework,
    /// The Accelerate State of DevOps 2021 clusters.
    Dora2021,
    /// The Accelerate State of DevOps 2024 clusters.
    Dora2024,
}

impl Preset {
    /// Every preset.
    pub const ALL: [Preset; 4] = [
        Preset::Valuepulse,
        Preset::Framework,
        Preset::Dora2021,
        Preset::Dora2024,
    ];

    /// The configuration value.
    pub fn as_str(self) -> &'static str {
        match self {
            Preset::Valuepulse => "valuepulse",
            Preset::Framework => "framework",
            Preset::Dora2021 => "dora_2021",
            Preset::Dora2024 => "dora_2024",
        }
    }

    /// The preset named `name`, if any.
    pub fn from_name(name: &str) -> Option<Preset> {
        Preset::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// Its bands.
    pub fn bands(self) -> DoraBands {
        presets::bands(self)
    }
}

/// The label value of a custom band set.
pub const CUSTOM: &str = "custom";

/// The bands the DORA report grades with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DoraBands {
    /// The preset these bands are, or `None` when custom.
    pub preset: Option<Preset>,
    /// Deployments per day over the window.
    pub deployment_frequency: MetricBands,
    /// Median lead time, seconds.
    pub lead_time: MetricBands,
    /// Change failure ratio, 0–1.
    pub change_failure_rate: MetricBands,
    /// Median time to restore, seconds.
    pub time_to_restore: MetricBands,
}

impl Default for DoraBands {
    fn default() -> Self {
        Preset::default().bands()
    }
}

/// Which edge a [`BandsError`] is about, e.g. `lead_time.high`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BandField {
    /// The metric.
    pub metric: TierMetric,
    /// The tier whose edge it is.
    pub tier: Tier,
}

impl std::fmt::Display for BandField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.metric.as_str(), self.tier.as_str())
    }
}

/// Why a band set is refused. Every variant names the offending edge.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BandsError {
    /// The text of an edge does not parse.
    #[error("{field}: {text:?} is not an edge like {expected}")]
    Syntax {
        /// The edge.
        field: BandField,
        /// What was written.
        text: String,
        /// An example of what is expected.
        expected: &'static str,
    },
    /// Not a finite number, or outside the metric's range.
    #[error("{field}: {value} is outside {range} ({unit})")]
    OutOfRange {
        /// The edge.
        field: BandField,
        /// Its value.
        value: f64,
        /// The allowed range.
        range: &'static str,
        /// The metric's unit.
        unit: &'static str,
    },
    /// Better than the edge of the tier above it.
    #[error(
        "{field}: {value} is better than {previous} ({previous_value}); edges must go from elite to medium without getting better"
    )]
    NotMonotonic {
        /// The edge.
        field: BandField,
        /// Its value.
        value: f64,
        /// The edge of the tier above.
        previous: BandField,
        /// Its value.
        previous_value: f64,
    },
}

impl DoraBands {
    /// Custom bands, validated.
    pub fn custom(
        deployment_frequency: MetricBands,
        lead_time: MetricBands,
        change_failure_rate: MetricBands,
        time_to_restore: MetricBands,
    ) -> Result<Self, BandsError> {
        let b = Self {
            preset: None,
            deployment_frequency,
            lead_time,
            change_failure_rate,
            time_to_restore,
        };
        b.validate()?;
        Ok(b)
    }

    /// The `preset` label value: the preset's name, or `custom`.
    pub fn label(&self) -> &'static str {
        self.preset.map_or(CUSTOM, Preset::as_str)
    }

    /// The bands of one metric.
    pub fn of(&self, metric: TierMetric) -> &MetricBands {
        match metric {
            TierMetric::DeploymentFrequency => &self.deployment_frequency,
            TierMetric::LeadTime => &self.lead_time,
            TierMetric::ChangeFailureRate => &self.change_failure_rate,
            TierMetric::TimeToRestore => &self.time_to_restore,
        }
    }

    /// The tier of `value` (in the metric's unit): the best tier whose edge
    /// holds it, else low. A NaN is low.
    pub fn grade(&self, metric: TierMetric, value: f64) -> Tier {
        let bands = self.of(metric);
        Tier::GRADED
            .into_iter()
            .find(|&t| {
                bands
                    .edge(t)
                    .is_some_and(|e| e.holds(value, metric.higher_is_better()))
            })
            .unwrap_or(Tier::Low)
    }

    /// Checks units and order: every edge finite and in range (deployment
    /// frequency and durations above 0, the change failure rate in 0–1), and
    /// from elite to medium no edge better than the one before it (equal
    /// edges are allowed: the lower band is then empty, as in DORA 2021's
    /// change failure rate). The first offending edge is named.
    pub fn validate(&self) -> Result<(), BandsError> {
        for metric in TierMetric::ALL {
            let bands = self.of(metric);
            let mut previous: Option<(Tier, f64)> = None;
            for tier in Tier::GRADED {
                let value = bands.edge(tier).map_or(f64::NAN, |e| e.value);
                let field = BandField { metric, tier };
                let (ok, range) = match metric {
                    TierMetric::ChangeFailureRate => ((0.0..=1.0).contains(&value), "[0, 1]"),
                    _ => (value.is_finite() && value > 0.0, "(0, ∞)"),
                };
                if !ok {
                    return Err(BandsError::OutOfRange {
                        field,
                        value,
                        range,
                        unit: metric.unit(),
                    });
                }
                if let Some((above, previous_value)) = previous {
                    let better = if metric.higher_is_better() {
                        value > previous_value
                    } else {
                        value < previous_value
                    };
                    if better {
                        return Err(BandsError::NotMonotonic {
                            field,
                            value,
                            previous: BandField {
                                metric,
                                tier: above,
                            },
                            previous_value,
                        });
                    }
                }
                previous = Some((tier, value));
            }
        }
        Ok(())
    }
}

/// Tier of a deployment frequency given in deploys per day, with the
/// default bands.
pub fn deployment_frequency(per_day: f64) -> Tier {
    DoraBands::default().grade(TierMetric::DeploymentFrequency, per_day)
}

/// Tier of a median lead time in seconds, with the default bands.
pub fn lead_time(median_seconds: f64) -> Tier {
    DoraBands::default().grade(TierMetric::LeadTime, median_seconds)
}

/// Tier of a change failure ratio in 0–1, with the default bands.
pub fn change_failure_rate(ratio: f64) -> Tier {
    DoraBands::default().grade(TierMetric::ChangeFailureRate, ratio)
}

/// Tier of a median time to restore in seconds, with the default bands.
pub fn time_to_restore(median_seconds: f64) -> Tier {
    DoraBands::default().grade(TierMetric::TimeToRestore, median_seconds)
}

#[cfg(test)]
mod tests;
