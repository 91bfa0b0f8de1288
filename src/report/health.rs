//! Ingest's side of a report: what became of the records, readiness,
//! replay and lag, window completeness, what state weighs, label overflow
//! and the process, read once so that every view of one report shows the
//! same figures.

use prometheus::proto::MetricFamily;

use super::Sources;
use crate::domain::adoption::AdoptionReport;
use crate::domain::dora::DoraReport;
use crate::domain::event::InvalidReason;
use crate::domain::flow::FlowReport;
use crate::domain::satisfaction::SatisfactionReport;
use crate::domain::{Millis, Outcome, Stream, Windows};
use crate::ingest::budget::BudgetLevel;
use crate::ingest::progress::Recreation;

/// Ingest's figures at one instant.
pub struct Health<'a> {
    /// Topic name of each stream, indexed by [`Stream::index`].
    pub topics: &'a [String; Stream::ALL.len()],
    /// Records by outcome since start, per stream then per [`Outcome::ALL`].
    pub events: [[u64; Outcome::ALL.len()]; Stream::ALL.len()],
    /// Invalid records by reason since start, per stream then per
    /// [`InvalidReason::ALL`].
    pub invalid: [[u64; InvalidReason::ALL.len()]; Stream::ALL.len()],
    /// Whether every assigned partition has replayed (what `/readyz` says).
    pub ready: bool,
    /// Records left to replay, per stream's topic (summed over its
    /// partitions).
    pub replay_remaining: [i64; Stream::ALL.len()],
    /// Consumer lag of every assigned partition: (topic, partition, lag).
    pub lag: Vec<(String, i32, i64)>,
    /// Whether this process holds each window's whole history, per stream's
    /// topic then per window.
    pub window_complete: [Vec<bool>; Stream::ALL.len()],
    /// Heap bytes of state per exported component label, in a fixed order.
    pub state_bytes: Vec<(&'static str, usize)>,
    /// `limits.max_state_bytes`.
    pub budget_limit: usize,
    /// How close state is to the budget.
    pub budget_level: BudgetLevel,
    /// The `process_*` families (CPU, memory, file descriptors).
    pub process: Vec<MetricFamily>,
    /// Feature-usage consumer recreations since start, per
    /// [`Recreation::ALL`].
    pub recreations: [u64; Recreation::ALL.len()],
}

impl<'a> Health<'a> {
    /// Reads ingest's bookkeeping at `now`.
    pub fn read(s: &'a Sources, windows: &Windows, now: Millis) -> Self {
        let events = Stream::ALL.map(|stream| Outcome::ALL.map(|o| s.counters.events(stream, o)));
        let invalid =
            Stream::ALL.map(|stream| InvalidReason::ALL.map(|r| s.counters.invalid(stream, r)));
        let partitions = s.progress.partitions();
        let replay_remaining = s.topics.each_ref().map(|topic| {
            partitions
                .iter()
                .filter(|((t, _), _)| t == topic)
                .map(|(_, p)| p.replay_remaining())
                .sum()
        });
        let lag = partitions
            .iter()
            .map(|((topic, partition), p)| (topic.clone(), *partition, p.lag()))
            .collect();
        let window_complete = s.topics.each_ref().map(|topic| {
            windows
                .iter()
                .map(|w| s.progress.window_complete(topic, now - w.width))
                .collect()
        });
        Self {
            topics: &s.topics,
            events,
            invalid,
            ready: s.progress.readiness().is_ok(),
            replay_remaining,
            lag,
            window_complete,
            state_bytes: s.budget.by_label(),
            budget_limit: s.budget.limit(),
            budget_level: s.budget.level(),
            process: super::process::families(),
            recreations: s.progress.recreations(),
        }
    }

    /// Records of `stream` with outcome `o` since start.
    pub fn events(&self, stream: Stream, o: Outcome) -> u64 {
        self.events[stream.index()][o.index()]
    }

    /// Invalid records of `stream` for `reason` since start.
    pub fn invalid(&self, stream: Stream, reason: InvalidReason) -> u64 {
        self.invalid[stream.index()][reason.index()]
    }
}

/// Label values capped to `__other__` (events folded into it), summed over
/// every state that caps that label: `valuepulse_label_overflow_total`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LabelOverflow {
    /// Services: DORA, flow and satisfaction.
    pub service: u64,
    /// Teams: DORA, flow and satisfaction.
    pub team: u64,
    /// Features: adoption and satisfaction.
    pub feature: u64,
}

impl LabelOverflow {
    /// The sums over the reports of one instant.
    pub fn of(
        dora: &DoraReport<'_>,
        adoption: &AdoptionReport<'_>,
        flow: &FlowReport<'_>,
        satisfaction: &SatisfactionReport<'_>,
    ) -> Self {
        Self {
            service: dora.service_overflow + flow.service_overflow + satisfaction.service_overflow,
            team: dora.team_overflow + flow.team_overflow + satisfaction.team_overflow,
            feature: adoption.overflow + satisfaction.feature_overflow,
        }
    }

    /// `(label, events)`, in the order of the label's name.
    pub fn by_label(&self) -> [(&'static str, u64); 3] {
        [
            ("feature", self.feature),
            ("service", self.service),
            ("team", self.team),
        ]
    }
}
