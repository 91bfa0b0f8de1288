//! The one seam between wire formats and domain events.
//!
//! A payload from the `deploys` or `incidents` topic is decoded into a domain
//! [`Event`] that borrows its text from the payload. The seam speaks two
//! formats, told apart per record (see the README, "Event formats"):
//!
//! - the native v1 JSON contract;
//! - CDEvents carried as CloudEvents, in structured or Kafka binary content
//!   mode ([`super::cdevents`]).
//!
//! The domain never knows which one an event came in. The `feature-usage`
//! topic speaks native v1 only.

use std::borrow::Cow;

use super::cdevents;
use super::timestamp::parse_rfc3339;
use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, Visitor};

use crate::domain::event::InvalidReason;
use crate::domain::{Change, Deploy, DeployStatus, Event, Incident, IncidentStatus, Millis, Usage};

/// Which stream a record came from, which fixes the event type it must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    /// The deploys topic.
    Deploys,
    /// The incidents topic.
    Incidents,
    /// The feature-usage topic.
    FeatureUsage,
}

impl Stream {
    /// Every stream, in export order.
    pub const ALL: [Stream; 3] = [Stream::Deploys, Stream::Incidents, Stream::FeatureUsage];

    /// Dense index into [`Stream::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Why a record did not become a domain event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DecodeError {
    /// Not a valid event (counted as `invalid`, by reason).
    Invalid(InvalidReason),
    /// A well-formed CloudEvent or CDEvent of a type valuepulse does not
    /// read on this topic (counted as `unsupported`).
    Unsupported,
}

impl From<InvalidReason> for DecodeError {
    fn from(r: InvalidReason) -> Self {
        DecodeError::Invalid(r)
    }
}

/// The record headers the decoder reads: `content-type` and the CloudEvents
/// Kafka binding's binary-mode attributes it needs (`ce_specversion`,
/// `ce_type`, `ce_id`, `ce_source`). Values are the raw header bytes; the
/// decoded event never borrows from them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Headers<'h> {
    /// `content-type`: the CloudEvents event format in structured mode, the
    /// data's media type (`datacontenttype`) in binary mode.
    pub content_type: Option<&'h [u8]>,
    /// `ce_specversion`: present only on binary-mode CloudEvents.
    pub ce_specversion: Option<&'h [u8]>,
    /// `ce_type`.
    pub ce_type: Option<&'h [u8]>,
    /// `ce_id`.
    pub ce_id: Option<&'h [u8]>,
    /// `ce_source`.
    pub ce_source: Option<&'h [u8]>,
}

impl<'h> Headers<'h> {
    /// A record without headers.
    pub const NONE: Headers<'static> = Headers {
        content_type: None,
        ce_specversion: None,
        ce_type: None,
        ce_id: None,
        ce_source: None,
    };

    /// Picks the headers the decoder reads out of `(key, value)` pairs. Keys
    /// match ASCII case-insensitively; a repeated key keeps its last value.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (&'h str, &'h [u8])>) -> Self {
        let mut h = Headers::default();
        for (key, value) in pairs {
            let slot = if key.eq_ignore_ascii_case("content-type") {
                &mut h.content_type
            } else if key.eq_ignore_ascii_case("ce_specversion") {
                &mut h.ce_specversion
            } else if key.eq_ignore_ascii_case("ce_type") {
                &mut h.ce_type
            } else if key.eq_ignore_ascii_case("ce_id") {
                &mut h.ce_id
            } else if key.eq_ignore_ascii_case("ce_source") {
                &mut h.ce_source
            } else {
                continue;
            };
            *slot = Some(value);
        }
        h
    }

    /// The headers of a Kafka record (headers without a value are skipped).
    pub fn from_kafka<H: rdkafka::message::Headers>(headers: Option<&'h H>) -> Self {
        match headers {
            None => Headers::default(),
            Some(hs) => Self::from_pairs(hs.iter().filter_map(|h| h.value.map(|v| (h.key, v)))),
        }
    }
}

/// Decodes one record: its payload and headers.
///
/// On the deploys and incidents topics the format is detected per record:
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
    match cdevents::framing(headers) {
        cdevents::Framing::Structured => return cdevents::decode_structured(stream, payload),
        cdevents::Framing::OtherEventFormat => return Err(DecodeError::Unsupported),
        cdevents::Framing::Binary => return cdevents::decode_binary(stream, headers, payload),
        cdevents::Framing::None => {}
    }
    check_object(payload)?;
    // Native first: a CloudEvent can never be a valid native event (its
    // attribute names cannot hold `_`, so it lacks `finished_at` and
    // `opened_at`), so a native record is parsed once. A top-level
    // `specversion` makes the record a CloudEvent either way.
    let native = match stream {
        Stream::Deploys => decode_deploy(payload).map(|(d, sv)| (Event::Deploy(d), sv)),
        _ => decode_incident(payload).map(|(i, sv)| (Event::Incident(i), sv)),
    };
    match native {
        Ok((event, false)) => Ok(event),
        Ok((_, true)) => cdevents::decode_structured(stream, payload),
        Err(_) if has_specversion(payload) => cdevents::decode_structured(stream, payload),
        Err(reason) => Err(DecodeError::Invalid(reason)),
    }
}

/// Refuses what cannot be a JSON object, with the reason native v1 gives.
pub(super) fn check_object(payload: &[u8]) -> Result<(), InvalidReason> {
    match payload.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => Ok(()),
        Some(b'[' | b'"' | b't' | b'f' | b'n' | b'-' | b'0'..=b'9') => {
            Err(InvalidReason::NotAnObject)
        }
        _ => Err(InvalidReason::MalformedJson),
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

/// Maps a serde_json error to a bounded reason, never to its text (which may
/// quote the payload).
pub(super) fn classify(e: &serde_json::Error) -> InvalidReason {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => InvalidReason::MalformedJson,
        Category::Data => {
            let msg = e.to_string();
            if msg.starts_with("missing field") {
                InvalidReason::MissingField
            } else {
                InvalidReason::WrongType
            }
        }
    }
}

/// Parses an RFC 3339 timestamp to epoch milliseconds.
pub fn parse_time(s: &str) -> Result<Millis, InvalidReason> {
    parse_rfc3339(s).ok_or(InvalidReason::BadTimestamp)
}

/// A JSON string that borrows from the payload, and is copied only when it
/// holds escapes. (serde's own `Cow` support borrows only for bare fields, not
/// inside `Option` or `Vec`.)
#[derive(Debug)]
pub(super) struct Text<'a>(pub(super) Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(TextVisitor)
    }
}

pub(super) fn cow(t: Option<Text<'_>>) -> Option<Cow<'_, str>> {
    t.map(|t| t.0)
}

/// `deploys` topic, native v1.
#[derive(Deserialize)]
struct DeployV1<'a> {
    #[serde(borrow)]
    id: Text<'a>,
    #[serde(borrow)]
    service: Text<'a>,
    #[serde(borrow, default)]
    team: Option<Text<'a>>,
    #[serde(borrow, default)]
    environment: Option<Text<'a>>,
    #[serde(borrow)]
    status: Text<'a>,
    #[serde(borrow)]
    finished_at: Text<'a>,
    #[serde(borrow, default)]
    started_at: Option<Text<'a>>,
    #[serde(borrow, default)]
    artifact: Option<Text<'a>>,
    #[serde(borrow, default)]
    changes: Vec<ChangeV1<'a>>,
    #[serde(borrow, default)]
    features: Vec<Text<'a>>,
    #[serde(borrow, default)]
    rollback_of: Option<Text<'a>>,
    #[serde(borrow, default)]
    fixes_incident: Option<Text<'a>>,
    /// Present only when the record is in fact a CloudEvent.
    #[serde(default)]
    specversion: Option<IgnoredAny>,
}

#[derive(Deserialize)]
pub(super) struct ChangeV1<'a> {
    #[serde(borrow, default)]
    pub(super) id: Option<Text<'a>>,
    #[serde(borrow)]
    pub(super) committed_at: Text<'a>,
}

/// The changes of a deploy, native v1 shape (also inside CDEvents'
/// `customData`). An empty id is no id.
pub(super) fn changes(w: Vec<ChangeV1<'_>>) -> Result<Vec<Change<'_>>, InvalidReason> {
    w.into_iter()
        .map(|c| {
            Ok(Change {
                id: cow(c.id).filter(|id| !id.is_empty()),
                committed_at: parse_time(&c.committed_at.0)?,
            })
        })
        .collect()
}

/// `incidents` topic, native v1.
#[derive(Deserialize)]
struct IncidentV1<'a> {
    #[serde(borrow)]
    id: Text<'a>,
    #[serde(borrow)]
    service: Text<'a>,
    #[serde(borrow, default)]
    team: Option<Text<'a>>,
    #[serde(borrow, default)]
    environment: Option<Text<'a>>,
    #[serde(borrow)]
    status: Text<'a>,
    #[serde(borrow)]
    opened_at: Text<'a>,
    #[serde(borrow, default)]
    resolved_at: Option<Text<'a>>,
    #[serde(borrow, default)]
    caused_by_deploy: Option<Text<'a>>,
    #[serde(borrow, default)]
    artifact: Option<Text<'a>>,
    /// Present only when the record is in fact a CloudEvent.
    #[serde(default)]
    specversion: Option<IgnoredAny>,
}

/// Environment assumed when an event names none.
pub const DEFAULT_ENVIRONMENT: &str = "production";

/// A native deploy, and whether the object also has a `specversion`.
fn decode_deploy(payload: &[u8]) -> Result<(Deploy<'_>, bool), InvalidReason> {
    let w: DeployV1<'_> = serde_json::from_slice(payload).map_err(|e| classify(&e))?;
    let status = match w.status.0.as_ref() {
        "succeeded" => DeployStatus::Succeeded,
        "failed" => DeployStatus::Failed,
        "rolled_back" => DeployStatus::RolledBack,
        _ => return Err(InvalidReason::BadStatus),
    };
    if let Some(t) = &w.started_at {
        parse_time(&t.0)?;
    }
    let changes = changes(w.changes)?;
    let is_cloudevent = w.specversion.is_some();
    let d = Deploy {
        id: w.id.0,
        service: w.service.0,
        team: cow(w.team),
        environment: cow(w.environment).unwrap_or(Cow::Borrowed(DEFAULT_ENVIRONMENT)),
        status,
        finished_at: parse_time(&w.finished_at.0)?,
        artifact: cow(w.artifact),
        changes,
        features: w.features.into_iter().map(|t| t.0).collect(),
        rollback_of: cow(w.rollback_of),
        fixes_incident: cow(w.fixes_incident),
    };
    d.validate()?;
    Ok((d, is_cloudevent))
}

/// A native incident, and whether the object also has a `specversion`.
fn decode_incident(payload: &[u8]) -> Result<(Incident<'_>, bool), InvalidReason> {
    let w: IncidentV1<'_> = serde_json::from_slice(payload).map_err(|e| classify(&e))?;
    let status = match w.status.0.as_ref() {
        "opened" => IncidentStatus::Opened,
        "resolved" => IncidentStatus::Resolved,
        _ => return Err(InvalidReason::BadStatus),
    };
    let is_cloudevent = w.specversion.is_some();
    let i = Incident {
        id: w.id.0,
        service: w.service.0,
        team: cow(w.team),
        environment: cow(w.environment).unwrap_or(Cow::Borrowed(DEFAULT_ENVIRONMENT)),
        status,
        opened_at: parse_time(&w.opened_at.0)?,
        resolved_at: w.resolved_at.map(|t| parse_time(&t.0)).transpose()?,
        caused_by_deploy: cow(w.caused_by_deploy),
        artifact: cow(w.artifact),
    };
    i.validate()?;
    Ok((i, is_cloudevent))
}

/// `feature-usage` topic, native v1.
#[derive(Deserialize)]
struct UsageV1<'a> {
    #[serde(borrow)]
    feature: Text<'a>,
    #[serde(borrow)]
    user: Text<'a>,
    #[serde(borrow)]
    at: Text<'a>,
}

/// Decodes a `feature-usage` payload (native v1, the only format of that
/// topic).
pub fn decode_usage(payload: &[u8]) -> Result<Usage<'_>, InvalidReason> {
    if let Some([feature, user, at]) = super::usage_scan::scan(payload) {
        if feature.is_empty() || user.is_empty() {
            return Err(InvalidReason::EmptyField);
        }
        return Ok(Usage {
            feature: Cow::Borrowed(feature),
            user: Cow::Borrowed(user),
            at: parse_time(at)?,
        });
    }
    check_object(payload)?;
    let w: UsageV1<'_> = serde_json::from_slice(payload).map_err(|e| classify(&e))?;
    if w.feature.0.is_empty() || w.user.0.is_empty() {
        return Err(InvalidReason::EmptyField);
    }
    Ok(Usage {
        feature: w.feature.0,
        user: w.user.0,
        at: parse_time(&w.at.0)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEPLOY: &str = r#"{"id": "d-1842", "service": "checkout", "team": "payments",
 "environment": "production", "status": "succeeded",
 "finished_at": "2026-11-25T10:04:00Z", "started_at": "2026-11-25T09:58:00Z",
 "version": "1.42.0", "artifact": "sha256:9f2c",
 "changes": [{"id": "4be1c0d", "committed_at": "2026-11-24T16:20:00Z"}],
 "features": ["one-click-checkout"],
 "rollback_of": null, "unknown_field": {"ignored": true}}"#;

    /// Decodes a record without headers; its invalid reason on failure.
    fn native(stream: Stream, json: &[u8]) -> Result<Event<'_>, InvalidReason> {
        decode(stream, json, &Headers::NONE).map_err(|e| match e {
            DecodeError::Invalid(r) => r,
            DecodeError::Unsupported => panic!("native JSON is never unsupported"),
        })
    }

    fn deploy(json: &str) -> Result<Deploy<'_>, InvalidReason> {
        match native(Stream::Deploys, json.as_bytes())? {
            Event::Deploy(d) => Ok(d),
            _ => unreachable!(),
        }
    }

    fn incident(json: &str) -> Result<Incident<'_>, InvalidReason> {
        match native(Stream::Incidents, json.as_bytes())? {
            Event::Incident(i) => Ok(i),
            _ => unreachable!(),
        }
    }

    #[test]
    fn decodes_usage_borrowing_feature_and_user() {
        let json = br#"{"feature": "one-click-checkout", "user": "u-5521", "account": "acme", "at": "2026-11-25T12:00:00Z"}"#;
        let Event::Usage(u) = native(Stream::FeatureUsage, json).unwrap() else {
            unreachable!()
        };
        assert!(matches!(u.feature, Cow::Borrowed("one-click-checkout")));
        assert!(matches!(u.user, Cow::Borrowed("u-5521")));
        assert_eq!(u.at, parse_time("2026-11-25T12:00:00Z").unwrap());
        for (bad, reason) in [
            (
                &br#"{"feature": "f", "at": "2026-11-25T12:00:00Z"}"#[..],
                InvalidReason::MissingField,
            ),
            (
                br#"{"feature": "", "user": "u", "at": "2026-11-25T12:00:00Z"}"#,
                InvalidReason::EmptyField,
            ),
            (
                br#"{"feature": "f", "user": 7, "at": "2026-11-25T12:00:00Z"}"#,
                InvalidReason::WrongType,
            ),
            (
                br#"{"feature": "f", "user": "u", "at": "noon"}"#,
                InvalidReason::BadTimestamp,
            ),
        ] {
            assert_eq!(native(Stream::FeatureUsage, bad).unwrap_err(), reason);
        }
    }

    #[test]
    fn decodes_the_design_example_deploy_borrowing_its_strings() {
        let d = deploy(DEPLOY).unwrap();
        assert_eq!(d.id, "d-1842");
        assert!(matches!(d.service, Cow::Borrowed(_)));
        assert!(matches!(d.team, Some(Cow::Borrowed(_))));
        assert!(matches!(d.features[0], Cow::Borrowed(_)));
        assert_eq!(d.team.as_deref(), Some("payments"));
        assert_eq!(d.status, DeployStatus::Succeeded);
        assert_eq!(d.finished_at, parse_time("2026-11-25T10:04:00Z").unwrap());
        assert_eq!(d.changes.len(), 1);
        assert_eq!(d.changes[0].id.as_deref(), Some("4be1c0d"));
        assert_eq!(
            d.finished_at - d.changes[0].committed_at,
            (17 * 3600 + 44 * 60) * 1000
        );
        assert_eq!(d.features, vec![Cow::Borrowed("one-click-checkout")]);
        assert_eq!(d.rollback_of, None);
    }

    #[test]
    fn environment_defaults_to_production_and_team_is_optional() {
        let d = deploy(
            r#"{"id":"a","service":"s","status":"failed","finished_at":"2026-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(d.environment, "production");
        assert_eq!(d.team, None);
        assert_eq!(d.status, DeployStatus::Failed);
    }

    #[test]
    fn escaped_strings_decode_to_owned_values() {
        let d = deploy(r#"{"id":"a\"b","service":"s","status":"rolled_back","finished_at":"2026-01-01T00:00:00Z"}"#)
            .unwrap();
        assert_eq!(d.id, "a\"b");
        assert_eq!(d.status, DeployStatus::RolledBack);
    }

    #[test]
    fn timestamps_with_offsets_and_fractions_are_normalised_to_utc_millis() {
        assert_eq!(
            parse_time("2026-11-25T12:04:00.250+02:00").unwrap(),
            parse_time("2026-11-25T10:04:00Z").unwrap() + 250
        );
    }

    #[test]
    fn decode_errors_have_a_bounded_reason() {
        use InvalidReason::*;
        let cases: &[(&str, InvalidReason)] = &[
            ("{not json", MalformedJson),
            ("", MalformedJson),
            ("[1,2]", NotAnObject),
            (
                r#"{"id":"a","service":"s","status":"succeeded"}"#,
                MissingField,
            ),
            (
                r#"{"id":7,"service":"s","status":"succeeded","finished_at":"2026-01-01T00:00:00Z"}"#,
                WrongType,
            ),
            (
                r#"{"id":"","service":"s","status":"succeeded","finished_at":"2026-01-01T00:00:00Z"}"#,
                EmptyField,
            ),
            (
                r#"{"id":"a","service":"s","status":"succeeded","finished_at":"yesterday"}"#,
                BadTimestamp,
            ),
            (
                r#"{"id":"a","service":"s","status":"done","finished_at":"2026-01-01T00:00:00Z"}"#,
                BadStatus,
            ),
            (
                r#"{"id":"a","service":"s","status":"succeeded","finished_at":"2026-01-01T00:00:00Z","changes":[{"committed_at":"2026-01-01T00:00:00Z"}]}"#,
                NonPositiveLeadTime,
            ),
            (
                r#"{"id":"a","service":"s","status":"succeeded","finished_at":"2026-01-01T00:00:00Z","changes":[{"id":"c"}]}"#,
                MissingField,
            ),
        ];
        for (json, reason) in cases {
            assert_eq!(deploy(json).unwrap_err(), *reason, "{json}");
        }
    }

    #[test]
    fn incidents_need_resolved_at_when_resolved_and_may_not_resolve_before_opening() {
        let ok = incident(
            r#"{"id":"i","service":"s","status":"resolved","opened_at":"2026-01-01T00:00:00Z","resolved_at":"2026-01-01T01:00:00Z","caused_by_deploy":"d-1"}"#,
        )
        .unwrap();
        assert_eq!(ok.status, IncidentStatus::Resolved);
        assert_eq!(ok.resolved_at.unwrap() - ok.opened_at, 3_600_000);
        assert_eq!(ok.caused_by_deploy.as_deref(), Some("d-1"));
        assert_eq!(
            incident(
                r#"{"id":"i","service":"s","status":"resolved","opened_at":"2026-01-01T00:00:00Z"}"#
            )
            .unwrap_err(),
            InvalidReason::MissingField
        );
        assert_eq!(
            incident(
                r#"{"id":"i","service":"s","status":"resolved","opened_at":"2026-01-01T02:00:00Z","resolved_at":"2026-01-01T01:00:00Z"}"#
            )
            .unwrap_err(),
            InvalidReason::NegativeRestoreTime
        );
        assert_eq!(
            incident(
                r#"{"id":"i","service":"s","status":"closed","opened_at":"2026-01-01T00:00:00Z"}"#
            )
            .unwrap_err(),
            InvalidReason::BadStatus
        );
    }
}
