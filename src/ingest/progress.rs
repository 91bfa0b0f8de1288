//! Replay progress, readiness and liveness of the consumer loops.
//!
//! A loop registers itself as *pending* (not ready, with a reason) until it
//! has an assignment. For each assigned partition it records the high
//! watermark captured at assignment (`target`); the process is ready when no
//! loop is pending and every partition's position has reached its target.
//! Each loop also beats a heartbeat on every poll, which `/livez` checks.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

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
    /// High watermark captured at assignment: replay is done at this offset.
    pub target: i64,
}

impl Assignment {
    /// Messages to replay from `start` to `target`.
    pub fn replay_len(&self) -> i64 {
        (self.target - self.start).max(0)
    }
}

/// Messages to replay over several assignments.
pub fn replay_total(entries: &[Assignment]) -> i64 {
    entries.iter().map(Assignment::replay_len).sum()
}

/// One assigned partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionProgress {
    /// High watermark captured at assignment: replay is done at this offset.
    pub target: i64,
    /// Next offset this process will read.
    pub position: i64,
    /// Latest high watermark known (from consumer statistics), for lag.
    pub high: i64,
}

impl PartitionProgress {
    /// Messages still to read before the replay target.
    pub fn replay_remaining(&self) -> i64 {
        (self.target - self.position).max(0)
    }

    /// Messages behind the latest known high watermark.
    pub fn lag(&self) -> i64 {
        (self.high.max(self.target) - self.position).max(0)
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
}

/// Why the process is not ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotReady(pub String);

impl Progress {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
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
                    position: e.start,
                    high: e.target,
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
