//! CDEvents carried as CloudEvents over Kafka, mapped to domain events.
//!
//! Two framings of the CloudEvents Kafka protocol binding are read:
//!
//! - **structured** content mode: the record value is a CloudEvent in the
//!   JSON event format (`specversion`, `type`, `id`, `source`, …) whose
//!   `data` is the CDEvent, a JSON object;
//! - **binary** content mode: the CloudEvents attributes are `ce_*` headers
//!   and the record value is the CDEvent itself (`content-type` gives its
//!   media type).
//!
//! The CDEvent (spec v0.3 to v0.5: any version of the types below) is then
//! mapped, by its own `context.type`, to the same domain events as native v1:
//!
//! | topic | CDEvents type | domain event |
//! |---|---|---|
//! | deploys | `dev.cdevents.service.deployed`, `.upgraded` | succeeded deploy |
//! | deploys | `dev.cdevents.service.rolledback` | succeeded deploy with `rollback_of` (from `customData`, required) |
//! | incidents | `dev.cdevents.incident.detected`, `.reported` | incident opened |
//! | incidents | `dev.cdevents.incident.resolved` | incident resolved; its opening time from `customData.opened_at`, else unknown (DORA state pairs it with its opening by id and source) |
//! | work-items | `dev.cdevents.ticket.created` | work-item transition, state `customData.state` or `created` |
//! | work-items | `dev.cdevents.ticket.updated` | work-item transition, state `customData.state` (or the category's name); without either it says no state change: `unsupported` |
//! | work-items | `dev.cdevents.ticket.closed` | work-item transition, state `customData.state` or `closed`, category `done` unless `customData.category` says otherwise |
//!
//! A ticket (spec v0.4+) has no service, no team and no workflow state,
//! only a summary, a `group`, assignees, labels and, when closed, a
//! resolution. `customData` carries `service` (required), `team` (else the
//! ticket's `group`), `state`, `category` (`active` | `waiting` | `done`),
//! `environment`, `changes` (commit ids) and `deploys` (deploy ids).
//!
//! Any other CloudEvents or CDEvents type is [`DecodeError::Unsupported`],
//! decided from the CloudEvents `type` before the data is read (the CDEvents
//! binding makes it equal to the CDEvent's `context.type`, which then picks
//! the mapping).
//! CDEvents carries no commits, features or team, its rollback does not
//! say which deploy it replaced, and its tickets have no service or state,
//! so those come from `customData` under their native names. Decoding stays stateless: nothing here looks at earlier
//! events. Text is borrowed from the record value wherever it has no escapes.
//! `custom_data.rs` reads `customData`; `ticket.rs` maps tickets to work
//! items.

mod custom_data;
mod ticket;

use std::borrow::Cow;

use serde::Deserialize;
use serde::de::IgnoredAny;

use custom_data::{CustomData, custom_data, deploy_changes};

use super::json::{DEFAULT_ENVIRONMENT, Text, check_object, classify, cow, parse_time};
use super::types::{DecodeError, Headers};
use crate::domain::event::InvalidReason;
use crate::domain::{Deploy, DeployStatus, Event, Incident, IncidentStatus};
use crate::ingest::Stream;

/// Media type of a CloudEvent in the JSON event format (structured mode).
pub const CLOUDEVENTS_JSON: &str = "application/cloudevents+json";
/// The only CloudEvents version read.
pub const CLOUDEVENTS_SPECVERSION: &str = "1.0";
/// Prefix of every CDEvents type.
pub const CDEVENTS_TYPE_PREFIX: &str = "dev.cdevents.";
/// `linkKind` of a CDEvents `RELATION` link from a deploy to the incident it
/// fixes (an alternative to `customData.fixes_incident`).
pub const FIXES_LINK_KIND: &str = "FIXES";

/// The media type of a content type: before any `;` parameter, trimmed.
pub(super) fn media_type(ct: &[u8]) -> &[u8] {
    let end = ct.iter().position(|&b| b == b';').unwrap_or(ct.len());
    ct[..end].trim_ascii()
}

pub(super) fn starts_with_ignore_case(s: &[u8], prefix: &[u8]) -> bool {
    s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// Whether a data content type is JSON (`application/json`, or any `+json`
/// suffix such as `application/cdevents+json`).
fn is_json(ct: &[u8]) -> bool {
    let media = media_type(ct);
    media.eq_ignore_ascii_case(b"application/json")
        || (media.len() > 5 && media[media.len() - 5..].eq_ignore_ascii_case(b"+json"))
}

/// A CDEvents type split into its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CdType<'t> {
    /// e.g. `service`, `incident`.
    pub subject: &'t str,
    /// e.g. `deployed`, `resolved`.
    pub predicate: &'t str,
    /// The event type's own version (`0.2.0` in spec v0.4, `0.3.0` in v0.5),
    /// when given.
    pub version: Option<&'t str>,
}

/// Splits `dev.cdevents.<subject>.<predicate>[.<version>]`; `None` when it
/// is not a CDEvents type.
pub fn parse_type(ty: &str) -> Option<CdType<'_>> {
    let rest = ty.strip_prefix(CDEVENTS_TYPE_PREFIX)?;
    let mut parts = rest.splitn(3, '.');
    let subject = parts.next().filter(|s| !s.is_empty())?;
    let predicate = parts.next().filter(|s| !s.is_empty())?;
    Some(CdType {
        subject,
        predicate,
        version: parts.next(),
    })
}

/// What a CDEvents type becomes on a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mapping {
    /// A succeeded deploy; `rollback` when it is a `service.rolledback`.
    Deploy { rollback: bool },
    /// An incident event.
    Incident(IncidentStatus),
    /// A work-item transition from a ticket event.
    Ticket(ticket::Ticket),
}

fn mapping(stream: Stream, t: &CdType<'_>) -> Option<Mapping> {
    match (stream, t.subject, t.predicate) {
        (Stream::Deploys, "service", "deployed" | "upgraded") => {
            Some(Mapping::Deploy { rollback: false })
        }
        (Stream::Deploys, "service", "rolledback") => Some(Mapping::Deploy { rollback: true }),
        (Stream::Incidents, "incident", "detected" | "reported") => {
            Some(Mapping::Incident(IncidentStatus::Opened))
        }
        (Stream::Incidents, "incident", "resolved") => {
            Some(Mapping::Incident(IncidentStatus::Resolved))
        }
        (Stream::WorkItems, "ticket", "created") => Some(Mapping::Ticket(ticket::Ticket::Created)),
        (Stream::WorkItems, "ticket", "updated") => Some(Mapping::Ticket(ticket::Ticket::Updated)),
        (Stream::WorkItems, "ticket", "closed") => Some(Mapping::Ticket(ticket::Ticket::Closed)),
        _ => None,
    }
}

/// Whether a CloudEvents `type` is one valuepulse reads on `stream`.
pub fn is_supported(stream: Stream, ty: &str) -> bool {
    parse_type(ty).is_some_and(|t| mapping(stream, &t).is_some())
}

/// Reduces an artifact id to the identity native events use, so both
/// formats name an artifact the same way:
///
/// - a purl whose version is a digest (`pkg:oci/checkout@sha256%3A9f2c…`)
///   becomes the digest, percent-decoded: `sha256:9f2c…`;
/// - any other purl loses its qualifiers and subpath
///   (`pkg:npm/left-pad@1.3.0?x=y` → `pkg:npm/left-pad@1.3.0`);
/// - anything else (a bare digest, a tag) is kept as it is.
pub fn normalize_artifact(id: Cow<'_, str>) -> Cow<'_, str> {
    if !id.starts_with("pkg:") {
        return id;
    }
    let end = id.find(['?', '#']).unwrap_or(id.len());
    let core = &id[..end];
    if let Some((_, version)) = core.rsplit_once('@') {
        let decoded = percent_decode(version);
        if is_digest(&decoded) {
            return Cow::Owned(decoded.into_owned());
        }
    }
    if end == id.len() {
        return id;
    }
    match id {
        Cow::Borrowed(s) => Cow::Borrowed(&s[..end]),
        Cow::Owned(mut s) => {
            s.truncate(end);
            Cow::Owned(s)
        }
    }
}

/// An OCI-style digest: `algorithm:encoded`, e.g. `sha256:9f2c…`.
fn is_digest(s: &str) -> bool {
    let Some((alg, encoded)) = s.split_once(':') else {
        return false;
    };
    let alg_ok = !alg.is_empty()
        && alg.split(['+', '.', '_', '-']).all(|c| {
            !c.is_empty()
                && c.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
    let encoded_ok = !encoded.is_empty()
        && encoded
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'=' | b'_' | b'-'));
    alg_ok && encoded_ok
}

/// `%XX` escapes decoded; the input when it has none (or is malformed).
fn percent_decode(s: &str) -> Cow<'_, str> {
    if !s.contains('%') {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match hex {
                Some(v) => {
                    out.push(v);
                    i += 3;
                    continue;
                }
                None => return Cow::Borrowed(s),
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).map_or(Cow::Borrowed(s), Cow::Owned)
}

/// A structured-mode CloudEvent's attributes (its `data` is read in a
/// second pass, only when the type is one valuepulse reads).
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    specversion: Option<Text<'a>>,
    #[serde(borrow, default)]
    id: Option<Text<'a>>,
    #[serde(borrow, default)]
    source: Option<Text<'a>>,
    #[serde(borrow, default, rename = "type")]
    ty: Option<Text<'a>>,
    #[serde(borrow, default)]
    datacontenttype: Option<Text<'a>>,
    #[serde(default)]
    data: Option<IgnoredAny>,
    #[serde(default)]
    data_base64: Option<IgnoredAny>,
}

/// The `data` of a structured-mode CloudEvent holding a CDEvent.
#[derive(Deserialize)]
struct WithData<'a> {
    #[serde(borrow)]
    data: CdEvent<'a>,
}

/// A CDEvent, as far as valuepulse reads it. Unknown fields are ignored.
#[derive(Deserialize)]
struct CdEvent<'a> {
    #[serde(borrow)]
    context: CdContext<'a>,
    #[serde(borrow)]
    subject: CdSubject<'a>,
    #[serde(
        borrow,
        default,
        rename = "customData",
        deserialize_with = "custom_data"
    )]
    custom_data: Option<CustomData<'a>>,
}

#[derive(Deserialize)]
struct CdContext<'a> {
    /// The CDEvents spec version up to v0.4 (`0.4.1`).
    #[serde(borrow, default)]
    version: Option<Text<'a>>,
    /// The CDEvents spec version from v0.5 (`0.5.0`).
    #[serde(borrow, default)]
    specversion: Option<Text<'a>>,
    #[serde(borrow)]
    id: Text<'a>,
    #[serde(borrow, default)]
    source: Option<Text<'a>>,
    #[serde(borrow, rename = "type")]
    ty: Text<'a>,
    #[serde(borrow)]
    timestamp: Text<'a>,
    #[serde(borrow, default)]
    links: Option<Vec<Link<'a>>>,
}

/// An embedded link (v0.4+). Only `RELATION` links of kind [`FIXES_LINK_KIND`]
/// are used.
#[derive(Deserialize)]
struct Link<'a> {
    #[serde(borrow, default, rename = "linkType")]
    link_type: Option<Text<'a>>,
    #[serde(borrow, default, rename = "linkKind")]
    link_kind: Option<Text<'a>>,
    #[serde(borrow, default)]
    target: Option<LinkTarget<'a>>,
}

#[derive(Deserialize)]
struct LinkTarget<'a> {
    #[serde(borrow, default, rename = "contextId")]
    context_id: Option<Text<'a>>,
}

#[derive(Deserialize)]
struct CdSubject<'a> {
    #[serde(borrow)]
    id: Text<'a>,
    /// Defaults to the context's `source` (CDEvents spec).
    #[serde(borrow, default)]
    source: Option<Text<'a>>,
    #[serde(borrow, default)]
    content: Option<Content<'a>>,
}

/// `subject.content` of the service, incident and ticket subjects.
#[derive(Deserialize, Default)]
struct Content<'a> {
    #[serde(borrow, default)]
    environment: Option<Reference<'a>>,
    #[serde(borrow, default)]
    service: Option<Reference<'a>>,
    #[serde(borrow, default, rename = "artifactId")]
    artifact_id: Option<Text<'a>>,
    /// A ticket's group (a team, a board): its team unless
    /// `customData.team` says.
    #[serde(borrow, default)]
    group: Option<Text<'a>>,
}

/// A reference to another subject (`{"id": "production", "source": …}`).
#[derive(Deserialize)]
struct Reference<'a> {
    #[serde(borrow)]
    id: Text<'a>,
}

/// Decodes a structured-mode CloudEvent (JSON event format).
pub fn decode_structured(stream: Stream, payload: &[u8]) -> Result<Event<'_>, DecodeError> {
    check_object(payload)?;
    let env: Envelope<'_> = serde_json::from_slice(payload).map_err(|e| classify(&e))?;
    let specversion = env.specversion.ok_or(InvalidReason::MissingField)?;
    let ty = env.ty.ok_or(InvalidReason::MissingField)?;
    if env.id.is_none() || env.source.is_none() {
        return Err(InvalidReason::MissingField.into());
    }
    if specversion.0 != CLOUDEVENTS_SPECVERSION || !is_supported(stream, &ty.0) {
        return Err(DecodeError::Unsupported);
    }
    if let Some(ct) = &env.datacontenttype
        && !is_json(ct.0.as_bytes())
    {
        return Err(InvalidReason::WrongType.into());
    }
    match (env.data, env.data_base64) {
        (Some(_), _) => {}
        // CDEvents data is JSON, never base64.
        (None, Some(_)) => return Err(InvalidReason::WrongType.into()),
        (None, None) => return Err(InvalidReason::MissingField.into()),
    }
    let w: WithData<'_> = serde_json::from_slice(payload).map_err(|e| classify(&e))?;
    to_event(stream, w.data)
}

/// Decodes a binary-mode CloudEvent: attributes in `ce_*` headers, the
/// CDEvent in the value.
pub fn decode_binary<'a>(
    stream: Stream,
    headers: &Headers<'_>,
    payload: &'a [u8],
) -> Result<Event<'a>, DecodeError> {
    let text = |h: Option<&[u8]>| -> Result<String, InvalidReason> {
        let v = h.ok_or(InvalidReason::MissingField)?;
        std::str::from_utf8(v)
            .map(str::to_owned)
            .map_err(|_| InvalidReason::WrongType)
    };
    let specversion = text(headers.ce_specversion)?;
    let ty = text(headers.ce_type)?;
    if headers.ce_id.is_none() || headers.ce_source.is_none() {
        return Err(InvalidReason::MissingField.into());
    }
    if specversion != CLOUDEVENTS_SPECVERSION || !is_supported(stream, &ty) {
        return Err(DecodeError::Unsupported);
    }
    if let Some(ct) = headers.content_type
        && !is_json(ct)
    {
        return Err(InvalidReason::WrongType.into());
    }
    if payload.iter().all(u8::is_ascii_whitespace) {
        // A binary-mode CloudEvent without data.
        return Err(InvalidReason::MissingField.into());
    }
    check_object(payload)?;
    let ev: CdEvent<'a> = serde_json::from_slice(payload).map_err(|e| classify(&e))?;
    to_event(stream, ev)
}

/// Maps a CDEvent to the domain event its type stands for on `stream`.
fn to_event(stream: Stream, ev: CdEvent<'_>) -> Result<Event<'_>, DecodeError> {
    if ev.context.version.is_none() && ev.context.specversion.is_none() {
        return Err(InvalidReason::MissingField.into());
    }
    let m = parse_type(&ev.context.ty.0)
        .and_then(|t| mapping(stream, &t))
        .ok_or(DecodeError::Unsupported)?;
    let at = parse_time(&ev.context.timestamp.0)?;
    let custom = ev.custom_data.unwrap_or_default();
    let content = ev.subject.content.unwrap_or_default();
    let environment = content
        .environment
        .map_or(Cow::Borrowed(DEFAULT_ENVIRONMENT), |e| e.id.0);
    let artifact = content.artifact_id.map(|a| normalize_artifact(a.0));
    match m {
        Mapping::Deploy { rollback } => {
            let rollback_of = cow(custom.rollback_of);
            if rollback && rollback_of.is_none() {
                // The decoder is stateless: it cannot look up which deploy
                // the rollback replaced.
                return Err(InvalidReason::MissingField.into());
            }
            if let Some(t) = &custom.started_at {
                parse_time(&t.0)?;
            }
            let changes = deploy_changes(custom.changes)?;
            let fixes_incident =
                cow(custom.fixes_incident).or_else(|| fixes_link(ev.context.links));
            let d = Deploy {
                id: ev.context.id.0,
                service: ev.subject.id.0,
                team: cow(custom.team),
                environment,
                status: DeployStatus::Succeeded,
                finished_at: at,
                artifact,
                changes,
                features: custom.features.into_iter().map(|t| t.0).collect(),
                rollback_of,
                fixes_incident,
                repository: None,
                revision: None,
            };
            d.validate()?;
            Ok(Event::Deploy(d))
        }
        Mapping::Incident(status) => {
            let service = content.service.ok_or(InvalidReason::MissingField)?.id.0;
            let opened = custom.opened_at.map(|t| parse_time(&t.0)).transpose()?;
            // A resolution without `customData.opened_at` is kept with an
            // unknown opening: DORA state pairs it with its opening.
            let (opened_at, resolved_at) = match status {
                IncidentStatus::Opened => (Some(opened.unwrap_or(at)), None),
                IncidentStatus::Resolved => (opened, Some(at)),
            };
            let i = Incident {
                id: ev.subject.id.0,
                service,
                team: cow(custom.team),
                environment,
                status,
                opened_at,
                resolved_at,
                source: cow(ev.subject.source).or_else(|| cow(ev.context.source)),
                caused_by_deploy: cow(custom.caused_by_deploy),
                artifact,
            };
            i.validate()?;
            Ok(Event::Incident(i))
        }
        Mapping::Ticket(ticket) => {
            ticket::work_item(ticket, ev.subject.id, custom, content.group, at)
        }
    }
}

/// The target of the first `RELATION` link of kind [`FIXES_LINK_KIND`].
fn fixes_link(links: Option<Vec<Link<'_>>>) -> Option<Cow<'_, str>> {
    links?.into_iter().find_map(|l| {
        let relation = l.link_type.as_ref().is_some_and(|t| t.0 == "RELATION");
        let fixes = l
            .link_kind
            .as_ref()
            .is_some_and(|k| k.0.eq_ignore_ascii_case(FIXES_LINK_KIND));
        if relation && fixes {
            l.target.and_then(|t| cow(t.context_id))
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests;
