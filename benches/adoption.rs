//! Feature-adoption benchmarks: decode+fold of usage events (the daemon's
//! own `fold_usage_records`) in random and in time order against a
//! `serde_json::Value` baseline, and sketch error and memory at 1 M users.
//! The "cap" workload has its own bench, `benches/cap.rs`. See
//! BENCHMARKS.md for how to run and read them.
//!
//! Every payload and every state is generated from fixed seeds relative to a
//! fixed `NOW`, so runs are comparable. Single-threaded: elements/s is per
//! core. Setup prints to stderr, outside criterion's timing: the payload
//! shape and an interleaved timing of the usage routines against the
//! baseline (robust to load shifts on a shared machine); and, built lazily
//! only when a `sketch/` bench is selected, the sketch table.

#![allow(
    clippy::print_stderr,
    reason = "setup figures go to stderr, outside criterion's timing"
)]

use std::cell::{Cell, OnceCell};
use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use valuepulse::domain::Outcome;
use valuepulse::domain::adoption::{AdoptionSettings, Features, ReportBuilder, Shard, hash_user};
use valuepulse::domain::time::{DAY_MS, Millis, TimePolicy, Window};
use valuepulse::ingest::Stream;
use valuepulse::ingest::budget::StateBudget;
use valuepulse::ingest::decode::{decode_usage, format_time, parse_time};
use valuepulse::ingest::fold::{UsageRecord, fold_usage_records};
use valuepulse::ingest::outcome::Counters;
use valuepulse::ingest::shards::{AdoptionShared, PartitionShard, lock};
use valuepulse::rng::Rng;

/// Fixed processing time: 2026-11-30T12:30:00Z.
const NOW: Millis = 1_796_041_800_000;
const MIN: Millis = 60_000;
const HOUR: Millis = 3_600_000;

/// Usage events per batch (one bench iteration folds one batch).
const BATCH: usize = 10_000;
/// Distinct batches, used in turn.
const BATCHES: usize = 16;
/// Distinct users of the usage stream.
const USERS: u64 = 200_000;
/// Events folded into the shard before measuring (no JSON), so that the
/// measured batches land in a warm 30-day state (the most popular features'
/// sketches dense, the rest sparse).
const PREFILL: usize = 3_000_000;
/// Rounds of the interleaved timing printed before the criterion benches.
const ROUNDS: usize = 100;
/// Feature cap of `config/default.toml`.
const MAX_FEATURES: usize = 2000;
/// `limits.max_event_bytes` of config/default.toml.
const MAX_EVENT_BYTES: usize = 65_536;
/// Topic name in the fold's log lines.
const TOPIC: &str = "feature-usage";

/// Defaults of config/default.toml: 1d/7d/30d, 1 h grace, 5 m skew, 2000
/// features.
fn settings() -> AdoptionSettings {
    AdoptionSettings {
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
        max_features: MAX_FEATURES,
        min_users: 1,
    }
}

/// Zipf(1) sampler over `n` ranks: rank k (0-based) has weight 1/(k+1).
struct Zipf(Vec<f64>);

impl Zipf {
    fn new(n: usize) -> Self {
        let mut acc = 0.0;
        Self(
            (0..n)
                .map(|k| {
                    acc += 1.0 / (k + 1) as f64;
                    acc
                })
                .collect(),
        )
    }
    fn sample(&self, rng: &mut Rng) -> usize {
        let x = rng.unit() * self.0[self.0.len() - 1];
        self.0.partition_point(|&c| c < x).min(self.0.len() - 1)
    }
}

const AREAS: [&str; 10] = [
    "checkout",
    "search",
    "cart",
    "profile",
    "billing",
    "reports",
    "dashboard",
    "export",
    "notifications",
    "onboarding",
];
const VARIANTS: [&str; 5] = ["v2", "quick-filters", "ai-assist", "bulk-edit", "dark-mode"];
const ACCOUNTS: [&str; 8] = [
    "acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "tyrell",
];
const CLIENTS: [(&str, &str); 6] = [
    ("ios", "17.6.1"),
    ("android", "14.0.2"),
    ("web-chrome", "131.0.6778"),
    ("web-safari", "18.1.1"),
    ("web-firefox", "132.0.2"),
    ("windows", "11.23H2"),
];
const PAGES: [&str; 6] = [
    "/checkout/cart?step=2&ref=banner",
    "/search?q=winter+boots&sort=relevance",
    "/account/settings/notifications",
    "/reports/revenue/2026-q4?view=table",
    "/dashboard/overview?range=7d&tz=Europe%2FBerlin",
    "/onboarding/welcome?plan=team&trial=1",
];

/// The 50 feature names, most popular first.
fn feature_names() -> Vec<String> {
    let mut names = Vec::new();
    for v in VARIANTS {
        for a in AREAS {
            names.push(format!("{a}-{v}"));
        }
    }
    names
}

/// RFC 3339 in UTC; three quarters of the stamps carry milliseconds.
fn rfc3339(ms: i64, rng: &mut Rng) -> String {
    let ms = if rng.below(4) == 0 {
        ms - ms % 1000
    } else {
        ms
    };
    format_time(ms)
}

/// One batch of usage events, in arrival order.
struct UsageBatch {
    /// ~300-byte payloads with the 3 decoded fields and 5 ignored ones (one nested).
    payloads: Vec<Vec<u8>>,
    /// The same events with only `feature`, `user`, `at`.
    minimal: Vec<Vec<u8>>,
    features: Vec<String>,
    users: Vec<String>,
    stamps: Vec<String>,
    ats: Vec<Millis>,
}

impl UsageBatch {
    fn generate(seed: u64, names: &[String], zipf: &Zipf) -> Self {
        let mut rng = Rng::new(seed);
        let mut b = UsageBatch {
            payloads: Vec::with_capacity(BATCH),
            minimal: Vec::with_capacity(BATCH),
            features: Vec::with_capacity(BATCH),
            users: Vec::with_capacity(BATCH),
            stamps: Vec::with_capacity(BATCH),
            ats: Vec::with_capacity(BATCH),
        };
        for _ in 0..BATCH {
            let feature = &names[zipf.sample(&mut rng)];
            let user = format!("u-{}", rng.below(USERS));
            let at = NOW - rng.between(1000, 30 * DAY_MS);
            let stamp = rfc3339(at, &mut rng);
            let (os, version) = CLIENTS[rng.below(CLIENTS.len() as u64) as usize];
            let json = format!(
                concat!(
                    r#"{{"feature":"{feature}","user":"{user}","account":"{acct}-{acct_n:04}","#,
                    r#""at":"{stamp}","session":"{s1:016x}{s2:016x}","#,
                    r#""client":{{"os":"{os}","version":"{version}"}},"#,
                    r#""page":"{page}","referrer":"https://app.example.com{page2}"}}"#
                ),
                feature = feature,
                user = user,
                acct = ACCOUNTS[rng.below(ACCOUNTS.len() as u64) as usize],
                acct_n = rng.below(5000),
                stamp = stamp,
                s1 = rng.next_u64(),
                s2 = rng.next_u64(),
                os = os,
                version = version,
                page = PAGES[rng.below(PAGES.len() as u64) as usize],
                page2 = PAGES[rng.below(PAGES.len() as u64) as usize],
            );
            b.minimal.push(
                format!(r#"{{"feature":"{feature}","user":"{user}","at":"{stamp}"}}"#).into_bytes(),
            );
            b.payloads.push(json.into_bytes());
            b.features.push(feature.clone());
            b.users.push(user);
            b.stamps.push(stamp);
            b.ats
                .push(parse_time(&b.stamps[b.stamps.len() - 1]).unwrap());
        }
        b
    }

    /// The same events sorted by event time (replay order).
    fn time_ordered(&self) -> Self {
        let mut idx: Vec<usize> = (0..self.ats.len()).collect();
        idx.sort_by_key(|&i| self.ats[i]);
        let pick = |v: &[Vec<u8>]| idx.iter().map(|&i| v[i].clone()).collect();
        let picks = |v: &[String]| idx.iter().map(|&i| v[i].clone()).collect();
        UsageBatch {
            payloads: pick(&self.payloads),
            minimal: pick(&self.minimal),
            features: picks(&self.features),
            users: picks(&self.users),
            stamps: picks(&self.stamps),
            ats: idx.iter().map(|&i| self.ats[i]).collect(),
        }
    }
}

/// A batch as the usage loop hands it to the fold: records of partition 0
/// at offsets 0, 1, …, polled in rebalance generation 0.
fn records(payloads: &[Vec<u8>]) -> Vec<UsageRecord<'_>> {
    payloads
        .iter()
        .enumerate()
        .map(|(offset, p)| UsageRecord {
            partition: 0,
            offset: offset as i64,
            generation: 0,
            payload: p,
        })
        .collect()
}

/// One batch through the daemon's own fold, [`fold_usage_records`]: decode
/// the whole batch borrowing the payloads, then, under the shard lock (one
/// partition run): the feature ids under the feature-table lock, then per
/// event the generation and offset checks, hash the user once, fold, emit
/// the outcome; counts added once. The same offsets are folded again and again,
/// so the partition's offset guard is first rewound to 0, as a new
/// assignment would (one uncontended lock). Returns the number of accepted
/// events.
fn fold_batch(
    shared: &AdoptionShared,
    shard: &Mutex<PartitionShard>,
    counters: &Counters,
    records: &[UsageRecord<'_>],
) -> u64 {
    lock(shard).next_offset = 0;
    let before = counters.events(Stream::FeatureUsage, Outcome::Accepted);
    black_box(fold_usage_records(
        shared,
        TOPIC,
        records,
        MAX_EVENT_BYTES,
        NOW,
        counters,
    ));
    counters.events(Stream::FeatureUsage, Outcome::Accepted) - before
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn usage_benches(c: &mut Criterion) {
    let s = settings();
    let names = feature_names();
    let zipf = Zipf::new(names.len());
    let batches: Vec<UsageBatch> = (0..BATCHES)
        .map(|k| UsageBatch::generate(0x5EED_0101 + k as u64, &names, &zipf))
        .collect();
    let ordered: Vec<UsageBatch> = batches.iter().map(UsageBatch::time_ordered).collect();
    let all = || batches.iter().flat_map(|b| &b.payloads);
    let bytes: usize = all().map(Vec::len).sum();
    let min_bytes: usize = batches.iter().flat_map(|b| &b.minimal).map(Vec::len).sum();
    let events = BATCHES * BATCH;

    let batch_records: Vec<Vec<UsageRecord<'_>>> =
        batches.iter().map(|b| records(&b.payloads)).collect();
    let ordered_records: Vec<Vec<UsageRecord<'_>>> =
        ordered.iter().map(|b| records(&b.payloads)).collect();

    // Warm state, as the daemon holds it: partition 0 owned, features
    // interned in popularity order, PREFILL events folded straight from
    // hashes (same distributions as the payloads).
    let shared = AdoptionShared::new(settings(), Arc::new(StateBudget::new(usize::MAX)));
    let shard = Arc::new(Mutex::new(PartitionShard::default()));
    lock(&shared.shards).insert(0, shard.clone());
    let counters = Counters::default();
    let features = &shared.features;
    let ids: Vec<u32> = {
        let mut f = features.lock().unwrap();
        names.iter().map(|n| f.intern(n)).collect()
    };
    let user_hashes: Vec<u64> = (0..USERS).map(|u| hash_user(&format!("u-{u}"))).collect();
    let started = Instant::now();
    {
        let mut rng = Rng::new(0x5EED_0102);
        let mut ps = shard.lock().unwrap();
        let sh = &mut ps.shard;
        for _ in 0..PREFILL {
            let f = ids[zipf.sample(&mut rng)];
            let h = user_hashes[rng.below(USERS) as usize];
            let at = NOW - rng.between(1000, 30 * DAY_MS);
            assert_eq!(sh.fold(&s, f, h, at, NOW), Outcome::Accepted);
        }
    }
    let prefill_time = started.elapsed();
    // Sanity, outside timing: every event is valid and accepted.
    for r in batch_records.iter().chain(&ordered_records) {
        assert_eq!(fold_batch(&shared, &shard, &counters, r), BATCH as u64);
    }
    {
        let ps = shard.lock().unwrap();
        let sh = &ps.shard;
        eprintln!(
            "usage: {BATCHES} batches of {BATCH} events, used in turn; mean {} bytes (min {}, \
             max {}), minimal form {} bytes; {} features (Zipf 1: top share {:.1} %), {USERS} \
             users, times uniform over 30 d; warm shard: {PREFILL} prefilled events, {:.1} MiB, \
             built in {:.2?}; top feature sketch dense: {}",
            bytes / events,
            all().map(Vec::len).min().unwrap(),
            all().map(Vec::len).max().unwrap(),
            min_bytes / events,
            names.len(),
            100.0 / zipf.0[zipf.0.len() - 1],
            mib(sh.heap_bytes().total()),
            prefill_time,
            sh.feature(ids[0]).is_some_and(|f| f.users.is_dense()),
        );
    }
    eprintln!(
        "sample: {}",
        String::from_utf8_lossy(&batches[0].payloads[1])
    );

    // Each iteration takes the next of the BATCHES batches, so the sketch
    // registers touched are not all hot in cache from the previous iteration.
    let turn = Cell::new(0usize);
    let next = || {
        let k = turn.get();
        turn.set((k + 1) % BATCHES);
        k
    };

    // Interleaved timing, outside criterion: one batch of each routine per
    // round, so a load change on the shared machine hits all of them alike;
    // the ratio to the baseline is taken per round.
    let routines: [(&str, &dyn Fn(usize)); 4] = [
        ("baseline/serde_json_value_usage", &|k| {
            for p in &batches[k].payloads {
                black_box(serde_json::from_slice::<serde_json::Value>(p).unwrap());
            }
        }),
        ("usage/decode_fold", &|k| {
            black_box(fold_batch(&shared, &shard, &counters, &batch_records[k]));
        }),
        ("usage/decode_fold_time_ordered", &|k| {
            black_box(fold_batch(&shared, &shard, &counters, &ordered_records[k]));
        }),
        ("usage_parts/decode_only", &|k| {
            for p in &batches[k].payloads {
                black_box(decode_usage(p).unwrap());
            }
        }),
    ];
    let mut ns: Vec<Vec<f64>> = vec![Vec::new(); routines.len()];
    for r in 0..ROUNDS {
        for (i, (_, f)) in routines.iter().enumerate() {
            let started = Instant::now();
            f(r % BATCHES);
            ns[i].push(started.elapsed().as_nanos() as f64 / BATCH as f64);
        }
    }
    eprintln!("interleaved, {ROUNDS} rounds: median ns/event, events/s, × baseline (p25–p75)");
    for (i, (name, _)) in routines.iter().enumerate() {
        let mut ratio: Vec<f64> = (0..ROUNDS).map(|r| ns[0][r] / ns[i][r]).collect();
        ratio.sort_by(f64::total_cmp);
        let mut own = ns[i].clone();
        own.sort_by(f64::total_cmp);
        let med = own[ROUNDS / 2];
        eprintln!(
            "  {name}: {med:.0} ns, {:.2} M/s, × {:.2} ({:.2}–{:.2})",
            1000.0 / med,
            ratio[ROUNDS / 2],
            ratio[ROUNDS / 4],
            ratio[3 * ROUNDS / 4],
        );
    }

    let n = BATCH as u64;
    let mut g = c.benchmark_group("usage");
    g.throughput(Throughput::Elements(n));
    g.bench_function("decode_fold", |b| {
        b.iter(|| fold_batch(&shared, &shard, &counters, &batch_records[next()]));
    });
    g.bench_function("decode_fold_time_ordered", |b| {
        b.iter(|| fold_batch(&shared, &shard, &counters, &ordered_records[next()]));
    });
    g.finish();

    let mut g = c.benchmark_group("baseline");
    g.throughput(Throughput::Elements(n));
    g.bench_function("serde_json_value_usage", |b| {
        b.iter(|| {
            for p in &batches[next()].payloads {
                black_box(serde_json::from_slice::<serde_json::Value>(p).unwrap());
            }
        });
    });
    g.finish();

    // Attribution: the pieces of decode_fold in isolation, per event.
    let pre: Vec<Vec<(u32, u64, Millis)>> = batches
        .iter()
        .map(|b| {
            let f = features.lock().unwrap();
            (0..BATCH)
                .map(|i| {
                    let id = f.get(&b.features[i]).unwrap();
                    (id, hash_user(&b.users[i]), b.ats[i])
                })
                .collect()
        })
        .collect();
    let pre_ordered: Vec<Vec<(u32, u64, Millis)>> = pre
        .iter()
        .map(|p| {
            let mut p = p.clone();
            p.sort_by_key(|e| e.2);
            p
        })
        .collect();
    let mut g = c.benchmark_group("usage_parts");
    g.throughput(Throughput::Elements(n));
    g.bench_function("decode_only", |b| {
        b.iter(|| {
            for p in &batches[next()].payloads {
                black_box(decode_usage(p).unwrap());
            }
        });
    });
    g.bench_function("decode_only_3_fields", |b| {
        b.iter(|| {
            for p in &batches[next()].minimal {
                black_box(decode_usage(p).unwrap());
            }
        });
    });
    g.bench_function("rfc3339", |b| {
        b.iter(|| {
            for t in &batches[next()].stamps {
                black_box(parse_time(t).unwrap());
            }
        });
    });
    g.bench_function("intern", |b| {
        b.iter(|| {
            let mut f = features.lock().unwrap();
            for name in &batches[next()].features {
                black_box(f.intern(name));
            }
        });
    });
    g.bench_function("hash_user", |b| {
        b.iter(|| {
            for u in &batches[next()].users {
                black_box(hash_user(u));
            }
        });
    });
    g.bench_function("fold_only", |b| {
        b.iter(|| {
            let mut ps = shard.lock().unwrap();
            let sh = &mut ps.shard;
            for &(f, h, at) in &pre[next()] {
                black_box(sh.fold(&s, f, h, at, NOW));
            }
        });
    });
    g.bench_function("fold_only_time_ordered", |b| {
        b.iter(|| {
            let mut ps = shard.lock().unwrap();
            let sh = &mut ps.shard;
            for &(f, h, at) in &pre_ordered[next()] {
                black_box(sh.fold(&s, f, h, at, NOW));
            }
        });
    });
    g.finish();
}

/// Non-timed: estimate error and memory of one feature's sketch with
/// 1 000 000 distinct users spread over 30 days, at each window's edge.
fn sketch_table() {
    let s = settings();
    let mut features = Features::new(MAX_FEATURES);
    let id = features.intern("checkout-v2");
    let mut shard = Shard::new();
    let mut truth = [0u64; 3];
    let mut rng = Rng::new(0x5EED_0301);
    let started = Instant::now();
    for i in 0..1_000_000u64 {
        let at = NOW - rng.between(1000, 30 * DAY_MS);
        assert_eq!(
            shard.fold(&s, id, hash_user(&format!("u-{i}")), at, NOW),
            Outcome::Accepted
        );
        for (w, window) in s.windows.iter().enumerate() {
            truth[w] += u64::from(at >= NOW - window.width);
        }
    }
    let built = started.elapsed();
    let mut b = ReportBuilder::new(&s, &[], &features, NOW);
    let started = Instant::now();
    b.add_active(shard.active());
    b.add_feature(id, shard.feature(id).unwrap());
    let evaluated = started.elapsed();
    let r = b.finish(&features, &[]);
    let f = &r.features[0];
    let bytes = shard.feature(id).unwrap().heap_bytes();
    eprintln!(
        "\nsketch, 1 feature, 1 000 000 distinct users over 30 d (one use each), built in {built:.2?}:"
    );
    eprintln!("| window | estimate | exact | error |");
    eprintln!("|---|---|---|---|");
    for (w, window) in s.windows.iter().enumerate() {
        eprintln!(
            "| {} | {} | {} | {:+.3} % |",
            window.label,
            f.users[w],
            truth[w],
            100.0 * (f.users[w] as f64 - truth[w] as f64) / truth[w] as f64
        );
    }
    eprintln!(
        "memory: sketch {} B, minute counts and seconds {} B; evaluating the feature and the \
         active users at 3 edges took {evaluated:.2?}\n",
        bytes.0, bytes.1
    );
}

/// The evaluation of one dense sketch at the three window edges (the
/// report's unit of work under a shard lock).
fn sketch_benches(c: &mut Criterion) {
    let s = settings();
    let state: OnceCell<(Features, Shard)> = OnceCell::new();
    let mut g = c.benchmark_group("sketch");
    g.bench_function("evaluate_dense_1m_users", |b| {
        let (features, shard) = state.get_or_init(|| {
            sketch_table();
            let mut features = Features::new(MAX_FEATURES);
            let id = features.intern("f");
            let mut shard = Shard::new();
            let mut rng = Rng::new(0x5EED_0302);
            for i in 0..1_000_000u64 {
                let at = NOW - rng.between(1000, 30 * DAY_MS);
                shard.fold(&s, id, hash_user(&format!("u-{i}")), at, NOW);
            }
            (features, shard)
        });
        b.iter(|| {
            let mut rb = ReportBuilder::new(&s, &[], features, NOW);
            rb.add_feature(1, shard.feature(1).unwrap());
            black_box(rb.finish(features, &[]))
        });
    });
    g.finish();
}

criterion_group!(benches, usage_benches, sketch_benches);
criterion_main!(benches);
