//! Encoding of one event as native v1 JSON or as a CDEvent in a CloudEvent
//! (structured or Kafka binary mode): deploys, incidents and work items
//! (as tickets); also used by `valuepulse demo`.

use serde_json::{Map, Value, json};

use crate::domain::FlowCategory;
use crate::domain::flow::{StateMap, normalize};
use crate::ingest::Stream;
use crate::ingest::decode::Headers;
use crate::ingest::decode::cdevents::{CLOUDEVENTS_JSON, CLOUDEVENTS_SPECVERSION};

/// CloudEvents/CDEvents `source` of emitted events unless `--source` says.
pub const DEFAULT_SOURCE: &str = "/valuepulse/emit";

/// How an event is written to Kafka.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Native v1 JSON.
    Native,
    /// A CDEvent in a CloudEvent, structured content mode
    /// (`content-type: application/cloudevents+json`).
    CdeventsStructured,
    /// A CDEvent in a CloudEvent, Kafka binary content mode (`ce_*`
    /// headers, the CDEvent in the value).
    CdeventsBinary,
}

/// CDEvents spec version written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CdSpec {
    /// v0.4 (`context.version: 0.4.1`, types `….0.2.0`).
    #[value(name = "0.4")]
    V0_4,
    /// v0.5 (`context.specversion: 0.5.0`, types `….0.3.0`).
    #[value(name = "0.5")]
    V0_5,
}

impl CdSpec {
    /// The context's version key and value.
    fn context_version(self) -> (&'static str, &'static str) {
        match self {
            CdSpec::V0_4 => ("version", "0.4.1"),
            CdSpec::V0_5 => ("specversion", "0.5.0"),
        }
    }

    /// Version of the service and incident event types in this spec.
    fn type_version(self) -> &'static str {
        match self {
            CdSpec::V0_4 => "0.2.0",
            CdSpec::V0_5 => "0.3.0",
        }
    }

    /// Version of the ticket event types in this spec (tickets came in
    /// v0.4).
    fn ticket_type_version(self) -> &'static str {
        match self {
            CdSpec::V0_4 => "0.1.0",
            CdSpec::V0_5 => "0.2.0",
        }
    }
}

/// Which CDEvents ticket event a work-item transition is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TicketEvent {
    /// `ticket.created` (needs a summary; the creator is `valuepulse`).
    Created,
    /// `ticket.updated`.
    Updated,
    /// `ticket.closed` (its resolution is the state).
    Closed,
}

impl TicketEvent {
    /// The event a native work item reads as: `closed` when its category,
    /// or else its state by the default state mapping, is done; `created`
    /// for the state `created`; else `updated`.
    pub fn infer(native: &Value) -> TicketEvent {
        let state = text(native, "state").unwrap_or_default();
        let category = text(native, "category")
            .and_then(FlowCategory::from_name)
            .or_else(|| StateMap::default().category(state));
        if category == Some(FlowCategory::Done) {
            TicketEvent::Closed
        } else if normalize(state) == "created" {
            TicketEvent::Created
        } else {
            TicketEvent::Updated
        }
    }

    fn predicate(self) -> &'static str {
        match self {
            TicketEvent::Created => "created",
            TicketEvent::Updated => "updated",
            TicketEvent::Closed => "closed",
        }
    }
}

/// One Kafka record, ready to produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireRecord {
    /// Record value.
    pub payload: String,
    /// Record headers, in order.
    pub headers: Vec<(String, String)>,
}

impl WireRecord {
    /// The headers as the decoder reads them.
    pub fn decoder_headers(&self) -> Headers<'_> {
        Headers::from_pairs(self.headers.iter().map(|(k, v)| (k.as_str(), v.as_bytes())))
    }
}

/// Why an event has no CDEvents form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// CDEvents has no event for this deploy status.
    #[error(
        "CDEvents has no event for a {0} deploy (service.deployed means it succeeded); send it with --format native"
    )]
    Status(String),
    /// The CDEvents service events require `artifactId`.
    #[error("a CDEvents service event needs the artifact deployed (--artifact)")]
    NoArtifact,
    /// Not a native deploy, incident or work item.
    #[error("not a native event: {0} is missing")]
    Missing(&'static str),
    /// No CDEvents type carries this kind of event.
    #[error("CDEvents has no event for {0}; send it with --format native")]
    NoCdEvent(&'static str),
}

/// Encodes a native v1 event (as JSON) in `format`. CDEvents follow the
/// mapping the decoder reads (see [`crate::ingest::decode::cdevents`]):
/// a deploy becomes `service.deployed` (`service.upgraded` when `upgraded`),
/// or `service.rolledback` when it has `rollback_of`; an incident
/// `incident.detected` or `incident.resolved`; a work item the ticket event
/// [`TicketEvent::infer`] picks (see [`encode_work_item`] to choose it).
/// What CDEvents cannot say goes to `customData` under the native names.
/// Feature usage and satisfaction responses have no CDEvents form.
pub fn encode(
    stream: Stream,
    native: &Value,
    format: Format,
    spec: CdSpec,
    source: &str,
    upgraded: bool,
) -> Result<WireRecord, EncodeError> {
    if format == Format::Native {
        return Ok(native_record(native));
    }
    let ce = match stream {
        Stream::WorkItems => ticket(native, spec, source, TicketEvent::infer(native))?,
        Stream::FeatureUsage => return Err(EncodeError::NoCdEvent("a feature usage")),
        Stream::Satisfaction => {
            return Err(EncodeError::NoCdEvent("a satisfaction response"));
        }
        Stream::Changes => return Err(EncodeError::NoCdEvent("a pushed commit")),
        Stream::Deploys | Stream::Incidents => cloudevent(stream, native, spec, source, upgraded)?,
    };
    Ok(frame(ce, format, source))
}

/// Encodes a native v1 work-item transition in `format`, as the ticket
/// event `event` when a CDEvents format: state, category, service, team,
/// environment and links go to `customData`.
pub fn encode_work_item(
    native: &Value,
    format: Format,
    spec: CdSpec,
    source: &str,
    event: TicketEvent,
) -> Result<WireRecord, EncodeError> {
    if format == Format::Native {
        return Ok(native_record(native));
    }
    Ok(frame(ticket(native, spec, source, event)?, format, source))
}

fn native_record(native: &Value) -> WireRecord {
    WireRecord {
        payload: native.to_string(),
        headers: Vec::new(),
    }
}

/// A CloudEvent in structured or binary mode.
fn frame(ce: CloudEvent, format: Format, source: &str) -> WireRecord {
    match format {
        Format::CdeventsStructured => WireRecord {
            payload: json!({
                "specversion": CLOUDEVENTS_SPECVERSION,
                "id": ce.id,
                "source": source,
                "type": ce.ty,
                "subject": ce.subject,
                "time": ce.time,
                "datacontenttype": "application/json",
                "data": ce.data,
            })
            .to_string(),
            headers: vec![("content-type".into(), CLOUDEVENTS_JSON.into())],
        },
        _ => WireRecord {
            payload: ce.data.to_string(),
            headers: vec![
                ("ce_specversion".into(), CLOUDEVENTS_SPECVERSION.into()),
                ("ce_id".into(), ce.id),
                ("ce_source".into(), source.into()),
                ("ce_type".into(), ce.ty),
                ("ce_subject".into(), ce.subject),
                ("ce_time".into(), ce.time),
                ("content-type".into(), "application/json".into()),
            ],
        },
    }
}

/// A CloudEvent's attributes and its data, the CDEvent.
struct CloudEvent {
    id: String,
    ty: String,
    subject: String,
    time: String,
    data: Value,
}

fn text<'v>(native: &'v Value, key: &'static str) -> Option<&'v str> {
    native.get(key).and_then(Value::as_str)
}

fn required<'v>(native: &'v Value, key: &'static str) -> Result<&'v str, EncodeError> {
    text(native, key).ok_or(EncodeError::Missing(key))
}

/// Copies the present `keys` of `native` into `customData`.
fn custom_data(native: &Value, keys: &[&str]) -> Map<String, Value> {
    keys.iter()
        .filter_map(|k| {
            native
                .get(*k)
                .filter(|v| !v.is_null())
                .map(|v| ((*k).to_owned(), v.clone()))
        })
        .collect()
}

fn cloudevent(
    stream: Stream,
    native: &Value,
    spec: CdSpec,
    source: &str,
    upgraded: bool,
) -> Result<CloudEvent, EncodeError> {
    let (version_key, version) = spec.context_version();
    let environment = text(native, "environment").unwrap_or("production");
    let service = required(native, "service")?;
    let id = required(native, "id")?;
    let (ty, context_id, subject_id, time, content, custom) = if stream == Stream::Deploys {
        let status = required(native, "status")?;
        if status != "succeeded" {
            return Err(EncodeError::Status(status.to_owned()));
        }
        let artifact = text(native, "artifact").ok_or(EncodeError::NoArtifact)?;
        let predicate = if native.get("rollback_of").is_some_and(|v| !v.is_null()) {
            "rolledback"
        } else if upgraded {
            "upgraded"
        } else {
            "deployed"
        };
        let content = json!({
            "artifactId": purl(artifact, service),
            "environment": {"id": environment},
        });
        let custom = custom_data(
            native,
            &[
                "team",
                "changes",
                "features",
                "started_at",
                "version",
                "rollback_of",
                "fixes_incident",
            ],
        );
        (
            format!("service.{predicate}"),
            id.to_owned(),
            service,
            required(native, "finished_at")?,
            content,
            custom,
        )
    } else {
        let resolved = required(native, "status")? == "resolved";
        let mut content = json!({
            "environment": {"id": environment},
            "service": {"id": service},
        });
        if let Some(a) = text(native, "artifact") {
            content["artifactId"] = json!(purl(a, service));
        }
        let mut keys = vec!["team", "severity", "caused_by_deploy"];
        if resolved {
            keys.push("opened_at");
        }
        let (predicate, time) = if resolved {
            ("resolved", required(native, "resolved_at")?)
        } else {
            ("detected", required(native, "opened_at")?)
        };
        (
            format!("incident.{predicate}"),
            format!("{id}.{predicate}"),
            id,
            time,
            content,
            custom_data(native, &keys),
        )
    };
    let ty = format!("dev.cdevents.{ty}.{}", spec.type_version());
    let mut data = json!({
        "context": {
            version_key: version,
            "id": context_id,
            "source": source,
            "type": ty,
            "timestamp": time,
        },
        "subject": {
            "id": subject_id,
            "source": source,
            "content": content,
        },
    });
    if !custom.is_empty() {
        data["customData"] = Value::Object(custom);
    }
    Ok(CloudEvent {
        id: context_id,
        ty,
        subject: subject_id.to_owned(),
        time: time.to_owned(),
        data,
    })
}

/// A work-item transition as a CDEvents ticket event. The ticket's own
/// fields get what the native event has (`summary`, `uri`, `group` from
/// `summary`, `uri`, `team` when given, else the id, `tickets/<id>` and
/// nothing; `creator` `valuepulse` on a created ticket, `resolution` the
/// state on a closed one); the flow fields go to `customData`.
fn ticket(
    native: &Value,
    spec: CdSpec,
    source: &str,
    event: TicketEvent,
) -> Result<CloudEvent, EncodeError> {
    let (version_key, version) = spec.context_version();
    let id = required(native, "id")?;
    required(native, "service")?;
    let state = required(native, "state")?;
    let time = required(native, "at")?;
    let mut content = Map::new();
    content.insert(
        "uri".into(),
        json!(text(native, "uri").map_or_else(|| format!("tickets/{id}"), str::to_owned)),
    );
    if let Some(team) = text(native, "team") {
        content.insert("group".into(), json!(team));
    }
    match event {
        TicketEvent::Created => {
            content.insert(
                "summary".into(),
                json!(text(native, "summary").unwrap_or(id)),
            );
            content.insert("creator".into(), json!("valuepulse"));
        }
        TicketEvent::Updated => {
            if let Some(summary) = text(native, "summary") {
                content.insert("summary".into(), json!(summary));
            }
        }
        TicketEvent::Closed => {
            content.insert("resolution".into(), json!(state));
        }
    }
    let custom = custom_data(
        native,
        &[
            "service",
            "team",
            "state",
            "category",
            "environment",
            "changes",
            "deploys",
        ],
    );
    let context_id = format!("{id}@{time}");
    let ty = format!(
        "dev.cdevents.ticket.{}.{}",
        event.predicate(),
        spec.ticket_type_version()
    );
    Ok(CloudEvent {
        id: context_id.clone(),
        ty: ty.clone(),
        subject: id.to_owned(),
        time: time.to_owned(),
        data: json!({
            "context": {
                version_key: version,
                "id": context_id,
                "source": source,
                "type": ty,
                "timestamp": time,
            },
            "subject": {
                "id": id,
                "source": source,
                "content": Value::Object(content),
            },
            "customData": Value::Object(custom),
        }),
    })
}

/// The CDEvents `artifactId` (a purl) of a native artifact: an OCI digest
/// `sha256:…` becomes `pkg:oci/<service>@sha256%3A…`, which the decoder
/// normalises back to the digest; anything else is written as it is.
pub fn purl(artifact: &str, service: &str) -> String {
    match artifact.split_once(':') {
        Some((alg, hex))
            if !artifact.starts_with("pkg:")
                && !alg.is_empty()
                && alg
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                && !hex.is_empty()
                && hex.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            let name: String = service
                .to_ascii_lowercase()
                .bytes()
                .map(|b| match b {
                    b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-' => (b as char).to_string(),
                    _ => format!("%{b:02X}"),
                })
                .collect();
            format!("pkg:oci/{name}@{alg}%3A{hex}")
        }
        _ => artifact.to_owned(),
    }
}
