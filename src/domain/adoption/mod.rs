//! Feature-adoption state: distinct users and usage events per feature, kept
//! in time buckets per Kafka partition, and the adoption figures computed
//! from them at scrape time.
//!
//! # Shape
//!
//! Usage arrives at up to millions of events a minute on a topic keyed by user
//! id, read by a consumer group. State is therefore kept per partition (a
//! [`Shard`]): each user lives on one partition, so distinct-user counts of
//! different partitions — and of different replicas — add up. Inside a shard,
//! usage is aggregated in buckets of width [`AdoptionSettings::bucket`]
//! (default 1 h) starting at `at.div_euclid(bucket) * bucket`. Per bucket and
//! feature a bucket keeps the number of usage events (exact), a distinct-user
//! sketch and the earliest usage time; per bucket it also keeps one sketch of
//! all users (active users).
//!
//! # Windows and their edge error
//!
//! A bucket is inside window `w` at `now` iff it overlaps the window:
//! `bucket_start + bucket > now - w`. A window may thus include up to one
//! bucket width of extra history before its edge (at most 1 h of a 1 d window
//! with the default width); it never misses any. Buckets whose end is at or
//! before the retained horizon (`now - longest - grace`) are dropped.
//!
//! # Distinct counting
//!
//! User ids are hashed once per event with [`hash_user`] (XXH3-64, seed 0:
//! the same value in every process and version) and the hash goes into
//! Cloudflare's `cardinality-estimator` sketches with `insert_hash`, which
//! uses the 64 bits as they are (no second hash). The sketch counts exactly
//! up to 128 distinct users (it stores 31-bit fingerprints: two users collide
//! with probability about 2^-26, so "exactly" means barring such a collision),
//! then becomes a HyperLogLog++ sketch with `2^14` registers of 6 bits
//! (standard error 1.04/√16384 ≈ 0.81 %, 12 KiB). Sketches merge losslessly,
//! so the union over buckets, shards and replicas has the same error as one
//! sketch that saw every user.
//!
//! # Hot path
//!
//! [`Shard::fold`] looks at the newest bucket first (then the one before it,
//! then a binary search), then the bucket's feature map: a `FxHashMap` keyed
//! by the small integer [`FeatureId`]. A map rather than a `Vec` indexed by
//! id, because most features are absent from most buckets: a `Vec` would cost
//! `max_features × 24` bytes in every bucket of every shard (with 1 000
//! features and 745 hourly buckets, 18 MB per partition) while a map costs
//! ~33 bytes per feature actually used in the bucket. Folding allocates only
//! when a bucket, a feature within a bucket or a sketch grows (a sketch
//! reallocates at most 7 times in its life); nothing is locked: the caller
//! locks a shard once per batch.
//!
//! # Report
//!
//! At scrape time a [`Merger`] takes buckets of any number of shards one at a
//! time, so the caller holds a shard's lock only for one bucket merge. It
//! merges each (feature, bucket) sketch once, into the segment of time between
//! two consecutive "cut points" (window edges, and the feature's first-ship
//! bucket) the bucket falls in; [`Merger::finish`] then unions the segments
//! from the newest outward, which yields every window and the since-ship
//! figures with one merge per segment.
//!
//! # Costs (measured, release, one core)
//!
//! - Fold: ~90 ns per event with 50 features and 2 M users in dense sketches
//!   (random register access); `hash_user` ~7 ns, `Features::intern` ~5 ns.
//! - Memory per (feature, bucket): 33 B up to 2 users, ~0.5 KiB at 100,
//!   ~12 KiB once past 128 users (dense). A feature with more than 128 users
//!   per bucket per partition thus holds ~9 MB per partition over 745 hourly
//!   buckets (30 d + grace), and so do the active-user sketches.
//! - Merge: ~16 µs per dense (feature, bucket) sketch, so a scrape costs about
//!   `buckets × dense features × 16 µs` per partition.

use std::collections::VecDeque;
use std::hash::DefaultHasher;
use std::mem::size_of;

use cardinality_estimator::CardinalityEstimator;
use rustc_hash::FxHashMap;

use super::event::Outcome;
use super::labels::{LabelId, Labels};
use super::time::{Millis, TimeCheck, TimePolicy, Window};

/// Id of an interned feature name. `0` is [`OTHER`](super::labels::OTHER).
pub type FeatureId = LabelId;

/// HyperLogLog precision: `2^14` registers, standard error ≈ 0.81 %.
pub const SKETCH_PRECISION: usize = 14;

/// Bits per HyperLogLog register.
pub const SKETCH_REGISTER_BITS: usize = 6;

/// Distinct-user sketch. Only `insert_hash` is ever called, so the hasher
/// type parameter (required by the crate's signature to name `P` and `W`) is
/// never used: users are hashed by [`hash_user`].
type Sketch = CardinalityEstimator<u64, DefaultHasher, SKETCH_PRECISION, SKETCH_REGISTER_BITS>;

/// Heap bytes held by a sketch (its inline word excluded).
fn sketch_heap_bytes(sketch: &Sketch) -> usize {
    sketch.size_of().saturating_sub(size_of::<usize>())
}

/// Estimate of a sketch as a count.
fn estimate(sketch: &Sketch) -> u64 {
    sketch.estimate() as u64
}

/// Configuration of adoption state.
#[derive(Debug, Clone)]
pub struct AdoptionSettings {
    /// Windows to report (same as DORA), in configured order.
    pub windows: Vec<Window>,
    /// Retained horizon and late/future limits.
    pub time: TimePolicy,
    /// Bucket width, > 0.
    pub bucket: Millis,
    /// Most distinct feature names, not counting [`OTHER`](super::labels::OTHER).
    pub max_features: usize,
    /// A shipped feature counts as used at this many distinct users since its
    /// first ship.
    pub min_users: u64,
}

impl AdoptionSettings {
    /// Index of the longest window.
    pub fn longest(&self) -> usize {
        (0..self.windows.len())
            .max_by_key(|&i| self.windows[i].width)
            .expect("at least one window is configured")
    }

    /// Start of the bucket holding time `t`.
    #[inline]
    pub fn bucket_floor(&self, t: Millis) -> Millis {
        t.div_euclid(self.bucket) * self.bucket
    }
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

/// Usage of one feature in one bucket.
#[derive(Debug)]
struct FeatureUsage {
    /// Distinct users.
    users: Sketch,
    /// Usage events.
    events: u64,
    /// Earliest usage time.
    earliest: Millis,
}

impl FeatureUsage {
    fn new() -> Self {
        Self {
            users: Sketch::new(),
            events: 0,
            earliest: Millis::MAX,
        }
    }

    fn memory_bytes(&self) -> usize {
        sketch_heap_bytes(&self.users)
    }
}

/// Size of one entry of a bucket's feature map, with its control byte.
const FEATURE_ENTRY_BYTES: usize = size_of::<(FeatureId, FeatureUsage)>() + 1;

/// Usage aggregates of one time bucket of one shard.
#[derive(Debug)]
pub struct Bucket {
    start: Millis,
    features: FxHashMap<FeatureId, FeatureUsage>,
    /// Distinct users over all features (active users).
    active: Sketch,
}

impl Bucket {
    fn new(start: Millis) -> Self {
        Self {
            start,
            features: FxHashMap::default(),
            active: Sketch::new(),
        }
    }

    #[inline]
    fn record(&mut self, feature: FeatureId, user_hash: u64, at: Millis) {
        self.active.insert_hash(user_hash);
        let usage = self
            .features
            .entry(feature)
            .or_insert_with(FeatureUsage::new);
        usage.users.insert_hash(user_hash);
        usage.events += 1;
        usage.earliest = usage.earliest.min(at);
    }

    /// Start time of the bucket.
    pub fn start(&self) -> Millis {
        self.start
    }

    /// Usage events of `feature` in this bucket.
    pub fn events(&self, feature: FeatureId) -> u64 {
        self.features.get(&feature).map_or(0, |u| u.events)
    }

    /// Distinct users of `feature` in this bucket (sketch estimate).
    pub fn users(&self, feature: FeatureId) -> u64 {
        self.features
            .get(&feature)
            .map_or(0, |u| estimate(&u.users))
    }

    /// Distinct users of any feature in this bucket (sketch estimate).
    pub fn active_users(&self) -> u64 {
        estimate(&self.active)
    }

    /// Approximate heap bytes held: the feature map's table and every sketch.
    pub fn memory_bytes(&self) -> usize {
        self.features.capacity() * FEATURE_ENTRY_BYTES
            + sketch_heap_bytes(&self.active)
            + self
                .features
                .values()
                .map(FeatureUsage::memory_bytes)
                .sum::<usize>()
    }
}

/// One partition's usage aggregates: buckets ordered by start time.
#[derive(Debug, Default)]
pub struct Shard {
    /// Ascending by start, no two with the same start.
    buckets: VecDeque<Bucket>,
}

impl Shard {
    /// Empty shard.
    pub fn new() -> Self {
        Self::default()
    }

    /// Folds one usage event at processing time `now`: `Late` if `at` is older
    /// than the horizon, `Future` if it is beyond the tolerated clock skew,
    /// else `Accepted`. Creating a new newest bucket also drops buckets that
    /// ended at or before the horizon, so memory follows the window even if
    /// [`Shard::prune`] is never called.
    #[inline]
    pub fn fold(
        &mut self,
        s: &AdoptionSettings,
        feature: FeatureId,
        user_hash: u64,
        at: Millis,
        now: Millis,
    ) -> Outcome {
        match s.time.check(at, now) {
            TimeCheck::InRange => {}
            TimeCheck::Late => return Outcome::Late,
            TimeCheck::Future => return Outcome::Future,
        }
        let start = s.bucket_floor(at);
        let n = self.buckets.len();
        let i = if n > 0 && self.buckets[n - 1].start == start {
            n - 1
        } else if n > 1 && self.buckets[n - 2].start == start {
            n - 2
        } else {
            self.locate(s, start, now)
        };
        self.buckets[i].record(feature, user_hash, at);
        Outcome::Accepted
    }

    /// Index of the bucket starting at `start`, created if missing.
    #[cold]
    #[inline(never)]
    fn locate(&mut self, s: &AdoptionSettings, start: Millis, now: Millis) -> usize {
        match self.buckets.binary_search_by_key(&start, |b| b.start) {
            Ok(i) => i,
            Err(i) if i == self.buckets.len() => {
                self.prune(s, now);
                self.buckets.push_back(Bucket::new(start));
                self.buckets.len() - 1
            }
            Err(i) => {
                self.buckets.insert(i, Bucket::new(start));
                i
            }
        }
    }

    /// Drops buckets that ended at or before the horizon.
    pub fn prune(&mut self, s: &AdoptionSettings, now: Millis) {
        let horizon = s.time.horizon(now);
        while self
            .buckets
            .front()
            .is_some_and(|b| b.start + s.bucket <= horizon)
        {
            self.buckets.pop_front();
        }
    }

    /// Start times of the retained buckets, ascending.
    pub fn bucket_starts(&self) -> Vec<Millis> {
        self.buckets.iter().map(|b| b.start).collect()
    }

    /// The bucket starting at `start`, if retained.
    pub fn bucket(&self, start: Millis) -> Option<&Bucket> {
        self.buckets
            .binary_search_by_key(&start, |b| b.start)
            .ok()
            .map(|i| &self.buckets[i])
    }

    /// Approximate heap bytes held: the bucket ring, feature maps and
    /// sketches.
    pub fn memory_bytes(&self) -> usize {
        self.buckets.capacity() * size_of::<Bucket>()
            + self.buckets.iter().map(Bucket::memory_bytes).sum::<usize>()
    }
}

mod report;

pub use report::{AdoptionReport, FeatureReport, Merger, ShippedFeature};

#[cfg(test)]
mod tests;
