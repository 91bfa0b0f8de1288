//! Hand-checked tests of incident attribution (explicit, artifact, window),
//! failed deployment recovery time and deployment rework. Every expected
//! figure was worked out from the events listed, not from the code.

use super::{
    D, H, NOW, assert_quantile, deploy, incident, settings, with_artifact, with_environment,
    with_fixes, with_rollback_of, with_service,
};
use crate::domain::dora::*;
use crate::domain::tier::{Tier, TierMetric};
use crate::domain::{DeployStatus, Event, Millis, Outcome};
use DeployStatus::{Failed, RolledBack, Succeeded};

const M: Millis = 60_000;

fn state(events: &[Event<'static>]) -> DoraState {
    state_with(settings(), events)
}

/// State with `dora.failed_deploys = "change_failure"`: a failed deploy is
/// a change failure (assessed, never a deployment).
fn state_failed_is_failure(events: &[Event<'static>]) -> DoraState {
    let mut st = settings();
    st.failed_deploys = FailedDeploys::ChangeFailure;
    state_with(st, events)
}

fn state_with(settings: DoraSettings, events: &[Event<'static>]) -> DoraState {
    let mut s = DoraState::new(settings);
    for e in events {
        let o = s.fold(e, NOW);
        assert!(matches!(o, Outcome::Accepted), "{o:?} for {e:?}");
    }
    s
}

/// `(incident, linked deploy, rule)` of every incident, sorted by incident.
fn links(s: &DoraState) -> Vec<(&str, Option<(&str, Rule)>)> {
    s.incident_links()
        .into_iter()
        .map(|l| (l.incident, l.link))
        .collect()
}

/// The series of `service` in production.
fn series<'r>(r: &'r DoraReport<'_>, service: &str) -> &'r SeriesReport<'r> {
    r.series
        .iter()
        .find(|k| k.service == service && k.environment == "production")
        .unwrap_or_else(|| panic!("no series for {service}: {:?}", r.series))
}

const STRICT: Attribution = Attribution::Strict;
const LOOSE: Attribution = Attribution::Loose;

#[test]
fn explicit_cause_wins_over_the_artifact_and_the_window() {
    let s = state(&[
        deploy("a", Succeeded, NOW - 10 * H, &[]),
        with_artifact(deploy("b", Succeeded, NOW - 2 * H, &[]), "sha256:b"),
        // Its artifact is b's and b finished within 24 h before, but it
        // names a.
        with_artifact(incident("i", NOW - H, None, Some("a")), "sha256:b"),
    ]);
    assert_eq!(links(&s), [("i", Some(("a", Rule::Explicit)))]);
    let r = s.report(NOW);
    let w = &series(&r, "checkout").windows[0];
    // 1d: a and b; a failed in both modes, b in neither.
    assert_eq!((w.deployments, w.failed), (2, [1, 1]));
    assert_eq!(w.unattributed, 0);
}

#[test]
fn explicit_cause_naming_an_unknown_deploy_is_attributed_and_fails_nothing() {
    let s = state(&[
        deploy("a", Succeeded, NOW - 2 * H, &[]),
        // "gone" is not retained (older than the history, or never seen):
        // the producer's word still wins over the window rule.
        incident("i", NOW - H, None, Some("gone")),
    ]);
    assert_eq!(links(&s), [("i", Some(("gone", Rule::Explicit)))]);
    let r = s.report(NOW);
    let k = series(&r, "checkout");
    assert_eq!((k.windows[0].deployments, k.windows[0].failed), (1, [0, 0]));
    assert!(k.has_opened_incidents);
    assert_eq!(k.windows[0].unattributed, 0);
}

#[test]
fn artifact_links_the_latest_deploy_that_shipped_it_at_or_before_the_incident_else_the_earliest() {
    let x = "sha256:x";
    let s = state(&[
        with_artifact(deploy("a1", Succeeded, NOW - 5 * D, &[]), x),
        // The same artifact shipped again (e.g. a redeploy).
        with_artifact(deploy("a2", Succeeded, NOW - 2 * D, &[]), x),
        with_artifact(deploy("y", Succeeded, NOW - 3 * H, &[]), "sha256:y"),
        // Opened between a2 and y: a2, the latest shipping of x before it
        // (y, the latest deploy of all, would be the window rule's pick).
        with_artifact(incident("i1", NOW - D, None, None), x),
        // Opened at the very millisecond a2 finished: a2 ("at or before").
        with_artifact(incident("i2", NOW - 2 * D, None, None), x),
        // Opened before any deploy of x: the earliest, a1.
        with_artifact(incident("i3", NOW - 6 * D, None, None), x),
        // An artifact no deploy shipped: falls through to the window rule,
        // which picks y (3 h before, within 24 h).
        with_artifact(incident("i4", NOW - H, None, None), "sha256:z"),
    ]);
    assert_eq!(
        links(&s),
        [
            ("i1", Some(("a2", Rule::Artifact))),
            ("i2", Some(("a2", Rule::Artifact))),
            ("i3", Some(("a1", Rule::Artifact))),
            ("i4", Some(("y", Rule::Window))),
        ]
    );
    let r = s.report(NOW);
    let w7 = &series(&r, "checkout").windows[1];
    // 7d: a1, a2, y. Strict failures a1, a2; loose adds y.
    assert_eq!((w7.deployments, w7.failed), (3, [2, 3]));
    assert_eq!(w7.change_failure_ratio(STRICT), Some(2.0 / 3.0));
    assert_eq!(w7.change_failure_ratio(LOOSE), Some(1.0));
    assert_eq!(w7.unattributed, 0);
}

#[test]
fn artifact_and_window_rules_stay_within_the_same_service_and_environment() {
    let mut st = settings();
    st.environments = vec!["production".into(), "staging".into()];
    let x = "sha256:x";
    let s = state_with(
        st,
        &[
            // x shipped by another service, and by checkout to staging.
            with_service(
                with_artifact(deploy("s", Succeeded, NOW - 2 * H, &[]), x),
                "search",
            ),
            with_environment(
                with_artifact(deploy("t", Succeeded, NOW - 2 * H, &[]), x),
                "staging",
            ),
            // checkout's own last production deploy is 30 h old.
            deploy("c", Succeeded, NOW - 30 * H, &[]),
            // A checkout production incident running x: no rule applies.
            with_artifact(incident("i", NOW - H, None, None), x),
            // A staging incident: linked to t, in staging only.
            with_environment(
                with_artifact(incident("j", NOW - H, None, None), x),
                "staging",
            ),
        ],
    );
    assert_eq!(links(&s), [("i", None), ("j", Some(("t", Rule::Artifact)))]);
    let r = s.report(NOW);
    let checkout = series(&r, "checkout");
    // 1d: c is 30 h old, so checkout production has no deploy in 1d.
    assert_eq!(checkout.windows[0].deployments, 0);
    assert_eq!(checkout.windows[0].unattributed, 1);
    assert_eq!(
        (checkout.windows[1].deployments, checkout.windows[1].failed),
        (1, [0, 0])
    );
    let search = series(&r, "search");
    assert_eq!(search.windows[0].failed, [0, 0]);
    assert!(!search.has_opened_incidents);
    let staging = r
        .series
        .iter()
        .find(|k| k.environment == "staging")
        .unwrap();
    assert_eq!(staging.windows[0].failed, [1, 1]);
    assert_eq!(staging.windows[0].unattributed, 0);
}

#[test]
fn window_rule_is_loose_only_and_its_edges_are_inclusive() {
    let t = NOW - 3 * D;
    let s = state(&[
        deploy("d", Succeeded, t, &[]),
        // Exactly 24 h after d: linked (loose).
        incident("edge", t + D, None, None),
        // 24 h and 1 ms after: too late, unattributed.
        incident("past", t + D + 1, None, None),
        // At the millisecond d finished: linked ("at or before").
        incident("same", t, None, None),
        // 1 ms before d finished: no deploy before it, unattributed.
        incident("before", t - 1, None, None),
    ]);
    assert_eq!(
        links(&s),
        [
            ("before", None),
            ("edge", Some(("d", Rule::Window))),
            ("past", None),
            ("same", Some(("d", Rule::Window))),
        ]
    );
    let r = s.report(NOW);
    let k = series(&r, "checkout");
    // 1d: no deploy, no incident opened (all within 3 days .. 2 days ago):
    // counts are exported as zeros, ratios are absent.
    let w1 = &k.windows[0];
    assert_eq!((w1.deployments, w1.failed, w1.unattributed), (0, [0, 0], 0));
    assert_eq!(w1.change_failure_ratio(STRICT), None);
    // 7d: d is a failure in loose mode only; "past" and "before" unattributed.
    let w7 = &k.windows[1];
    assert_eq!((w7.deployments, w7.failed), (1, [0, 1]));
    assert_eq!(w7.change_failure_ratio(STRICT), Some(0.0));
    assert_eq!(w7.change_failure_ratio(LOOSE), Some(1.0));
    assert_eq!(w7.unattributed, 2);
    // A loose-only failure is no change failure for recovery or the tier.
    assert_eq!(w7.recovery, None);
    assert!(
        k.tiers
            .contains(&(TierMetric::ChangeFailureRate, Tier::Elite))
    );
}

#[test]
fn window_rule_takes_the_latest_deploy_before_the_incident_never_one_after() {
    let s = state(&[
        deploy("e1", Succeeded, NOW - 10 * H, &[]),
        deploy("e2", Succeeded, NOW - 2 * H, &[]),
        deploy("e3", Succeeded, NOW - 30 * M, &[]),
        incident("i", NOW - H, None, None),
    ]);
    assert_eq!(links(&s), [("i", Some(("e2", Rule::Window)))]);
}

#[test]
fn incident_three_days_after_the_last_deploy_is_linked_in_neither_mode() {
    let last = NOW - 4 * D + H;
    let s = state(&[
        deploy("d", Succeeded, last, &[]),
        // 72 h after d: far beyond the 24 h window.
        incident("late", last + 3 * D, None, None),
        incident("late", last + 3 * D, Some(last + 3 * D + 2 * H), None),
    ]);
    assert_eq!(links(&s), [("late", None)]);
    let r = s.report(NOW);
    let k = series(&r, "checkout");
    // Opened 23 h ago: unattributed in every window.
    assert_eq!(
        k.windows.iter().map(|w| w.unattributed).collect::<Vec<_>>(),
        [1, 1, 1]
    );
    // 7d: d, a failure in neither mode.
    let w7 = &k.windows[1];
    assert_eq!((w7.deployments, w7.failed), (1, [0, 0]));
    assert_eq!(w7.change_failure_ratio(LOOSE), Some(0.0));
    // It still counts for time to restore (2 h).
    assert_quantile(w7.time_to_restore.as_ref().unwrap().values[0].1, 2 * H);
}

#[test]
fn a_cause_named_by_either_event_links_the_incident() {
    let s = state(&[
        deploy("a", Succeeded, NOW - 5 * H, &[]),
        deploy("b", Succeeded, NOW - 3 * H, &[]),
        // Opening without a cause (the window rule would pick b); the
        // resolution names a: explicit, a.
        incident("i", NOW - 2 * H, None, None),
        incident("i", NOW - 2 * H, Some(NOW - H), Some("a")),
        // Opening names a; the resolution says nothing: still explicit, a.
        incident("j", NOW - 2 * H, None, Some("a")),
        incident("j", NOW - 2 * H, Some(NOW - H), None),
    ]);
    assert_eq!(
        links(&s),
        [
            ("i", Some(("a", Rule::Explicit))),
            ("j", Some(("a", Rule::Explicit))),
        ]
    );
    let r = s.report(NOW);
    // b is a failure in neither mode.
    assert_eq!(series(&r, "checkout").windows[0].failed, [1, 1]);
}

#[test]
fn change_failure_tier_is_graded_on_strict_attribution() {
    // 10 deploys over 30 days, one rolled back (strict 0.1, high); one more
    // linked by the window rule only (loose 0.2, would be low).
    let mut events: Vec<Event<'static>> = (0..10)
        .map(|n| {
            let id: &'static str = ["p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9"][n];
            let status = if n == 0 { RolledBack } else { Succeeded };
            deploy(id, status, NOW - (2 * n as Millis + 1) * D, &[])
        })
        .collect();
    // p9 finished 19 days ago; the incident opens 2 h later.
    events.push(incident("i", NOW - 19 * D + 2 * H, None, None));
    let s = state(&events);
    let r = s.report(NOW);
    let k = series(&r, "checkout");
    assert_eq!(k.windows[2].failed, [1, 2]);
    assert!(
        k.tiers
            .contains(&(TierMetric::ChangeFailureRate, Tier::High)),
        "{:?}",
        k.tiers
    );
}

#[test]
fn recovery_ends_at_the_next_success_or_the_linked_resolution_whichever_is_first() {
    let s = state_failed_is_failure(&[
        // f1 failed 10 h ago; its incident was resolved after 1 h, the next
        // succeeded deploy s1 came after 3 h: recovery 1 h (the incident).
        deploy("f1", Failed, NOW - 10 * H, &[]),
        incident("i1", NOW - 10 * H + 10 * M, None, Some("f1")),
        incident("i1", NOW - 10 * H + 10 * M, Some(NOW - 9 * H), Some("f1")),
        deploy("s1", Succeeded, NOW - 7 * H, &[]),
        // f2 succeeded 6 h ago but caused i2, resolved after 3 h; s2, the
        // next success, came after 2 h: recovery 2 h (the deploy).
        deploy("f2", Succeeded, NOW - 6 * H, &[]),
        incident("i2", NOW - 6 * H + 5 * M, None, Some("f2")),
        incident("i2", NOW - 6 * H + 5 * M, Some(NOW - 3 * H), Some("f2")),
        deploy("s2", Succeeded, NOW - 4 * H, &[]),
    ]);
    let r = s.report(NOW);
    let w = &series(&r, "checkout").windows[0];
    assert_eq!(w.failed, [2, 2]);
    // Samples [1 h, 2 h]: ranks ceil(1.0) = 1, ceil(1.8) = 2, ceil(1.9) = 2.
    let q = w.recovery.as_ref().unwrap();
    assert_eq!((q.count, q.sum_seconds), (2, 3.0 * 3600.0));
    assert_quantile(q.values[0].1, H);
    assert_quantile(q.values[1].1, 2 * H);
    assert_quantile(q.values[2].1, 2 * H);
}

#[test]
fn recovery_skips_later_deploys_that_are_failures_themselves() {
    let s = state_failed_is_failure(&[
        deploy("f", Failed, NOW - 10 * H, &[]),
        deploy("h", RolledBack, NOW - 9 * H, &[]),
        // g succeeded, but r rolls it back: a failure, not a recovery.
        deploy("g", Succeeded, NOW - 8 * H, &[]),
        with_rollback_of(deploy("r", Succeeded, NOW - 6 * H, &[]), "g"),
    ]);
    let r = s.report(NOW);
    let w = &series(&r, "checkout").windows[0];
    // Failures f, h, g; each recovers at r (6 h ago): 4 h, 3 h, 2 h. f
    // failed, so it is assessed but is no deployment.
    assert_eq!((w.deployments, w.assessed, w.failed), (3, 4, [3, 3]));
    let q = w.recovery.as_ref().unwrap();
    assert_eq!((q.count, q.sum_seconds), (3, 9.0 * 3600.0));
    // [2 h, 3 h, 4 h]: ranks ceil(1.5) = 2, ceil(2.7) = 3, ceil(2.85) = 3.
    assert_quantile(q.values[0].1, 3 * H);
    assert_quantile(q.values[1].1, 4 * H);
    assert_quantile(q.values[2].1, 4 * H);
}

#[test]
fn a_failure_not_yet_recovered_has_no_recovery_sample() {
    let s = state_failed_is_failure(&[
        // f failed 2 h ago; its incident is still open. A resolution of a
        // linked incident before f finished is no recovery of f.
        deploy("f", Failed, NOW - 2 * H, &[]),
        incident("open", NOW - H, None, Some("f")),
        incident("earlier", NOW - 5 * H, Some(NOW - 3 * H), Some("f")),
        // A success of another service does not recover checkout.
        with_service(deploy("other", Succeeded, NOW - H, &[]), "search"),
    ]);
    let r = s.report(NOW);
    let w = &series(&r, "checkout").windows[0];
    assert_eq!(w.failed, [1, 1]);
    assert_eq!(w.recovery, None);
}

#[test]
fn recovery_is_windowed_by_when_the_failed_deploy_finished() {
    let s = state_failed_is_failure(&[
        deploy("f", Failed, NOW - 2 * D, &[]),
        deploy("s", Succeeded, NOW - H, &[]),
    ]);
    let r = s.report(NOW);
    let k = series(&r, "checkout");
    // f finished 2 days ago: in 7d and 30d, not in 1d, although it
    // recovered an hour ago. Recovery 2 d - 1 h = 47 h.
    assert_eq!(k.windows[0].recovery, None);
    for w in &k.windows[1..] {
        let q = w.recovery.as_ref().unwrap();
        assert_eq!(q.count, 1);
        assert_quantile(q.values[0].1, 47 * H);
    }
}

#[test]
fn rework_counts_rollbacks_and_incident_fixes_over_deployments() {
    let s = state(&[
        deploy("p1", Succeeded, NOW - 5 * H, &[]),
        with_rollback_of(deploy("p2", Succeeded, NOW - 4 * H, &[]), "p1"),
        with_fixes(deploy("p3", Succeeded, NOW - 3 * H, &[]), "inc-1"),
        // A fix that failed never reached production: no deployment, so no
        // rework either.
        with_fixes(deploy("p4", Failed, NOW - 2 * H, &[]), "inc-2"),
        deploy("p5", Succeeded, NOW - 2 * D, &[]),
        with_service(deploy("q1", Succeeded, NOW - 3 * D, &[]), "search"),
    ]);
    let r = s.report(NOW);
    let k = series(&r, "checkout");
    // 1d: deployments p1..p3, rework p2, p3: 2 / 3. 7d: + p5: 2 / 4.
    assert_eq!((k.windows[0].deployments, k.windows[0].rework), (3, 2));
    assert_eq!(k.windows[0].rework_ratio(), Some(2.0 / 3.0));
    assert_eq!((k.windows[1].deployments, k.windows[1].rework), (4, 2));
    assert_eq!(k.windows[1].rework_ratio(), Some(0.5));
    assert_eq!(k.windows[1].attempts, [4, 0, 1]);
    // search: no deploy in 1d, so no ratio; 0 / 1 in 7d.
    let q = series(&r, "search");
    assert_eq!(
        (q.windows[0].rework, q.windows[0].rework_ratio()),
        (0, None)
    );
    assert_eq!(q.windows[1].rework_ratio(), Some(0.0));
}
