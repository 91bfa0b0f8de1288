//! The bridge's load generator and its do-nothing baseline (issue 18), run
//! by `benches/bridge.sh`, which starts the broker, the contenders and the
//! daemon and prints the table. Subcommands:
//!
//! - `hello --listen ADDR`: the baseline, a hyper HTTP/1.1 hello-world on
//!   the bridge's runtime (`Runtime::new()`, keep-alive) that reads the
//!   request body and answers `200 ok`;
//! - `topics BROKERS NAME...`: creates topics of one partition;
//! - `load --target ADDR ...`: closed loop, `--connections` keep-alive
//!   connections each sending the next signed GitHub `deployment_status`
//!   as soon as the last was answered; after `--warmup` it counts the 200s
//!   of `--seconds` and the server's CPU time (`--server-pid`), and prints
//!   one `LOAD key=value ...` line. Any other answer or a broken connection
//!   is an error;
//! - `latency --target ADDR --rate R ...`: open loop, one delivery every
//!   1/R s on a fixed schedule handed to the first free connection; the
//!   time to the 200 is taken from the *scheduled* send time, so a slow
//!   answer delays nobody's measurement (no coordinated omission). With
//!   `--daemon ADDR` it also probes, one at a time with a random pause of
//!   up to `--probe-gap`, the time from posting a deploy of a fresh
//!   deployment of service `probe` to the scrape of the daemon's `/metrics`
//!   that first counts it. Prints `LATENCY ...` and `VISIBLE ...` lines.
//!
//! Deliveries are built as GitHub documents `deployment_status` (the shape
//! of `tests/it/bridge_e2e.rs`) and carry its headers (the legacy SHA-1
//! `X-Hub-Signature` aside) and `X-Hub-Signature-256` from
//! `valuepulse::bridge::verify::sign_hmac_sha256_hex`. Every delivery is a
//! distinct deployment: its ids are rewritten in place in one template and
//! the body signed again, so the generator allocates nothing per request.
//! Connections are closed and opened again every [`RECYCLE`], below the
//! servers' connection lifetime (60 s), so a long run loses no request to
//! it.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a measuring tool run by benches/bridge.sh: the figures go to stdout"
)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use hdrhistogram::Histogram;
use http_body_util::BodyExt as _;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use valuepulse::bridge::verify::sign_hmac_sha256_hex;
use valuepulse::ingest::decode::format_time;

/// A connection is closed and opened again after this long (the bridge
/// and the daemon end a connection after 60 s).
const RECYCLE: Duration = Duration::from_secs(30);

/// The deployment id written in the template, replaced in every delivery.
/// Every id has 12 digits, so it is rewritten in place; the status id is
/// the deployment id times ten, so it starts with the same 12 digits and
/// is rewritten with it.
const SENTINEL: &[u8; 12] = b"987654321012";

/// Smallest deployment id (12 digits).
const ID_MIN: u64 = 100_000_000_000;

#[derive(Parser)]
#[command(about = "Load generator and do-nothing baseline for benches/bridge.sh")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// A do-nothing hyper HTTP/1.1 server: reads the body, answers 200.
    Hello {
        #[arg(long)]
        listen: SocketAddr,
    },
    /// Creates topics of one partition.
    Topics { brokers: String, names: Vec<String> },
    /// Closed loop: as many deliveries as the server answers.
    Load {
        #[command(flatten)]
        target: Target,
        #[arg(long, default_value_t = 128)]
        connections: usize,
        /// Seconds counted, after the warm-up.
        #[arg(long, default_value_t = 15.0)]
        seconds: f64,
        #[arg(long, default_value_t = 3.0)]
        warmup: f64,
        /// The server's process id, for its CPU time.
        #[arg(long)]
        server_pid: Option<u32>,
        /// The broker's process id, for its CPU time.
        #[arg(long)]
        broker_pid: Option<u32>,
        /// A name for the LOAD line (hello, bridge).
        #[arg(long, default_value = "server")]
        label: String,
    },
    /// Open loop at a fixed rate, latency from the scheduled send time.
    Latency {
        #[command(flatten)]
        target: Target,
        #[arg(long, default_value_t = 1000.0)]
        rate: f64,
        #[arg(long, default_value_t = 60.0)]
        seconds: f64,
        #[arg(long, default_value_t = 2.0)]
        warmup: f64,
        #[arg(long, default_value_t = 32)]
        connections: usize,
        /// The daemon's admin address: probe POST → visible in /metrics.
        #[arg(long)]
        daemon: Option<String>,
        /// Largest random pause between two probes, in milliseconds.
        #[arg(long, default_value_t = 300)]
        probe_gap: u64,
        /// Pause between two scrapes of a probe, in milliseconds.
        #[arg(long, default_value_t = 5)]
        poll: u64,
    },
}

#[derive(clap::Args, Clone)]
struct Target {
    /// The server, `HOST:PORT`.
    #[arg(long)]
    target: String,
    #[arg(long, default_value = "/hooks/github")]
    path: String,
    /// The GitHub webhook secret the bridge holds.
    #[arg(long, default_value = "bench-secret")]
    secret: String,
}

fn main() -> anyhow::Result<()> {
    if std::env::args().any(|a| a == "--bench") {
        // `cargo bench` runs every bench target with --bench: this one
        // needs a broker and a bridge.
        eprintln!("bridge: run by benches/bridge.sh (needs a broker and a bridge); skipped");
        return Ok(());
    }
    let cli = Cli::parse();
    let rt = tokio::runtime::Runtime::new()?;
    match cli.command {
        Command::Hello { listen } => rt.block_on(hello(listen)),
        Command::Topics { brokers, names } => rt.block_on(topics(&brokers, &names)),
        Command::Load {
            target,
            connections,
            seconds,
            warmup,
            server_pid,
            broker_pid,
            label,
        } => rt.block_on(load(
            target,
            connections,
            Duration::from_secs_f64(warmup),
            Duration::from_secs_f64(seconds),
            [server_pid, broker_pid],
            &label,
        )),
        Command::Latency {
            target,
            rate,
            seconds,
            warmup,
            connections,
            daemon,
            probe_gap,
            poll,
        } => rt.block_on(latency(
            target,
            rate,
            Duration::from_secs_f64(warmup),
            Duration::from_secs_f64(seconds),
            connections,
            daemon,
            Duration::from_millis(probe_gap),
            Duration::from_millis(poll),
        )),
    }
}

/// The baseline: hyper's HTTP/1.1 server, one task per connection, the
/// body read and `ok` answered.
async fn hello(listen: SocketAddr) -> anyhow::Result<()> {
    let listener = TcpListener::bind(listen).await?;
    eprintln!("hello: listening on {}", listener.local_addr()?);
    loop {
        let (socket, _) = listener.accept().await?;
        socket.set_nodelay(true)?;
        tokio::spawn(async move {
            let service = hyper::service::service_fn(
                |request: hyper::Request<hyper::body::Incoming>| async move {
                    let body = request.into_body().collect().await?.to_bytes();
                    std::hint::black_box(body);
                    Ok::<_, hyper::Error>(hyper::Response::new(http_body_util::Full::new(
                        bytes::Bytes::from_static(b"ok\n"),
                    )))
                },
            );
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(socket), service)
                .await;
        });
    }
}

async fn topics(brokers: &str, names: &[String]) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()?;
    let new: Vec<NewTopic<'_>> = names
        .iter()
        .map(|n| NewTopic::new(n, 1, TopicReplication::Fixed(1)))
        .collect();
    let results = admin
        .create_topics(
            &new,
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(30))),
        )
        .await?;
    for r in results {
        r.map_err(|(t, e)| anyhow::anyhow!("cannot create topic {t}: {e}"))?;
    }
    Ok(())
}

fn repository(name: &str) -> Value {
    json!({"id": 186_853_002, "name": name, "full_name": format!("acme/{name}"),
           "private": false, "owner": {"login": "acme", "id": 1, "type": "Organization"},
           "html_url": format!("https://github.com/acme/{name}"), "default_branch": "main"})
}

/// A `deployment_status` delivery (as GitHub documents it) of deployment
/// `id` of `acme/<repo>` to production, succeeded at `now_ms`.
fn deployment_status(repo: &str, id: &str, now_ms: i64) -> Vec<u8> {
    let finished = format_time(now_ms);
    let started = format_time(now_ms - 600_000);
    let status_id: Value = serde_json::from_str(&format!("{id}0")).expect("a number");
    let deployment_id: Value = serde_json::from_str(id).expect("a number");
    serde_json::to_vec(&json!({
        "action": "created",
        "deployment_status": {
            "url": format!("https://api.github.com/repos/acme/{repo}/deployments/{id}/statuses/1"),
            "id": status_id, "state": "success", "environment": "production",
            "creator": {"login": "acme-bot", "id": 2, "type": "Bot"},
            "description": "", "target_url": "",
            "created_at": finished, "updated_at": finished
        },
        "deployment": {
            "url": format!("https://api.github.com/repos/acme/{repo}/deployments/{id}"),
            "id": deployment_id, "sha": "f95f852bd8fca8fcc58a9a2d6c842781e32a215e", "ref": "main",
            "task": "deploy", "payload": {}, "environment": "production", "description": null,
            "created_at": started, "updated_at": finished
        },
        "repository": repository(repo),
        "sender": {"login": "acme-bot", "id": 2, "type": "Bot"}
    }))
    .expect("JSON")
}

/// One signed request, rewritten in place for each deployment id.
#[derive(Clone)]
struct Request {
    bytes: Vec<u8>,
    /// Where the body starts.
    body_at: usize,
    /// Offsets of the 12-digit id (body and delivery GUID).
    ids: Vec<usize>,
    /// Offset of the 64 hex digits of the signature.
    signature_at: usize,
    secret: String,
}

impl Request {
    fn new(target: &Target, repo: &str, now_ms: i64) -> Self {
        let sentinel = std::str::from_utf8(SENTINEL).expect("ASCII");
        let body = deployment_status(repo, sentinel, now_ms);
        let placeholder = sign_hmac_sha256_hex(&target.secret, &body);
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nAccept: */*\r\n\
             User-Agent: GitHub-Hookshot/abc1234\r\nContent-Type: application/json\r\n\
             X-GitHub-Event: deployment_status\r\n\
             X-GitHub-Delivery: 72d3162e-cc78-11e3-81ab-{sentinel}\r\n\
             X-GitHub-Hook-ID: 292430182\r\n\
             X-GitHub-Hook-Installation-Target-ID: 79929171\r\n\
             X-GitHub-Hook-Installation-Target-Type: repository\r\n\
             X-Hub-Signature-256: {placeholder}\r\nContent-Length: {len}\r\n\r\n",
            path = target.path,
            host = target.target,
            len = body.len(),
        );
        let mut bytes = head.into_bytes();
        let signature_at = memchr::memmem::find(&bytes, placeholder.as_bytes())
            .expect("the signature is in the head")
            + "sha256=".len();
        let body_at = bytes.len();
        bytes.extend_from_slice(&body);
        let ids = memchr::memmem::find_iter(&bytes, SENTINEL).collect::<Vec<_>>();
        assert_eq!(
            ids.len(),
            5,
            "the id appears in the GUID and 4 times in the body"
        );
        Self {
            bytes,
            body_at,
            ids,
            signature_at,
            secret: target.secret.clone(),
        }
    }

    /// The delivery of deployment `id`, signed.
    fn set(&mut self, id: u64) -> &[u8] {
        let mut digits = [0u8; 12];
        let mut n = id;
        for d in digits.iter_mut().rev() {
            *d = b'0' + (n % 10) as u8;
            n /= 10;
        }
        for &at in &self.ids {
            self.bytes[at..at + 12].copy_from_slice(&digits);
        }
        let signature = sign_hmac_sha256_hex(&self.secret, &self.bytes[self.body_at..]);
        self.bytes[self.signature_at..self.signature_at + 64]
            .copy_from_slice(&signature.as_bytes()["sha256=".len()..]);
        &self.bytes
    }
}

/// A keep-alive HTTP/1.1 client connection: one request at a time.
struct Conn {
    addr: String,
    stream: Option<TcpStream>,
    opened: Instant,
    buf: Vec<u8>,
}

impl Conn {
    fn new(addr: &str) -> Self {
        Self {
            addr: addr.to_owned(),
            stream: None,
            opened: Instant::now(),
            buf: Vec::with_capacity(8192),
        }
    }

    /// Sends `request` and reads the answer: its status and body.
    async fn exchange(&mut self, request: &[u8]) -> std::io::Result<(u16, Vec<u8>)> {
        if self.stream.is_some() && self.opened.elapsed() > RECYCLE {
            self.stream = None;
        }
        if self.stream.is_none() {
            let s = TcpStream::connect(&self.addr).await?;
            s.set_nodelay(true)?;
            self.stream = Some(s);
            self.opened = Instant::now();
            self.buf.clear();
        }
        let result = self.round_trip(request).await;
        if !matches!(result, Ok((_, _, true))) {
            self.stream = None;
        }
        result.map(|(status, body, _)| (status, body))
    }

    /// (status, body, whether the connection stays open).
    async fn round_trip(&mut self, request: &[u8]) -> std::io::Result<(u16, Vec<u8>, bool)> {
        let stream = self.stream.as_mut().expect("connected");
        stream.write_all(request).await?;
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut response = httparse::Response::new(&mut headers);
            if let httparse::Status::Complete(head) = response
                .parse(&self.buf)
                .map_err(|e| std::io::Error::other(e.to_string()))?
            {
                let status = response.code.unwrap_or(0);
                let mut length = 0;
                let mut keep = true;
                for h in response.headers.iter() {
                    if h.name.eq_ignore_ascii_case("content-length") {
                        length = std::str::from_utf8(h.value)
                            .ok()
                            .and_then(|v| v.trim().parse().ok())
                            .ok_or_else(|| std::io::Error::other("bad content-length"))?;
                    } else if h.name.eq_ignore_ascii_case("connection") {
                        keep = !h.value.eq_ignore_ascii_case(b"close");
                    }
                }
                while self.buf.len() < head + length {
                    if stream.read_buf(&mut self.buf).await? == 0 {
                        return Err(std::io::ErrorKind::UnexpectedEof.into());
                    }
                }
                let body = self.buf[head..head + length].to_vec();
                self.buf.drain(..head + length);
                return Ok((status, body, keep));
            }
            if stream.read_buf(&mut self.buf).await? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
        }
    }
}

/// The first deployment id of this process: a fresh range per second of
/// the day, so runs seldom repeat each other's ids (a repeat would only be
/// the daemon's `duplicate`).
fn first_id() -> u64 {
    let secs = now_ms().unsigned_abs() / 1000;
    ID_MIN + (secs % 86_400) * 10_000_000
}

fn now_ms() -> i64 {
    valuepulse::clock::now_millis()
}

/// User + system CPU seconds of a process (all threads), from
/// `/proc/<pid>/stat`; clock ticks are 1/100 s (`USER_HZ` on Linux).
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// CPU seconds the whole machine spent busy (all cores, `/proc/stat`:
/// everything but idle and iowait), to tell what other processes took.
fn machine_busy_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let ticks: Vec<f64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .map(|t| t.parse().unwrap_or(0.0))
        .collect();
    let (idle, iowait) = (*ticks.get(3)?, *ticks.get(4)?);
    Some((ticks.iter().sum::<f64>() - idle - iowait) / 100.0)
}

/// Counters shared by the connections of a run.
#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    errors: AtomicU64,
    /// Counting has begun (after the warm-up).
    measuring: AtomicBool,
    stop: AtomicBool,
}

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds")
}

/// Microseconds → milliseconds, for printing.
fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

async fn load(
    target: Target,
    connections: usize,
    warmup: Duration,
    seconds: Duration,
    [server_pid, broker_pid]: [Option<u32>; 2],
    label: &str,
) -> anyhow::Result<()> {
    let template = Request::new(&target, "checkout", now_ms());
    let next_id = Arc::new(AtomicU64::new(first_id()));
    let tally = Arc::new(Tally::default());
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let (mut request, next_id, tally) = (template.clone(), next_id.clone(), tally.clone());
        let mut conn = Conn::new(&target.target);
        tasks.spawn(async move {
            let mut h = new_histogram();
            let mut first_error = None;
            while !tally.stop.load(Ordering::Relaxed) {
                let bytes = request.set(next_id.fetch_add(1, Ordering::Relaxed));
                let started = Instant::now();
                let answer = conn.exchange(bytes).await;
                let measuring = tally.measuring.load(Ordering::Relaxed);
                match answer {
                    Ok((200, _)) if measuring => {
                        tally.ok.fetch_add(1, Ordering::Relaxed);
                        let _ = h.record(started.elapsed().as_micros() as u64);
                    }
                    Ok((200, _)) => {}
                    Ok((status, body)) => {
                        tally.errors.fetch_add(1, Ordering::Relaxed);
                        first_error.get_or_insert_with(|| {
                            format!("{status} {}", String::from_utf8_lossy(&body).trim())
                        });
                    }
                    Err(e) => {
                        tally.errors.fetch_add(1, Ordering::Relaxed);
                        first_error.get_or_insert_with(|| e.to_string());
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
            (h, first_error)
        });
    }
    let pid = |p: Option<u32>| p.map_or_else(|| "none".to_owned(), |p| p.to_string());
    let (server, broker) = (pid(server_pid), pid(broker_pid));
    let cpus = || {
        [
            cpu_seconds(&server),
            cpu_seconds("self"),
            cpu_seconds(&broker),
            machine_busy_seconds(),
        ]
    };
    tokio::time::sleep(warmup).await;
    let cpu0 = cpus();
    let ok0 = tally.ok.load(Ordering::Relaxed);
    tally.measuring.store(true, Ordering::Relaxed);
    let t0 = Instant::now();
    tokio::time::sleep(seconds).await;
    let ok1 = tally.ok.load(Ordering::Relaxed);
    let elapsed = t0.elapsed().as_secs_f64();
    let cpu1 = cpus();
    tally.stop.store(true, Ordering::Relaxed);
    let mut h = new_histogram();
    let mut first_error = None;
    while let Some(done) = tasks.join_next().await {
        let (part, e) = done?;
        h.add(part)?;
        first_error = first_error.or(e);
    }
    let rate = (ok1 - ok0) as f64 / elapsed;
    let cpu = |i: usize| match (cpu0[i], cpu1[i]) {
        (Some(a), Some(b)) => (b - a) / elapsed,
        _ => f64::NAN,
    };
    println!(
        "LOAD label={label} connections={connections} seconds={elapsed:.2} ok={} errors={} \
         rate={rate:.0} server_cpu={:.2} loadgen_cpu={:.2} broker_cpu={:.2} other_cpu={:.2} \
         per_cpu_s={:.0} p50_ms={:.2} p99_ms={:.2} max_ms={:.2}",
        ok1 - ok0,
        tally.errors.load(Ordering::Relaxed),
        cpu(0),
        cpu(1),
        cpu(2),
        cpu(3) - cpu(0) - cpu(1) - cpu(2),
        rate / cpu(0),
        ms(&h, 0.5),
        ms(&h, 0.99),
        h.max() as f64 / 1000.0,
    );
    if let Some(e) = first_error {
        eprintln!("bridge bench: first error ({label}): {e}");
    }
    Ok(())
}

/// One delivery of the open loop: when it was due.
struct Job {
    due: Instant,
    counted: bool,
}

#[allow(
    clippy::too_many_arguments,
    reason = "the subcommand's options, passed once"
)]
async fn latency(
    target: Target,
    rate: f64,
    warmup: Duration,
    seconds: Duration,
    connections: usize,
    daemon: Option<String>,
    probe_gap: Duration,
    poll: Duration,
) -> anyhow::Result<()> {
    let template = Request::new(&target, "checkout", now_ms());
    let next_id = Arc::new(AtomicU64::new(first_id()));
    let errors = Arc::new(AtomicU64::new(0));
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Job>();
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let (mut request, next_id, errors, rx) = (
            template.clone(),
            next_id.clone(),
            errors.clone(),
            rx.clone(),
        );
        let mut conn = Conn::new(&target.target);
        workers.spawn(async move {
            let mut h = new_histogram();
            let mut first_error = None;
            loop {
                let Some(job) = rx.lock().await.recv().await else {
                    break;
                };
                let bytes = request.set(next_id.fetch_add(1, Ordering::Relaxed));
                let answer = conn.exchange(bytes).await;
                let took = job.due.elapsed();
                match answer {
                    Ok((200, _)) => {
                        if job.counted {
                            let _ = h.record(took.as_micros() as u64);
                        }
                    }
                    Ok((status, body)) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        first_error.get_or_insert_with(|| {
                            format!("{status} {}", String::from_utf8_lossy(&body).trim())
                        });
                    }
                    Err(e) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        first_error.get_or_insert_with(|| e.to_string());
                    }
                }
            }
            (h, first_error)
        });
    }
    let start = Instant::now() + Duration::from_millis(10);
    let end = start + warmup + seconds;
    let probes = daemon.map(|d| {
        let target = target.clone();
        tokio::spawn(visible(target, d, start + warmup, end, probe_gap, poll))
    });
    let period = Duration::from_secs_f64(1.0 / rate);
    let mut sent = 0u64;
    for i in 0u32.. {
        let due = start + period * i;
        if due >= end {
            break;
        }
        tokio::time::sleep_until(due.into()).await;
        let counted = due >= start + warmup;
        sent += u64::from(counted);
        if tx.send(Job { due, counted }).is_err() {
            break;
        }
    }
    drop(tx);
    let mut h = new_histogram();
    let mut first_error = None;
    while let Some(done) = workers.join_next().await {
        let (part, e) = done?;
        h.add(part)?;
        first_error = first_error.or(e);
    }
    println!(
        "LATENCY rate={rate:.0} seconds={:.1} connections={connections} sent={sent} ok={} \
         errors={} p50_ms={:.2} p99_ms={:.2} p999_ms={:.2} max_ms={:.2}",
        seconds.as_secs_f64(),
        h.len(),
        errors.load(Ordering::Relaxed),
        ms(&h, 0.5),
        ms(&h, 0.99),
        ms(&h, 0.999),
        h.max() as f64 / 1000.0,
    );
    if let Some(e) = first_error {
        eprintln!("bridge bench: first error (latency): {e}");
    }
    if let Some(p) = probes {
        p.await??;
    }
    Ok(())
}

/// `valuepulse_deployments{service="probe",...,window="1d"}` in a scrape.
fn probe_deployments(scrape: &[u8]) -> Option<f64> {
    String::from_utf8_lossy(scrape)
        .lines()
        .filter(|l| l.starts_with("valuepulse_deployments{"))
        .filter(|l| l.contains("service=\"probe\"") && l.contains("window=\"1d\""))
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
}

/// Probes one after another until `end`: POST a new deployment of
/// `probe`, scrape the daemon every `poll` until it counts it.
async fn visible(
    target: Target,
    daemon: String,
    from: Instant,
    end: Instant,
    gap: Duration,
    poll: Duration,
) -> anyhow::Result<()> {
    tokio::time::sleep_until(from.into()).await;
    let mut bridge = Conn::new(&target.target);
    let mut scraper = Conn::new(&daemon);
    let scrape = format!("GET /metrics HTTP/1.1\r\nHost: {daemon}\r\n\r\n").into_bytes();
    let mut rng = valuepulse::rng::Rng::new(18);
    let mut h = new_histogram();
    let (mut errors, mut timeouts) = (0u64, 0u64);
    let first = first_id();
    let mut n = 0.0;
    while Instant::now() < end {
        let pause = gap.as_millis() as u64;
        tokio::time::sleep(Duration::from_millis(rng.below(pause + 1))).await;
        let id = (first + h.len() + errors + timeouts).to_string();
        let body = deployment_status("probe", &id, now_ms());
        let signature = sign_hmac_sha256_hex(&target.secret, &body);
        let mut request = format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: GitHub-Hookshot/abc1234\r\n\
             Content-Type: application/json\r\nX-GitHub-Event: deployment_status\r\n\
             X-GitHub-Delivery: probe-{id}\r\nX-Hub-Signature-256: {signature}\r\n\
             Content-Length: {len}\r\n\r\n",
            path = target.path,
            host = target.target,
            len = body.len(),
        )
        .into_bytes();
        request.extend_from_slice(&body);
        let posted = Instant::now();
        if !matches!(bridge.exchange(&request).await, Ok((200, _))) {
            errors += 1;
            continue;
        }
        n += 1.0;
        loop {
            // A scrape that fails (a connection the daemon just ended) is
            // simply taken again.
            if let Ok((200, page)) = scraper.exchange(&scrape).await
                && probe_deployments(&page).is_some_and(|v| v >= n)
            {
                let _ = h.record(posted.elapsed().as_micros() as u64);
                break;
            }
            if posted.elapsed() > Duration::from_secs(10) {
                timeouts += 1;
                break;
            }
            tokio::time::sleep(poll).await;
        }
    }
    // How long the daemon's last report took to compute (its state holds
    // every deploy of the run).
    let report_ms = match scraper.exchange(&scrape).await {
        Ok((200, page)) => String::from_utf8_lossy(&page)
            .lines()
            .find(|l| l.starts_with("valuepulse_report_duration_seconds "))
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .map_or(f64::NAN, |s| s * 1000.0),
        _ => f64::NAN,
    };
    println!(
        "VISIBLE probes={} errors={errors} timeouts={timeouts} p50_ms={:.1} p99_ms={:.1} \
         max_ms={:.1} report_ms={report_ms:.1}",
        h.len(),
        ms(&h, 0.5),
        ms(&h, 0.99),
        h.max() as f64 / 1000.0,
    );
    Ok(())
}
