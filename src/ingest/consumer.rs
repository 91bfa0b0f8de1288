//! The DORA consumer: every partition of the deploys and incidents topics,
//! assigned to this process (no consumer group), positioned by time so that
//! replaying the log rebuilds state, then folded in batches.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use super::Stream;
use super::decode::{DecodeError, Headers, decode};
use super::kafka::{Context, consumer_config, poll_batch};
use super::progress::Progress;
use crate::config::Config;
use crate::domain::dora::DoraState;
use crate::domain::event::InvalidReason;
use crate::domain::{Event, Millis, Outcome};
use crate::telemetry::counters::{BatchCounts, Counters};

/// Name of this loop in logs, `/readyz` and `/livez`.
pub const NAME: &str = "dora";

/// How long one poll waits for a record; also the heartbeat period.
const POLL: Duration = Duration::from_millis(100);
/// First and largest wait between attempts to reach Kafka.
const BACKOFF_MIN: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// Everything the DORA loop reads and writes.
#[derive(Clone)]
pub struct DoraIngest {
    /// Validated configuration.
    pub config: Arc<Config>,
    /// State folded into.
    pub state: Arc<Mutex<DoraState>>,
    /// Outcome counters.
    pub counters: Arc<Counters>,
    /// Readiness and lag.
    pub progress: Arc<Progress>,
    /// Source of "now".
    pub clock: fn() -> Millis,
}

/// Why setting up the assignment failed; logged and retried.
#[derive(Debug, thiserror::Error)]
enum SetupError {
    #[error("cannot read metadata of topic {topic}: {source}")]
    Metadata {
        topic: String,
        source: rdkafka::error::KafkaError,
    },
    #[error("topic {0} does not exist or has no partitions")]
    NoTopic(String),
    #[error("cannot look up offsets by time: {0}")]
    OffsetsForTimes(rdkafka::error::KafkaError),
    #[error("cannot read the high watermark of {topic}[{partition}]: {source}")]
    Watermarks {
        topic: String,
        partition: i32,
        source: rdkafka::error::KafkaError,
    },
    #[error("cannot assign partitions: {0}")]
    Assign(rdkafka::error::KafkaError),
    #[error("shutting down")]
    Cancelled,
}

impl DoraIngest {
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
        let consumer: BaseConsumer<Context> = consumer_config(&self.config, Some(&group))
            .create_with_context(Context {
                progress: progress.clone(),
                name: NAME,
            })?;
        let topics = [
            (self.config.topics.deploys.clone(), Stream::Deploys),
            (self.config.topics.incidents.clone(), Stream::Incidents),
        ];
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
                    tracing::warn!(attempt, retry_in = ?backoff, error = %e, "Kafka not ready for the DORA consumer; retrying.");
                    progress.set_pending(NAME, e.to_string());
                    if self.sleep(backoff, &cancel) {
                        return Ok(());
                    }
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
            }
        }
        self.consume(&consumer, &topics, &cancel);
        if let Err(e) = consumer.unassign() {
            tracing::warn!(error = %e, "Could not unassign the DORA consumer.");
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

    /// Finds every partition, positions each at the first offset whose
    /// timestamp is at or after the retained horizon, captures the high
    /// watermarks and assigns.
    fn assign(
        &self,
        consumer: &BaseConsumer<Context>,
        topics: &[(String, Stream)],
        cancel: &CancellationToken,
    ) -> Result<(), SetupError> {
        let timeout = self.config.request_timeout();
        let horizon = self.config.dora_settings().time.horizon((self.clock)());
        let mut by_time = TopicPartitionList::new();
        for (topic, _) in topics {
            let md = consumer
                .fetch_metadata(Some(topic), timeout)
                .map_err(|source| SetupError::Metadata {
                    topic: topic.clone(),
                    source,
                })?;
            let t = md.topics().iter().find(|t| t.name() == topic);
            let partitions = match t {
                Some(t) if t.error().is_none() && !t.partitions().is_empty() => t.partitions(),
                _ => return Err(SetupError::NoTopic(topic.clone())),
            };
            for p in partitions {
                by_time
                    .add_partition_offset(topic, p.id(), Offset::Offset(horizon))
                    .expect("offset is valid");
            }
        }
        let mut start = consumer
            .offsets_for_times(by_time, timeout)
            .map_err(SetupError::OffsetsForTimes)?;
        let mut entries = Vec::new();
        for e in start.elements() {
            // Each lookup may take up to kafka.request_timeout: keep /livez
            // green and give up early on shutdown.
            self.progress.heartbeat(NAME, (self.clock)());
            if cancel.is_cancelled() {
                return Err(SetupError::Cancelled);
            }
            let (low, high) = consumer
                .fetch_watermarks(e.topic(), e.partition(), timeout)
                .map_err(|source| SetupError::Watermarks {
                    topic: e.topic().to_owned(),
                    partition: e.partition(),
                    source,
                })?;
            // No record at or after the horizon: start at the end.
            let from = match e.offset() {
                Offset::Offset(o) => o.max(low),
                _ => high,
            };
            entries.push((e.topic().to_owned(), e.partition(), from, high));
        }
        for (topic, partition, from, _) in &entries {
            start
                .set_partition_offset(topic, *partition, Offset::Offset(*from))
                .expect("partition is in the list");
        }
        consumer.assign(&start).map_err(SetupError::Assign)?;
        let names: Vec<&str> = topics.iter().map(|(t, _)| t.as_str()).collect();
        self.progress.assign(NAME, &names, &entries);
        let to_replay: i64 = entries
            .iter()
            .map(|(_, _, from, high)| (high - from).max(0))
            .sum();
        tracing::info!(
            partitions = entries.len(),
            messages = to_replay,
            horizon_ms = horizon,
            "DORA consumer assigned; replaying history."
        );
        Ok(())
    }

    /// Polls, decodes and folds in batches until cancelled.
    fn consume(
        &self,
        consumer: &BaseConsumer<Context>,
        topics: &[(String, Stream)],
        cancel: &CancellationToken,
    ) {
        let batch_size = self.config.ingest.batch_size;
        let max_bytes = self.config.limits.max_event_bytes;
        let mut was_ready = false;
        while !cancel.is_cancelled() {
            self.progress.heartbeat(NAME, (self.clock)());
            let batch = poll_batch(
                consumer,
                batch_size,
                POLL,
                || 0,
                |e| {
                    tracing::warn!(error = %e, "Kafka consume error; continuing.");
                },
            );
            if !batch.is_empty() {
                let batch: Vec<BorrowedMessage<'_>> = batch.into_iter().map(|(m, _)| m).collect();
                self.fold_batch(&batch, topics, max_bytes);
            }
            if !was_ready && self.progress.readiness().is_ok() {
                was_ready = true;
                tracing::info!("Replay complete; ready.");
            }
        }
    }

    /// Decodes a batch (borrowing payloads), folds it under one lock and
    /// publishes counts and positions once.
    fn fold_batch(
        &self,
        batch: &[BorrowedMessage<'_>],
        topics: &[(String, Stream)],
        max_bytes: usize,
    ) {
        let now = (self.clock)();
        let mut counts = BatchCounts::default();
        let decoded: Vec<(Stream, Result<Event<'_>, Rejected>)> = batch
            .iter()
            .map(|m| {
                let stream = topics
                    .iter()
                    .find(|(t, _)| t == m.topic())
                    .map_or(Stream::Deploys, |(_, s)| *s);
                let payload = m.payload().unwrap_or_default();
                let event = if payload.len() > max_bytes {
                    Err(Rejected::Oversized)
                } else {
                    decode(stream, payload, &Headers::from_kafka(m.headers()))
                        .map_err(Rejected::from)
                };
                (stream, event)
            })
            .collect();
        let mut outcomes: Vec<Outcome> = Vec::with_capacity(batch.len());
        {
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            for (_, event) in &decoded {
                outcomes.push(match event {
                    Ok(e) => state.fold(e, now),
                    Err(r) => r.outcome(),
                });
            }
        }
        let mut positions: HashMap<(&str, i32), i64> = HashMap::new();
        for ((m, (stream, event)), outcome) in batch.iter().zip(&decoded).zip(&outcomes) {
            match event {
                Err(Rejected::Invalid(reason)) => counts.invalid(*stream, *reason),
                _ => counts.outcome(*stream, *outcome),
            }
            log_rejection(m, event.as_ref().map(|_| ()).map_err(|r| *r), *outcome);
            let pos = positions.entry((m.topic(), m.partition())).or_default();
            *pos = (*pos).max(m.offset() + 1);
        }
        self.counters.add(&counts);
        for ((topic, partition), pos) in positions {
            self.progress.advance_one(topic, partition, pos);
        }
    }
}

/// A record rejected before it reached the domain.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Rejected {
    /// Larger than `limits.max_event_bytes`.
    Oversized,
    /// Not a valid event.
    Invalid(InvalidReason),
    /// A CloudEvent or CDEvent of a type valuepulse does not read.
    Unsupported,
}

impl Rejected {
    /// The outcome a rejected record is counted under.
    pub(crate) fn outcome(self) -> Outcome {
        match self {
            Rejected::Oversized => Outcome::Oversized,
            Rejected::Invalid(_) => Outcome::Invalid,
            Rejected::Unsupported => Outcome::Unsupported,
        }
    }
}

impl From<DecodeError> for Rejected {
    fn from(e: DecodeError) -> Self {
        match e {
            DecodeError::Invalid(r) => Rejected::Invalid(r),
            DecodeError::Unsupported => Rejected::Unsupported,
        }
    }
}

/// One log line per dropped record, with where it is (never its payload).
pub(crate) fn log_rejection(
    m: &BorrowedMessage<'_>,
    event: Result<(), Rejected>,
    outcome: Outcome,
) {
    // Most records are folded: return before reading the topic name (an FFI
    // call and a UTF-8 check) on that hot path.
    if event.is_ok()
        && matches!(
            outcome,
            Outcome::Accepted | Outcome::Updated | Outcome::Ignored
        )
    {
        return;
    }
    let (topic, partition, offset) = (m.topic(), m.partition(), m.offset());
    match (event, outcome) {
        (Err(Rejected::Invalid(reason)), _) => {
            tracing::warn!(
                topic,
                partition,
                offset,
                reason = reason.as_str(),
                "Skipped invalid event."
            )
        }
        (Err(Rejected::Oversized), _) => {
            tracing::warn!(
                topic,
                partition,
                offset,
                bytes = m.payload_len(),
                "Skipped oversized event."
            )
        }
        (Ok(_), Outcome::Late) => tracing::warn!(
            topic,
            partition,
            offset,
            "Skipped late event (older than the longest window plus grace)."
        ),
        (Ok(_), Outcome::Future) => tracing::warn!(
            topic,
            partition,
            offset,
            "Skipped future event (beyond max_clock_skew)."
        ),
        (Ok(_), Outcome::Duplicate) => {
            tracing::debug!(topic, partition, offset, "Skipped duplicate event.")
        }
        (Err(Rejected::Unsupported), _) => tracing::debug!(
            topic,
            partition,
            offset,
            "Skipped a CloudEvent of a type valuepulse does not read."
        ),
        _ => {}
    }
}
