//! The one seam between wire formats and domain events.
//!
//! A payload from the `deploys`, `incidents`, `work-items` or `satisfaction`
//! topic is decoded into a domain [`Event`] that borrows its text from the
//! payload. The seam speaks two formats, told apart per record (see the
//! README, "Event formats"):
//!
//! - the native v1 JSON contract: its wire types ([`wire`], also written by
//!   `emit`, the demo and the load generator), validated into domain events
//!   by `native.rs`;
//! - CDEvents carried as CloudEvents, in structured or Kafka binary content
//!   mode ([`cdevents`]).
//!
//! The domain never knows which one an event came in. The `feature-usage`
//! topic speaks native v1 only; so, in effect, does `satisfaction` (no
//! CDEvents type carries a survey response: a CloudEvent there is
//! `unsupported`).
//!
//! This file frames a record and dispatches it. The formats share the JSON
//! helpers of `json.rs` and the timestamp parser (and formatter) of
//! `timestamp.rs`; the
//! seam's types live in `types.rs`, so nothing below calls back into this
//! file. `usage_scan.rs` is the fast path of the usage decoder.

pub mod cdevents;
mod json;
mod native;
mod timestamp;
mod types;
mod usage_scan;
pub mod wire;

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::Stream;
use crate::domain::Event;
use json::check_object;

pub use json::DEFAULT_ENVIRONMENT;
pub use native::decode_usage;
pub use timestamp::{format_time, parse_time, write_time};
pub use types::{DecodeError, Headers};
pub use wire::{
    ChangeV1, DeployV1, IncidentV1, PushedChangeV1, SatisfactionV1, UsageV1, WorkItemV1,
};

/// How a record is framed, from its headers alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `content-type: application/cloudevents+json`: a structured CloudEvent.
    Structured,
    /// `content-type: application/cloudevents…` in another event format
    /// (e.g. `+avro`, or a batch): not read.
    OtherEventFormat,
    /// A `ce_specversion` header: a binary-mode CloudEvent.
    Binary,
    /// Neither: the value alone decides (native v1, or a structured
    /// CloudEvent without `content-type`).
    None,
}

/// The framing the headers announce. `content-type` wins over `ce_*`, as
/// the Kafka binding says.
pub fn framing(h: &Headers<'_>) -> Framing {
    if let Some(ct) = h.content_type {
        let media = cdevents::media_type(ct);
        if cdevents::starts_with_ignore_case(media, b"application/cloudevents") {
            return if media.eq_ignore_ascii_case(cdevents::CLOUDEVENTS_JSON.as_bytes()) {
                Framing::Structured
            } else {
                Framing::OtherEventFormat
            };
        }
    }
    if h.ce_specversion.is_some() {
        Framing::Binary
    } else {
        Framing::None
    }
}

/// Decodes one record: its payload and headers.
///
/// On the other topics the format is detected per record:
/// a `content-type` header starting with `application/cloudevents` means a
/// structured-mode CloudEvent; a `ce_specversion` header a binary-mode
/// CloudEvent; otherwise a JSON object with a top-level `specversion` is a
/// structured-mode CloudEvent and anything else native v1.
pub fn decode<'a>(
    stream: Stream,
    payload: &'a [u8],
    headers: &Headers<'_>,
) -> Result<Event<'a>, DecodeError> {
    if stream == Stream::FeatureUsage {
        return decode_usage(payload)
            .map(Event::Usage)
            .map_err(DecodeError::Invalid);
    }
    match framing(headers) {
        Framing::Structured => return cdevents::decode_structured(stream, payload),
        Framing::OtherEventFormat => return Err(DecodeError::Unsupported),
        Framing::Binary => return cdevents::decode_binary(stream, headers, payload),
        Framing::None => {}
    }
    check_object(payload)?;
    // Native first: a CloudEvent is almost never a valid native event (its
    // attribute names cannot hold `_`, so it lacks `finished_at` and
    // `opened_at`; one would need extension attributes named like a work
    // item's or a response's fields), so a native record is parsed once. A
    // top-level `specversion` makes the record a CloudEvent either way.
    let native = match stream {
        Stream::Deploys => native::decode_deploy(payload).map(|(d, sv)| (Event::Deploy(d), sv)),
        Stream::WorkItems => {
            native::decode_work_item(payload).map(|(w, sv)| (Event::WorkItem(w), sv))
        }
        Stream::Satisfaction => {
            native::decode_satisfaction(payload).map(|(s, sv)| (Event::Satisfaction(s), sv))
        }
        Stream::Incidents | Stream::FeatureUsage => {
            native::decode_incident(payload).map(|(i, sv)| (Event::Incident(i), sv))
        }
        Stream::Changes => native::decode_push(payload).map(|(c, sv)| (Event::Push(c), sv)),
    };
    match native {
        Ok((event, false)) => Ok(event),
        Ok((_, true)) => cdevents::decode_structured(stream, payload),
        Err(_) if has_specversion(payload) => cdevents::decode_structured(stream, payload),
        Err(reason) => Err(DecodeError::Invalid(reason)),
    }
}

/// Whether a JSON object has a top-level `specversion` (a CloudEvent in
/// structured mode). Only called when native decoding failed.
fn has_specversion(payload: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Probe {
        #[serde(default)]
        specversion: Option<IgnoredAny>,
    }
    serde_json::from_slice::<Probe>(payload).is_ok_and(|p| p.specversion.is_some())
}

#[cfg(test)]
mod tests;
