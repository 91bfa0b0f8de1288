//! Incident attribution, failed deployment recovery time and deployment
//! rework end to end: a hand-computed scenario through a real Kafka broker
//! and a real scrape, covering each attribution rule (explicit, artifact,
//! loose-only time window), an incident three days after the last deploy
//! (linked in neither mode), incidents in another tracked environment and in
//! an untracked one, recovery by the next deploy, by an incident's
//! resolution and not yet, and rework by rollback and by `fixes_incident`.
//!
//! Every expected figure in `expected()` was worked out by hand from the
//! events in `scenario()` (see the comments), not from the code under test.
//! Event times are offsets from the test's start and stay at least an hour
//! away from every window edge (1d, 7d, 30d), so the seconds the test takes
//! cannot move an event across an edge. Distances between events (the 24 h
//! attribution window) are exact.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::common::events::{self, DeployExt, Event, IncidentExt};
use crate::common::{
    self, Daemon, assert_scrape, at, create_topics, normalize, parse, produce, unique,
};
use time::OffsetDateTime;
use valuepulse::ingest::decode::{DeployV1, IncidentV1};

const H: i64 = 3600;
const D: i64 = 86_400;

/// Team of each service.
fn team(service: &str) -> &'static str {
    match service {
        "checkout" => "payments",
        "search" => "discovery",
        other => panic!("no team for {other}"),
    }
}

/// A production deploy; the caller adds artifact, `rollback_of` or
/// `fixes_incident`.
fn deploy(now: i64, id: &str, service: &str, status: &str, t: i64) -> DeployV1<'static> {
    events::deploy(now, id, service, team(service), status, t)
}

/// The opened event of an incident and, when `resolved` is given, its
/// resolved event; `cause` and `artifact` go on both.
fn incident(
    now: i64,
    id: &str,
    service: &str,
    env: &str,
    opened: i64,
    resolved: Option<i64>,
    (cause, artifact): (Option<&str>, Option<&str>),
) -> Vec<(String, String)> {
    let opened_event = events::incident(now, id, service, team(service), opened, None)
        .with_env(env)
        .with_cause(cause);
    let opened_event = IncidentV1 {
        artifact: artifact.map(|a| a.to_owned().into()),
        ..opened_event
    };
    let mut out = vec![opened_event.record()];
    if let Some(r) = resolved {
        out.push(
            IncidentV1 {
                status: "resolved".into(),
                resolved_at: Some(at(now, r).into()),
                ..opened_event
            }
            .record(),
        );
    }
    out
}

/// (deploy records, incident records), `(key, payload)` in publish order.
type Records = Vec<(String, String)>;

fn scenario(now: i64) -> (Records, Records) {
    let none = (None, None);
    let art = |a| (None, Some(a));
    let cause = |d| (Some(d), None);
    let ok = "succeeded";
    let d = |id: &str, svc: &str, status: &str, t: i64| deploy(now, id, svc, status, t);
    let deploys = vec![
        // --- checkout / payments / production
        // c1: i1 names it (explicit).
        d("c1", "checkout", ok, -20 * D)
            .with_artifact("sha256:a1")
            .record(),
        // c2: clean (i8, in the untracked dev environment, names it).
        d("c2", "checkout", ok, -18 * D)
            .with_artifact("sha256:a2")
            .record(),
        // c3: shipped a3, which i2 runs (artifact).
        d("c3", "checkout", ok, -12 * D)
            .with_artifact("sha256:a3")
            .record(),
        // c4: clean.
        d("c4", "checkout", ok, -9 * D)
            .with_artifact("sha256:a4")
            .record(),
        // c5: failed by status.
        d("c5", "checkout", "failed", -6 * D).record(),
        // c6: rolls c5 back (rework).
        d("c6", "checkout", ok, -5 * D)
            .with_rollback_of("c5")
            .record(),
        // c7: i3 opens 6 h later with nothing else to link it (loose only).
        d("c7", "checkout", ok, -3 * D)
            .with_artifact("sha256:a7")
            .record(),
        // c8: a fix for i3 (rework).
        DeployV1 {
            fixes_incident: Some("i3".into()),
            ..d("c8", "checkout", ok, -2 * D)
        }
        .record(),
        // c9: failed by status, nothing after it: never recovered.
        d("c9", "checkout", "failed", -30 * H).record(),
        // --- search / discovery / production
        // s0: failed by status; i6 names it too.
        d("s0", "search", "failed", -25 * D)
            .with_artifact("sha256:s0")
            .record(),
        d("s1", "search", ok, -24 * D + 12 * H).record(),
        // s2: the last search deploy.
        d("s2", "search", ok, -6 * D).record(),
    ];
    let mut incidents = Vec::new();
    // explicit: c1, resolved 3 h after c1 finished.
    incidents.extend(incident(
        now,
        "i1",
        "checkout",
        "production",
        -20 * D + H,
        Some(-20 * D + 3 * H),
        cause("c1"),
    ));
    // artifact: a3 was shipped by c3 only; opened two days after c3 (beyond the 24 h window).
    incidents.extend(incident(
        now,
        "i2",
        "checkout",
        "production",
        -10 * D,
        Some(-10 * D + 2 * H),
        art("sha256:a3"),
    ));
    // an artifact no deploy shipped: falls through to the window rule, c7 finished 6 h before.
    incidents.extend(incident(
        now,
        "i3",
        "checkout",
        "production",
        -3 * D + 6 * H,
        Some(-3 * D + 8 * H),
        art("sha256:unknown"),
    ));
    // search: three days after the last deploy (s2): linked in neither mode.
    incidents.extend(incident(
        now,
        "i5",
        "search",
        "production",
        -3 * D,
        Some(-3 * D + H),
        none,
    ));
    // explicit: s0, resolved 2 days after s0 finished (s1 came first).
    incidents.extend(incident(
        now,
        "i6",
        "search",
        "production",
        -25 * D + H,
        Some(-23 * D),
        cause("s0"),
    ));
    // 3 h after s2, no cause, no artifact: loose only.
    incidents.extend(incident(
        now,
        "i9",
        "search",
        "production",
        -6 * D + 3 * H,
        Some(-6 * D + 4 * H),
        none,
    ));
    // Another tracked environment: staging runs a7, which only production
    // deploys shipped. Attribution never crosses environments: unattributed.
    incidents.extend(incident(
        now,
        "i7",
        "checkout",
        "staging",
        -3 * D + 6 * H,
        None,
        art("sha256:a7"),
    ));
    // An untracked environment: ignored, so c2 does not become a failure.
    incidents.extend(incident(
        now,
        "i8",
        "checkout",
        "dev",
        -2 * D,
        None,
        cause("c2"),
    ));
    (deploys, incidents)
}

/// Expected series: `(exact, quantiles)`. Quantiles are checked within the
/// histogram precision (never below, at most 0.1 % above), the rest exactly.
fn expected() -> (BTreeMap<String, f64>, BTreeMap<String, f64>) {
    let mut exact = BTreeMap::new();
    let mut quantiles = BTreeMap::new();
    let key = |svc: &str, env: &str| {
        format!(
            r#"environment="{env}",service="{svc}",team="{}""#,
            team(svc)
        )
    };

    // (service, window, [succeeded, rolled_back, failed] deploys, strict
    // failures, loose failures, rework)
    //
    // The daemon runs with dora.failed_deploys = "change_failure": a failed
    // deploy is a change failure, assessed for the change failure rate, but
    // never a deployment (frequency, rework rate).
    //
    // checkout production, by finished_at: c1 -20d, c2 -18d, c3 -12d, c4 -9d,
    // c5 -6d, c6 -5d, c7 -3d, c8 -2d, c9 -30h.
    //   strict failures: c1 (i1, explicit), c3 (i2, artifact a3), c5 and c9 (status);
    //   loose adds c7 (i3: artifact unknown, c7 finished 6 h before it opened).
    //   rework: c6 (rollback_of c5), c8 (fixes_incident i3).
    //   1d: none. 7d: c5..c9 -> 5 assessed (c6 c7 c8 deployments, c5 c9
    //   failed), strict c5 c9 = 2, loose + c7 = 3, rework 2.
    //   30d: all 9 assessed (7 deployments), strict 4, loose 5, rework 2.
    // search production: s0 -25d (failed), s1 -23d12h, s2 -6d.
    //   strict: s0 (status, and i6); loose adds s2 (i9, 3 h after s2).
    //   7d: s2 -> 1 deploy, strict 0, loose 1. 30d: 3 assessed (s1 s2
    //   deployments), strict 1, loose 2. No rework.
    type Row<'a> = (&'a str, &'a str, [u64; 3], u64, u64, u64);
    let rows: [Row<'_>; 6] = [
        ("checkout", "1d", [0, 0, 0], 0, 0, 0),
        ("checkout", "7d", [3, 0, 2], 2, 3, 2),
        ("checkout", "30d", [7, 0, 2], 4, 5, 2),
        ("search", "1d", [0, 0, 0], 0, 0, 0),
        ("search", "7d", [1, 0, 0], 0, 1, 0),
        ("search", "30d", [2, 0, 1], 1, 2, 0),
    ];
    for (svc, w, attempts, strict, loose, rework) in rows {
        let k = key(svc, "production");
        let mut put = |name: &str, extra: &str, v: f64| {
            exact.insert(format!(r#"{name}{{{k},window="{w}"{extra}}}"#), v);
        };
        let deploys = attempts[0] + attempts[1];
        let assessed = deploys + attempts[2];
        put("valuepulse_deployments", "", deploys as f64);
        put("valuepulse_deployments_assessed", "", assessed as f64);
        for (status, n) in ["succeeded", "rolled_back", "failed"].iter().zip(attempts) {
            put(
                "valuepulse_deploy_attempts",
                &format!(r#",status="{status}""#),
                n as f64,
            );
        }
        put("valuepulse_deployments_rework", "", rework as f64);
        for (mode, failed) in [("strict", strict), ("loose", loose)] {
            let a = format!(r#",attribution="{mode}""#);
            put("valuepulse_deployments_failed", &a, failed as f64);
            if assessed > 0 {
                put(
                    "valuepulse_change_failure_ratio",
                    &a,
                    failed as f64 / assessed as f64,
                );
            }
        }
        if deploys > 0 {
            put(
                "valuepulse_deployment_rework_ratio",
                "",
                rework as f64 / deploys as f64,
            );
        }
    }
    // Spelled out, the ratios above are: checkout 7d strict 0.4, loose 0.6,
    // rework 2/3; 30d strict 4/9, loose 5/9, rework 2/7. search 7d strict 0,
    // loose 1, rework 0; 30d strict 1/3, loose 2/3, rework 0.

    // Unattributed incidents, by opened_at, per label set with an incident
    // opened in 30d:
    //   checkout production: i1, i2 (strict), i3 (loose): none -> 0, 0, 0.
    //   search production: i6 (strict), i9 (loose), i5 (-3d, neither) -> 0, 1, 1.
    //   checkout staging: i7 (-3d+6h), no staging deploy at all -> 0, 1, 1.
    //   i8 (dev) is ignored.
    for (svc, env, counts) in [
        ("checkout", "production", [0, 0, 0]),
        ("search", "production", [0, 1, 1]),
        ("checkout", "staging", [0, 1, 1]),
    ] {
        for (w, n) in ["1d", "7d", "30d"].iter().zip(counts) {
            exact.insert(
                format!(
                    r#"valuepulse_incidents_unattributed{{{},window="{w}"}}"#,
                    key(svc, env)
                ),
                f64::from(n),
            );
        }
    }

    // Failed deployment recovery, per strict failure, windowed by its finished_at:
    //   c1 -20d: next success c2 after 2d; i1 resolved after 3h -> 3h.
    //   c3 -12d: next success c4 after 3d; i2 resolved -10d+2h, 2d2h after -> 50h.
    //   c5 -6d: next success c6 (a rollback, itself no failure) after 1d -> 24h.
    //   c9 -30h: no later deploy, no incident -> no sample.
    //   (c7 fails in loose mode only: no sample.)
    //   s0 -25d: next success s1 after 1d12h = 36h; i6 resolved after 2d -> 36h.
    //   (s2 fails in loose mode only: no sample.)
    // checkout 7d: [24h]. 30d: [3h, 24h, 50h], ranks ceil(1.5)=2, ceil(2.7)=3, ceil(2.85)=3.
    // search 30d: [36h]. 1d: none anywhere.
    let rec = "valuepulse_failed_deployment_recovery_seconds";
    let mut summary = |svc: &str, w: &str, q: [i64; 3], count: u64, sum: i64| {
        let k = key(svc, "production");
        for (qv, v) in ["0.5", "0.9", "0.95"].iter().zip(q) {
            quantiles.insert(
                format!(r#"{rec}{{{k},quantile="{qv}",window="{w}"}}"#),
                v as f64,
            );
        }
        exact.insert(format!(r#"{rec}_count{{{k},window="{w}"}}"#), count as f64);
        exact.insert(format!(r#"{rec}_sum{{{k},window="{w}"}}"#), sum as f64);
    };
    summary("checkout", "7d", [24 * H, 24 * H, 24 * H], 1, 24 * H);
    summary("checkout", "30d", [24 * H, 50 * H, 50 * H], 3, 77 * H);
    summary("search", "30d", [36 * H, 36 * H, 36 * H], 1, 36 * H);

    // The change failure tier is graded on strict attribution, 30d:
    // checkout 4/9 = 0.44 and search 1/3: both low (1).
    for svc in ["checkout", "search"] {
        exact.insert(
            format!(
                r#"valuepulse_dora_tier{{{},metric="change_failure_rate",window="30d"}}"#,
                key(svc, "production")
            ),
            1.0,
        );
    }

    let norm = |m: BTreeMap<String, f64>| m.into_iter().map(|(k, v)| (normalize(&k), v)).collect();
    (norm(exact), norm(quantiles))
}

/// Families this test owns: every series of them must be expected.
const CHECKED: &[&str] = &[
    "valuepulse_deployments{",
    "valuepulse_deployments_assessed{",
    "valuepulse_deploy_attempts{",
    "valuepulse_deployments_failed{",
    "valuepulse_change_failure_ratio{",
    "valuepulse_deployments_rework{",
    "valuepulse_deployment_rework_ratio{",
    "valuepulse_failed_deployment_recovery_seconds",
    "valuepulse_incidents_unattributed{",
];

/// Whether a scraped series belongs to a family this test checks completely.
fn checked(series: &str) -> bool {
    CHECKED.iter().any(|m| series.starts_with(m))
        || (series.starts_with("valuepulse_dora_tier{")
            && series.contains(r#"metric="change_failure_rate""#))
}

fn assert_matches_expected(scrape: &BTreeMap<String, f64>) {
    let (exact, quantiles) = expected();
    assert_scrape(scrape, &exact, &quantiles, checked);
}

#[test]
fn each_attribution_rule_recovery_and_rework_scrape_exactly() {
    let _isolation = common::shared();
    let (deploys, incidents, usage) = (unique("deploys"), unique("incidents"), unique("usage"));
    create_topics(&[(&deploys, 2), (&incidents, 2), (&usage, 1)]);
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let (d, i) = scenario(now);
    produce(&deploys, &d);
    produce(&incidents, &i);

    // Started after the events: readiness means replay has folded them all.
    let daemon = Daemon::start(&[
        ("VALUEPULSE__TOPICS__DEPLOYS", deploys.as_str()),
        ("VALUEPULSE__TOPICS__INCIDENTS", incidents.as_str()),
        ("VALUEPULSE__TOPICS__FEATURE_USAGE", usage.as_str()),
        ("VALUEPULSE__DORA__ENVIRONMENTS", "production,staging"),
        ("VALUEPULSE__DORA__FAILED_DEPLOYS", "change_failure"),
    ]);
    daemon.wait_ready(Duration::from_secs(60));
    let scrape = parse(&daemon.scrape());

    // 12 deploys accepted; 14 incident records: 13 accepted, i8 (dev) ignored.
    let events = |topic: &str, outcome: &str| {
        scrape
            .get(&normalize(&format!(
                r#"valuepulse_events_total{{outcome="{outcome}",topic="{topic}"}}"#
            )))
            .copied()
    };
    assert_eq!(events(&deploys, "accepted"), Some(12.0));
    assert_eq!(events(&incidents, "accepted"), Some(13.0));
    assert_eq!(events(&incidents, "ignored"), Some(1.0));

    assert_matches_expected(&scrape);
}
