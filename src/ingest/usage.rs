//! The feature-usage consumer: one consumer group (cooperative-sticky) shares
//! the partitions of the high-volume usage topic among replicas. State is kept
//! per partition; on assignment each partition starts from an empty shard and
//! is replayed from `now − longest window − grace` (offsets looked up by time
//! and handed to the assignment inside the rebalance callback, never a seek
//! after it); on revocation its shard is dropped.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, RebalanceProtocol};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::statistics::Statistics;
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use super::Stream;
use super::consumer::{Rejected, log_rejection};
use super::decode::decode_usage;
use super::kafka::{Context, consumer_config, poll_batch};
use super::progress::Progress;
use crate::config::Config;
use crate::domain::adoption::{AdoptionSettings, Features, Shard, hash_user};
use crate::domain::{Millis, Outcome, Usage};
use crate::telemetry::counters::{BatchCounts, Counters};

/// Name of this loop in logs, `/readyz` and `/livez`.
pub const NAME: &str = "usage";

/// How long one poll waits for a record; also the heartbeat period.
const POLL: Duration = Duration::from_millis(100);
/// How often shards drop buckets that left the horizon.
const PRUNE_EVERY_MS: Millis = 60_000;

/// One partition's state and its guards.
#[derive(Default)]
pub struct PartitionShard {
    /// Usage aggregates of the partition.
    pub shard: Shard,
    /// Next offset to fold; an earlier record was folded already.
    pub next_offset: i64,
    /// Rebalance generation that created this shard: a record polled before
    /// it (still in a batch when the partition was revoked and assigned
    /// again) belongs to the old assignment and is left to the replay.
    pub generation: u64,
}

/// Adoption state of this process, shared by the consumer and the collector.
pub struct AdoptionShared {
    /// Buckets, windows, caps.
    pub settings: AdoptionSettings,
    /// Feature names, interned once for all partitions.
    pub features: Mutex<Features>,
    /// Owned partition → its shard.
    pub shards: Mutex<BTreeMap<i32, Arc<Mutex<PartitionShard>>>>,
}

/// Locks a mutex, recovering from poisoning (state stays usable: every
/// mutation is a single fold).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl AdoptionShared {
    /// Empty state.
    pub fn new(settings: AdoptionSettings) -> Self {
        Self {
            features: Mutex::new(Features::new(settings.max_features)),
            settings,
            shards: Mutex::new(BTreeMap::new()),
        }
    }

    /// The shards currently owned, cloned out so no map lock is held.
    pub fn shards(&self) -> Vec<(i32, Arc<Mutex<PartitionShard>>)> {
        lock(&self.shards)
            .iter()
            .map(|(p, s)| (*p, s.clone()))
            .collect()
    }
}

/// Consumer context: logs and lag like every consumer, plus the rebalance
/// handling that positions new partitions by time.
struct UsageContext {
    base: Context,
    /// Rebalances so far; records are tagged with it when polled.
    generation: AtomicU64,
    shared: Arc<AdoptionShared>,
    config: Arc<Config>,
    clock: fn() -> Millis,
}

impl ClientContext for UsageContext {
    fn stats(&self, stats: Statistics) {
        self.base.stats(stats)
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.base.error(error, reason)
    }

    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        self.base.log(level, fac, log_message)
    }
}

impl ConsumerContext for UsageContext {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        let cooperative = matches!(
            consumer.rebalance_protocol(),
            RebalanceProtocol::Cooperative
        );
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
                let entries = self.position_by_time(consumer, tpl);
                {
                    let mut shards = lock(&self.shared.shards);
                    for (_, partition, from, _) in &entries {
                        let fresh = PartitionShard {
                            shard: Shard::new(),
                            next_offset: *from,
                            generation,
                        };
                        shards.insert(*partition, Arc::new(Mutex::new(fresh)));
                    }
                }
                let result = if cooperative {
                    consumer.incremental_assign(tpl)
                } else {
                    consumer.assign(tpl)
                };
                if let Err(e) = result {
                    tracing::error!(error = %e, "Could not assign feature-usage partitions.");
                }
                let partitions: Vec<i32> = entries.iter().map(|e| e.1).collect();
                let replay: i64 = entries
                    .iter()
                    .map(|(_, _, from, high)| (high - from).max(0))
                    .sum();
                self.base.progress.add(NAME, &entries);
                tracing::info!(
                    ?partitions,
                    messages = replay,
                    "Feature-usage partitions assigned; replaying."
                );
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                self.generation.fetch_add(1, Ordering::Relaxed);
                let revoked: Vec<(String, i32)> = tpl
                    .elements()
                    .iter()
                    .map(|e| (e.topic().to_owned(), e.partition()))
                    .collect();
                {
                    let mut shards = lock(&self.shared.shards);
                    for (_, p) in &revoked {
                        shards.remove(p);
                    }
                }
                self.base.progress.revoke(&revoked);
                let result = if cooperative {
                    consumer.incremental_unassign(tpl)
                } else {
                    consumer.unassign()
                };
                if let Err(e) = result {
                    tracing::error!(error = %e, "Could not unassign feature-usage partitions.");
                }
                let partitions: Vec<i32> = revoked.iter().map(|r| r.1).collect();
                tracing::info!(
                    ?partitions,
                    "Feature-usage partitions revoked; their state is dropped."
                );
            }
            other => tracing::error!(error = ?other, "Feature-usage rebalance failed."),
        }
    }
}

impl UsageContext {
    /// Sets each partition of `tpl` to the first offset at or after the
    /// horizon and returns `(topic, partition, start, high watermark)`. If the
    /// broker cannot answer, a partition replays from its beginning instead:
    /// slower, never wrong (older records are dropped as late).
    fn position_by_time(
        &self,
        consumer: &BaseConsumer<Self>,
        tpl: &mut TopicPartitionList,
    ) -> Vec<(String, i32, i64, i64)> {
        let timeout = self.config.request_timeout();
        let horizon = self.shared.settings.time.horizon((self.clock)());
        let mut query = TopicPartitionList::new();
        for e in tpl.elements() {
            query
                .add_partition_offset(e.topic(), e.partition(), Offset::Offset(horizon))
                .expect("offset is valid");
        }
        let found = match consumer.offsets_for_times(query, timeout) {
            Ok(found) => Some(found),
            Err(e) => {
                tracing::warn!(error = %e, "Cannot look up feature-usage offsets by time; replaying from the beginning.");
                None
            }
        };
        let mut entries = Vec::new();
        for e in tpl.elements() {
            // Each lookup may take up to kafka.request_timeout: keep /livez green.
            self.base.progress.heartbeat(NAME, (self.clock)());
            let (topic, partition) = (e.topic().to_owned(), e.partition());
            let (low, high) = consumer.fetch_watermarks(&topic, partition, timeout).unwrap_or_else(|err| {
                tracing::warn!(topic, partition, error = %err, "Cannot read the high watermark; readiness waits for the start offset only.");
                (0, 0)
            });
            let by_time = found
                .as_ref()
                .and_then(|f| f.find_partition(&topic, partition))
                .map(|p| p.offset());
            let from = match by_time {
                Some(Offset::Offset(o)) => o.max(low),
                Some(_) => high,
                None => low,
            };
            entries.push((topic, partition, from, high));
        }
        for (topic, partition, from, _) in &entries {
            tpl.set_partition_offset(topic, *partition, Offset::Offset(*from))
                .expect("partition is in the list");
        }
        entries
    }
}

/// Everything the usage loop reads and writes.
#[derive(Clone)]
pub struct UsageIngest {
    /// Validated configuration.
    pub config: Arc<Config>,
    /// Adoption state.
    pub shared: Arc<AdoptionShared>,
    /// Outcome counters.
    pub counters: Arc<Counters>,
    /// Readiness and lag.
    pub progress: Arc<Progress>,
    /// Source of "now".
    pub clock: fn() -> Millis,
}

impl UsageIngest {
    /// Runs the loop on the calling (blocking) thread until `cancel` fires.
    /// Errors only when the consumer cannot be created or subscribe.
    pub fn run_blocking(self, cancel: CancellationToken) -> anyhow::Result<()> {
        self.progress
            .set_pending(NAME, "joining the feature-usage consumer group");
        self.progress.heartbeat(NAME, (self.clock)());
        let mut client = consumer_config(&self.config, Some(&self.config.kafka.group_id));
        // Offsets are committed only so that lag tooling sees the group;
        // correctness comes from replay. They are stored after folding.
        client
            .set("enable.auto.commit", "true")
            .set("partition.assignment.strategy", "cooperative-sticky");
        let consumer: BaseConsumer<UsageContext> = client.create_with_context(UsageContext {
            base: Context {
                progress: self.progress.clone(),
                name: NAME,
            },
            generation: AtomicU64::new(0),
            shared: self.shared.clone(),
            config: self.config.clone(),
            clock: self.clock,
        })?;
        consumer.subscribe(&[&self.config.topics.feature_usage])?;
        let batch_size = self.config.ingest.batch_size;
        let mut last_prune = (self.clock)();
        while !cancel.is_cancelled() {
            let now = (self.clock)();
            self.progress.heartbeat(NAME, now);
            let topic = &self.config.topics.feature_usage;
            let generation = || consumer.context().generation.load(Ordering::Relaxed);
            let batch = poll_batch(&consumer, batch_size, POLL, generation, |e| {
                tracing::warn!(error = %e, "Kafka consume error on feature usage; continuing.");
                if !self.progress.has_partitions(topic) {
                    self.progress
                        .set_pending(NAME, format!("no partition of {topic} assigned yet: {e}"));
                }
            });
            if !batch.is_empty() {
                self.fold_batch(&consumer, &batch);
            }
            if now - last_prune >= PRUNE_EVERY_MS {
                for (_, shard) in self.shared.shards() {
                    lock(&shard).shard.prune(&self.shared.settings, now);
                }
                last_prune = now;
            }
        }
        consumer.unsubscribe();
        Ok(())
    }

    /// Decodes a batch (borrowing payloads, hashing each user once), interns
    /// its features under one lock, folds each partition's records under one
    /// shard lock, then counts and stores offsets once.
    fn fold_batch(
        &self,
        consumer: &BaseConsumer<UsageContext>,
        batch: &[(BorrowedMessage<'_>, u64)],
    ) {
        let now = (self.clock)();
        let max_bytes = self.config.limits.max_event_bytes;
        let decoded: Vec<Result<Usage<'_>, Rejected>> = batch
            .iter()
            .map(|(m, _)| {
                let payload = m.payload().unwrap_or_default();
                if payload.len() > max_bytes {
                    return Err(Rejected::Oversized);
                }
                decode_usage(payload).map_err(Rejected::Invalid)
            })
            .collect();
        let mut counts = BatchCounts::default();
        let mut next: HashMap<i32, i64> = HashMap::new();
        let shards = self.shared.shards();
        // Records arrive in runs per partition: one shard lock and one
        // feature-table lock per run.
        let mut i = 0;
        while i < batch.len() {
            let partition = batch[i].0.partition();
            let end = i + batch[i..]
                .iter()
                .take_while(|(m, _)| m.partition() == partition)
                .count();
            // A record of a partition revoked meanwhile is skipped: its new
            // owner replays it.
            if let Some((_, shard)) = shards.iter().find(|(p, _)| *p == partition) {
                let mut ps = lock(shard);
                let mut features = lock(&self.shared.features);
                for k in i..end {
                    let ((m, generation), d) = (&batch[k], &decoded[k]);
                    if *generation < ps.generation {
                        continue;
                    }
                    let outcome = if m.offset() < ps.next_offset {
                        Outcome::Duplicate
                    } else {
                        ps.next_offset = m.offset() + 1;
                        match d {
                            Ok(u) => {
                                let id = features.intern(&u.feature);
                                ps.shard.fold(
                                    &self.shared.settings,
                                    id,
                                    hash_user(&u.user),
                                    u.at,
                                    now,
                                )
                            }
                            Err(r) => r.outcome(),
                        }
                    };
                    match d {
                        Err(Rejected::Invalid(reason)) if outcome == Outcome::Invalid => {
                            counts.invalid(Stream::FeatureUsage, *reason)
                        }
                        _ => counts.outcome(Stream::FeatureUsage, outcome),
                    }
                    log_rejection(m, d.as_ref().map(|_| ()).map_err(|r| *r), outcome);
                }
                next.insert(partition, ps.next_offset);
            }
            i = end;
        }
        self.counters.add(&counts);
        let topic = &self.config.topics.feature_usage;
        for (partition, offset) in next {
            self.progress.advance_one(topic, partition, offset);
            if let Err(e) = consumer.store_offset(topic, partition, offset) {
                tracing::debug!(partition, error = %e, "Could not store the feature-usage offset.");
            }
        }
    }
}
