//! Memory at a scaled-down "cap" workload (issue 10): the state's own
//! accounting (`valuepulse_state_bytes`) must track the process's resident
//! memory within 20 %, and stay within the budget computed from the
//! documented costs (README, "Memory"): per (feature, partition) a sparse
//! sketch of at most 16 bytes a distinct user (a dense one: 512 KiB), and
//! per (feature, partition, day) at most 24 bytes a busy minute, never more
//! than a dense day's 17.3 KiB; plus 64 KiB of fixed overhead.
//!
//! One test in a process of its own (`common::in_own_process` starts the
//! test binary again for it), so no other test allocates beside it. The
//! dataset is generated in-process (no Kafka: this measures state, not the
//! client) through the daemon's own fold and shared adoption state.

#![allow(clippy::print_stdout, reason = "the test prints the figures it checks")]

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use valuepulse::config::Config;
use valuepulse::domain::adoption::hash_user;
use valuepulse::domain::time::{DAY_MS, Millis};
use valuepulse::ingest::budget::StateBudget;
use valuepulse::ingest::shards::{AdoptionShared, PartitionShard, lock};
use valuepulse::rng::Rng;

use crate::common;

const NOW: Millis = 1_800_000_000_000;
const FEATURES: usize = 200;
const USERS: u64 = 200_000;
const EVENTS: usize = 2_000_000;
const PARTITIONS: i32 = 4;

fn rss_bytes() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .expect("/proc/self/status (Linux)")
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<usize>().ok())
        .expect("VmRSS")
        * 1024
}

#[test]
fn state_bytes_track_rss_and_stay_within_the_documented_cost() {
    let _isolation = common::shared();
    if !common::in_own_process("memory::state_bytes_track_rss_and_stay_within_the_documented_cost")
    {
        return;
    }
    let config = Config::load(None).expect("defaults");
    let settings = config.adoption_settings();
    // Zipf(1) cumulative weights over the features.
    let mut cdf = Vec::with_capacity(FEATURES);
    let mut acc = 0.0;
    for k in 0..FEATURES {
        acc += 1.0 / (k + 1) as f64;
        cdf.push(acc);
    }
    let hashes: Vec<u64> = (0..USERS).map(|u| hash_user(&format!("u-{u}"))).collect();
    let mut rng = Rng::new(0x5EED_0501);
    // The events, and the exact counts the documented cost needs.
    let mut events: Vec<(usize, u64, Millis)> = Vec::with_capacity(EVENTS);
    let mut pairs: HashSet<(usize, u64)> = HashSet::new();
    let mut minutes: HashSet<(usize, i32, i64)> = HashSet::new();
    for _ in 0..EVENTS {
        let x = rng.unit() * acc;
        let f = cdf.partition_point(|&c| c < x).min(FEATURES - 1);
        let h = hashes[rng.below(USERS) as usize];
        let at = NOW - rng.between(0, 30 * DAY_MS);
        let p = (h % PARTITIONS as u64) as i32;
        pairs.insert((f, h));
        minutes.insert((f, p, at.div_euclid(60_000)));
        events.push((f, h, at));
    }

    let rss_before = rss_bytes();
    let shared = AdoptionShared::new(settings.clone(), Arc::new(StateBudget::new(usize::MAX)));
    let shards: Vec<Arc<Mutex<PartitionShard>>> = (0..PARTITIONS)
        .map(|p| {
            let s = Arc::new(Mutex::new(PartitionShard::default()));
            lock(&shared.shards).insert(p, s.clone());
            s
        })
        .collect();
    let ids: Vec<u32> = {
        let mut t = lock(&shared.features);
        (0..FEATURES)
            .map(|f| t.intern(&format!("feature-{f:03}")))
            .collect()
    };
    for &(f, h, at) in &events {
        let p = (h % PARTITIONS as u64) as usize;
        lock(&shards[p]).shard.fold(&settings, ids[f], h, at, NOW);
    }
    let parts = shared.measure();
    let state = parts.total();
    let grown = rss_bytes().saturating_sub(rss_before);

    // Documented cost: sparse sketches at most 16 B a (user, feature)
    // (each user lives on one partition), capped at a dense sketch per
    // (feature, partition); 24 B a busy minute, at most 17.3 KiB a busy day.
    let dense = 512 * 1024;
    let per_feature_users: Vec<usize> = {
        let mut v = vec![0usize; FEATURES];
        for (f, _) in &pairs {
            v[*f] += 1;
        }
        v
    };
    let sketches: usize = per_feature_users
        .iter()
        .map(|u| (u * 16).min(dense * PARTITIONS as usize))
        .sum();
    let mut per_day: std::collections::HashMap<(usize, i32, i64), usize> =
        std::collections::HashMap::default();
    for (f, p, m) in &minutes {
        *per_day.entry((*f, *p, m.div_euclid(1440))).or_default() += 1;
    }
    let counts: usize = per_day.values().map(|n| (n * 24).min(17_344)).sum();
    let documented = sketches + counts + 64 * 1024;
    println!(
        "{EVENTS} events, {FEATURES} features, {USERS} users, {PARTITIONS} partitions: \
         state_bytes {:.1} MiB, RSS grew {:.1} MiB ({:+.1} %), documented cost {:.1} MiB \
         ({} user-feature pairs, {} busy minutes in {} busy days)",
        state as f64 / 1048576.0,
        grown as f64 / 1048576.0,
        100.0 * (grown as f64 / state as f64 - 1.0),
        documented as f64 / 1048576.0,
        pairs.len(),
        minutes.len(),
        per_day.len()
    );
    assert!(
        state <= documented,
        "state_bytes {state} above the documented cost {documented}"
    );
    let ratio = grown as f64 / state as f64;
    assert!(
        (0.8..=1.2).contains(&ratio),
        "RSS grew {grown} B for state_bytes {state} B: {ratio:.2}, not within 20 %"
    );
}
