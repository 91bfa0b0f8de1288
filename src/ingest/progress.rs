//! Replay progress, readiness and liveness of the consumer loops.
//!
//! A loop registers itself as *pending* (not ready, with a reason) until it
//! has an assignment. For each assigned partition it records the high
//! watermark captured at assignment (`target`); the process is ready when no
//! loop is pending and every partition's position has reached its target.
//! Each loop also beats a heartbeat on every poll, which `/livez` checks.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::domain::Millis;

/// One partition given to a loop, and its replay: positioned at `start`,
/// replayed once it reaches `target`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// Topic name.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// First offset to read: the first record at or after the horizon.
    pub start: i64,
    /// High watermark captured at assignment: replay is done at this
    /// offset. [`UNKNOWN_TARGET`] when the broker could not say; the loop
    /// asks again and the process is not ready meanwhile.
    pub target: i64,
    /// Whether the log may have lost records after the horizon (retention
    /// or deletion): it starts at its low watermark, which is above 0, and
    /// no older record told us it reaches back far enough. The timestamp of
    /// the first record read then says which windows are complete.
    pub may_be_truncated: bool,
}

/// The target of a partition whose high watermark is not known yet.
pub const UNKNOWN_TARGET: i64 = i64::MAX;

impl Assignment {
    /// Messages to replay from `start` to `target` (0 while unknown).
    pub fn replay_len(&self) -> i64 {
        if self.target == UNKNOWN_TARGET {
            0
        } else {
            (self.target - self.start).max(0)
        }
    }
}

/// Messages to replay over several assignments.
pub fn replay_total(entries: &[Assignment]) -> i64 {
    entries.iter().map(Assignment::replay_len).sum()
}

/// One assigned partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionProgress {
    /// High watermark captured at assignment: replay is done at this
    /// offset; [`UNKNOWN_TARGET`] until the broker says.
    pub target: i64,
    /// Offset the replay started at.
    pub start: i64,
    /// Next offset this process will read.
    pub position: i64,
    /// Latest high watermark known (from consumer statistics), for lag.
    pub high: i64,
    /// How far back the log reaches, when it may be truncated: `None` when
    /// it surely reaches the horizon, `Some(None)` until its first record is
    /// read, `Some(Some(t))` once read (`t` = that record's timestamp).
    pub earliest: Option<Option<Millis>>,
}

impl PartitionProgress {
    /// Messages still to read before the replay target (0 while unknown:
    /// readiness checks [`Self::target_known`] first).
    pub fn replay_remaining(&self) -> i64 {
        if self.target_known() {
            (self.target - self.position).max(0)
        } else {
            0
        }
    }

    /// Whether the replay target is known.
    pub fn target_known(&self) -> bool {
        self.target != UNKNOWN_TARGET
    }

    /// Messages behind the latest known high watermark.
    pub fn lag(&self) -> i64 {
        let target = if self.target_known() { self.target } else { 0 };
        (self.high.max(target) - self.position).max(0)
    }

    /// Whether this partition holds everything at or after `edge`
    /// (epoch ms): its log reaches back past the edge.
    pub fn holds_since(&self, edge: Millis) -> bool {
        match self.earliest {
            None => true,
            Some(None) => false,
            Some(Some(t)) => t <= edge,
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    /// Loop name → why it is not ready yet.
    pending: BTreeMap<&'static str, String>,
    /// Loop name → last heartbeat.
    heartbeats: BTreeMap<&'static str, Millis>,
    /// (topic, partition) → progress.
    partitions: BTreeMap<(String, i32), PartitionProgress>,
}

/// Shared between the consumer loops, `/readyz`, `/livez` and `/metrics`.
#[derive(Debug, Default)]
pub struct Progress {
    inner: Mutex<Inner>,
    /// Latched once ready, so readiness does not flap while new messages
    /// keep arriving after replay.
    replayed: AtomicBool,
    /// Feature-usage consumers recreated since start, per [`Recreation::ALL`].
    recreations: [AtomicU64; Recreation::ALL.len()],
}

/// Why the feature-usage consumer was recreated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recreation {
    /// The watchdog saw no assignment for too long after a revocation.
    Stalled,
    /// librdkafka reported a fatal error.
    Fatal,
}

impl Recreation {
    /// Every reason, in label order.
    pub const ALL: [Self; 2] = [Self::Stalled, Self::Fatal];

    /// The `reason` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stalled => "stalled",
            Self::Fatal => "fatal",
        }
    }
}

/// Why the process is not ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotReady(pub String);

impl Progress {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts a recreation of the feature-usage consumer.
    pub fn note_recreated(&self, why: Recreation) {
        let i = Recreation::ALL.iter().position(|r| *r == why).unwrap_or(0);
        self.recreations[i].fetch_add(1, Ordering::Relaxed);
    }

    /// Feature-usage consumer recreations since start, per [`Recreation::ALL`].
    pub fn recreations(&self) -> [u64; Recreation::ALL.len()] {
        self.recreations
            .each_ref()
            .map(|n| n.load(Ordering::Relaxed))
    }

    /// Marks a loop as not ready, with a reason shown by `/readyz`.
    pub fn set_pending(&self, name: &'static str, reason: impl Into<String>) {
        self.lock().pending.insert(name, reason.into());
        self.replayed.store(false, Ordering::Relaxed);
    }

    /// Replaces the partitions of `topics` with a new assignment and clears
    /// the loop's pending state.
    pub fn assign(&self, name: &'static str, topics: &[&str], entries: &[Assignment]) {
        self.lock()
            .partitions
            .retain(|(t, _), _| !topics.contains(&t.as_str()));
        self.add(name, entries);
    }

    /// Adds partitions to the assignment of `name` (incremental, cooperative
    /// rebalancing) and clears its pending state.
    pub fn add(&self, name: &'static str, entries: &[Assignment]) {
        let mut g = self.lock();
        for e in entries {
            g.partitions.insert(
                (e.topic.clone(), e.partition),
                PartitionProgress {
                    target: e.target,
                    start: e.start,
                    position: e.start,
                    high: if e.target == UNKNOWN_TARGET {
                        0
                    } else {
                        e.target
                    },
                    earliest: e.may_be_truncated.then_some(None),
                },
            );
        }
        g.pending.remove(name);
        self.replayed.store(false, Ordering::Relaxed);
    }

    /// Clears the pending state of `name` without changing partitions (a
    /// group member that was given no partitions is ready).
    pub fn clear_pending(&self, name: &'static str) {
        self.lock().pending.remove(name);
    }

    /// Whether any partition of `topic` is assigned.
    pub fn has_partitions(&self, topic: &str) -> bool {
        self.lock().partitions.keys().any(|(t, _)| t == topic)
    }

    /// Drops partitions (on revocation).
    pub fn revoke(&self, partitions: &[(String, i32)]) {
        let mut g = self.lock();
        for key in partitions {
            g.partitions.remove(key);
        }
    }

    /// Applies `f` to one partition's progress, if assigned (the topic is
    /// borrowed, so no key is allocated).
    fn update(&self, topic: &str, partition: i32, f: impl FnOnce(&mut PartitionProgress)) {
        let mut g = self.lock();
        if let Some((_, p)) = g
            .partitions
            .iter_mut()
            .find(|((t, p), _)| t == topic && *p == partition)
        {
            f(p);
        }
    }

    /// Records the next offset of one partition.
    pub fn advance_one(&self, topic: &str, partition: i32, position: i64) {
        self.update(topic, partition, |p| p.position = p.position.max(position));
    }

    /// Sets the replay target of a partition whose watermark was unknown.
    pub fn set_target(&self, topic: &str, partition: i32, target: i64) {
        self.update(topic, partition, |p| {
            if !p.target_known() {
                p.target = target;
                p.high = p.high.max(target);
            }
        });
    }

    /// Partitions of `topic` whose replay target is not known yet.
    pub fn unknown_targets(&self, topic: &str) -> Vec<i32> {
        self.lock()
            .partitions
            .iter()
            .filter(|((t, _), p)| t == topic && !p.target_known())
            .map(|((_, partition), _)| *partition)
            .collect()
    }

    /// Notes the timestamp of a record read from a partition that may be
    /// truncated: the first one read at its start offset says how far back
    /// the log reaches. Returns whether the partition still waited for it.
    pub fn note_earliest(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        timestamp: Millis,
    ) -> bool {
        let mut noted = false;
        self.update(topic, partition, |p| {
            if p.earliest == Some(None) && offset == p.start {
                p.earliest = Some(Some(timestamp));
                noted = true;
            }
        });
        noted
    }

    /// Partitions that wait for the timestamp of their first record.
    pub fn awaiting_earliest(&self, topic: &str) -> Vec<i32> {
        self.lock()
            .partitions
            .iter()
            .filter(|((t, _), p)| t == topic && p.earliest == Some(None))
            .map(|((_, partition), _)| *partition)
            .collect()
    }

    /// Whether every assigned partition of `topic` holds everything at or
    /// after `edge` (epoch ms): the window ending now with that edge is
    /// complete. True for a topic with no partition assigned here (nothing
    /// this process reports is missing; readiness covers the startup).
    pub fn window_complete(&self, topic: &str, edge: Millis) -> bool {
        self.lock()
            .partitions
            .iter()
            .filter(|((t, _), _)| t == topic)
            .all(|(_, p)| p.holds_since(edge))
    }

    /// Records the latest high watermark of a partition.
    pub fn set_high(&self, topic: &str, partition: i32, high: i64) {
        self.update(topic, partition, |p| p.high = high);
    }

    /// Notes that a loop is alive at `now`.
    pub fn heartbeat(&self, name: &'static str, now: Millis) {
        self.lock().heartbeats.insert(name, now);
    }

    /// The oldest heartbeat of all loops, if any loop has started.
    pub fn oldest_heartbeat(&self) -> Option<(&'static str, Millis)> {
        self.lock()
            .heartbeats
            .iter()
            .min_by_key(|(_, t)| **t)
            .map(|(n, t)| (*n, *t))
    }

    /// Ready, or why not.
    pub fn readiness(&self) -> Result<(), NotReady> {
        if self.replayed.load(Ordering::Relaxed) {
            return Ok(());
        }
        let g = self.lock();
        if let Some((name, reason)) = g.pending.iter().next() {
            return Err(NotReady(format!("{name}: {reason}")));
        }
        if g.heartbeats.is_empty() {
            return Err(NotReady("starting".into()));
        }
        if let Some(((topic, partition), _)) = g.partitions.iter().find(|(_, p)| !p.target_known())
        {
            return Err(NotReady(format!(
                "the high watermark of {topic}[{partition}] is not known yet"
            )));
        }
        let behind: Vec<_> = g
            .partitions
            .iter()
            .filter(|(_, p)| p.replay_remaining() > 0)
            .collect();
        if let Some(((topic, partition), p)) = behind.first() {
            let remaining: i64 = behind.iter().map(|(_, p)| p.replay_remaining()).sum();
            return Err(NotReady(format!(
                "replaying: {remaining} messages left in {} partitions (e.g. {topic}[{partition}] at {} of {})",
                behind.len(),
                p.position,
                p.target
            )));
        }
        drop(g);
        self.replayed.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// A copy of every partition's progress, for rendering.
    pub fn partitions(&self) -> Vec<((String, i32), PartitionProgress)> {
        self.lock()
            .partitions
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }
}

#[cfg(test)]
mod tests;
