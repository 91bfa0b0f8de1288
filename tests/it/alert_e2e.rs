//! The change-failure alert really fires: real Kafka, the daemon, and a real
//! Prometheus server (Debian's `prometheus`) on loopback, loaded with the
//! repository's recording and alert rules. Only the test's copy of the rules
//! is changed: every `for:` becomes 5s, and scrape/evaluation run every
//! second, so the test takes seconds instead of half an hour.

use std::time::{Duration, Instant};

use crate::common::events::{self, Event};
use crate::common::prometheus::Prometheus;
use crate::common::{self, Daemon, create_topics, http_get, produce, unique};
use time::OffsetDateTime;

const H: i64 = 3600;
const D: i64 = 86_400;

/// A production deploy of `service` by team `t-<service>`.
fn deploy(now: i64, id: &str, service: &str, status: &str, finished: i64) -> (String, String) {
    events::deploy(now, id, service, &format!("t-{service}"), status, finished).record()
}

/// 40 deploys over days 8–30 (2 of them rolled back) and 4 in the last week, all
/// succeeded: a 30d ratio of 0.045 and a 7d ratio of 0.
fn healthy_history(now: i64, service: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for i in 0..40 {
        let status = if i % 20 == 7 {
            "rolled_back"
        } else {
            "succeeded"
        };
        out.push(deploy(
            now,
            &format!("{service}-h{i}"),
            service,
            status,
            -8 * D - i * 12 * H,
        ));
    }
    for i in 0..4 {
        out.push(deploy(
            now,
            &format!("{service}-w{i}"),
            service,
            "succeeded",
            -D - i * D,
        ));
    }
    out
}

/// The repository's rules, every `for:` shortened to 5 s, and a scrape of
/// `target` every second.
fn start_prometheus(target: &str) -> Prometheus {
    let dir = Prometheus::dir();
    let repo = env!("CARGO_MANIFEST_DIR");
    let mut rule_files = Vec::new();
    for name in ["dora.rules.yml", "alerts.rules.yml"] {
        let text = std::fs::read_to_string(format!("{repo}/deploy/prometheus/{name}")).unwrap();
        let shortened: String = text
            .lines()
            .map(|l| match l.trim_start().strip_prefix("for: ") {
                Some(_) => format!("{}for: 5s", &l[..l.len() - l.trim_start().len()]),
                None => l.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("\n");
        let path = dir.join(name);
        std::fs::write(&path, shortened).unwrap();
        rule_files.push(path);
    }
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n{}\nscrape_configs:\n  - job_name: valuepulse\n    static_configs:\n      - targets: ['{target}']\n",
        rule_files
            .iter()
            .map(|p| format!("  - {}\n", p.display()))
            .collect::<String>()
    );
    Prometheus::start(dir, &config)
}

/// `(service, state)` of every `ValuepulseChangeFailureRateDegraded` alert.
fn cfr_alerts(p: &Prometheus) -> Vec<(String, String)> {
    let Some((200, _, body)) = http_get(&p.addr, "/api/v1/alerts", &[]) else {
        return Vec::new();
    };
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    v["data"]["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["labels"]["alertname"] == "ValuepulseChangeFailureRateDegraded")
        .map(|a| {
            (
                a["labels"]["service"].as_str().unwrap_or("").to_owned(),
                a["state"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

/// Polls until `cond` holds on the CFR alerts, or panics with the last answer.
fn wait_for(p: &Prometheus, what: &str, cond: impl Fn(&[(String, String)]) -> bool) {
    let start = Instant::now();
    let mut last = Vec::new();
    while start.elapsed() < Duration::from_secs(90) {
        last = cfr_alerts(p);
        if cond(&last) {
            return;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!("Prometheus never reported {what}; last CFR alerts: {last:?}");
}

fn firing(alerts: &[(String, String)], service: &str) -> bool {
    alerts.iter().any(|(s, st)| s == service && st == "firing")
}

#[test]
fn change_failure_alert_fires_for_the_degraded_service_only_and_resolves_after_recovery() {
    let _isolation = common::shared();
    let (deploys, incidents, usage) = (unique("deploys"), unique("incidents"), unique("usage"));
    create_topics(&[(&deploys, 2), (&incidents, 1), (&usage, 1)]);
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let mut history = healthy_history(now, "checkout");
    history.extend(healthy_history(now, "search"));
    produce(&deploys, &history);

    let daemon = Daemon::start(&[
        ("VALUEPULSE__TOPICS__DEPLOYS", &deploys),
        ("VALUEPULSE__TOPICS__INCIDENTS", &incidents),
        ("VALUEPULSE__TOPICS__FEATURE_USAGE", &usage),
    ]);
    daemon.wait_ready(Duration::from_secs(60));
    let prometheus = start_prometheus(&daemon.addr);

    // Healthy: both services evaluated, no CFR alert at all.
    std::thread::sleep(Duration::from_secs(8));
    let alerts = cfr_alerts(&prometheus);
    assert!(alerts.is_empty(), "no CFR alert while healthy: {alerts:?}");

    // A burst of 6 rolled-back checkout deploys in the last hours: 7d ratio 6/10,
    // 30d ratio 8/50, at least 5 deploys in 7d.
    let burst: Vec<(String, String)> = (0..6)
        .map(|i| {
            deploy(
                now,
                &format!("checkout-b{i}"),
                "checkout",
                "rolled_back",
                -3 * H + i * 600,
            )
        })
        .collect();
    produce(&deploys, &burst);
    wait_for(&prometheus, "checkout firing", |a| firing(a, "checkout"));
    let alerts = cfr_alerts(&prometheus);
    assert!(
        !alerts.iter().any(|(s, _)| s == "search"),
        "search is healthy: {alerts:?}"
    );

    // Recovery: 40 succeeded deploys bring the 7d ratio to 6/50 = 0.12.
    let recovery: Vec<(String, String)> = (0..40)
        .map(|i| {
            deploy(
                now,
                &format!("checkout-r{i}"),
                "checkout",
                "succeeded",
                -2 * H + i * 60,
            )
        })
        .collect();
    produce(&deploys, &recovery);
    wait_for(
        &prometheus,
        "checkout resolved",
        <[(std::string::String, std::string::String)]>::is_empty,
    );
}
