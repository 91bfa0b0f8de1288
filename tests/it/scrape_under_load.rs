//! A scrape never stalls ingest, and ingest never stalls a scrape: while a
//! daemon replays a large usage topic, `/metrics` is fetched back to back
//! and by several clients at once. Every scrape must answer promptly, and
//! between two successive report snapshots the fold counter must have moved
//! on (ingest kept folding while reports were computed and served).

#![allow(clippy::print_stdout, reason = "the test prints the figures it checks")]

use std::time::{Duration, Instant};

use crate::common::events::{self, Event};
use crate::common::{self, Daemon, create_topics, normalize, parse, produce_many, unique};

const EVENTS: usize = 1_500_000;

fn value(scrape: &std::collections::BTreeMap<String, f64>, series: &str) -> f64 {
    scrape.get(&normalize(series)).copied().unwrap_or(0.0)
}

#[test]
fn scrapes_during_heavy_replay_return_promptly_and_ingest_keeps_folding() {
    let _isolation = common::exclusive();
    let (deploys, incidents, usage) = (unique("deploys"), unique("incidents"), unique("usage"));
    create_topics(&[(&deploys, 1), (&incidents, 1), (&usage, 4)]);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let records: Vec<(String, String)> = (0..EVENTS)
        .map(|i| {
            let user = format!("u-{}", i % 50_000);
            let at = -((i as i64 * 7919) % (20 * 86_400)) - 60;
            events::usage(now, &format!("f-{}", i % 40), &user, at).record()
        })
        .collect();
    produce_many(&usage, &records);

    let daemon = Daemon::start(&[
        ("VALUEPULSE__TOPICS__DEPLOYS", deploys.as_str()),
        ("VALUEPULSE__TOPICS__INCIDENTS", incidents.as_str()),
        ("VALUEPULSE__TOPICS__FEATURE_USAGE", usage.as_str()),
    ]);
    // Listening first (the server binds before any Kafka call).
    while daemon.get("/livez").is_none() {
        std::thread::sleep(Duration::from_millis(20));
    }
    let events = format!(r#"valuepulse_events_total{{outcome="accepted",topic="{usage}"}}"#);
    let started = Instant::now();
    // (report timestamp, accepted events) of each distinct snapshot seen.
    let mut snapshots: Vec<(f64, f64)> = Vec::new();
    let mut slowest = Duration::ZERO;
    let mut scrapes = 0;
    loop {
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "replay did not finish: {snapshots:?}"
        );
        // Four clients at once, as several Prometheus servers would.
        let t = Instant::now();
        let bodies: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4).map(|_| s.spawn(|| daemon.scrape())).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let took = t.elapsed();
        scrapes += 4;
        // The very first scrape waits for the first report.
        if scrapes > 4 {
            slowest = slowest.max(took);
        }
        let scrape = parse(&bodies[0]);
        let at = value(&scrape, "valuepulse_report_timestamp_seconds");
        let accepted = value(&scrape, &events);
        if snapshots.last().is_none_or(|(t, _)| *t != at) {
            snapshots.push((at, accepted));
        }
        if accepted as usize == EVENTS && value(&scrape, "valuepulse_ready") == 1.0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    println!(
        "{EVENTS} events replayed in {:.1?}; {scrapes} scrapes, slowest round of 4 concurrent \
         {slowest:?}; snapshots (timestamp, accepted): {snapshots:?}",
        started.elapsed()
    );
    assert!(
        slowest < Duration::from_secs(1),
        "a scrape took {slowest:?} during replay"
    );
    // Every snapshot taken while the replay was under way saw more events
    // folded than the one before: ingest never waited for a report.
    let during: Vec<&(f64, f64)> = snapshots
        .iter()
        .filter(|(_, n)| *n > 0.0 && (*n as usize) < EVENTS)
        .collect();
    for pair in during.windows(2) {
        assert!(
            pair[1].1 > pair[0].1,
            "fold counter stalled between snapshots: {snapshots:?}"
        );
    }
}
