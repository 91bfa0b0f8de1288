//! Feature-adoption state: per Kafka partition, per feature, the distinct
//! users, usage events and usage seconds needed to answer every configured
//! window at its edge, and the adoption figures computed from them.
//!
//! # Shape
//!
//! Usage arrives at up to millions of events a minute on a topic keyed by user
//! id, read by a consumer group. State is therefore kept per partition (a
//! [`Shard`]): each user lives on one partition, so distinct-user counts of
//! different partitions — and of different replicas — add up. Inside a shard
//! each feature has a [`FeatureUsage`]:
//!
//! - distinct users: a [`SlidingHll`], one sketch answering every window at
//!   its exact edge (to the second) and "since the first ship";
//! - usage events and seconds: [`MinuteCounts`], exact per minute of event
//!   time (a window counts every minute that ends after its edge), with the
//!   seconds of each minute that saw usage, so the first use at or after
//!   *any* ship time is exact to the second, whatever order usage and
//!   deploys arrive in.
//!
//! The shard also keeps one [`SlidingHll`] of all its users (active users).
//! Nothing is kept per time bucket: memory grows with distinct users, busy
//! minutes per feature, bounded by the retained horizon
//! (`now − longest window − grace`), never with the number of events.
//!
//! # Hot path
//!
//! [`Shard::fold`] finds the feature in an array indexed by its small
//! integer [`FeatureId`] and updates its two structures (the sliding HLL and
//! the minute counts) and the active-user sketch: no allocation unless a
//! structure grows, no lock (the caller locks a shard once per batch run).
//! At the cap most of those structures are not in the CPU's caches, so the
//! caller folding a batch asks for them a few events ahead
//! ([`Shard::prefetch`], in three stages), and their misses overlap.
//!
//! # Report
//!
//! [`ReportBuilder`] (in `report.rs`) reads one feature of one shard at a
//! time, so a caller holds a shard's lock only for one feature's evaluation.
//! Per-shard estimates are added: users of different partitions are
//! different users.

use prefetch_index::prefetch_index;

use super::event::Outcome;
use super::labels::{LabelId, Labels};
use super::time::{Millis, TimePolicy, Windows};

pub use minute_counts::MinuteCounts;
pub use sliding_hll::{Seconds, SlidingHll, second_of};

/// Id of an interned feature name. `0` is [`OTHER`](crate::domain::labels::OTHER).
pub type FeatureId = LabelId;

/// Configuration of adoption state.
#[derive(Debug, Clone)]
pub struct AdoptionSettings {
    /// Windows to report (same as DORA), in configured order.
    pub windows: Windows,
    /// Retained horizon and late/future limits.
    pub time: TimePolicy,
    /// Most distinct feature names, not counting [`OTHER`](crate::domain::labels::OTHER).
    pub max_features: usize,
    /// A shipped feature counts as used at this many distinct users since its
    /// first ship.
    pub min_users: u64,
}

/// Stable 64-bit hash of a user id: XXH3-64 with seed 0 over the UTF-8 bytes,
/// the same in every process, platform and version.
#[inline]
pub fn hash_user(user: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(user.as_bytes())
}

/// Capped intern table of feature names, shared by all shards of a process:
/// the same mechanism as every other label ([`Labels`]), capped by
/// `limits.max_features`.
pub type Features = Labels;

/// Usage of one feature on one partition.
#[derive(Debug, Clone, Default)]
pub struct FeatureUsage {
    /// Distinct users, per window at its edge.
    pub users: SlidingHll,
    /// Usage events and busy seconds per minute.
    pub events: MinuteCounts,
}

impl FeatureUsage {
    #[inline]
    fn record(&mut self, user_hash: u64, at: Seconds) {
        self.users.insert(user_hash, at);
        self.events.add(at);
    }

    /// The first second at or after `from` in which the feature was used.
    pub fn first_use_since(&self, from: Seconds) -> Option<Seconds> {
        self.events.first_use_since(from)
    }

    fn prune(&mut self, horizon: Seconds) {
        self.users.prune(horizon);
        self.events.prune(horizon);
    }

    fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Approximate heap bytes held, by part: (users, events).
    pub fn heap_bytes(&self) -> (usize, usize) {
        (self.users.heap_bytes(), self.events.heap_bytes())
    }
}

/// Heap bytes the allocator spends per block beyond what was asked for, on
/// average (glibc malloc: an 8-byte header, sizes rounded up to 16), so that
/// `valuepulse_state_bytes` tracks resident memory rather than payload.
pub const MALLOC_OVERHEAD: usize = 16;

/// Heap bytes of one shard, by component.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShardBytes {
    /// Distinct-user sketches (features and active users).
    pub sketches: usize,
    /// Per-minute event counts and busy seconds.
    pub counts: usize,
    /// The feature map itself.
    pub index: usize,
}

impl ShardBytes {
    /// Sum of the parts.
    pub fn total(&self) -> usize {
        self.sketches + self.counts + self.index
    }
}

/// One partition's usage state.
#[derive(Debug, Default)]
pub struct Shard {
    /// Per feature id (the process's feature table hands them out densely
    /// from 0, capped by `limits.max_features`), its usage here, `None`
    /// where there is none. Indexed, not hashed: finding a feature reads one
    /// pointer from an array small enough to stay in cache, and the fold can
    /// ask for the record it points to ahead of time ([`Self::prefetch`]).
    features: Vec<Option<Box<FeatureUsage>>>,
    /// Distinct users over all features (active users).
    active: SlidingHll,
}

impl Shard {
    /// Empty shard.
    pub fn new() -> Self {
        Self::default()
    }

    /// Folds one usage event at processing time `now`: `Late` if `at` is older
    /// than the horizon, `Future` if it is beyond the tolerated clock skew,
    /// else `Accepted`.
    #[inline]
    pub fn fold(
        &mut self,
        s: &AdoptionSettings,
        feature: FeatureId,
        user_hash: u64,
        at: Millis,
        now: Millis,
    ) -> Outcome {
        if let Some(o) = Outcome::of_time(s.time.check(at, now)) {
            return o;
        }
        let second = second_of(at);
        self.active.insert(user_hash, second);
        let i = feature as usize;
        if i >= self.features.len() {
            self.features.resize_with(i + 1, || None);
        }
        self.features[i]
            .get_or_insert_with(Box::default)
            .record(user_hash, second);
        Outcome::Accepted
    }

    /// Asks the CPU to start fetching cache lines that [`Self::fold`] of
    /// this event will touch, so that a caller folding a batch can ask a few
    /// events ahead and the misses overlap instead of stalling each fold in
    /// turn. Each stage reads only what the stage before fetched:
    /// [`Prefetch::Record`] the feature's record, [`Prefetch::Lists`] its
    /// sketch register and its day, [`Prefetch::Minute`] the day's minute.
    /// A hint: it changes nothing, and a wrong guess costs only the fetch.
    #[inline]
    pub fn prefetch(&self, stage: Prefetch, feature: FeatureId, user_hash: u64, at: Millis) {
        let Some(Some(f)) = self.features.get(feature as usize) else {
            return;
        };
        match stage {
            Prefetch::Record => {
                prefetch_index(std::slice::from_ref(&f.users), 0);
                f.events.prefetch_header();
            }
            Prefetch::Lists => {
                self.active.prefetch(user_hash);
                f.users.prefetch(user_hash);
                f.events.prefetch_day(second_of(at));
            }
            Prefetch::Minute => f.events.prefetch_minute(second_of(at)),
        }
    }

    /// Drops what only matters before the horizon, and features with no
    /// usage left.
    pub fn prune(&mut self, s: &AdoptionSettings, now: Millis) {
        let horizon = second_of(s.time.horizon(now));
        self.active.prune(horizon);
        for slot in &mut self.features {
            if let Some(f) = slot {
                f.prune(horizon);
                if f.is_empty() {
                    *slot = None;
                }
            }
        }
        while self.features.last().is_some_and(Option::is_none) {
            self.features.pop();
        }
        if self.features.len() * 4 < self.features.capacity() {
            self.features.shrink_to_fit();
        }
    }

    /// Ids of the features with usage in this shard, ascending.
    pub fn feature_ids(&self) -> Vec<FeatureId> {
        self.features
            .iter()
            .enumerate()
            .filter(|(_, f)| f.is_some())
            .map(|(id, _)| id as FeatureId)
            .collect()
    }

    /// One feature's usage.
    pub fn feature(&self, id: FeatureId) -> Option<&FeatureUsage> {
        self.features.get(id as usize)?.as_deref()
    }

    /// One feature's usage, for a tracked read
    /// ([`ReportBuilder::add_feature_tracked`]).
    pub fn feature_mut(&mut self, id: FeatureId) -> Option<&mut FeatureUsage> {
        self.features.get_mut(id as usize)?.as_deref_mut()
    }

    /// The active-user sketch.
    pub fn active(&self) -> &SlidingHll {
        &self.active
    }

    /// The active-user sketch, for a tracked read
    /// ([`ReportBuilder::add_active_tracked`]).
    pub fn active_mut(&mut self) -> &mut SlidingHll {
        &mut self.active
    }

    /// Approximate heap bytes held, by component.
    pub fn heap_bytes(&self) -> ShardBytes {
        let mut b = ShardBytes {
            sketches: self.active.heap_bytes(),
            index: self.features.capacity() * std::mem::size_of::<Option<Box<FeatureUsage>>>(),
            ..ShardBytes::default()
        };
        for f in self.features.iter().flatten() {
            b.index += std::mem::size_of::<FeatureUsage>() + MALLOC_OVERHEAD;
            let (users, events) = f.heap_bytes();
            b.sketches += users;
            b.counts += events;
        }
        b
    }
}

/// The stages of [`Shard::prefetch`], in the order an event goes through
/// them, each a few events after the one before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefetch {
    /// The feature's record (its sketch's and its minute counts' headers).
    Record,
    /// Its sketch register (and the active-user sketch's), and its day.
    Lists,
    /// The day's minute and hour.
    Minute,
}

pub mod minute_counts;
mod report;
pub mod sliding_hll;
pub mod sparse_table;

pub use report::{AdoptionReport, FeatureReport, ReportBuilder, ShippedFeature};

#[cfg(test)]
mod tests;
