//! Producing one prepared event: an idempotent `acks=all` producer and the
//! wait for the broker's acknowledgement.

use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};

use super::{EmitError, Prepared};
use crate::config::Config;

/// What the broker acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emitted {
    /// The event id.
    pub id: String,
    /// Topic written to.
    pub topic: String,
    /// Partition and offset of the record.
    pub partition: i32,
    /// Offset of the record.
    pub offset: i64,
}

/// A producer that waits for every in-sync replica (`acks=all`), idempotent,
/// giving up on a record after `timeout`.
pub(super) fn producer(config: &Config, timeout: Duration) -> Result<FutureProducer, EmitError> {
    let mut c = ClientConfig::new();
    for (k, v) in &config.kafka.properties {
        c.set(k, v);
    }
    let ms = timeout.as_millis().clamp(1, i32::MAX as u128).to_string();
    c.set("bootstrap.servers", &config.kafka.brokers)
        .set("client.id", format!("{}-emit", config.kafka.client_id))
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("message.timeout.ms", &ms)
        .set_log_level(rdkafka::config::RDKafkaLogLevel::Error);
    c.create().map_err(|e| {
        let (key, why) =
            crate::config::secrets::describe_client_error(&e, &config.kafka.properties);
        EmitError::Config(format!("{key}: {why}"))
    })
}

pub(super) async fn send(
    producer: &FutureProducer,
    p: &Prepared,
    timeout: Duration,
) -> Result<Emitted, EmitError> {
    let mut headers = OwnedHeaders::new_with_capacity(p.record.headers.len());
    for (k, v) in &p.record.headers {
        headers = headers.insert(Header {
            key: k,
            value: Some(v.as_bytes()),
        });
    }
    let record = FutureRecord::to(&p.topic)
        .key(p.key.as_str())
        .payload(p.record.payload.as_str())
        .headers(headers);
    let not_acked = |why: String| {
        EmitError::Delivery(format!(
            "the broker did not acknowledge {} on topic {} within {}: {why} (is the broker reachable, and does the topic exist?)",
            p.id,
            p.topic,
            humantime::format_duration(timeout)
        ))
    };
    // librdkafka gives up after message.timeout.ms; the outer bound only
    // guards against a report that never comes.
    let delivery = tokio::time::timeout(
        timeout + Duration::from_secs(5),
        producer.send(record, timeout),
    )
    .await
    .map_err(|_| not_acked("no delivery report".into()))?;
    match delivery {
        Ok(d) => Ok(Emitted {
            id: p.id.clone(),
            topic: p.topic.clone(),
            partition: d.partition,
            offset: d.offset,
        }),
        Err((e, _)) => Err(not_acked(e.to_string())),
    }
}
