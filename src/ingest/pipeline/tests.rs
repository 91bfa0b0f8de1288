//! Two fold workers over interleaved partitions: every partition folded in
//! order, each record once, and offsets handed back only for what was folded.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::*;
use crate::config::Config;
use crate::domain::Outcome;
use crate::ingest::Stream;
use crate::ingest::budget::StateBudget;
use crate::ingest::shards::{PartitionShard, lock};
use crate::testkit::{self, HOUR, NOW, json};

fn shared_with(partitions: &[i32]) -> Arc<AdoptionShared> {
    let c = Config::load_with_env(None, Vec::<(String, String)>::new()).unwrap();
    let shared = AdoptionShared::new(c.adoption_settings(), Arc::new(StateBudget::new(1 << 30)));
    for &p in partitions {
        lock(&shared.shards).insert(p, Arc::new(Mutex::new(PartitionShard::default())));
    }
    Arc::new(shared)
}

#[test]
fn two_workers_fold_each_partition_in_order_once_and_hand_back_its_offsets() {
    let shared = shared_with(&[0, 1, 2, 3]);
    let counters = Arc::new(Counters::default());
    let mut pipeline = Pipeline::start(
        FoldContext {
            shared: shared.clone(),
            counters: counters.clone(),
            topic: "feature-usage".into(),
            max_bytes: 65_536,
            clock: || NOW,
        },
        2,
    )
    .unwrap();
    // 25 polls of 4 partitions, one offset each, interleaved as a fetch would;
    // partition 3 repeats each record (a redelivery): duplicates.
    let payload = |p: i32, o: i64| {
        json(&testkit::usage(
            &format!("f-{p}"),
            &format!("u-{o}"),
            NOW - HOUR,
        ))
    };
    for round in 0..25 {
        for p in 0..4 {
            pipeline.push(p, round, 0, payload(p, round).as_bytes());
            if p == 3 {
                pipeline.push(p, round, 0, payload(p, round).as_bytes());
            }
        }
        let polled = pipeline.submit();
        assert_eq!(polled.len(), 4, "every partition handed over: {polled:?}");
    }
    // The offsets handed back, per partition, in the order they came,
    // until every partition reached its end.
    let mut seen: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while seen.len() < 4 || seen.values().any(|o| o.last() != Some(&25)) {
        assert!(
            std::time::Instant::now() < deadline,
            "folded so far: {seen:?}"
        );
        for (p, o) in pipeline.folded() {
            seen.entry(p).or_default().push(o);
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    pipeline.stop();
    for (p, shard) in shared.shards() {
        let ps = lock(&shard);
        assert_eq!(ps.next_offset, 25, "partition {p} folded to its end");
        let id = lock(&shared.features).get(&format!("f-{p}")).unwrap();
        assert_eq!(
            ps.shard.feature(id).map_or(0, |u| u.events.since(0)),
            25,
            "partition {p}: each record once"
        );
    }
    let usage = |o| counters.events(Stream::FeatureUsage, o);
    assert_eq!(
        (usage(Outcome::Accepted), usage(Outcome::Duplicate)),
        (100, 25)
    );
    for (p, offsets) in &seen {
        assert!(
            offsets.windows(2).all(|w| w[0] < w[1]),
            "partition {p}: offsets handed back in order: {offsets:?}"
        );
    }
}

#[test]
fn the_router_balances_what_is_owned_and_never_moves_a_partition() {
    let mut router = Router::new(2);
    // A replica owning partitions 0 and 2 of 4 still gets both workers.
    assert_eq!([router.worker(2), router.worker(0)], [0, 1]);
    assert_eq!([router.worker(0), router.worker(2)], [1, 0], "stable");
    // After a rebalance it owns 1, 2 and 3 (0 went elsewhere): the new ones
    // go to the emptier worker, 2 stays where it was.
    assert_eq!([router.worker(1), router.worker(3)], [0, 1]);
    assert_eq!(router.worker(2), 0);
    // One worker takes everything.
    let mut one = Router::new(1);
    assert_eq!([one.worker(5), one.worker(0), one.worker(9)], [0, 0, 0]);
}
