//! The value delivery score from hand-built DORA figures: every expected
//! score was multiplied out on paper.

use std::borrow::Cow;

use super::*;
use crate::domain::dora::SeriesReport;
use crate::domain::quantiles::Quantiles;
use crate::domain::satisfaction::{SatisfactionSettings, SatisfactionState};
use crate::domain::time::DAY_MS;
use crate::domain::{Millis, Satisfaction, SatisfactionScore};

const NOW: Millis = 1_800_000_000_000;

/// A median (the other quantiles do not matter to the score).
fn median(seconds: f64) -> Quantiles {
    Quantiles {
        count: 1,
        sum_seconds: seconds,
        values: [(0.5, seconds), (0.9, seconds), (0.95, seconds)],
    }
}

/// 14 deployments in 7 days (2 a day), 20 assessed of which 5 failed
/// strictly (0.25), median lead time 2 h, median restore 30 min.
fn figures() -> WindowFigures {
    WindowFigures {
        deployments: 14,
        assessed: 20,
        failed: [5, 8],
        lead_time: Some(median(7200.0)),
        time_to_restore: Some(median(1800.0)),
        ..WindowFigures::default()
    }
}

fn week() -> Window {
    Window::new("7d", 7 * DAY_MS)
}

#[test]
fn the_score_multiplies_the_five_factors() {
    let i = ValueInputs::from_figures(&figures(), &week(), Some(0.8));
    assert_eq!(
        i,
        ValueInputs {
            lead_time_hours: Some(2.0),
            deploys_per_day: Some(2.0),
            change_failure_ratio: Some(0.25),
            restore_hours: Some(0.5),
            satisfaction: Some(0.8),
        }
    );
    // (1 / 2) × 2 × (1 − 0.25) × (1 / 0.5) × 0.8 = 1.2
    let s = i.score().unwrap();
    assert!((s - 1.2).abs() < 1e-12, "{s}");
}

#[test]
fn a_missing_input_or_a_zero_divisor_gives_no_score() {
    let with = |f: fn(&mut WindowFigures)| {
        let mut x = figures();
        f(&mut x);
        ValueInputs::from_figures(&x, &week(), Some(0.8)).score()
    };
    assert_eq!(with(|f| f.lead_time = None), None, "no lead time sample");
    assert_eq!(with(|f| f.deployments = 0), None, "no deployment");
    assert_eq!(
        with(|f| {
            f.assessed = 0;
            f.failed = [0, 0];
        }),
        None,
        "no assessed deploy, no change failure rate"
    );
    assert_eq!(
        with(|f| f.time_to_restore = None),
        None,
        "no incident resolved"
    );
    assert_eq!(
        with(|f| f.time_to_restore = Some(median(0.0))),
        None,
        "restore 0 s"
    );
    assert_eq!(
        with(|f| f.lead_time = Some(median(0.0))),
        None,
        "lead time 0 s"
    );
    assert_eq!(
        ValueInputs::from_figures(&figures(), &week(), None).score(),
        None,
        "no satisfaction and no default"
    );
    for bad in [f64::NAN, -0.1, 1.5] {
        let i = ValueInputs::from_figures(&figures(), &week(), Some(bad));
        assert_eq!(i.score(), None, "{bad}");
    }
    assert_eq!(ValueInputs::default().score(), None);
}

#[test]
fn a_zero_factor_is_a_real_zero() {
    // Every assessed deploy failed: 1 − CFR = 0.
    let mut all_failed = figures();
    all_failed.failed = [20, 20];
    assert_eq!(
        ValueInputs::from_figures(&all_failed, &week(), Some(0.8)).score(),
        Some(0.0)
    );
    // Every customer gave the lowest answer.
    assert_eq!(
        ValueInputs::from_figures(&figures(), &week(), Some(0.0)).score(),
        Some(0.0)
    );
}

fn series(windows: Vec<WindowFigures>) -> SeriesReport<'static> {
    SeriesReport {
        service: "checkout",
        team: "payments",
        environment: "production",
        windows,
        has_deploys: true,
        has_opened_incidents: false,
        incidents_open: None,
        incidents_unpaired: None,
        tiers: vec![],
    }
}

#[test]
fn every_dora_series_and_window_gets_its_score_with_the_satisfaction_of_its_team() {
    let windows = [
        Window::new("1d", DAY_MS),
        week(),
        Window::new("30d", 30 * DAY_MS),
    ];
    // 1d: no incident resolved: no score. 7d: as above. 30d: 60
    // deployments (2/day), 60 assessed, 6 failed (0.1), lead 1 h, restore
    // 2 h.
    let month = WindowFigures {
        deployments: 60,
        assessed: 60,
        failed: [6, 6],
        lead_time: Some(median(3600.0)),
        time_to_restore: Some(median(7200.0)),
        ..WindowFigures::default()
    };
    let day = WindowFigures {
        time_to_restore: None,
        ..figures()
    };
    let mut other = series(vec![WindowFigures::default(); 3]);
    other.service = "search";
    let dora = DoraReport {
        series: vec![series(vec![day, figures(), month]), other],
        service_overflow: 0,
        team_overflow: 0,
        bands: "valuepulse",
    };
    // checkout/payments: two CSAT answers 2 days ago, 4 and 5: (0.75 + 1) / 2
    // = 0.875 in 7d and 30d; none in 1d.
    let mut sat = SatisfactionState::new(SatisfactionSettings {
        default_score: Some(0.5),
        ..SatisfactionSettings::default()
    });
    for (id, s) in [("a", 4), ("b", 5)] {
        sat.fold_response(
            &Satisfaction {
                id: Cow::Borrowed(id),
                service: Some(Cow::Borrowed("checkout")),
                team: Some(Cow::Borrowed("payments")),
                feature: None,
                score: SatisfactionScore::Csat(s),
                at: NOW - 2 * DAY_MS,
            },
            NOW,
        );
    }
    let sat_report = sat.report(NOW, &[]);
    let scores = value_scores(&dora, &windows, &sat_report);
    // search has no figures at all: left out.
    assert_eq!(scores.len(), 1);
    let v = &scores[0];
    assert_eq!(
        (v.service, v.team, v.environment),
        ("checkout", "payments", "production")
    );
    assert_eq!(v.windows[0], None);
    // 7d: 0.5 × 2 × 0.75 × 2 × 0.875 = 1.3125.
    assert!((v.windows[1].unwrap() - 1.3125).abs() < 1e-12);
    // 30d: (1 / 1) × 2 × 0.9 × (1 / 2) × 0.875 = 0.7875.
    assert!((v.windows[2].unwrap() - 0.7875).abs() < 1e-12);

    // Without responses the configured default stands in: 7d 1.5 × 0.5.
    let none = SatisfactionState::new(SatisfactionSettings {
        default_score: Some(0.5),
        ..SatisfactionSettings::default()
    });
    let scores = value_scores(&dora, &windows, &none.report(NOW, &[]));
    assert!((scores[0].windows[1].unwrap() - 0.75).abs() < 1e-12);
}
