//! The bad-input corpus (`tests/corpus/manifest.toml`) on real Kafka: each
//! case is produced, then a good event of the same topic. For each the
//! daemon must count the case under its outcome (and reason), write a log
//! line naming its topic, partition and offset (for the outcomes that are
//! logged) and never any payload, and process the good event after it.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde::Deserialize;

use crate::common::events::{self, Event};
use crate::common::{self, at, brokers, unique};
use crate::fault::{self, Captured, config_file, daemon_env, sum_series};
use valuepulse::ingest::decode::{DeployV1, IncidentV1};

/// Every corpus payload that names anything carries this; no log may.
const MARKER: &str = "payload-marker";

#[derive(Debug, Deserialize)]
struct Manifest {
    case: Vec<Case>,
}

#[derive(Debug, Deserialize)]
struct Case {
    name: String,
    topic: String,
    file: Option<String>,
    generate: Option<String>,
    outcome: String,
    reason: Option<String>,
    why: String,
    #[serde(default)]
    null_key: bool,
    #[serde(default)]
    null_value: bool,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

fn corpus_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

fn manifest() -> Manifest {
    let text = std::fs::read_to_string(corpus_dir().join("manifest.toml")).unwrap();
    toml::from_str(&text).expect("tests/corpus/manifest.toml")
}

/// A valid event of `topic` whose ignored field `extra` (or, for a deploy,
/// `field`) holds `filler`.
fn with_filler(topic: &str, field: &str, filler: &str, now: i64, i: usize) -> Vec<u8> {
    let t = at(now, -600);
    match topic {
        "feature-usage" => format!(
            r#"{{"feature":"f-gen-{MARKER}","user":"u{i}","at":"{t}","extra":{filler}}}"#
        ),
        _ => format!(
            r#"{{"id":"gen-{i}","service":"{MARKER}-svc","status":"succeeded","finished_at":"{t}","{field}":{filler}}}"#
        ),
    }
    .into_bytes()
}

fn payload(case: &Case, now: i64, i: usize) -> Option<Vec<u8>> {
    if case.null_value {
        return None;
    }
    if let Some(g) = &case.generate {
        let (kind, n) = g.split_once(':').expect("generate = \"kind:N\"");
        let n: usize = n.parse().unwrap();
        let field = if kind == "nest-changes" {
            "changes"
        } else {
            "extra"
        };
        let filler = match kind {
            "nest" | "nest-changes" => format!("{}{}", "[".repeat(n), "]".repeat(n)),
            "array" => format!("[{}0]", "0,".repeat(n - 1)),
            "big" => format!("\"{}\"", "x".repeat(n)),
            other => panic!("unknown generator {other}"),
        };
        return Some(with_filler(&case.topic, field, &filler, now, i));
    }
    let file = case.file.as_ref().expect("file or generate");
    let bytes = std::fs::read(corpus_dir().join(file)).unwrap();
    let stamp = at(now, -600);
    Some(replace(&bytes, b"@NOW@", stamp.as_bytes()))
}

fn replace(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

/// A good event of the topic, numbered `i`.
fn good(topic: &str, now: i64, i: usize) -> Vec<u8> {
    let (id, t) = (format!("good-{i}"), at(now, -300));
    match topic {
        "deploys" => DeployV1 {
            id: id.into(),
            service: "good".into(),
            status: "succeeded".into(),
            finished_at: t.into(),
            ..DeployV1::default()
        }
        .json(),
        "incidents" => IncidentV1 {
            id: id.into(),
            service: "good".into(),
            status: "opened".into(),
            opened_at: t.into(),
            ..IncidentV1::default()
        }
        .json(),
        _ => events::usage(now, "good", &format!("u-{i}"), -300).json(),
    }
    .into_bytes()
}

fn create_big_topics(names: &[&str]) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .create()
        .unwrap();
    let new: Vec<NewTopic<'_>> = names
        .iter()
        .map(|n| {
            NewTopic::new(n, 1, TopicReplication::Fixed(1)).set("max.message.bytes", "12000000")
        })
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for r in rt
        .block_on(admin.create_topics(
            &new,
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(30))),
        ))
        .unwrap()
    {
        r.unwrap();
    }
}

#[test]
fn every_corpus_case_is_counted_with_its_reason_logged_by_offset_without_payload_and_the_next_event_is_processed()
 {
    let _isolation = common::shared();
    let cases = manifest().case;
    assert!(cases.len() >= 40, "the corpus lost cases");
    let names = [
        unique("corpus-deploys"),
        unique("corpus-incidents"),
        unique("corpus-usage"),
    ];
    create_big_topics(&[&names[0], &names[1], &names[2]]);
    let topic_of = |t: &str| -> String {
        match t {
            "deploys" => names[0].clone(),
            "incidents" => names[1].clone(),
            "feature-usage" => names[2].clone(),
            other => panic!("unknown topic {other} in the manifest"),
        }
    };
    let config = config_file("[log]\nlevel = \"info,valuepulse=debug\"\n");
    let mut daemon = Captured::run(
        &config,
        daemon_env(&brokers(), [&names[0], &names[1], &names[2]]),
    );
    daemon.wait_ready(Duration::from_secs(60));
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("message.max.bytes", "12000000")
        .set("acks", "all")
        .create()
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let topic = topic_of(&case.topic);
        let before = daemon.scrape();
        let seen = |s: &BTreeMap<String, f64>| {
            sum_series(s, "valuepulse_events_total", &[("topic", &topic)])
        };
        let value = payload(case, now, i);
        let mut headers = OwnedHeaders::new();
        for (k, v) in &case.headers {
            headers = headers.insert(Header {
                key: k,
                value: Some(v.as_bytes()),
            });
        }
        let mut record: FutureRecord<'_, str, [u8]> = FutureRecord::to(&topic).headers(headers);
        if !case.null_key {
            record = record.key("k");
        }
        if let Some(v) = &value {
            record = record.payload(v.as_slice());
        }
        let delivered = rt
            .block_on(producer.send(record, Duration::from_secs(30)))
            .unwrap_or_else(|(e, _)| panic!("{}: produce failed: {e}", case.name));
        let (partition, offset) = (delivered.partition, delivered.offset);
        let good_value = good(&case.topic, now, i);
        rt.block_on(
            producer.send(
                FutureRecord::<str, [u8]>::to(&topic)
                    .key("k")
                    .payload(&good_value),
                Duration::from_secs(30),
            ),
        )
        .unwrap_or_else(|(e, _)| panic!("{}: produce of the good event failed: {e}", case.name));

        let mut after = daemon.scrape();
        let ok = fault::eventually(Duration::from_secs(20), || {
            after = daemon.scrape();
            seen(&after) >= seen(&before) + 2.0
        });
        // Stay under the log budget (10 lines a second per kind), so every
        // case gets its line; the budget itself is tested below.
        std::thread::sleep(Duration::from_millis(120));
        if !ok {
            failures.push(format!(
                "{}: the case and the good event after it were not both processed within 20 s",
                case.name
            ));
            continue;
        }
        let delta = |s: &BTreeMap<String, f64>, outcome: &str| {
            sum_series(
                s,
                "valuepulse_events_total",
                &[("topic", &topic), ("outcome", outcome)],
            )
        };
        let want_outcome = if case.outcome == "accepted" { 2.0 } else { 1.0 };
        let got = delta(&after, &case.outcome) - delta(&before, &case.outcome);
        if got != want_outcome {
            let moved: Vec<String> = [
                "accepted",
                "updated",
                "duplicate",
                "invalid",
                "late",
                "future",
                "oversized",
                "ignored",
                "unsupported",
            ]
            .iter()
            .filter(|o| delta(&after, o) != delta(&before, o))
            .map(|o| format!("{o} +{}", delta(&after, o) - delta(&before, o)))
            .collect();
            failures.push(format!(
                "{} ({}): want outcome {}, moved: {moved:?}",
                case.name, case.why, case.outcome
            ));
            continue;
        }
        if case.outcome != "accepted"
            && delta(&after, "accepted") - delta(&before, "accepted") != 1.0
        {
            failures.push(format!(
                "{}: the good event after it was not accepted",
                case.name
            ));
        }
        if let Some(reason) = &case.reason {
            let r = |s: &BTreeMap<String, f64>| {
                sum_series(
                    s,
                    "valuepulse_events_invalid_total",
                    &[("topic", &topic), ("reason", reason)],
                )
            };
            if r(&after) - r(&before) != 1.0 {
                failures.push(format!(
                    "{} ({}): reason {reason} did not move by one",
                    case.name, case.why
                ));
            }
        }
        let logged = [
            "invalid",
            "oversized",
            "late",
            "future",
            "duplicate",
            "unsupported",
        ];
        if logged.contains(&case.outcome.as_str()) {
            let needle_offset = format!("\"offset\":{offset}");
            let needle_topic = format!("\"topic\":\"{topic}\"");
            let needle_partition = format!("\"partition\":{partition}");
            let found = fault::eventually(Duration::from_secs(5), || {
                daemon.text().lines().any(|l| {
                    l.contains(&needle_offset)
                        && l.contains(&needle_topic)
                        && l.contains(&needle_partition)
                })
            });
            if !found {
                failures.push(format!(
                    "{}: no log line naming {topic}/{partition}/{offset}",
                    case.name
                ));
            }
        }
    }
    let output = daemon.text();
    assert!(daemon.alive(), "the daemon died on the corpus");
    let status = daemon
        .terminate(Duration::from_secs(10))
        .expect("exit after SIGTERM");
    assert!(status.success());
    assert!(
        !output.contains(MARKER),
        "a payload reached the log:\n{}",
        output
            .lines()
            .filter(|l| l.contains(MARKER))
            .take(3)
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    let _ = std::fs::remove_file(config);
}

#[test]
fn a_flood_of_invalid_records_is_all_counted_but_logged_at_most_ten_lines_a_second() {
    let _isolation = common::shared();
    let names = [
        unique("flood-deploys"),
        unique("flood-incidents"),
        unique("flood-usage"),
    ];
    common::create_topics(&[(&names[0], 1), (&names[1], 1), (&names[2], 1)]);
    let config = config_file("");
    let mut daemon = Captured::run(
        &config,
        daemon_env(&brokers(), [&names[0], &names[1], &names[2]]),
    );
    daemon.wait_ready(Duration::from_secs(60));
    let n = 2000;
    let records: Vec<(String, String)> = (0..n)
        .map(|i| ("k".to_owned(), format!("garbage {i}")))
        .collect();
    let start = std::time::Instant::now();
    common::produce_many(&names[0], &records);
    assert!(
        fault::eventually(Duration::from_secs(30), || {
            sum_series(
                &daemon.scrape(),
                "valuepulse_events_invalid_total",
                &[("topic", &names[0]), ("reason", "malformed_json")],
            ) == f64::from(n)
        }),
        "not every invalid record was counted"
    );
    let seconds = start.elapsed().as_secs() + 2;
    let text = daemon.text();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("Skipped invalid event."))
        .collect();
    assert!(!lines.is_empty(), "no line at all");
    assert!(
        lines.len() as u64 <= 10 * seconds,
        "{} lines in about {seconds} s: not rate-limited",
        lines.len()
    );
    assert!(
        daemon
            .terminate(Duration::from_secs(10))
            .expect("exit")
            .success()
    );
    let _ = std::fs::remove_file(config);
}
