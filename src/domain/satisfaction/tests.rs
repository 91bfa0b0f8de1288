//! Hand-checked satisfaction datasets: every score below was worked out on
//! paper from the responses listed.

use std::borrow::Cow;

use super::*;
use crate::domain::event::InvalidReason;

const NOW: Millis = 1_800_000_000_000;
const H: Millis = 3_600_000;
const D: Millis = DAY_MS;

fn response(
    id: &'static str,
    service: Option<&'static str>,
    team: Option<&'static str>,
    feature: Option<&'static str>,
    score: SatisfactionScore,
    at: Millis,
) -> Satisfaction<'static> {
    Satisfaction {
        id: Cow::Borrowed(id),
        service: service.map(Cow::Borrowed),
        team: team.map(Cow::Borrowed),
        feature: feature.map(Cow::Borrowed),
        score,
        at,
    }
}

use SatisfactionScore::{Csat, Nps};

/// | id | attributed to | answer | normalised | age |
/// |---|---|---|---|---|
/// | r1 | checkout/payments | CSAT 5 | 1.0 | 2 h |
/// | r2 | checkout/payments | CSAT 3 | 0.5 | 3 d |
/// | r3 | checkout/payments | NPS 9 (promoter) | 0.9 | 10 d |
/// | r4 | checkout/payments | NPS 6 (detractor) | 0.6 | 20 d |
/// | r5 | checkout/payments | NPS 8 (passive) | 0.8 | 25 d |
/// | r6 | feature voice-search → search/discovery | CSAT 2 | 0.25 | 1 h |
/// | r7 | feature nobody shipped: unattributed | NPS 10 | 1.0 | 5 h |
/// | r8 | cart, no team → cart/unknown | CSAT 4 | 0.75 | 40 h |
fn dataset() -> Vec<Satisfaction<'static>> {
    let cp = (Some("checkout"), Some("payments"));
    vec![
        response("r1", cp.0, cp.1, None, Csat(5), NOW - 2 * H),
        response("r2", cp.0, cp.1, Some("one-click"), Csat(3), NOW - 3 * D),
        response("r3", cp.0, cp.1, None, Nps(9), NOW - 10 * D),
        response("r4", cp.0, cp.1, None, Nps(6), NOW - 20 * D),
        response("r5", cp.0, cp.1, None, Nps(8), NOW - 25 * D),
        response("r6", None, None, Some("voice-search"), Csat(2), NOW - H),
        response("r7", None, None, Some("teleport"), Nps(10), NOW - 5 * H),
        response("r8", Some("cart"), None, None, Csat(4), NOW - 40 * H),
    ]
}

fn owners() -> Vec<FirstShip<'static>> {
    vec![
        FirstShip {
            feature: "one-click",
            at: NOW - 40 * D,
            service: "search",
            team: "discovery",
        },
        FirstShip {
            feature: "voice-search",
            at: NOW - 5 * D,
            service: "search",
            team: "discovery",
        },
    ]
}

fn state() -> SatisfactionState {
    let mut s = SatisfactionState::new(SatisfactionSettings::default());
    for r in dataset() {
        assert_eq!(s.fold_response(&r, NOW), Outcome::Accepted, "{r:?}");
    }
    s
}

fn assert_close(got: Option<f64>, want: f64) {
    let got = got.expect("a score");
    assert!((got - want).abs() < 1e-12, "got {got}, want {want}");
}

#[test]
fn responses_normalise_to_zero_one() {
    assert_eq!(
        [Csat(1), Csat(3), Csat(5), Nps(0), Nps(7), Nps(10)].map(SatisfactionScore::normalized),
        [0.0, 0.5, 1.0, 0.0, 0.7, 1.0]
    );
}

#[test]
fn hand_checked_dataset_gives_exact_scores_per_window() {
    let s = state();
    let owners = owners();
    let r = s.report(NOW, &owners);
    let names: Vec<(&str, &str)> = r.series.iter().map(|x| (x.service, x.team)).collect();
    assert_eq!(
        names,
        [
            ("cart", "unknown"),
            ("checkout", "payments"),
            ("search", "discovery")
        ]
    );
    let checkout = &r.series[1];
    // 1d: r1 only.
    assert_eq!(
        checkout.windows[0],
        SatisfactionFigures {
            csat_responses: 1,
            nps_responses: 0,
            score: Some(1.0),
            net_promoter: None,
            detractors: 0,
        }
    );
    // 7d: r1, r2 (its feature does not matter: it names its service): 0.75.
    assert_close(checkout.windows[1].score, 0.75);
    assert_eq!(checkout.windows[1].responses(), 2);
    // 30d: (1 + 0.5 + 0.9 + 0.6 + 0.8) / 5 = 0.76; NPS: one promoter, one
    // detractor, one passive out of 3: 0.
    let w30 = &checkout.windows[2];
    assert_close(w30.score, 0.76);
    assert_eq!((w30.csat_responses, w30.nps_responses), (2, 3));
    assert_eq!(w30.net_promoter, Some(0.0));
    // r6 names only its feature: counted for the feature's first ship.
    assert_close(r.series[2].windows[0].score, 0.25);
    // r8: 40 h ago, not in 1d.
    assert_eq!(r.series[0].windows[0].score, None);
    assert_close(r.series[0].windows[1].score, 0.75);
    // r7: its feature was never shipped.
    assert_eq!(r.unattributed, [1, 1, 1]);
    assert_eq!(r.default_score, Some(1.0));
}

#[test]
fn the_value_score_lookup_falls_back_to_the_service_then_the_default() {
    let s = state();
    let owners = owners();
    let r = s.report(NOW, &owners);
    assert_close(r.score("checkout", "payments", 2), 0.76);
    // No (cart, shop) series: cart's responses without a team stand in.
    assert_close(r.score("cart", "shop", 1), 0.75);
    assert_eq!(r.score("cart", "shop", 0), None);
    assert_eq!(r.score_or_default("cart", "shop", 0), Some(1.0));
    assert_eq!(r.score("billing", "payments", 2), None);

    let empty = SatisfactionState::new(SatisfactionSettings {
        default_score: None,
        ..SatisfactionSettings::default()
    });
    assert_eq!(
        empty
            .report(NOW, &[])
            .score_or_default("checkout", "payments", 0),
        None
    );
}

#[test]
fn without_owners_a_feature_only_response_is_unattributed() {
    let s = state();
    let r = s.report(NOW, &[]);
    assert!(r.series.iter().all(|x| x.service != "search"));
    // r6 (1 h) and r7 (5 h) in every window.
    assert_eq!(r.unattributed, [2, 2, 2]);
}

#[test]
fn redelivery_is_a_duplicate_and_a_changed_answer_an_update() {
    let mut s = SatisfactionState::new(SatisfactionSettings::default());
    let r = response("r", Some("checkout"), None, None, Csat(2), NOW - H);
    assert_eq!(s.fold_response(&r, NOW), Outcome::Accepted);
    assert_eq!(s.fold_response(&r.clone(), NOW), Outcome::Duplicate);
    let changed = response("r", Some("checkout"), None, None, Csat(4), NOW - H);
    assert_eq!(s.fold_response(&changed, NOW), Outcome::Updated);
    assert_eq!(s.response_count(), 1);
    assert_close(s.report(NOW, &[]).series[0].windows[0].score, 0.75);
}

#[test]
fn late_future_and_pruning_follow_the_horizon() {
    let mut s = SatisfactionState::new(SatisfactionSettings::default());
    let at = |id, when| response(id, Some("checkout"), None, None, Nps(10), when);
    let horizon = NOW - 30 * D - H;
    assert_eq!(s.fold_response(&at("a", horizon - 1), NOW), Outcome::Late);
    assert_eq!(s.fold_response(&at("b", horizon), NOW), Outcome::Accepted);
    assert_eq!(
        s.fold_response(&at("c", NOW + 5 * 60_000 + 1), NOW),
        Outcome::Future
    );
    assert_eq!(s.fold_response(&at("d", NOW), NOW), Outcome::Accepted);
    assert_eq!(
        s.fold(&Event::Satisfaction(at("e", NOW - H)), NOW),
        Outcome::Accepted
    );
    s.prune(NOW + H);
    assert_eq!(s.response_count(), 2);
}

#[test]
fn validation_needs_a_target_and_a_score_on_its_scale() {
    let ok = response("r", None, None, Some("f"), Nps(0), NOW);
    assert_eq!(ok.validate(), Ok(()));
    let nowhere = response("r", None, Some("payments"), None, Nps(3), NOW);
    assert_eq!(nowhere.validate(), Err(InvalidReason::MissingField));
    for bad in [Csat(0), Csat(6), Nps(11)] {
        let r = response("r", Some("s"), None, None, bad, NOW);
        assert_eq!(r.validate(), Err(InvalidReason::OutOfRange), "{bad:?}");
    }
    let empty = response("", Some("s"), None, None, Csat(3), NOW);
    assert_eq!(empty.validate(), Err(InvalidReason::EmptyField));
    let empty_team = response("r", Some("s"), Some(""), None, Csat(3), NOW);
    assert_eq!(empty_team.validate(), Err(InvalidReason::EmptyField));
}

#[test]
fn services_beyond_the_cap_fold_into_other() {
    let mut s = SatisfactionState::new(SatisfactionSettings {
        max_services: 1,
        ..SatisfactionSettings::default()
    });
    s.fold_response(
        &response("a", Some("checkout"), None, None, Csat(5), NOW),
        NOW,
    );
    s.fold_response(
        &response("b", Some("search"), None, None, Csat(1), NOW),
        NOW,
    );
    let r = s.report(NOW, &[]);
    let names: Vec<&str> = r.series.iter().map(|x| x.service).collect();
    assert_eq!(names, ["__other__", "checkout"]);
    assert_eq!(r.service_overflow, 1);
}

#[test]
fn features_in_a_window_count_for_the_responses_team_else_the_owners() {
    let s = state();
    let owners = owners();
    // 7 days: r2 (one-click, names payments: CSAT 3 → 0.5), r6 (voice-search,
    // no team: the owner's, discovery; CSAT 2 → 0.25), r7 (teleport: no
    // team, no owner). r3–r5 are older.
    let week = Window::new("7d", 7 * D);
    let f = s.features_in(NOW, &owners, &week);
    let got: Vec<(&str, Option<&str>, Option<f64>, u64)> = f
        .iter()
        .map(|x| (x.feature, x.team, x.figures.score, x.figures.responses()))
        .collect();
    assert_eq!(
        got,
        [
            ("one-click", Some("payments"), Some(0.5), 1),
            ("teleport", None, Some(1.0), 1),
            ("voice-search", Some("discovery"), Some(0.25), 1),
        ]
    );
    // As it stood at NOW − 2 D: r6 and r7 came later, r3 is older than the
    // week ending then; only r2 is left.
    let then = s.as_of(NOW - 2 * D);
    let f = then.features_in(NOW - 2 * D, &owners, &week);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!((f[0].feature, f[0].figures.detractors), ("one-click", 0));
}
