//! Hot-path benchmarks: native v1 deploy decoding, folding into DORA state,
//! and the scrape-time report. See BENCHMARKS.md for how to run and read them.
//!
//! `decode_fold/*` time the daemon's own batch fold,
//! [`fold_small_records`]: decode, one state lock per batch, one internal
//! event per record, counts added once, next offsets returned.
//!
//! Every payload is generated up front from a fixed seed, relative to a fixed
//! `NOW`, so runs are comparable. Single-threaded: elements/s is per core.

#![allow(
    clippy::print_stderr,
    reason = "setup figures go to stderr, outside criterion's timing"
)]

use std::hash::{DefaultHasher, Hash, Hasher};
use std::hint::black_box;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use valuepulse::domain::dora::{DoraSettings, DoraState};
use valuepulse::domain::flow::{FlowSettings, FlowState};
use valuepulse::domain::satisfaction::{SatisfactionSettings, SatisfactionState};
use valuepulse::domain::time::{DAY_MS, TimePolicy, Window};
use valuepulse::domain::{Event, Outcome};
use valuepulse::ingest::Stream;
use valuepulse::ingest::decode::{Headers, decode, format_time, parse_time};
use valuepulse::ingest::fold::{SmallRecord, SmallStates, fold_small_records};
use valuepulse::ingest::outcome::Counters;
use valuepulse::rng::Rng;

/// Fixed processing time (2027-01-15T08:00:00Z), as in the domain tests.
const NOW: i64 = 1_800_000_000_000;
const MIN: i64 = 60_000;
const HOUR: i64 = 3_600_000;

/// Deploy payloads per batch (one bench iteration handles all of them).
const DEPLOYS: usize = 10_000;
/// `limits.max_event_bytes` of config/default.toml.
const MAX_EVENT_BYTES: usize = 65_536;
/// Incident ids in the report state (each opened, most also resolved).
const INCIDENTS: usize = 300;

const SERVICES: [&str; 20] = [
    "checkout",
    "payments-api",
    "cart",
    "catalog",
    "search",
    "recommendations",
    "user-profile",
    "auth",
    "notifications",
    "inventory",
    "shipping",
    "pricing",
    "reviews",
    "gateway",
    "billing",
    "ledger",
    "fraud-detection",
    "media",
    "analytics-ingest",
    "admin-portal",
];
const TEAMS: [&str; 8] = [
    "payments",
    "storefront",
    "discovery",
    "identity",
    "fulfilment",
    "platform",
    "risk",
    "data",
];
const FEATURES: [&str; 10] = [
    "one-click-checkout",
    "saved-carts",
    "new-search-ranking",
    "passkeys",
    "express-shipping",
    "dynamic-pricing",
    "photo-reviews",
    "split-payments",
    "wishlist-sharing",
    "dark-mode",
];

/// Defaults of config/default.toml: 1d/7d/30d, 1h grace, 5m skew.
fn settings() -> DoraSettings {
    DoraSettings {
        windows: vec![
            Window::new("1d", DAY_MS),
            Window::new("7d", 7 * DAY_MS),
            Window::new("30d", 30 * DAY_MS),
        ]
        .into(),
        time: TimePolicy {
            longest: 30 * DAY_MS,
            grace: HOUR,
            max_clock_skew: 5 * MIN,
        },
        environments: vec!["production".into()],
        max_services: 1000,
        max_teams: 200,
        attribution_window: 24 * HOUR,
        failed_deploys: valuepulse::domain::dora::FailedDeploys::Ignore,
        bands: valuepulse::domain::tier::DoraBands::default(),
    }
}

/// RFC 3339 in UTC; a quarter of the stamps carry milliseconds.
fn rfc3339(ms: i64, rng: &mut Rng) -> String {
    let ms = if rng.below(4) == 0 {
        ms
    } else {
        ms - ms % 1000
    };
    format_time(ms)
}

/// Producer-style id whose first part is `n`, so ids are unique.
fn deploy_id(n: usize, rng: &mut Rng) -> String {
    format!("d-{:06x}-{:06x}", n, rng.below(1 << 24))
}

/// `DEPLOYS` native v1 deploy payloads, unique ids, finished in the last 20 days.
fn deploy_payloads() -> (Vec<Vec<u8>>, Vec<String>) {
    let mut rng = Rng::new(0x5EED_0001);
    let mut out = Vec::with_capacity(DEPLOYS);
    let mut ids: Vec<String> = Vec::with_capacity(DEPLOYS);
    for n in 0..DEPLOYS {
        let svc = rng.below(SERVICES.len() as u64) as usize;
        let id = deploy_id(n, &mut rng);
        let finished = NOW - rng.between(MIN, 20 * DAY_MS);
        let started = finished - rng.between(2 * MIN, 15 * MIN);
        let status = match rng.below(100) {
            0..=84 => "succeeded",
            85..=94 => "failed",
            _ => "rolled_back",
        };
        let n_changes = [1, 1, 1, 1, 1, 2, 2, 2, 3, 3][rng.below(10) as usize];
        let changes: Vec<String> = (0..n_changes)
            .map(|_| {
                let at = finished - rng.between(10 * MIN, 3 * DAY_MS);
                format!(
                    r#"{{"id":"{:07x}","committed_at":"{}"}}"#,
                    rng.below(1 << 28),
                    rfc3339(at, &mut rng)
                )
            })
            .collect();
        let features: Vec<String> = (0..rng.below(3))
            .map(|_| format!(r#""{}""#, FEATURES[rng.below(10) as usize]))
            .collect();
        let rollback_of = if n > 0 && rng.below(100) < 3 {
            format!(r#""{}""#, ids[rng.below(n as u64) as usize])
        } else {
            "null".into()
        };
        let json = format!(
            concat!(
                r#"{{"id":"{id}","service":"{svc}","team":"{team}","environment":"production","#,
                r#""status":"{status}","finished_at":"{fin}","started_at":"{start}","#,
                r#""version":"{maj}.{min}.{patch}","artifact":"sha256:{art:016x}","#,
                r#""changes":[{changes}],"features":[{features}],"rollback_of":{rb}}}"#
            ),
            id = id,
            svc = SERVICES[svc],
            team = TEAMS[svc % TEAMS.len()],
            status = status,
            fin = rfc3339(finished, &mut rng),
            start = rfc3339(started, &mut rng),
            maj = 1 + rng.below(3),
            min = rng.below(60),
            patch = rng.below(20),
            art = rng.next_u64(),
            changes = changes.join(","),
            features = features.join(","),
            rb = rollback_of,
        );
        out.push(json.into_bytes());
        ids.push(id);
    }
    (out, ids)
}

/// Incident payloads: each id opened in the last 20 days, 80 % also resolved,
/// a third attributed to a deploy.
fn incident_payloads(deploy_ids: &[String]) -> Vec<Vec<u8>> {
    let mut rng = Rng::new(0x5EED_0002);
    let mut out = Vec::new();
    for n in 0..INCIDENTS {
        let svc = rng.below(SERVICES.len() as u64) as usize;
        let id = format!("INC-{:05}", 10_000 + n);
        let opened = NOW - rng.between(HOUR, 20 * DAY_MS);
        let opened_s = rfc3339(opened, &mut rng);
        let cause = if rng.below(3) == 0 {
            format!(
                r#""{}""#,
                deploy_ids[rng.below(deploy_ids.len() as u64) as usize]
            )
        } else {
            "null".into()
        };
        let head = format!(
            r#"{{"id":"{id}","service":"{}","team":"{}","environment":"production","opened_at":"{opened_s}","caused_by_deploy":{cause}"#,
            SERVICES[svc],
            TEAMS[svc % TEAMS.len()],
        );
        out.push(format!(r#"{head},"status":"opened"}}"#).into_bytes());
        if rng.below(5) != 0 {
            let resolved = (opened + rng.between(5 * MIN, 12 * HOUR)).min(NOW);
            let resolved_s = rfc3339(resolved, &mut rng);
            out.push(
                format!(r#"{head},"status":"resolved","resolved_at":"{resolved_s}"}}"#)
                    .into_bytes(),
            );
        }
    }
    out
}

/// The payloads as records of one partition of `topic`, at offsets 0, 1, …
fn records<'a>(topic: &'a str, stream: Stream, payloads: &'a [Vec<u8>]) -> Vec<SmallRecord<'a>> {
    payloads
        .iter()
        .enumerate()
        .map(|(offset, p)| SmallRecord {
            topic,
            stream,
            partition: 0,
            offset: offset as i64,
            payload: p,
            headers: Headers::NONE,
        })
        .collect()
}

/// The small-topic states around `dora`, with empty flow and satisfaction.
fn small(dora: DoraState) -> SmallStates {
    SmallStates::new(
        dora,
        FlowState::new(FlowSettings::default()),
        SatisfactionState::new(SatisfactionSettings::default()),
    )
}

/// The DORA state out of `states` (no report holds it).
fn into_dora(states: SmallStates) -> DoraState {
    let m = Arc::try_unwrap(states.dora).ok().unwrap();
    Arc::try_unwrap(m.into_inner().unwrap()).unwrap()
}

/// Folds `records` as the small-topics loop does; the outcome counts of
/// this call.
fn fold_all(states: &SmallStates, records: &[SmallRecord<'_>]) -> [u64; Outcome::ALL.len()] {
    let counters = Counters::default();
    fold_small_records(states, records, MAX_EVENT_BYTES, NOW, &counters);
    Outcome::ALL.map(|o| counters.events(records[0].stream, o))
}

fn benches(c: &mut Criterion) {
    let (deploys, ids) = deploy_payloads();
    let incidents = incident_payloads(&ids);
    let bytes: usize = deploys.iter().map(Vec::len).sum();
    let n = deploys.len() as u64;
    let deploy_records = records("deploys", Stream::Deploys, &deploys);
    let incident_records = records("incidents", Stream::Incidents, &incidents);
    let counters = Counters::default();

    // Sanity, outside timing: every payload is valid, first folds are all
    // accepted, refolds all duplicates, so each bench measures the path it names.
    let full = small(DoraState::new(settings()));
    let first = fold_all(&full, &deploy_records);
    assert_eq!(
        first[Outcome::Accepted.index()],
        DEPLOYS as u64,
        "{first:?}"
    );
    let again = fold_all(&full, &deploy_records);
    assert_eq!(
        again[Outcome::Duplicate.index()],
        DEPLOYS as u64,
        "{again:?}"
    );
    let inc = fold_all(&full, &incident_records);
    assert_eq!(
        inc[Outcome::Accepted.index()],
        incidents.len() as u64,
        "{inc:?}"
    );
    let full = into_dora(full);
    let report = full.report(NOW);
    assert_eq!(report.series.len(), SERVICES.len());
    eprintln!(
        "payloads: {DEPLOYS} deploys, mean {} bytes (min {}, max {}); {} incident events; \
         report: {} series",
        bytes / DEPLOYS,
        deploys.iter().map(Vec::len).min().unwrap(),
        deploys.iter().map(Vec::len).max().unwrap(),
        incidents.len(),
        report.series.len(),
    );
    eprintln!("sample: {}", String::from_utf8_lossy(&deploys[1]));
    drop(report);

    let mut g = c.benchmark_group("decode_fold");
    g.throughput(Throughput::Elements(n));
    // First-time fold: a fresh, empty state per iteration (setup and drop untimed).
    g.bench_function("deploys", |b| {
        b.iter_batched(
            || small(DoraState::new(settings())),
            |state| {
                black_box(fold_small_records(
                    &state,
                    &deploy_records,
                    MAX_EVENT_BYTES,
                    NOW,
                    &counters,
                ));
                state
            },
            BatchSize::LargeInput,
        );
    });
    // Redelivery: every id is already in state with the same content.
    let full = small(full);
    g.bench_function("deploys_duplicate", |b| {
        b.iter(|| fold_small_records(&full, &deploy_records, MAX_EVENT_BYTES, NOW, &counters));
    });
    let full = into_dora(full);
    g.finish();

    let mut g = c.benchmark_group("decode_only");
    g.throughput(Throughput::Elements(n));
    g.bench_function("deploys", |b| {
        b.iter(|| {
            for p in &deploys {
                black_box(decode(Stream::Deploys, p, &Headers::NONE).unwrap());
            }
        });
    });
    g.finish();

    let mut g = c.benchmark_group("baseline");
    g.throughput(Throughput::Elements(n));
    g.bench_function("serde_json_value", |b| {
        b.iter(|| {
            for p in &deploys {
                black_box(serde_json::from_slice::<serde_json::Value>(p).unwrap());
            }
        });
    });
    g.finish();

    // Attribution: pieces of the hot path in isolation, per deploy event.
    let events: Vec<Event<'_>> = deploys
        .iter()
        .map(|p| decode(Stream::Deploys, p, &Headers::NONE).unwrap())
        .collect();
    let stamps: Vec<Vec<String>> = deploys
        .iter()
        .map(|p| {
            let v: serde_json::Value = serde_json::from_slice(p).unwrap();
            let mut s = vec![v["finished_at"].as_str().unwrap().to_owned()];
            s.push(v["started_at"].as_str().unwrap().to_owned());
            for c in v["changes"].as_array().unwrap() {
                s.push(c["committed_at"].as_str().unwrap().to_owned());
            }
            s
        })
        .collect();
    let mut g = c.benchmark_group("parts");
    g.throughput(Throughput::Elements(n));
    g.bench_function("rfc3339_all_stamps", |b| {
        b.iter(|| {
            for s in stamps.iter().flatten() {
                black_box(parse_time(s).unwrap());
            }
        });
    });
    // Same as the private `dora::fingerprint`: DefaultHasher over the event.
    g.bench_function("fingerprint", |b| {
        b.iter(|| {
            for e in &events {
                let Event::Deploy(d) = e else { unreachable!() };
                let mut h = DefaultHasher::new();
                d.hash(&mut h);
                black_box(h.finish());
            }
        });
    });
    g.bench_function("fold_only", |b| {
        b.iter_batched(
            || DoraState::new(settings()),
            |mut state| {
                for e in &events {
                    black_box(state.fold(e, NOW));
                }
                state
            },
            BatchSize::LargeInput,
        );
    });
    g.finish();

    let mut g = c.benchmark_group("report");
    // Elements = records scanned (deploys + incident ids); time/iter is the figure.
    g.throughput(Throughput::Elements((DEPLOYS + INCIDENTS) as u64));
    g.bench_function("dora", |b| b.iter(|| full.report(NOW)));
    g.finish();
}

criterion_group!(ingest, benches);
criterion_main!(ingest);
