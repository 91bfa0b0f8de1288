//! Lead time from pushes: a deploy that lists no changes but names its
//! repository and revision gets the commits pushed up to that revision that
//! no earlier deployment of its service and environment delivered, in any
//! arrival order. Figures worked out by hand.

use super::*;
use crate::domain::PushedChange;

const REPO: &str = "acme/checkout";

fn push(id: &'static str, parent: &'static str, committed_at: Millis) -> Event<'static> {
    Event::Push(PushedChange {
        id: Cow::Borrowed(id),
        repository: Cow::Borrowed(REPO),
        parent: Some(Cow::Borrowed(parent)),
        committed_at,
    })
}

/// A deploy of `revision` listing no changes.
fn at_revision(
    id: &'static str,
    status: DeployStatus,
    finished_at: Millis,
    revision: &'static str,
) -> Event<'static> {
    let mut e = deploy(id, status, finished_at, &[]);
    if let Event::Deploy(d) = &mut e {
        d.repository = Some(Cow::Borrowed(REPO));
        d.revision = Some(Cow::Borrowed(revision));
    }
    e
}

/// Two pushes (c1, c2 then c3, c4) and two deployments: d1 of c2 at −8 h,
/// d2 of c4 at −2 h; a failed deploy of c4 at −1 h delivers nothing.
fn events() -> Vec<Event<'static>> {
    vec![
        push("c1", "b0", NOW - 10 * H),
        push("c2", "c1", NOW - 9 * H),
        push("c3", "c2", NOW - 5 * H),
        push("c4", "c3", NOW - 4 * H),
        at_revision("d1", DeployStatus::Succeeded, NOW - 8 * H, "c2"),
        at_revision("d2", DeployStatus::Succeeded, NOW - 2 * H, "c4"),
        at_revision("f1", DeployStatus::Failed, NOW - H, "c4"),
    ]
}

/// (count, sum in seconds, median in seconds) of the 1d lead time.
fn lead_time(s: &DoraState) -> (u64, f64, f64) {
    let r = s.report(NOW);
    let q = r.series[0].windows[0]
        .lead_time
        .as_ref()
        .expect("lead time samples");
    (q.count, q.sum_seconds, q.values[0].1)
}

#[test]
fn each_pushed_commit_counts_once_at_its_first_deployment() {
    let mut s = DoraState::new(settings());
    for e in &events() {
        assert_eq!(s.fold(e, NOW), Outcome::Accepted, "{e:?}");
    }
    // d1 delivers c2 (1 h) and c1 (2 h; b0 was never pushed here); d2
    // delivers c4 (2 h) and c3 (3 h), c1 and c2 being d1's already.
    // Samples 1, 2, 2, 3 h: count 4, sum 8 h, nearest-rank median 2 h.
    let (count, sum, median) = lead_time(&s);
    assert_eq!(count, 4);
    assert!((sum - 8.0 * 3600.0).abs() < 1e-6, "{sum}");
    assert_quantile(median, 2 * H);
}

#[test]
fn deploys_before_their_pushes_and_any_order_give_the_same_figures() {
    let mut forward = DoraState::new(settings());
    let mut backward = DoraState::new(settings());
    let all = events();
    for e in &all {
        forward.fold(e, NOW);
    }
    for e in all.iter().rev() {
        backward.fold(e, NOW);
    }
    assert_eq!(forward.report(NOW), backward.report(NOW));
}

#[test]
fn a_redelivered_push_is_a_duplicate_and_changes_nothing() {
    let mut s = DoraState::new(settings());
    for e in &events() {
        s.fold(e, NOW);
    }
    let before = format!("{:?}", s.report(NOW));
    assert_eq!(
        s.fold(&push("c3", "c2", NOW - 5 * H), NOW),
        Outcome::Duplicate
    );
    assert_eq!(format!("{:?}", s.report(NOW)), before);
}

#[test]
fn a_deploy_listing_its_own_changes_keeps_them() {
    let mut s = DoraState::new(settings());
    for e in &events()[..4] {
        s.fold(e, NOW);
    }
    // Lists one change committed 30 min before: that, not the pushes.
    let mut own = at_revision("d1", DeployStatus::Succeeded, NOW - 2 * H, "c4");
    if let Event::Deploy(d) = &mut own {
        d.changes = vec![Change {
            id: Some(Cow::Borrowed("x1")),
            committed_at: NOW - 2 * H - 30 * 60_000,
        }];
    }
    s.fold(&own, NOW);
    let (count, _, median) = lead_time(&s);
    assert_eq!(count, 1);
    assert_quantile(median, 30 * 60_000);
}

#[test]
fn a_revision_nobody_pushed_has_no_lead_time_and_pushes_are_weighed() {
    let mut s = DoraState::new(settings());
    s.fold(
        &at_revision("d1", DeployStatus::Succeeded, NOW - H, "unknown-sha"),
        NOW,
    );
    assert!(s.report(NOW).series[0].windows[0].lead_time.is_none());
    assert_eq!(s.heap_bytes().pushes, 0);
    for e in &events()[..4] {
        s.fold(e, NOW);
    }
    assert!(s.heap_bytes().pushes > 0);
}
