//! The adoption state of this process: one shard per owned feature-usage
//! partition, with the guards that keep a partition's records folded once,
//! and the feature names interned once for all partitions. Written by the
//! usage loop (folding, rebalances), read by the collector at scrape time.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::budget::{Component, StateBudget};
use crate::domain::adoption::{AdoptionSettings, Features, Shard, ShardBytes};

/// One partition's state and its guards.
#[derive(Default)]
pub struct PartitionShard {
    /// Usage aggregates of the partition.
    pub shard: Shard,
    /// Next offset to fold; an earlier record was folded already.
    pub next_offset: i64,
    /// Rebalance generation that created this shard: a record polled before
    /// it (still in a batch when the partition was revoked and assigned
    /// again) belongs to the old assignment and is left to the replay.
    pub generation: u64,
}

/// Adoption state of this process, shared by the consumer and the collector.
pub struct AdoptionShared {
    /// Windows, caps.
    pub settings: AdoptionSettings,
    /// What state weighs; its level decides whether new features and new
    /// usage are admitted.
    pub budget: Arc<StateBudget>,
    /// Feature names, interned once for all partitions.
    pub features: Mutex<Features>,
    /// Owned partition → its shard.
    pub shards: Mutex<BTreeMap<i32, Arc<Mutex<PartitionShard>>>>,
}

/// Locks a mutex, recovering from poisoning (state stays usable: every
/// mutation is a single fold).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl AdoptionShared {
    /// Empty state under `budget`.
    pub fn new(settings: AdoptionSettings, budget: Arc<StateBudget>) -> Self {
        Self {
            features: Mutex::new(Features::new(settings.max_features)),
            settings,
            budget,
            shards: Mutex::new(BTreeMap::new()),
        }
    }

    /// Measures the adoption state (each shard under its own lock, briefly)
    /// and records it in the budget.
    pub fn measure(&self) -> ShardBytes {
        let mut total = ShardBytes::default();
        for (_, shard) in self.shards() {
            let b = lock(&shard).shard.heap_bytes();
            total.sketches += b.sketches;
            total.counts += b.counts;
            total.index += b.index;
        }
        let labels = lock(&self.features).heap_bytes();
        self.budget.set(&[
            (Component::AdoptionSketches, total.sketches),
            (Component::AdoptionCounts, total.counts),
            (Component::AdoptionIndex, total.index),
            (Component::FeatureLabels, labels),
        ]);
        total
    }

    /// The shards currently owned, cloned out so no map lock is held.
    pub fn shards(&self) -> Vec<(i32, Arc<Mutex<PartitionShard>>)> {
        lock(&self.shards)
            .iter()
            .map(|(p, s)| (*p, s.clone()))
            .collect()
    }
}
