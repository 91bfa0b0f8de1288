//! The delivery record: which (team, ISO week, destination) have had their
//! pulse, kept in Kafka so that it survives restarts and every replica of
//! the job sees the same one.
//!
//! A small compacted topic (`topics.pulse_deliveries`), key
//! `<team>/<week>/<destination>`, value a [`DeliveryRecord`]. A run reads
//! it whole, from the beginning to the high watermark of every partition,
//! before it posts anything; it writes a record (idempotent producer,
//! `acks=all`) only after a destination answered 2xx. Compaction keeps one
//! record per key, so the topic grows by one small record per team,
//! destination and week.
//!
//! When the topic does not exist it is created (one partition,
//! `cleanup.policy=compact`, the broker's default replication factor);
//! without the right to create it, the error says to create it so.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};

use crate::config::Config;

/// One delivery, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    /// The team, or `(organisation)`.
    pub team: String,
    /// The ISO week of the pulse, e.g. `2026-W49`.
    pub week: String,
    /// The destination's name.
    pub destination: String,
    /// `slack`, `teams` or `webhook`.
    pub kind: String,
    /// The 2xx status the destination answered.
    pub status: u16,
    /// Tries it took.
    pub attempts: u32,
    /// When, RFC 3339.
    pub delivered_at: String,
}

/// Why the record cannot be read or written.
#[derive(Debug, thiserror::Error)]
#[error("delivery record (topic {topic}): {why}")]
pub struct LedgerError {
    /// The topic.
    pub topic: String,
    /// What failed.
    pub why: String,
}

/// The record as read at the start of the run, plus what this run wrote.
pub struct Ledger {
    topic: String,
    delivered: HashSet<String>,
    producer: FutureProducer,
    timeout: Duration,
    runtime: tokio::runtime::Runtime,
}

impl Ledger {
    /// Connects, creates the topic when it is missing, and reads every
    /// record: a key with a value is delivered, a tombstone forgets it.
    pub fn open(config: &Config) -> Result<Self, LedgerError> {
        let topic = config.topics.pulse_deliveries.clone();
        let err = |why: String| LedgerError {
            topic: topic.clone(),
            why,
        };
        let timeout = config.request_timeout();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| err(format!("cannot start a runtime: {e}")))?;
        let consumer: BaseConsumer = client_config(config, "pulse-send")
            .set("group.id", format!("{}-pulse-send", config.kafka.group_id))
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("enable.partition.eof", "false")
            .set("auto.offset.reset", "earliest")
            .create()
            .map_err(|e| err(describe(&e, config)))?;
        let producer: FutureProducer = client_config(config, "pulse-send")
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("message.timeout.ms", timeout.as_millis().to_string())
            .create()
            .map_err(|e| err(describe(&e, config)))?;
        let Some(partitions) = partitions(&consumer, &topic, timeout).map_err(&err)? else {
            create(config, &topic, &runtime).map_err(&err)?;
            tracing::info!(topic = %topic, "Created the pulse delivery record topic (compacted).");
            return Ok(Self {
                topic,
                delivered: HashSet::new(),
                producer,
                timeout,
                runtime,
            });
        };
        let delivered = read_all(&consumer, &topic, &partitions, timeout).map_err(&err)?;
        tracing::info!(
            topic = %topic,
            records = delivered.len(),
            "Read the pulse delivery record."
        );
        Ok(Self {
            topic,
            delivered,
            producer,
            timeout,
            runtime,
        })
    }

    /// Whether `key` was delivered.
    pub fn contains(&self, key: &str) -> bool {
        self.delivered.contains(key)
    }

    /// Writes `record` under `key` and waits for Kafka's acknowledgement.
    pub fn record(&mut self, key: &str, record: &DeliveryRecord) -> Result<(), LedgerError> {
        let value = serde_json::to_vec(record).unwrap_or_default();
        let send = self.producer.send(
            FutureRecord::to(&self.topic).key(key).payload(&value),
            self.timeout,
        );
        let bound = self.timeout + Duration::from_secs(5);
        match self
            .runtime
            .block_on(async { tokio::time::timeout(bound, send).await })
        {
            Ok(Ok(_)) => {
                self.delivered.insert(key.to_owned());
                Ok(())
            }
            Ok(Err((e, _))) => Err(LedgerError {
                topic: self.topic.clone(),
                why: format!("Kafka did not acknowledge the record: {e}"),
            }),
            Err(_) => Err(LedgerError {
                topic: self.topic.clone(),
                why: "no acknowledgement in time".to_owned(),
            }),
        }
    }
}

/// The client properties every client of the run shares: the pass-through
/// `[kafka.properties]` (TLS, SASL), the brokers, the client id.
fn client_config(config: &Config, role: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    for (k, v) in &config.kafka.properties {
        c.set(k, v);
    }
    c.set("bootstrap.servers", &config.kafka.brokers)
        .set("client.id", format!("{}-{role}", config.kafka.client_id))
        .set_log_level(rdkafka::config::RDKafkaLogLevel::Error);
    c
}

/// A client error without any property value.
fn describe(e: &rdkafka::error::KafkaError, config: &Config) -> String {
    let (key, why) = crate::config::secrets::describe_client_error(e, &config.kafka.properties);
    format!("{key}: {why}")
}

/// The topic's partition ids, or `None` when it does not exist.
fn partitions(
    consumer: &BaseConsumer,
    topic: &str,
    timeout: Duration,
) -> Result<Option<Vec<i32>>, String> {
    let md = consumer
        .fetch_metadata(Some(topic), timeout)
        .map_err(|e| format!("cannot read its metadata: {e}"))?;
    let Some(t) = md.topics().iter().find(|t| t.name() == topic) else {
        return Ok(None);
    };
    match t.error() {
        None => Ok(Some(
            t.partitions()
                .iter()
                .map(rdkafka::metadata::MetadataPartition::id)
                .collect(),
        )),
        Some(RDKafkaRespErr::RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) => Ok(None),
        Some(e) => Err(format!("its metadata says {e:?}")),
    }
}

/// Creates the compacted topic; another run creating it first is fine.
fn create(config: &Config, topic: &str, runtime: &tokio::runtime::Runtime) -> Result<(), String> {
    let admin: AdminClient<DefaultClientContext> = client_config(config, "pulse-send")
        .create()
        .map_err(|e| describe(&e, config))?;
    let new = NewTopic::new(topic, 1, TopicReplication::Fixed(-1)).set("cleanup.policy", "compact");
    let options = AdminOptions::new().operation_timeout(Some(config.request_timeout()));
    let results = runtime
        .block_on(admin.create_topics([&new], &options))
        .map_err(|e| format!("cannot create it: {e}"))?;
    for r in results {
        match r {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((_, code)) => {
                return Err(format!(
                    "it does not exist and cannot be created ({code}); create it with cleanup.policy=compact"
                ));
            }
        }
    }
    Ok(())
}

/// Reads every partition from its beginning to its high watermark.
fn read_all(
    consumer: &BaseConsumer,
    topic: &str,
    partitions: &[i32],
    timeout: Duration,
) -> Result<HashSet<String>, String> {
    let mut ends: BTreeMap<i32, i64> = BTreeMap::new();
    let mut tpl = TopicPartitionList::new();
    for &p in partitions {
        let (low, high) = consumer
            .fetch_watermarks(topic, p, timeout)
            .map_err(|e| format!("cannot read partition {p}'s offsets: {e}"))?;
        if high > low {
            ends.insert(p, high);
            tpl.add_partition_offset(topic, p, Offset::Beginning)
                .map_err(|e| format!("cannot assign partition {p}: {e}"))?;
        }
    }
    let mut delivered = HashSet::new();
    if ends.is_empty() {
        return Ok(delivered);
    }
    consumer
        .assign(&tpl)
        .map_err(|e| format!("cannot assign its partitions: {e}"))?;
    // Reading a small topic takes well under one request timeout per
    // partition; past that the broker is not answering.
    let budget = timeout.saturating_mul(partitions.len() as u32 + 1);
    let deadline = Instant::now() + budget;
    while !ends.is_empty() {
        if Instant::now() > deadline {
            return Err(format!(
                "not read to its end within {}",
                humantime::format_duration(budget)
            ));
        }
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                if let Some(key) = m.key().and_then(|k| std::str::from_utf8(k).ok()) {
                    if m.payload().is_some_and(|v| !v.is_empty()) {
                        delivered.insert(key.to_owned());
                    } else {
                        delivered.remove(key);
                    }
                }
                if ends
                    .get(&m.partition())
                    .is_some_and(|&end| m.offset() + 1 >= end)
                {
                    ends.remove(&m.partition());
                }
            }
            Some(Err(e)) => return Err(format!("cannot read it: {e}")),
            None => {
                // A compacted or transactional log can end in offsets that
                // hold no record: done once the position reached the end.
                if let Ok(position) = consumer.position() {
                    for e in position.elements() {
                        if let Offset::Offset(o) = e.offset()
                            && ends.get(&e.partition()).is_some_and(|&end| o >= end)
                        {
                            ends.remove(&e.partition());
                        }
                    }
                }
            }
        }
    }
    Ok(delivered)
}
