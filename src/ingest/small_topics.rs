//! The small-topics consumer: every partition of the deploys, incidents,
//! work-items and satisfaction topics, assigned to this process (no
//! consumer group), positioned by time so that replaying the log rebuilds
//! state, then folded in batches. Named `small-topics` in logs, `/readyz`
//! and `/livez`. (Its librdkafka group id keeps the `-dora` suffix it had
//! when it read only the DORA topics: it never joins nor commits, so the
//! name only shows in broker logs.)
//!
//! The deploys and incidents topics are required: until they exist the
//! process is not ready. The value-stream topics are optional
//! ([`Stream::is_optional`]): one that does not exist is left out, with a
//! warning, and is assigned like an added partition once it is created
//! (looked for every 30 s).

use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use super::Stream;
use super::budget::StateBudget;
use super::decode::Headers;
use super::fold::{SmallRecord, SmallStates, fold_small_records};
use super::kafka::{ClientEvents, advance_progress, consumer_config, poll};
use super::outcome::Counters;
use super::progress::{Progress, replay_total};
use super::replay::{self, OnError, ReplayError};
use crate::config::Config;
use crate::domain::Millis;

/// Name of this loop in logs, `/readyz` and `/livez`.
pub const NAME: &str = "small-topics";

/// Property whose value (milliseconds) is also how often the loop looks
/// for partitions added to its topics: valuepulse sets 30 s
/// ([`super::kafka::FETCH_TUNING`]), `[kafka.properties]` may change it, so
/// the small topics follow the same refresh as the usage consumer group.
const METADATA_REFRESH_PROPERTY: &str = "topic.metadata.refresh.interval.ms";
/// The look's interval if the property is not a number of milliseconds.
const METADATA_REFRESH: Duration = Duration::from_secs(30);

/// How often, at most, the loop measures its states for the budget after
/// folding (measuring walks every retained record).
const MEASURE_EVERY: Duration = Duration::from_secs(1);

/// How long one poll waits for a record; also the heartbeat period.
const POLL: Duration = Duration::from_millis(100);
/// First and largest wait between attempts to reach Kafka.
const BACKOFF_MIN: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// Everything the small-topics loop reads and writes.
#[derive(Clone)]
pub struct SmallTopicsIngest {
    /// Validated configuration.
    pub config: Arc<Config>,
    /// States folded into: DORA, flow, satisfaction.
    pub states: SmallStates,
    /// Outcome counters.
    pub counters: Arc<Counters>,
    /// Readiness and lag.
    pub progress: Arc<Progress>,
    /// What state weighs: this loop measures the states it folds into.
    pub budget: Arc<StateBudget>,
    /// Source of "now".
    pub clock: fn() -> Millis,
}

/// Why setting up the assignment failed; logged and retried.
#[derive(Debug, thiserror::Error)]
enum SetupError {
    #[error("cannot read the cluster's topic metadata: {0}")]
    Metadata(rdkafka::error::KafkaError),
    #[error("topic {0} does not exist or has no partitions")]
    NoTopic(String),
    #[error(transparent)]
    Replay(#[from] ReplayError),
    #[error("cannot assign partitions: {0}")]
    Assign(rdkafka::error::KafkaError),
}

impl SmallTopicsIngest {
    /// Runs the loop on the calling (blocking) thread until `cancel` fires.
    /// Errors only when the consumer cannot be created at all (bad client
    /// properties); an unreachable broker is retried for ever.
    pub fn run_blocking(self, cancel: CancellationToken) -> anyhow::Result<()> {
        let progress = self.progress.clone();
        progress.set_pending(NAME, "connecting to Kafka");
        progress.heartbeat(NAME, (self.clock)());
        // librdkafka needs a group id to assign partitions, even though this
        // consumer never joins the group nor commits.
        let group = format!("{}-dora", self.config.kafka.group_id);
        let client = consumer_config(&self.config, Some(&group));
        let refresh = client
            .get(METADATA_REFRESH_PROPERTY)
            .and_then(|ms| ms.parse().ok())
            .map_or(METADATA_REFRESH, Duration::from_millis);
        let consumer: BaseConsumer<ClientEvents> =
            client.create_with_context(ClientEvents::new(progress.clone(), NAME))?;
        let topics: Vec<(String, Stream)> = Stream::ALL
            .into_iter()
            .filter(|s| s.is_small())
            .map(|s| (self.config.topics.of(s).to_owned(), s))
            .collect();
        let mut backoff = BACKOFF_MIN;
        let mut attempt = 0u32;
        loop {
            if cancel.is_cancelled() {
                return Ok(());
            }
            attempt += 1;
            match self.assign(&consumer, &topics, &cancel) {
                Ok(()) => break,
                Err(e) => {
                    tracing::warn!(attempt, retry_in = ?backoff, error = %e, "Kafka not ready for the small-topics consumer; retrying.");
                    progress.set_pending(NAME, e.to_string());
                    if self.sleep(backoff, &cancel) {
                        return Ok(());
                    }
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
            }
        }
        self.consume(&consumer, &topics, refresh, &cancel);
        if let Err(e) = consumer.unassign() {
            tracing::warn!(error = %e, "Could not unassign the small-topics consumer.");
        }
        Ok(())
    }

    /// Sleeps in poll-sized steps, beating the heartbeat; true if cancelled.
    fn sleep(&self, total: Duration, cancel: &CancellationToken) -> bool {
        let mut left = total;
        while !left.is_zero() {
            if cancel.is_cancelled() {
                return true;
            }
            self.progress.heartbeat(NAME, (self.clock)());
            let step = left.min(POLL);
            std::thread::sleep(step);
            left -= step;
        }
        cancel.is_cancelled()
    }

    /// The partition ids of each topic (`None` for one that does not exist
    /// or has none), from one metadata request for the whole cluster: one
    /// round trip whatever the number of topics, where a request per topic
    /// costs a round trip each (and the value-stream topics doubled them).
    fn partitions(
        &self,
        consumer: &BaseConsumer<ClientEvents>,
        topics: &[(String, Stream)],
    ) -> Result<Vec<Option<Vec<i32>>>, SetupError> {
        let md = consumer
            .fetch_metadata(None, self.config.request_timeout())
            .map_err(SetupError::Metadata)?;
        Ok(topics
            .iter()
            .map(|(topic, _)| {
                md.topics()
                    .iter()
                    .find(|t| t.name() == topic)
                    .filter(|t| t.error().is_none() && !t.partitions().is_empty())
                    .map(|t| {
                        t.partitions()
                            .iter()
                            .map(rdkafka::metadata::MetadataPartition::id)
                            .collect()
                    })
            })
            .collect())
    }

    /// Finds every partition, positions each at the first offset whose
    /// timestamp is at or after the retained horizon, captures the high
    /// watermarks and assigns.
    fn assign(
        &self,
        consumer: &BaseConsumer<ClientEvents>,
        topics: &[(String, Stream)],
        cancel: &CancellationToken,
    ) -> Result<(), SetupError> {
        let timeout = self.config.request_timeout();
        let horizon = self.config.time_policy().horizon((self.clock)());
        let mut partitions: Vec<(String, i32)> = Vec::new();
        for ((topic, stream), found) in topics.iter().zip(self.partitions(consumer, topics)?) {
            match found {
                Some(ids) => partitions.extend(ids.into_iter().map(|p| (topic.clone(), p))),
                None if stream.is_optional() => tracing::warn!(
                    topic = %topic,
                    "Topic does not exist (yet); it is read once it is created, and the process is ready without it."
                ),
                None => return Err(SetupError::NoTopic(topic.clone())),
            }
        }
        // Each lookup may take up to kafka.request_timeout: keep /livez
        // green and give up early on shutdown.
        let entries = replay::position_by_time(
            consumer,
            &partitions,
            horizon,
            timeout,
            OnError::Fail,
            || {
                self.progress.heartbeat(NAME, (self.clock)());
                !cancel.is_cancelled()
            },
        )?;
        let mut tpl = TopicPartitionList::new();
        for (topic, partition) in &partitions {
            tpl.add_partition(topic, *partition);
        }
        replay::set_start_offsets(&mut tpl, &entries);
        consumer.assign(&tpl).map_err(SetupError::Assign)?;
        let names: Vec<&str> = topics.iter().map(|(t, _)| t.as_str()).collect();
        self.progress.assign(NAME, &names, &entries);
        tracing::info!(
            partitions = entries.len(),
            messages = replay_total(&entries),
            horizon_ms = horizon,
            "Small-topics consumer assigned; replaying history."
        );
        Ok(())
    }

    /// Assigns partitions added to the topics since the last look, each
    /// positioned by time like the first ones, keeping every partition
    /// already assigned at its current position.
    fn assign_new_partitions(
        &self,
        consumer: &BaseConsumer<ClientEvents>,
        topics: &[(String, Stream)],
        cancel: &CancellationToken,
    ) -> Result<(), SetupError> {
        let timeout = self.config.request_timeout();
        let current = consumer.assignment().map_err(SetupError::Assign)?;
        let mut added: Vec<(String, i32)> = Vec::new();
        for ((topic, _), found) in topics.iter().zip(self.partitions(consumer, topics)?) {
            for p in found.unwrap_or_default() {
                if current.find_partition(topic, p).is_none() {
                    added.push((topic.clone(), p));
                }
            }
        }
        if added.is_empty() {
            return Ok(());
        }
        let horizon = self.config.time_policy().horizon((self.clock)());
        let entries =
            replay::position_by_time(consumer, &added, horizon, timeout, OnError::Fail, || {
                self.progress.heartbeat(NAME, (self.clock)());
                !cancel.is_cancelled()
            })?;
        // The whole assignment again: the partitions already read at the
        // position they reached, the new ones from the horizon.
        let positions = consumer.position().map_err(SetupError::Assign)?;
        let mut tpl = TopicPartitionList::new();
        for e in current.elements() {
            let at = positions
                .find_partition(e.topic(), e.partition())
                .map(|p| p.offset())
                .filter(|o| matches!(o, Offset::Offset(_)))
                .unwrap_or(e.offset());
            tpl.add_partition_offset(e.topic(), e.partition(), at)
                .map_err(SetupError::Assign)?;
        }
        for (topic, partition) in &added {
            tpl.add_partition(topic, *partition);
        }
        replay::set_start_offsets(&mut tpl, &entries);
        consumer.assign(&tpl).map_err(SetupError::Assign)?;
        self.progress.add(NAME, &entries);
        tracing::info!(
            partitions = ?added,
            messages = replay_total(&entries),
            "New partitions (or a new optional topic) assigned; replaying them."
        );
        Ok(())
    }

    /// Polls, decodes and folds in batches until cancelled, looking for
    /// added partitions every `refresh`.
    fn consume(
        &self,
        consumer: &BaseConsumer<ClientEvents>,
        topics: &[(String, Stream)],
        refresh: Duration,
        cancel: &CancellationToken,
    ) {
        let batch_size = self.config.ingest.batch_size;
        let max_bytes = self.config.limits.max_event_bytes;
        let mut was_ready = false;
        let mut last_refresh = Instant::now();
        self.states.measure(&self.budget);
        let mut last_measure = Instant::now();
        let mut measured = true;
        while !cancel.is_cancelled() {
            self.progress.heartbeat(NAME, (self.clock)());
            if last_refresh.elapsed() >= refresh {
                last_refresh = Instant::now();
                if let Err(e) = self.assign_new_partitions(consumer, topics, cancel) {
                    tracing::warn!(error = %e, "Could not look for new partitions of the small topics; trying again later.");
                }
            }
            let mut batch = Vec::new();
            poll(
                consumer,
                batch_size,
                POLL,
                |m| batch.push(m),
                |e| consumer.context().consume_error("the small topics", &e),
            );
            let mut folded = Vec::new();
            if !batch.is_empty() {
                measured = false;
                let now = (self.clock)();
                let records: Vec<SmallRecord<'_>> = batch
                    .iter()
                    .map(|m| {
                        let topic = m.topic();
                        SmallRecord {
                            topic,
                            stream: topics
                                .iter()
                                .find(|(t, _)| t == topic)
                                .map_or(Stream::Deploys, |(_, s)| *s),
                            partition: m.partition(),
                            offset: m.offset(),
                            payload: m.payload().unwrap_or_default(),
                            headers: Headers::from_kafka(m.headers()),
                        }
                    })
                    .collect();
                folded = fold_small_records(&self.states, &records, max_bytes, now, &self.counters);
                for m in &batch {
                    if let Some(t) = m.timestamp().to_millis() {
                        self.progress
                            .note_earliest(m.topic(), m.partition(), m.offset(), t);
                    }
                }
            }
            // Every polled record is folded, so nothing is in flight: the
            // consumer's position is where replay stands.
            advance_progress(
                consumer,
                &self.progress,
                folded.iter().map(|n| (n.topic, n.partition, n.offset)),
                |_, _| false,
            );
            if !measured && last_measure.elapsed() >= MEASURE_EVERY {
                self.states.measure(&self.budget);
                last_measure = Instant::now();
                measured = true;
            }
            if !was_ready && self.progress.readiness().is_ok() {
                was_ready = true;
                tracing::info!("Replay complete; ready.");
            }
        }
    }
}
