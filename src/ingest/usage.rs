//! The feature-usage consumer: one consumer group (cooperative-sticky) shares
//! the partitions of the high-volume usage topic among replicas. State is kept
//! per partition; on assignment each partition starts from an empty shard and
//! is replayed from `now − longest window − grace` (offsets looked up by time
//! and handed to the assignment inside the rebalance callback, never a seek
//! after it); on revocation its shard is dropped.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::TopicPartitionList;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, RebalanceProtocol};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::statistics::Statistics;
use rdkafka::types::RDKafkaRespErr;
use tokio_util::sync::CancellationToken;

use super::kafka::{ClientEvents, advance_progress, consumer_config, poll};
use super::outcome::Counters;
use super::pipeline::{FoldContext, Pipeline};
use super::progress::{Assignment, Progress, Recreation, replay_total};
use super::record_queue::{HasRecordQueue, RecordQueue, RecordReader};
use super::replay::{self, OnError};
use super::shards::{AdoptionShared, PartitionShard, lock};
use crate::config::Config;
use crate::domain::Millis;
use crate::domain::adoption::Shard;

/// Name of this loop in logs, `/readyz` and `/livez`.
pub const NAME: &str = "usage";

/// How long one poll waits for a record; also the heartbeat period.
const POLL: Duration = Duration::from_millis(100);
/// At most this many consumer-queue events are served per loop pass (a
/// bound, so that a flood of errors cannot starve the records).
const MAX_EVENTS_PER_PASS: usize = 64;
/// How often shards drop buckets that left the horizon.
const PRUNE_EVERY_MS: Millis = 60_000;
/// How often the adoption state is measured against the budget.
const MEASURE_EVERY_MS: Millis = 1_000;
/// How long the consumer may go without a new assignment once partitions
/// were revoked or lost before it is recreated (counted in
/// `valuepulse_usage_consumer_recreations_total{reason="stalled"}`; the
/// process is not ready meanwhile). librdkafka can keep a group coordinator
/// connection wedged after a broker came back from a pause (requests
/// queued, never sent; seen after a 60 s SIGSTOP), and then the consumer
/// never rejoins while the process looks alive. A healthy consumer rejoins
/// within seconds of the coordinator's return; this bound is well past
/// that, and a recreated consumer that still gets nothing is recreated
/// again after another such wait.
const STALLED_AFTER: Duration = Duration::from_secs(60);

/// Consumer context: logs and lag like every consumer, plus the rebalance
/// handling that positions new partitions by time.
struct UsageContext {
    client: ClientEvents,
    /// Rebalances so far; records are tagged with it when polled. Shared by
    /// every consumer this loop creates, so it only grows.
    generation: Arc<AtomicU64>,
    /// Since when the consumer has been waiting for an assignment after a
    /// revocation (or after being recreated for that): the watchdog's
    /// clock ([`STALLED_AFTER`]). `None` while assigned.
    awaiting_since: Mutex<Option<Instant>>,
    /// Set by a revocation, cleared by an assignment that adds partitions:
    /// whether the group may still be handing our revoked partitions back.
    revoked: AtomicBool,
    /// Until when an empty assignment after a revocation keeps the process
    /// not ready ([`settle_after_revoke`]): the cooperative protocol's first
    /// round assigns nothing and its second round, moments later, may give
    /// the revoked partitions back. `None` when not settling.
    settling_until: Mutex<Option<Instant>>,
    shared: Arc<AdoptionShared>,
    config: Arc<Config>,
    clock: fn() -> Millis,
    /// Set when librdkafka logs that this member leaves the group (its
    /// `LEAVE` debug line, [`LEAVE_DEBUG`]): what [`leave_group`] waits for.
    left: AtomicBool,
    /// Set at this consumer's first assignment (even an empty one): it is
    /// a member of the group, with something to leave.
    joined: AtomicBool,
    /// librdkafka's own info and debug lines are dropped: the daemon turned
    /// its group debugging on only to see the leave, the user did not ask.
    quiet: bool,
    /// Where assigned partitions forward their records, read in batches
    /// ([`super::record_queue`]); `None` before the loop installs it and
    /// after it is torn down.
    records: Mutex<Option<Arc<RecordQueue>>>,
}

impl HasRecordQueue for UsageContext {
    fn record_queue(&self) -> &Mutex<Option<Arc<RecordQueue>>> {
        &self.records
    }
}

impl ClientContext for UsageContext {
    fn stats(&self, stats: Statistics) {
        self.client.stats(stats);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.client.error(error, reason);
    }

    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        if fac == "LEAVE" {
            self.left.store(true, Ordering::Relaxed);
        }
        if self.quiet && (level as i32) > (RDKafkaLogLevel::Warning as i32) {
            return;
        }
        self.client.log(level, fac, log_message);
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
                self.joined.store(true, Ordering::Relaxed);
                *lock(&self.awaiting_since) = None;
                let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
                let entries = self.position_by_time(consumer, tpl);
                let partitions: Vec<i32> = entries.iter().map(|e| e.partition).collect();
                {
                    let mut shards = lock(&self.shared.shards);
                    for e in &entries {
                        let fresh = PartitionShard {
                            shard: Shard::new(),
                            next_offset: e.start,
                            generation,
                        };
                        shards.insert(e.partition, Arc::new(Mutex::new(fresh)));
                    }
                }
                // Before the assignment starts fetching: every record of
                // these partitions then comes through the batch queue.
                if let Some(records) = lock(&self.records).clone() {
                    let failed = records.take(consumer, &partitions);
                    if !failed.is_empty() {
                        tracing::warn!(
                            partitions = ?failed,
                            "Could not forward feature-usage partitions to the batch queue; they are read one record at a time."
                        );
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
                if entries.is_empty() && self.revoked.load(Ordering::Relaxed) {
                    // Nothing added right after a revocation: the group's
                    // next round may still give the revoked partitions back
                    // (seen after a broker's pause: ready with a partition
                    // missing between the two rounds). Not ready until that
                    // round, or until it has had time to come.
                    let settle = settle_after_revoke(&self.config);
                    *lock(&self.settling_until) = Some(Instant::now() + settle);
                    self.client.progress.set_pending(
                        NAME,
                        format!(
                            "rebalancing: partitions revoked, waiting up to {} for the group's next round",
                            crate::domain::time::human_duration(settle.as_secs_f64())
                        ),
                    );
                } else {
                    self.revoked.store(false, Ordering::Relaxed);
                    *lock(&self.settling_until) = None;
                    self.client.progress.add(NAME, &entries);
                }
                tracing::info!(
                    ?partitions,
                    messages = replay_total(&entries),
                    "Feature-usage partitions assigned; replaying."
                );
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                self.generation.fetch_add(1, Ordering::Relaxed);
                // Whatever the revocation, the rebalance it starts ends with
                // an assignment (librdkafka calls back with ASSIGN, empty
                // when nothing is added), and until then the revoked
                // partitions are nobody's here: not ready, or /readyz would
                // say 200 with their users missing (seen after a broker
                // came back from a pause). The watchdog's clock starts too.
                lock(&self.awaiting_since).get_or_insert_with(Instant::now);
                self.revoked.store(true, Ordering::Relaxed);
                *lock(&self.settling_until) = None;
                if consumer.assignment_lost() {
                    // The group moved on without us (e.g. the broker was
                    // away longer than the session): what we held is gone.
                    self.client.progress.set_pending(
                        NAME,
                        "the group reassigned our partitions (assignment lost); rejoining",
                    );
                    tracing::warn!("Feature-usage assignment lost; rejoining the group.");
                } else {
                    self.client.progress.set_pending(
                        NAME,
                        "rebalancing: partitions revoked, waiting for the group's new assignment",
                    );
                }
                let revoked: Vec<(String, i32)> = tpl
                    .elements()
                    .iter()
                    .map(|e| (e.topic().to_owned(), e.partition()))
                    .collect();
                let partitions: Vec<i32> = revoked.iter().map(|r| r.1).collect();
                {
                    let mut shards = lock(&self.shared.shards);
                    for p in &partitions {
                        shards.remove(p);
                    }
                }
                if let Some(records) = lock(&self.records).clone() {
                    records.release(&partitions);
                }
                self.client.progress.revoke(&revoked);
                let result = if cooperative {
                    consumer.incremental_unassign(tpl)
                } else {
                    consumer.unassign()
                };
                if let Err(e) = result {
                    tracing::error!(error = %e, "Could not unassign feature-usage partitions.");
                }
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
    /// horizon and returns the assignments. If the broker cannot answer, a
    /// partition replays from its beginning instead: slower, never wrong
    /// (older records are dropped as late).
    fn position_by_time(
        &self,
        consumer: &BaseConsumer<Self>,
        tpl: &mut TopicPartitionList,
    ) -> Vec<Assignment> {
        let partitions: Vec<(String, i32)> = tpl
            .elements()
            .iter()
            .map(|e| (e.topic().to_owned(), e.partition()))
            .collect();
        let horizon = self.shared.settings.time.horizon((self.clock)());
        // Each lookup may take up to kafka.request_timeout: keep /livez green.
        let heartbeat = || {
            self.client.progress.heartbeat(NAME, (self.clock)());
            true
        };
        // Degrading never fails, and this never stops: nothing to handle.
        let entries = replay::position_by_time(
            consumer,
            &partitions,
            horizon,
            self.config.request_timeout(),
            OnError::Degrade,
            heartbeat,
        )
        .unwrap_or_default();
        replay::set_start_offsets(tpl, &entries);
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
        let generation = Arc::new(AtomicU64::new(0));
        let mut backoff = Duration::from_millis(500);
        let mut awaiting = None;
        loop {
            match self.run_consumer(&cancel, &generation, awaiting)? {
                Ended::Cancelled => return Ok(()),
                Ended::Stalled(since) => {
                    self.progress.note_recreated(Recreation::Stalled);
                    tracing::warn!(
                        waited = ?since.elapsed(),
                        "Feature-usage consumer got no assignment since it lost one; recreating it."
                    );
                    self.drop_held(
                        "recreating the consumer: no assignment since the last one was lost"
                            .to_owned(),
                    );
                    awaiting = Some(Instant::now());
                }
                Ended::Fatal(e) => {
                    self.progress.note_recreated(Recreation::Fatal);
                    awaiting = None;
                    // librdkafka's consumer is unusable after a fatal error
                    // (e.g. FencedInstanceId: our own static member name came
                    // back after the group expired us). Drop everything it
                    // held and start a new one.
                    tracing::warn!(error = %e, retry_in = ?backoff, "Feature-usage consumer failed fatally; recreating it.");
                    self.drop_held(format!("recreating the consumer after: {e}"));
                    let deadline = Instant::now() + backoff;
                    while Instant::now() < deadline {
                        if cancel.is_cancelled() {
                            return Ok(());
                        }
                        self.progress.heartbeat(NAME, (self.clock)());
                        std::thread::sleep(POLL);
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
    }

    /// Before a consumer is recreated: drops every partition's state it
    /// held and its progress, so the process is not ready until the new
    /// consumer's assignment has replayed.
    fn drop_held(&self, why: String) {
        let dropped: Vec<(String, i32)> = lock(&self.shared.shards)
            .keys()
            .map(|p| (self.config.topics.feature_usage.clone(), *p))
            .collect();
        lock(&self.shared.shards).clear();
        self.progress.revoke(&dropped);
        self.progress.set_pending(NAME, why);
    }

    /// One consumer's life: until cancelled, until it fails fatally, or
    /// until it has waited [`STALLED_AFTER`] for an assignment after losing
    /// one (`awaiting`: since when a recreated consumer's predecessor did).
    fn run_consumer(
        &self,
        cancel: &CancellationToken,
        generation: &Arc<AtomicU64>,
        awaiting: Option<Instant>,
    ) -> anyhow::Result<Ended> {
        self.progress
            .set_pending(NAME, "joining the feature-usage consumer group");
        self.progress.heartbeat(NAME, (self.clock)());
        let mut client = consumer_config(&self.config, Some(&self.config.kafka.group_id));
        // Offsets are committed only so that lag tooling sees the group;
        // correctness comes from replay. They are stored after folding.
        client.set("enable.auto.commit", "true");
        // The classic protocol's assignment is the client's: cooperative, so
        // a rebalance moves only the partitions that change owner. With
        // Kafka 4's consumer protocol (KIP-848, `group.protocol=consumer`)
        // the broker assigns, always incrementally, and librdkafka refuses
        // the property.
        if !consumer_protocol(&self.config) {
            client.set("partition.assignment.strategy", "cooperative-sticky");
        }
        if !self.config.kafka.group_instance_id.is_empty() {
            client.set("group.instance.id", &self.config.kafka.group_instance_id);
        }
        // To leave on shutdown, see the leave: librdkafka's group debugging
        // logs it (a few lines a minute otherwise: joins, commits).
        let mut quiet = false;
        if self.config.kafka.leave_group_on_shutdown {
            let (debug, user_asked) = with_leave_debug(self.config.kafka.properties.get("debug"));
            // librdkafka drops lines above the client's log level, which
            // the shared client settings put at warnings: the debug line
            // of the leave needs the debug level (only the contexts in
            // `debug` write any).
            client
                .set("debug", debug)
                .set_log_level(RDKafkaLogLevel::Debug);
            quiet = !user_asked;
        }
        let consumer: BaseConsumer<UsageContext> = client.create_with_context(UsageContext {
            client: ClientEvents::new(self.progress.clone(), NAME),
            generation: generation.clone(),
            awaiting_since: Mutex::new(awaiting),
            revoked: AtomicBool::new(false),
            settling_until: Mutex::new(None),
            shared: self.shared.clone(),
            config: self.config.clone(),
            clock: self.clock,
            left: AtomicBool::new(false),
            joined: AtomicBool::new(false),
            quiet,
            records: Mutex::new(None),
        })?;
        let topic = self.config.topics.feature_usage.clone();
        // Installed before subscribing, so that every assignment forwards.
        let mut records = RecordReader::install(&consumer, &topic);
        if records.is_none() {
            tracing::warn!(
                "Could not make the feature-usage batch queue; reading one record at a time."
            );
        }
        consumer.subscribe(&[&topic])?;
        let batch_size = self.config.ingest.batch_size;
        let mut pipeline = Pipeline::start(
            FoldContext {
                shared: self.shared.clone(),
                counters: self.counters.clone(),
                topic: topic.clone(),
                max_bytes: self.config.limits.max_event_bytes,
                clock: self.clock,
            },
            self.config.ingest.fold_workers,
        )?;
        let mut last_prune = (self.clock)();
        let mut last_measure = Millis::MIN;
        let mut last_watermarks = Instant::now();
        // Per partition: next offset polled, and next offset folded. While
        // they differ, records of the partition are in flight.
        let mut polled: HashMap<i32, i64> = HashMap::new();
        let mut folded: HashMap<i32, i64> = HashMap::new();
        let mut fatal: Option<KafkaError> = None;
        let mut stalled: Option<Instant> = None;
        while !cancel.is_cancelled() && fatal.is_none() && stalled.is_none() {
            let now = (self.clock)();
            self.progress.heartbeat(NAME, now);
            let awaiting = self.progress.awaiting_earliest(&topic);
            let generation = &consumer.context().generation;
            let mut push = |partition: i32,
                            offset: i64,
                            payload: &[u8],
                            timestamp: &dyn Fn() -> Option<i64>| {
                if !awaiting.is_empty()
                    && awaiting.contains(&partition)
                    && let Some(t) = timestamp()
                {
                    self.progress.note_earliest(&topic, partition, offset, t);
                }
                // Tagged with the rebalance generation read right after
                // the read that returned it.
                pipeline.push(
                    partition,
                    offset,
                    generation.load(Ordering::Relaxed),
                    payload,
                );
            };
            // The consumer queue: rebalances, errors, statistics, and the
            // records of any partition not forwarded to the batch queue.
            // With a batch queue, every event waiting there is served
            // without waiting, and the batch read waits instead.
            let wait = if records.is_some() {
                Duration::ZERO
            } else {
                POLL
            };
            let mut polled_here = 0;
            for _ in 0..MAX_EVENTS_PER_PASS {
                polled_here += poll(
                    &consumer,
                    batch_size,
                    wait,
                    |m| {
                        push(
                            m.partition(),
                            m.offset(),
                            m.payload().unwrap_or_default(),
                            &|| m.timestamp().to_millis(),
                        );
                    },
                    |e| fatal = self.consume_error(&consumer, &topic, e),
                );
                if fatal.is_some()
                    || polled_here >= batch_size
                    || !records.as_ref().is_some_and(RecordReader::events_waiting)
                {
                    break;
                }
            }
            if let Some(reader) = records.as_mut().filter(|_| fatal.is_none()) {
                reader.refresh(generation.load(Ordering::Relaxed));
                let wait = if polled_here > 0 {
                    Duration::ZERO
                } else {
                    POLL
                };
                reader.read(batch_size, wait, |r| match r {
                    Ok(r) => push(r.partition(), r.offset(), r.payload(), &|| r.timestamp()),
                    Err(e) => {
                        if let Some(e) = self.consume_error(&consumer, &topic, e) {
                            fatal = Some(e);
                        }
                    }
                });
            }
            polled.extend(pipeline.submit());
            let done: Vec<(i32, i64)> = pipeline.folded().collect();
            for &(partition, offset) in &done {
                folded.insert(partition, offset);
                if let Err(e) = consumer.store_offset(&topic, partition, offset) {
                    tracing::debug!(partition, error = %e, "Could not store the feature-usage offset.");
                }
            }
            // Offsets folded, then, where nothing is in flight, the
            // consumer's position (past transaction markers).
            advance_progress(
                &consumer,
                &self.progress,
                done.iter().map(|&(p, o)| (topic.as_str(), p, o)),
                |_, p| polled.get(&p).is_some_and(|n| folded.get(&p) < Some(n)),
            );
            if last_watermarks.elapsed() >= Duration::from_secs(1) {
                last_watermarks = Instant::now();
                self.learn_unknown_targets(&consumer, &topic);
            }
            if now - last_prune >= PRUNE_EVERY_MS {
                for (_, shard) in self.shared.shards() {
                    lock(&shard).shard.prune(&self.shared.settings, now);
                }
                last_prune = now;
            }
            if now.saturating_sub(last_measure) >= MEASURE_EVERY_MS {
                self.shared.measure();
                last_measure = now;
            }
            // An empty assignment after a revocation that no later round
            // has followed within the settle time: the revoked partitions
            // went to other members; ready again.
            {
                let context = consumer.context();
                let mut settling = lock(&context.settling_until);
                if settling.is_some_and(|until| Instant::now() >= until) {
                    *settling = None;
                    context.revoked.store(false, Ordering::Relaxed);
                    self.progress.add(NAME, &[]);
                }
            }
            stalled = lock(&consumer.context().awaiting_since)
                .filter(|since| since.elapsed() >= STALLED_AFTER);
        }
        pipeline.stop();
        // The batch queue goes before the consumer can (and before the
        // leave, which drops whatever is still fetched).
        drop(records);
        if stalled.is_some() {
            // Closing a consumer whose coordinator connection is wedged
            // blocks (its requests wait in a queue that is never sent):
            // close it on a thread of its own and go on with a new one.
            let closing = std::thread::Builder::new()
                .name("usage-close".to_owned())
                .spawn(move || {
                    consumer.unsubscribe();
                    drop(consumer);
                });
            if let Err(e) = closing {
                tracing::warn!(error = %e, "Could not start a thread to close the stalled consumer.");
            }
        } else if fatal.is_none()
            && self.config.kafka.leave_group_on_shutdown
            && consumer.context().joined.load(Ordering::Relaxed)
        {
            // A member hands its partitions over; one that never joined
            // (broker unreachable, credentials refused) has nothing to
            // leave and closes at once (the last branch).
            leave_group(&consumer, self.config.close_timeout() * 3 / 4);
        } else {
            consumer.unsubscribe();
        }
        Ok(match (fatal, stalled) {
            (Some(e), _) => Ended::Fatal(e),
            (None, Some(since)) => Ended::Stalled(since),
            (None, None) => Ended::Cancelled,
        })
    }
}

/// How long an empty assignment right after a revocation keeps the process
/// not ready: two heartbeat intervals (`heartbeat.interval.ms`, 3 s by
/// default), time for every member to hear of the rebalance and for the
/// cooperative protocol's second round to assign what the first revoked.
fn settle_after_revoke(config: &Config) -> Duration {
    let heartbeat_ms = config
        .kafka
        .properties
        .get("heartbeat.interval.ms")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(3_000);
    Duration::from_millis(2 * heartbeat_ms)
}

/// Whether the group uses Kafka 4's consumer protocol (KIP-848).
fn consumer_protocol(config: &Config) -> bool {
    config
        .kafka
        .properties
        .get("group.protocol")
        .is_some_and(|p| p.trim().eq_ignore_ascii_case("consumer"))
}

/// The librdkafka debug context that logs a member's leave (facility
/// `LEAVE`, "Group ...: leave (in state ...)", written as the leave is
/// sent, classic and consumer protocol alike).
const LEAVE_DEBUG: &str = "cgrp";

/// The usage consumer's `debug` property: the user's contexts (if any) with
/// [`LEAVE_DEBUG`] added; and whether the user asked for debugging at all.
fn with_leave_debug(user: Option<&str>) -> (String, bool) {
    match user.map(str::trim).filter(|d| !d.is_empty()) {
        None => (LEAVE_DEBUG.to_owned(), false),
        Some(d) if d.split(',').any(|c| matches!(c.trim(), "cgrp" | "all")) => (d.to_owned(), true),
        Some(d) => (format!("{d},{LEAVE_DEBUG}"), true),
    }
}

/// Leaves the group before the consumer is closed (`kafka.leave_group_on_shutdown`).
///
/// librdkafka leaves once an unsubscribe's revocation has been served and
/// the partitions unassigned (their fetchers stopped, their offsets
/// committed), but a static member (`group.instance.id`) under the classic
/// protocol skips the leave if the consumer is already closing by then
/// (KIP-345: it is expected back under its name). Dropping the consumer
/// right after `unsubscribe` is exactly that. So the revocation is served
/// here, and the consumer is closed only once librdkafka has logged the
/// leave (its `LEAVE` debug line): the close then waits for the leave's
/// answer. Under the consumer protocol a static member's leave keeps its
/// assignment for the session (member epoch -2, KIP-848); a dynamic
/// member's hands it over. A SIGTERM in the middle of a rebalance (a
/// rollout's: right after the new pod became ready, between the
/// cooperative protocol's two rounds) gets its revocation only once that
/// round ends, seconds later. Bounded by `within` (three quarters of
/// `ingest.close_timeout`); past it, the consumer is closed anyway, logged.
fn leave_group(consumer: &BaseConsumer<UsageContext>, within: Duration) {
    let left = &consumer.context().left;
    left.store(false, Ordering::Relaxed);
    consumer.unsubscribe();
    let start = Instant::now();
    while start.elapsed() < within && !left.load(Ordering::Relaxed) {
        // Serves the revocation callback; a record still queued is dropped
        // (nothing folds any more, and its partition is being handed over).
        drop(consumer.poll(Duration::from_millis(20)));
    }
    if left.load(Ordering::Relaxed) {
        tracing::info!(took = ?start.elapsed(), "Feature-usage consumer left the group.");
    } else {
        tracing::warn!(
            waited = ?within,
            "Feature-usage consumer closed without seeing its group leave: a static member keeps its partitions until the group's session times out."
        );
    }
}

/// How one consumer's life ended.
enum Ended {
    /// Shutdown.
    Cancelled,
    /// librdkafka raised a fatal error: the consumer must be recreated.
    Fatal(KafkaError),
    /// No assignment for [`STALLED_AFTER`] after losing one (since then):
    /// the consumer is recreated.
    Stalled(Instant),
}

impl UsageIngest {
    /// A consume error: a fatal one ends this consumer (returned); any
    /// other is logged within its budget and, while nothing is assigned,
    /// shown as why the process is not ready (librdkafka retries by itself).
    fn consume_error(
        &self,
        consumer: &BaseConsumer<UsageContext>,
        topic: &str,
        e: KafkaError,
    ) -> Option<KafkaError> {
        if matches!(e, KafkaError::MessageConsumptionFatal(_)) {
            return Some(e);
        }
        consumer.context().client.consume_error("feature usage", &e);
        if !self.progress.has_partitions(topic) {
            self.progress
                .set_pending(NAME, format!("no partition of {topic} assigned yet: {e}"));
        }
        None
    }

    /// Asks the broker again for the watermarks it could not give at
    /// assignment; the process is not ready until they are known.
    fn learn_unknown_targets(&self, consumer: &BaseConsumer<UsageContext>, topic: &str) {
        for partition in self.progress.unknown_targets(topic) {
            match consumer.fetch_watermarks(topic, partition, self.config.request_timeout()) {
                Ok((_, high)) => self.progress.set_target(topic, partition, high),
                Err(e) => {
                    tracing::warn!(topic, partition, error = %e, "Still cannot read the watermarks; not ready.");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::with_leave_debug;

    #[test]
    fn the_leave_debug_context_is_added_to_what_the_user_asked_for() {
        assert_eq!(with_leave_debug(None), ("cgrp".to_owned(), false));
        assert_eq!(with_leave_debug(Some(" ")), ("cgrp".to_owned(), false));
        assert_eq!(
            with_leave_debug(Some("broker,fetch")),
            ("broker,fetch,cgrp".to_owned(), true)
        );
        assert_eq!(
            with_leave_debug(Some("fetch, cgrp")),
            ("fetch, cgrp".to_owned(), true)
        );
        assert_eq!(with_leave_debug(Some("all")), ("all".to_owned(), true));
    }
}
