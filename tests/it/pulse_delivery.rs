//! `valuepulse pulse send` end to end: a stand-in for the daemon's `/pulse`
//! endpoints (a fixed pulse), local HTTP receivers standing in for a Slack
//! incoming webhook, a Teams workflow and a generic JSON hook, and the
//! real broker holding the delivery record.
//!
//! What it proves: each destination gets the payload of its kind (the
//! Teams card valid against the published Adaptive Card schema); a second
//! run in the same ISO week posts nothing; a receiver answering 500 is
//! tried `attempts` times with growing waits, reported (exit 75, a log line
//! naming team and destination) and not recorded, so a later run delivers
//! it; no output ever holds a webhook URL's secret part. One more test runs
//! it against a real daemon on the real broker: the generic webhook gets
//! what the daemon's `/pulse` serves.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, ResourceSpecifier};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use serde_json::{Value, json};

use crate::common::{self, brokers, unique};

const PLANTED: &str = "planted-Secret-7f3a9";

/// One request a receiver got.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    content_type: String,
    body: Vec<u8>,
    at: Instant,
}

/// A plain HTTP/1.1 server on 127.0.0.1: one thread, one request per
/// connection, answers from `respond(path) -> (status, body)`.
struct Server {
    addr: String,
    received: Arc<Mutex<Vec<Received>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start(respond: impl Fn(&str) -> (u16, Vec<u8>) + Send + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let received = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, s) = (received.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        if let Some(req) = serve(stream, &respond) {
                            r.lock().unwrap().push(req);
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Self {
            addr,
            received,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn requests(&self, prefix: &str) -> Vec<Received> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path.starts_with(prefix))
            .cloned()
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Reads one request, answers it, closes.
fn serve(stream: TcpStream, respond: &impl Fn(&str) -> (u16, Vec<u8>)) -> Option<Received> {
    stream.set_nonblocking(false).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let at = Instant::now();
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let path = line.split_whitespace().nth(1)?.to_owned();
    let mut length = 0usize;
    let mut content_type = String::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (name, value) = h.split_once(':')?;
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().ok()?,
            "content-type" => value.trim().clone_into(&mut content_type),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    let (status, answer) = respond(&path);
    let mut out = stream;
    let head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        answer.len()
    );
    out.write_all(head.as_bytes()).ok()?;
    out.write_all(&answer).ok()?;
    out.flush().ok()?;
    Some(Received {
        path,
        content_type,
        body,
        at,
    })
}

/// The fixed pulse the daemon stand-in serves: team `payments` (or the
/// organisation, `team: null`), week 2026-W49.
fn pulse(team: Option<&str>) -> Value {
    json!({
        "schema": "valuepulse.pulse/v1",
        "team": team,
        "week": "2026-W49",
        "from": "2026-11-27T15:00:00Z",
        "to": "2026-12-04T15:00:00Z",
        "previous_from": "2026-11-20T15:00:00Z",
        "created": {"items": [
            {"kind": "deploys", "text": "12 deploys to production (8 the week before)",
             "value": 12.0, "previous": 8.0, "unit": "count", "comparison": "state"}
        ], "more": 0},
        "blocked": {"items": [], "more": 0},
        "opportunities": {"items": [
            {"kind": "feature_unused", "text": "export_csv shipped 9 days ago and still unused",
             "subject": "export_csv", "value": 0.0, "unit": "users", "comparison": "none"}
        ], "more": 2},
        "risks": {"items": [
            {"kind": "open_incident", "text": "Incident INC-7 open for 3 days",
             "subject": "INC-7", "value": 259200.0, "unit": "seconds", "comparison": "none"}
        ], "more": 0}
    })
}

/// The daemon's `/pulse` endpoints, standing in for the daemon (built in
/// parallel): `payments` and the organisation; any other team is 404.
fn daemon() -> Server {
    Server::start(|path| match path {
        "/pulse?format=json&team=payments" => (200, pulse(Some("payments")).to_string().into()),
        "/pulse?format=json" => (200, pulse(None).to_string().into()),
        "/pulse/teams" => (200, json!({"teams": ["payments"]}).to_string().into()),
        _ => (
            404,
            json!({"error": "unknown team", "teams": ["payments"]})
                .to_string()
                .into(),
        ),
    })
}

/// Runs `valuepulse pulse send` against the daemon at `daemon` (base URL)
/// with the destinations of `config`.
fn send(daemon: &str, config: &str, topic: &str) -> Output {
    let file = std::env::temp_dir().join(unique("valuepulse-pulse-send") + ".toml");
    std::fs::write(&file, config).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_valuepulse"))
        .args(["pulse", "send", "--url", daemon, "--config"])
        .arg(&file)
        .env("VALUEPULSE__KAFKA__BROKERS", brokers())
        .env("VALUEPULSE__TOPICS__PULSE_DELIVERIES", topic)
        .env("VALUEPULSE__PULSE__DELIVERY__ATTEMPTS", "3")
        .env("VALUEPULSE__PULSE__DELIVERY__BACKOFF", "200ms")
        .env("VALUEPULSE__PULSE__DELIVERY__MAX_BACKOFF", "2s")
        .env("VALUEPULSE__PULSE__DELIVERY__TIMEOUT", "5s")
        .env("VALUEPULSE__LOG__FORMAT", "json")
        // Most verbose (RUST_LOG wins over log.level): whatever any library
        // logs is checked for secrets.
        .env("VALUEPULSE__LOG__LEVEL", "trace")
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    std::fs::remove_file(&file).unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !all.contains(PLANTED),
        "pulse send printed a webhook URL's secret:\n{all}"
    );
    out
}

fn destination(name: &str, team: Option<&str>, kind: &str, url: &str) -> String {
    let team = team
        .map(|t| format!("team = \"{t}\"\n"))
        .unwrap_or_default();
    format!(
        "[[pulse.delivery.destinations]]\nname = \"{name}\"\n{team}kind = \"{kind}\"\nurl = \"{url}\"\n\n"
    )
}

/// The log lines (JSON) of a run.
fn log_lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .chain(String::from_utf8_lossy(&out.stderr).lines())
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .collect()
}

/// Every key with a value in the delivery record topic, read to its end.
fn recorded(topic: &str) -> BTreeSet<String> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("group.id", unique("pulse-delivery-test"))
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let (_, high) = consumer
        .fetch_watermarks(topic, 0, Duration::from_secs(10))
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&tpl).unwrap();
    let mut keys = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut next = 0;
    while next < high {
        assert!(Instant::now() < deadline, "cannot read {topic}");
        if let Some(m) = consumer.poll(Duration::from_millis(200)) {
            let m = m.unwrap();
            let key = String::from_utf8(m.key().unwrap().to_vec()).unwrap();
            let value: Value = serde_json::from_slice(m.payload().unwrap()).unwrap();
            keys.insert(key, value);
            next = m.offset() + 1;
        }
    }
    for (key, v) in &keys {
        assert_eq!(
            key,
            &format!(
                "{}/{}/{}",
                v["team"].as_str().unwrap(),
                v["week"].as_str().unwrap(),
                v["destination"].as_str().unwrap()
            )
        );
        assert!((200..300).contains(&v["status"].as_u64().unwrap()), "{v}");
    }
    keys.into_keys().collect()
}

/// The topic's `cleanup.policy`.
fn cleanup_policy(topic: &str) -> String {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .create()
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let results = rt
        .block_on(admin.describe_configs(
            &[ResourceSpecifier::Topic(topic)],
            &AdminOptions::new().request_timeout(Some(Duration::from_secs(10))),
        ))
        .unwrap();
    let resource = results.into_iter().next().unwrap().unwrap();
    resource
        .get("cleanup.policy")
        .and_then(|e| e.value.clone())
        .unwrap()
}

#[test]
fn each_destination_gets_its_payload_once_per_week_and_failures_are_retried_reported_and_not_recorded()
 {
    let _guard = common::shared();
    let topic = unique("pulse-deliveries");
    let daemon = daemon();
    let broken_fixed = Arc::new(AtomicBool::new(false));
    let status_of_broken = Arc::new(AtomicU16::new(500));
    let (fixed, status) = (broken_fixed.clone(), status_of_broken.clone());
    let hooks = Server::start(move |path| {
        if path.starts_with("/broken/") && !fixed.load(Ordering::Relaxed) {
            (
                status.load(Ordering::Relaxed),
                b"{\"error\":\"down\"}".to_vec(),
            )
        } else if path.starts_with("/slack/") {
            (200, b"ok".to_vec())
        } else {
            (202, Vec::new())
        }
    });
    let three = [
        destination(
            "payments-slack",
            Some("payments"),
            "slack",
            &hooks.url(&format!("/slack/T000/B000/{PLANTED}")),
        ),
        destination(
            "payments-teams",
            Some("payments"),
            "teams",
            &hooks.url(&format!("/teams/workflows/{PLANTED}?sig={PLANTED}")),
        ),
        destination(
            "org-hook",
            None,
            "webhook",
            &hooks.url(&format!("/hook/{PLANTED}")),
        ),
    ]
    .concat();

    // First run: one post each, recorded.
    let first = send(&daemon.url(""), &three, &topic);
    assert_eq!(first.status.code(), Some(0), "{first:?}");
    let slack = hooks.requests("/slack/");
    let teams = hooks.requests("/teams/");
    let hook = hooks.requests("/hook/");
    assert_eq!((slack.len(), teams.len(), hook.len()), (1, 1, 1));
    for r in [&slack[0], &teams[0], &hook[0]] {
        assert!(r.content_type.starts_with("application/json"), "{r:?}");
    }
    // Slack: Block Kit, the items as the pulse words them.
    let body: Value = serde_json::from_slice(&slack[0].body).unwrap();
    assert_eq!(body["text"], "Weekly Value Pulse: payments, 2026-W49");
    assert_eq!(body["blocks"][0]["type"], "header");
    let texts: Vec<&str> = body["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "section")
        .map(|b| b["text"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts.len(), 4);
    assert!(
        texts[0].ends_with("• 12 deploys to production (8 the week before)"),
        "{}",
        texts[0]
    );
    assert!(texts[1].ends_with("Nothing this week."), "{}", texts[1]);
    assert!(
        texts[2].ends_with("• export_csv shipped 9 days ago and still unused\n…and 2 more"),
        "{}",
        texts[2]
    );
    assert!(
        texts[3].ends_with("• Incident INC-7 open for 3 days"),
        "{}",
        texts[3]
    );
    // Teams: the workflow envelope around a card the published schema accepts.
    let body: Value = serde_json::from_slice(&teams[0].body).unwrap();
    assert_eq!(body["type"], "message");
    assert_eq!(
        body["attachments"][0]["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    let card = &body["attachments"][0]["content"];
    let schema: Value =
        serde_json::from_str(include_str!("../schemas/adaptive-card.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(card).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(card["type"], "AdaptiveCard");
    assert!(card.to_string().contains("Incident INC-7 open for 3 days"));
    // Generic hook: the organisation's pulse as the daemon served it.
    let body: Value = serde_json::from_slice(&hook[0].body).unwrap();
    assert_eq!(body, pulse(None));
    assert_eq!(cleanup_policy(&topic), "compact");
    let three_keys: BTreeSet<String> = [
        "payments/2026-W49/payments-slack",
        "payments/2026-W49/payments-teams",
        "(organisation)/2026-W49/org-hook",
    ]
    .map(str::to_owned)
    .into();
    assert_eq!(recorded(&topic), three_keys);

    // Second run, same week: nothing posted.
    let second = send(&daemon.url(""), &three, &topic);
    assert_eq!(second.status.code(), Some(0), "{second:?}");
    assert_eq!(hooks.received.lock().unwrap().len(), 3);
    let skipped = log_lines(&second)
        .iter()
        .filter(|l| l["message"] == "Already delivered this week; not posted again.")
        .count();
    assert_eq!(skipped, 3);

    // A destination answering 500: tried 3 times with growing waits,
    // reported, not recorded; the others are not posted again.
    let four = format!(
        "{three}{}",
        destination(
            "payments-broken",
            Some("payments"),
            "webhook",
            &hooks.url(&format!("/broken/{PLANTED}"))
        )
    );
    let third = send(&daemon.url(""), &four, &topic);
    assert_eq!(third.status.code(), Some(75), "{third:?}");
    let broken = hooks.requests("/broken/");
    assert_eq!(broken.len(), 3);
    let gaps: Vec<Duration> = broken.windows(2).map(|w| w[1].at - w[0].at).collect();
    assert!(gaps[0] >= Duration::from_millis(200), "{gaps:?}");
    assert!(gaps[1] >= Duration::from_millis(400), "{gaps:?}");
    assert_eq!(hooks.received.lock().unwrap().len(), 6);
    let logs = log_lines(&third);
    let retries = logs
        .iter()
        .filter(|l| l["level"] == "WARN" && l["destination"] == "payments-broken")
        .count();
    assert_eq!(retries, 2);
    let reported: Vec<&Value> = logs
        .iter()
        .filter(|l| l["level"] == "ERROR" && !l["team"].is_null())
        .collect();
    assert_eq!(reported.len(), 1, "{reported:?}");
    let e = &reported[0];
    assert_eq!(e["team"], "payments");
    assert_eq!(e["destination"], "payments-broken");
    assert_eq!(e["attempts"], 3);
    assert_eq!(e["reason"], "HTTP 500");
    assert_eq!(e["host"], format!("http://{}/<redacted>", hooks.addr));
    assert_eq!(recorded(&topic), three_keys);

    // The receiver is back: the next run delivers what was not lost.
    broken_fixed.store(true, Ordering::Relaxed);
    let fourth = send(&daemon.url(""), &four, &topic);
    assert_eq!(fourth.status.code(), Some(0), "{fourth:?}");
    assert_eq!(hooks.requests("/broken/").len(), 4);
    assert_eq!(hooks.received.lock().unwrap().len(), 7);
    let mut all_four = three_keys.clone();
    all_four.insert("payments/2026-W49/payments-broken".to_owned());
    assert_eq!(recorded(&topic), all_four);
    drop(status_of_broken);
}

#[test]
fn a_team_the_daemon_does_not_know_is_reported_and_nothing_is_posted() {
    let _guard = common::shared();
    let topic = unique("pulse-deliveries");
    let daemon = daemon();
    let hooks = Server::start(|_| (200, Vec::new()));
    let config = destination(
        "ghost-slack",
        Some("ghosts"),
        "slack",
        &hooks.url(&format!("/slack/{PLANTED}")),
    );
    let out = send(&daemon.url(""), &config, &topic);
    assert_eq!(out.status.code(), Some(69), "{out:?}");
    assert!(hooks.received.lock().unwrap().is_empty());
    let errors: Vec<Value> = log_lines(&out)
        .into_iter()
        .filter(|l| l["level"] == "ERROR" && !l["team"].is_null())
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["team"], "ghosts");
}

#[test]
fn check_config_never_prints_a_destination_url_good_or_bad() {
    let _guard = common::shared();
    let run = |config: &str| {
        let file = std::env::temp_dir().join(unique("valuepulse-pulse-check") + ".toml");
        std::fs::write(&file, config).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_valuepulse"))
            .arg("check-config")
            .arg("--config")
            .arg(&file)
            .output()
            .unwrap();
        std::fs::remove_file(&file).unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !all.contains(PLANTED),
            "check-config printed a webhook secret:\n{all}"
        );
        (out.status.code(), all)
    };
    let good = destination(
        "payments-slack",
        Some("payments"),
        "slack",
        &format!("https://hooks.slack.com/services/T0/B0/{PLANTED}"),
    );
    let (code, text) = run(&good);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("url = \"https://hooks.slack.com/<redacted>\""),
        "{text}"
    );
    let bad = destination(
        "payments-slack",
        Some("payments"),
        "slack",
        &format!("hooks.slack.com/{PLANTED}"),
    );
    let (code, text) = run(&bad);
    assert_eq!(code, Some(64), "{text}");
    assert!(text.contains("pulse.delivery.destinations.0.url"), "{text}");
}

/// Against a real daemon on the real broker: the generic webhook gets
/// exactly the pulse the daemon's `/pulse?format=json&team=payments`
/// serves (but for its instants, which move with the clock).
#[test]
fn the_generic_webhook_gets_what_a_real_daemon_serves() {
    use crate::common::events::{self, Event};
    use crate::common::{Daemon, create_topics, produce, scrape_after};

    let _guard = common::shared();
    let (deploys, incidents, usage) = (
        unique("pd-deploys"),
        unique("pd-incidents"),
        unique("pd-usage"),
    );
    create_topics(&[(&deploys, 1), (&incidents, 1), (&usage, 1)]);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    produce(
        &deploys,
        &[
            events::deploy(now, "d1", "checkout", "payments", "succeeded", -86_400).record(),
            events::deploy(now, "d2", "checkout", "payments", "rolled_back", -3_600).record(),
        ],
    );
    let daemon = Daemon::start(&[
        ("VALUEPULSE__TOPICS__DEPLOYS", &deploys),
        ("VALUEPULSE__TOPICS__INCIDENTS", &incidents),
        ("VALUEPULSE__TOPICS__FEATURE_USAGE", &usage),
    ]);
    daemon.wait_ready(Duration::from_secs(60));
    scrape_after(&daemon, 2, Duration::from_secs(30));

    let hooks = Server::start(|_| (200, Vec::new()));
    let topic = unique("pulse-deliveries");
    let config = destination(
        "payments-json",
        Some("payments"),
        "webhook",
        &hooks.url(&format!("/json/{PLANTED}")),
    );
    let out = send(&format!("http://{}", daemon.addr), &config, &topic);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let (status, _, served) = daemon.get("/pulse?format=json&team=payments").unwrap();
    assert_eq!(status, 200);
    let got = hooks.requests("/json");
    assert_eq!(got.len(), 1);
    let without_instants = |body: &[u8]| {
        let mut v: Value = serde_json::from_slice(body).unwrap();
        for k in ["from", "to", "previous_from"] {
            v.as_object_mut().unwrap().remove(k);
        }
        v
    };
    let posted = without_instants(&got[0].body);
    assert_eq!(posted, without_instants(&served));
    assert_eq!(posted["team"], "payments");
    assert!(
        posted["created"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["kind"] == "deploys" && i["value"] == 2.0),
        "{posted}"
    );
}
