//! Nearest-rank quantiles of durations, as every summary metric exports
//! them (DORA lead time, restore and recovery times; adoption's feedback
//! cycle).
//!
//! Samples are kept raw while a report is built and turned into quantiles
//! at the end through one scratch histogram, so a report allocates one
//! histogram however many series it has.

use hdrhistogram::Histogram;

use super::time::DAY_MS;

/// Significant decimal digits kept by the lead-time and restore histograms:
/// a reported quantile is never below the true nearest-rank sample and at most
/// 0.1 % above it.
pub const HISTOGRAM_SIGFIG: u8 = 3;

/// Quantiles exported for lead time, time to restore and recovery time.
pub const QUANTILES: [f64; 3] = [0.5, 0.9, 0.95];

/// Quantiles of one distribution, in seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantiles {
    /// Number of samples.
    pub count: u64,
    /// Sum of the samples, in seconds.
    pub sum_seconds: f64,
    /// `(q, value in seconds)` for each of [`QUANTILES`].
    pub values: [(f64, f64); 3],
}

/// The histogram every report reuses for its quantiles. Largest trackable
/// value: 100 years in milliseconds; beyond it samples saturate. The
/// histogram only grows as far as values need.
pub(crate) fn scratch() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 100 * 365 * DAY_MS as u64, HISTOGRAM_SIGFIG)
        .expect("static histogram bounds are valid")
}

/// Samples of one distribution, in milliseconds, kept raw until the report
/// asks for quantiles so that one histogram serves every series.
#[derive(Default)]
pub(crate) struct Samples(Vec<u64>);

impl Samples {
    /// Adds one sample.
    pub(crate) fn record(&mut self, ms: u64) {
        self.0.push(ms);
    }

    /// The quantiles of the samples, computed in `scratch` (see
    /// [`scratch`]); `None` without samples.
    pub(crate) fn quantiles(&self, scratch: &mut Histogram<u64>) -> Option<Quantiles> {
        if self.0.is_empty() {
            return None;
        }
        scratch.reset();
        let mut sum_ms: u128 = 0;
        for &v in &self.0 {
            scratch.saturating_record(v);
            sum_ms += u128::from(v);
        }
        Some(Quantiles {
            count: self.0.len() as u64,
            sum_seconds: sum_ms as f64 / 1000.0,
            values: QUANTILES.map(|q| (q, scratch.value_at_quantile(q) as f64 / 1000.0)),
        })
    }
}

/// Quantiles of a distribution of ratios (e.g. per-item flow efficiency,
/// 0–1), exact nearest-rank: ratios are few (one per finished item) and a
/// histogram's relative precision is poor near 0, so they are sorted.
#[derive(Debug, Clone, PartialEq)]
pub struct RatioQuantiles {
    /// Number of samples.
    pub count: u64,
    /// Sum of the samples.
    pub sum: f64,
    /// `(q, value)` for each of [`QUANTILES`].
    pub values: [(f64, f64); 3],
}

/// The nearest-rank quantiles of `samples` (sorted in place); `None`
/// without samples. For q and n samples the value is the smallest sample v
/// such that at least ⌈q·n⌉ samples are ≤ v. NaN samples are ignored.
pub fn ratio_quantiles(samples: &mut Vec<f64>) -> Option<RatioQuantiles> {
    samples.retain(|v| !v.is_nan());
    if samples.is_empty() {
        return None;
    }
    samples.sort_unstable_by(f64::total_cmp);
    let n = samples.len();
    let at = |q: f64| {
        let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
        samples[rank - 1]
    };
    Some(RatioQuantiles {
        count: n as u64,
        sum: samples.iter().sum(),
        values: QUANTILES.map(|q| (q, at(q))),
    })
}

#[cfg(test)]
mod tests;
