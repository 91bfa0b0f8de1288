//! Encoding of one event as native v1 JSON or as a CDEvent in a CloudEvent
//! (structured or Kafka binary mode); also used by `valuepulse demo`.

use serde_json::{Map, Value, json};

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
    /// Not a native deploy or incident.
    #[error("not a native event: {0} is missing")]
    Missing(&'static str),
}

/// Encodes a native v1 deploy or incident (as JSON) in `format`. CDEvents
/// follow the mapping the decoder reads (see [`crate::ingest::decode::cdevents`]):
/// a deploy becomes `service.deployed` (`service.upgraded` when `upgraded`),
/// or `service.rolledback` when it has `rollback_of`; an incident
/// `incident.detected` or `incident.resolved`. What CDEvents cannot say goes
/// to `customData` under the native names.
pub fn encode(
    stream: Stream,
    native: &Value,
    format: Format,
    spec: CdSpec,
    source: &str,
    upgraded: bool,
) -> Result<WireRecord, EncodeError> {
    if format == Format::Native {
        return Ok(WireRecord {
            payload: native.to_string(),
            headers: Vec::new(),
        });
    }
    let ce = cloudevent(stream, native, spec, source, upgraded)?;
    Ok(match format {
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
    })
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
    let (ty, context_id, subject_id, time, content, custom) = match stream {
        Stream::Deploys => {
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
        }
        _ => {
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
        }
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

// ---------------------------------------------------------------------------
// The command line.
