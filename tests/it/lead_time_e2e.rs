//! Lead time and deployment frequency as DORA defines them, end to end
//! through a real Kafka broker and a real scrape: a change counts once, at
//! the first deployment that lists it, and a deploy that never reached
//! production is not a deployment. The same scrape must come back after a
//! SIGKILL and a replay.
//!
//! Each case lives in its own service so one topic pair holds them all. The
//! expected figures in `expected()` were worked out by hand from `dataset()`
//! (see the comments there), not from the code under test. Event times stay
//! at least an hour from every window edge.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::common::events::{self, DeployExt, Event};
use crate::common::{
    self, Daemon, assert_scrape, create_topics, normalize, parse, produce, unique,
};
use time::OffsetDateTime;
use valuepulse::ingest::decode::DeployV1;

const M: i64 = 60;
const H: i64 = 3600;
const D: i64 = 86_400;

/// A production deploy of `service` (team "t") finished at `now + finished`,
/// listing `(commit id, committed at now + offset)`.
fn deploy(
    now: i64,
    id: &str,
    service: &str,
    status: &str,
    finished: i64,
    changes: &[(&str, i64)],
) -> DeployV1<'static> {
    events::deploy(now, id, service, "t", status, finished).with_changes(now, changes)
}

/// Deploy records in publish order.
fn dataset(now: i64) -> Vec<(String, String)> {
    let mut out = vec![
        // cumul: the cumulative changelog, the later deploy published first.
        // d2 (-2h) lists c1 (-15h) and c2 (-3h); d1 (-5h) lists c1.
        deploy(
            now,
            "d2",
            "cumul",
            "succeeded",
            -2 * H,
            &[("c1", -15 * H), ("c2", -3 * H)],
        )
        .record(),
        deploy(now, "d1", "cumul", "succeeded", -5 * H, &[("c1", -15 * H)]).record(),
        // redeploy: the same version twice.
        deploy(
            now,
            "r1",
            "redeploy",
            "succeeded",
            -6 * H,
            &[("a1", -8 * H), ("a2", -7 * H)],
        )
        .record(),
        deploy(
            now,
            "r2",
            "redeploy",
            "succeeded",
            -H,
            &[("a1", -8 * H), ("a2", -7 * H)],
        )
        .record(),
        // rollfwd: f1 ships b1 b2, f2 rolls it back, f3 rolls forward with
        // b1 b2 and a fix b3.
        deploy(
            now,
            "f1",
            "rollfwd",
            "succeeded",
            -10 * H,
            &[("b1", -12 * H), ("b2", -11 * H)],
        )
        .record(),
        deploy(now, "f2", "rollfwd", "succeeded", -9 * H, &[])
            .with_rollback_of("f1")
            .record(),
        deploy(
            now,
            "f3",
            "rollfwd",
            "succeeded",
            -5 * H,
            &[("b1", -12 * H), ("b2", -11 * H), ("b3", -6 * H)],
        )
        .record(),
        // staged: s1 goes to staging (ignored), then to production.
        deploy(
            now,
            "stg",
            "staged",
            "succeeded",
            -10 * H,
            &[("s1", -20 * H)],
        )
        .with_env("staging")
        .record(),
        deploy(
            now,
            "prd",
            "staged",
            "succeeded",
            -4 * H,
            &[("s1", -20 * H)],
        )
        .record(),
        // pipeline: one deployment two days ago (p1 committed a day before
        // it), and ten failed runs in the last two hours, the first of which
        // lists p2 (never shipped).
        deploy(
            now,
            "ok",
            "pipeline",
            "succeeded",
            -2 * D,
            &[("p1", -3 * D)],
        )
        .record(),
    ];
    for i in 0..10 {
        let changes: &[(&str, i64)] = if i == 0 { &[("p2", -3 * H)] } else { &[] };
        out.push(
            deploy(
                now,
                &format!("fail{i}"),
                "pipeline",
                "failed",
                -H - i * 10 * M,
                changes,
            )
            .record(),
        );
    }
    out
}

fn expected() -> (BTreeMap<String, f64>, BTreeMap<String, f64>) {
    let mut exact = BTreeMap::new();
    let mut quantiles = BTreeMap::new();
    let key = |svc: &str| format!(r#"environment="production",service="{svc}",team="t""#);
    let lt = "valuepulse_lead_time_seconds";
    // (service, window, samples sorted ascending)
    let windows = ["1d", "7d", "30d"];
    let mut lead = |svc: &str, per_window: [&[i64]; 3]| {
        for (w, samples) in windows.iter().zip(per_window) {
            if samples.is_empty() {
                continue;
            }
            let k = key(svc);
            let n = samples.len();
            for (q, qv) in [(0.5, "0.5"), (0.9, "0.9"), (0.95, "0.95")] {
                // Nearest rank: the ceil(q n)-th smallest sample.
                let rank = ((q * n as f64).ceil() as usize).max(1);
                quantiles.insert(
                    format!(r#"{lt}{{{k},quantile="{qv}",window="{w}"}}"#),
                    samples[rank - 1] as f64,
                );
            }
            exact.insert(format!(r#"{lt}_count{{{k},window="{w}"}}"#), n as f64);
            exact.insert(
                format!(r#"{lt}_sum{{{k},window="{w}"}}"#),
                samples.iter().sum::<i64>() as f64,
            );
        }
    };
    // cumul: c1 at d1 (-15h -> -5h) = 10h, c2 at d2 = 1h: [1h, 10h], not
    // [1h, 10h, 13h]. Median rank ceil(1) = 1 -> 1h; p90 ceil(1.8) = 2 -> 10h.
    let s: &[i64] = &[H, 10 * H];
    lead("cumul", [s, s, s]);
    // redeploy: a1 2h, a2 1h at r1; r2 adds nothing.
    let s: &[i64] = &[H, 2 * H];
    lead("redeploy", [s, s, s]);
    // rollfwd: b1 2h, b2 1h at f1 (it reached production before its
    // rollback); b3 1h at f3. Sorted [1h, 1h, 2h]: ranks 2, 3, 3.
    let s: &[i64] = &[H, H, 2 * H];
    lead("rollfwd", [s, s, s]);
    // staged: s1 reached production at prd: 16h (staging is not tracked).
    let s: &[i64] = &[16 * H];
    lead("staged", [s, s, s]);
    // pipeline: p1 1d at ok (2 days ago: not in 1d); p2 never shipped.
    let s: &[i64] = &[D];
    lead("pipeline", [&[], s, s]);

    // (service, per window [succeeded, rolled_back, failed] attempts)
    for (svc, attempts) in [
        ("cumul", [[2, 0, 0]; 3]),
        ("redeploy", [[2, 0, 0]; 3]),
        ("rollfwd", [[3, 0, 0]; 3]),
        ("staged", [[1, 0, 0]; 3]),
        ("pipeline", [[0, 0, 10], [1, 0, 10], [1, 0, 10]]),
    ] {
        for (w, a) in windows.iter().zip(attempts) {
            let k = key(svc);
            exact.insert(
                format!(r#"valuepulse_deployments{{{k},window="{w}"}}"#),
                f64::from(a[0] + a[1]),
            );
            for (status, n) in ["succeeded", "rolled_back", "failed"].iter().zip(a) {
                exact.insert(
                    format!(r#"valuepulse_deploy_attempts{{{k},status="{status}",window="{w}"}}"#),
                    f64::from(n),
                );
            }
        }
    }
    // Tiers on 30d. Frequency: deployments / 30 days — cumul and redeploy
    // 2/30, rollfwd 3/30, staged and pipeline 1/30: all medium (>= 1/30,
    // < 1/7). Counting pipeline's ten failed runs would make it 11/30: high.
    // Lead time medians: 1h, 1h, 1h, 16h elite (< 1 day); pipeline 1d high.
    for (svc, freq, lead) in [
        ("cumul", 2, 4),
        ("redeploy", 2, 4),
        ("rollfwd", 2, 4),
        ("staged", 2, 4),
        ("pipeline", 2, 3),
    ] {
        for (metric, t) in [("deployment_frequency", freq), ("lead_time", lead)] {
            exact.insert(
                format!(
                    r#"valuepulse_dora_tier{{{},metric="{metric}",window="30d"}}"#,
                    key(svc)
                ),
                f64::from(t),
            );
        }
    }
    let norm = |m: BTreeMap<String, f64>| m.into_iter().map(|(k, v)| (normalize(&k), v)).collect();
    (norm(exact), norm(quantiles))
}

fn owned(series: &str) -> bool {
    [
        "valuepulse_lead_time_seconds",
        "valuepulse_deployments{",
        "valuepulse_deploy_attempts{",
    ]
    .iter()
    .any(|m| series.starts_with(m))
        || (series.starts_with("valuepulse_dora_tier{")
            && (series.contains(r#"metric="deployment_frequency""#)
                || series.contains(r#"metric="lead_time""#)))
}

#[test]
fn a_change_counts_once_and_only_deployments_count_live_and_after_sigkill_replay() {
    let _isolation = common::shared();
    let (deploys, incidents, usage) = (unique("deploys"), unique("incidents"), unique("usage"));
    create_topics(&[(&deploys, 3), (&incidents, 1), (&usage, 1)]);
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let env = [
        ("VALUEPULSE__TOPICS__DEPLOYS", deploys.as_str()),
        ("VALUEPULSE__TOPICS__INCIDENTS", incidents.as_str()),
        ("VALUEPULSE__TOPICS__FEATURE_USAGE", usage.as_str()),
    ];
    let mut daemon = Daemon::start(&env);
    daemon.wait_ready(Duration::from_secs(60));
    let records = dataset(now);
    produce(&deploys, &records);

    // Live: every record counted (one staging deploy is ignored).
    let live = common::scrape_after(&daemon, records.len(), Duration::from_secs(60));
    let (exact, quantiles) = expected();
    assert_scrape(&live, &exact, &quantiles, owned);

    // SIGKILL and replay: the same figures, series for series.
    daemon.kill9();
    daemon.restart();
    daemon.wait_ready(Duration::from_secs(60));
    let replayed = parse(&daemon.scrape());
    assert_scrape(&replayed, &exact, &quantiles, owned);
    let differs: Vec<&String> = live
        .keys()
        .filter(|k| owned(k) && live.get(*k) != replayed.get(*k))
        .collect();
    assert!(differs.is_empty(), "differs after replay: {differs:?}");
}
