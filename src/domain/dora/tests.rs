//! Hand-checked DORA datasets. Every expected figure below was worked out on
//! paper from the events listed, not from the code under test.

use std::borrow::Cow;

use super::*;
use crate::domain::Change;
use crate::domain::tier::{Tier, TierMetric};
use crate::domain::time::DAY_MS;
use crate::domain::time::Window;

mod attribution;
mod bands;
mod changes;
mod incident_team;
mod pairing;
mod pushes;

pub(super) use crate::testkit::NOW;
pub(super) const H: Millis = 3_600_000;
pub(super) const D: Millis = DAY_MS;

pub(super) fn settings() -> DoraSettings {
    DoraSettings {
        windows: vec![
            Window::new("1d", D),
            Window::new("7d", 7 * D),
            Window::new("30d", 30 * D),
        ]
        .into(),
        time: TimePolicy {
            longest: 30 * D,
            grace: H,
            max_clock_skew: 5 * 60_000,
        },
        environments: vec!["production".into()],
        max_services: 10,
        max_teams: 10,
        attribution_window: D,
        failed_deploys: FailedDeploys::Ignore,
        bands: crate::domain::tier::DoraBands::default(),
    }
}

pub(super) fn deploy(
    id: &'static str,
    status: DeployStatus,
    finished_at: Millis,
    leads: &[Millis],
) -> Event<'static> {
    Event::Deploy(Deploy {
        id: Cow::Borrowed(id),
        service: Cow::Borrowed("checkout"),
        team: Some(Cow::Borrowed("payments")),
        environment: Cow::Borrowed("production"),
        status,
        finished_at,
        artifact: None,
        changes: leads
            .iter()
            .map(|l| Change {
                id: None,
                committed_at: finished_at - l,
            })
            .collect(),
        features: vec![],
        rollback_of: None,
        fixes_incident: None,
        repository: None,
        revision: None,
    })
}

pub(super) fn with_rollback_of(mut e: Event<'static>, of: &'static str) -> Event<'static> {
    if let Event::Deploy(d) = &mut e {
        d.rollback_of = Some(Cow::Borrowed(of));
    }
    e
}

/// Sets `fixes_incident` of a deploy.
pub(super) fn with_fixes(mut e: Event<'static>, incident: &'static str) -> Event<'static> {
    if let Event::Deploy(d) = &mut e {
        d.fixes_incident = Some(Cow::Borrowed(incident));
    }
    e
}

/// Sets the environment of a deploy or an incident.
pub(super) fn with_environment(mut e: Event<'static>, env: &'static str) -> Event<'static> {
    match &mut e {
        Event::Deploy(d) => d.environment = Cow::Borrowed(env),
        Event::Incident(i) => i.environment = Cow::Borrowed(env),
        _ => {}
    }
    e
}

/// Sets the service of a deploy or an incident.
pub(super) fn with_service(mut e: Event<'static>, service: &'static str) -> Event<'static> {
    match &mut e {
        Event::Deploy(d) => d.service = Cow::Borrowed(service),
        Event::Incident(i) => i.service = Cow::Borrowed(service),
        _ => {}
    }
    e
}

/// Sets the artifact of a deploy or an incident.
pub(super) fn with_artifact(mut e: Event<'static>, artifact: &'static str) -> Event<'static> {
    match &mut e {
        Event::Deploy(d) => d.artifact = Some(Cow::Borrowed(artifact)),
        Event::Incident(i) => i.artifact = Some(Cow::Borrowed(artifact)),
        _ => {}
    }
    e
}

pub(super) fn incident(
    id: &'static str,
    opened_at: Millis,
    resolved_at: Option<Millis>,
    caused_by: Option<&'static str>,
) -> Event<'static> {
    Event::Incident(Incident {
        id: Cow::Borrowed(id),
        service: Cow::Borrowed("checkout"),
        team: Some(Cow::Borrowed("payments")),
        environment: Cow::Borrowed("production"),
        status: if resolved_at.is_some() {
            IncidentStatus::Resolved
        } else {
            IncidentStatus::Opened
        },
        opened_at: Some(opened_at),
        resolved_at,
        source: None,
        caused_by_deploy: caused_by.map(Cow::Borrowed),
        artifact: None,
    })
}

/// Asserts an hdrhistogram quantile is the expected sample within the stated
/// precision: never below it, at most 0.1 % above.
pub(super) fn assert_quantile(got: f64, expected_ms: Millis) {
    let want = expected_ms as f64 / 1000.0;
    assert!(
        got >= want && got <= want * 1.001,
        "quantile {got} s, expected {want} s"
    );
}

fn scenario(failed_deploys: FailedDeploys) -> DoraState {
    use DeployStatus::*;
    let mut st = settings();
    st.failed_deploys = failed_deploys;
    let mut s = DoraState::new(st);
    let events = [
        // 2 days ago, two changes: lead times 2 h and 4 h. Caused incident i1.
        deploy("d1", Succeeded, NOW - 2 * D, &[2 * H, 4 * H]),
        // 3 hours ago, failed.
        deploy("d2", Failed, NOW - 3 * H, &[]),
        // 10 days ago: lead 1 day.
        deploy("d3", Succeeded, NOW - 10 * D, &[D]),
        // 20 days ago: lead 3 h; rolled back by d5 the day after.
        deploy("d4", Succeeded, NOW - 20 * D, &[3 * H]),
        with_rollback_of(deploy("d5", Succeeded, NOW - 19 * D, &[H / 2]), "d4"),
        // Not a DORA environment.
        with_environment(deploy("s1", Failed, NOW - H, &[]), "staging"),
        // i1: 2 h to restore, caused by d1 (arrives after d1).
        incident("i1", NOW - 2 * D + H, None, Some("d1")),
        incident("i1", NOW - 2 * D + H, Some(NOW - 2 * D + 3 * H), Some("d1")),
        // i2: still open, no cause, no artifact. The latest deploy within
        // 24 h before it opened is d2, which failed (never ran): unattributed.
        incident("i2", NOW - H, None, None),
    ];
    for e in &events {
        let o = s.fold(e, NOW);
        assert!(matches!(o, Outcome::Accepted | Outcome::Ignored), "{o:?}");
    }
    s
}

#[test]
fn hand_checked_scenario_gives_exact_counts_ratios_and_quantiles() {
    let s = scenario(FailedDeploys::Ignore);
    let r = s.report(NOW);
    assert_eq!(r.series.len(), 1, "staging is ignored: {:?}", r.series);
    let k = &r.series[0];
    assert_eq!(
        (k.service, k.team, k.environment),
        ("checkout", "payments", "production")
    );
    assert!(k.has_deploys);

    let [d1, d7, d30] = [&k.windows[0], &k.windows[1], &k.windows[2]];
    // 1d: d2 only, which failed: an attempt, not a deployment, and (with
    // failed_deploys = "ignore") not assessed for change failure.
    assert_eq!(d1.attempts, [0, 0, 1]);
    assert_eq!((d1.deployments, d1.assessed, d1.failed), (0, 0, [0, 0]));
    assert_eq!(d1.change_failure_ratio(Attribution::Strict), None);
    assert_eq!(d1.lead_time, None);
    assert_eq!(d1.time_to_restore, None);
    assert_eq!(d1.recovery, None);
    assert_eq!((d1.rework, d1.rework_ratio()), (0, None));
    // i2 opened an hour ago; the only deploy within 24 h before it is d2,
    // which never ran: no rule links it.
    assert_eq!(d1.unattributed, 1);
    // 7d: d1 (failed through i1) and d2.
    assert_eq!(d7.attempts, [1, 0, 1]);
    assert_eq!((d7.deployments, d7.assessed, d7.failed), (1, 1, [1, 1]));
    assert_eq!(d7.change_failure_ratio(Attribution::Strict), Some(1.0));
    let lt7 = d7.lead_time.as_ref().unwrap();
    assert_eq!(lt7.count, 2);
    assert_eq!(lt7.sum_seconds, 6.0 * 3600.0);
    assert_quantile(lt7.values[0].1, 2 * H);
    assert_quantile(lt7.values[1].1, 4 * H);
    assert_quantile(lt7.values[2].1, 4 * H);
    let ttr7 = d7.time_to_restore.as_ref().unwrap();
    assert_eq!(ttr7.count, 1);
    assert_quantile(ttr7.values[0].1, 2 * H);
    // Recovery of d1: no later succeeded deploy (d2 failed); i1 resolved
    // 3 h after d1 finished (opened +1 h, restored in 2 h).
    let rec7 = d7.recovery.as_ref().unwrap();
    assert_eq!(rec7.count, 1);
    assert_quantile(rec7.values[0].1, 3 * H);
    assert_eq!(d7.unattributed, 1);
    // 30d: deployments d1, d3, d4, d5; failed d1 (incident), d4 (rolled back
    // by d5): 2 / 4.
    assert_eq!(d30.attempts, [4, 0, 1]);
    assert_eq!((d30.deployments, d30.assessed, d30.failed), (4, 4, [2, 2]));
    assert_eq!(d30.change_failure_ratio(Attribution::Strict), Some(0.5));
    // Rework: d5, a rollback. 1 / 4.
    assert_eq!((d30.rework, d30.rework_ratio()), (1, Some(0.25)));
    // Recovery: d1 3 h, d4 1 day (d5, the next succeeded deploy, is not a
    // failure). [3 h, 1 d]: ranks ceil(1.0) = 1, ceil(1.8) = 2, ceil(1.9) = 2.
    let rec30 = d30.recovery.as_ref().unwrap();
    assert_eq!(
        (rec30.count, rec30.sum_seconds),
        (2, (3 * H + D) as f64 / 1000.0)
    );
    assert_quantile(rec30.values[0].1, 3 * H);
    assert_quantile(rec30.values[1].1, D);
    assert_quantile(rec30.values[2].1, D);
    assert!(k.has_opened_incidents);
    assert_eq!(d30.unattributed, 1);
    // Lead samples: 30 m, 2 h, 3 h, 4 h, 24 h (d4 reached production, so its
    // change counts).
    let lt30 = d30.lead_time.as_ref().unwrap();
    assert_eq!(lt30.count, 5);
    assert_quantile(lt30.values[0].1, 3 * H); // rank ceil(2.5) = 3
    assert_quantile(lt30.values[1].1, D); // rank ceil(4.5) = 5
    assert_quantile(lt30.values[2].1, D);

    assert_eq!(k.incidents_open, Some(1));
    assert_eq!(
        k.tiers,
        vec![
            (TierMetric::DeploymentFrequency, Tier::Medium), // 4/30 per day < 1/7
            (TierMetric::LeadTime, Tier::Elite),             // median 3 h
            (TierMetric::ChangeFailureRate, Tier::Low),      // 0.5
            (TierMetric::TimeToRestore, Tier::High),         // median 2 h
        ]
    );
}

#[test]
fn failed_deploys_as_change_failures_are_assessed_but_never_deployments() {
    let s = scenario(FailedDeploys::ChangeFailure);
    let r = s.report(NOW);
    let k = &r.series[0];
    let [d1, d7, d30] = [&k.windows[0], &k.windows[1], &k.windows[2]];
    // d2 failed: a change failure, in the denominator too; still no
    // deployment, so frequency and lead time are as with "ignore".
    assert_eq!((d1.deployments, d1.assessed, d1.failed), (0, 1, [1, 1]));
    assert_eq!(d1.change_failure_ratio(Attribution::Strict), Some(1.0));
    // d2 failed 3 h ago and nothing succeeded since: no recovery sample.
    assert_eq!(d1.recovery, None);
    assert_eq!((d7.deployments, d7.assessed, d7.failed), (1, 2, [2, 2]));
    // 30d: d1, d2 and d4 are failures among 5 assessed deploys.
    assert_eq!((d30.deployments, d30.assessed, d30.failed), (4, 5, [3, 3]));
    assert_eq!(d30.change_failure_ratio(Attribution::Strict), Some(0.6));
    assert_eq!((d30.rework, d30.rework_ratio()), (1, Some(0.25)));
    assert_eq!(d30.lead_time.as_ref().unwrap().count, 5);
    assert_eq!(
        k.tiers,
        vec![
            (TierMetric::DeploymentFrequency, Tier::Medium), // 4/30 per day
            (TierMetric::LeadTime, Tier::Elite),
            (TierMetric::ChangeFailureRate, Tier::Low), // 0.6
            (TierMetric::TimeToRestore, Tier::High),
        ]
    );
}

#[test]
fn late_rollback_turns_an_earlier_deploy_into_a_failure_in_every_window() {
    use DeployStatus::*;
    let mut s = DoraState::new(settings());
    s.fold(&deploy("a", Succeeded, NOW - 2 * H, &[]), NOW);
    let before = s.report(NOW);
    assert_eq!(before.series[0].windows[0].failed, [0, 0]);
    s.fold(
        &with_rollback_of(deploy("b", Succeeded, NOW - H, &[]), "a"),
        NOW,
    );
    let after = s.report(NOW);
    for w in &after.series[0].windows {
        assert_eq!((w.deployments, w.failed), (2, [1, 1]));
    }
}

#[test]
fn a_repeat_with_a_later_finish_is_a_duplicate_and_the_first_finish_stands_in_any_order() {
    use DeployStatus::Succeeded;
    let early = deploy("k", Succeeded, NOW - 30 * H, &[]);
    let late = deploy("k", Succeeded, NOW - 2 * H, &[]);
    // In order: the repeat changes nothing, so the deploy stays outside the
    // last day.
    let mut a = DoraState::new(settings());
    assert_eq!(a.fold(&early, NOW), Outcome::Accepted);
    assert_eq!(a.fold(&late, NOW), Outcome::Duplicate);
    // Out of order: the earlier finish replaces the later one.
    let mut b = DoraState::new(settings());
    assert_eq!(b.fold(&late, NOW), Outcome::Accepted);
    assert_eq!(b.fold(&early, NOW), Outcome::Updated);
    for s in [a, b] {
        let w = &s.report(NOW).series[0].windows;
        assert_eq!(w[0].deployments, 0, "1d: finished 30 h ago");
        assert_eq!(w[1].deployments, 1, "7d");
    }
    // Anything else changed (here the status, at a later time) is an update.
    let mut c = DoraState::new(settings());
    c.fold(&early, NOW);
    assert_eq!(
        c.fold(&deploy("k", DeployStatus::Failed, NOW - 2 * H, &[]), NOW),
        Outcome::Updated
    );
}

#[test]
fn redelivery_is_a_duplicate_and_changed_content_is_an_update() {
    use DeployStatus::*;
    let mut s = DoraState::new(settings());
    let e = deploy("a", Succeeded, NOW - H, &[]);
    assert_eq!(s.fold(&e, NOW), Outcome::Accepted);
    assert_eq!(s.fold(&e.clone(), NOW), Outcome::Duplicate);
    assert_eq!(
        s.fold(&deploy("a", RolledBack, NOW - H, &[]), NOW),
        Outcome::Updated
    );
    let r = s.report(NOW);
    assert_eq!(
        (
            r.series[0].windows[0].deployments,
            r.series[0].windows[0].failed
        ),
        (1, [1, 1])
    );

    let i = incident("i", NOW - H, None, None);
    assert_eq!(s.fold(&i, NOW), Outcome::Accepted);
    assert_eq!(s.fold(&i, NOW), Outcome::Duplicate);
    assert_eq!(
        s.fold(&incident("i", NOW - H, Some(NOW), None), NOW),
        Outcome::Accepted
    );
    assert_eq!(s.report(NOW).series[0].incidents_open, Some(0));
}

#[test]
fn late_and_future_events_are_rejected_at_the_horizon_and_the_skew() {
    use DeployStatus::*;
    let mut s = DoraState::new(settings());
    let horizon = NOW - 30 * D - H;
    assert_eq!(
        s.fold(&deploy("late", Succeeded, horizon - 1, &[]), NOW),
        Outcome::Late
    );
    assert_eq!(
        s.fold(&deploy("edge", Succeeded, horizon, &[]), NOW),
        Outcome::Accepted
    );
    assert_eq!(
        s.fold(&deploy("future", Succeeded, NOW + 5 * 60_000 + 1, &[]), NOW),
        Outcome::Future
    );
    assert_eq!(
        s.fold(&deploy("skewed", Succeeded, NOW + 5 * 60_000, &[]), NOW),
        Outcome::Accepted
    );
    // "edge" is retained but outside the 30d window: only "skewed" counts.
    let r = s.report(NOW);
    assert_eq!(
        r.series[0]
            .windows
            .iter()
            .map(|w| w.deployments)
            .collect::<Vec<_>>(),
        [1, 1, 1]
    );
}

#[test]
fn window_edges_hold_an_event_exactly_at_now_minus_width() {
    use DeployStatus::*;
    let mut s = DoraState::new(settings());
    s.fold(&deploy("at7d", Succeeded, NOW - 7 * D, &[]), NOW);
    s.fold(&deploy("before7d", Succeeded, NOW - 7 * D - 1, &[]), NOW);
    let r = s.report(NOW);
    let counts: Vec<u64> = r.series[0].windows.iter().map(|w| w.deployments).collect();
    assert_eq!(counts, [0, 1, 2]);
    // An empty window still exports a zero count, but no ratio.
    assert_eq!(
        r.series[0].windows[0].change_failure_ratio(Attribution::Strict),
        None
    );
    assert_eq!(r.series[0].windows[0].rework_ratio(), None);
}

#[test]
fn state_forgets_events_once_they_leave_the_horizon() {
    let mut s = scenario(FailedDeploys::Ignore);
    let later = NOW + 31 * D;
    s.prune(later);
    assert_eq!(s.deploy_count(), 0);
    assert!(s.report(later).series.is_empty());
}

#[test]
fn services_beyond_the_cap_fold_into_other() {
    let mut st = settings();
    st.max_services = 1;
    let mut s = DoraState::new(st);
    let mut other = deploy("x", DeployStatus::Succeeded, NOW - H, &[]);
    if let Event::Deploy(d) = &mut other {
        d.service = Cow::Borrowed("search");
    }
    s.fold(&deploy("a", DeployStatus::Succeeded, NOW - H, &[]), NOW);
    s.fold(&other, NOW);
    let r = s.report(NOW);
    let names: Vec<&str> = r.series.iter().map(|k| k.service).collect();
    assert_eq!(names, ["__other__", "checkout"]);
    assert_eq!(r.service_overflow, 1);
}

#[test]
fn first_ships_take_the_earliest_non_failed_deploy_of_each_feature() {
    use DeployStatus::*;
    let mut s = DoraState::new(settings());
    let with = |mut e: Event<'static>, f: &'static [&'static str]| {
        if let Event::Deploy(d) = &mut e {
            d.features = f.iter().map(|x| Cow::Borrowed(*x)).collect();
        }
        e
    };
    s.fold(&with(deploy("a", Failed, NOW - 5 * D, &[]), &["x"]), NOW);
    s.fold(
        &with(deploy("b", Succeeded, NOW - 4 * D, &[]), &["x", "y"]),
        NOW,
    );
    s.fold(
        &with(deploy("c", RolledBack, NOW - 6 * D, &[]), &["y"]),
        NOW,
    );
    s.fold(
        &with(
            with_environment(deploy("d", Succeeded, NOW - 9 * D, &[]), "staging"),
            &["x"],
        ),
        NOW,
    );
    let ships = s.first_ships();
    assert_eq!(ships.len(), 2);
    assert_eq!((ships[0].feature, ships[0].at), ("x", NOW - 4 * D));
    assert_eq!(
        (ships[1].feature, ships[1].at, ships[1].service),
        ("y", NOW - 6 * D, "checkout")
    );
}
