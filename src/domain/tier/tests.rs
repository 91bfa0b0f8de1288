//! The tier bands at their edges.

use super::*;

#[test]
fn deployment_frequency_bands_include_their_lower_bound() {
    assert_eq!(deployment_frequency(1.0), Tier::Elite);
    assert_eq!(deployment_frequency(0.999), Tier::High);
    assert_eq!(deployment_frequency(1.0 / 7.0), Tier::High);
    assert_eq!(deployment_frequency(1.0 / 7.0 - 1e-9), Tier::Medium);
    assert_eq!(deployment_frequency(1.0 / 30.0), Tier::Medium);
    assert_eq!(deployment_frequency(1.0 / 30.0 - 1e-9), Tier::Low);
    assert_eq!(deployment_frequency(0.0), Tier::Low);
}

#[test]
fn lead_time_bands_exclude_their_upper_bound() {
    assert_eq!(lead_time(DAY - 1.0), Tier::Elite);
    assert_eq!(lead_time(DAY), Tier::High);
    assert_eq!(lead_time(7.0 * DAY), Tier::Medium);
    assert_eq!(lead_time(30.0 * DAY), Tier::Low);
}

#[test]
fn change_failure_bands_include_their_upper_bound() {
    assert_eq!(change_failure_rate(0.0), Tier::Elite);
    assert_eq!(change_failure_rate(0.05), Tier::Elite);
    assert_eq!(change_failure_rate(0.0501), Tier::High);
    assert_eq!(change_failure_rate(0.10), Tier::High);
    assert_eq!(change_failure_rate(0.15), Tier::Medium);
    assert_eq!(change_failure_rate(0.1501), Tier::Low);
    assert_eq!(change_failure_rate(1.0), Tier::Low);
}

#[test]
fn time_to_restore_bands_exclude_their_upper_bound() {
    assert_eq!(time_to_restore(HOUR - 1.0), Tier::Elite);
    assert_eq!(time_to_restore(HOUR), Tier::High);
    assert_eq!(time_to_restore(DAY), Tier::Medium);
    assert_eq!(time_to_restore(7.0 * DAY), Tier::Low);
}
