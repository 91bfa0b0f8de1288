//! Kafka out: one idempotent `acks=all` producer for the whole bridge, the
//! records of one delivery sent together and acknowledged within the
//! source's budget, and whether Kafka is reachable (`/readyz`).
//!
//! A delivery is answered 2xx only once Kafka has acknowledged every one
//! of its records. When it cannot within the budget, the answer is 503
//! and the source redelivers; a record that Kafka took after all is then
//! sent again with the same event id, which the daemon counts as a
//! `duplicate`: nothing is lost and nothing is doubled.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};

use crate::config::Config;

/// How long librdkafka keeps trying a record before it gives up: longer
/// than any source's budget, so a record acknowledged late is still
/// written once (the source's redelivery is then a duplicate).
pub const MESSAGE_TIMEOUT: Duration = Duration::from_secs(30);

/// How often Kafka's reachability is checked for `/readyz`.
pub const PROBE_EVERY: Duration = Duration::from_secs(2);

/// One record to produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Topic.
    pub topic: String,
    /// Key: the service (the repository for a pushed change).
    pub key: String,
    /// The event's JSON.
    pub value: Vec<u8>,
}

/// Kafka could not acknowledge within the budget (or refused the record).
#[derive(Debug, thiserror::Error)]
#[error("Kafka did not acknowledge within {budget:?}: {why}")]
pub struct Unavailable {
    /// The budget that ran out.
    pub budget: Duration,
    /// What librdkafka said, or that time ran out.
    pub why: String,
}

/// The producer and what is known of Kafka's health.
#[derive(Clone)]
pub struct Kafka {
    producer: FutureProducer,
    ready: Arc<AtomicBool>,
    request_timeout: Duration,
}

impl Kafka {
    /// An idempotent `acks=all` producer from `[kafka]` (its pass-through
    /// properties included: TLS, SASL). Not ready until the first probe.
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        let mut c = ClientConfig::new();
        for (k, v) in &config.kafka.properties {
            c.set(k, v);
        }
        c.set("bootstrap.servers", &config.kafka.brokers)
            .set("client.id", format!("{}-bridge", config.kafka.client_id))
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("linger.ms", "1")
            .set(
                "message.timeout.ms",
                MESSAGE_TIMEOUT.as_millis().to_string(),
            )
            .set_log_level(rdkafka::config::RDKafkaLogLevel::Error);
        let producer: FutureProducer = c.create().map_err(|e| {
            let (key, why) =
                crate::config::secrets::describe_client_error(&e, &config.kafka.properties);
            anyhow::anyhow!("{key}: {why}")
        })?;
        Ok(Self {
            producer,
            ready: Arc::new(AtomicBool::new(false)),
            request_timeout: config.request_timeout(),
        })
    }

    /// Whether Kafka answered the last probe and took the last delivery.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    /// Sends every record and waits for all acknowledgements, at most
    /// `budget` in all. Marks Kafka unready when it cannot.
    pub async fn send(&self, records: &[Record], budget: Duration) -> Result<(), Unavailable> {
        let unavailable = |why: String| Unavailable { budget, why };
        let mut pending = Vec::with_capacity(records.len());
        for r in records {
            let record = FutureRecord::to(&r.topic).key(&r.key).payload(&r.value);
            match self.producer.send_result(record) {
                Ok(delivery) => pending.push(delivery),
                Err((e, _)) => {
                    self.ready.store(false, Ordering::Relaxed);
                    return Err(unavailable(e.to_string()));
                }
            }
        }
        let all = async {
            for delivery in pending {
                match delivery.await {
                    Ok(Ok(_)) => {}
                    Ok(Err((e, _))) => return Err(e.to_string()),
                    Err(_) => return Err("the producer was dropped".to_owned()),
                }
            }
            Ok(())
        };
        match tokio::time::timeout(budget, all).await {
            Ok(Ok(())) => {
                self.ready.store(true, Ordering::Relaxed);
                Ok(())
            }
            Ok(Err(why)) => {
                self.ready.store(false, Ordering::Relaxed);
                Err(unavailable(why))
            }
            Err(_) => {
                self.ready.store(false, Ordering::Relaxed);
                Err(unavailable("no acknowledgement in time".to_owned()))
            }
        }
    }

    /// Asks the cluster for its metadata (a blocking call, bounded by
    /// `kafka.request_timeout`) and records whether it answered.
    pub fn probe(&self) -> bool {
        let ok = self
            .producer
            .client()
            .fetch_metadata(None, self.request_timeout)
            .is_ok_and(|md| !md.brokers().is_empty());
        let before = self.ready.swap(ok, Ordering::Relaxed);
        if before != ok {
            if ok {
                tracing::info!("Kafka reachable; the bridge is ready.");
            } else {
                tracing::warn!("Kafka unreachable; the bridge answers 503 until it is back.");
            }
        }
        ok
    }

    /// Waits up to `timeout` for records in flight (at shutdown).
    pub fn flush(&self, timeout: Duration) {
        if let Err(e) = self.producer.flush(timeout) {
            tracing::warn!(error = %e, "Records still in flight at shutdown.");
        }
    }
}
