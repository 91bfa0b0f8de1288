//! `valuepulse emit`: publish one validated deploy, incident, work-item
//! transition or satisfaction response to Kafka, for CI/CD pipelines,
//! incident hooks, trackers and survey tools.
//!
//! The event is built from flags as native v1 JSON, optionally encoded as a
//! CDEvent in a CloudEvent (structured or Kafka binary mode, see
//! [`encode`]), then decoded by the daemon's own decoder: an event the
//! daemon would count as invalid is refused before any connection is made.
//! It is produced with `acks=all`, keyed as its topic's contract says
//! (service; item id for work items; service or feature for responses),
//! and the command waits for the broker's acknowledgement (bounded by
//! `--timeout`).
//!
//! [`encode`] is also how `valuepulse demo` writes its CDEvents.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rdkafka::ClientConfig;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::Value;

use crate::config::Config;
use crate::domain::DeployStatus;
use crate::domain::event::InvalidReason;
use crate::ingest::Stream;
use crate::ingest::decode::{
    ChangeV1, DecodeError, DeployV1, IncidentV1, decode, format_time, parse_time,
};

mod encode;
mod value;

pub use encode::{
    CdSpec, DEFAULT_SOURCE, EncodeError, Format, TicketEvent, WireRecord, encode, encode_work_item,
    purl,
};
pub use value::{CategoryArg, SatisfactionArgs, WorkItemArgs};

/// Exit code of an invalid event, bad flags or configuration (EX_USAGE).
pub const EXIT_USAGE: u8 = 64;
/// Exit code when the broker did not acknowledge the event (EX_UNAVAILABLE).
pub const EXIT_UNAVAILABLE: u8 = 69;

/// `valuepulse emit <deploy|incident|work-item|satisfaction>`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum EmitCommand {
    /// Publish a deploy event (to `topics.deploys`).
    Deploy(DeployArgs),
    /// Publish an incident event (to `topics.incidents`): one id, opened then resolved.
    Incident(IncidentArgs),
    /// Publish a work-item state transition (to `work-items`), native or as a CDEvents ticket.
    WorkItem(WorkItemArgs),
    /// Publish a CSAT or NPS response (to `satisfaction`), native only.
    Satisfaction(SatisfactionArgs),
}

impl EmitCommand {
    fn target(&self) -> &Target {
        match self {
            EmitCommand::Deploy(a) => &a.target,
            EmitCommand::Incident(a) => &a.target,
            EmitCommand::WorkItem(a) => &a.target,
            EmitCommand::Satisfaction(a) => &a.target,
        }
    }
}

/// Where and how to publish.
#[derive(Debug, Clone, clap::Args)]
pub struct Target {
    /// Wire format.
    #[arg(long, value_enum, default_value_t = Format::Native)]
    pub format: Format,
    /// CDEvents spec version, for the cdevents formats.
    #[arg(long, value_enum, default_value_t = CdSpec::V0_5)]
    pub cdevents_spec: CdSpec,
    /// CloudEvents/CDEvents `source` (a URI reference), for the cdevents formats.
    #[arg(long, default_value = DEFAULT_SOURCE)]
    pub source: String,
    /// TOML file layered over the embedded defaults (brokers, topics, `[kafka.properties]`), as for `run`.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Bootstrap servers; overrides `kafka.brokers`.
    #[arg(long)]
    pub brokers: Option<String>,
    /// Topic; overrides `topics.deploys`, `topics.incidents`, `topics.work_items` or `topics.satisfaction`.
    #[arg(long)]
    pub topic: Option<String>,
    /// Longest wait for the broker's acknowledgement.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

/// Final state of a deploy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DeployStatusArg {
    /// The change reached the environment and stayed.
    Succeeded,
    /// The deploy failed.
    Failed,
    /// The deploy was rolled back (a correction of an earlier event with the same id).
    #[value(name = "rolled_back")]
    RolledBack,
}

/// Whether the incident opened or was resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum IncidentStatusArg {
    /// The incident started.
    Opened,
    /// The incident is over (needs --id, --opened-at and --resolved-at).
    Resolved,
}

/// `valuepulse emit deploy`.
#[derive(Debug, Clone, clap::Args)]
pub struct DeployArgs {
    /// Deploy id, the de-duplication key [default: generated, printed].
    #[arg(long)]
    pub id: Option<String>,
    /// Service deployed (also the record key).
    #[arg(long)]
    pub service: String,
    /// Final state.
    #[arg(long, value_enum)]
    pub status: DeployStatusArg,
    /// Owning team.
    #[arg(long)]
    pub team: Option<String>,
    /// Environment [default: production].
    #[arg(long)]
    pub environment: Option<String>,
    /// When the deploy finished, RFC 3339 [default: now].
    #[arg(long)]
    pub finished_at: Option<String>,
    /// When the deploy started, RFC 3339.
    #[arg(long)]
    pub started_at: Option<String>,
    /// Version deployed.
    #[arg(long)]
    pub version: Option<String>,
    /// Artifact deployed, e.g. an image digest `sha256:…` (required by the cdevents formats).
    #[arg(long)]
    pub artifact: Option<String>,
    /// A change shipped, `SHA@COMMITTED_AT` (RFC 3339); repeat for each.
    #[arg(long = "commit", value_name = "SHA@TIME")]
    pub commits: Vec<String>,
    /// A feature shipped; repeat for each.
    #[arg(long = "feature", value_name = "NAME")]
    pub features: Vec<String>,
    /// Id of the earlier deploy this one rolls back.
    #[arg(long)]
    pub rollback_of: Option<String>,
    /// Id of the incident this deploy is an unplanned fix for.
    #[arg(long)]
    pub fixes_incident: Option<String>,
    /// Where and how to publish.
    #[command(flatten)]
    pub target: Target,
}

/// `valuepulse emit incident`.
#[derive(Debug, Clone, clap::Args)]
pub struct IncidentArgs {
    /// Incident id, shared by its opened and resolved events [default for opened: generated, printed].
    #[arg(long)]
    pub id: Option<String>,
    /// Affected service (also the record key).
    #[arg(long)]
    pub service: String,
    /// Which of the two events this is.
    #[arg(long, value_enum)]
    pub status: IncidentStatusArg,
    /// Owning team.
    #[arg(long)]
    pub team: Option<String>,
    /// Environment [default: production].
    #[arg(long)]
    pub environment: Option<String>,
    /// Severity, e.g. sev2.
    #[arg(long)]
    pub severity: Option<String>,
    /// When the incident started, RFC 3339 [default for opened: now].
    #[arg(long)]
    pub opened_at: Option<String>,
    /// When it was resolved, RFC 3339 (resolved only).
    #[arg(long)]
    pub resolved_at: Option<String>,
    /// Id of the deploy that caused it.
    #[arg(long)]
    pub caused_by_deploy: Option<String>,
    /// Artifact running when it began, e.g. an image digest (for attribution).
    #[arg(long)]
    pub artifact: Option<String>,
    /// Where and how to publish.
    #[command(flatten)]
    pub target: Target,
}

/// Why `emit` failed, with its exit code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmitError {
    /// Bad flags or an event the daemon would reject (exit 64).
    #[error("invalid event: {0}")]
    Invalid(String),
    /// Bad configuration (exit 64).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The broker did not take the event (exit 69).
    #[error("{0}")]
    Delivery(String),
}

impl EmitError {
    /// Process exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            EmitError::Invalid(_) | EmitError::Config(_) => EXIT_USAGE,
            EmitError::Delivery(_) => EXIT_UNAVAILABLE,
        }
    }
}

fn invalid(msg: impl Into<String>) -> EmitError {
    EmitError::Invalid(msg.into())
}

/// An event ready to publish: validated, encoded, with its destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// Deploy, incident, work-item or response id (printed on success).
    pub id: String,
    /// Which topic it goes to.
    pub stream: Stream,
    /// Topic name.
    pub topic: String,
    /// Record key: the service (deploys, incidents), the item id (work
    /// items), the service or else the feature (responses).
    pub key: String,
    /// Value and headers.
    pub record: WireRecord,
}

/// A generated id: `<prefix>-<ms since epoch>-<8 hex digits>`.
fn generated_id(prefix: &str, now_ms: i64) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mix =
        xxhash_rust::xxh3::xxh3_64(format!("{nanos}/{}/{now_ms}", std::process::id()).as_bytes());
    format!("{prefix}-{now_ms}-{:08x}", mix as u32)
}

/// Checks a timestamp flag, naming it.
fn time_flag(flag: &str, value: &str) -> Result<(), EmitError> {
    parse_time(value)
        .map(drop)
        .map_err(|_| invalid(format!("{flag} {value:?} is not an RFC 3339 timestamp")))
}

/// The native v1 deploy described by the flags.
fn deploy_json(a: &DeployArgs, now_ms: i64) -> Result<(String, Value), EmitError> {
    let id = a.id.clone().unwrap_or_else(|| generated_id("d", now_ms));
    let finished_at = a.finished_at.clone().unwrap_or_else(|| format_time(now_ms));
    time_flag("--finished-at", &finished_at)?;
    if let Some(s) = &a.started_at {
        time_flag("--started-at", s)?;
    }
    let mut changes = Vec::new();
    for c in &a.commits {
        let Some((sha, at)) = c
            .split_once('@')
            .filter(|(s, a)| !s.is_empty() && !a.is_empty())
        else {
            return Err(invalid(format!(
                "--commit {c:?} is not SHA@COMMITTED_AT, e.g. 4be1c0d@2026-11-24T16:20:00Z"
            )));
        };
        time_flag(&format!("--commit {sha}@"), at)?;
        changes.push(ChangeV1 {
            id: Some(sha.into()),
            committed_at: at.into(),
        });
    }
    let status = match a.status {
        DeployStatusArg::Succeeded => DeployStatus::Succeeded,
        DeployStatusArg::Failed => DeployStatus::Failed,
        DeployStatusArg::RolledBack => DeployStatus::RolledBack,
    };
    let wire = DeployV1 {
        id: id.as_str().into(),
        service: a.service.as_str().into(),
        team: a.team.as_deref().map(Into::into),
        environment: a.environment.as_deref().map(Into::into),
        status: status.as_str().into(),
        finished_at: finished_at.into(),
        started_at: a.started_at.as_deref().map(Into::into),
        version: a.version.as_deref().map(Into::into),
        artifact: a.artifact.as_deref().map(Into::into),
        changes,
        features: a.features.iter().map(|f| f.as_str().into()).collect(),
        rollback_of: a.rollback_of.as_deref().map(Into::into),
        fixes_incident: a.fixes_incident.as_deref().map(Into::into),
        specversion: None,
    };
    let value = to_value(&wire);
    Ok((id, value))
}

/// The native v1 incident event described by the flags.
fn incident_json(a: &IncidentArgs, now_ms: i64) -> Result<(String, Value), EmitError> {
    let (status, opened_at) = match a.status {
        IncidentStatusArg::Opened => {
            if a.resolved_at.is_some() {
                return Err(invalid(
                    "--resolved-at belongs to --status resolved; an opening has none",
                ));
            }
            (
                "opened",
                a.opened_at.clone().unwrap_or_else(|| format_time(now_ms)),
            )
        }
        IncidentStatusArg::Resolved => {
            let mut missing: Vec<&str> = Vec::new();
            if a.id.is_none() {
                missing.push("--id (the id of the opened incident)");
            }
            if a.opened_at.is_none() {
                missing.push("--opened-at");
            }
            if a.resolved_at.is_none() {
                missing.push("--resolved-at");
            }
            if !missing.is_empty() {
                return Err(invalid(format!(
                    "--status resolved needs {}",
                    missing.join(", ")
                )));
            }
            ("resolved", a.opened_at.clone().unwrap_or_default())
        }
    };
    time_flag("--opened-at", &opened_at)?;
    if let Some(r) = &a.resolved_at {
        time_flag("--resolved-at", r)?;
    }
    let id = a.id.clone().unwrap_or_else(|| generated_id("inc", now_ms));
    let wire = IncidentV1 {
        id: id.as_str().into(),
        service: a.service.as_str().into(),
        team: a.team.as_deref().map(Into::into),
        environment: a.environment.as_deref().map(Into::into),
        status: status.into(),
        severity: a.severity.as_deref().map(Into::into),
        opened_at: opened_at.into(),
        resolved_at: a.resolved_at.as_deref().map(Into::into),
        caused_by_deploy: a.caused_by_deploy.as_deref().map(Into::into),
        artifact: a.artifact.as_deref().map(Into::into),
        specversion: None,
    };
    let value = to_value(&wire);
    Ok((id, value))
}

/// A wire event as the JSON value the encoder reads.
fn to_value(wire: &impl serde::Serialize) -> Value {
    serde_json::to_value(wire).expect("a wire event always serializes")
}

/// Explains a decoder verdict on an event built from flags.
fn explain(reason: InvalidReason) -> String {
    match reason {
        InvalidReason::EmptyField => "an id, --service or --environment is empty".into(),
        InvalidReason::NonPositiveLeadTime => {
            "a --commit time is not before the deploy's --finished-at".into()
        }
        InvalidReason::NegativeRestoreTime => "--resolved-at is before --opened-at".into(),
        InvalidReason::BadTimestamp => "a timestamp is not RFC 3339".into(),
        InvalidReason::OutOfRange => "--csat must be 1-5, --nps 0-10".into(),
        other => format!("the daemon would reject it ({})", other.as_str()),
    }
}

/// Builds, encodes and validates the event the command describes, against
/// `config` (topics, event size limit), at `now_ms`. Touches no network.
pub fn prepare(cmd: &EmitCommand, config: &Config, now_ms: i64) -> Result<Prepared, EmitError> {
    let target = cmd.target();
    let (stream, key, id, native) = match cmd {
        EmitCommand::Deploy(a) => {
            let (id, native) = deploy_json(a, now_ms)?;
            (Stream::Deploys, a.service.clone(), id, native)
        }
        EmitCommand::Incident(a) => {
            let (id, native) = incident_json(a, now_ms)?;
            (Stream::Incidents, a.service.clone(), id, native)
        }
        EmitCommand::WorkItem(a) => {
            let (id, native) = value::work_item_json(a, now_ms)?;
            (Stream::WorkItems, id.clone(), id, native)
        }
        EmitCommand::Satisfaction(a) => {
            let (id, key, native) = value::satisfaction_json(a, now_ms)?;
            (Stream::Satisfaction, key, id, native)
        }
    };
    let (format, spec, source) = (target.format, target.cdevents_spec, &target.source);
    let record = match cmd {
        EmitCommand::WorkItem(a) => {
            let event = a.ticket.unwrap_or_else(|| TicketEvent::infer(&native));
            encode_work_item(&native, format, spec, source, event)
        }
        _ => encode(stream, &native, format, spec, source, false),
    }
    .map_err(|e| invalid(e.to_string()))?;
    if record.payload.len() > config.limits.max_event_bytes {
        return Err(invalid(format!(
            "it is {} bytes, more than limits.max_event_bytes ({})",
            record.payload.len(),
            config.limits.max_event_bytes
        )));
    }
    match decode(stream, record.payload.as_bytes(), &record.decoder_headers()) {
        Ok(_) => {}
        Err(DecodeError::Invalid(reason)) => return Err(invalid(explain(reason))),
        Err(DecodeError::Unsupported) => {
            return Err(invalid("the daemon would not read this event type"));
        }
    }
    let topic = target
        .topic
        .clone()
        .unwrap_or_else(|| config.topics.of(stream).to_owned());
    Ok(Prepared {
        id,
        stream,
        topic,
        key,
        record,
    })
}

/// What the broker acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emitted {
    /// The event id.
    pub id: String,
    /// Topic written to.
    pub topic: String,
    /// Partition and offset of the record.
    pub partition: i32,
    /// Offset of the record.
    pub offset: i64,
}

/// Runs `valuepulse emit`: loads the configuration, prepares the event
/// (refusing an invalid one before any connection), produces it and waits
/// for the acknowledgement.
pub fn run(cmd: &EmitCommand) -> Result<Emitted, EmitError> {
    let target = cmd.target();
    let mut config =
        Config::load(target.config.as_deref()).map_err(|e| EmitError::Config(e.to_string()))?;
    if let Some(b) = &target.brokers {
        if b.trim().is_empty() {
            return Err(EmitError::Config("--brokers is empty".into()));
        }
        config.kafka.brokers = b.clone();
    }
    let now_ms = crate::app::system_clock();
    let prepared = prepare(cmd, &config, now_ms)?;
    let producer = producer(&config, target.timeout)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| EmitError::Delivery(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(send(&producer, &prepared, target.timeout))
}

/// A producer that waits for every in-sync replica (`acks=all`), idempotent,
/// giving up on a record after `timeout`.
fn producer(config: &Config, timeout: Duration) -> Result<FutureProducer, EmitError> {
    let mut c = ClientConfig::new();
    for (k, v) in &config.kafka.properties {
        c.set(k, v);
    }
    let ms = timeout.as_millis().clamp(1, i32::MAX as u128).to_string();
    c.set("bootstrap.servers", &config.kafka.brokers)
        .set("client.id", format!("{}-emit", config.kafka.client_id))
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("message.timeout.ms", &ms)
        .set_log_level(rdkafka::config::RDKafkaLogLevel::Error);
    c.create().map_err(|e| {
        let (key, why) =
            crate::config::secrets::describe_client_error(&e, &config.kafka.properties);
        EmitError::Config(format!("{key}: {why}"))
    })
}

async fn send(
    producer: &FutureProducer,
    p: &Prepared,
    timeout: Duration,
) -> Result<Emitted, EmitError> {
    let mut headers = OwnedHeaders::new_with_capacity(p.record.headers.len());
    for (k, v) in &p.record.headers {
        headers = headers.insert(Header {
            key: k,
            value: Some(v.as_bytes()),
        });
    }
    let record = FutureRecord::to(&p.topic)
        .key(p.key.as_str())
        .payload(p.record.payload.as_str())
        .headers(headers);
    let not_acked = |why: String| {
        EmitError::Delivery(format!(
            "the broker did not acknowledge {} on topic {} within {}: {why} (is the broker reachable, and does the topic exist?)",
            p.id,
            p.topic,
            humantime::format_duration(timeout)
        ))
    };
    // librdkafka gives up after message.timeout.ms; the outer bound only
    // guards against a report that never comes.
    let delivery = tokio::time::timeout(
        timeout + Duration::from_secs(5),
        producer.send(record, timeout),
    )
    .await
    .map_err(|_| not_acked("no delivery report".into()))?;
    match delivery {
        Ok(d) => Ok(Emitted {
            id: p.id.clone(),
            topic: p.topic.clone(),
            partition: d.partition,
            offset: d.offset,
        }),
        Err((e, _)) => Err(not_acked(e.to_string())),
    }
}

#[cfg(test)]
mod tests;
