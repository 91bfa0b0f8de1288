//! One batch of plain records folded into state, without Kafka: the steps
//! each consumer loop takes per poll. The loops only turn Kafka messages
//! into [`SmallRecord`]s and [`UsageRecord`]s and call these; the unit tests
//! and the benches call them as they are.
//!
//! Both folds decode first, borrowing the payloads and outside any lock,
//! then fold under as few locks as possible, emit one internal event per
//! record ([`super::outcome`]), add the batch's counts to [`Counters`] once
//! and return the next offset of each partition for progress (and, for
//! usage, the offset store).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::Stream;
use super::budget::{BudgetLevel, Component, StateBudget};
use super::decode::{Headers, decode, decode_usage};
use super::outcome::{self, BatchCounts, Counters, Position, Rejected};
use super::shards::{AdoptionShared, lock};
use crate::config::Config;
use crate::domain::adoption::{Prefetch, hash_user};
use crate::domain::dora::DoraState;
use crate::domain::flow::FlowState;
use crate::domain::labels::LabelId;
use crate::domain::satisfaction::SatisfactionState;
use crate::domain::{Event, Millis, Outcome, Usage};

/// A record of a small topic (deploys, incidents, work items,
/// satisfaction), read by every replica.
#[derive(Debug, Clone, Copy)]
pub struct SmallRecord<'a> {
    /// Topic it came from, for logs and progress.
    pub topic: &'a str,
    /// Which stream that topic is: fixes the event type the record must hold.
    pub stream: Stream,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Record value (empty for a null value).
    pub payload: &'a [u8],
    /// The headers the decoder reads (CloudEvents framing).
    pub headers: Headers<'a>,
}

/// The states the small topics fold into. Each sits behind its own lock and
/// is copied on write: a report clones the `Arc` and computes without the
/// lock, and a batch copies only the states it touches while a report
/// still holds them.
#[derive(Clone)]
pub struct SmallStates {
    /// Deploys and incidents.
    pub dora: Arc<Mutex<Arc<DoraState>>>,
    /// Work-item transitions.
    pub flow: Arc<Mutex<Arc<FlowState>>>,
    /// Satisfaction responses.
    pub satisfaction: Arc<Mutex<Arc<SatisfactionState>>>,
}

impl SmallStates {
    /// The three states, each behind its own lock.
    pub fn new(dora: DoraState, flow: FlowState, satisfaction: SatisfactionState) -> Self {
        Self {
            dora: Arc::new(Mutex::new(Arc::new(dora))),
            flow: Arc::new(Mutex::new(Arc::new(flow))),
            satisfaction: Arc::new(Mutex::new(Arc::new(satisfaction))),
        }
    }

    /// Empty states built from the configuration.
    pub fn from_config(config: &Config) -> Self {
        Self::new(
            DoraState::new(config.dora_settings()),
            FlowState::new(config.flow_settings()),
            SatisfactionState::new(config.satisfaction_settings()),
        )
    }

    /// Measures the three states (each through its current copy-on-write
    /// version, so no lock is held while counting) and records them in the
    /// budget: the small-topics loop calls it after folding, as the usage
    /// loop measures adoption, so the budget never depends on a reader.
    pub fn measure(&self, budget: &StateBudget) {
        let dora = lock(&self.dora).clone().heap_bytes();
        let flow = lock(&self.flow).clone().heap_bytes();
        let satisfaction = lock(&self.satisfaction).clone().heap_bytes();
        budget.set(&[
            (Component::Deploys, dora.deploys),
            (Component::Incidents, dora.incidents),
            (Component::Pushes, dora.pushes),
            (Component::DoraLabels, dora.labels),
            (Component::WorkItems, flow),
            (Component::Satisfaction, satisfaction),
        ]);
    }
}

/// A record of the feature-usage topic (its topic is the same for all).
#[derive(Debug, Clone, Copy)]
pub struct UsageRecord<'a> {
    /// Partition: selects the shard.
    pub partition: i32,
    /// Offset: checked against the shard's next offset.
    pub offset: i64,
    /// Rebalance generation when the record was polled: a record older than
    /// its shard is left to the replay.
    pub generation: u64,
    /// Record value (empty for a null value).
    pub payload: &'a [u8],
}

/// The next offset to read of one partition, after a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextOffset<'a> {
    /// Topic.
    pub topic: &'a str,
    /// Partition.
    pub partition: i32,
    /// Offset after the last record of the partition that was handled.
    pub offset: i64,
}

/// Refuses a payload larger than `limits.max_event_bytes` before it is
/// decoded.
fn check_size(payload: &[u8], max_bytes: usize) -> Result<(), Rejected> {
    if payload.len() > max_bytes {
        Err(Rejected::Oversized {
            bytes: payload.len(),
        })
    } else {
        Ok(())
    }
}

/// Which state an event folds into.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Dora,
    Flow,
    Satisfaction,
}

fn target(event: &Event<'_>) -> Target {
    match event {
        Event::WorkItem(_) => Target::Flow,
        Event::Satisfaction(_) => Target::Satisfaction,
        // Usage never comes from a small topic; DORA state ignores it.
        Event::Deploy(_) | Event::Incident(_) | Event::Push(_) | Event::Usage(_) => Target::Dora,
    }
}

/// Folds the decoded events of `which` into one state under one lock
/// (taken only when the batch holds such an event), copying it on write.
fn fold_into<T: Clone>(
    state: &Mutex<Arc<T>>,
    which: Target,
    decoded: &[Result<Event<'_>, Rejected>],
    fates: &mut [Option<Outcome>],
    fold: impl Fn(&mut T, &Event<'_>) -> Outcome,
) {
    let mut mine = decoded
        .iter()
        .enumerate()
        .filter_map(|(i, d)| d.as_ref().ok().map(|e| (i, e)))
        .filter(|(_, e)| target(e) == which)
        .peekable();
    if mine.peek().is_none() {
        return;
    }
    let mut guard = lock(state);
    // Copy on write: a report holding the previous version keeps it.
    let state = Arc::make_mut(&mut guard);
    for (i, e) in mine {
        fates[i] = Some(fold(state, e));
    }
}

/// Folds a batch of small-topic records into their states, each state under
/// one lock. Records larger than `max_bytes` are not decoded. Returns, per
/// (topic, partition), the offset after its last record.
pub fn fold_small_records<'a>(
    states: &SmallStates,
    records: &[SmallRecord<'a>],
    max_bytes: usize,
    now: Millis,
    counters: &Counters,
) -> Vec<NextOffset<'a>> {
    let decoded: Vec<Result<Event<'a>, Rejected>> = records
        .iter()
        .map(|r| {
            check_size(r.payload, max_bytes)?;
            decode(r.stream, r.payload, &r.headers).map_err(Rejected::from)
        })
        .collect();
    let mut folded: Vec<Option<Outcome>> = vec![None; records.len()];
    fold_into(&states.dora, Target::Dora, &decoded, &mut folded, |s, e| {
        s.fold(e, now)
    });
    fold_into(&states.flow, Target::Flow, &decoded, &mut folded, |s, e| {
        s.fold(e, now)
    });
    fold_into(
        &states.satisfaction,
        Target::Satisfaction,
        &decoded,
        &mut folded,
        |s, e| s.fold(e, now),
    );
    let mut counts = BatchCounts::default();
    let mut next: HashMap<(&'a str, i32), i64> = HashMap::new();
    for ((r, d), f) in records.iter().zip(&decoded).zip(folded) {
        let fate = match d {
            Ok(_) => Ok(f.expect("every decoded event is folded")),
            Err(rejected) => Err(*rejected),
        };
        outcome::emit(
            fate,
            r.stream,
            position(r.topic, r.partition, r.offset),
            &mut counts,
        );
        let pos = next.entry((r.topic, r.partition)).or_default();
        *pos = (*pos).max(r.offset + 1);
    }
    counters.add(&counts);
    next.into_iter()
        .map(|((topic, partition), offset)| NextOffset {
            topic,
            partition,
            offset,
        })
        .collect()
}

/// What one usage record of a partition's run becomes.
enum Step<'u, 'a> {
    /// Polled before its shard was created: left to the replay, not counted.
    Skip,
    /// At an offset already folded.
    Duplicate,
    /// Refused before it was decoded or while decoding.
    Rejected(Rejected),
    /// Valid, but the state budget is full.
    OverBudget,
    /// Folded, as this feature id, with the user's hash.
    Fold(LabelId, &'u Usage<'a>, u64),
}

/// How many events ahead of the one it folds [`fold_usage_records`] asks the
/// CPU for each stage of an event's cache lines ([`Shard::prefetch`](crate::domain::adoption::Shard::prefetch)): the
/// feature's record furthest ahead, then its sketch register and day, then
/// its minute, each stage reading only what the one before fetched. At the
/// cap most of those lines are cache misses; fetched ahead, they overlap
/// with the folds in between instead of stalling each fold in turn.
const PREFETCH_AHEAD: [(Prefetch, usize); 3] = [
    (Prefetch::Record, 12),
    (Prefetch::Lists, 8),
    (Prefetch::Minute, 4),
];

/// Folds a batch of feature-usage records of `topic` into the shards of
/// their partitions. Records arrive in runs per partition: each run takes
/// its shard's lock once, and the feature table's lock once, only to look
/// up the run's feature ids. A record of a
/// partition not owned (revoked meanwhile) is skipped and not counted: its
/// new owner replays it; so is a record polled before its shard was created
/// (an older rebalance generation). A record before the shard's next offset
/// is a duplicate. Returns each folded-into partition's next offset.
///
/// Before each fold, the memory of the events [`PREFETCH_AHEAD`] places
/// later is asked for, which changes no outcome.
pub fn fold_usage_records<'a>(
    shared: &AdoptionShared,
    topic: &'a str,
    records: &[UsageRecord<'a>],
    max_bytes: usize,
    now: Millis,
    counters: &Counters,
) -> Vec<NextOffset<'a>> {
    // Each valid event with its user's hash, computed here, outside every
    // lock.
    let decoded: Vec<Result<(Usage<'a>, u64), Rejected>> = records
        .iter()
        .map(|r| {
            check_size(r.payload, max_bytes)?;
            let u = decode_usage(r.payload).map_err(Rejected::Invalid)?;
            let hash = hash_user(&u.user);
            Ok((u, hash))
        })
        .collect();
    let mut counts = BatchCounts::default();
    let mut next: HashMap<i32, i64> = HashMap::new();
    let shards = shared.shards();
    let level = shared.budget.level();
    let mut steps: Vec<Step<'_, 'a>> = Vec::with_capacity(records.len());
    let mut i = 0;
    while i < records.len() {
        let partition = records[i].partition;
        let end = i + records[i..]
            .iter()
            .take_while(|r| r.partition == partition)
            .count();
        if let Some((_, shard)) = shards.iter().find(|(p, _)| *p == partition) {
            let mut ps = lock(shard);
            let run = &records[i..end];
            // What each record becomes, under the feature table's lock only
            // as long as the checks and id lookups take (fold workers of
            // other partitions share it); then the folds, without it.
            steps.clear();
            {
                let mut features = lock(&shared.features);
                for (r, d) in run.iter().zip(&decoded[i..end]) {
                    steps.push(if r.generation < ps.generation {
                        Step::Skip
                    } else if r.offset < ps.next_offset {
                        Step::Duplicate
                    } else {
                        ps.next_offset = r.offset + 1;
                        match d {
                            Err(rejected) => Step::Rejected(*rejected),
                            Ok(_) if level == BudgetLevel::Full => Step::OverBudget,
                            Ok((u, hash)) if level == BudgetLevel::Ok => {
                                Step::Fold(features.intern(&u.feature), u, *hash)
                            }
                            Ok((u, hash)) => {
                                Step::Fold(features.intern_known(&u.feature), u, *hash)
                            }
                        }
                    });
                }
            }
            for (k, (r, step)) in run.iter().zip(&steps).enumerate() {
                for (stage, ahead) in PREFETCH_AHEAD {
                    if let Some(&Step::Fold(id, u, hash)) = steps.get(k + ahead) {
                        ps.shard.prefetch(stage, id, hash, u.at);
                    }
                }
                let fate = match *step {
                    Step::Skip => continue,
                    Step::Duplicate => Ok(Outcome::Duplicate),
                    Step::OverBudget => Ok(Outcome::OverBudget),
                    Step::Rejected(rejected) => Err(rejected),
                    Step::Fold(id, u, hash) => {
                        Ok(ps.shard.fold(&shared.settings, id, hash, u.at, now))
                    }
                };
                outcome::emit(
                    fate,
                    Stream::FeatureUsage,
                    position(topic, partition, r.offset),
                    &mut counts,
                );
            }
            next.insert(partition, ps.next_offset);
        }
        i = end;
    }
    counters.add(&counts);
    next.into_iter()
        .map(|(partition, offset)| NextOffset {
            topic,
            partition,
            offset,
        })
        .collect()
}

fn position(topic: &str, partition: i32, offset: i64) -> Position<'_> {
    Position {
        topic,
        partition,
        offset,
    }
}

#[cfg(test)]
mod tests;
