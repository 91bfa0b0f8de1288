//! What happens to each Kafka record, counted and logged in one place.
//!
//! Every record ends in one [`Outcome`]. Following vector's *internal
//! events*, each thing that can happen to a record is a small type
//! ([`FoldedRecord`], [`DuplicateRecord`], [`LateRecord`], [`FutureRecord`],
//! [`InvalidRecord`], [`OversizedRecord`], [`UnsupportedRecord`],
//! [`OverBudgetRecord`]) whose one
//! [`InternalEvent::emit`] both counts it and writes its log line, naming
//! the record's topic, partition and offset (never its payload), so the
//! count and the log cannot drift apart. [`emit`] picks the event for a
//! record's fate.
//!
//! Counts go into the batch's [`BatchCounts`] and are added to the shared
//! [`Counters`] once per batch: no atomic and no lock per record. The
//! collector reads [`Counters`] at scrape time (`valuepulse_events_total`,
//! `valuepulse_events_invalid_total`).
//!
//! Log lines are rate-limited, counts never: each logged kind writes at most
//! [`LOG_LINES_PER_SECOND`] lines a second ([`LogBudget`]); the next line
//! written after a suppression carries `suppressed = n`, the lines skipped
//! since the last one, so a flood of bad records cannot flood the logs and
//! the log still says how many there were.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use super::Stream;
use super::decode::DecodeError;
use crate::domain::Outcome;
use crate::domain::event::InvalidReason;

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

/// Most log lines a second per kind of logged record (invalid, oversized,
/// late, future, duplicate, unsupported). Counting is never limited.
pub const LOG_LINES_PER_SECOND: u32 = 10;

/// The log-line budget of one kind of line: [`LOG_LINES_PER_SECOND`] lines
/// per wall-clock second ([`LogBudget::new`]), or `lines` per window of
/// `window` seconds ([`LogBudget::per`]), lock-free.
#[derive(Debug)]
pub struct LogBudget {
    /// The window the budget is counting (Unix seconds / window).
    second: AtomicU64,
    /// Lines written in that window.
    used: AtomicU32,
    /// Lines skipped since the last one written.
    suppressed: AtomicU64,
    /// Lines allowed per window.
    lines: u32,
    /// Seconds per window (at least 1).
    window: u64,
}

impl LogBudget {
    /// A full budget of [`LOG_LINES_PER_SECOND`] lines a second.
    pub const fn new() -> Self {
        Self::per(LOG_LINES_PER_SECOND, 1)
    }

    /// A full budget of `lines` lines per `window` seconds.
    pub const fn per(lines: u32, window: u64) -> Self {
        Self {
            second: AtomicU64::new(0),
            used: AtomicU32::new(0),
            suppressed: AtomicU64::new(0),
            lines,
            window: if window == 0 { 1 } else { window },
        }
    }

    /// Whether a line may be written now: `Some(lines skipped before it)`,
    /// or `None` (counted as skipped).
    pub fn take(&self) -> Option<u64> {
        let now = crate::clock::now_secs();
        self.take_at(now)
    }

    /// As [`LogBudget::take`], at Unix second `now`.
    pub fn take_at(&self, now: u64) -> Option<u64> {
        let now = now / self.window;
        let current = self.second.load(Ordering::Relaxed);
        if now != current
            && self
                .second
                .compare_exchange(current, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.used.store(0, Ordering::Relaxed);
        }
        if self.used.fetch_add(1, Ordering::Relaxed) < self.lines {
            Some(self.suppressed.swap(0, Ordering::Relaxed))
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

impl Default for LogBudget {
    fn default() -> Self {
        Self::new()
    }
}

static DUPLICATE_LOGS: LogBudget = LogBudget::new();
static LATE_LOGS: LogBudget = LogBudget::new();
static FUTURE_LOGS: LogBudget = LogBudget::new();
static INVALID_LOGS: LogBudget = LogBudget::new();
static OVERSIZED_LOGS: LogBudget = LogBudget::new();
static UNSUPPORTED_LOGS: LogBudget = LogBudget::new();

/// Where a record sits in Kafka: what every log line about it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position<'a> {
    /// Topic name.
    pub topic: &'a str,
    /// Partition.
    pub partition: i32,
    /// Offset of the record.
    pub offset: i64,
}

/// One thing that happened to one record.
pub trait InternalEvent {
    /// Counts the record into `counts` under `stream` and logs it, if its
    /// kind is logged, at `at`.
    fn emit(self, stream: Stream, at: Position<'_>, counts: &mut BatchCounts);
}

/// Folded into state: accepted, updated, or ignored (an environment DORA
/// does not track). Counted, not logged: most records end here.
#[derive(Debug, Clone, Copy)]
pub struct FoldedRecord(pub Outcome);

impl InternalEvent for FoldedRecord {
    #[inline]
    fn emit(self, stream: Stream, _: Position<'_>, counts: &mut BatchCounts) {
        counts.outcome(stream, self.0);
    }
}

/// An identical redelivery (DORA), or a record at or before the offset
/// already folded (usage). Logged at debug: redeliveries are normal.
#[derive(Debug, Clone, Copy)]
pub struct DuplicateRecord;

impl InternalEvent for DuplicateRecord {
    fn emit(self, stream: Stream, at: Position<'_>, counts: &mut BatchCounts) {
        counts.outcome(stream, Outcome::Duplicate);
        if let Some(suppressed) = DUPLICATE_LOGS.take() {
            tracing::debug!(
                topic = at.topic,
                partition = at.partition,
                offset = at.offset,
                suppressed,
                "Skipped duplicate event."
            );
        }
    }
}

/// Older than the longest window plus grace.
#[derive(Debug, Clone, Copy)]
pub struct LateRecord;

impl InternalEvent for LateRecord {
    fn emit(self, stream: Stream, at: Position<'_>, counts: &mut BatchCounts) {
        counts.outcome(stream, Outcome::Late);
        if let Some(suppressed) = LATE_LOGS.take() {
            tracing::warn!(
                topic = at.topic,
                partition = at.partition,
                offset = at.offset,
                suppressed,
                "Skipped late event (older than the longest window plus grace)."
            );
        }
    }
}

/// Newer than now plus `max_clock_skew`.
#[derive(Debug, Clone, Copy)]
pub struct FutureRecord;

impl InternalEvent for FutureRecord {
    fn emit(self, stream: Stream, at: Position<'_>, counts: &mut BatchCounts) {
        counts.outcome(stream, Outcome::Future);
        if let Some(suppressed) = FUTURE_LOGS.take() {
            tracing::warn!(
                topic = at.topic,
                partition = at.partition,
                offset = at.offset,
                suppressed,
                "Skipped future event (beyond max_clock_skew)."
            );
        }
    }
}

/// Not a valid event; counted by reason too.
#[derive(Debug, Clone, Copy)]
pub struct InvalidRecord {
    /// Why, from a fixed set (never error text, which may quote the payload).
    pub reason: InvalidReason,
}

impl InternalEvent for InvalidRecord {
    fn emit(self, stream: Stream, at: Position<'_>, counts: &mut BatchCounts) {
        counts.invalid(stream, self.reason);
        if let Some(suppressed) = INVALID_LOGS.take() {
            tracing::warn!(
                topic = at.topic,
                partition = at.partition,
                offset = at.offset,
                suppressed,
                reason = self.reason.as_str(),
                "Skipped invalid event."
            );
        }
    }
}

/// Larger than `limits.max_event_bytes`.
#[derive(Debug, Clone, Copy)]
pub struct OversizedRecord {
    /// Size of the payload.
    pub bytes: usize,
}

impl InternalEvent for OversizedRecord {
    fn emit(self, stream: Stream, at: Position<'_>, counts: &mut BatchCounts) {
        counts.outcome(stream, Outcome::Oversized);
        if let Some(suppressed) = OVERSIZED_LOGS.take() {
            tracing::warn!(
                topic = at.topic,
                partition = at.partition,
                offset = at.offset,
                suppressed,
                bytes = self.bytes,
                "Skipped oversized event."
            );
        }
    }
}

/// A well-formed CloudEvent or CDEvent of a type valuepulse does not read.
/// Logged at debug: pipelines publish many such types on purpose.
#[derive(Debug, Clone, Copy)]
pub struct UnsupportedRecord;

impl InternalEvent for UnsupportedRecord {
    fn emit(self, stream: Stream, at: Position<'_>, counts: &mut BatchCounts) {
        counts.outcome(stream, Outcome::Unsupported);
        if let Some(suppressed) = UNSUPPORTED_LOGS.take() {
            tracing::debug!(
                topic = at.topic,
                partition = at.partition,
                offset = at.offset,
                suppressed,
                "Skipped a CloudEvent of a type valuepulse does not read."
            );
        }
    }
}

/// A valid usage record refused because state reached
/// `limits.max_state_bytes`. Logged at most once every 10 seconds (with how
/// many were refused since), since under overload every record ends here.
#[derive(Debug, Clone, Copy)]
pub struct OverBudgetRecord;

/// Records refused for the budget since the last log line, and when that
/// line was written (Unix seconds).
static OVER_BUDGET_SINCE_LOG: AtomicU64 = AtomicU64::new(0);
static OVER_BUDGET_LOGGED_AT: AtomicU64 = AtomicU64::new(0);

impl InternalEvent for OverBudgetRecord {
    fn emit(self, stream: Stream, at: Position<'_>, counts: &mut BatchCounts) {
        counts.outcome(stream, Outcome::OverBudget);
        let refused = OVER_BUDGET_SINCE_LOG.fetch_add(1, Ordering::Relaxed) + 1;
        let now = crate::clock::now_secs();
        let last = OVER_BUDGET_LOGGED_AT.load(Ordering::Relaxed);
        if now >= last + 10
            && OVER_BUDGET_LOGGED_AT
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            OVER_BUDGET_SINCE_LOG.store(0, Ordering::Relaxed);
            tracing::error!(
                topic = at.topic,
                partition = at.partition,
                offset = at.offset,
                refused,
                "State reached limits.max_state_bytes: refusing usage records (outcome over_budget). Raise the budget and the memory limit, or lower limits.max_features."
            );
        }
    }
}

/// A record rejected before it reached the domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejected {
    /// Larger than `limits.max_event_bytes`.
    Oversized {
        /// Size of the payload.
        bytes: usize,
    },
    /// Not a valid event.
    Invalid(InvalidReason),
    /// A CloudEvent or CDEvent of a type valuepulse does not read.
    Unsupported,
}

impl From<DecodeError> for Rejected {
    fn from(e: DecodeError) -> Self {
        match e {
            DecodeError::Invalid(r) => Rejected::Invalid(r),
            DecodeError::Unsupported => Rejected::Unsupported,
        }
    }
}

/// Emits the internal event of a record's fate: how it was rejected before
/// the domain, or the outcome folding gave it.
#[inline]
pub fn emit(
    fate: Result<Outcome, Rejected>,
    stream: Stream,
    at: Position<'_>,
    counts: &mut BatchCounts,
) {
    match fate {
        Err(Rejected::Invalid(reason)) => InvalidRecord { reason }.emit(stream, at, counts),
        Err(Rejected::Oversized { bytes }) => OversizedRecord { bytes }.emit(stream, at, counts),
        Err(Rejected::Unsupported) => UnsupportedRecord.emit(stream, at, counts),
        Ok(Outcome::Duplicate) => DuplicateRecord.emit(stream, at, counts),
        Ok(Outcome::Late) => LateRecord.emit(stream, at, counts),
        Ok(Outcome::Future) => FutureRecord.emit(stream, at, counts),
        Ok(Outcome::OverBudget) => OverBudgetRecord.emit(stream, at, counts),
        // Accepted, Updated, Ignored: folding gives no other outcome.
        Ok(outcome) => FoldedRecord(outcome).emit(stream, at, counts),
    }
}

#[cfg(test)]
mod tests;
