//! Window edges and the late/future checks.

use super::*;

const NOW: Millis = 1_800_000_000_000;

#[test]
fn window_includes_its_left_edge_and_excludes_one_ms_before() {
    let w = Window::new("7d", 7 * DAY_MS);
    assert!(w.contains(NOW - 7 * DAY_MS, NOW));
    assert!(!w.contains(NOW - 7 * DAY_MS - 1, NOW));
    assert!(w.contains(NOW, NOW));
}

#[test]
fn window_counts_tolerated_future_events_as_now() {
    let w = Window::new("1d", DAY_MS);
    assert!(w.contains(NOW + 60_000, NOW));
}

#[test]
fn time_policy_edges_are_inclusive_of_the_horizon_and_the_skew() {
    let p = TimePolicy {
        longest: 30 * DAY_MS,
        grace: 3_600_000,
        max_clock_skew: 300_000,
    };
    let h = NOW - 30 * DAY_MS - 3_600_000;
    assert_eq!(p.horizon(NOW), h);
    assert_eq!(p.check(h, NOW), TimeCheck::InRange);
    assert_eq!(p.check(h - 1, NOW), TimeCheck::Late);
    assert_eq!(p.check(NOW + 300_000, NOW), TimeCheck::InRange);
    assert_eq!(p.check(NOW + 300_001, NOW), TimeCheck::Future);
}

#[test]
fn window_days_is_fractional() {
    assert_eq!(Window::new("12h", DAY_MS / 2).days(), 0.5);
}

#[test]
fn per_day_divides_by_the_window_in_days() {
    // 14 deploys over 7 days: 2 a day; 3 over 12 hours: 6 a day.
    assert_eq!(Window::new("7d", 7 * DAY_MS).per_day(14), 2.0);
    assert_eq!(Window::new("12h", DAY_MS / 2).per_day(3), 6.0);
    assert_eq!(Window::new("1d", DAY_MS).per_day(0), 0.0);
}

#[test]
fn the_longest_window_is_found_in_any_order() {
    let w = Windows::new(vec![
        Window::new("7d", 7 * DAY_MS),
        Window::new("30d", 30 * DAY_MS),
        Window::new("1d", DAY_MS),
    ]);
    assert_eq!(w.longest(), 1);
    assert_eq!(w.longest_window().label, "30d");
    let one = Windows::new(vec![Window::new("1h", DAY_MS / 24)]);
    assert_eq!(one.longest(), 0);
    // Equal widths: the last, as `max_by_key` did.
    let tie = Windows::new(vec![Window::new("a", DAY_MS), Window::new("b", DAY_MS)]);
    assert_eq!(tie.longest(), 1);
    assert_eq!(Windows::new(Vec::new()).longest(), 0);
}

#[test]
fn durations_read_in_the_best_unit() {
    assert_eq!(human_duration(42.0), "42 s");
    assert_eq!(human_duration(600.0), "10 min");
    assert_eq!(human_duration(3.0 * 3600.0), "3.0 h");
    assert_eq!(human_duration(3.0 * 86_400.0), "3.0 d");
}
