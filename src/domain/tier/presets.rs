//! The named band sets and where each comes from.
//!
//! Published DORA clusters are ranges per cluster, with gaps between them
//! and, some years, a lower cluster better than the one above it on one
//! metric. A per-metric tier needs one monotonic edge per tier, so every
//! preset is derived by two rules:
//!
//! 1. a tier's edge is the *worst* value its cluster publishes (its range's
//!    far end); a value between two clusters falls to the worse tier;
//! 2. where a lower cluster publishes a better value than the cluster above
//!    it, the edge of the cluster above applies, so that band is empty.
//!
//! A month is 30 days, six months 180 days. "On demand (multiple deploys per
//! day)" is ≥ 1 deployment per calendar day on average over the window:
//! a rate can not see "on demand", and one a calendar day is 1.4 a working
//! day (5-day week), more than daily, which is what "multiple deploys per
//! day" means in practice; a team that deploys once every working day
//! (5/7 ≈ 0.71 a day) is high, not elite.

use super::{DAY, DoraBands, Edge, HOUR, MONTH, MetricBands, Preset, WEEK};

const fn three(elite: Edge, high: Edge, medium: Edge) -> MetricBands {
    MetricBands {
        elite,
        high,
        medium,
    }
}

const fn ge(v: f64) -> Edge {
    Edge::inclusive(v)
}

const fn le(v: f64) -> Edge {
    Edge::inclusive(v)
}

const fn lt(v: f64) -> Edge {
    Edge::exclusive(v)
}

/// valuepulse's own table (README "Tier bands"): deployment frequency and
/// lead time as DORA 2023/2024 (elite lead time < 1 day), change failure
/// rate 5 / 10 / 15 % as DORA 2023, time to restore < 1 h / < 1 day /
/// < 1 week.
const VALUEPULSE: DoraBands = DoraBands {
    preset: Some(Preset::Valuepulse),
    deployment_frequency: three(ge(1.0), ge(1.0 / 7.0), ge(1.0 / 30.0)),
    lead_time: three(lt(DAY), lt(WEEK), lt(MONTH)),
    change_failure_rate: three(le(0.05), le(0.10), le(0.15)),
    time_to_restore: three(lt(HOUR), lt(DAY), lt(WEEK)),
};

/// Accelerate State of DevOps 2021 (DORA), table "Software delivery
/// performance":
///
/// | | elite | high | medium | low |
/// |---|---|---|---|---|
/// | deployment frequency | on demand (multiple deploys per day) | once per week – once per month | once per month – once every 6 months | fewer than once per 6 months |
/// | lead time | < 1 hour | 1 day – 1 week | 1 month – 6 months | > 6 months |
/// | time to restore | < 1 hour | < 1 day | 1 day – 1 week | > 6 months |
/// | change failure rate | 0–15 % | 16–30 % | 16–30 % | 16–30 % |
///
/// By the rules above: frequency ≥ 1/day, ≥ 1/30, ≥ 1/180; lead time
/// < 1 h, < 1 week, < 180 days; restore < 1 h, < 1 day, < 1 week; change
/// failure ≤ 15 %, ≤ 30 %, ≤ 30 % (medium empty: high, medium and low
/// publish the same range), above 30 % low.
const DORA_2021: DoraBands = DoraBands {
    preset: Some(Preset::Dora2021),
    deployment_frequency: three(ge(1.0), ge(1.0 / 30.0), ge(1.0 / 180.0)),
    lead_time: three(lt(HOUR), lt(WEEK), lt(6.0 * MONTH)),
    change_failure_rate: three(le(0.15), le(0.30), le(0.30)),
    time_to_restore: three(lt(HOUR), lt(DAY), lt(WEEK)),
};

/// The value-creation framework's table names only its elite row: lead
/// time under 1 hour, deploys on demand (several a day), change failure
/// rate under 15 %, recovery under 1 hour. That is DORA 2021's elite row
/// with a strict "under 15 %", so the lower rows are DORA 2021's. It
/// differs from [`DORA_2021`] only at a change failure rate of exactly
/// 15 % (high here, elite there).
const FRAMEWORK: DoraBands = DoraBands {
    preset: Some(Preset::Framework),
    change_failure_rate: three(lt(0.15), le(0.30), le(0.30)),
    ..DORA_2021
};

/// Accelerate State of DevOps 2024 (DORA), software delivery performance
/// clusters:
///
/// | | elite | high | medium | low |
/// |---|---|---|---|---|
/// | deployment frequency | on demand (multiple deploys per day) | once per day – once per week | once per week – once per month | once per month – once every 6 months |
/// | change lead time | < 1 day | 1 day – 1 week | 1 week – 1 month | 1 month – 6 months |
/// | change fail rate | 5 % | 20 % | 10 % | 40 % |
/// | failed deployment recovery time | < 1 hour | < 1 day | < 1 day | 1 week – 1 month |
///
/// By the rules above: frequency ≥ 1/day, ≥ 1/7, ≥ 1/30; lead time
/// < 1 day, < 1 week, < 30 days; change failure ≤ 5 %, ≤ 20 %, ≤ 20 %
/// (medium's 10 % is better than high's 20 %: medium empty); restore
/// < 1 h, < 1 day, < 1 day (medium empty). The report grades failed
/// deployment recovery time; valuepulse grades time to restore with it,
/// as every preset does (the `time_to_restore` tier).
const DORA_2024: DoraBands = DoraBands {
    preset: Some(Preset::Dora2024),
    deployment_frequency: three(ge(1.0), ge(1.0 / 7.0), ge(1.0 / 30.0)),
    lead_time: three(lt(DAY), lt(WEEK), lt(MONTH)),
    change_failure_rate: three(le(0.05), le(0.20), le(0.20)),
    time_to_restore: three(lt(HOUR), lt(DAY), lt(DAY)),
};

/// The bands of a preset.
pub(super) fn bands(p: Preset) -> DoraBands {
    match p {
        Preset::Valuepulse => VALUEPULSE,
        Preset::Framework => FRAMEWORK,
        Preset::Dora2021 => DORA_2021,
        Preset::Dora2024 => DORA_2024,
    }
}
