//! `valuepulse demo`: a first look that needs nothing but cargo.
//!
//! It starts three things in one process:
//!
//! 1. an embedded Kafka-protocol broker (librdkafka's mock cluster) with the
//!    `deploys`, `incidents`, `feature-usage`, `work-items` and
//!    `satisfaction` topics;
//! 2. the daemon itself ([`app::run`]), pointed at that broker;
//! 3. a generator (`generator.rs`) that publishes about 30 days of history for five
//!    services, then a new deploy every second or two, with the occasional
//!    failure, rollback and incident, so `/metrics` moves while you watch.
//!    About 60 % of deploy and incident events are CDEvents (structured and
//!    Kafka binary CloudEvents, spec v0.4 and v0.5), and some incidents name
//!    no cause at all. Some deploys ship features, and the product's usage model (`usage.rs`) publishes
//!    feature-usage events keyed by user id: about 65 000 over the 30 days
//!    (3 000 users, a dozen features of different popularity, adoption that
//!    grows after shipping, two shipped features nobody uses), then a few
//!    hundred a second. Every 20–40 s a live deploy launches a brand-new
//!    feature that is used within seconds, so every adoption metric, time to
//!    first use, features shipped in 1 day and value realization included,
//!    has a series and moves. The value stream (`value.rs`) publishes work
//!    items moving through a tracker (half as CDEvents tickets) and CSAT/NPS
//!    responses for the same services: 30 days of them, then now and then a
//!    finished item and a response beside each live deploy, so flow
//!    efficiency, satisfaction and the value delivery score have series.
//!
//! The mock cluster answers offsets-by-timestamp with "end", so the daemon
//! starts at the end of the (still empty) topics; the generator therefore
//! waits for readiness (the usage consumer group included) before
//! publishing, and everything it publishes is consumed. Ctrl-C stops the
//! generator, then the daemon, then the broker.

mod generator;
mod record;
mod usage;
mod value;

use std::net::SocketAddr;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use rdkafka::ClientConfig;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{DefaultProducerContext, FutureProducer, FutureRecord};
use tokio::sync::oneshot;

use crate::config::Config;
use crate::ingest::progress::Progress;
use crate::{app, clock};
use generator::Generator;
use record::{Record, Topic};
use value::ValueStream;

/// Seed of the demo's story: the same history every run, chosen so that the
/// five services land in different tiers (see the generator's tests).
pub const SEED: u64 = 73;

/// Topic names of the demo (the defaults of `config/default.toml`).
const DEPLOYS_TOPIC: &str = "deploys";
const INCIDENTS_TOPIC: &str = "incidents";
const FEATURE_USAGE_TOPIC: &str = "feature-usage";
const WORK_ITEMS_TOPIC: &str = "work-items";
const SATISFACTION_TOPIC: &str = "satisfaction";

/// How often live usage is published (about 300 events a second in all).
const USAGE_EVERY: Duration = Duration::from_millis(200);

/// How long the daemon may take to become ready before the demo gives up.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs the demo until SIGINT/SIGTERM, serving `/metrics` on `listen`.
pub async fn run(listen: String) -> anyhow::Result<()> {
    let broker = Broker::start().await?;
    let result = run_daemon(&broker.bootstrap, &listen).await;
    broker.stop().await;
    result
}

/// Starts the daemon against the broker at `bootstrap`, runs the generator
/// until a shutdown signal, then stops the daemon and waits for it.
async fn run_daemon(bootstrap: &str, listen: &str) -> anyhow::Result<()> {
    let config = Config::load_with_env(
        None,
        [
            ("VALUEPULSE__KAFKA__BROKERS", bootstrap),
            ("VALUEPULSE__HTTP__LISTEN", listen),
            ("VALUEPULSE__TOPICS__DEPLOYS", DEPLOYS_TOPIC),
            ("VALUEPULSE__TOPICS__INCIDENTS", INCIDENTS_TOPIC),
            ("VALUEPULSE__TOPICS__FEATURE_USAGE", FEATURE_USAGE_TOPIC),
            ("VALUEPULSE__TOPICS__WORK_ITEMS", WORK_ITEMS_TOPIC),
            ("VALUEPULSE__TOPICS__SATISFACTION", SATISFACTION_TOPIC),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    )
    .context("the demo configuration is invalid")?;

    let (stop_daemon, stopped) = oneshot::channel::<()>();
    let (listening_tx, listening) = oneshot::channel();
    let mut daemon = tokio::spawn(app::run(
        config,
        async {
            let _ = stopped.await;
        },
        Some(listening_tx),
    ));

    // The generator runs until Ctrl-C (then `session` is Ok) or until it
    // fails; if the daemon ends first, the session is dropped, which stops
    // the generator too.
    let session = async {
        let Ok((addr, handles)) = listening.await else {
            // The daemon ended before listening; its result says why.
            return Ok(());
        };
        tokio::select! {
            () = app::shutdown_signal() => {
                tracing::info!("Stopping the demo.");
                Ok(())
            }
            r = generate(bootstrap, addr, &handles.progress) => r,
        }
    };
    let outcome = tokio::select! {
        r = session => r,
        r = &mut daemon => {
            daemon_result(r)?;
            anyhow::bail!("the daemon stopped unexpectedly");
        }
    };
    let _ = stop_daemon.send(());
    let stopped = daemon_result(daemon.await);
    outcome.and(stopped)
}

fn daemon_result(joined: Result<anyhow::Result<()>, tokio::task::JoinError>) -> anyhow::Result<()> {
    joined.context("the daemon task panicked")?
}

/// Waits for the daemon to be ready, publishes the history, prints the
/// banner, then publishes live events for ever. Returns only on failure.
async fn generate(bootstrap: &str, addr: SocketAddr, progress: &Progress) -> anyhow::Result<()> {
    #[allow(
        clippy::print_stdout,
        reason = "the demo greets its user on the terminal"
    )]
    {
        println!(
            "valuepulse demo: open http://{}/ (the value pulse page; 30 days of history are loading)",
            shown(addr)
        );
    }
    wait_until_ready(progress).await?;
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("client.id", "valuepulse-demo-generator")
        .set("message.timeout.ms", "10000")
        // The whole backfill is queued before the first acknowledgement.
        .set("queue.buffering.max.messages", "1000000")
        .create()
        .context("cannot create the demo producer")?;
    let mut generator = Generator::new(SEED);
    let mut value_stream = ValueStream::new(SEED);
    let started = Instant::now();
    let now = clock::now_millis();
    let mut history = generator.backfill(now);
    history.extend(value_stream.backfill(now));
    let generated = started.elapsed();
    publish(&producer, &history).await?;
    let usage = history
        .iter()
        .filter(|r| r.topic == Topic::FeatureUsage)
        .count();
    tracing::info!(
        events = history.len() - usage,
        usage_events = usage,
        generated_ms = generated.as_millis() as u64,
        published_ms = started
            .elapsed()
            .checked_sub(generated)
            .unwrap()
            .as_millis() as u64,
        "Published 30 days of history; now one deploy every 1-2 s and a few hundred usage events a second."
    );
    #[allow(
        clippy::print_stdout,
        reason = "the demo greets its user on the terminal"
    )]
    {
        println!("{}", banner(addr));
    }
    let mut usage_clock = tokio::time::interval(USAGE_EVERY);
    usage_clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let next_deploy = tokio::time::sleep(generator.pause());
    tokio::pin!(next_deploy);
    loop {
        let records = tokio::select! {
            () = &mut next_deploy => {
                next_deploy
                    .as_mut()
                    .reset(tokio::time::Instant::now() + generator.pause());
                let now = clock::now_millis();
                let mut records = generator.tick(now);
                records.extend(value_stream.tick(now));
                records
            }
            _ = usage_clock.tick() => generator.usage(clock::now_millis(), USAGE_EVERY),
        };
        publish(&producer, &records).await?;
    }
}

/// Polls readiness: the daemon must have positioned at the end of the empty
/// topics before anything is published, or the first events could be skipped.
async fn wait_until_ready(progress: &Progress) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
    loop {
        match progress.readiness() {
            Ok(()) => return Ok(()),
            Err(why) if tokio::time::Instant::now() >= deadline => {
                anyhow::bail!(
                    "the daemon did not become ready in {READY_TIMEOUT:?}: {}",
                    why.0
                )
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Queues every record, then waits for all acknowledgements: the backfill's
/// tens of thousands of records go out in batches instead of one round trip
/// each.
async fn publish(producer: &FutureProducer, records: &[Record]) -> anyhow::Result<()> {
    let mut deliveries = Vec::with_capacity(records.len());
    for r in records {
        let topic = match r.topic {
            Topic::Deploys => DEPLOYS_TOPIC,
            Topic::Incidents => INCIDENTS_TOPIC,
            Topic::FeatureUsage => FEATURE_USAGE_TOPIC,
            Topic::WorkItems => WORK_ITEMS_TOPIC,
            Topic::Satisfaction => SATISFACTION_TOPIC,
        };
        let mut record = FutureRecord::to(topic)
            .key(r.key.as_str())
            .payload(&r.payload);
        if !r.headers.is_empty() {
            let mut headers = OwnedHeaders::new_with_capacity(r.headers.len());
            for (k, v) in &r.headers {
                headers = headers.insert(Header {
                    key: k,
                    value: Some(v.as_bytes()),
                });
            }
            record = record.headers(headers);
        }
        let delivery = producer
            .send_result(record)
            .map_err(|(e, _)| e)
            .context("cannot queue a demo event")?;
        deliveries.push(delivery);
    }
    for delivery in deliveries {
        delivery
            .await
            .context("the producer went away")?
            .map_err(|(e, _)| e)
            .context("the embedded broker did not take a demo event")?;
    }
    Ok(())
}

/// `addr` as a URL host: an unspecified address (0.0.0.0) as localhost.
fn shown(addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        SocketAddr::new([127, 0, 0, 1].into(), addr.port())
    } else {
        addr
    }
}

/// What to open first. An unspecified listen address (0.0.0.0) is shown as
/// localhost so the URLs can be pasted as they are.
fn banner(addr: SocketAddr) -> String {
    let host = shown(addr);
    let metrics = format!("http://{host}/metrics");
    [
        String::new(),
        "valuepulse demo is running: 30 days of history are in, a new deploy lands every 1-2 s,".into(),
        "a few hundred feature-usage events arrive every second, and every 20-40 s a deploy".into(),
        "launches a brand-new feature that is used within seconds.".into(),
        String::new(),
        format!("  page:     http://{host}/   (refreshes itself every 10 s)"),
        format!("  metrics:  {metrics}"),
        format!("  ready:    http://{host}/readyz"),
        String::new(),
        format!("  try:      curl -s {metrics} | grep valuepulse_change_failure_ratio"),
        format!("            curl -s {metrics} | grep 'valuepulse_deployments{{.*window=\"1d\"'"),
        format!("            curl -s {metrics} | grep -E 'valuepulse_(features_shipped|features_used|value_realization_ratio)\\{{'"),
        format!("            curl -s {metrics} | grep valuepulse_feature_time_to_first_use_seconds"),
        format!("            curl -s {metrics} | grep -E 'valuepulse_(flow_efficiency_ratio|satisfaction_score|value_delivery_score)\\{{'"),
        String::new(),
        "Press Ctrl-C to stop.".into(),
    ]
    .join("\n")
}

/// The embedded broker. `MockCluster` wraps a raw pointer, so it is neither
/// `Send` nor `Sync` and cannot live inside a task that may move between
/// runtime threads: a dedicated thread creates it, hands back the bootstrap
/// address and keeps it alive until told to stop (or until this handle is
/// dropped, which closes the channel).
struct Broker {
    bootstrap: String,
    stop: oneshot::Sender<()>,
    thread: JoinHandle<()>,
}

impl Broker {
    async fn start() -> anyhow::Result<Self> {
        let (ready_tx, ready_rx) = oneshot::channel::<anyhow::Result<String>>();
        let (stop, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("demo-kafka".into())
            .spawn(move || match mock_cluster() {
                Ok(cluster) => {
                    if ready_tx.send(Ok(cluster.bootstrap_servers())).is_ok() {
                        let _ = stop_rx.blocking_recv();
                    }
                    drop(cluster);
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            })
            .context("cannot start the embedded Kafka broker thread")?;
        let bootstrap = ready_rx
            .await
            .context("the embedded Kafka broker thread ended early")??;
        tracing::info!(bootstrap = %bootstrap, "Embedded Kafka broker (librdkafka mock cluster) is up.");
        Ok(Self {
            bootstrap,
            stop,
            thread,
        })
    }

    /// Stops the broker and waits for its thread.
    async fn stop(self) {
        let _ = self.stop.send(());
        let thread = self.thread;
        if let Ok(Ok(())) = tokio::task::spawn_blocking(move || thread.join()).await {
            tracing::info!("Embedded Kafka broker stopped.");
        } else {
            tracing::warn!("The embedded Kafka broker thread did not end cleanly.");
        }
    }
}

/// One broker with the demo's topics: 3 partitions for deploys (keyed by
/// service, so services spread out), 1 for incidents, work items and
/// satisfaction, 4 for feature usage
/// (keyed by user id, shared out by the usage consumer group). The mock keeps
/// at most 5 MiB per partition and drops the oldest messages beyond it; the
/// usage backfill (~7 MB) fits in 4 partitions with room to spare.
fn mock_cluster() -> anyhow::Result<MockCluster<'static, DefaultProducerContext>> {
    let cluster = MockCluster::new(1).context("cannot create the mock Kafka cluster")?;
    cluster
        .create_topic(DEPLOYS_TOPIC, 3, 1)
        .context("cannot create the deploys topic")?;
    cluster
        .create_topic(INCIDENTS_TOPIC, 1, 1)
        .context("cannot create the incidents topic")?;
    cluster
        .create_topic(FEATURE_USAGE_TOPIC, 4, 1)
        .context("cannot create the feature-usage topic")?;
    for topic in [WORK_ITEMS_TOPIC, SATISFACTION_TOPIC] {
        cluster
            .create_topic(topic, 1, 1)
            .with_context(|| format!("cannot create the {topic} topic"))?;
    }
    Ok(cluster)
}

#[cfg(test)]
mod tests;
