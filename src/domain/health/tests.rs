//! The value-stream health bands at their edges: every edge is strict.

use super::*;

#[test]
fn value_realization_needs_more_than_sixty_and_eighty_percent() {
    assert_eq!(value_realization(0.0), HealthTier::Below);
    assert_eq!(value_realization(0.6), HealthTier::Below);
    assert_eq!(value_realization(0.600_001), HealthTier::Good);
    assert_eq!(value_realization(0.8), HealthTier::Good);
    assert_eq!(value_realization(0.800_001), HealthTier::Elite);
    assert_eq!(value_realization(1.0), HealthTier::Elite);
}

#[test]
fn value_feedback_cycle_needs_less_than_a_day_and_a_week() {
    assert_eq!(value_feedback_cycle(0.0), HealthTier::Elite);
    assert_eq!(value_feedback_cycle(86_399.0), HealthTier::Elite);
    assert_eq!(value_feedback_cycle(86_400.0), HealthTier::Good);
    assert_eq!(value_feedback_cycle(604_799.0), HealthTier::Good);
    assert_eq!(value_feedback_cycle(604_800.0), HealthTier::Below);
    assert_eq!(value_feedback_cycle(f64::NAN), HealthTier::Below);
}

#[test]
fn flow_efficiency_needs_more_than_a_quarter_and_forty_percent() {
    assert_eq!(flow_efficiency(0.25), HealthTier::Below);
    assert_eq!(flow_efficiency(0.250_001), HealthTier::Good);
    assert_eq!(flow_efficiency(0.40), HealthTier::Good);
    assert_eq!(flow_efficiency(0.400_001), HealthTier::Elite);
}

#[test]
fn metrics_grade_through_their_function_and_export_numbers() {
    assert_eq!(HealthMetric::FlowEfficiency.grade(0.5), HealthTier::Elite);
    assert_eq!(
        HealthMetric::ValueFeedbackCycle.grade(2.0 * 86_400.0),
        HealthTier::Good
    );
    assert_eq!(HealthMetric::ValueRealization.grade(0.5), HealthTier::Below);
    assert_eq!(
        [HealthTier::Below, HealthTier::Good, HealthTier::Elite].map(|t| t as i64),
        [1, 2, 3]
    );
    assert_eq!(
        HealthMetric::ALL.map(HealthMetric::as_str),
        [
            "value_realization",
            "value_feedback_cycle",
            "flow_efficiency"
        ]
    );
}
