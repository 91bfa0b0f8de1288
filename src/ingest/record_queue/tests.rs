//! The batch read against librdkafka's in-process mock cluster: every record
//! of every partition comes through the batch queue, in offset order, with
//! its value and timestamp, and none through the consumer queue; again
//! after the partitions were revoked and assigned anew (librdkafka clears a
//! partition's forward when it stops fetching it).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use rdkafka::ClientConfig;
use rdkafka::TopicPartitionList;
use rdkafka::client::ClientContext;
use rdkafka::consumer::Rebalance;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

use super::*;

const TOPIC: &str = "usage";
const PARTITIONS: i32 = 3;
const PER_PARTITION: i64 = 3_000;

/// A consumer context that forwards as the usage loop's does: assigned
/// partitions before the assignment, revoked ones forgotten.
#[derive(Default)]
struct Context {
    records: Mutex<Option<Arc<RecordQueue>>>,
    generation: AtomicU64,
}

impl ClientContext for Context {}

impl ConsumerContext for Context {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        self.generation.fetch_add(1, Ordering::Relaxed);
        let Some(queue) = lock(&self.records).clone() else {
            return;
        };
        match rebalance {
            Rebalance::Assign(tpl) => {
                assert!(queue.take(consumer, &partitions(tpl)).is_empty());
            }
            Rebalance::Revoke(tpl) => queue.release(&partitions(tpl)),
            Rebalance::Error(e) => panic!("rebalance error: {e}"),
        }
    }
}

impl HasRecordQueue for Context {
    fn record_queue(&self) -> &Mutex<Option<Arc<RecordQueue>>> {
        &self.records
    }
}

fn partitions(tpl: &TopicPartitionList) -> Vec<i32> {
    tpl.elements()
        .iter()
        .map(rdkafka::topic_partition_list::TopicPartitionListElem::partition)
        .collect()
}

/// The value of partition `p`'s record at `offset`.
fn value(p: i32, offset: i64) -> String {
    format!("p{p}-o{offset}")
}

fn cluster_with_records() -> MockCluster<'static, rdkafka::producer::DefaultProducerContext> {
    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic(TOPIC, PARTITIONS, 1).unwrap();
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .create()
        .unwrap();
    for offset in 0..PER_PARTITION {
        for p in 0..PARTITIONS {
            let v = value(p, offset);
            let mut record = BaseRecord::<(), String>::to(TOPIC).partition(p).payload(&v);
            loop {
                match producer.send(record) {
                    Ok(()) => break,
                    Err((_, r)) => {
                        record = r;
                        producer.poll(Duration::from_millis(10));
                    }
                }
            }
        }
    }
    producer.flush(Duration::from_secs(30)).unwrap();
    cluster
}

fn consumer(bootstrap: &str) -> BaseConsumer<Context> {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "record-queue-test")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        // The mock coordinator's rejoin after the unsubscribe waits up to a
        // session (45 s by default).
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "500")
        .create_with_context(Context::default())
        .unwrap()
}

/// Reads as the usage loop does until every record has come once; checks
/// each partition's order, values and timestamps. Returns the records that
/// came through the consumer queue instead.
fn read_all(consumer: &BaseConsumer<Context>, reader: &mut RecordReader<'_, Context>) -> usize {
    let mut next: HashMap<i32, i64> = HashMap::new();
    let mut via_batch = 0;
    let mut via_poll = 0;
    let total = usize::try_from(i64::from(PARTITIONS) * PER_PARTITION).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while via_batch + via_poll < total {
        assert!(
            Instant::now() < deadline,
            "read {via_batch} + {via_poll} of {total}"
        );
        if let Some(m) = consumer.poll(Duration::ZERO) {
            m.unwrap();
            via_poll += 1;
        }
        reader.refresh(consumer.context().generation.load(Ordering::Relaxed));
        reader.read(500, Duration::from_millis(50), |r| {
            let r = r.unwrap();
            let expected = next.entry(r.partition()).or_insert(0);
            assert_eq!(r.offset(), *expected, "partition {}", r.partition());
            assert_eq!(r.payload(), value(r.partition(), r.offset()).as_bytes());
            assert!(r.timestamp().is_some_and(|t| t > 0));
            *expected += 1;
            via_batch += 1;
        });
    }
    if via_poll == 0 {
        for p in 0..PARTITIONS {
            assert_eq!(next.get(&p).copied(), Some(PER_PARTITION), "partition {p}");
        }
    }
    via_poll
}

#[test]
fn every_record_comes_through_the_batch_queue_in_order_also_after_a_new_assignment() {
    let cluster = cluster_with_records();
    let consumer = consumer(&cluster.bootstrap_servers());
    let mut reader = RecordReader::install(&consumer, TOPIC).unwrap();
    consumer.subscribe(&[TOPIC]).unwrap();
    assert_eq!(read_all(&consumer, &mut reader), 0);

    // Revoked (the fetch stops and its forward is cleared), then assigned
    // anew: read again from the start (nothing was committed).
    consumer.unsubscribe();
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        drop(consumer.poll(Duration::from_millis(20)));
    }
    assert!(
        lock(&reader.shared.state).taken.is_empty(),
        "revoked partitions are forgotten"
    );
    consumer.subscribe(&[TOPIC]).unwrap();
    assert_eq!(read_all(&consumer, &mut reader), 0);

    // The reader hands the queue back before the consumer goes.
    let kept = lock(consumer.context().record_queue()).clone().unwrap();
    drop(reader);
    assert!(lock(consumer.context().record_queue()).is_none());
    // A reference kept past the reader finds the queue gone.
    assert_eq!(kept.take(&consumer, &[0]), vec![0]);
}
