//! Hand-checked flow datasets. Every expected figure was worked out on
//! paper from the transitions listed, not from the code under test.

use std::borrow::Cow;

use super::*;
use crate::domain::health::HealthTier;
use crate::domain::quantiles::RatioQuantiles;

mod item;
mod states;

const NOW: Millis = 1_800_000_000_000;
const H: Millis = 3_600_000;
const D: Millis = DAY_MS;

fn settings() -> FlowSettings {
    FlowSettings::default()
}

fn t(
    id: &'static str,
    service: &'static str,
    state: &'static str,
    at: Millis,
) -> WorkItem<'static> {
    WorkItem {
        id: Cow::Borrowed(id),
        service: Cow::Borrowed(service),
        team: Some(Cow::Borrowed(match service {
            "checkout" => "payments",
            "search" => "discovery",
            _ => return without_team(id, service, state, at),
        })),
        environment: None,
        state: Cow::Borrowed(state),
        category: None,
        at,
        changes: vec![],
        deploys: vec![],
    }
}

fn without_team(
    id: &'static str,
    service: &'static str,
    state: &'static str,
    at: Millis,
) -> WorkItem<'static> {
    WorkItem {
        id: Cow::Borrowed(id),
        service: Cow::Borrowed(service),
        team: None,
        environment: None,
        state: Cow::Borrowed(state),
        category: None,
        at,
        changes: vec![],
        deploys: vec![],
    }
}

/// The dataset (times before NOW):
///
/// | item | service | transitions | active | waiting | finished |
/// |---|---|---|---|---|---|
/// | A | checkout | in_progress 3d, in_review 3d−6h, In Progress 3d−10h, done 3d−12h | 8 h | 4 h | 3d−12h (2.5 d ago) |
/// | B | checkout | todo 20h, in-progress 10h, blocked 9h, in progress 3h, done 2h | 2 h | 6 h | 2 h ago |
/// | C | checkout | in_progress 20d, done 19d | 24 h | 0 | 19 d ago |
/// | D | checkout | in_progress 5h | (unfinished) | | |
/// | E | search | created 2d, closed 30h | 0 (never started) | 0 | 30 h ago |
/// | F | cart | In Progress 6h, Triage 5h (unmapped: waiting), Done 4h | 1 h | 1 h | 4 h ago |
/// | G | cart | in_review with category active 10h, done 9h | 1 h | 0 | 9 h ago |
fn dataset() -> Vec<WorkItem<'static>> {
    let mut g = t("G", "cart", "in_review", NOW - 10 * H);
    g.category = Some(FlowCategory::Active);
    vec![
        t("A", "checkout", "in_progress", NOW - 3 * D),
        t("A", "checkout", "in_review", NOW - 3 * D + 6 * H),
        t("A", "checkout", "In Progress", NOW - 3 * D + 10 * H),
        t("A", "checkout", "done", NOW - 3 * D + 12 * H),
        t("B", "checkout", "todo", NOW - 20 * H),
        t("B", "checkout", "in-progress", NOW - 10 * H),
        t("B", "checkout", "blocked", NOW - 9 * H),
        t("B", "checkout", "in progress", NOW - 3 * H),
        t("B", "checkout", "done", NOW - 2 * H),
        t("C", "checkout", "in_progress", NOW - 20 * D),
        t("C", "checkout", "done", NOW - 19 * D),
        t("D", "checkout", "in_progress", NOW - 5 * H),
        t("E", "search", "created", NOW - 2 * D),
        t("E", "search", "closed", NOW - 30 * H),
        t("F", "cart", "In Progress", NOW - 6 * H),
        t("F", "cart", "Triage", NOW - 5 * H),
        t("F", "cart", "Done", NOW - 4 * H),
        g,
        t("G", "cart", "done", NOW - 9 * H),
    ]
}

fn state_of(events: &[WorkItem<'static>]) -> FlowState {
    let mut s = FlowState::new(settings());
    for e in events {
        assert_eq!(s.fold_item(e, NOW), Outcome::Accepted, "{e:?}");
    }
    s
}

fn assert_close(got: f64, want: f64) {
    assert!((got - want).abs() < 1e-9, "got {got}, want {want}");
}

#[test]
fn hand_checked_dataset_gives_exact_items_times_and_efficiency() {
    let s = state_of(&dataset());
    let r = s.report(NOW);
    let names: Vec<(&str, &str)> = r.series.iter().map(|x| (x.service, x.team)).collect();
    assert_eq!(
        names,
        [
            ("cart", "unknown"),
            ("checkout", "payments"),
            ("search", "discovery")
        ]
    );
    assert_eq!(r.unmapped_transitions, 1, "F's Triage");

    let [cart, checkout, search] = [&r.series[0], &r.series[1], &r.series[2]];
    let [c1, c7, c30] = [
        &checkout.windows[0],
        &checkout.windows[1],
        &checkout.windows[2],
    ];
    // 1d: B only: active 2 h, waiting 6 h, 0.25.
    assert_eq!(c1.items_finished, 1);
    assert_eq!((c1.active_seconds, c1.waiting_seconds), (7200.0, 21600.0));
    assert_eq!(c1.efficiency, Some(0.25));
    assert_eq!(
        c1.item_efficiency,
        Some(RatioQuantiles {
            count: 1,
            sum: 0.25,
            values: [(0.5, 0.25), (0.9, 0.25), (0.95, 0.25)],
        })
    );
    // 7d: A and B: active 10 h, waiting 10 h, 0.5. Per item [0.25, 2/3]:
    // ranks 1, 2, 2.
    assert_eq!(c7.items_finished, 2);
    assert_eq!((c7.active_seconds, c7.waiting_seconds), (36000.0, 36000.0));
    assert_eq!(c7.efficiency, Some(0.5));
    let q7 = c7.item_efficiency.as_ref().unwrap();
    assert_eq!(q7.count, 2);
    assert_eq!(q7.values[0], (0.5, 0.25));
    assert_close(q7.values[1].1, 2.0 / 3.0);
    assert_close(q7.values[2].1, 2.0 / 3.0);
    // 30d: A, B, C: active 34 h, waiting 10 h: 34/44. Per item [0.25, 2/3,
    // 1]: ranks 2, 3, 3.
    assert_eq!(c30.items_finished, 3);
    assert_eq!(
        (c30.active_seconds, c30.waiting_seconds),
        (122_400.0, 36_000.0)
    );
    assert_close(c30.efficiency.unwrap(), 34.0 / 44.0);
    let q30 = c30.item_efficiency.as_ref().unwrap();
    assert_close(q30.values[0].1, 2.0 / 3.0);
    assert_eq!((q30.values[1].1, q30.values[2].1), (1.0, 1.0));
    assert_close(q30.sum, 0.25 + 2.0 / 3.0 + 1.0);
    // 0.77 on the longest window: above 40 %, world-class.
    assert_eq!(checkout.tier, Some(HealthTier::Elite));

    // E was never started: a finished item with no time and no ratio; 30 h
    // ago, so not in 1d.
    let items: Vec<u64> = search.windows.iter().map(|w| w.items_finished).collect();
    assert_eq!(items, [0, 1, 1]);
    assert!(
        search.windows.iter().all(|w| w.efficiency.is_none()
            && w.item_efficiency.is_none()
            && w.active_seconds == 0.0)
    );
    assert_eq!(search.tier, None);

    // cart: F (1 h active, 1 h waiting in the unmapped Triage) and G
    // (in_review, but its own category says active: 1 h): 2 h / 3 h.
    let c = &cart.windows[0];
    assert_eq!(c.items_finished, 2);
    assert_eq!((c.active_seconds, c.waiting_seconds), (7200.0, 3600.0));
    assert_close(c.efficiency.unwrap(), 2.0 / 3.0);
    let q = c.item_efficiency.as_ref().unwrap();
    assert_eq!(q.values, [(0.5, 0.5), (0.9, 1.0), (0.95, 1.0)]);
    // D is still in progress: time is measured between transitions, so it
    // has none yet, and it is in no window.
    assert_eq!(s.item("D"), Some(ItemTimes::default()));
}

#[test]
fn transitions_arriving_out_of_order_give_the_same_report() {
    let in_order = state_of(&dataset());
    let mut reversed = dataset();
    reversed.reverse();
    let mut interleaved = dataset();
    interleaved.rotate_left(7);
    for other in [reversed, interleaved] {
        assert_eq!(state_of(&other).report(NOW), in_order.report(NOW));
    }
}

#[test]
fn a_reopen_after_done_unfinishes_the_item_until_done_again() {
    let mut s = state_of(&[
        t("A", "checkout", "in_progress", NOW - 10 * H),
        t("A", "checkout", "done", NOW - 8 * H),
    ]);
    assert_eq!(s.report(NOW).series[0].windows[0].items_finished, 1);
    // Reopened 4 h ago: no longer finished, so in no window.
    assert_eq!(
        s.fold_item(&t("A", "checkout", "reopened", NOW - 4 * H), NOW),
        Outcome::Accepted
    );
    assert!(s.report(NOW).series.is_empty());
    // Worked on again from 3 h ago, done 1 h ago: active 2 h + 2 h, waiting
    // 1 h (reopened → in progress); the 4 h between done and the reopen
    // count as neither.
    s.fold_item(&t("A", "checkout", "in_progress", NOW - 3 * H), NOW);
    s.fold_item(&t("A", "checkout", "done", NOW - H), NOW);
    let r = s.report(NOW);
    let w = &r.series[0].windows[0];
    assert_eq!(w.items_finished, 1);
    assert_eq!(
        (w.active_seconds, w.waiting_seconds),
        (4.0 * 3600.0, 3600.0)
    );
    assert_eq!(w.efficiency, Some(0.8));
}

#[test]
fn the_key_is_item_and_time_redelivery_is_duplicate_and_new_content_an_update() {
    let mut s = FlowState::new(settings());
    let start = t("A", "checkout", "in_progress", NOW - 4 * H);
    assert_eq!(s.fold_item(&start, NOW), Outcome::Accepted);
    assert_eq!(s.fold_item(&start.clone(), NOW), Outcome::Duplicate);
    s.fold_item(&t("A", "checkout", "done", NOW - H), NOW);
    assert_eq!(s.item("A").unwrap().active, 3 * H);
    // The tracker corrects the state at the same instant: it was a review.
    assert_eq!(
        s.fold_item(&t("A", "checkout", "in_review", NOW - 4 * H), NOW),
        Outcome::Updated
    );
    let a = s.item("A").unwrap();
    assert_eq!((a.active, a.waiting, a.finished_at), (0, 0, Some(NOW - H)));
    // A link added later is an update too.
    let mut linked = t("A", "checkout", "done", NOW - H);
    linked.deploys = vec![Cow::Borrowed("d-1842")];
    assert_eq!(s.fold_item(&linked, NOW), Outcome::Updated);
    assert_eq!(s.item_count(), 1);
}

#[test]
fn late_and_future_transitions_are_rejected_at_the_horizon_and_the_skew() {
    let mut s = FlowState::new(settings());
    let horizon = NOW - 30 * D - H;
    let at = |when| t("A", "checkout", "in_progress", when);
    assert_eq!(s.fold_item(&at(horizon - 1), NOW), Outcome::Late);
    assert_eq!(s.fold_item(&at(horizon), NOW), Outcome::Accepted);
    assert_eq!(s.fold_item(&at(NOW + 5 * 60_000 + 1), NOW), Outcome::Future);
    assert_eq!(s.fold_item(&at(NOW + 5 * 60_000), NOW), Outcome::Accepted);
    assert_eq!(
        s.fold(&crate::domain::Event::WorkItem(at(NOW - H)), NOW),
        Outcome::Accepted
    );
}

#[test]
fn pruning_drops_transitions_past_the_horizon_and_empty_items() {
    let mut s = state_of(&dataset());
    assert_eq!(s.item_count(), 7);
    // 11 days later the horizon is NOW − 19 d − 1 h: C's in_progress (20 d)
    // goes, its done (19 d) stays; every other item is younger.
    s.prune(NOW + 11 * D);
    assert_eq!(s.item_count(), 7);
    assert_eq!(
        s.item("C"),
        Some(ItemTimes {
            active: 0,
            waiting: 0,
            finished_at: Some(NOW - 19 * D),
        })
    );
    s.prune(NOW + 31 * D);
    assert_eq!(s.item_count(), 0);
    assert!(s.report(NOW + 31 * D).series.is_empty());
}

#[test]
fn services_beyond_the_cap_fold_into_other() {
    let mut st = settings();
    st.max_services = 1;
    let mut s = FlowState::new(st);
    for e in [
        t("A", "checkout", "in_progress", NOW - 2 * H),
        t("A", "checkout", "done", NOW - H),
        t("B", "search", "in_progress", NOW - 2 * H),
        t("B", "search", "done", NOW - H),
    ] {
        s.fold_item(&e, NOW);
    }
    let r = s.report(NOW);
    let names: Vec<&str> = r.series.iter().map(|x| x.service).collect();
    assert_eq!(names, ["__other__", "checkout"]);
    assert_eq!(r.service_overflow, 2);
}

#[test]
fn an_item_is_reported_under_the_labels_of_its_latest_transition() {
    let mut moved = t("A", "search", "done", NOW - H);
    moved.team = Some(Cow::Borrowed("discovery"));
    let s = state_of(&[t("A", "checkout", "in_progress", NOW - 2 * H), moved]);
    let r = s.report(NOW);
    assert_eq!(
        (r.series[0].service, r.series[0].team),
        ("search", "discovery")
    );
    assert_eq!(r.series.len(), 1);
}

#[test]
fn as_of_keeps_only_the_transitions_before_the_cutoff_and_items_list_their_states() {
    // i1 done at NOW − 3 D, reopened at NOW − D; as of NOW − 2 D it is done.
    let s = state_of(&[
        t("i1", "checkout", "In Progress", NOW - 4 * D),
        t("i1", "checkout", "done", NOW - 3 * D),
        t("i1", "checkout", "in-review", NOW - D),
        t("i2", "checkout", "in_progress", NOW - H),
    ]);
    let then = s.as_of(NOW - 2 * D);
    assert_eq!(then.item_count(), 1);
    assert_eq!(then.item("i1").unwrap().finished_at, Some(NOW - 3 * D));
    assert_eq!(s.item("i1").unwrap().finished_at, None);
    let items = s.items();
    let ids: Vec<&str> = items.iter().map(|i| i.id).collect();
    assert_eq!(ids, ["i1", "i2"]);
    let states: Vec<(&str, FlowCategory)> = items[0]
        .transitions
        .iter()
        .map(|t| (t.state, t.category))
        .collect();
    assert_eq!(
        states,
        [
            ("in_progress", FlowCategory::Active),
            ("done", FlowCategory::Done),
            ("in_review", FlowCategory::Waiting),
        ]
    );
    assert_eq!((items[0].service, items[0].team), ("checkout", "payments"));
}
