//! A do-nothing Kafka consumer on valuepulse's own librdkafka (the
//! `rdkafka` crate version of Cargo.lock), for `benches/e2e.sh`: it reads
//! every partition of a topic from the beginning to the high watermark taken
//! at start (as valuepulse's readiness does), only counting records, and
//! prints `READ <count>`. It is the ceiling for valuepulse's
//! replay with the very same client library and default settings (kcat
//! from Debian links an older librdkafka).
//!
//! Usage: `count_consumer BROKERS TOPIC [KEY=VALUE ...]` (extra librdkafka
//! properties, e.g. `fetch.queue.backoff.ms=0`).

#![allow(
    clippy::print_stderr,
    clippy::print_stdout,
    reason = "a measuring tool run by benches/e2e.sh: the count goes to stdout"
)]

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--bench") {
        // `cargo bench` runs every bench target with --bench: this one needs a broker.
        eprintln!("count_consumer: run by benches/e2e.sh (needs a broker); skipped");
        return Ok(());
    }
    let (Some(brokers), Some(topic)) = (args.first(), args.get(1)) else {
        return Err("usage: count_consumer BROKERS TOPIC [KEY=VALUE ...]".into());
    };
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", brokers)
        .set("group.id", "count-consumer")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true");
    for kv in &args[2..] {
        let (k, v) = kv.split_once('=').ok_or("properties are KEY=VALUE")?;
        config.set(k, v);
    }
    let consumer: BaseConsumer = config.create()?;
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    let partitions = metadata
        .topics()
        .first()
        .map(|t| t.partitions().len())
        .filter(|&n| n > 0)
        .ok_or("the topic has no partitions")?;
    let mut tpl = TopicPartitionList::new();
    let mut total = 0;
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p as i32, Offset::Beginning)?;
        let (low, high) = consumer.fetch_watermarks(topic, p as i32, Duration::from_secs(10))?;
        total += (high - low) as u64;
    }
    consumer.assign(&tpl)?;
    // Stops at the watermarks; end-of-partition events are the fallback
    // (they wait for one more fetch, up to fetch.wait.max.ms).
    let (mut count, mut at_end) = (0u64, 0usize);
    while count < total && at_end < partitions {
        match consumer.poll(Duration::from_millis(500)) {
            Some(Ok(_)) => count += 1,
            Some(Err(KafkaError::PartitionEOF(_))) => at_end += 1,
            Some(Err(e)) => return Err(e.into()),
            None => {}
        }
    }
    println!("READ {count}");
    Ok(())
}
