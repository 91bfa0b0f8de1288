//! The fault suite on a replicated cluster (issue 22): three KRaft nodes of
//! the test's own (`deploy/kafka-local.sh` cluster mode: every node broker
//! and controller, replication factor 3, `min.insync.replicas=2`), the
//! oracle producer writing with `acks=all` throughout, and one fault at a
//! time: the SIGKILL of a partition leader, the failover of the active
//! controller, a node stopped (SIGSTOP) for 60 s, and a rolling restart of
//! all three nodes as an upgrade does it. The bridge runs through each
//! fault beside the daemon, writing to the same deploys topic.
//!
//! Each daemon test holds, throughout the fault and its recovery:
//! `/livez` 200 and the process alive; `/readyz` never 200 while the scrape
//! is below what was acknowledged before the fault (the oracle's figures as
//! a floor, since the load goes on); and at the end, the load stopped, the
//! scrape equal to the oracle over every acknowledged record. The time the
//! daemon was not ready, and the time back to ready after the cluster was
//! whole again, are printed for RELIABILITY.md. The bridge, receiving
//! signed GitHub deliveries at a steady pace, must keep `/livez` 200, answer
//! each delivery 200 or 503 (never hang, never another status), and every
//! delivery it answered 200 must reach the daemon. Sizes are CI sizes; the
//! `VALUEPULSE_CLUSTER_*` knobs grow them.

#![allow(
    clippy::print_stderr,
    reason = "test diagnostics: measured figures for RELIABILITY.md"
)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::common::bridge::{Bridge, GITHUB_SECRET, deployment_status, github, post_or_get};
use crate::common::{self, unique};
use crate::fault::broker::LocalBroker;
use crate::fault::oracle::{Acked, Reference};
use crate::fault::{
    Captured, FAST_GROUP_PROPERTIES, Load, config_file, converge, daemon_env, knob,
};

const WINDOWS: [&str; 3] = ["1d", "7d", "30d"];
const USERS: u64 = 500;
const USAGE_PARTITIONS: i32 = 4;
/// The repository (so the service) of the bridge's deliveries.
const BRIDGED: &str = "bridged";

/// One fault, as `cluster_fault` injects it.
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// SIGKILL the node leading a usage partition (not the controller when
    /// another choice exists), restart it after a while.
    LeaderKill,
    /// SIGKILL the active controller; a new one must be elected; restart.
    ControllerFailover,
    /// SIGSTOP the node leading a usage partition, SIGCONT after a while.
    Pause,
    /// SIGTERM, restart and wait in sync, node after node.
    RollingRestart,
}

/// What the watcher saw while a fault ran.
#[derive(Default)]
struct Watch {
    livez_failures: u32,
    /// `/readyz` 200 with the scrape below the floor.
    lies: Vec<String>,
    /// Total time `/readyz` was not 200.
    not_ready: Duration,
    /// When `/readyz` was last seen not 200.
    last_not_ready: Option<Instant>,
}

impl Watch {
    /// Samples `d` every 250 ms until `stop` is set.
    fn until(d: &mut Captured, floor: &Reference, stop: &AtomicBool) -> Self {
        let mut w = Self::default();
        while !stop.load(Ordering::Relaxed) {
            if !matches!(d.get("/livez"), Some((200, _, _))) {
                w.livez_failures += 1;
            }
            assert!(d.alive(), "the daemon died during the cluster fault");
            if d.ready_status() == Some(200) {
                let short = floor.diverge(&[d.scrape()]);
                if let Some(first) = short.first() {
                    w.lies.push(format!("ready, but below the floor: {first}"));
                }
            } else {
                w.not_ready += Duration::from_millis(250);
                w.last_not_ready = Some(Instant::now());
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        w
    }
}

/// Injects `fault` into the cluster, hitting the leader of `topic`'s
/// partitions where the fault needs a node; what happened, for the report.
fn inject(c: &LocalBroker, fault: Fault, topic: &str, partitions: i32) -> String {
    let down = Duration::from_secs(knob("VALUEPULSE_CLUSTER_DOWN_S", 20));
    let in_sync = Duration::from_secs(120);
    match fault {
        Fault::LeaderKill => {
            let node = leader_to_hit(c, topic, partitions);
            c.kill_node(node);
            std::thread::sleep(down);
            let back = c.restart_node(node);
            let sync = c.wait_in_sync(in_sync);
            format!(
                "leader node {node} killed for {} s, back in {} ms, in sync {} ms later",
                down.as_secs(),
                back.as_millis(),
                sync.as_millis()
            )
        }
        Fault::ControllerFailover => {
            let old = c.controller();
            c.kill_node(old);
            let killed = Instant::now();
            let mut new = old;
            while new == old && killed.elapsed() < Duration::from_secs(60) {
                std::thread::sleep(Duration::from_millis(200));
                // The killed node cannot answer; the others elect.
                new = c.try_controller().unwrap_or(old);
            }
            assert_ne!(new, old, "no new controller within 60 s of killing {old}");
            let election = killed.elapsed();
            std::thread::sleep(down.saturating_sub(election));
            let back = c.restart_node(old);
            let sync = c.wait_in_sync(in_sync);
            format!(
                "controller {old} killed, {new} elected within {} ms (as the tools saw it), {old} back in {} ms, in sync {} ms later",
                election.as_millis(),
                back.as_millis(),
                sync.as_millis()
            )
        }
        Fault::Pause => {
            let node = leader_to_hit(c, topic, partitions);
            let paused = Duration::from_secs(knob("VALUEPULSE_CLUSTER_PAUSE_S", 60));
            c.pause_node(node);
            std::thread::sleep(paused);
            c.resume_node(node);
            let sync = c.wait_in_sync(in_sync);
            format!(
                "leader node {node} stopped for {} s, in sync {} ms after SIGCONT",
                paused.as_secs(),
                sync.as_millis()
            )
        }
        Fault::RollingRestart => {
            let mut detail = String::from("rolling restart: ");
            for node in 1..=3 {
                let step = Instant::now();
                c.stop_node(node);
                let stopped = step.elapsed();
                c.restart_node(node);
                c.wait_in_sync(in_sync);
                detail.push_str(&format!(
                    "node {node} stopped in {} ms, back and in sync after {} ms; ",
                    stopped.as_millis(),
                    step.elapsed().as_millis()
                ));
            }
            detail.trim_end_matches("; ").to_owned()
        }
    }
}

fn topics(c: &LocalBroker) -> [String; 3] {
    let t = [
        unique("c-deploys"),
        unique("c-incidents"),
        unique("c-usage"),
    ];
    c.create_topics(&[(&t[0], 2), (&t[1], 1), (&t[2], USAGE_PARTITIONS)], &[]);
    t
}

fn reference(acked: &[Acked], t: &[String; 3]) -> Reference {
    Reference::compute(acked, &t[0], &t[2], &WINDOWS)
}

/// A node to hit: the leader of a usage partition, preferring one that is
/// not the active controller (so the leader fault and the controller fault
/// differ where the cluster allows).
fn leader_to_hit(c: &LocalBroker, topic: &str, partitions: i32) -> u32 {
    let controller = c.controller();
    let leaders: Vec<u32> = (0..partitions).map(|p| c.leader(topic, p)).collect();
    leaders
        .iter()
        .copied()
        .find(|&l| l != controller)
        .unwrap_or(leaders[0])
}

fn cluster_fault(fault: Fault) {
    // Its cluster is its own and its assertions only wait (deadlines of
    // 60-120 s), so it may run beside other tests (isolation.rs).
    let _isolation = common::shared();
    let c = LocalBroker::start_cluster();
    let t = topics(&c);
    let changes = unique("c-changes");
    c.create_topics(&[(&changes, 1)], &[]);
    let brokers = c.bootstrap();
    let rules = std::env::temp_dir().join(unique("cluster-bridge") + ".toml");
    std::fs::write(&rules, "[bridge.github]\nproduction = \"prod\"\n").unwrap();
    let bridge = Bridge::start(
        &rules,
        &[
            ("VALUEPULSE__BRIDGE__GITHUB__SECRETS", GITHUB_SECRET),
            ("VALUEPULSE__KAFKA__BROKERS", &brokers),
            ("VALUEPULSE__TOPICS__DEPLOYS", &t[0]),
            ("VALUEPULSE__TOPICS__INCIDENTS", &t[1]),
            ("VALUEPULSE__TOPICS__CHANGES", &changes),
            ("VALUEPULSE__TOPICS__FEATURE_USAGE", &t[2]),
        ],
    );
    let rates = (
        knob("VALUEPULSE_CLUSTER_DEPLOYS_PER_S", 20),
        knob("VALUEPULSE_CLUSTER_USAGE_PER_S", 1_000),
    );
    let mut d = Captured::run(
        &config_file(FAST_GROUP_PROPERTIES),
        daemon_env(&c.bootstrap(), [&t[0], &t[1], &t[2]]),
    );
    d.wait_ready(Duration::from_secs(90));

    // Before the fault: a load, every record acknowledged, and the daemon
    // equal to the oracle. Those figures are the floor from now on.
    let load = Load::start(&c.bootstrap(), "before", (&t[0], &t[2]), rates, USERS, 0);
    std::thread::sleep(Duration::from_secs(4));
    let before = load.finish();
    assert_eq!(before.failed(), 0, "deliveries failed before the fault");
    let (errors, _) = converge(
        &[&d],
        &reference(&before.snapshot(), &t),
        Duration::from_secs(60),
    );
    assert!(errors.is_empty(), "{fault:?}: before the fault: {errors:?}");
    let floor = reference(&before.snapshot(), &t).floor();

    // The fault, under load (acks=all) from start to end, watched.
    let load = Load::start(
        &c.bootstrap(),
        "during",
        (&t[0], &t[2]),
        rates,
        USERS,
        1_000_000,
    );
    let stop = AtomicBool::new(false);
    let (w, deliveries, detail, fault_took, whole) = std::thread::scope(|s| {
        let watcher = s.spawn(|| Watch::until(&mut d, &floor, &stop));
        let sender = s.spawn(|| Deliveries::until(&bridge.addr, &stop));
        std::thread::sleep(Duration::from_secs(2));
        let fault_start = Instant::now();
        let detail = inject(&c, fault, &t[2], USAGE_PARTITIONS);
        let (took, whole) = (fault_start.elapsed(), Instant::now());
        std::thread::sleep(Duration::from_secs(3));
        stop.store(true, Ordering::Relaxed);
        let w = watcher.join().expect("watcher");
        (w, sender.join().expect("sender"), detail, took, whole)
    });
    let during = load.finish();
    let ready_again = d.wait_ready(Duration::from_secs(120));
    let back_to_ready = w
        .last_not_ready
        .map_or(Duration::ZERO, |t| t.saturating_duration_since(whole));

    assert_eq!(
        during.failed(),
        0,
        "{fault:?}: the acks=all producer saw failed deliveries"
    );
    let mut acked = before.snapshot();
    acked.extend(during.snapshot());
    let (errors, converged) = converge(&[&d], &reference(&acked, &t), Duration::from_secs(60));
    eprintln!(
        "cluster {fault:?}: {detail}; fault {} ms; {} acknowledged records; /readyz not 200 for {} ms in all, ready {} ms after the cluster was whole (wait_ready {} ms at the end); scrape = oracle {} ms after the load stopped; /livez failures {}",
        fault_took.as_millis(),
        acked.len(),
        w.not_ready.as_millis(),
        back_to_ready.as_millis(),
        ready_again.as_millis(),
        converged.as_millis(),
        w.livez_failures
    );
    // The bridge's deliveries: a repository the oracle's load never uses
    // as a service, one deployment per delivery.
    let bridged = || {
        crate::fault::sum_series(
            &d.scrape(),
            "valuepulse_deployments",
            &[("service", BRIDGED), ("window", "1d")],
        )
    };
    let reached = crate::fault::eventually(Duration::from_secs(60), || {
        bridged() >= deliveries.acknowledged as f64
    });
    eprintln!(
        "cluster {fault:?}, bridge: {} deliveries, {} answered 200, {} refused 503, {} other; the daemon read {} of them; slowest answer {} ms; bridge /livez failures {}",
        deliveries.sent,
        deliveries.acknowledged,
        deliveries.refused,
        deliveries.other,
        bridged(),
        deliveries.slowest.as_millis(),
        deliveries.livez_failures
    );
    assert!(
        errors.is_empty(),
        "{fault:?}: {} divergences from the oracle after 60 s:\n{}",
        errors.len(),
        errors.join("\n")
    );
    assert_eq!(w.livez_failures, 0, "{fault:?}: /livez failed");
    assert!(
        w.lies.is_empty(),
        "{fault:?}: /readyz said ready with holes:\n{}",
        w.lies.join("\n")
    );
    assert!(
        reached,
        "{fault:?}: deliveries the bridge acknowledged were lost: {} answered 200, the daemon read {}",
        deliveries.acknowledged,
        bridged()
    );
    assert!(
        bridged() <= deliveries.sent as f64,
        "more deploys than deliveries"
    );
    assert_eq!(
        deliveries.other, 0,
        "{fault:?}: bridge answers other than 200/503"
    );
    assert_eq!(
        deliveries.livez_failures, 0,
        "{fault:?}: bridge /livez failed"
    );
    assert!(
        deliveries.acknowledged > 0,
        "{fault:?}: no delivery acknowledged"
    );
}

/// Signed GitHub deliveries to the bridge at a steady pace, and its
/// `/livez` between them, until stopped: what came back.
#[derive(Default)]
struct Deliveries {
    sent: u64,
    acknowledged: u64,
    refused: u64,
    other: u64,
    slowest: Duration,
    livez_failures: u64,
}

impl Deliveries {
    fn until(addr: &str, stop: &AtomicBool) -> Self {
        let rate = knob("VALUEPULSE_CLUSTER_BRIDGE_PER_S", 10);
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let start = Instant::now();
        let mut r = Self::default();
        while !stop.load(Ordering::Relaxed) {
            let due = Duration::from_micros(r.sent * 1_000_000 / rate);
            std::thread::sleep(due.saturating_sub(start.elapsed()));
            // Another repository than GitHub's "checkout" of the shared
            // builder: the oracle's load has a service of that name.
            let mut delivery: serde_json::Value =
                serde_json::from_slice(&deployment_status(now, 1 + r.sent, "success", -3600))
                    .unwrap();
            delivery["repository"]["name"] = BRIDGED.into();
            delivery["repository"]["full_name"] = format!("acme/{BRIDGED}").into();
            let body = serde_json::to_vec(&delivery).unwrap();
            let headers = github("deployment_status", &body, Some(GITHUB_SECRET));
            let t0 = Instant::now();
            match post_or_get(addr, "POST", "/hooks/github", &headers, &body) {
                Some((200, _)) => r.acknowledged += 1,
                Some((503, _)) => r.refused += 1,
                answer => {
                    eprintln!("delivery {}: {answer:?}", r.sent);
                    r.other += 1;
                }
            }
            r.slowest = r.slowest.max(t0.elapsed());
            r.sent += 1;
            if post_or_get(addr, "GET", "/livez", &[], b"").map(|a| a.0) != Some(200) {
                r.livez_failures += 1;
            }
        }
        r
    }
}

#[test]
fn cluster_leader_sigkill_then_restart_loses_no_acknowledged_event() {
    cluster_fault(Fault::LeaderKill);
}

#[test]
fn cluster_controller_failover_loses_no_acknowledged_event() {
    cluster_fault(Fault::ControllerFailover);
}

#[test]
fn cluster_node_sigstop_60s_then_sigcont_loses_no_acknowledged_event() {
    cluster_fault(Fault::Pause);
}

#[test]
fn cluster_rolling_restart_of_all_three_nodes_loses_no_acknowledged_event() {
    cluster_fault(Fault::RollingRestart);
}
