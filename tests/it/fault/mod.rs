//! Harness of the fault, bad-input and secrets tests, on top of
//! [`crate::common`]:
//!
//! - [`oracle`]: a producer that records every event the broker
//!   acknowledged into a ledger, and a reference computation over that
//!   ledger (plain Rust, none of the daemon's code) of what the daemon must
//!   export;
//! - [`broker`]: a broker of the test's own (started with
//!   `deploy/kafka-local.sh` on free ports, in its own directory), so it can
//!   be `SIGKILLed`, `SIGSTOPped`, restarted, truncated and grown without
//!   touching the broker other tests share;
//! - [`proxy`]: a TCP proxy for the broker's `PROXIED` listener, which
//!   advertises the proxy's port, injecting latency, a bandwidth cap,
//!   resets or a blackhole;
//! - here: the daemon as a child whose stdout and stderr go to a file the
//!   test reads (for log lines and planted secrets), and its CPU time.
//!
//! The fault tests run one at a time and beside no other test of the
//! process: each takes [`crate::common::exclusive`].

#![allow(dead_code)]

pub mod broker;
pub mod oracle;
pub mod proxy;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::common::{free_port, http_get, parse, unique};

/// `valuepulse` with a config file and environment, its stdout and stderr
/// in one file.
pub struct Captured {
    child: Child,
    /// `127.0.0.1:<port>` of the admin server.
    pub addr: String,
    /// Where stdout and stderr go.
    pub output: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

/// Environment of a test daemon: its own group and static member name (kept
/// across a restart, as a pod's name is), admin port, JSON logs, and a short
/// group session (a killed member leaves in seconds).
pub fn daemon_env(brokers: &str, topics: [&str; 3]) -> Vec<(String, String)> {
    let addr = format!("127.0.0.1:{}", free_port());
    [
        ("VALUEPULSE__KAFKA__BROKERS", brokers.to_owned()),
        ("VALUEPULSE__KAFKA__GROUP_ID", unique("vp-fault")),
        ("VALUEPULSE__KAFKA__GROUP_INSTANCE_ID", unique("vp-member")),
        ("VALUEPULSE__HTTP__LISTEN", addr),
        ("VALUEPULSE__LOG__FORMAT", "json".to_owned()),
        ("VALUEPULSE__TOPICS__DEPLOYS", topics[0].to_owned()),
        ("VALUEPULSE__TOPICS__INCIDENTS", topics[1].to_owned()),
        ("VALUEPULSE__TOPICS__FEATURE_USAGE", topics[2].to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Writes a config file (TOML) into the temp dir and returns its path.
pub fn config_file(toml: &str) -> PathBuf {
    let path = std::env::temp_dir().join(unique("valuepulse-fault") + ".toml");
    std::fs::write(&path, toml).unwrap();
    path
}

/// The `[kafka.properties]` most fault tests use: a short session so a dead
/// member leaves in seconds, fast metadata refresh so new partitions show.
pub const FAST_GROUP_PROPERTIES: &str = "[kafka.properties]\n\"session.timeout.ms\" = \"6000\"\n\"heartbeat.interval.ms\" = \"500\"\n\"topic.metadata.refresh.interval.ms\" = \"2000\"\n";

/// Runs `valuepulse <args>` to completion with `env`; (exit status, stdout
/// and stderr together).
pub fn run_to_end(args: &[&str], env: &[(String, String)]) -> (ExitStatus, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_valuepulse"))
        .args(args)
        .env_remove("RUST_LOG")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .output()
        .expect("run valuepulse");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status, text)
}

impl Captured {
    /// Starts `valuepulse run --config <config>` with `env`.
    pub fn run(config: &std::path::Path, env: Vec<(String, String)>) -> Self {
        let addr = env
            .iter()
            .find(|(k, _)| k == "VALUEPULSE__HTTP__LISTEN")
            .map(|(_, v)| v.clone())
            .expect("VALUEPULSE__HTTP__LISTEN in env");
        let args = vec![
            "run".to_owned(),
            "--config".to_owned(),
            config.to_string_lossy().into_owned(),
        ];
        let output = std::env::temp_dir().join(unique("valuepulse-fault-output") + ".log");
        let child = Self::spawn(&args, &env, &output);
        Self {
            child,
            addr,
            output,
            args,
            env,
        }
    }

    fn spawn(args: &[String], env: &[(String, String)], output: &PathBuf) -> Child {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(output)
            .unwrap();
        Command::new(env!("CARGO_BIN_EXE_valuepulse"))
            .args(args)
            .env_remove("RUST_LOG")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("spawn valuepulse")
    }

    /// A new process with the same arguments, environment and output file
    /// (after a kill or an exit).
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = Self::spawn(&self.args, &self.env, &self.output);
    }

    /// Everything it wrote so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.output).unwrap_or_default()).into_owned()
    }

    /// GET a path; (status, head, body).
    pub fn get(&self, path: &str) -> Option<(u16, String, Vec<u8>)> {
        http_get(&self.addr, path, &[])
    }

    /// `/readyz` status, if the server answers.
    pub fn ready_status(&self) -> Option<u16> {
        self.get("/readyz").map(|(s, _, _)| s)
    }

    /// Waits until `/readyz` answers 200; the time it took.
    pub fn wait_ready(&self, timeout: Duration) -> Duration {
        let start = Instant::now();
        let mut last = String::new();
        while start.elapsed() < timeout {
            if let Some((status, _, body)) = self.get("/readyz") {
                if status == 200 {
                    return start.elapsed();
                }
                last = String::from_utf8_lossy(&body).into_owned();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "daemon not ready after {timeout:?}; last /readyz: {last}\n--- output ---\n{}",
            tail(&self.text(), 40)
        );
    }

    /// The parsed `/metrics`.
    pub fn scrape(&self) -> BTreeMap<String, f64> {
        let (status, _, body) = self
            .get("/metrics")
            .expect("/metrics did not answer within 10 s");
        assert_eq!(status, 200);
        parse(&String::from_utf8(body).unwrap())
    }

    /// SIGKILL.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then up to `deadline` for the exit status.
    pub fn terminate(&mut self, deadline: Duration) -> Option<ExitStatus> {
        signal(self.child.id(), "TERM");
        let start = Instant::now();
        while start.elapsed() < deadline {
            if let Some(s) = self.child.try_wait().unwrap() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Whether the process still runs.
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// One of its environment variables.
    pub fn env_var(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CPU time (user + system) the process used so far.
    pub fn cpu(&self) -> Duration {
        cpu_time(self.child.id())
    }
}

impl Drop for Captured {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.output);
    }
}

/// Sends `kill -<sig>` to `pid`.
pub fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status();
}

/// User + system CPU time of a process, from `/proc/<pid>/stat`.
pub fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the ")" that closes the command name: utime is the 12th,
    // stime the 13th (fields 14 and 15 of the whole line).
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|f| f.parse::<u64>().ok()))
        .sum();
    // USER_HZ is 100 on Linux.
    Duration::from_millis(ticks * 10)
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Sum of the series named `name` whose labels include every pair of
/// `labels` (other labels summed over).
pub fn sum_series(scrape: &BTreeMap<String, f64>, name: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .iter()
        .filter(|(k, _)| {
            let (n, rest) = k.split_once('{').unwrap_or((k.as_str(), ""));
            let pairs: Vec<&str> = rest.trim_end_matches('}').split(',').collect();
            n == name
                && labels
                    .iter()
                    .all(|(l, v)| pairs.contains(&format!("{l}=\"{v}\"").as_str()))
        })
        .map(|(_, v)| v)
        .sum()
}

/// Polls `f` every 100 ms until it returns true or `timeout` passes; whether
/// it did.
pub fn eventually(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if f() {
            return true;
        }
        if start.elapsed() >= timeout {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A number from the environment, or `default`: the larger runs documented
/// in RELIABILITY.md set these.
pub fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A producer thread writing the oracle datasets at a steady rate until
/// stopped: deploys to one topic, usage events to another, each record into
/// the ledger once the broker acknowledges it.
pub struct Load {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    handle: Option<std::thread::JoinHandle<oracle::LedgerProducer>>,
}

impl Load {
    /// Starts writing `deploys_per_s` deploys and `usage_per_s` usage events
    /// a second (spread over 10 ms ticks) to `brokers`. Deploy and usage
    /// numbers start at `first` (ids stay unique across loads of one test).
    pub fn start(
        brokers: &str,
        run: &str,
        topics: (&str, &str),
        rates: (u64, u64),
        users: u64,
        first: u64,
    ) -> Self {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let s = stop.clone();
        let (brokers, run) = (brokers.to_owned(), run.to_owned());
        let (deploys, usage) = (topics.0.to_owned(), topics.1.to_owned());
        let handle = std::thread::spawn(move || {
            let mut p = oracle::LedgerProducer::new(&brokers, &[]);
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            let start = Instant::now();
            let (mut d, mut u) = (0u64, 0u64);
            while !s.load(std::sync::atomic::Ordering::Relaxed) {
                let secs = start.elapsed().as_secs_f64();
                while (d as f64) < secs * rates.0 as f64 {
                    let (key, payload) = oracle::dataset::deploy(&run, first + d, now);
                    p.send(&deploys, &key, &payload);
                    d += 1;
                }
                while (u as f64) < secs * rates.1 as f64 {
                    let (key, payload) = oracle::dataset::usage(first + u, users, now);
                    p.send(&usage, &key, &payload);
                    u += 1;
                }
                p.poll(Duration::from_millis(10));
            }
            p.flush(Duration::from_secs(300));
            p
        });
        Self {
            stop,
            handle: Some(handle),
        }
    }

    /// Stops, waits for every acknowledgement, and hands the producer (and
    /// its ledger) back.
    pub fn finish(mut self) -> oracle::LedgerProducer {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.handle.take().unwrap().join().expect("load thread")
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Waits up to `timeout` for the scrapes of `daemons` to match `reference`;
/// the mismatches left (empty when they match) and how long it took.
pub fn converge(
    daemons: &[&Captured],
    reference: &oracle::Reference,
    timeout: Duration,
) -> (Vec<String>, Duration) {
    let start = Instant::now();
    loop {
        let scrapes: Vec<BTreeMap<String, f64>> = daemons.iter().map(|d| d.scrape()).collect();
        let errors = reference.diverge(&scrapes);
        if errors.is_empty() || start.elapsed() >= timeout {
            return (errors, start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}
