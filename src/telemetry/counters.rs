//! Ingest counters: records by topic and outcome, invalid records by reason.
//! Plain atomics, added to once per batch; rendered by the collector.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::domain::Outcome;
use crate::domain::event::InvalidReason;
use crate::ingest::Stream;

const STREAMS: usize = Stream::ALL.len();
const OUTCOMES: usize = Outcome::ALL.len();
const REASONS: usize = InvalidReason::ALL.len();

/// Counts per stream.
#[derive(Debug, Default)]
pub struct Counters {
    events: [[AtomicU64; OUTCOMES]; STREAMS],
    invalid: [[AtomicU64; REASONS]; STREAMS],
}

/// Counts gathered over one batch, then added to [`Counters`] at once.
#[derive(Debug, Default, Clone)]
pub struct BatchCounts {
    /// Per stream and outcome.
    pub events: [[u64; OUTCOMES]; STREAMS],
    /// Per stream and invalid reason.
    pub invalid: [[u64; REASONS]; STREAMS],
}

impl BatchCounts {
    /// Counts one record.
    #[inline]
    pub fn outcome(&mut self, stream: Stream, outcome: Outcome) {
        self.events[stream.index()][outcome.index()] += 1;
    }

    /// Counts one invalid record (its outcome too).
    #[inline]
    pub fn invalid(&mut self, stream: Stream, reason: InvalidReason) {
        self.outcome(stream, Outcome::Invalid);
        self.invalid[stream.index()][reason.index()] += 1;
    }
}

impl Counters {
    /// Adds a batch's counts.
    pub fn add(&self, batch: &BatchCounts) {
        for s in 0..STREAMS {
            for o in 0..OUTCOMES {
                if batch.events[s][o] > 0 {
                    self.events[s][o].fetch_add(batch.events[s][o], Ordering::Relaxed);
                }
            }
            for r in 0..REASONS {
                if batch.invalid[s][r] > 0 {
                    self.invalid[s][r].fetch_add(batch.invalid[s][r], Ordering::Relaxed);
                }
            }
        }
    }

    /// Records of `stream` with `outcome` so far.
    pub fn events(&self, stream: Stream, outcome: Outcome) -> u64 {
        self.events[stream.index()][outcome.index()].load(Ordering::Relaxed)
    }

    /// Invalid records of `stream` for `reason` so far.
    pub fn invalid(&self, stream: Stream, reason: InvalidReason) -> u64 {
        self.invalid[stream.index()][reason.index()].load(Ordering::Relaxed)
    }
}
