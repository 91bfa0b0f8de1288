//! rdkafka plumbing shared by every consumer: client properties, the
//! context that turns librdkafka callbacks into logs and lag figures
//! ([`ClientEvents`]), the one poll loop ([`poll`]) and the one place
//! replay progress advances ([`advance_progress`]).

use std::sync::Arc;

use rdkafka::ClientConfig;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::message::BorrowedMessage;
use rdkafka::statistics::Statistics;

use super::outcome::LogBudget;
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
        // librdkafka drops lines above this level: its debug lines only when
        // the user asked for them (`debug`), else warnings and errors.
        .set_log_level(if config.kafka.properties.get("debug").is_some() {
            RDKafkaLogLevel::Debug
        } else {
            RDKafkaLogLevel::Warning
        });
    if let Some(g) = group_id {
        c.set("group.id", g);
    }
    c
}

/// Lines per [`OUTAGE_LOG_WINDOW_S`] of each kind of repeating client
/// trouble (client errors, librdkafka's warnings and errors, consume
/// errors): while the brokers are unreachable librdkafka reports every
/// reconnect, about 20 lines a second, and the first lines say it all.
/// Skipped lines are counted in the next one's `suppressed`.
pub const OUTAGE_LOG_LINES: u32 = 3;
/// The window of [`OUTAGE_LOG_LINES`], in seconds.
pub const OUTAGE_LOG_WINDOW_S: u64 = 10;

/// Context of every valuepulse consumer: librdkafka's logs and errors
/// become log lines, its statistics the high watermarks behind consumer lag.
pub struct ClientEvents {
    /// Where lag figures from statistics go.
    pub progress: Arc<Progress>,
    /// Name of the loop, for logs.
    pub name: &'static str,
    /// Budgets of client errors, librdkafka's warnings and errors, and
    /// consume errors.
    budgets: [LogBudget; 3],
}

impl ClientEvents {
    /// The context of the consumer loop `name`.
    pub fn new(progress: Arc<Progress>, name: &'static str) -> Self {
        let budget = || LogBudget::per(OUTAGE_LOG_LINES, OUTAGE_LOG_WINDOW_S);
        Self {
            progress,
            name,
            budgets: [budget(), budget(), budget()],
        }
    }

    /// Logs a consume error of this loop (`what` it reads), within its
    /// budget; the loop goes on (librdkafka retries by itself).
    pub fn consume_error(&self, what: &str, error: &KafkaError) {
        if let Some(suppressed) = self.budgets[2].take() {
            tracing::warn!(consumer = self.name, error = %error, suppressed, "Kafka consume error on {what}; continuing.");
        }
    }
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
        if let Some(suppressed) = self.budgets[0].take() {
            tracing::warn!(consumer = self.name, error = %error, reason, suppressed, "Kafka client error.");
        }
    }

    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        // Warnings and errors repeat with every reconnect; info and debug
        // lines come only when asked for (`debug`), and are all written.
        let suppressed = if (level as i32) <= (RDKafkaLogLevel::Warning as i32) {
            match self.budgets[1].take() {
                Some(n) => n,
                None => return,
            }
        } else {
            0
        };
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error => {
                tracing::error!(
                    consumer = self.name,
                    facility = fac,
                    suppressed,
                    "librdkafka: {log_message}"
                );
            }
            RDKafkaLogLevel::Warning => tracing::warn!(
                consumer = self.name,
                facility = fac,
                suppressed,
                "librdkafka: {log_message}"
            ),
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
                tracing::info!(
                    consumer = self.name,
                    facility = fac,
                    "librdkafka: {log_message}"
                );
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

/// The one place replay progress advances, called by each consumer loop on
/// its polling thread after every poll round: first each partition's offset
/// after what was folded (`folded`: topic, partition, next offset), then,
/// for every partition with nothing in flight (`in_flight` says which have
/// records polled but not yet folded), the consumer's position: the next
/// offset it will read, past transaction markers and anything else the log
/// holds but never delivers.
pub fn advance_progress<'t, C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
    progress: &Progress,
    folded: impl IntoIterator<Item = (&'t str, i32, i64)>,
    in_flight: impl Fn(&str, i32) -> bool,
) {
    for (topic, partition, offset) in folded {
        progress.advance_one(topic, partition, offset);
    }
    let Ok(positions) = consumer.position() else {
        return;
    };
    for e in positions.elements() {
        if in_flight(e.topic(), e.partition()) {
            continue;
        }
        if let rdkafka::Offset::Offset(o) = e.offset() {
            progress.advance_one(e.topic(), e.partition(), o);
        }
    }
}

/// The one poll loop of every consumer: polls up to `max` records, handing
/// each to `take` as it arrives; waits up to `wait` for the first, then
/// takes only what is already fetched. A consume error ends the round early
/// and is handed to `on_error` (the loop goes on: librdkafka retries by
/// itself). Returns how many records were taken.
pub fn poll<'c, C: ConsumerContext>(
    consumer: &'c BaseConsumer<C>,
    max: usize,
    wait: std::time::Duration,
    mut take: impl FnMut(BorrowedMessage<'c>),
    on_error: impl FnOnce(KafkaError),
) -> usize {
    let mut taken = 0;
    let mut wait = wait;
    while taken < max {
        match consumer.poll(wait) {
            Some(Ok(m)) => {
                take(m);
                taken += 1;
            }
            Some(Err(e)) => {
                on_error(e);
                break;
            }
            None => break,
        }
        wait = std::time::Duration::ZERO;
    }
    taken
}
