//! The usage pipeline without Kafka: how decode + fold scales with
//! `ingest.fold_workers` when the cores are not shared with a broker (as on
//! a node whose brokers run elsewhere).
//!
//! `valuepulse loadgen`'s own dataset (4 partitions keyed by user, 50
//! features, 200 000 users, 28 days in time order: the `benches/e2e.sh`
//! data) is generated in memory. The main thread then plays the poller: it
//! copies the records, in runs of 256 per partition as fetches return them,
//! into the pipeline (1 024 records a poll, `Pipeline::push`, then
//! `Pipeline::submit`), exactly as the usage loop does, until every partition's last offset has come back. One and two
//! workers alternate over three rounds on fresh state; medians are printed
//! with the CPU time per event of the whole process.
//!
//! Run: `cargo bench --bench pipeline` (about a minute;
//! `VALUEPULSE_BENCH_PIPELINE_EVENTS` changes the 4 M events).

#![allow(clippy::print_stdout, reason = "a benchmark that prints its table")]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use valuepulse::config::Config;
use valuepulse::domain::time::Millis;
use valuepulse::ingest::budget::StateBudget;
use valuepulse::ingest::outcome::Counters;
use valuepulse::ingest::pipeline::{FoldContext, Pipeline};
use valuepulse::ingest::shards::{AdoptionShared, PartitionShard, lock};
use valuepulse::loadgen::dataset::{Dataset, Order, Spec};

/// 2026-11-30T12:30:00Z.
const NOW: Millis = 1_796_041_800_000;
const PARTITIONS: i32 = 4;
/// Records a poll hands over (`ingest.batch_size`).
const POLL: usize = 1024;
/// Records of one partition in a row, as a fetch response returns them.
const RUN: usize = 256;
const ROUNDS: usize = 3;

fn now() -> Millis {
    NOW
}

/// CPU seconds (user + system) of this process so far.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Fields 14 and 15 of the line (utime, stime), counted from after the
    // command name; clock ticks are 100 a second on Linux.
    (ticks(11) + ticks(12)) / 100.0
}

/// The records in poll order: (partition, offset, payload).
fn polled(events: u64) -> Vec<(i32, i64, Vec<u8>)> {
    let mut data = Dataset::new(Spec {
        events,
        features: 50,
        users: 200_000,
        days: 28,
        seed: 1,
        end: NOW,
        order: Order::Time,
        feature_skew: 1.0,
        user_skew: 0.7,
        deploys_per_day: 0.0,
    })
    .expect("a valid spec");
    let mut per_partition: Vec<Vec<Vec<u8>>> = vec![Vec::new(); PARTITIONS as usize];
    let (mut key, mut payload) = (Vec::new(), Vec::new());
    while data.next_usage(&mut key, &mut payload).is_some() {
        let p = key
            .iter()
            .fold(0u32, |h, &b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
        per_partition[(p % PARTITIONS as u32) as usize].push(payload.clone());
    }
    let mut out = Vec::with_capacity(events as usize);
    let mut next = vec![0usize; PARTITIONS as usize];
    while out.len() < events as usize {
        for (p, records) in per_partition.iter().enumerate() {
            let from = next[p];
            let to = (from + RUN).min(records.len());
            for (o, r) in records[from..to].iter().enumerate() {
                out.push((p as i32, (from + o) as i64, r.clone()));
            }
            next[p] = to;
        }
    }
    out
}

/// Wall and CPU seconds to fold every record through `workers` workers.
fn run(records: &[(i32, i64, Vec<u8>)], workers: usize) -> (f64, f64) {
    let config = Config::load(None).expect("defaults");
    let shared = Arc::new(AdoptionShared::new(
        config.adoption_settings(),
        Arc::new(StateBudget::new(usize::MAX)),
    ));
    for p in 0..PARTITIONS {
        lock(&shared.shards).insert(p, Arc::new(Mutex::new(PartitionShard::default())));
    }
    let mut last = vec![0i64; PARTITIONS as usize];
    for (p, o, _) in records {
        last[*p as usize] = last[*p as usize].max(o + 1);
    }
    let (cpu0, t0) = (cpu_seconds(), Instant::now());
    let mut pipeline = Pipeline::start(
        FoldContext {
            shared,
            counters: Arc::new(Counters::default()),
            topic: "feature-usage".into(),
            max_bytes: 65_536,
            clock: now,
        },
        workers,
    )
    .expect("threads");
    let mut folded = vec![0i64; PARTITIONS as usize];
    for chunk in records.chunks(POLL) {
        for (p, o, payload) in chunk {
            pipeline.push(*p, *o, 0, payload);
        }
        pipeline.submit();
        for (p, o) in pipeline.folded() {
            folded[p as usize] = o;
        }
    }
    while folded != last {
        for (p, o) in pipeline.folded() {
            folded[p as usize] = o;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    let wall = t0.elapsed().as_secs_f64();
    pipeline.stop();
    (wall, cpu_seconds() - cpu0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let events: u64 = std::env::var("VALUEPULSE_BENCH_PIPELINE_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4_000_000);
    let records = polled(events);
    let n = records.len() as f64;
    let mut results: Vec<(usize, Vec<f64>, Vec<f64>)> =
        vec![(1, Vec::new(), Vec::new()), (2, Vec::new(), Vec::new())];
    for round in 1..=ROUNDS {
        for (workers, walls, cpus) in &mut results {
            let (wall, cpu) = run(&records, *workers);
            println!(
                "round {round}, {workers} fold worker(s): {wall:.2} s, {:.2} M events/s, CPU {cpu:.2} s",
                n / wall / 1e6
            );
            walls.push(wall);
            cpus.push(cpu);
        }
    }
    println!();
    println!(
        "| fold workers | wall s (each round) | events/s (median) | CPU-s per M events (median) |"
    );
    println!("|---|---|---|---|");
    for (workers, walls, cpus) in &results {
        let each: Vec<String> = walls.iter().map(|w| format!("{w:.2}")).collect();
        println!(
            "| {workers} | {} | {:.2} M | {:.2} |",
            each.join(", "),
            n / median(walls.clone()) / 1e6,
            median(cpus.clone()) / n * 1e6
        );
    }
}
