//! The adoption report: [`ReportBuilder`] reads features of any number of
//! shards, one at a time, and adds them up into per-window and since-ship
//! figures.

use rustc_hash::FxHashMap;

use super::minute_counts::MinuteCounts;
use super::{AdoptionSettings, FeatureId, FeatureUsage, Features, Seconds, SlidingHll, second_of};
use crate::domain::dora::FirstShip;
use crate::domain::health::{HealthMetric, HealthTier};
use crate::domain::quantiles::{self, Quantiles, Samples};
use crate::domain::time::{Millis, Windows};

/// Sums of one feature over the shards added so far.
#[derive(Default)]
struct FeatureAcc {
    /// Estimated distinct users per window (then since ship, when shipped).
    users: Vec<f64>,
    /// Usage events per window.
    events: Vec<u64>,
    /// Earliest usage second at or after the first ship.
    first_use: Option<Seconds>,
}

/// Accumulates shards into an [`AdoptionReport`] at one instant.
pub struct ReportBuilder {
    now: Millis,
    windows: Windows,
    longest: usize,
    min_users: u64,
    /// Edge of each window, in seconds.
    edges: Vec<Seconds>,
    /// First ship (its second, its millisecond) of each shipped feature.
    ship_of: FxHashMap<FeatureId, (Seconds, Millis)>,
    active: Vec<f64>,
    features: FxHashMap<FeatureId, FeatureAcc>,
    /// Scratch edge list: the window edges and one since-ship edge.
    scratch_edges: Vec<Seconds>,
    scratch_out: Vec<f64>,
    /// Scratch event counts, one per window edge.
    scratch_counts: Vec<u64>,
}

impl ReportBuilder {
    /// Starts a report at `now`. `ships` is the first shipping of each feature
    /// (from `DoraState::first_ships`); pass the same slice to
    /// [`ReportBuilder::finish`]. Features are looked up in `features`, the
    /// table the shards' ids come from.
    pub fn new(
        s: &AdoptionSettings,
        ships: &[FirstShip<'_>],
        features: &Features,
        now: Millis,
    ) -> Self {
        let edges: Vec<Seconds> = s.windows.iter().map(|w| second_of(now - w.width)).collect();
        let ship_of = ships
            .iter()
            .filter_map(|sh| {
                features
                    .get(sh.feature)
                    .map(|id| (id, (second_of(sh.at), sh.at)))
            })
            .collect();
        Self {
            now,
            windows: s.windows.clone(),
            longest: s.windows.longest(),
            min_users: s.min_users,
            active: vec![0.0; edges.len()],
            scratch_edges: Vec::with_capacity(edges.len() + 1),
            scratch_out: Vec::with_capacity(edges.len() + 1),
            scratch_counts: Vec::with_capacity(edges.len()),
            edges,
            ship_of,
            features: FxHashMap::default(),
        }
    }

    /// Adds a shard's active-user sketch.
    pub fn add_active(&mut self, active: &SlidingHll) {
        self.add_active_with(|edges, out| active.estimate(edges, out));
    }

    /// [`Self::add_active`], reading the sketch with
    /// [`SlidingHll::estimate_tracked`]: for the one report schedule that
    /// runs again and again (the report of `/metrics`).
    pub fn add_active_tracked(&mut self, active: &mut SlidingHll) {
        self.add_active_with(|edges, out| active.estimate_tracked(edges, out));
    }

    fn add_active_with(&mut self, estimate: impl FnOnce(&[Seconds], &mut [f64])) {
        self.scratch_out.clear();
        self.scratch_out.resize(self.edges.len(), 0.0);
        estimate(&self.edges, &mut self.scratch_out);
        for (a, v) in self.active.iter_mut().zip(&self.scratch_out) {
            *a += v;
        }
    }

    /// Adds one feature of one shard.
    pub fn add_feature(&mut self, id: FeatureId, usage: &FeatureUsage) {
        let users = &usage.users;
        self.scratch_counts.clear();
        let counts = self.edges.iter().map(|e| usage.events.since(*e));
        self.scratch_counts.extend(counts);
        self.add_feature_with(id, &usage.events, |edges, out| users.estimate(edges, out));
    }

    /// [`Self::add_feature`], reading the sketch with
    /// [`SlidingHll::estimate_tracked`] and the counts with
    /// [`MinuteCounts::since_tracked`] (see [`Self::add_active_tracked`]).
    pub fn add_feature_tracked(&mut self, id: FeatureId, usage: &mut FeatureUsage) {
        let FeatureUsage { users, events } = usage;
        self.scratch_counts.clear();
        self.scratch_counts.resize(self.edges.len(), 0);
        events.since_tracked(&self.edges, &mut self.scratch_counts);
        self.add_feature_with(id, events, |edges, out| users.estimate_tracked(edges, out));
    }

    /// Adds a feature whose event counts at the window edges are in
    /// `scratch_counts`, its users estimated by `estimate`.
    fn add_feature_with(
        &mut self,
        id: FeatureId,
        events: &MinuteCounts,
        estimate: impl FnOnce(&[Seconds], &mut [f64]),
    ) {
        let ship = self.ship_of.get(&id).copied();
        self.scratch_edges.clear();
        self.scratch_edges.extend_from_slice(&self.edges);
        if let Some((ship_second, _)) = ship {
            self.scratch_edges.push(ship_second);
        }
        self.scratch_out.clear();
        self.scratch_out.resize(self.scratch_edges.len(), 0.0);
        estimate(&self.scratch_edges, &mut self.scratch_out);
        let acc = self.features.entry(id).or_default();
        if acc.users.is_empty() {
            acc.users = vec![0.0; self.scratch_edges.len()];
            acc.events = vec![0; self.edges.len()];
        }
        for (a, v) in acc.users.iter_mut().zip(&self.scratch_out) {
            *a += v;
        }
        for (a, n) in acc.events.iter_mut().zip(&self.scratch_counts) {
            *a += n;
        }
        if let Some((ship_second, _)) = ship
            && let Some(first) = events.first_use_since(ship_second)
        {
            acc.first_use = Some(acc.first_use.map_or(first, |f| f.min(first)));
        }
    }

    /// The report. `features` must be the table the added features' ids come
    /// from and `ships` the slice given to [`ReportBuilder::new`]; names
    /// borrow from them.
    pub fn finish<'f>(self, features: &'f Features, ships: &[FirstShip<'f>]) -> AdoptionReport<'f> {
        let nw = self.windows.len();
        let count = |v: f64| v.round().max(0.0) as u64;
        let active_users: Vec<u64> = self.active.iter().map(|v| count(*v)).collect();

        let ship_info: FxHashMap<FeatureId, &FirstShip<'f>> = ships
            .iter()
            .filter_map(|sh| features.get(sh.feature).map(|id| (id, sh)))
            .collect();

        let mut report_features = Vec::new();
        for (id, acc) in &self.features {
            if acc.events[self.longest] == 0 {
                continue;
            }
            let users: Vec<u64> = acc.users[..nw].iter().map(|v| count(*v)).collect();
            let adoption_ratio = (0..nw)
                .map(|w| {
                    // Both figures are estimates; a feature's users are a
                    // subset of the active users, so the ratio is capped at 1.
                    (active_users[w] > 0)
                        .then(|| (users[w] as f64 / active_users[w] as f64).min(1.0))
                })
                .collect();
            let ship = ship_info.get(id);
            report_features.push(FeatureReport {
                feature: features.name(*id),
                service: ship.map(|s| s.service),
                team: ship.map(|s| s.team),
                users,
                events: acc.events.clone(),
                adoption_ratio,
            });
        }
        report_features.sort_by(|a, b| a.feature.cmp(b.feature));

        let mut shipped_features: Vec<ShippedFeature<'f>> = ships
            .iter()
            .map(|sh| {
                let acc = features
                    .get(sh.feature)
                    .and_then(|id| self.features.get(&id));
                let users_since_ship =
                    acc.map_or(0, |a| count(a.users.get(nw).copied().unwrap_or(0.0)));
                let first_use = acc.and_then(|a| a.first_use);
                ShippedFeature {
                    feature: sh.feature,
                    service: sh.service,
                    team: sh.team,
                    shipped_at: sh.at,
                    users_since_ship,
                    // A use in the ship's own second counts as at the ship.
                    time_to_first_use: first_use.map(|s| (i64::from(s) * 1000 - sh.at).max(0)),
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

impl AdoptionReport<'_> {
    /// Value realization on window `w`: features used ÷ features shipped in
    /// it (0–1), `None` when nothing shipped in it (or no such window). The
    /// one place the ratio is computed: the metric, the bands and the page
    /// read it here.
    pub fn realization(&self, w: usize) -> Option<f64> {
        let (&shipped, &used) = (self.shipped.get(w)?, self.used.get(w)?);
        (shipped > 0).then(|| used as f64 / shipped as f64)
    }

    /// The value-stream health bands of adoption on window `w` (the longest,
    /// where every band is graded): value realization, when something
    /// shipped, and the value feedback cycle (its median), when a shipped
    /// feature was used.
    pub fn value_stream_tiers(&self, w: usize) -> Vec<(HealthMetric, HealthTier)> {
        let mut out = Vec::new();
        if let Some(r) = self.realization(w) {
            let m = HealthMetric::ValueRealization;
            out.push((m, m.grade(r)));
        }
        if let Some(Some(q)) = self.feedback_cycle.get(w) {
            let m = HealthMetric::ValueFeedbackCycle;
            out.push((m, m.grade(q.values[0].1)));
        }
        out
    }
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
    /// Distinct users (sketch estimate) seen at or after each window's edge,
    /// to the second, per window.
    pub users: Vec<u64>,
    /// Usage events of the minutes that end after each window's edge, per
    /// window (exact).
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
    /// Distinct users seen at or after the second of `shipped_at`, as far as
    /// this process holds usage. 0 for a feature beyond the cap.
    pub users_since_ship: u64,
    /// The first second of usage at or after the second of `shipped_at`,
    /// minus `shipped_at` (0 for a use within the ship's own second), exact
    /// whatever the order usage and deploys arrived in; `None` if never used
    /// since (or beyond the cap).
    pub time_to_first_use: Option<Millis>,
}
