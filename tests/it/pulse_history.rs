//! Distinct users of both weeks from Prometheus (`pulse.prometheus_url`),
//! end to end: a real Prometheus server (Debian's) whose storage is
//! backfilled with `promtool tsdb create-blocks-from openmetrics` from
//! series this test writes, as the daemon's replicas would have been
//! scraped a week ago, and which scrapes the daemon now; a real broker and
//! daemon; `/pulse?format=json`.
//!
//! Dataset: deploy d1 (checkout/payments, −1 d) ships `one-click` and
//! `saved-cards`; `one-click` is used by u1, u2, u3 this week and
//! `saved-cards` by u1. The backfilled history has, around −7 d,
//! `valuepulse_feature_users{feature="one-click",window="7d"}` from two
//! replicas (3 and 2: 5 distinct users last week) and a `30d` series of the
//! same feature (100, which the query must not read); nothing for
//! `saved-cards`. Worked out by hand:
//! - this week, as Prometheus scraped it: one-click 3, saved-cards 1.
//! - saved-cards gained 1 user (no figure for last week, so it ranks by its
//!   users and says there is no comparison), one-click 3 − 5 = −2: so
//!   saved-cards first, then "one-click: 3 distinct users this week (last
//!   week 5, from Prometheus)".
//! - With a Prometheus that cannot be reached, the same item says so and
//!   carries no previous figure.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use crate::common::events::{self, DeployExt, Event};
use crate::common::prometheus::{self, Prometheus};
use crate::common::{self, Daemon, create_topics, free_port, produce, scrape_after, unique};
use valuepulse::pulse::history::THIS_WEEK_USERS;
use valuepulse::pulse::model::{Comparison, Item, Pulse};

const H: i64 = 3600;
const D: i64 = 24 * H;

/// OpenMetrics text: each series sampled every minute from an hour before
/// `at` to an hour after it.
fn history(at: i64, series: &[(&str, f64)]) -> String {
    let mut text = String::from("# TYPE valuepulse_feature_users gauge\n");
    for (labels, value) in series {
        for t in (at - H..=at + H).step_by(60) {
            let _ = writeln!(text, "valuepulse_feature_users{{{labels}}} {value} {t}");
        }
    }
    text.push_str("# EOF\n");
    text
}

fn gaining(daemon: &Daemon) -> Vec<Item> {
    let (status, _, body) = daemon.get("/pulse?format=json&team=payments").unwrap();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let p: Pulse = serde_json::from_slice(&body).unwrap();
    p.created
        .items
        .into_iter()
        .filter(|i| i.kind == "feature_gaining_users")
        .collect()
}

#[test]
fn last_weeks_distinct_users_come_from_a_backfilled_prometheus_and_nowhere_else() {
    let _isolation = common::shared();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();

    let dir = Prometheus::dir();
    let one_click = "feature=\"one-click\",service=\"checkout\",team=\"payments\"";
    prometheus::backfill(
        &dir,
        &history(
            now - 7 * D,
            &[
                (&format!("{one_click},window=\"7d\",instance=\"vp-0\""), 3.0),
                (&format!("{one_click},window=\"7d\",instance=\"vp-1\""), 2.0),
                (
                    &format!("{one_click},window=\"30d\",instance=\"vp-0\""),
                    100.0,
                ),
            ],
        ),
    );
    let (deploys, incidents, usage) = (
        unique("ph-deploys"),
        unique("ph-incidents"),
        unique("ph-usage"),
    );
    create_topics(&[(&deploys, 1), (&incidents, 1), (&usage, 1)]);
    produce(
        &deploys,
        &[
            events::deploy(now, "d1", "checkout", "payments", "succeeded", -D)
                .with_features(&["one-click", "saved-cards"])
                .record(),
        ],
    );
    produce(
        &usage,
        &[
            events::usage(now, "one-click", "u1", -12 * H).record(),
            events::usage(now, "one-click", "u2", -6 * H).record(),
            events::usage(now, "one-click", "u3", -3 * H).record(),
            events::usage(now, "saved-cards", "u1", -2 * H).record(),
        ],
    );
    let topics = [
        ("VALUEPULSE__TOPICS__DEPLOYS", deploys.as_str()),
        ("VALUEPULSE__TOPICS__INCIDENTS", incidents.as_str()),
        ("VALUEPULSE__TOPICS__FEATURE_USAGE", usage.as_str()),
    ];
    let start = |prometheus_url: &str| {
        let mut env = topics.to_vec();
        env.push(("VALUEPULSE__PULSE__PROMETHEUS_URL", prometheus_url));
        let daemon = Daemon::start(&env);
        daemon.wait_ready(Duration::from_secs(60));
        scrape_after(&daemon, 5, Duration::from_secs(30));
        daemon
    };

    // The daemon knows Prometheus' address before Prometheus knows the
    // daemon's.
    let prometheus_addr = format!("127.0.0.1:{}", free_port());
    let daemon = start(&format!("http://{prometheus_addr}"));
    let server = Prometheus::start_on(
        dir,
        &format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: valuepulse\n    static_configs:\n      - targets: ['{}']\n",
            daemon.addr
        ),
        prometheus_addr,
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while server.query(THIS_WEEK_USERS).len() < 2 {
        assert!(
            Instant::now() < deadline,
            "Prometheus did not scrape both features within 60 s: {:?}",
            server.query(THIS_WEEK_USERS)
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let items = gaining(&daemon);
    let got: Vec<_> = items
        .iter()
        .map(|i| (i.text.as_str(), i.value, i.previous, i.comparison))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "saved-cards: 1 distinct users this week (no comparison: Prometheus has no figure for last week)",
                Some(1.0),
                None,
                Comparison::None
            ),
            (
                "one-click: 3 distinct users this week (last week 5, from Prometheus)",
                Some(3.0),
                Some(5.0),
                Comparison::Prometheus
            ),
        ]
    );
    drop((daemon, server));

    // Prometheus down: no comparison, and the reason.
    let unreachable = format!("http://127.0.0.1:{}", free_port());
    let daemon = start(&unreachable);
    let items = gaining(&daemon);
    let one = items
        .iter()
        .find(|i| i.subject.as_deref() == Some("one-click"))
        .unwrap();
    assert!(
        one.text.starts_with(
            "one-click: 3 distinct users this week (no comparison: cannot reach Prometheus: "
        ),
        "{one:#?}"
    );
    assert_eq!((one.previous, one.comparison), (None, Comparison::None));
}
