//! Value realization and the value-stream bands of adoption, computed once
//! in `AdoptionReport`, on figures worked out by hand.

use crate::domain::adoption::AdoptionReport;
use crate::domain::health::{HealthMetric, HealthTier};
use crate::domain::quantiles::Quantiles;

/// A report with only the per-window shipping figures set.
fn report(shipped: Vec<u64>, used: Vec<u64>, cycle_median: Option<f64>) -> AdoptionReport<'static> {
    let n = shipped.len();
    let mut feedback_cycle = vec![None; n];
    if let Some(m) = cycle_median {
        feedback_cycle[n - 1] = Some(Quantiles {
            count: 1,
            sum_seconds: m,
            values: [(0.5, m), (0.9, m), (0.95, m)],
        });
    }
    AdoptionReport {
        features: Vec::new(),
        active_users: vec![0; n],
        shipped,
        used,
        feedback_cycle,
        overflow: 0,
        shipped_features: Vec::new(),
    }
}

#[test]
fn realization_is_used_over_shipped_per_window() {
    // 1d: 1 of 2 shipped used; 7d: 3 of 4; 30d: 7 of 10.
    let r = report(vec![2, 4, 10], vec![1, 3, 7], None);
    assert_eq!(r.realization(0), Some(0.5));
    assert_eq!(r.realization(1), Some(0.75));
    assert_eq!(r.realization(2), Some(0.7));
}

#[test]
fn nothing_shipped_has_no_realization() {
    let r = report(vec![0, 0, 3], vec![0, 0, 0], None);
    assert_eq!(r.realization(0), None);
    assert_eq!(r.realization(2), Some(0.0));
    assert_eq!(r.realization(3), None, "no such window");
}

#[test]
fn value_stream_bands_grade_the_given_window() {
    // 30d: 9 of 10 used (90 % > 80 %: elite); feedback median 2 days
    // (under 7 days, not under 24 hours: good).
    let r = report(vec![0, 0, 10], vec![0, 0, 9], Some(2.0 * 86_400.0));
    assert_eq!(
        r.value_stream_tiers(2),
        vec![
            (HealthMetric::ValueRealization, HealthTier::Elite),
            (HealthMetric::ValueFeedbackCycle, HealthTier::Good),
        ]
    );
    // Exactly 60 % is below the "above 60 %" band; nothing shipped in 1d
    // gives no realization band and no cycle there.
    let r = report(vec![0, 0, 5], vec![0, 0, 3], None);
    assert_eq!(
        r.value_stream_tiers(2),
        vec![(HealthMetric::ValueRealization, HealthTier::Below)]
    );
    assert!(r.value_stream_tiers(0).is_empty());
}
