//! The report step: state → [`Reports`], the figures of one instant.
//!
//! Every figure a view shows is computed here or in the domain function
//! this step calls, once per report; the views ([`crate::views`]) only
//! encode a [`Reports`] as Prometheus families or HTML and compute nothing.
//! The step changes no figure of the state: it reads DORA, flow and
//! satisfaction state through one consistent copy-on-write version each (no
//! lock held while computing), adoption state one feature at a time under
//! its shard's lock, and ingest's counters, progress and budget as they
//! stand. The one thing it writes is each adoption sketch's tracking of its
//! estimate ([`Read::Tracked`]), so that the next report pays for what
//! changed since this one.

mod health;
mod process;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use health::{Health, LabelOverflow};

use crate::clock::Clock;
use crate::domain::adoption::{AdoptionReport, AdoptionSettings, Features, ReportBuilder};
use crate::domain::dora::{DoraReport, DoraState, FirstShip};
use crate::domain::flow::{FlowReport, FlowState};
use crate::domain::health::{HealthMetric, HealthTier};
use crate::domain::satisfaction::{SatisfactionReport, SatisfactionState};
use crate::domain::value::{self, ValueSeries};
use crate::domain::{Millis, Stream, Windows};
use crate::ingest::budget::StateBudget;
use crate::ingest::outcome::Counters;
use crate::ingest::progress::Progress;
use crate::ingest::shards::{AdoptionShared, lock};

/// What a report reads: the states and ingest's bookkeeping.
#[derive(Clone)]
pub struct Sources {
    /// DORA state, copied on write: a report clones the `Arc` and computes
    /// without holding the lock.
    pub dora: Arc<Mutex<Arc<DoraState>>>,
    /// Ingest counters.
    pub counters: Arc<Counters>,
    /// Readiness and replay progress.
    pub progress: Arc<Progress>,
    /// Feature adoption state.
    pub adoption: Arc<AdoptionShared>,
    /// What state weighs (measured by the loops that own the state).
    pub budget: Arc<StateBudget>,
    /// Topic name of each stream, indexed by [`Stream::index`].
    pub topics: [String; Stream::ALL.len()],
    /// The clock that sets "now" for the windows.
    pub clock: Clock,
    /// Work-item (flow) state, copied on write like DORA state.
    pub flow: Arc<Mutex<Arc<FlowState>>>,
    /// Satisfaction state, copied on write like DORA state.
    pub satisfaction: Arc<Mutex<Arc<SatisfactionState>>>,
}

/// The reports of one instant, computed once and shared by every view of
/// them (the metric families, the landing page).
pub struct Reports<'a> {
    /// When they were computed.
    pub now: Millis,
    /// The windows of every figure, in configured order (DORA, flow,
    /// satisfaction and adoption share them); it knows the longest.
    pub windows: &'a Windows,
    /// DORA figures.
    pub dora: DoraReport<'a>,
    /// Adoption figures, with value realization and the feedback cycle.
    pub adoption: AdoptionReport<'a>,
    /// Flow figures (work items).
    pub flow: FlowReport<'a>,
    /// Satisfaction figures.
    pub satisfaction: SatisfactionReport<'a>,
    /// The value delivery score of every DORA series with one.
    pub value: Vec<ValueSeries<'a>>,
    /// Value-stream health bands of adoption on the longest window
    /// (realization, feedback cycle), when they have data.
    pub value_stream: Vec<(HealthMetric, HealthTier)>,
    /// Label values capped to `__other__`, summed over every state.
    pub overflow: LabelOverflow,
    /// Ingest's side: records by outcome, readiness, replay, lag, window
    /// completeness, what state weighs, the process.
    pub health: Health<'a>,
}

/// Computes the reports at `now` and hands them to `view`.
pub fn with_reports<T>(s: &Sources, now: Millis, view: impl FnOnce(&Reports<'_>) -> T) -> T {
    let dora: Arc<DoraState> = lock(&s.dora).clone();
    let flow: Arc<FlowState> = lock(&s.flow).clone();
    let satisfaction: Arc<SatisfactionState> = lock(&s.satisfaction).clone();
    let ships = dora.first_ships();
    let features = lock(&s.adoption.features).clone();
    let adoption = adoption_report(
        &s.adoption,
        &s.adoption.settings,
        &ships,
        &features,
        now,
        Read::Tracked,
    );
    let windows = &dora.settings().windows;
    let dora_report = dora.report(now);
    let satisfaction = satisfaction.report(now, &ships);
    let flow = flow.report(now);
    let value = value::value_scores(&dora_report, windows, &satisfaction);
    let value_stream = adoption.value_stream_tiers(windows.longest());
    let overflow = LabelOverflow::of(&dora_report, &adoption, &flow, &satisfaction);
    let health = Health::read(s, windows, now);
    let reports = Reports {
        now,
        windows,
        dora: dora_report,
        adoption,
        flow,
        satisfaction,
        value,
        value_stream,
        overflow,
        health,
    };
    view(&reports)
}

/// How long the adoption report reads under shard locks before it yields
/// the core, so that a fold waiting for a lock gets it: about what one dense
/// sketch took to read whole.
const YIELD_EVERY: Duration = Duration::from_micros(100);

/// How [`adoption_report`] reads the sketches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// Through each sketch's tracked estimate, which costs what changed
    /// since the last tracked read: for the one schedule that repeats, the
    /// report of `/metrics` (its windows, its edges a second apart).
    Tracked,
    /// A full read that leaves the tracking alone: for any other windows
    /// (the weekly pulse), which would otherwise rebuild the tracking of
    /// both schedules every time.
    Full,
}

/// The adoption report of `a`'s shards over `settings`' windows (its own,
/// or the weekly pulse's). Shards are read one feature at a time, each under
/// its shard's lock, yielding the core once reads took [`YIELD_EVERY`], so
/// ingest never waits much longer than one feature's read; the feature
/// table is a copy (a few microseconds to take), so its lock is not held at
/// all.
pub fn adoption_report<'f>(
    a: &AdoptionShared,
    settings: &AdoptionSettings,
    ships: &[FirstShip<'f>],
    features: &'f Features,
    now: Millis,
    read: Read,
) -> AdoptionReport<'f> {
    let mut builder = ReportBuilder::new(settings, ships, features, now);
    let mut since_yield = Instant::now();
    for (_, shard) in a.shards() {
        match read {
            Read::Tracked => builder.add_active_tracked(lock(&shard).shard.active_mut()),
            Read::Full => builder.add_active(lock(&shard).shard.active()),
        }
        let ids = lock(&shard).shard.feature_ids();
        for id in ids {
            // A feature interned after the copy is reported next time.
            if id as usize >= features.len() {
                continue;
            }
            let mut guard = lock(&shard);
            match read {
                Read::Tracked => {
                    if let Some(f) = guard.shard.feature_mut(id) {
                        builder.add_feature_tracked(id, f);
                    }
                }
                Read::Full => {
                    if let Some(f) = guard.shard.feature(id) {
                        builder.add_feature(id, f);
                    }
                }
            }
            drop(guard);
            // Let a fold waiting for this shard take the lock now and then.
            // Without a yield this thread retakes the lock at once for the
            // next feature (a std mutex is not fair), and a fold that needs
            // the shard waits out the whole shard's scan: at the cap, ingest
            // lost 6–17 % while reported instead of 1–6 % (BENCHMARKS.md).
            // Once tracked reads made most features cost microseconds, a
            // yield after each of the 8 000 cost more than the reads, so it
            // comes once the reads since the last took `YIELD_EVERY`.
            if since_yield.elapsed() >= YIELD_EVERY {
                std::thread::yield_now();
                since_yield = Instant::now();
            }
        }
    }
    builder.finish(features, ships)
}

#[cfg(test)]
mod tests;
