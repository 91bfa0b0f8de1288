//! Scrape-time report of adoption state: [`Merger`] unions buckets of any
//! number of shards into per-window and since-ship figures.

use rustc_hash::FxHashMap;

use super::{AdoptionSettings, Bucket, FeatureId, Features, Sketch, estimate};
use crate::domain::dora::FirstShip;
use crate::domain::quantiles::{self, Quantiles, Samples};
use crate::domain::time::{Millis, Window};

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

        let mut scratch = quantiles::scratch();
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
    /// window ([`OTHER`](crate::domain::labels::OTHER) included), sorted by name.
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
    /// Events folded into [`OTHER`](crate::domain::labels::OTHER) (= [`Features::overflow`]).
    pub overflow: u64,
    /// Every shipped feature, sorted by name.
    pub shipped_features: Vec<ShippedFeature<'a>>,
}

/// Usage figures of one feature.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureReport<'a> {
    /// Feature name (or [`OTHER`](crate::domain::labels::OTHER)).
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
