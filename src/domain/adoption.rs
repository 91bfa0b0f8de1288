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
use hdrhistogram::Histogram;
use rustc_hash::FxHashMap;

use super::dora::{FirstShip, HISTOGRAM_SIGFIG, Quantiles, Samples};
use super::event::Outcome;
use super::labels::{LabelId, Labels};
use super::time::{DAY_MS, Millis, TimeCheck, TimePolicy, Window};

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

/// Merged usage of the buckets between two cut points.
#[derive(Default)]
struct Segment {
    users: Sketch,
    events: u64,
    /// Earliest per-bucket first usage at or after the feature's first ship.
    first_use: Option<Millis>,
}

/// Per-feature accumulator of a [`Merger`].
struct FeatureAcc {
    /// Cut points, descending: segment `k` holds buckets with start in
    /// `[cuts[k], cuts[k - 1])` (`cuts[-1]` = +∞).
    cuts: Vec<Millis>,
    segments: Vec<Segment>,
    /// First ship of the feature, when shipped.
    shipped_at: Option<Millis>,
}

impl FeatureAcc {
    fn new(cuts: Vec<Millis>, shipped_at: Option<Millis>) -> Self {
        let segments = cuts.iter().map(|_| Segment::default()).collect();
        Self {
            cuts,
            segments,
            shipped_at,
        }
    }
}

/// Index of the segment holding a bucket that starts at `start`.
#[inline]
fn segment_of(cuts: &[Millis], start: Millis) -> Option<usize> {
    cuts.iter().position(|&c| start >= c)
}

/// Sorted descending, without duplicates.
fn descending_unique(mut cuts: Vec<Millis>) -> Vec<Millis> {
    cuts.sort_unstable_by(|a, b| b.cmp(a));
    cuts.dedup();
    cuts
}

/// Cumulative figures of the union of all buckets starting at or after a cut.
#[derive(Clone, Copy, Default)]
struct Union {
    users: u64,
    events: u64,
    first_use: Option<Millis>,
}

/// Unions segments from the newest outward; element `k` of the result covers
/// every bucket starting at or after `cuts[k]`.
fn cumulative(segments: Vec<Segment>) -> Vec<Union> {
    let mut running = Sketch::new();
    let mut events = 0;
    let mut first_use: Option<Millis> = None;
    segments
        .into_iter()
        .map(|seg| {
            running.merge(&seg.users);
            events += seg.events;
            first_use = min_opt(first_use, seg.first_use);
            Union {
                users: estimate(&running),
                events,
                first_use,
            }
        })
        .collect()
}

fn min_opt(a: Option<Millis>, b: Option<Millis>) -> Option<Millis> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Scrape-time accumulator: merges buckets of any number of shards, then
/// reports.
pub struct Merger {
    now: Millis,
    windows: Vec<Window>,
    longest: usize,
    bucket: Millis,
    min_users: u64,
    /// Smallest bucket start inside each window, in configured order.
    window_lowers: Vec<Millis>,
    /// The window lowers, descending and unique.
    window_cuts: Vec<Millis>,
    /// Active users per window segment.
    active: Vec<Segment>,
    features: FxHashMap<FeatureId, FeatureAcc>,
    /// Buckets starting before this matter to nothing.
    floor: Millis,
}

impl Merger {
    /// Starts a report at scrape time `now`. `ships` is the first shipping of
    /// each feature (from `DoraState::first_ships`); pass the same slice to
    /// [`Merger::finish`].
    pub fn new(
        s: &AdoptionSettings,
        ships: &[FirstShip<'_>],
        features: &Features,
        now: Millis,
    ) -> Self {
        assert!(s.bucket > 0, "bucket width must be positive");
        // A bucket is in window w iff start + bucket > now - w.
        let window_lowers: Vec<Millis> = s
            .windows
            .iter()
            .map(|w| now - w.width - s.bucket + 1)
            .collect();
        let window_cuts = descending_unique(window_lowers.clone());
        let mut floor = window_cuts.last().copied().unwrap_or(Millis::MAX);
        let mut accs = FxHashMap::default();
        for ship in ships {
            let Some(id) = features.get(ship.feature) else {
                continue;
            };
            let ship_floor = s.bucket_floor(ship.at);
            floor = floor.min(ship_floor);
            let mut cuts = window_cuts.clone();
            cuts.push(ship_floor);
            accs.insert(id, FeatureAcc::new(descending_unique(cuts), Some(ship.at)));
        }
        Self {
            now,
            windows: s.windows.clone(),
            longest: s.longest(),
            bucket: s.bucket,
            min_users: s.min_users,
            active: window_cuts.iter().map(|_| Segment::default()).collect(),
            window_lowers,
            window_cuts,
            features: accs,
            floor,
        }
    }

    /// Merges one bucket (of any shard) that starts at `start`.
    pub fn add(&mut self, start: Millis, bucket: &Bucket) {
        if start < self.floor {
            return;
        }
        if let Some(k) = segment_of(&self.window_cuts, start) {
            self.active[k].users.merge(&bucket.active);
        }
        let in_windows = start >= *self.window_cuts.last().unwrap_or(&Millis::MAX);
        for (&id, usage) in &bucket.features {
            if !in_windows && !self.features.contains_key(&id) {
                continue;
            }
            let acc = self
                .features
                .entry(id)
                .or_insert_with(|| FeatureAcc::new(self.window_cuts.clone(), None));
            let Some(k) = segment_of(&acc.cuts, start) else {
                continue;
            };
            let seg = &mut acc.segments[k];
            seg.users.merge(&usage.users);
            seg.events += usage.events;
            if let Some(shipped_at) = acc.shipped_at
                && start >= shipped_at.div_euclid(self.bucket) * self.bucket
                && usage.earliest >= shipped_at
            {
                seg.first_use = min_opt(seg.first_use, Some(usage.earliest));
            }
        }
    }

    /// The report. `features` must be the table the merged buckets' ids come
    /// from and `ships` the slice given to [`Merger::new`]; names borrow from
    /// them.
    pub fn finish<'f>(self, features: &'f Features, ships: &[FirstShip<'f>]) -> AdoptionReport<'f> {
        let nw = self.windows.len();
        let cut_index = |cuts: &[Millis], t: Millis| {
            cuts.iter()
                .position(|&c| c == t)
                .expect("every cut looked up was inserted")
        };

        let active_union = cumulative(self.active);
        let active_users: Vec<u64> = self
            .window_lowers
            .iter()
            .map(|&l| active_union[cut_index(&self.window_cuts, l)].users)
            .collect();

        let ship_of: FxHashMap<FeatureId, &FirstShip<'f>> = ships
            .iter()
            .filter_map(|sh| features.get(sh.feature).map(|id| (id, sh)))
            .collect();

        let mut report_features = Vec::new();
        // Since-ship figures: (users since ship, first use time).
        let mut since_ship: FxHashMap<FeatureId, (u64, Option<Millis>)> = FxHashMap::default();
        for (id, acc) in self.features {
            let union = cumulative(acc.segments);
            if let Some(shipped_at) = acc.shipped_at {
                let k = cut_index(&acc.cuts, shipped_at.div_euclid(self.bucket) * self.bucket);
                since_ship.insert(id, (union[k].users, union[k].first_use));
            }
            let at_window = |w: usize| union[cut_index(&acc.cuts, self.window_lowers[w])];
            if at_window(self.longest).events == 0 {
                continue;
            }
            let users: Vec<u64> = (0..nw).map(|w| at_window(w).users).collect();
            let events: Vec<u64> = (0..nw).map(|w| at_window(w).events).collect();
            let adoption_ratio = (0..nw)
                .map(|w| {
                    // Both figures are estimates; a feature's users are a
                    // subset of the active users, so the ratio is capped at 1.
                    (active_users[w] > 0)
                        .then(|| (users[w] as f64 / active_users[w] as f64).min(1.0))
                })
                .collect();
            let ship = ship_of.get(&id);
            report_features.push(FeatureReport {
                feature: features.name(id),
                service: ship.map(|s| s.service),
                team: ship.map(|s| s.team),
                users,
                events,
                adoption_ratio,
            });
        }
        report_features.sort_by(|a, b| a.feature.cmp(b.feature));

        let mut shipped_features: Vec<ShippedFeature<'f>> = ships
            .iter()
            .map(|sh| {
                let (users_since_ship, first_use) = features
                    .get(sh.feature)
                    .and_then(|id| since_ship.get(&id).copied())
                    .unwrap_or((0, None));
                ShippedFeature {
                    feature: sh.feature,
                    service: sh.service,
                    team: sh.team,
                    shipped_at: sh.at,
                    users_since_ship,
                    time_to_first_use: first_use.map(|t| t - sh.at),
                }
            })
            .collect();
        shipped_features.sort_by(|a, b| a.feature.cmp(b.feature));

        // Largest trackable value: 100 years in milliseconds, as for DORA.
        let mut scratch =
            Histogram::new_with_bounds(1, 100 * 365 * DAY_MS as u64, HISTOGRAM_SIGFIG)
                .expect("static histogram bounds are valid");
        let mut shipped = vec![0; nw];
        let mut used = vec![0; nw];
        let mut feedback_cycle = Vec::with_capacity(nw);
        for (w, window) in self.windows.iter().enumerate() {
            let mut samples = Samples::default();
            for f in &shipped_features {
                if !window.contains(f.shipped_at, self.now) {
                    continue;
                }
                shipped[w] += 1;
                used[w] += u64::from(f.users_since_ship >= self.min_users);
                if let Some(ttfu) = f.time_to_first_use {
                    samples.record(ttfu as u64);
                }
            }
            feedback_cycle.push(samples.quantiles(&mut scratch));
        }

        AdoptionReport {
            features: report_features,
            active_users,
            shipped,
            used,
            feedback_cycle,
            overflow: features.overflow(),
            shipped_features,
        }
    }
}

/// Feature-adoption figures at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct AdoptionReport<'a> {
    /// One entry per feature with at least one usage event in the longest
    /// window ([`OTHER`](super::labels::OTHER) included), sorted by name.
    pub features: Vec<FeatureReport<'a>>,
    /// Distinct users over all features, per window (aligned with
    /// [`AdoptionSettings::windows`]).
    pub active_users: Vec<u64>,
    /// Features whose first ship is in the window (`at >= now - w`), per
    /// window.
    pub shipped: Vec<u64>,
    /// Of those, features with at least `min_users` distinct users since
    /// shipping, per window.
    pub used: Vec<u64>,
    /// Time to first use (seconds) of the features shipped in the window that
    /// have a first use, per window; `None` without samples. Nearest-rank
    /// quantiles as for DORA.
    pub feedback_cycle: Vec<Option<Quantiles>>,
    /// Events folded into [`OTHER`](super::labels::OTHER) (= [`Features::overflow`]).
    pub overflow: u64,
    /// Every shipped feature, sorted by name.
    pub shipped_features: Vec<ShippedFeature<'a>>,
}

/// Usage figures of one feature.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureReport<'a> {
    /// Feature name (or [`OTHER`](super::labels::OTHER)).
    pub feature: &'a str,
    /// Service of the feature's first ship, when known.
    pub service: Option<&'a str>,
    /// Team of the feature's first ship, when known.
    pub team: Option<&'a str>,
    /// Distinct users (sketch estimate), per window.
    pub users: Vec<u64>,
    /// Usage events (exact), per window.
    pub events: Vec<u64>,
    /// `users / active users` (capped at 1), per window; `None` when there
    /// were no active users.
    pub adoption_ratio: Vec<Option<f64>>,
}

/// Shipping figures of one shipped feature.
#[derive(Debug, Clone, PartialEq)]
pub struct ShippedFeature<'a> {
    /// Feature name.
    pub feature: &'a str,
    /// Service of the first ship.
    pub service: &'a str,
    /// Team of the first ship.
    pub team: &'a str,
    /// Time of the first ship.
    pub shipped_at: Millis,
    /// Distinct users since shipping, as far as this process holds usage: the
    /// union of the feature's sketches over buckets that start at or after
    /// the bucket holding `shipped_at`. This may include users of the part of
    /// that bucket before `shipped_at`. 0 for a feature beyond the cap.
    pub users_since_ship: u64,
    /// Earliest usage at or after `shipped_at`, minus `shipped_at`; `None` if
    /// never used since (or beyond the cap). Read from each (feature,
    /// bucket)'s earliest usage over buckets starting at or after the bucket
    /// holding `shipped_at`, keeping only times at or after `shipped_at`.
    /// Exact whenever no usage of the feature precedes its shipping within
    /// that same bucket; otherwise that bucket is skipped and a later first
    /// use (from a later bucket) is reported.
    pub time_to_first_use: Option<Millis>,
}

#[cfg(test)]
#[path = "adoption_tests.rs"]
mod tests;
