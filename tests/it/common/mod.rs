//! Shared harness of the integration tests: a real Kafka broker (started by
//! `deploy/test.sh`, address in `VALUEPULSE_TEST_BROKERS`), the daemon as a
//! child process, scraping and parsing `/metrics`.
//!
//! Nothing here skips: a missing broker or tool fails the test with a message
//! that says how to provide it.
//!
//! Every test takes [`shared`] or [`exclusive`] first ([`isolation`] says
//! which and why).

#![allow(dead_code)]

pub mod bridge;
pub mod cloudevents;
pub mod events;
pub mod isolation;
pub mod prometheus;

pub use isolation::{exclusive, in_own_process, shared};

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{
    BaseProducer, BaseRecord, DeliveryResult, FutureProducer, FutureRecord, Producer,
    ProducerContext,
};
use rdkafka::{ClientConfig, ClientContext};

/// Address of the real broker the tests use.
pub fn brokers() -> String {
    std::env::var("VALUEPULSE_TEST_BROKERS").unwrap_or_else(|_| {
        panic!(
            "VALUEPULSE_TEST_BROKERS is not set. The integration tests need a real Kafka broker: \
             run them with `deploy/test.sh`, which starts one on 127.0.0.1, or start one with \
             `deploy/kafka-local.sh start` and export VALUEPULSE_TEST_BROKERS=127.0.0.1:19092."
        )
    })
}

/// A topic name no other test (or earlier run) uses.
pub fn unique(prefix: &str) -> String {
    let nanos = valuepulse::clock::now_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Creates topics (name, partitions) on the test broker.
pub fn create_topics(topics: &[(&str, i32)]) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .create()
        .expect("admin client");
    let new: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|(n, p)| NewTopic::new(n, *p, TopicReplication::Fixed(1)))
        .collect();
    let results = runtime()
        .block_on(admin.create_topics(
            &new,
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(30))),
        ))
        .expect("create_topics request");
    for r in results {
        r.unwrap_or_else(|(t, e)| panic!("cannot create topic {t}: {e}"));
    }
}

/// Publishes `(key, payload)` records to `topic` in order and waits for every
/// acknowledgement.
pub fn produce<K: AsRef<str>, P: AsRef<str>>(topic: &str, records: &[(K, P)]) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .create()
        .expect("producer");
    runtime().block_on(async {
        for (key, payload) in records {
            producer
                .send(
                    FutureRecord::to(topic)
                        .key(key.as_ref())
                        .payload(payload.as_ref()),
                    Duration::from_secs(30),
                )
                .await
                .unwrap_or_else(|(e, _)| panic!("produce to {topic} failed: {e}"));
        }
    });
}

/// Most records [`produce_many`] has sent and not yet seen acknowledged.
pub const PRODUCE_MANY_IN_FLIGHT: u64 = 20_000;

/// Delivery reports of [`produce_many`]: acknowledged and failed records, and
/// the first failure.
#[derive(Default)]
struct Acks {
    ok: AtomicU64,
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl Acks {
    fn done(&self) -> u64 {
        self.ok.load(Ordering::Relaxed) + self.failed.load(Ordering::Relaxed)
    }
}

impl ClientContext for Acks {}

impl ProducerContext for Acks {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, (): ()) {
        match result {
            Ok(_) => {
                self.ok.fetch_add(1, Ordering::Relaxed);
            }
            Err((e, _)) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                self.first_error
                    .lock()
                    .unwrap()
                    .get_or_insert_with(|| e.to_string());
            }
        }
    }
}

/// Publishes many `(key, payload)` records to `topic` asynchronously, with
/// librdkafka's default batching, at most [`PRODUCE_MANY_IN_FLIGHT`]
/// unacknowledged at a time, and waits for every acknowledgement (at most
/// `60 s` beyond the last send). Order per partition is kept (idempotent
/// producer). Panics on any delivery failure.
pub fn produce_many<K: AsRef<str>, P: AsRef<str>>(topic: &str, records: &[(K, P)]) {
    let producer: BaseProducer<Acks> = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .create_with_context(Acks::default())
        .expect("producer");
    let acks = producer.context();
    let deadline = Duration::from_secs(60);
    for (sent, (key, payload)) in records.iter().enumerate() {
        let started = Instant::now();
        while sent as u64 - acks.done() >= PRODUCE_MANY_IN_FLIGHT {
            producer.poll(Duration::from_millis(10));
            assert!(
                started.elapsed() < deadline,
                "produce_many to {topic}: no acknowledgement for {deadline:?}"
            );
        }
        let mut record = BaseRecord::to(topic)
            .key(key.as_ref())
            .payload(payload.as_ref());
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    record = r;
                    producer.poll(Duration::from_millis(10));
                    assert!(
                        started.elapsed() < deadline,
                        "produce_many to {topic}: local queue full for {deadline:?}"
                    );
                }
                Err((e, _)) => panic!("produce_many to {topic}: send failed: {e}"),
            }
        }
        producer.poll(Duration::ZERO);
    }
    producer
        .flush(deadline)
        .unwrap_or_else(|e| panic!("produce_many to {topic}: flush failed: {e}"));
    let (ok, failed) = (
        acks.ok.load(Ordering::Relaxed),
        acks.failed.load(Ordering::Relaxed),
    );
    assert_eq!(
        failed,
        0,
        "produce_many to {topic}: {failed} records failed, first: {:?}",
        acks.first_error.lock().unwrap()
    );
    assert_eq!(
        ok,
        records.len() as u64,
        "produce_many to {topic}: acknowledged {ok} of {} records",
        records.len()
    );
}

/// RFC 3339 (UTC, `…SSZ`) of `now + offset`, both in Unix seconds, as
/// every producer of events writes it
/// (`valuepulse::ingest::decode::format_time`).
pub fn at(now: i64, offset: i64) -> String {
    valuepulse::ingest::decode::format_time((now + offset) * 1000)
}

/// A free loopback port.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The daemon, run as a child process of the test.
pub struct Daemon {
    child: Child,
    /// `127.0.0.1:<port>` of its admin server.
    pub addr: String,
    env: Vec<(String, String)>,
}

impl Daemon {
    /// Starts `valuepulse run` with the test broker and extra environment.
    /// Unless the environment says otherwise, the daemon gets its own
    /// consumer group and a short group session timeout (so a killed member
    /// leaves the group in seconds, not the default 45 s).
    pub fn start(env: &[(&str, &str)]) -> Self {
        let addr = format!("127.0.0.1:{}", free_port());
        let config = std::env::temp_dir().join(unique("valuepulse-test-config") + ".toml");
        std::fs::write(
            &config,
            "[kafka.properties]\n\"session.timeout.ms\" = \"6000\"\n\"heartbeat.interval.ms\" = \"500\"\n",
        )
        .unwrap();
        let mut all: Vec<(String, String)> = vec![
            ("VALUEPULSE__KAFKA__BROKERS".into(), brokers()),
            (
                "VALUEPULSE__KAFKA__GROUP_ID".into(),
                unique("valuepulse-test"),
            ),
            // A stable member name, kept by `restart` as a pod keeps its name.
            (
                "VALUEPULSE__KAFKA__GROUP_INSTANCE_ID".into(),
                unique("valuepulse-member"),
            ),
            ("VALUEPULSE__HTTP__LISTEN".into(), addr.clone()),
            ("VALUEPULSE__LOG__FORMAT".into(), "json".into()),
            (
                "VALUEPULSE_TEST_CONFIG".into(),
                config.to_string_lossy().into_owned(),
            ),
        ];
        all.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Self::spawn(addr, all)
    }

    fn spawn(addr: String, env: Vec<(String, String)>) -> Self {
        let config = env
            .iter()
            .find(|(k, _)| k == "VALUEPULSE_TEST_CONFIG")
            .map(|(_, v)| v.clone())
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_valuepulse"))
            .arg("run")
            .arg("--config")
            .arg(config)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn valuepulse");
        Self { child, addr, env }
    }

    /// A new daemon with the same address and environment (after a kill).
    pub fn restart(&mut self) {
        let next = Self::spawn(self.addr.clone(), self.env.clone());
        let old = std::mem::replace(self, next);
        std::mem::forget(old);
    }

    /// GET a path; (status, headers, body).
    pub fn get(&self, path: &str) -> Option<(u16, String, Vec<u8>)> {
        http_get(&self.addr, path, &[])
    }

    /// Waits until `/readyz` answers 200.
    pub fn wait_ready(&self, timeout: Duration) {
        let start = Instant::now();
        let mut last = String::new();
        while start.elapsed() < timeout {
            if let Some((status, _, body)) = self.get("/readyz") {
                if status == 200 {
                    return;
                }
                last = String::from_utf8_lossy(&body).into_owned();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("daemon not ready after {timeout:?}; last /readyz: {last}");
    }

    /// The `/metrics` text.
    pub fn scrape(&self) -> String {
        let (status, _, body) = self.get("/metrics").expect("scrape");
        assert_eq!(status, 200);
        String::from_utf8(body).unwrap()
    }

    /// SIGKILL, no chance to clean up.
    pub fn kill9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then wait up to `deadline` for the exit status.
    pub fn terminate(&mut self, deadline: Duration) -> Option<ExitStatus> {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let start = Instant::now();
        while start.elapsed() < deadline {
            if let Some(s) = self.child.try_wait().unwrap() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// Process id of the daemon.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The config file `start` wrote (kept across `restart`, which
        // forgets the old value instead of dropping it).
        if let Some((_, config)) = self.env.iter().find(|(k, _)| k == "VALUEPULSE_TEST_CONFIG") {
            let _ = std::fs::remove_file(config);
        }
    }
}

/// Minimal HTTP/1.1 GET (no client crate needed); None if not connectable.
pub fn http_get(
    addr: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Option<(u16, String, Vec<u8>)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status: u16 = head.split_whitespace().nth(1)?.parse().ok()?;
    let mut body = raw[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    Some((status, head, body))
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = b.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(std::str::from_utf8(&b[..eol]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            break;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + size]);
        b = &b[eol + 2 + size + 2..];
    }
    out
}

/// Series that describe the process rather than the data, so they differ
/// between two daemons (or one daemon before and after a restart) fed the
/// same events: when the report was computed and what it cost, how much
/// memory state takes, consumer positions, and the process's own CPU,
/// memory, file descriptors and start time.
pub fn process_specific(series: &str) -> bool {
    [
        "process_",
        "valuepulse_report_duration_seconds",
        "valuepulse_report_timestamp_seconds",
        "valuepulse_state_bytes",
        "valuepulse_consumer_lag_messages",
        "valuepulse_replay_remaining_messages",
    ]
    .iter()
    .any(|p| series.starts_with(p))
}

/// Parses exposition text into `series → value`, where a series is written
/// `name{a="x",b="y"}` with labels sorted by name.
pub fn parse(text: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("sample line");
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().expect("sample value"),
        };
        let key = normalize(series);
        assert!(
            out.insert(key.clone(), value).is_none(),
            "series twice: {key}"
        );
    }
    out
}

/// `name{b="y",a="x"}` → `name{a="x",b="y"}`: one spelling per series.
pub fn normalize(series: &str) -> String {
    match series.split_once('{') {
        None => series.to_owned(),
        Some((name, rest)) => {
            let mut pairs: Vec<&str> = split_labels(rest.trim_end_matches('}'));
            pairs.sort_unstable();
            format!("{name}{{{}}}", pairs.join(","))
        }
    }
}

fn split_labels(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut in_q, mut esc) = (0, false, false);
    for (i, c) in s.char_indices() {
        match c {
            '\\' if in_q => esc = !esc,
            '"' if !esc => in_q = !in_q,
            ',' if !in_q => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => esc = false,
        }
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

/// Runs `promtool check metrics` on exposition text; returns its output
/// (empty when clean).
pub fn promtool_check_metrics(text: &str) -> String {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("promtool not found ({e}): install Debian's `prometheus` package (deploy/test.sh does)")
        });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
    s.push_str(&String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success() || !s.is_empty(),
        "promtool failed silently"
    );
    s
}

/// One record to publish with [`produce_with_headers`].
#[derive(Debug, Clone)]
pub struct HeaderedRecord {
    /// Record key.
    pub key: String,
    /// Record value.
    pub payload: Vec<u8>,
    /// Record headers, in order.
    pub headers: Vec<(String, Vec<u8>)>,
}

/// Publishes records with headers to `topic` in order and waits for every
/// acknowledgement.
pub fn produce_with_headers(topic: &str, records: &[HeaderedRecord]) {
    use rdkafka::message::{Header, OwnedHeaders};
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .create()
        .expect("producer");
    runtime().block_on(async {
        for r in records {
            let mut headers = OwnedHeaders::new_with_capacity(r.headers.len());
            for (k, v) in &r.headers {
                headers = headers.insert(Header {
                    key: k,
                    value: Some(v.as_slice()),
                });
            }
            producer
                .send(
                    FutureRecord::to(topic)
                        .key(r.key.as_str())
                        .payload(r.payload.as_slice())
                        .headers(headers),
                    Duration::from_secs(30),
                )
                .await
                .unwrap_or_else(|(e, _)| panic!("produce to {topic} failed: {e}"));
        }
    });
}

/// Sum of `valuepulse_events_total` over every topic and outcome: how many
/// records the daemon has processed.
pub fn events_seen(scrape: &BTreeMap<String, f64>) -> f64 {
    scrape
        .iter()
        .filter(|(k, _)| k.starts_with("valuepulse_events_total{"))
        .map(|(_, v)| v)
        .sum()
}

/// Scrapes until the daemon has processed `records` records (or `timeout`
/// passed), and returns the last scrape.
pub fn scrape_after(daemon: &Daemon, records: usize, timeout: Duration) -> BTreeMap<String, f64> {
    let deadline = Instant::now() + timeout;
    let mut scrape = parse(&daemon.scrape());
    while events_seen(&scrape) < records as f64 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        scrape = parse(&daemon.scrape());
    }
    assert_eq!(
        events_seen(&scrape),
        records as f64,
        "the daemon at {} processed a different number of records",
        daemon.addr
    );
    scrape
}

/// Checks a scrape against a hand-computed answer: every `exact` value (to
/// 1e-9 relative), every `quantiles` value within the stated histogram
/// precision (never below the true sample, at most 0.1 % above), and no
/// series of the families the test owns (`owned`) that was not expected.
/// Panics with every mismatch listed.
pub fn assert_scrape(
    scrape: &BTreeMap<String, f64>,
    exact: &BTreeMap<String, f64>,
    quantiles: &BTreeMap<String, f64>,
    owned: impl Fn(&str) -> bool,
) {
    let mut errors = Vec::new();
    for (k, want) in exact {
        match scrape.get(k) {
            Some(got) if (got - want).abs() <= 1e-9 * want.abs().max(1.0) => {}
            other => errors.push(format!("{k}: want {want}, got {other:?}")),
        }
    }
    for (k, want) in quantiles {
        match scrape.get(k) {
            Some(got) if *got >= *want && *got <= want * 1.001 => {}
            other => errors.push(format!("{k}: want {want} (+0.1%), got {other:?}")),
        }
    }
    for k in scrape.keys() {
        if owned(k) && !exact.contains_key(k) && !quantiles.contains_key(k) {
            errors.push(format!("unexpected series {k} = {}", scrape[k]));
        }
    }
    assert!(
        errors.is_empty(),
        "{} mismatches:\n{}",
        errors.len(),
        errors.join("\n")
    );
}
