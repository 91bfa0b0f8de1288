//! rdkafka plumbing shared by every consumer: client properties, the
//! context that turns librdkafka callbacks into logs and lag figures
//! ([`ClientEvents`]), and batch polling.

use std::sync::Arc;

use rdkafka::ClientConfig;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::message::BorrowedMessage;
use rdkafka::statistics::Statistics;

use super::progress::Progress;
use crate::config::Config;

/// How often librdkafka reports statistics (used for consumer lag).
const STATISTICS_INTERVAL_MS: &str = "5000";

/// Fetch settings valuepulse chooses for every consumer; `kafka.properties`
/// may override each.
///
/// librdkafka prefetches each assigned partition into a local queue until
/// it holds `queued.min.messages` records or `queued.max.messages.kbytes`;
/// then it stops fetching that partition for `fetch.queue.backoff.ms`
/// (default 1 000 ms). During a replay the fold is the slower side, so the
/// queue fills, and with the default the fold then drains it in tens of
/// milliseconds and waits idle for the rest of the second: replay ran at a
/// fifth of the client's speed. The usage pipeline keeps draining while it
/// folds ([`super::pipeline`]), and a short backoff resumes fetching as
/// soon as there is room, so neither side waits. Memory stays bounded by
/// the queue limits, unchanged.
///
/// `topic.metadata.refresh.interval.ms` is 30 s (librdkafka: 5 min), so a
/// partition added to the usage topic is rebalanced in within 30 s; the
/// small-topics loop looks for new partitions of its topics at the same
/// interval.
pub const FETCH_TUNING: [(&str, &str); 2] = [
    ("fetch.queue.backoff.ms", "10"),
    ("topic.metadata.refresh.interval.ms", "30000"),
];

/// Client properties of a consumer: [`FETCH_TUNING`], then the user's
/// pass-through properties, then
/// the ones valuepulse manages (validation refuses those in the file).
pub fn consumer_config(config: &Config, group_id: Option<&str>) -> ClientConfig {
    let mut c = ClientConfig::new();
    for (k, v) in FETCH_TUNING {
        c.set(k, v);
    }
    for (k, v) in &config.kafka.properties {
        c.set(k, v);
    }
    c.set("bootstrap.servers", &config.kafka.brokers)
        .set("client.id", &config.kafka.client_id)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "false")
        // An offset that fell out of the log restarts at its first record,
        // never silently at its end.
        .set("auto.offset.reset", "earliest")
        .set("statistics.interval.ms", STATISTICS_INTERVAL_MS)
        .set_log_level(RDKafkaLogLevel::Warning);
    if let Some(g) = group_id {
        c.set("group.id", g);
    }
    c
}

/// Context of every valuepulse consumer: librdkafka's logs and errors
/// become log lines, its statistics the high watermarks behind consumer lag.
pub struct ClientEvents {
    /// Where lag figures from statistics go.
    pub progress: Arc<Progress>,
    /// Name of the loop, for logs.
    pub name: &'static str,
}

impl ClientContext for ClientEvents {
    fn stats(&self, stats: Statistics) {
        for (topic, t) in &stats.topics {
            for (partition, p) in &t.partitions {
                if *partition >= 0 && p.hi_offset >= 0 {
                    self.progress.set_high(topic, *partition, p.hi_offset);
                }
            }
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(consumer = self.name, error = %error, reason, "Kafka client error.");
    }

    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error => {
                tracing::error!(
                    consumer = self.name,
                    facility = fac,
                    "librdkafka: {log_message}"
                )
            }
            RDKafkaLogLevel::Warning => tracing::warn!(
                consumer = self.name,
                facility = fac,
                "librdkafka: {log_message}"
            ),
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
                tracing::info!(
                    consumer = self.name,
                    facility = fac,
                    "librdkafka: {log_message}"
                )
            }
            RDKafkaLogLevel::Debug => tracing::debug!(
                consumer = self.name,
                facility = fac,
                "librdkafka: {log_message}"
            ),
        }
    }
}

impl ConsumerContext for ClientEvents {}

/// Moves each assigned partition's replay progress to the consumer's
/// position: the next offset it will read, past transaction markers and
/// anything else the log holds but never delivers. Call it only when every
/// record polled so far has been folded.
pub fn advance_to_positions<C: ConsumerContext>(consumer: &BaseConsumer<C>, progress: &Progress) {
    let Ok(positions) = consumer.position() else {
        return;
    };
    for e in positions.elements() {
        if let rdkafka::Offset::Offset(o) = e.offset() {
            progress.advance_one(e.topic(), e.partition(), o);
        }
    }
}

/// Polls up to `max` records: waits up to `wait` for the first, then takes
/// only what is already fetched. Each record comes with `tag()` read right
/// after the poll that returned it (the usage consumer tags records with its
/// rebalance generation). A consume error ends the batch early and is handed
/// to `on_error` (the loop goes on: librdkafka retries by itself).
pub fn poll_batch<'c, C: ConsumerContext>(
    consumer: &'c BaseConsumer<C>,
    max: usize,
    wait: std::time::Duration,
    tag: impl Fn() -> u64,
    on_error: impl FnOnce(KafkaError),
) -> Vec<(BorrowedMessage<'c>, u64)> {
    let mut batch = Vec::new();
    let mut wait = wait;
    while batch.len() < max {
        match consumer.poll(wait) {
            Some(Ok(m)) => batch.push((m, tag())),
            Some(Err(e)) => {
                on_error(e);
                break;
            }
            None => break,
        }
        wait = std::time::Duration::ZERO;
    }
    batch
}
