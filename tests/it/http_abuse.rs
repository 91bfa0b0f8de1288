//! The admin server under abuse while events flow: 200 clients scraping at
//! once, every second (a fleet of Prometheus servers scraping in step), 50
//! slowloris clients dribbling request headers, and 20 clients that request
//! `/metrics` and never read the answer. Meanwhile ingest must
//! keep its pace (the replay is timed against an undisturbed one), `/livez`
//! must answer within a second, the slow clients must be cut off by the
//! header-read timeout, and SIGTERM must still stop the daemon within the
//! grace period.
//!
//! The pace is compared loosely (a shared 2-core machine runs the daemon,
//! the broker and 270 client threads here); the tight figure is measured
//! by `benches/cap.rs` ("ingest while scraped every second") and recorded in
//! BENCHMARKS.md and RELIABILITY.md.

#![allow(clippy::print_stdout, reason = "the test prints the figures it checks")]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::common::events::{self, Event};
use crate::common::{self, Daemon, create_topics, produce_many, unique};

const EVENTS: usize = 1_000_000;

fn topics_env(t: &(String, String, String)) -> [(&'static str, &str); 3] {
    [
        ("VALUEPULSE__TOPICS__DEPLOYS", t.0.as_str()),
        ("VALUEPULSE__TOPICS__INCIDENTS", t.1.as_str()),
        ("VALUEPULSE__TOPICS__FEATURE_USAGE", t.2.as_str()),
    ]
}

/// Starts a daemon and times its replay to ready.
fn replay(t: &(String, String, String)) -> (Daemon, Duration) {
    let d = Daemon::start(&topics_env(t));
    while d.get("/livez").is_none() {
        std::thread::sleep(Duration::from_millis(10));
    }
    let started = Instant::now();
    d.wait_ready(Duration::from_secs(180));
    (d, started.elapsed())
}

#[test]
fn scrapes_slow_clients_and_stalled_readers_leave_ingest_and_probes_alone() {
    let _isolation = common::exclusive();
    let t = (unique("deploys"), unique("incidents"), unique("usage"));
    create_topics(&[(&t.0, 1), (&t.1, 1), (&t.2, 4)]);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let records: Vec<(String, String)> = (0..EVENTS)
        .map(|i| {
            let user = format!("u-{}", i % 50_000);
            let at = -((i as i64 * 7919) % (20 * 86_400)) - 60;
            events::usage(now, &format!("f-{}", i % 40), &user, at).record()
        })
        .collect();
    produce_many(&t.2, &records);

    // Undisturbed.
    let (quiet, undisturbed) = replay(&t);
    drop(quiet);

    // Disturbed: the abuse starts before the daemon does.
    let mut d = Daemon::start(&topics_env(&t));
    while d.get("/livez").is_none() {
        std::thread::sleep(Duration::from_millis(10));
    }
    let addr = d.addr.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let scrapes = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let mut threads = Vec::new();
    for _ in 0..200 {
        let (addr, stop, scrapes, failed) =
            (addr.clone(), stop.clone(), scrapes.clone(), failed.clone());
        threads.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let t0 = Instant::now();
                match common::http_get(&addr, "/metrics", &[]) {
                    Some((200, _, _)) => scrapes.fetch_add(1, Ordering::Relaxed),
                    _ => failed.fetch_add(1, Ordering::Relaxed),
                };
                std::thread::sleep(Duration::from_secs(1).saturating_sub(t0.elapsed()));
            }
        }));
    }
    // Slowloris: a byte of request head every second, never finishing.
    let cut_off = Arc::new(AtomicU64::new(0));
    for _ in 0..50 {
        let (addr, stop, cut_off) = (addr.clone(), stop.clone(), cut_off.clone());
        threads.push(std::thread::spawn(move || {
            let Ok(mut s) = TcpStream::connect(&addr) else {
                return;
            };
            for b in b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: "
                .iter()
                .cycle()
            {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                if s.write_all(&[*b]).is_err() {
                    cut_off.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        }));
    }
    // Stalled readers: ask, then never read.
    for _ in 0..20 {
        let (addr, stop) = (addr.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            let Ok(mut s) = TcpStream::connect(&addr) else {
                return;
            };
            let _ = s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
            }
            let mut one = [0u8; 1];
            let _ = s.read(&mut one);
        }));
    }
    let started = Instant::now();
    let mut slowest_livez = Duration::ZERO;
    loop {
        let t0 = Instant::now();
        let live = common::http_get(&addr, "/livez", &[]);
        slowest_livez = slowest_livez.max(t0.elapsed());
        assert!(
            matches!(live, Some((200, _, _))),
            "/livez failed under abuse: {live:?}"
        );
        if matches!(d.get("/readyz"), Some((200, _, _))) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "never ready under abuse"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let disturbed = started.elapsed();
    // Keep the abuse up past the header-read timeout (5 s).
    while started.elapsed() < Duration::from_secs(8) {
        let t0 = Instant::now();
        assert!(matches!(
            common::http_get(&addr, "/livez", &[]),
            Some((200, _, _))
        ));
        slowest_livez = slowest_livez.max(t0.elapsed());
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = d
        .terminate(Duration::from_secs(10))
        .expect("exits within 10 s of SIGTERM under abuse");
    stop.store(true, Ordering::Relaxed);
    for th in threads {
        let _ = th.join();
    }
    println!(
        "replay of {EVENTS} events: undisturbed {undisturbed:?}, under abuse {disturbed:?} \
         ({:+.1} %); {} scrapes served ({} failed); slowest /livez {slowest_livez:?}; \
         {} of 50 slowloris clients cut off",
        100.0 * (disturbed.as_secs_f64() / undisturbed.as_secs_f64() - 1.0),
        scrapes.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
        cut_off.load(Ordering::Relaxed),
    );
    assert!(status.success(), "exit status {status}");
    assert!(
        slowest_livez < Duration::from_secs(1),
        "/livez took {slowest_livez:?}"
    );
    assert!(
        scrapes.load(Ordering::Relaxed) > 200,
        "scrapes were not served"
    );
    assert_eq!(failed.load(Ordering::Relaxed), 0, "scrapes failed");
    assert!(
        cut_off.load(Ordering::Relaxed) >= 45,
        "slowloris clients were not cut off by the header-read timeout"
    );
    // Loose on purpose (see the module docs): 270 client threads share the
    // two cores with the daemon and the broker.
    assert!(
        disturbed.as_secs_f64() <= undisturbed.as_secs_f64() * 2.0 + 2.0,
        "ingest slowed from {undisturbed:?} to {disturbed:?} under abuse"
    );
}
