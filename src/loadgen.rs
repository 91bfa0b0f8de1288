//! `valuepulse loadgen`: publish a realistic, seeded dataset to Kafka fast,
//! for benchmarks and capacity tests.
//!
//! Two modes:
//!
//! - **history** (default): `--events` usage events over `--days` days of
//!   event time ending now (or `--end`), plus that history's deploys and
//!   incidents ([`dataset`] says what they look like). Records carry their
//!   event time as Kafka timestamp, so the daemon's replay-by-time positions
//!   on them as on a real log. Events are made one at a time into two reused
//!   buffers and handed to librdkafka, so any count (50 M and more) runs in
//!   constant memory.
//! - **live** (`--rate R --duration D`): usage events at `R` per second
//!   stamped with the wall clock as they are sent; with `--marker-every`,
//!   also marker events (`--marker-feature`, user `marker-<k>`) whose send
//!   time is printed on stdout as `marker <k> <unix ms>`, for measuring
//!   event-to-scrape latency.
//!
//! Producing: one librdkafka producer (`ThreadedProducer`: a background
//! thread serves delivery reports), `acks=all`, batches of up to 1 MB
//! (`batch.size`) lingering `--linger` (default 20 ms) so batches fill, and
//! `--compression` (default `lz4`: cheap to compress and decompress, and
//! what high-volume producers commonly use; `none` sends the JSON as is).
//! Missing topics are created with the admin client: usage with
//! `--partitions`, deploys with 3 and incidents with 1, retention
//! `--days` + 7 days. Progress goes to stderr once a second; the closing
//! summary line (`loadgen: summary events=… usage=… bytes=… usage_bytes=… seconds=…
//! events_per_s=…`) counts what the broker acknowledged.

#![allow(
    clippy::print_stderr,
    clippy::print_stdout,
    reason = "a command-line tool: progress and the summary go to stderr, live markers to stdout"
)]

pub mod dataset;
pub mod zipf;

use std::io::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{BaseRecord, Producer, ProducerContext, ThreadedProducer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::domain::Millis;
pub use dataset::{DAY_MS, Dataset, Order, Spec};

/// Exit code for bad flags (`EX_USAGE`).
pub const EXIT_USAGE: u8 = 64;
/// Exit code when Kafka did not take the data (`EX_UNAVAILABLE`).
pub const EXIT_UNAVAILABLE: u8 = 69;

/// Partitions of the deploys and incidents topics when loadgen creates them.
const DEPLOYS_PARTITIONS: i32 = 3;
const INCIDENTS_PARTITIONS: i32 = 1;

/// Compression of produced batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Compression {
    /// LZ4: fast both ways, about 3× smaller for this JSON.
    Lz4,
    /// No compression.
    None,
}

/// `valuepulse loadgen`.
#[derive(Debug, Clone, clap::Args)]
pub struct LoadgenArgs {
    /// Bootstrap servers.
    #[arg(long, default_value = "127.0.0.1:19092")]
    pub brokers: String,
    /// Feature-usage topic.
    #[arg(long, default_value = "feature-usage")]
    pub usage_topic: String,
    /// Deploys topic.
    #[arg(long, default_value = "deploys")]
    pub deploys_topic: String,
    /// Incidents topic.
    #[arg(long, default_value = "incidents")]
    pub incidents_topic: String,
    /// Usage events to write (history), or at most (live).
    #[arg(long, default_value_t = 1_000_000)]
    pub events: u64,
    /// Distinct features, Zipf-distributed.
    #[arg(long, default_value_t = 50)]
    pub features: u32,
    /// Distinct users (the record key).
    #[arg(long, default_value_t = 200_000)]
    pub users: u32,
    /// Days of event time, ending at --end.
    #[arg(long, default_value_t = 30)]
    pub days: u32,
    /// Seed: the same seed and --end give the same records.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// End of the history, RFC 3339 [default: now].
    #[arg(long)]
    pub end: Option<String>,
    /// Order of usage event times in the log.
    #[arg(long, value_enum, default_value_t = Order::Time)]
    pub order: Order,
    /// Partitions of the usage topic, when it is created.
    #[arg(long, default_value_t = 4)]
    pub partitions: i32,
    /// Deploys per day over all services (history mode).
    #[arg(long, default_value_t = 40.0)]
    pub deploys_per_day: f64,
    /// Zipf exponent of feature popularity.
    #[arg(long, default_value_t = 1.0)]
    pub feature_skew: f64,
    /// Zipf exponent of user activity.
    #[arg(long, default_value_t = 0.7)]
    pub user_skew: f64,
    /// Batch compression.
    #[arg(long, value_enum, default_value_t = Compression::Lz4)]
    pub compression: Compression,
    /// How long the producer waits to fill a batch (linger.ms).
    #[arg(long, default_value = "20ms", value_parser = humantime::parse_duration)]
    pub linger: Duration,
    /// Live mode: usage events per second, stamped now (needs --duration).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Live mode: how long to publish.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    /// Live mode: publish a marker event this often and print its send time on stdout.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub marker_every: Option<Duration>,
    /// Feature name of the marker events.
    #[arg(long, default_value = "loadgen-marker")]
    pub marker_feature: String,
    /// Extra librdkafka producer property, e.g. security.protocol=SSL; repeatable.
    #[arg(long = "property", value_name = "KEY=VALUE")]
    pub properties: Vec<String>,
}

/// Why loadgen failed, with its exit code.
#[derive(Debug, thiserror::Error)]
pub enum LoadgenError {
    /// Bad flags (exit 64).
    #[error("{0}")]
    Usage(String),
    /// Kafka refused or lost data (exit 69).
    #[error("{0}")]
    Kafka(String),
}

impl LoadgenError {
    /// Process exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            LoadgenError::Usage(_) => EXIT_USAGE,
            LoadgenError::Kafka(_) => EXIT_UNAVAILABLE,
        }
    }
}

fn kafka(what: &str) -> impl FnOnce(KafkaError) -> LoadgenError + '_ {
    move |e| LoadgenError::Kafka(format!("{what}: {e}"))
}

/// A client that could not be created: librdkafka's text can quote a
/// `--property` value (a password), so it names the property only.
fn creation<'a>(
    what: &'a str,
    args: &'a LoadgenArgs,
) -> impl FnOnce(KafkaError) -> LoadgenError + 'a {
    move |e| {
        let properties: crate::config::KafkaProperties = args
            .properties
            .iter()
            .filter_map(|p| p.split_once('='))
            .collect();
        let (key, why) = crate::config::secrets::describe_client_error(&e, &properties);
        LoadgenError::Kafka(format!("{what}: {key}: {why}"))
    }
}

/// What was published, as acknowledged by the broker.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Usage events acknowledged.
    pub usage: u64,
    /// Deploy and incident events acknowledged.
    pub other: u64,
    /// Payload bytes acknowledged (all topics).
    pub bytes: u64,
    /// Of those, usage payload bytes.
    pub usage_bytes: u64,
    /// From the first send to the last acknowledgement.
    pub seconds: f64,
}

impl Summary {
    /// Acknowledged events per second.
    pub fn events_per_second(&self) -> f64 {
        (self.usage + self.other) as f64 / self.seconds.max(1e-9)
    }
}

/// Counts acknowledgements and keeps the first delivery error.
#[derive(Default)]
struct Acks {
    usage: AtomicU64,
    other: AtomicU64,
    bytes: AtomicU64,
    usage_bytes: AtomicU64,
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl ClientContext for Acks {
    fn error(&self, error: KafkaError, reason: &str) {
        eprintln!("loadgen: kafka: {error}: {reason}");
    }
}

impl ProducerContext for Acks {
    /// 1 for a usage event, 0 for a deploy or incident (a number, not a
    /// box: no allocation per record).
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, usage: usize) {
        match result {
            Ok(m) => {
                let n = m.payload_len() as u64;
                self.bytes.fetch_add(n, Ordering::Relaxed);
                if usage == 1 {
                    self.usage.fetch_add(1, Ordering::Relaxed);
                    self.usage_bytes.fetch_add(n, Ordering::Relaxed);
                } else {
                    self.other.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err((e, _)) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                let mut first = self
                    .first_error
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                first.get_or_insert_with(|| e.to_string());
            }
        }
    }
}

type Loader = ThreadedProducer<Acks>;

/// Unix milliseconds now.
fn now_ms() -> Millis {
    crate::clock::now_millis()
}

/// Runs `valuepulse loadgen`.
pub fn run(args: &LoadgenArgs) -> Result<Summary, LoadgenError> {
    let end = match &args.end {
        Some(s) => OffsetDateTime::parse(s, &Rfc3339)
            .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as Millis)
            .map_err(|_| LoadgenError::Usage(format!("--end {s:?} is not RFC 3339")))?,
        None => now_ms(),
    };
    let live = match (args.rate, args.duration) {
        (Some(r), Some(d)) if r > 0.0 && r.is_finite() => Some((r, d)),
        (Some(_), Some(_)) => {
            return Err(LoadgenError::Usage(
                "--rate must be a positive number".into(),
            ));
        }
        (Some(_), None) => return Err(LoadgenError::Usage("--rate needs --duration".into())),
        (None, Some(_)) => return Err(LoadgenError::Usage("--duration needs --rate".into())),
        (None, None) => None,
    };
    if args.partitions < 1 {
        return Err(LoadgenError::Usage(
            "--partitions must be at least 1".into(),
        ));
    }
    let mut data = Dataset::new(Spec {
        events: args.events,
        features: args.features,
        users: args.users,
        days: args.days,
        seed: args.seed,
        end,
        order: args.order,
        feature_skew: args.feature_skew,
        user_skew: args.user_skew,
        deploys_per_day: args.deploys_per_day,
    })
    .map_err(|e| LoadgenError::Usage(e.to_string()))?;

    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &args.brokers)
        .set("client.id", "valuepulse-loadgen");
    for p in &args.properties {
        let (k, v) = p
            .split_once('=')
            .filter(|(k, _)| !k.is_empty())
            .ok_or_else(|| LoadgenError::Usage(format!("--property {p:?} is not KEY=VALUE")))?;
        config.set(k, v);
    }
    create_topics(&config, args)?;
    let producer: Loader = config
        .clone()
        .set("acks", "all")
        .set("linger.ms", args.linger.as_millis().to_string())
        .set("batch.size", "1000000")
        .set("batch.num.messages", "100000")
        .set("queue.buffering.max.messages", "1000000")
        .set("queue.buffering.max.kbytes", "1048576")
        .set("message.timeout.ms", "120000")
        .set(
            "compression.type",
            match args.compression {
                Compression::Lz4 => "lz4",
                Compression::None => "none",
            },
        )
        .create_with_context(Acks::default())
        .map_err(creation("cannot create the producer", args))?;

    let started = Instant::now();
    match live {
        None => history(&producer, &mut data, args, started)?,
        Some((rate, duration)) => live_load(&producer, &mut data, args, rate, duration, started)?,
    }
    producer
        .flush(Duration::from_secs(120))
        .map_err(kafka("not every record was acknowledged within 120 s"))?;
    let acks = producer.context();
    check_failed(acks)?;
    let summary = Summary {
        usage: acks.usage.load(Ordering::Relaxed),
        other: acks.other.load(Ordering::Relaxed),
        bytes: acks.bytes.load(Ordering::Relaxed),
        usage_bytes: acks.usage_bytes.load(Ordering::Relaxed),
        seconds: started.elapsed().as_secs_f64(),
    };
    eprintln!(
        "loadgen: wrote {} usage + {} deploy/incident events ({:.1} MB) in {:.2} s: {:.0} k events/s",
        summary.usage,
        summary.other,
        summary.bytes as f64 / 1e6,
        summary.seconds,
        summary.events_per_second() / 1e3
    );
    eprintln!(
        "loadgen: summary events={} usage={} bytes={} usage_bytes={} seconds={:.3} events_per_s={:.0}",
        summary.usage + summary.other,
        summary.usage,
        summary.bytes,
        summary.usage_bytes,
        summary.seconds,
        summary.events_per_second()
    );
    Ok(summary)
}

fn check_failed(acks: &Acks) -> Result<(), LoadgenError> {
    let failed = acks.failed.load(Ordering::Relaxed);
    if failed == 0 {
        return Ok(());
    }
    let first = acks
        .first_error
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
        .unwrap_or_default();
    Err(LoadgenError::Kafka(format!(
        "{failed} records were not delivered; first error: {first}"
    )))
}

/// Creates whichever of the three topics are missing.
fn create_topics(config: &ClientConfig, args: &LoadgenArgs) -> Result<(), LoadgenError> {
    let admin: AdminClient<DefaultClientContext> = config
        .create()
        .map_err(creation("cannot create the admin client", args))?;
    let retention = ((i64::from(args.days) + 7) * DAY_MS).to_string();
    let topics = [
        (&args.usage_topic, args.partitions),
        (&args.deploys_topic, DEPLOYS_PARTITIONS),
        (&args.incidents_topic, INCIDENTS_PARTITIONS),
    ];
    let new: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|(name, partitions)| {
            NewTopic::new(name, *partitions, TopicReplication::Fixed(-1))
                .set("retention.ms", &retention)
        })
        .collect();
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| LoadgenError::Kafka(format!("cannot start a runtime: {e}")))?;
    let results = rt
        .block_on(async {
            tokio::time::timeout(Duration::from_secs(40), admin.create_topics(&new, &opts)).await
        })
        .map_err(|_| {
            LoadgenError::Kafka(format!(
                "the brokers at {} did not answer within 40 s",
                args.brokers
            ))
        })?
        .map_err(kafka("cannot create topics"))?;
    for r in results {
        match r {
            Ok(name) => eprintln!("loadgen: created topic {name}"),
            Err((name, RDKafkaErrorCode::TopicAlreadyExists)) => {
                eprintln!("loadgen: topic {name} exists; left as it is");
            }
            Err((name, code)) => {
                return Err(LoadgenError::Kafka(format!(
                    "cannot create topic {name}: {code}"
                )));
            }
        }
    }
    Ok(())
}

/// Hands one record to librdkafka, waiting while its queue is full.
fn send(
    producer: &Loader,
    topic: &str,
    key: &[u8],
    payload: &[u8],
    at: Millis,
    usage: bool,
) -> Result<(), LoadgenError> {
    let mut record = BaseRecord::with_opaque_to(topic, usize::from(usage))
        .key(key)
        .payload(payload)
        .timestamp(at);
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                record = r;
                check_failed(producer.context())?;
                std::thread::sleep(Duration::from_millis(1));
            }
            Err((e, _)) => return Err(kafka("cannot queue a record")(e)),
        }
    }
}

/// Prints progress once a second.
struct Progress {
    last: Instant,
    started: Instant,
}

impl Progress {
    fn tick(&mut self, acks: &Acks, target: Option<u64>) {
        if self.last.elapsed() < Duration::from_secs(1) {
            return;
        }
        self.last = Instant::now();
        let done = acks.usage.load(Ordering::Relaxed);
        let secs = self.started.elapsed().as_secs_f64();
        let of = target.map_or(String::new(), |t| {
            format!(" / {t} ({:.0} %)", 100.0 * done as f64 / t.max(1) as f64)
        });
        eprintln!(
            "loadgen: {done}{of} usage events acknowledged, {:.0} k/s, {:.0} MB",
            done as f64 / secs / 1e3,
            acks.bytes.load(Ordering::Relaxed) as f64 / 1e6
        );
    }
}

fn history(
    producer: &Loader,
    data: &mut Dataset,
    args: &LoadgenArgs,
    started: Instant,
) -> Result<(), LoadgenError> {
    for r in data.small_records().to_vec() {
        let topic = if r.is_deploy {
            &args.deploys_topic
        } else {
            &args.incidents_topic
        };
        send(
            producer,
            topic,
            r.key.as_bytes(),
            r.payload.as_bytes(),
            r.at,
            false,
        )?;
    }
    let (mut key, mut payload) = (Vec::with_capacity(16), Vec::with_capacity(400));
    let mut progress = Progress {
        last: started,
        started,
    };
    while let Some(at) = data.next_usage(&mut key, &mut payload) {
        send(producer, &args.usage_topic, &key, &payload, at, true)?;
        if data.written().is_multiple_of(4096) {
            progress.tick(producer.context(), Some(args.events));
        }
    }
    Ok(())
}

fn live_load(
    producer: &Loader,
    data: &mut Dataset,
    args: &LoadgenArgs,
    rate: f64,
    duration: Duration,
    started: Instant,
) -> Result<(), LoadgenError> {
    let (mut key, mut payload) = (Vec::with_capacity(16), Vec::with_capacity(400));
    let mut progress = Progress {
        last: started,
        started,
    };
    let mut sent = 0u64;
    let mut markers = 0u64;
    let mut stdout = std::io::stdout().lock();
    loop {
        let elapsed = started.elapsed();
        if elapsed >= duration || sent >= args.events {
            return Ok(());
        }
        let due = ((rate * elapsed.as_secs_f64()) as u64).min(args.events);
        let now = now_ms();
        while sent < due {
            data.usage_at(now, &mut key, &mut payload);
            send(producer, &args.usage_topic, &key, &payload, now, true)?;
            sent += 1;
        }
        if let Some(every) = args.marker_every {
            let k = markers + 1;
            if elapsed >= every.mul_f64(k as f64) {
                let t = now_ms();
                let user = format!("marker-{k}");
                data.marker(&args.marker_feature, &user, t, &mut key, &mut payload);
                send(producer, &args.usage_topic, &key, &payload, t, true)?;
                markers = k;
                // A closed stdout (the reader went away) does not stop the load.
                let _ = writeln!(stdout, "marker {k} {t}").and_then(|()| stdout.flush());
            }
        }
        progress.tick(producer.context(), None);
        std::thread::sleep(Duration::from_millis(1));
    }
}
