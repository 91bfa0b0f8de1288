//! Hand-checked datasets for "a change counts once" (lead time at the first
//! deployment that lists it) and "a deployment reached its environment"
//! (deployment frequency). Every expected figure was worked out on paper from
//! the events listed, not from the code under test.

use std::borrow::Cow;

use super::{D, H, NOW, assert_quantile, deploy, settings, with_environment, with_service};
use crate::domain::Change;
use crate::domain::dora::*;
use crate::domain::tier::{Tier, TierMetric};
use crate::domain::{DeployStatus, Event, Millis, Outcome};
use DeployStatus::{Failed, RolledBack, Succeeded};

/// A deploy of checkout to production listing `(commit id, committed_at)`.
fn deploy_listing(
    id: &'static str,
    status: DeployStatus,
    finished_at: Millis,
    changes: &[(&'static str, Millis)],
) -> Event<'static> {
    let mut e = deploy(id, status, finished_at, &[]);
    if let Event::Deploy(d) = &mut e {
        d.changes = changes
            .iter()
            .map(|&(c, at)| Change {
                id: Some(Cow::Borrowed(c)),
                committed_at: at,
            })
            .collect();
    }
    e
}

fn fold_all(settings: DoraSettings, events: &[Event<'static>]) -> DoraState {
    let mut s = DoraState::new(settings);
    for e in events {
        let o = s.fold(e, NOW);
        assert!(
            matches!(o, Outcome::Accepted | Outcome::Ignored),
            "{o:?}: {e:?}"
        );
    }
    s
}

/// Lead-time samples of the (only) production series in window `w`:
/// `(count, sum in ms)`, or `None` without samples.
fn lead(s: &DoraState, w: usize) -> Option<(u64, Millis)> {
    let r = s.report(NOW);
    let k = r
        .series
        .iter()
        .find(|k| k.environment == "production")
        .expect("a production series");
    k.windows[w]
        .lead_time
        .as_ref()
        .map(|q| (q.count, (q.sum_seconds * 1000.0).round() as Millis))
}

/// The issue's own example: a cumulative changelog. d1 (5 h ago) lists c1
/// (committed 15 h ago); d2 (2 h ago) lists c1 again and c2 (3 h ago). c1
/// counts at d1 (10 h), c2 at d2 (1 h): two samples, nearest-rank median
/// rank ceil(0.5 * 2) = 1 of [1 h, 10 h] = 1 h; p90 rank ceil(1.8) = 2 = 10 h.
fn cumulative() -> [Event<'static>; 2] {
    [
        deploy_listing("d1", Succeeded, NOW - 5 * H, &[("c1", NOW - 15 * H)]),
        deploy_listing(
            "d2",
            Succeeded,
            NOW - 2 * H,
            &[("c1", NOW - 15 * H), ("c2", NOW - 3 * H)],
        ),
    ]
}

#[test]
fn a_cumulative_changelog_counts_each_change_once_at_its_first_deployment() {
    let s = fold_all(settings(), &cumulative());
    let r = s.report(NOW);
    let q = r.series[0].windows[0].lead_time.as_ref().unwrap();
    assert_eq!((q.count, q.sum_seconds), (2, 11.0 * 3600.0));
    assert_quantile(q.values[0].1, H);
    assert_quantile(q.values[1].1, 10 * H);
    assert_quantile(q.values[2].1, 10 * H);
    // Both are deployments; the tier's median is 1 h: elite (< 1 day).
    assert_eq!(r.series[0].windows[0].deployments, 2);
    assert!(
        r.series[0]
            .tiers
            .contains(&(TierMetric::LeadTime, Tier::Elite))
    );
}

#[test]
fn the_later_deploy_read_first_gives_the_same_figures() {
    let [d1, d2] = cumulative();
    let in_order = fold_all(settings(), &[d1.clone(), d2.clone()]);
    let reversed = fold_all(settings(), &[d2.clone(), d1.clone()]);
    assert_eq!(in_order.report(NOW), reversed.report(NOW));
    // A redelivery of either changes nothing.
    let mut redelivered = fold_all(settings(), &[d2.clone(), d1.clone()]);
    assert_eq!(redelivered.fold(&d2, NOW), Outcome::Duplicate);
    assert_eq!(redelivered.fold(&d1, NOW), Outcome::Duplicate);
    assert_eq!(redelivered.report(NOW), in_order.report(NOW));
    assert_eq!(lead(&in_order, 0), Some((2, 11 * H)));
}

#[test]
fn a_redeploy_of_the_same_version_adds_no_lead_time_sample() {
    // d1 (6 h ago) ships c1 (8 h) and c2 (7 h); d2 (1 h ago) redeploys the
    // same version with the same list. Samples: 2 h and 1 h, both at d1.
    let changes = [("c1", NOW - 8 * H), ("c2", NOW - 7 * H)];
    let s = fold_all(
        settings(),
        &[
            deploy_listing("d1", Succeeded, NOW - 6 * H, &changes),
            deploy_listing("d2", Succeeded, NOW - H, &changes),
        ],
    );
    assert_eq!(lead(&s, 0), Some((2, 3 * H)));
    // d2 is still a deployment: frequency counts redeploys.
    assert_eq!(s.report(NOW).series[0].windows[0].deployments, 2);
}

#[test]
fn a_roll_forward_that_relists_rolled_back_changes_adds_only_the_new_ones() {
    // d1 (10 h ago) ships c1 (12 h) and c2 (11 h); d2 (9 h ago) rolls it
    // back, listing nothing; d3 (5 h ago) rolls forward with c1, c2 and a
    // fix c3 (6 h). c1 and c2 reached production at d1: 2 h and 1 h; c3 at
    // d3: 1 h. Three samples, sum 4 h. d1 is a change failure (rollback_of).
    let mut d2 = deploy_listing("d2", Succeeded, NOW - 9 * H, &[]);
    if let Event::Deploy(d) = &mut d2 {
        d.rollback_of = Some(Cow::Borrowed("d1"));
    }
    let s = fold_all(
        settings(),
        &[
            deploy_listing(
                "d3",
                Succeeded,
                NOW - 5 * H,
                &[
                    ("c1", NOW - 12 * H),
                    ("c2", NOW - 11 * H),
                    ("c3", NOW - 6 * H),
                ],
            ),
            deploy_listing(
                "d1",
                Succeeded,
                NOW - 10 * H,
                &[("c1", NOW - 12 * H), ("c2", NOW - 11 * H)],
            ),
            d2,
        ],
    );
    assert_eq!(lead(&s, 0), Some((3, 4 * H)));
    let w = &s.report(NOW).series[0].windows[0];
    assert_eq!((w.deployments, w.failed), (3, [1, 1]));
}

#[test]
fn a_deploy_with_status_rolled_back_reached_production_so_its_changes_count_there() {
    // d1 (10 h ago, status rolled_back) ships c1 (12 h); d2 (5 h ago)
    // re-lists c1: one sample of 2 h, at d1.
    let s = fold_all(
        settings(),
        &[
            deploy_listing("d1", RolledBack, NOW - 10 * H, &[("c1", NOW - 12 * H)]),
            deploy_listing("d2", Succeeded, NOW - 5 * H, &[("c1", NOW - 12 * H)]),
        ],
    );
    assert_eq!(lead(&s, 0), Some((1, 2 * H)));
}

#[test]
fn a_failed_deploy_never_delivered_its_changes() {
    // f (10 h ago) failed with c1 (12 h); s1 (5 h ago) succeeds with c1:
    // c1 reached production at s1, 7 h after its commit.
    let s = fold_all(
        settings(),
        &[
            deploy_listing("f", Failed, NOW - 10 * H, &[("c1", NOW - 12 * H)]),
            deploy_listing("s1", Succeeded, NOW - 5 * H, &[("c1", NOW - 12 * H)]),
        ],
    );
    assert_eq!(lead(&s, 0), Some((1, 7 * H)));
}

#[test]
fn a_change_deployed_to_staging_first_counts_at_its_production_deploy() {
    // c1 (20 h ago) went to staging 10 h ago, to production 4 h ago: 16 h.
    let events = [
        with_environment(
            deploy_listing("stg", Succeeded, NOW - 10 * H, &[("c1", NOW - 20 * H)]),
            "staging",
        ),
        deploy_listing("prd", Succeeded, NOW - 4 * H, &[("c1", NOW - 20 * H)]),
    ];
    let s = fold_all(settings(), &events);
    assert_eq!(lead(&s, 0), Some((1, 16 * H)));
    // With staging tracked too, c1 counts once per environment: 10 h in
    // staging, 16 h in production.
    let mut both = settings();
    both.environments = vec!["staging".into(), "production".into()];
    let s = fold_all(both, &events);
    let r = s.report(NOW);
    let by_env: Vec<(&str, u64, f64)> = r
        .series
        .iter()
        .map(|k| {
            let q = k.windows[0].lead_time.as_ref().unwrap();
            (k.environment, q.count, q.sum_seconds)
        })
        .collect();
    assert_eq!(
        by_env,
        [
            ("production", 1, 16.0 * 3600.0),
            ("staging", 1, 10.0 * 3600.0)
        ]
    );
}

#[test]
fn the_same_commit_in_two_services_counts_once_per_service() {
    // A monorepo commit m1 (9 h ago) ships in checkout 3 h ago and in search
    // 1 h ago: 6 h and 8 h, one sample per service.
    let s = fold_all(
        settings(),
        &[
            deploy_listing("a", Succeeded, NOW - 3 * H, &[("m1", NOW - 9 * H)]),
            with_service(
                deploy_listing("b", Succeeded, NOW - H, &[("m1", NOW - 9 * H)]),
                "search",
            ),
        ],
    );
    let r = s.report(NOW);
    let sums: Vec<(&str, f64)> = r
        .series
        .iter()
        .map(|k| {
            (
                k.service,
                k.windows[0].lead_time.as_ref().unwrap().sum_seconds,
            )
        })
        .collect();
    assert_eq!(sums, [("checkout", 6.0 * 3600.0), ("search", 8.0 * 3600.0)]);
}

#[test]
fn a_change_first_deployed_before_the_window_adds_no_sample_inside_it() {
    // c1 (4 d ago) first deployed by d1 3 days ago (1 d lead), re-listed by
    // d2 an hour ago: no sample in 1d; one sample (1 d) in 7d and 30d.
    let s = fold_all(
        settings(),
        &[
            deploy_listing("d1", Succeeded, NOW - 3 * D, &[("c1", NOW - 4 * D)]),
            deploy_listing("d2", Succeeded, NOW - H, &[("c1", NOW - 4 * D)]),
        ],
    );
    assert_eq!(lead(&s, 0), None);
    assert_eq!(lead(&s, 1), Some((1, D)));
    assert_eq!(lead(&s, 2), Some((1, D)));
}

#[test]
fn deploys_finished_at_the_same_instant_give_a_shared_change_to_the_smaller_id() {
    let s = fold_all(
        settings(),
        &[
            deploy_listing("b", Succeeded, NOW - H, &[("c1", NOW - 2 * H)]),
            deploy_listing("a", Succeeded, NOW - H, &[("c1", NOW - 2 * H)]),
        ],
    );
    assert_eq!(lead(&s, 0), Some((1, H)));
}

#[test]
fn changes_without_an_id_count_at_every_deployment_that_lists_them() {
    // No id, nothing to recognise: each listing is a sample (documented).
    let s = fold_all(
        settings(),
        &[
            deploy("a", Succeeded, NOW - 3 * H, &[H]),
            deploy("b", Succeeded, NOW - H, &[3 * H]),
        ],
    );
    assert_eq!(lead(&s, 0), Some((2, 4 * H)));
}

#[test]
fn replay_after_a_restart_gives_the_same_report() {
    let events = [
        cumulative()[1].clone(),
        deploy_listing("f", Failed, NOW - 3 * H, &[("c9", NOW - 4 * H)]),
        cumulative()[0].clone(),
    ];
    let first = fold_all(settings(), &events);
    let replayed = fold_all(settings(), &events);
    assert_eq!(first.report(NOW), replayed.report(NOW));
}

#[test]
fn deployment_frequency_counts_only_deploys_that_reached_production() {
    // Ten failed pipeline runs a day for 30 days and one succeeded deploy a
    // week (4 in 30 days, the newest 2 days ago): 4 deployments in 30 days,
    // 4/30 per day ≥ 1/30 and < 1/7: medium, not elite.
    let mut events = Vec::new();
    let ids: Vec<&'static str> = (0..300)
        .map(|n| &*Box::leak(format!("f{n}").into_boxed_str()))
        .collect();
    for (n, id) in ids.iter().enumerate() {
        events.push(deploy(id, Failed, NOW - (n as Millis) * D / 10 - H, &[]));
    }
    for (n, id) in ["s0", "s1", "s2", "s3"].into_iter().enumerate() {
        events.push(deploy(
            id,
            Succeeded,
            NOW - 2 * D - (n as Millis) * 7 * D,
            &[],
        ));
    }
    let s = fold_all(settings(), &events);
    let r = s.report(NOW);
    let k = &r.series[0];
    let w30 = &k.windows[2];
    assert_eq!(w30.attempts, [4, 0, 300]);
    assert_eq!((w30.deployments, w30.assessed, w30.failed), (4, 4, [0, 0]));
    assert!(
        k.tiers
            .contains(&(TierMetric::DeploymentFrequency, Tier::Medium)),
        "{:?}",
        k.tiers
    );
    // 1d: 10 failed runs and nothing deployed: counts exported as zeros,
    // no change failure ratio, frequency still graded on 30d.
    let w1 = &k.windows[0];
    assert_eq!(w1.attempts, [0, 0, 10]);
    assert_eq!(w1.deployments, 0);
    assert_eq!(w1.change_failure_ratio(Attribution::Strict), None);
}

#[test]
fn only_failed_deploys_in_the_window_grade_frequency_low() {
    let s = fold_all(settings(), &[deploy("f", Failed, NOW - H, &[])]);
    let r = s.report(NOW);
    let k = &r.series[0];
    assert!(k.has_deploys);
    assert_eq!(
        k.tiers,
        vec![(TierMetric::DeploymentFrequency, Tier::Low)],
        "0 deployments a day"
    );
}
