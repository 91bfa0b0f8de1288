//! End to end through a real Kafka broker and a real scrape: a hand-computed
//! DORA dataset, the restart-by-replay guarantee and the promtool lint.
//!
//! The expected figures in `expected()` were worked out by hand from the
//! events in `dataset()` (see the comments there), not from the code under
//! test. Event times are offsets from the test's start and stay at least an
//! hour away from every window edge, so the few seconds a test takes cannot
//! move an event across an edge.

// The event builders take every field positionally so the dataset reads as a table.
#![allow(clippy::too_many_arguments)]

use std::collections::BTreeMap;
use std::time::Duration;

use crate::common::events::{self, DeployExt, Event, IncidentExt};
use crate::common::{
    self, Daemon, assert_scrape, create_topics, normalize, parse, produce, promtool_check_metrics,
    unique,
};
use time::OffsetDateTime;
use valuepulse::ingest::decode::DeployV1;

const M: i64 = 60;
const H: i64 = 3600;
const D: i64 = 86_400;

/// A deploy of version 1.0.0 in `env`, one change per lead time.
fn deploy(
    now: i64,
    id: &str,
    service: &str,
    team: &str,
    env: &str,
    status: &str,
    finished: i64,
    leads: &[i64],
) -> DeployV1<'static> {
    events::deploy(now, id, service, team, status, finished)
        .with_env(env)
        .with_version("1.0.0")
        .with_leads(leads)
}

fn incident(
    now: i64,
    id: &str,
    service: &str,
    team: &str,
    env: &str,
    opened: i64,
    resolved: Option<i64>,
    cause: Option<&str>,
) -> String {
    events::incident(now, id, service, team, opened, resolved)
        .with_env(env)
        .with_cause(cause)
        .json()
}

/// (deploy records, incident records), each `(key, payload)`, in publish order.
/// `(key, payload)` records in publish order.
type Records = Vec<(String, String)>;

fn dataset(now: i64) -> (Records, Records) {
    let p = "production";
    let d = |id: &str, svc: &str, team: &str, status: &str, t: i64, leads: &[i64]| {
        (
            svc.to_owned(),
            deploy(now, id, svc, team, p, status, t, leads).json(),
        )
    };
    let c3 = d("c3", "checkout", "payments", "succeeded", -10 * D, &[5 * H]);
    let deploys = vec![
        // checkout / payments
        d(
            "c1",
            "checkout",
            "payments",
            "succeeded",
            -2 * D,
            &[H, 3 * H],
        ), // failure via incident i1
        d("c2", "checkout", "payments", "failed", -5 * D, &[2 * H]),
        c3.clone(),
        c3, // identical redelivery: duplicate
        d("c4", "checkout", "payments", "succeeded", -12 * D, &[4 * H]), // first version ...
        d(
            "c4",
            "checkout",
            "payments",
            "rolled_back",
            -12 * D,
            &[4 * H],
        ), // ... updated: rolled back
        d("c5", "checkout", "payments", "succeeded", -20 * D, &[D]), // rolled back later by c6
        (
            "checkout".into(),
            deploy(
                now,
                "c6",
                "checkout",
                "payments",
                p,
                "succeeded",
                -19 * D,
                &[30 * M],
            )
            .with_rollback_of("c5")
            .json(),
        ),
        // cart / payments
        d("k1", "cart", "payments", "succeeded", -3 * D, &[6 * H]),
        d("k2", "cart", "payments", "succeeded", -8 * D, &[2 * D]),
        d("k3", "cart", "payments", "succeeded", -25 * D, &[12 * H]),
        // search / discovery
        d("s1", "search", "discovery", "succeeded", -4 * D, &[20 * M]),
        d("s2", "search", "discovery", "failed", -6 * D, &[]),
        d(
            "s3",
            "search",
            "discovery",
            "succeeded",
            -6 * D + 2 * H,
            &[40 * M],
        ),
        d(
            "s5",
            "search",
            "discovery",
            "succeeded",
            -9 * D - 2 * H,
            &[3 * H],
        ), // failure via i5
        // staging: valid, ignored
        (
            "search".into(),
            deploy(
                now,
                "s4",
                "search",
                "discovery",
                "staging",
                "failed",
                -D,
                &[],
            )
            .json(),
        ),
        // invalid JSON, late (beyond 30d + 1h grace), future (beyond 5m skew)
        (
            "checkout".into(),
            r#"{"id": "broken", "service": "#.to_owned(),
        ),
        d("late", "checkout", "payments", "succeeded", -40 * D, &[H]),
        d("future", "checkout", "payments", "succeeded", H, &[H]),
    ];
    let i =
        |id: &str, svc: &str, team: &str, env: &str, o: i64, r: Option<i64>, c: Option<&str>| {
            (svc.to_owned(), incident(now, id, svc, team, env, o, r, c))
        };
    let incidents = vec![
        i(
            "i1",
            "checkout",
            "payments",
            p,
            -2 * D + H,
            None,
            Some("c1"),
        ),
        i(
            "i1",
            "checkout",
            "payments",
            p,
            -2 * D + H,
            Some(-2 * D + 3 * H),
            Some("c1"),
        ), // TTR 2h
        i("i2", "checkout", "payments", p, -15 * D, None, None),
        i(
            "i2",
            "checkout",
            "payments",
            p,
            -15 * D,
            Some(-15 * D + 30 * M),
            None,
        ), // TTR 30m
        i("i3", "cart", "payments", p, -6 * H, None, None), // still open
        i("i4", "search", "discovery", "staging", -D, None, None), // ignored
        i("i5", "search", "discovery", p, -9 * D, None, Some("s5")),
        i(
            "i5",
            "search",
            "discovery",
            p,
            -9 * D,
            Some(-8 * D),
            Some("s5"),
        ), // TTR 1d
    ];
    (deploys, incidents)
}

/// Every DORA series expected, worked out by hand. `quantiles` entries are
/// checked within the histogram precision, the rest exactly.
fn expected(
    deploys_topic: &str,
    incidents_topic: &str,
) -> (BTreeMap<String, f64>, BTreeMap<String, f64>) {
    let mut exact = BTreeMap::new();
    let mut quantiles = BTreeMap::new();
    let key = |svc: &str, team: &str| {
        format!(r#"environment="production",service="{svc}",team="{team}""#)
    };
    // Change failures per attribution mode. In this dataset loose equals
    // strict: the incidents without caused_by_deploy (i2, i3) have no deploy
    // of their service within 24 h before they opened (i2 opened 15 days ago,
    // checkout deployed 12 and 19 days ago; i3 opened 6 h ago, cart's last
    // deploy is 3 days old), so no rule links them: they are unattributed.
    //
    // A failed deploy never reached production: it is a deploy attempt, not
    // a deployment, and with the default dora.failed_deploys = "ignore" it is
    // not assessed for change failure either (assessed = deployments).
    // `attempts` is [succeeded, rolled_back, failed].
    let mut series = |svc: &str,
                      team: &str,
                      w: &str,
                      attempts: [u64; 3],
                      failed: u64,
                      rework: u64| {
        let k = key(svc, team);
        let deploys = attempts[0] + attempts[1];
        exact.insert(
            format!(r#"valuepulse_deployments{{{k},window="{w}"}}"#),
            deploys as f64,
        );
        exact.insert(
            format!(r#"valuepulse_deployments_assessed{{{k},window="{w}"}}"#),
            deploys as f64,
        );
        for (status, n) in ["succeeded", "rolled_back", "failed"].iter().zip(attempts) {
            exact.insert(
                format!(r#"valuepulse_deploy_attempts{{{k},window="{w}",status="{status}"}}"#),
                n as f64,
            );
        }
        exact.insert(
            format!(r#"valuepulse_deployments_rework{{{k},window="{w}"}}"#),
            rework as f64,
        );
        for mode in ["strict", "loose"] {
            exact.insert(
                format!(
                    r#"valuepulse_deployments_failed{{{k},window="{w}",attribution="{mode}"}}"#
                ),
                failed as f64,
            );
            if deploys > 0 {
                exact.insert(
                    format!(
                        r#"valuepulse_change_failure_ratio{{{k},window="{w}",attribution="{mode}"}}"#
                    ),
                    failed as f64 / deploys as f64,
                );
            }
        }
        if deploys > 0 {
            exact.insert(
                format!(r#"valuepulse_deployment_rework_ratio{{{k},window="{w}"}}"#),
                rework as f64 / deploys as f64,
            );
        }
    };
    // checkout: 7d c1 (failed via i1) and c2 (status failed: no deployment);
    // 30d deployments c1, c3, c4, c5, c6; failed c1 (i1), c4 (rolled_back),
    // c5 (rollback_of). Rework: c6, a rollback (30d only).
    series("checkout", "payments", "1d", [0, 0, 0], 0, 0);
    series("checkout", "payments", "7d", [1, 0, 1], 1, 0);
    series("checkout", "payments", "30d", [4, 1, 1], 3, 1);
    // cart: 7d k1; 30d k1..k3; no failures, no rework.
    series("cart", "payments", "1d", [0, 0, 0], 0, 0);
    series("cart", "payments", "7d", [1, 0, 0], 0, 0);
    series("cart", "payments", "30d", [3, 0, 0], 0, 0);
    // search: 7d s1, s3 (s2 failed: no deployment); 30d + s5 (failed via
    // i5). No rework.
    series("search", "discovery", "1d", [0, 0, 0], 0, 0);
    series("search", "discovery", "7d", [2, 0, 1], 0, 0);
    series("search", "discovery", "30d", [3, 0, 1], 1, 0);

    // Incidents opened in the window that no rule links (exported per key with
    // an incident opened in the longest window, zeros included): checkout i2
    // (opened 15 days ago), cart i3 (6 h ago). i1 and i5 are explicit; i4 is
    // staging, ignored.
    for (svc, team, counts) in [
        ("checkout", "payments", [0, 0, 1]),
        ("cart", "payments", [1, 1, 1]),
        ("search", "discovery", [0, 0, 0]),
    ] {
        for (w, n) in ["1d", "7d", "30d"].iter().zip(counts) {
            exact.insert(
                format!(
                    r#"valuepulse_incidents_unattributed{{{},window="{w}"}}"#,
                    key(svc, team)
                ),
                f64::from(n),
            );
        }
    }

    let mut summary =
        |metric: &str, svc: &str, team: &str, w: &str, q: [i64; 3], count: u64, sum: i64| {
            let k = key(svc, team);
            for (qv, v) in ["0.5", "0.9", "0.95"].iter().zip(q) {
                quantiles.insert(
                    format!(r#"{metric}{{{k},quantile="{qv}",window="{w}"}}"#),
                    v as f64,
                );
            }
            exact.insert(
                format!(r#"{metric}_count{{{k},window="{w}"}}"#),
                count as f64,
            );
            exact.insert(format!(r#"{metric}_sum{{{k},window="{w}"}}"#), sum as f64);
        };
    let lt = "valuepulse_lead_time_seconds";
    let ttr = "valuepulse_time_to_restore_seconds";
    // checkout lead, deployments only (succeeded or rolled_back; each change
    // id is listed once). 7d: c1 [1h, 3h]. Ranks: ceil(.5*2)=1, ceil(.9*2)=2.
    summary(
        lt,
        "checkout",
        "payments",
        "7d",
        [H, 3 * H, 3 * H],
        2,
        4 * H,
    );
    // 30d: c1 1h,3h; c3 5h; c4 4h (rolled back, but it reached production);
    // c5 1d; c6 30m -> [30m,1h,3h,4h,5h,1d]; ranks ceil(3)=3, ceil(5.4)=6,
    // ceil(5.7)=6. c2 failed: its change never shipped.
    summary(
        lt,
        "checkout",
        "payments",
        "30d",
        [3 * H, D, D],
        6,
        30 * M + H + 3 * H + 4 * H + 5 * H + D,
    );
    // checkout restore. 7d: i1 2h. 30d: [30m, 2h]; ranks 1, 2, 2.
    summary(
        ttr,
        "checkout",
        "payments",
        "7d",
        [2 * H, 2 * H, 2 * H],
        1,
        2 * H,
    );
    summary(
        ttr,
        "checkout",
        "payments",
        "30d",
        [30 * M, 2 * H, 2 * H],
        2,
        2 * H + 30 * M,
    );
    // cart lead. 7d: [6h]. 30d: [6h, 12h, 2d]; ranks 2, 3, 3.
    summary(
        lt,
        "cart",
        "payments",
        "7d",
        [6 * H, 6 * H, 6 * H],
        1,
        6 * H,
    );
    summary(
        lt,
        "cart",
        "payments",
        "30d",
        [12 * H, 2 * D, 2 * D],
        3,
        6 * H + 12 * H + 2 * D,
    );
    // search lead. 7d: [20m, 40m]; ranks 1, 2. 30d: [20m, 40m, 3h]; ranks 2, 3, 3.
    summary(
        lt,
        "search",
        "discovery",
        "7d",
        [20 * M, 40 * M, 40 * M],
        2,
        60 * M,
    );
    summary(
        lt,
        "search",
        "discovery",
        "30d",
        [40 * M, 3 * H, 3 * H],
        3,
        60 * M + 3 * H,
    );
    // search restore: i5 resolved 8 days ago, so 30d only.
    summary(ttr, "search", "discovery", "30d", [D, D, D], 1, D);

    // Failed deployment recovery, per (strict) change failure, windowed by
    // the failed deploy's finished_at: up to the next succeeded, non-failed
    // deploy of the service, or the first resolution of an incident linked
    // to it, whichever is first.
    let rec = "valuepulse_failed_deployment_recovery_seconds";
    // checkout, by finished_at: c5 -20d, c6 -19d, c4 -12d, c3 -10d, c2 -5d, c1 -2d.
    //   c5 -> c6 (a succeeded rollback, itself no failure): 1d.
    //   c4 -> c3: 2d.
    //   c2 failed: with dora.failed_deploys = "ignore" not a change failure.
    //   c1 -> no later deploy; i1 resolved at -2d+3h: 3h.
    // 7d: c1 [3h]. 30d: [3h, 1d, 2d]; ranks ceil(1.5)=2, ceil(2.7)=3, ceil(2.85)=3.
    summary(
        rec,
        "checkout",
        "payments",
        "7d",
        [3 * H, 3 * H, 3 * H],
        1,
        3 * H,
    );
    summary(
        rec,
        "checkout",
        "payments",
        "30d",
        [D, 2 * D, 2 * D],
        3,
        3 * H + D + 2 * D,
    );
    // search, by finished_at: s5 -9d-2h, s2 -6d, s3 -6d+2h, s1 -4d.
    //   s5 -> next success s3 at +3d4h, but i5 (linked to s5) resolved at -8d,
    //         1d2h after s5 finished: 26h (the resolution is first).
    //   s2 failed: not a change failure ("ignore"), no sample.
    // 7d: none. 30d: [26h].
    summary(
        rec,
        "search",
        "discovery",
        "30d",
        [26 * H, 26 * H, 26 * H],
        1,
        26 * H,
    );
    // cart: no change failures, no series.

    exact.insert(
        format!(
            r"valuepulse_incidents_open{{{}}}",
            key("checkout", "payments")
        ),
        0.0,
    );
    exact.insert(
        format!(r"valuepulse_incidents_open{{{}}}", key("cart", "payments")),
        1.0,
    );
    exact.insert(
        format!(
            r"valuepulse_incidents_open{{{}}}",
            key("search", "discovery")
        ),
        0.0,
    );

    let mut tier = |svc: &str, team: &str, metric: &str, t: u8| {
        exact.insert(
            format!(
                r#"valuepulse_dora_tier{{{},metric="{metric}",window="30d"}}"#,
                key(svc, team)
            ),
            f64::from(t),
        );
    };
    // checkout: 5/30 per day >= 1/7 high; lead median 3h elite; CFR (strict) 3/5 low; TTR median 30m elite.
    tier("checkout", "payments", "deployment_frequency", 3);
    tier("checkout", "payments", "lead_time", 4);
    tier("checkout", "payments", "change_failure_rate", 1);
    tier("checkout", "payments", "time_to_restore", 4);
    // cart: 3/30 = 0.1 per day medium; lead median 12h elite; CFR 0 elite; no restores.
    tier("cart", "payments", "deployment_frequency", 2);
    tier("cart", "payments", "lead_time", 4);
    tier("cart", "payments", "change_failure_rate", 4);
    // search: 3/30 medium; lead median 40m elite; CFR 1/3 low; TTR median 1d (not < 1d) medium.
    tier("search", "discovery", "deployment_frequency", 2);
    tier("search", "discovery", "lead_time", 4);
    tier("search", "discovery", "change_failure_rate", 1);
    tier("search", "discovery", "time_to_restore", 2);

    // 19 deploy records: accepted c1 c2 c3 c4 c5 c6 k1 k2 k3 s1 s2 s3 s5 (13), updated c4,
    // duplicate c3, ignored s4, invalid, late, future.
    let events = |topic: &str, outcome: &str| {
        format!(r#"valuepulse_events_total{{outcome="{outcome}",topic="{topic}"}}"#)
    };
    for (o, n) in [
        ("accepted", 13),
        ("updated", 1),
        ("duplicate", 1),
        ("ignored", 1),
        ("invalid", 1),
        ("late", 1),
        ("future", 1),
        ("oversized", 0),
    ] {
        exact.insert(events(deploys_topic, o), f64::from(n));
    }
    // 8 incident records: 7 accepted, i4 (staging) ignored.
    for (o, n) in [
        ("accepted", 7),
        ("updated", 0),
        ("duplicate", 0),
        ("ignored", 1),
        ("invalid", 0),
        ("late", 0),
        ("future", 0),
    ] {
        exact.insert(events(incidents_topic, o), f64::from(n));
    }
    exact.insert(
        format!(
            r#"valuepulse_events_invalid_total{{reason="malformed_json",topic="{deploys_topic}"}}"#
        ),
        1.0,
    );
    exact.insert("valuepulse_ready".into(), 1.0);
    let norm = |m: BTreeMap<String, f64>| m.into_iter().map(|(k, v)| (normalize(&k), v)).collect();
    (norm(exact), norm(quantiles))
}

const DORA_METRICS: &[&str] = &[
    "valuepulse_deployments{",
    "valuepulse_deploy_attempts{",
    "valuepulse_deployments_assessed{",
    "valuepulse_deployments_failed{",
    "valuepulse_change_failure_ratio{",
    "valuepulse_deployments_rework{",
    "valuepulse_deployment_rework_ratio{",
    "valuepulse_lead_time_seconds",
    "valuepulse_time_to_restore_seconds",
    "valuepulse_failed_deployment_recovery_seconds",
    "valuepulse_incidents_open{",
    "valuepulse_incidents_unattributed{",
    "valuepulse_dora_tier{",
];

/// Checks a scrape against the hand-computed answer: every expected value,
/// and no DORA series that was not expected.
fn assert_matches_expected(
    scrape: &BTreeMap<String, f64>,
    deploys_topic: &str,
    incidents_topic: &str,
) {
    let (exact, quantiles) = expected(deploys_topic, incidents_topic);
    assert_scrape(scrape, &exact, &quantiles, |k| {
        DORA_METRICS.iter().any(|m| k.starts_with(m))
    });
}

/// Environment naming the test's topics (the usage topic stays empty, but
/// the daemon needs it to become ready).
fn topics_env<'a>(
    deploys: &'a str,
    incidents: &'a str,
    usage: &'a str,
) -> [(&'static str, &'a str); 3] {
    [
        ("VALUEPULSE__TOPICS__DEPLOYS", deploys),
        ("VALUEPULSE__TOPICS__INCIDENTS", incidents),
        ("VALUEPULSE__TOPICS__FEATURE_USAGE", usage),
    ]
}

fn publish_dataset(deploys: &str, incidents: &str, now: i64) {
    let (d, i) = dataset(now);
    produce(deploys, &d);
    // Incidents only after their deploys: the link must work in this order.
    produce(incidents, &i);
}

#[test]
fn hand_computed_dataset_through_real_kafka_scrapes_exactly_and_survives_sigkill() {
    let _isolation = common::shared();
    let (deploys, incidents, usage) = (unique("deploys"), unique("incidents"), unique("usage"));
    create_topics(&[(&deploys, 3), (&incidents, 2), (&usage, 1)]);
    let now = OffsetDateTime::now_utc().unix_timestamp();

    // Start first (live path), then publish.
    let mut daemon = Daemon::start(&topics_env(&deploys, &incidents, &usage));
    daemon.wait_ready(Duration::from_secs(60));
    publish_dataset(&deploys, &incidents, now);

    // Live ingest: poll until every record is counted, then compare.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let total = |m: &BTreeMap<String, f64>| -> f64 {
        m.iter()
            .filter(|(k, _)| k.starts_with("valuepulse_events_total{"))
            .map(|(_, v)| v)
            .sum()
    };
    let (d, i) = dataset(now);
    let records = (d.len() + i.len()) as f64;
    let mut before = parse(&daemon.scrape());
    while total(&before) < records && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        before = parse(&daemon.scrape());
    }
    assert_matches_expected(&before, &deploys, &incidents);

    // The lint on a real scrape.
    let text = daemon.scrape();
    let lint = promtool_check_metrics(&text);
    assert!(
        lint.trim().is_empty(),
        "promtool check metrics reported:\n{lint}"
    );

    // SIGKILL, start again on the same topics: replay rebuilds the same scrape.
    daemon.kill9();
    daemon.restart();
    daemon.wait_ready(Duration::from_secs(60));
    let after = parse(&daemon.scrape());
    let diff: Vec<String> = before
        .keys()
        .chain(after.keys())
        .filter(|k| !common::process_specific(k) && before.get(*k) != after.get(*k))
        .map(|k| format!("{k}: before {:?}, after {:?}", before.get(k), after.get(k)))
        .collect();
    assert!(
        diff.is_empty(),
        "scrape differs after restart:\n{}",
        diff.join("\n")
    );
    assert_matches_expected(&after, &deploys, &incidents);

    let status = daemon
        .terminate(Duration::from_secs(10))
        .expect("exits within 10 s of SIGTERM");
    assert!(status.success(), "exit status {status}");
}

#[test]
fn replay_alone_rebuilds_state_when_the_daemon_starts_after_the_events() {
    let _isolation = common::shared();
    let (deploys, incidents, usage) = (unique("deploys"), unique("incidents"), unique("usage"));
    create_topics(&[(&deploys, 2), (&incidents, 1), (&usage, 2)]);
    let now = OffsetDateTime::now_utc().unix_timestamp();
    publish_dataset(&deploys, &incidents, now);
    let daemon = Daemon::start(&topics_env(&deploys, &incidents, &usage));
    daemon.wait_ready(Duration::from_secs(60));
    assert_matches_expected(&parse(&daemon.scrape()), &deploys, &incidents);
}
