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
//!
//! This file prepares and runs the command. The flags are in `args.rs`; the
//! native event they describe is built in `native.rs`, on the wire types of
//! [`crate::ingest::decode::wire`]; the CDEvents encoding is [`encode`]; the
//! producer is in `produce.rs`.

use crate::config::Config;
use crate::domain::event::InvalidReason;
use crate::ingest::Stream;
use crate::ingest::decode::{DecodeError, decode};

mod args;
mod encode;
mod native;
mod produce;

pub use args::{
    CategoryArg, DeployArgs, DeployStatusArg, EmitCommand, IncidentArgs, IncidentStatusArg,
    SatisfactionArgs, Target, WorkItemArgs,
};
pub use encode::{
    CdSpec, DEFAULT_SOURCE, EncodeError, Format, TicketEvent, WireRecord, encode, encode_work_item,
    purl,
};
pub use produce::Emitted;

/// Exit code of an invalid event, bad flags or configuration (`EX_USAGE`).
pub const EXIT_USAGE: u8 = 64;
/// Exit code when the broker did not acknowledge the event (`EX_UNAVAILABLE`).
pub const EXIT_UNAVAILABLE: u8 = 69;

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
            let (id, native) = native::deploy_json(a, now_ms)?;
            (Stream::Deploys, a.service.clone(), id, native)
        }
        EmitCommand::Incident(a) => {
            let (id, native) = native::incident_json(a, now_ms)?;
            (Stream::Incidents, a.service.clone(), id, native)
        }
        EmitCommand::WorkItem(a) => {
            let (id, native) = native::work_item_json(a, now_ms)?;
            (Stream::WorkItems, id.clone(), id, native)
        }
        EmitCommand::Satisfaction(a) => {
            let (id, key, native) = native::satisfaction_json(a, now_ms)?;
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
        config.kafka.brokers.clone_from(b);
    }
    let now_ms = crate::clock::now_millis();
    let prepared = prepare(cmd, &config, now_ms)?;
    let producer = produce::producer(&config, target.timeout)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| EmitError::Delivery(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(produce::send(&producer, &prepared, target.timeout))
}

#[cfg(test)]
mod tests;
