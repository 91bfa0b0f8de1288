//! A Kafka broker of one test's own, run by `deploy/kafka-local.sh` in its
//! own directory on free ports, so the test can kill, pause, restart,
//! truncate and grow it; or a 3-node cluster of its own (the script's
//! cluster mode: replication factor 3, `min.insync.replicas=2`) whose nodes
//! it can kill, pause and restart one by one. Stopped (and its directory
//! removed) on drop.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewPartitions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;

use crate::common::unique;

/// The broker and the addresses `kafka-local.sh env` printed for it.
pub struct LocalBroker {
    dir: PathBuf,
    port: u16,
    /// 1, or 3 for a cluster.
    nodes: u16,
    /// `VALUEPULSE_TEST_*` addresses: BROKERS, `SASL_BROKERS`, `PROXY_ADDR`, ...
    pub env: BTreeMap<String, String>,
}

fn script() -> String {
    format!("{}/deploy/kafka-local.sh", env!("CARGO_MANIFEST_DIR"))
}

/// Bases handed out in this test process, so two brokers started at once
/// never share a port.
static TAKEN: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// Lowest port of the kernel's ephemeral range
/// (`/proc/sys/net/ipv4/ip_local_port_range`, 32768 by default). Broker
/// ports stay below it: a client's outgoing connection (a node's own to a
/// peer not yet listening, say) may take any port above it at any moment,
/// between our check and Kafka's bind.
fn ephemeral_floor() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768)
}

/// Five consecutive free loopback ports (broker, controller, SASL, proxied,
/// proxy) for each of `nodes` nodes, 10 apart: their base. Between 20000 and
/// the ephemeral range, and not within reach of a block this process already
/// handed out.
fn free_port_block(nodes: u16) -> u16 {
    let span = 10 * nodes;
    let ceiling = ephemeral_floor().min(60_000).saturating_sub(span);
    assert!(
        ceiling > 20_000 + span,
        "the ephemeral port range starts at {}: no room below it for test brokers",
        ephemeral_floor()
    );
    let mut taken = TAKEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for _ in 0..500 {
        let base = 20_000 + (fastrand_u16() ^ std::process::id() as u16) % (ceiling - 20_000);
        // a block of 30 ports at most: bases within 30 of another overlap
        if taken
            .range(base.saturating_sub(30)..base + 30)
            .next()
            .is_some()
        {
            continue;
        }
        let ok = (0..nodes).all(|n| {
            (0..5).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + 10 * n + i)).is_ok())
        });
        if ok {
            taken.insert(base);
            return base;
        }
    }
    panic!("no block of free loopback ports for {nodes} broker(s)");
}

fn fastrand_u16() -> u16 {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let nanos = (valuepulse::clock::now_nanos() % 1_000_000_000) as u32;
    let seq = SEQ.fetch_add(7919, Ordering::Relaxed);
    (nanos / 7).wrapping_add(seq) as u16
}

impl LocalBroker {
    /// Starts a fresh broker (about 7 s).
    pub fn start() -> Self {
        Self::start_nodes(1)
    }

    /// Starts a fresh 3-node cluster (about 25 s): every node broker and
    /// controller, topics replicated 3 times, 2 in sync required.
    pub fn start_cluster() -> Self {
        Self::start_nodes(3)
    }

    #[expect(
        clippy::print_stderr,
        reason = "a retried start says so in the test's output"
    )]
    fn start_nodes(nodes: u16) -> Self {
        // A port found free can still be taken before Kafka binds it (by a
        // process outside this one). Only that failure is tried again, on
        // other ports; any other reason fails the test at once.
        const ATTEMPTS: u32 = 3;
        for attempt in 1..=ATTEMPTS {
            let mut b = Self {
                dir: std::env::temp_dir().join(unique("vp-fault-broker")),
                port: free_port_block(nodes),
                nodes,
                env: BTreeMap::new(),
            };
            let out = b
                .command(&["start"])
                .output()
                .expect("run deploy/kafka-local.sh");
            if !out.status.success() {
                let stderr = String::from_utf8_lossy(&out.stderr);
                let bind = stderr.contains("Address already in use")
                    || stderr.contains("is already in use by another process");
                assert!(
                    bind && attempt < ATTEMPTS,
                    "kafka-local.sh start failed (attempt {attempt} of {ATTEMPTS}): {stderr}"
                );
                eprintln!(
                    "kafka-local.sh start: a port of block {} was taken before the broker bound it; \
                     trying other ports (attempt {attempt} of {ATTEMPTS})",
                    b.port
                );
                continue; // dropping `b` stops what did start and removes its directory
            }
            let out = b.run(&["env"]);
            b.env = out
                .lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            return b;
        }
        unreachable!("the last attempt asserts")
    }

    /// Runs `kafka-local.sh <args>` for this broker; its stdout. Panics on
    /// failure with the script's stderr.
    pub fn run(&self, args: &[&str]) -> String {
        let out = self
            .command(args)
            .output()
            .expect("run deploy/kafka-local.sh");
        assert!(
            out.status.success(),
            "kafka-local.sh {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `kafka-local.sh <args>` for this broker, not yet run.
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new("bash");
        c.arg(script())
            .args(args)
            .env("VALUEPULSE_KAFKA_DIR", &self.dir)
            .env("VALUEPULSE_KAFKA_PORT", self.port.to_string())
            .env("VALUEPULSE_KAFKA_NODES", self.nodes.to_string())
            .env_remove("VALUEPULSE_KAFKA_CONTROLLER_PORT")
            .env_remove("VALUEPULSE_KAFKA_SASL_PORT")
            .env_remove("VALUEPULSE_KAFKA_PROXIED_PORT")
            .env_remove("VALUEPULSE_KAFKA_PROXY_PORT")
            .stdin(Stdio::null());
        c
    }

    /// Bootstrap address (PLAINTEXT).
    pub fn bootstrap(&self) -> String {
        self.env["VALUEPULSE_TEST_BROKERS"].clone()
    }

    /// Address clients bootstrap through to stay behind the proxy.
    pub fn proxy_addr(&self) -> String {
        self.env["VALUEPULSE_TEST_PROXY_ADDR"].clone()
    }

    /// The listener the proxy forwards to.
    pub fn proxied_broker(&self) -> String {
        self.env["VALUEPULSE_TEST_PROXIED_BROKER"].clone()
    }

    /// SIGKILL (data stays).
    pub fn kill(&self) {
        self.run(&["kill"]);
    }

    /// SIGSTOP.
    pub fn pause(&self) {
        self.run(&["pause"]);
    }

    /// SIGCONT.
    pub fn resume(&self) {
        self.run(&["resume"]);
    }

    /// Starts again on the kept data; the time it took to answer.
    pub fn restart(&self) -> Duration {
        let t = Instant::now();
        self.run(&["restart"]);
        t.elapsed()
    }

    /// SIGKILL node `n` of a cluster (its data stays).
    pub fn kill_node(&self, n: u32) {
        self.run(&["kill", &n.to_string()]);
    }

    /// SIGSTOP node `n` of a cluster.
    pub fn pause_node(&self, n: u32) {
        self.run(&["pause", &n.to_string()]);
    }

    /// SIGCONT node `n` of a cluster.
    pub fn resume_node(&self, n: u32) {
        self.run(&["resume", &n.to_string()]);
    }

    /// SIGTERM node `n` of a cluster and waits for its clean shutdown.
    pub fn stop_node(&self, n: u32) {
        self.run(&["stop-node", &n.to_string()]);
    }

    /// Starts node `n` again on its data; the time until the cluster lists
    /// it as a live broker.
    pub fn restart_node(&self, n: u32) -> Duration {
        let t = Instant::now();
        self.run(&["restart", &n.to_string()]);
        t.elapsed()
    }

    /// The node leading `topic`/`partition`.
    pub fn leader(&self, topic: &str, partition: i32) -> u32 {
        let out = self.run(&["leader", topic, &partition.to_string()]);
        out.trim()
            .parse()
            .unwrap_or_else(|_| panic!("leader: {out:?}"))
    }

    /// The node that is the active controller (the quorum's leader).
    pub fn controller(&self) -> u32 {
        self.try_controller()
            .expect("kafka-local.sh controller: no answer")
    }

    /// The active controller, or None while the cluster cannot tell (an
    /// election under way, the queried node down).
    pub fn try_controller(&self) -> Option<u32> {
        let out = self.command(&["controller"]).output().ok()?;
        if !out.status.success() {
            return None;
        }
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    }

    /// Waits until no partition of the cluster (internal topics included)
    /// is under-replicated: what an operator checks before restarting the
    /// next broker. The time it took.
    pub fn wait_in_sync(&self, timeout: Duration) -> Duration {
        let start = Instant::now();
        loop {
            let out = self.run(&[
                "tool",
                "org.apache.kafka.tools.TopicCommand",
                "--bootstrap-server",
                &self.bootstrap(),
                "--describe",
                "--under-replicated-partitions",
            ]);
            if out.trim().is_empty() {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < timeout,
                "partitions still under-replicated after {timeout:?}:\n{out}"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// Creates topics (name, partitions), with extra topic configs; on a
    /// cluster replicated on every node.
    pub fn create_topics(&self, topics: &[(&str, i32)], configs: &[(&str, &str)]) {
        let admin = self.admin();
        let replication = i32::from(self.nodes);
        let new: Vec<NewTopic<'_>> = topics
            .iter()
            .map(|(n, p)| {
                let mut t = NewTopic::new(n, *p, TopicReplication::Fixed(replication));
                for (k, v) in configs {
                    t = t.set(k, v);
                }
                t
            })
            .collect();
        let results = runtime()
            .block_on(admin.create_topics(&new, &opts()))
            .expect("create_topics");
        for r in results {
            r.unwrap_or_else(|(t, e)| panic!("cannot create topic {t}: {e}"));
        }
    }

    /// Grows `topic` to `total` partitions (admin API).
    pub fn add_partitions(&self, topic: &str, total: usize) {
        let admin = self.admin();
        let results = runtime()
            .block_on(admin.create_partitions(&[NewPartitions::new(topic, total)], &opts()))
            .expect("create_partitions");
        for r in results {
            r.unwrap_or_else(|(t, e)| panic!("cannot add partitions to {t}: {e}"));
        }
    }

    /// Deletes the records of `topic`/`partition` before `offset`
    /// (`kafka-delete-records`, as retention would).
    pub fn delete_records(&self, topic: &str, partition: i32, offset: i64) {
        let json = self.dir.join(unique("delete-records") + ".json");
        std::fs::write(
            &json,
            format!(
                r#"{{"partitions":[{{"topic":"{topic}","partition":{partition},"offset":{offset}}}],"version":1}}"#
            ),
        )
        .unwrap();
        self.run(&[
            "tool",
            "org.apache.kafka.tools.DeleteRecordsCommand",
            "--bootstrap-server",
            &self.bootstrap(),
            "--offset-json-file",
            &json.to_string_lossy(),
        ]);
    }

    fn admin(&self) -> AdminClient<DefaultClientContext> {
        ClientConfig::new()
            .set("bootstrap.servers", self.bootstrap())
            .create()
            .expect("admin client")
    }
}

impl Drop for LocalBroker {
    fn drop(&mut self) {
        // (resume without a node resumes every node of a cluster)
        for cmd in ["resume", "stop"] {
            let _ = self
                .command(&[cmd])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        TAKEN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&self.port);
    }
}

fn opts() -> AdminOptions {
    AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}
