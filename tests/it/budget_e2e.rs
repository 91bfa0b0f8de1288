//! The state budget while nobody scrapes (issue 22): the loops that own
//! state measure it as they fold, never the reporter, so a daemon nobody
//! has scraped for longer than the reporter's idle time
//! ([`IDLE_AFTER`]) still refuses usage once DORA state alone has filled
//! the budget.

use std::time::{Duration, Instant};

use crate::common::events::{self, DeployExt, Event};
use crate::common::{self, Daemon, create_topics, parse, produce, unique};
use valuepulse::telemetry::snapshot::IDLE_AFTER;

fn series(daemon: &Daemon, name: &str) -> f64 {
    parse(&daemon.scrape())
        .into_iter()
        .filter(|(k, _)| k == name || k.starts_with(&format!("{name}{{")))
        .map(|(_, v)| v)
        .sum()
}

fn refused(daemon: &Daemon, usage: &str) -> f64 {
    parse(&daemon.scrape())
        .get(&format!(
            "valuepulse_events_total{{outcome=\"over_budget\",topic=\"{usage}\"}}"
        ))
        .copied()
        .unwrap_or(0.0)
}

#[test]
fn the_budget_is_enforced_while_nobody_scrapes() {
    let _isolation = common::shared();
    let (deploys, incidents, usage) = (
        unique("bu-deploys"),
        unique("bu-incidents"),
        unique("bu-usage"),
    );
    create_topics(&[(&deploys, 1), (&incidents, 1), (&usage, 1)]);
    let daemon = Daemon::start(&[
        ("VALUEPULSE__TOPICS__DEPLOYS", &deploys),
        ("VALUEPULSE__TOPICS__INCIDENTS", &incidents),
        ("VALUEPULSE__TOPICS__FEATURE_USAGE", &usage),
        ("VALUEPULSE__LIMITS__MAX_STATE_BYTES", "256KiB"),
    ]);
    daemon.wait_ready(Duration::from_secs(60));
    // Under the budget at the start (the last scrape for a while).
    assert_eq!(series(&daemon, "valuepulse_state_budget_level"), 0.0);

    // Nobody scrapes: the reporter goes idle.
    std::thread::sleep(IDLE_AFTER + Duration::from_secs(5));
    // State grows past the budget: 4,000 deploys, each with 3 changes.
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let records: Vec<_> = (0..4_000_i64)
        .map(|i| {
            let id = format!("d{i}");
            let changes: Vec<(String, i64)> = (0..3)
                .map(|c| (format!("{id}-c{c}"), -3_600 - i - c))
                .collect();
            let changes: Vec<(&str, i64)> =
                changes.iter().map(|(c, at)| (c.as_str(), *at)).collect();
            events::deploy(now, &id, "checkout", "payments", "succeeded", -i)
                .with_changes(now, &changes)
                .record()
        })
        .collect();
    produce(&deploys, &records);
    // The small-topics loop measures at most a second after folding.
    std::thread::sleep(Duration::from_secs(5));
    let used: Vec<_> = (0..10)
        .map(|u| events::usage(now, "one-click", &format!("u{u}"), -60).record())
        .collect();
    produce(&usage, &used);
    std::thread::sleep(Duration::from_secs(5));

    // The first scrape since: every usage record was refused over budget.
    let deadline = Instant::now() + Duration::from_secs(30);
    while refused(&daemon, &usage) < 10.0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(refused(&daemon, &usage), 10.0, "{}", daemon.scrape());
    assert_eq!(series(&daemon, "valuepulse_state_budget_level"), 2.0);
    assert!(series(&daemon, "valuepulse_state_bytes") >= 256.0 * 1024.0);
}
