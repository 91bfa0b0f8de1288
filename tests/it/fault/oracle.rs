//! The oracle of the fault tests: a producer whose acknowledged records go
//! into a [`Ledger`], the datasets the tests write, and [`Reference`], an
//! independent computation over the ledger of what the daemon must export.
//!
//! The reference reads the ledger's JSON with its own structs and counts
//! with plain loops: it shares no code with the daemon. It covers what the
//! fault datasets contain: deploys (`succeeded`, `rolled_back`) of a few
//! services, all finished inside the shortest window; usage events of a few
//! features by many users, inside the shortest window. For those:
//!
//! | series | expected |
//! |---|---|
//! | `valuepulse_events_total{topic,outcome="accepted"}` | at least the acknowledged records per topic (each record a distinct event; a partition replayed again in-process counts again) |
//! | `valuepulse_deployments{service,window}` | deploys of the service (all statuses here reach production) |
//! | `valuepulse_deployments_failed{service,window,attribution}` | `rolled_back` deploys, both modes |
//! | `valuepulse_change_failure_ratio{service,window,attribution}` | failed ÷ deployments |
//! | `valuepulse_feature_usage_events{feature,window}` | acknowledged usage events of the feature (summed over replicas) |
//! | `valuepulse_feature_users{feature,window}` | distinct users (HyperLogLog: within 2 %, summed over replicas) |

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{ClientContext, error::KafkaError, error::RDKafkaErrorCode};
use serde::Deserialize;

/// One record the broker acknowledged.
#[derive(Debug, Clone)]
pub struct Acked {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Value.
    pub payload: String,
}

/// Every acknowledged record, in acknowledgement order, plus the failures.
#[derive(Debug, Default)]
pub struct Ledger {
    /// Acknowledged records.
    pub acked: Vec<Acked>,
    /// Records whose delivery failed (not acknowledged: not in the oracle).
    pub failed: u64,
}

struct LedgerContext {
    ledger: Arc<Mutex<Ledger>>,
}

impl ClientContext for LedgerContext {}

impl ProducerContext for LedgerContext {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, (): ()) {
        let mut l = self.ledger.lock().unwrap();
        match result {
            Ok(m) => {
                let acked = Acked {
                    topic: m.topic().to_owned(),
                    partition: m.partition(),
                    offset: m.offset(),
                    payload: String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned(),
                };
                l.acked.push(acked);
            }
            Err(_) => l.failed += 1,
        }
    }
}

/// A producer (`acks=all`, idempotent) that records every acknowledged
/// record in its ledger. Its message timeout is long enough to ride out the
/// broker faults of the suite (a paused or killed broker), so a record is
/// either acknowledged or, rarely, reported failed: never silently dropped.
pub struct LedgerProducer {
    producer: BaseProducer<LedgerContext>,
    brokers: String,
    /// The ledger.
    pub ledger: Arc<Mutex<Ledger>>,
    sent: u64,
}

impl LedgerProducer {
    /// Connects to `brokers`, with extra producer properties.
    pub fn new(brokers: &str, extra: &[(&str, &str)]) -> Self {
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", brokers)
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("message.timeout.ms", "300000")
            .set("linger.ms", "5");
        for (k, v) in extra {
            c.set(*k, *v);
        }
        let producer = c
            .create_with_context(LedgerContext {
                ledger: ledger.clone(),
            })
            .expect("ledger producer");
        Self {
            producer,
            brokers: brokers.to_owned(),
            ledger,
            sent: 0,
        }
    }

    /// The bootstrap address it writes to.
    pub fn brokers(&self) -> &str {
        &self.brokers
    }

    /// Starts a transaction (the producer needs a `transactional.id`).
    pub fn begin_transaction(&self) {
        self.producer
            .init_transactions(Duration::from_secs(30))
            .expect("init_transactions");
        self.producer
            .begin_transaction()
            .expect("begin_transaction");
    }

    /// Commits the transaction (flushes first).
    pub fn commit_transaction(&self) {
        self.producer
            .commit_transaction(Duration::from_secs(30))
            .expect("commit_transaction");
    }

    /// Queues one record (waiting while the local queue is full).
    pub fn send(&mut self, topic: &str, key: &str, payload: &str) {
        let mut record = BaseRecord::to(topic).key(key).payload(payload);
        let start = Instant::now();
        loop {
            match self.producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    record = r;
                    self.producer.poll(Duration::from_millis(10));
                    assert!(
                        start.elapsed() < Duration::from_secs(300),
                        "local queue full for 5 minutes"
                    );
                }
                Err((e, _)) => panic!("send to {topic} failed: {e}"),
            }
        }
        self.sent += 1;
        self.producer.poll(Duration::ZERO);
    }

    /// Serves delivery reports for up to `d`.
    pub fn poll(&self, d: Duration) {
        self.producer.poll(d);
    }

    /// Waits until every queued record is acknowledged or failed.
    pub fn flush(&self, timeout: Duration) {
        self.producer
            .flush(timeout)
            .unwrap_or_else(|e| panic!("ledger producer flush: {e}"));
    }

    /// Records queued so far.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// Acknowledged so far.
    pub fn acked(&self) -> usize {
        self.ledger.lock().unwrap().acked.len()
    }

    /// A copy of the ledger's acknowledged records.
    pub fn snapshot(&self) -> Vec<Acked> {
        self.ledger.lock().unwrap().acked.clone()
    }

    /// Records reported failed.
    pub fn failed(&self) -> u64 {
        self.ledger.lock().unwrap().failed
    }
}

/// The datasets: deterministic event streams near `now` (Unix seconds).
pub mod dataset {
    use crate::common::events::{self, Event};

    /// Services deploys are spread over.
    pub const SERVICES: [&str; 3] = ["checkout", "search", "billing"];
    /// Features usage is spread over.
    pub const FEATURES: [&str; 4] = ["one-click", "dark-mode", "export", "chat"];

    /// Deploy number `i` (unique id): service `i % 3`, rolled back when
    /// `i % 7 == 3`, finished `i % 3000` seconds before `now` (inside 1d).
    pub fn deploy(run: &str, i: u64, now: i64) -> (String, String) {
        let service = SERVICES[(i % 3) as usize];
        let status = if i % 7 == 3 {
            "rolled_back"
        } else {
            "succeeded"
        };
        let id = format!("{run}-d{i}");
        let team = format!("team-{service}");
        events::deploy(now, &id, service, &team, status, -((i % 3000) as i64) - 60).record()
    }

    /// Usage event number `i`: user `i % users`, feature by a fixed mix.
    pub fn usage(i: u64, users: u64, now: i64) -> (String, String) {
        let user = format!("u-{}", i % users);
        let feature = FEATURES[((i / 3 + i % 5) % 4) as usize];
        events::usage(now, feature, &user, -((i % 3000) as i64) - 60).record()
    }
}

#[derive(Deserialize)]
struct RefDeploy {
    service: String,
    status: String,
}

#[derive(Deserialize)]
struct RefUsage {
    feature: String,
    user: String,
}

/// One expected figure.
#[derive(Debug, Clone)]
pub struct Expect {
    /// Metric name.
    pub name: &'static str,
    /// Labels the series must have (others are summed over).
    pub labels: Vec<(String, String)>,
    /// Expected value.
    pub value: f64,
    /// Relative tolerance (0 for counts and ratios).
    pub tolerance: f64,
    /// Whether replicas split it (usage is sharded by partition: summed over
    /// replicas) rather than each exporting all of it (DORA: the first).
    pub summed: bool,
    /// A floor, not an exact value: `valuepulse_events_total` counts
    /// records *processed*, and a partition replayed again in the same
    /// process (after a lost assignment) is processed again. The state
    /// figures stay exact.
    pub at_least: bool,
}

/// What the daemon must export for a ledger.
#[derive(Debug, Default)]
pub struct Reference {
    /// Every expected figure.
    pub expects: Vec<Expect>,
}

impl Reference {
    /// Computes the expectations for the acknowledged records of the three
    /// topics, over `windows` (labels as configured).
    pub fn compute(
        acked: &[Acked],
        deploys_topic: &str,
        usage_topic: &str,
        windows: &[&str],
    ) -> Self {
        let mut deploys: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        let mut usage_events: BTreeMap<String, u64> = BTreeMap::new();
        let mut usage_users: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut per_topic: BTreeMap<&str, u64> = BTreeMap::new();
        for a in acked {
            if a.topic == deploys_topic {
                let d: RefDeploy = serde_json::from_str(&a.payload).expect("ledger deploy");
                let e = deploys.entry(d.service).or_default();
                e.0 += 1;
                if d.status == "rolled_back" {
                    e.1 += 1;
                }
                *per_topic.entry(deploys_topic).or_default() += 1;
            } else if a.topic == usage_topic {
                let u: RefUsage = serde_json::from_str(&a.payload).expect("ledger usage");
                *usage_events.entry(u.feature.clone()).or_default() += 1;
                usage_users.entry(u.feature).or_default().insert(u.user);
                *per_topic.entry(usage_topic).or_default() += 1;
            }
        }
        let mut expects = Vec::new();
        let l = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        for (topic, n) in &per_topic {
            expects.push(Expect {
                name: "valuepulse_events_total",
                labels: l(&[("topic", topic), ("outcome", "accepted")]),
                value: *n as f64,
                tolerance: 0.0,
                summed: *topic == usage_topic,
                at_least: true,
            });
        }
        for w in windows {
            for (service, (n, failed)) in &deploys {
                expects.push(Expect {
                    name: "valuepulse_deployments",
                    labels: l(&[("service", service), ("window", w)]),
                    value: *n as f64,
                    tolerance: 0.0,
                    summed: false,
                    at_least: false,
                });
                for mode in ["strict", "loose"] {
                    expects.push(Expect {
                        name: "valuepulse_deployments_failed",
                        labels: l(&[("service", service), ("window", w), ("attribution", mode)]),
                        value: *failed as f64,
                        tolerance: 0.0,
                        summed: false,
                        at_least: false,
                    });
                    expects.push(Expect {
                        name: "valuepulse_change_failure_ratio",
                        labels: l(&[("service", service), ("window", w), ("attribution", mode)]),
                        value: *failed as f64 / *n as f64,
                        tolerance: 0.0,
                        summed: false,
                        at_least: false,
                    });
                }
            }
            for (feature, n) in &usage_events {
                expects.push(Expect {
                    name: "valuepulse_feature_usage_events",
                    labels: l(&[("feature", feature), ("window", w)]),
                    value: *n as f64,
                    tolerance: 0.0,
                    summed: true,
                    at_least: false,
                });
                expects.push(Expect {
                    name: "valuepulse_feature_users",
                    labels: l(&[("feature", feature), ("window", w)]),
                    value: usage_users[feature].len() as f64,
                    tolerance: 0.02,
                    summed: true,
                    at_least: false,
                });
            }
        }
        Self { expects }
    }

    /// The same figures as lower bounds: what a scrape must at least show
    /// while more events arrive on top of these (ratios, which may move
    /// either way, left out). A ready daemon below it has lost state.
    pub fn floor(&self) -> Self {
        let expects = self
            .expects
            .iter()
            .filter(|e| !e.name.ends_with("_ratio"))
            .map(|e| Expect {
                value: e.value * (1.0 - e.tolerance),
                tolerance: 0.0,
                at_least: true,
                ..e.clone()
            })
            .collect();
        Self { expects }
    }

    /// Mismatches between the reference and the sum of `scrapes` (one per
    /// replica; DORA figures are taken from the first, every replica must
    /// agree on them).
    pub fn diverge(&self, scrapes: &[BTreeMap<String, f64>]) -> Vec<String> {
        let mut errors = Vec::new();
        for e in &self.expects {
            let labels: Vec<(&str, &str)> = e
                .labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let got: f64 = if e.summed {
                scrapes
                    .iter()
                    .map(|s| super::sum_series(s, e.name, &labels))
                    .sum()
            } else {
                super::sum_series(&scrapes[0], e.name, &labels)
            };
            let ok = if e.at_least {
                got >= e.value
            } else if e.tolerance == 0.0 {
                (got - e.value).abs() <= 1e-9 * e.value.abs().max(1.0)
            } else {
                (got - e.value).abs() <= e.tolerance * e.value.abs()
            };
            if !ok {
                errors.push(format!(
                    "{}{:?}: want {}, got {got}",
                    e.name, e.labels, e.value
                ));
            }
        }
        errors
    }
}
