//! Feature-adoption benchmarks (issue 3): decode+fold of usage events, sketch
//! memory and error at 1 M users, and the scrape-time merge at the feature
//! cap. See BENCHMARKS.md for how to run and read them.
//!
//! Every payload and every state is generated from fixed seeds relative to a
//! fixed `NOW`, so runs are comparable. Single-threaded: elements/s is per
//! core. Setup prints to stderr, outside criterion's timing: the payload
//! shape and an interleaved timing of the usage routines against the
//! baseline (robust to load shifts on a shared machine); and, built lazily
//! only when a `sketch/` or `scrape/` bench is selected, the sketch error and
//! memory tables, the cap state's memory and RSS, and a median-of-3 scrape
//! timing at 24 and 72 buckets extrapolated linearly to 720.

#![allow(
    clippy::print_stderr,
    reason = "setup figures go to stderr, outside criterion's timing"
)]

use std::cell::{Cell, OnceCell};
use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use valuepulse::domain::Outcome;
use valuepulse::domain::adoption::{
    AdoptionReport, AdoptionSettings, Features, Merger, Shard, hash_user,
};
use valuepulse::domain::dora::FirstShip;
use valuepulse::domain::time::{DAY_MS, Millis, TimePolicy, Window};
use valuepulse::ingest::Stream;
use valuepulse::ingest::decode::{decode_usage, parse_time};
use valuepulse::ingest::fold::{UsageRecord, fold_usage_records};
use valuepulse::ingest::outcome::Counters;
use valuepulse::ingest::shards::{AdoptionShared, PartitionShard, lock};

/// Fixed processing time: 2026-11-30T12:30:00Z (half past, so window edges
/// fall inside a bucket).
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
/// measured batches land in a warm 30-day state: ~4 200 events per hourly
/// bucket, the ~7 most popular features dense, the rest in small arrays.
const PREFILL: usize = 3_000_000;
/// Rounds of the interleaved timing printed before the criterion benches.
const ROUNDS: usize = 100;
/// Feature cap of `config/default.toml`.
const MAX_FEATURES: usize = 2000;
/// `limits.max_event_bytes` of config/default.toml.
const MAX_EVENT_BYTES: usize = 65_536;
/// Topic name in the fold's log lines.
const TOPIC: &str = "feature-usage";

/// Defaults of config/default.toml: 1d/7d/30d, 1 h grace, 5 m skew, 1 h
/// buckets, 2000 features.
fn settings() -> AdoptionSettings {
    AdoptionSettings {
        windows: vec![
            Window::new("1d", DAY_MS),
            Window::new("7d", 7 * DAY_MS),
            Window::new("30d", 30 * DAY_MS),
        ],
        time: TimePolicy {
            longest: 30 * DAY_MS,
            grace: HOUR,
            max_clock_skew: 5 * MIN,
        },
        bucket: HOUR,
        max_features: MAX_FEATURES,
        min_users: 1,
    }
}

/// splitmix64: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo) as u64) as i64
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
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
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap()
        .format(&Rfc3339)
        .unwrap()
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
        let mut rng = Rng(seed);
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
            let at = NOW - rng.range(1000, 30 * DAY_MS);
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
                s1 = rng.next(),
                s2 = rng.next(),
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
/// the whole batch borrowing the payloads, then, under the shard lock and the
/// feature-table lock (one partition run), per event: the generation and
/// offset checks, intern the feature, hash the user once, fold, emit the
/// outcome; counts added once. The same offsets are folded again and again,
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

/// Resident set size of this process, from /proc (Linux), in MiB.
fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// A scrape as `ValuepulseCollector::adoption` does it (locks left out):
/// `Merger::new`, `add` of every retained bucket of every shard starting at
/// or after `from`, `finish`.
fn scrape<'f>(
    s: &AdoptionSettings,
    ships: &[FirstShip<'f>],
    features: &'f Features,
    shards: &[Shard],
    from: Millis,
) -> AdoptionReport<'f> {
    let mut merger = Merger::new(s, ships, features, NOW);
    for shard in shards {
        for start in shard.bucket_starts() {
            if start < from {
                continue;
            }
            if let Some(bucket) = shard.bucket(start) {
                merger.add(start, bucket);
            }
        }
    }
    merger.finish(features, ships)
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
    let shared = AdoptionShared::new(settings());
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
        let mut rng = Rng(0x5EED_0102);
        let mut ps = shard.lock().unwrap();
        let sh = &mut ps.shard;
        for _ in 0..PREFILL {
            let f = ids[zipf.sample(&mut rng)];
            let h = user_hashes[rng.below(USERS) as usize];
            let at = NOW - rng.range(1000, 30 * DAY_MS);
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
        let buckets = sh.bucket_starts();
        let newest = sh.bucket(buckets[buckets.len() - 1]).unwrap();
        eprintln!(
            "usage: {BATCHES} batches of {BATCH} events, used in turn; mean {} bytes (min {}, \
             max {}), minimal form {} bytes; {} features (Zipf 1: top share {:.1} %), {USERS} \
             users, times uniform over 30 d; warm shard: {PREFILL} prefilled events in {} \
             buckets, {:.1} MiB, built in {:.2?}; newest bucket: {} active users, top feature \
             {} users",
            bytes / events,
            all().map(Vec::len).min().unwrap(),
            all().map(Vec::len).max().unwrap(),
            min_bytes / events,
            names.len(),
            100.0 / zipf.0[zipf.0.len() - 1],
            buckets.len(),
            mib(sh.memory_bytes()),
            prefill_time,
            newest.active_users(),
            newest.users(ids[0]),
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
        b.iter(|| fold_batch(&shared, &shard, &counters, &batch_records[next()]))
    });
    g.bench_function("decode_fold_time_ordered", |b| {
        b.iter(|| fold_batch(&shared, &shard, &counters, &ordered_records[next()]))
    });
    g.finish();

    let mut g = c.benchmark_group("baseline");
    g.throughput(Throughput::Elements(n));
    g.bench_function("serde_json_value_usage", |b| {
        b.iter(|| {
            for p in &batches[next()].payloads {
                black_box(serde_json::from_slice::<serde_json::Value>(p).unwrap());
            }
        })
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
        })
    });
    g.bench_function("decode_only_3_fields", |b| {
        b.iter(|| {
            for p in &batches[next()].minimal {
                black_box(decode_usage(p).unwrap());
            }
        })
    });
    g.bench_function("rfc3339", |b| {
        b.iter(|| {
            for t in &batches[next()].stamps {
                black_box(parse_time(t).unwrap());
            }
        })
    });
    g.bench_function("intern", |b| {
        b.iter(|| {
            let mut f = features.lock().unwrap();
            for name in &batches[next()].features {
                black_box(f.intern(name));
            }
        })
    });
    g.bench_function("hash_user", |b| {
        b.iter(|| {
            for u in &batches[next()].users {
                black_box(hash_user(u));
            }
        })
    });
    g.bench_function("fold_only", |b| {
        b.iter(|| {
            let mut ps = shard.lock().unwrap();
            let sh = &mut ps.shard;
            for &(f, h, at) in &pre[next()] {
                black_box(sh.fold(&s, f, h, at, NOW));
            }
        })
    });
    g.bench_function("fold_only_time_ordered", |b| {
        b.iter(|| {
            let mut ps = shard.lock().unwrap();
            let sh = &mut ps.shard;
            for &(f, h, at) in &pre_ordered[next()] {
                black_box(sh.fold(&s, f, h, at, NOW));
            }
        })
    });
    g.finish();
}

/// Non-timed: estimate error and memory of one feature's sketches with
/// 1 000 000 distinct users, and memory per (feature, bucket). Returns the
/// feature table and the 720-bucket shard (two dense sketches per bucket).
fn sketch_tables() -> (Features, Shard) {
    let s = settings();
    let mut features = Features::new(MAX_FEATURES);
    let id = features.intern("checkout-v2");
    let mut kept = Shard::new();
    let hashes: Vec<u64> = (0..1_000_000u64)
        .map(|i| hash_user(&format!("u-{i}")))
        .collect();
    let now_floor = s.bucket_floor(NOW);
    eprintln!("\nsketch error and memory, 1 feature, 1 000 000 distinct users (u-0 … u-999999):");
    eprintln!(
        "| layout | est. 1d | error 1d | est. 30d | error 30d | active 30d error | shard memory | per bucket |"
    );
    eprintln!("|---|---|---|---|---|---|---|---|");
    for buckets in [1i64, 24, 720] {
        let mut shard = Shard::new();
        let mut truth = [0u64; 3];
        // User i in bucket i % buckets, counting back from the newest.
        let mut order: Vec<usize> = (0..hashes.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(i as i64 % buckets));
        for i in order {
            let k = i as i64 % buckets;
            let at = NOW - k * HOUR - 10 * MIN;
            assert_eq!(shard.fold(&s, id, hashes[i], at, NOW), Outcome::Accepted);
            for (w, window) in s.windows.iter().enumerate() {
                // In window iff the bucket overlaps it (see adoption.rs).
                truth[w] += u64::from(s.bucket_floor(at) + s.bucket > NOW - window.width);
            }
        }
        assert_eq!(shard.bucket_starts().len() as i64, buckets);
        assert!(shard.bucket_starts()[0] >= now_floor - (buckets - 1) * HOUR);
        let r = scrape(&s, &[], &features, std::slice::from_ref(&shard), i64::MIN);
        let f = &r.features[0];
        let err = |est: u64, t: u64| 100.0 * (est as f64 - t as f64) / t as f64;
        let mem = shard.memory_bytes();
        eprintln!(
            "| {buckets} × 1 h | {} | {:+.3} % | {} | {:+.3} % | {:+.3} % | {:.2} MiB | {} B |",
            f.users[0],
            err(f.users[0], truth[0]),
            f.users[2],
            err(f.users[2], truth[2]),
            err(r.active_users[2], truth[2]),
            mib(mem),
            mem / buckets as usize,
        );
        if buckets == 720 {
            kept = shard;
        }
    }
    eprintln!("(per bucket = the feature's sketch + the bucket's active-user sketch + map)");

    // Marginal memory per (feature, bucket): one bucket holding 257 features
    // minus one holding 1, each feature with the same `u` users (so the
    // active-user sketch is equal), divided by 256: includes the map entry and
    // the map's spare capacity.
    eprintln!("\nmemory per (feature, bucket), marginal over 256 features in one bucket:");
    eprintln!("| users | bytes per (feature, bucket) |");
    eprintln!("|---|---|");
    for users in [1usize, 100, 10_000] {
        let mem = |nf: u32| {
            let mut shard = Shard::new();
            for f in 1..=nf {
                for h in &hashes[..users] {
                    shard.fold(&s, f, *h, NOW - 10 * MIN, NOW);
                }
            }
            shard.memory_bytes()
        };
        eprintln!("| {users} | {} |", (mem(257) - mem(1)) / 256);
    }
    eprintln!();
    (features, kept)
}

/// The scrape of the 1 M-user, 720-bucket shard: 1 440 merges of dense
/// sketches (the feature's and the active users'), so time / 1 440 is the
/// cost of one dense merge. Its lazy setup prints the sketch tables.
fn sketch_benches(c: &mut Criterion) {
    let s = settings();
    let state: OnceCell<(Features, Shard)> = OnceCell::new();
    let mut g = c.benchmark_group("sketch");
    g.throughput(Throughput::Elements(1440));
    g.bench_function("scrape_1m_users_720h", |b| {
        let (features, shard) = state.get_or_init(sketch_tables);
        let shards = std::slice::from_ref(shard);
        b.iter(|| scrape(&s, &[], features, shards, i64::MIN))
    });
    g.finish();
}

/// A state at the feature cap: `shards` shards, `buckets` hourly buckets up to
/// `NOW`, every feature present in every (shard, bucket).
struct CapState {
    features: Features,
    names: Vec<String>,
    shards: Vec<Shard>,
    ships: Vec<(usize, Millis)>,
}

const CAP_SHARDS: usize = 4;
const CAP_BUCKETS: i64 = 72;
/// Features with > 128 distinct users per (shard, bucket): dense sketches.
const HEAVY: usize = 250;

impl CapState {
    /// Heavy rank r (1-based) gets 140 + 2900 / r users per (shard, bucket)
    /// (3040 … 151); every other feature 1–40 users (mean 20.5). With
    /// `heavy = 0` every feature is sparse.
    fn build(heavy: usize) -> Self {
        let s = settings();
        let started = Instant::now();
        let rss_before = rss_mib();
        let mut features = Features::new(MAX_FEATURES);
        let names: Vec<String> = (0..MAX_FEATURES)
            .map(|i| format!("feature-{i:04}"))
            .collect();
        let ids: Vec<u32> = names.iter().map(|n| features.intern(n)).collect();
        let mut rng = Rng(0x5EED_0201 + heavy as u64);
        let now_floor = s.bucket_floor(NOW);
        let mut folds = 0usize;
        let shards: Vec<Shard> = (0..CAP_SHARDS)
            .map(|p| {
                // Users of this partition: every CAP_SHARDS-th of 200 000.
                let pool: Vec<u64> = (0..USERS / CAP_SHARDS as u64)
                    .map(|u| hash_user(&format!("u-{}", u * CAP_SHARDS as u64 + p as u64)))
                    .collect();
                let mut shard = Shard::new();
                for k in (0..CAP_BUCKETS).rev() {
                    let start = now_floor - k * HOUR;
                    for (rank, &id) in ids.iter().enumerate() {
                        let n = if rank < heavy {
                            140 + 2900 / (rank as u64 + 1)
                        } else {
                            1 + rng.below(40)
                        };
                        for _ in 0..n {
                            let h = pool[rng.below(pool.len() as u64) as usize];
                            let at = (start + rng.range(0, HOUR)).min(NOW);
                            shard.fold(&s, id, h, at, NOW);
                        }
                        folds += n as usize;
                    }
                }
                shard
            })
            .collect();
        // 100 features first shipped in the last 20 days, a fifth of them heavy.
        let ships = (0..100)
            .map(|i| {
                let f = if i % 5 == 0 {
                    i % heavy.max(1)
                } else {
                    HEAVY + i * 7
                };
                (f, NOW - rng.range(HOUR, 20 * DAY_MS))
            })
            .collect();
        let mem: usize = shards.iter().map(Shard::memory_bytes).sum();
        eprintln!(
            "\ncap state ({} heavy of {MAX_FEATURES} features, {CAP_SHARDS} shards × \
             {CAP_BUCKETS} hourly buckets): {folds} folds in {:.1?}; memory_bytes {:.1} MiB \
             ({:.0} KiB per (shard, bucket)); RSS {:.0} → {:.0} MiB",
            heavy,
            started.elapsed(),
            mib(mem),
            mem as f64 / 1024.0 / (CAP_SHARDS as f64 * CAP_BUCKETS as f64),
            rss_before,
            rss_mib(),
        );
        CapState {
            features,
            names,
            shards,
            ships,
        }
    }

    fn ships(&self) -> Vec<FirstShip<'_>> {
        self.ships
            .iter()
            .map(|&(f, at)| FirstShip {
                feature: &self.names[f],
                at,
                service: "checkout",
                team: "payments",
            })
            .collect()
    }
}

/// Median of `runs` timed scrapes of the buckets from `from` on, in seconds.
fn time_scrape(st: &CapState, from: Millis, runs: usize) -> f64 {
    let s = settings();
    let ships = st.ships();
    let mut t: Vec<f64> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            black_box(scrape(&s, &ships, &st.features, &st.shards, from));
            started.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[runs / 2]
}

/// Builds a cap state, then (untimed by criterion) times 3 scrapes of the
/// newest 24 and of all 72 buckets and extrapolates linearly to 720.
fn cap_state(heavy: usize) -> CapState {
    let st = CapState::build(heavy);
    let now_floor = settings().bucket_floor(NOW);
    let t24 = time_scrape(&st, now_floor - 23 * HOUR, 3);
    let t72 = time_scrape(&st, now_floor - (CAP_BUCKETS - 1) * HOUR, 3);
    let per_hour = (t72 - t24) / 48.0;
    let mem: usize = st.shards.iter().map(Shard::memory_bytes).sum();
    eprintln!(
        "scrape, median of 3: 24 buckets {:.3} s, 72 buckets {:.3} s ({:.1} ms per bucket hour \
         over {CAP_SHARDS} shards); EXTRAPOLATED linearly to 720 buckets: {:.1} s, state \
         {:.1} GiB",
        t24,
        t72,
        per_hour * 1000.0,
        t72 + 648.0 * per_hour,
        mib(mem) * 10.0 / 1024.0,
    );
    st
}

fn scrape_benches(c: &mut Criterion) {
    let s = settings();
    let mixed: OnceCell<CapState> = OnceCell::new();
    let sparse: OnceCell<CapState> = OnceCell::new();
    let from = s.bucket_floor(NOW) - 23 * HOUR;
    let mut g = c.benchmark_group("scrape");
    g.sampling_mode(SamplingMode::Flat);
    g.sample_size(10);
    for (name, cell, heavy) in [
        ("cap_mixed_24h", &mixed, HEAVY),
        ("cap_sparse_24h", &sparse, 0),
    ] {
        g.bench_function(name, |b| {
            let st = cell.get_or_init(|| cap_state(heavy));
            let ships = st.ships();
            let r = scrape(&s, &ships, &st.features, &st.shards, from);
            assert_eq!(r.features.len(), MAX_FEATURES);
            b.iter(|| scrape(&s, &ships, &st.features, &st.shards, from))
        });
    }
    g.finish();
}

criterion_group!(adoption, usage_benches, sketch_benches, scrape_benches);
criterion_main!(adoption);
