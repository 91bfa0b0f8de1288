//! The CDEvents decoder against events built by the official SDKs
//! (`cdevents-sdk` for the CDEvent, `cloudevents-sdk` for the CloudEvent and
//! its structured JSON and binary serialization), plus hand-written JSON for
//! what the SDKs refuse to build (invalid events, links).

use std::borrow::Cow;

use cdevents_sdk::{CDEvent, Subject, spec_0_4_1 as v04, spec_0_5_1 as v05};
use cloudevents::event::SpecVersion;
use cloudevents::message::{BinaryDeserializer, BinarySerializer, MessageAttributeValue};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::*;
use crate::domain::{Change, Millis};

mod pairing;
mod tickets;
use crate::ingest::decode::{Framing, decode, framing};

/// 2027-01-15T08:00:00Z.
const T: i64 = 1_800_000_000;
const T_MS: Millis = T * 1000;
const H: i64 = 3600;
const DIGEST: &str = "sha256:0b31b1c02ff458ad9b7b81cbdf8f028bd54699fa151f221d1e8de6817db93427";
const PURL: &str = "pkg:oci/checkout@sha256%3A0b31b1c02ff458ad9b7b81cbdf8f028bd54699fa151f221d1e8de6817db93427?repository_url=ghcr.io%2Facme%2Fcheckout";

fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).unwrap()
}

/// RFC 3339 of a time in seconds.
fn rfc3339(secs: i64) -> String {
    crate::ingest::decode::format_time(secs * 1000)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spec {
    V04,
    V05,
}

const SPECS: [Spec; 2] = [Spec::V04, Spec::V05];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    Deployed,
    Upgraded,
    RolledBack,
}

/// A `service.*` CDEvent built with cdevents-sdk.
#[allow(clippy::too_many_arguments)]
fn service_event(
    spec: Spec,
    predicate: Service,
    id: &str,
    service: &str,
    environment: &str,
    artifact: &str,
    when: i64,
    custom: Option<Value>,
) -> CDEvent {
    let env = environment.try_into().unwrap();
    let art = artifact.try_into().unwrap();
    macro_rules! content {
        ($m:ident) => {
            Subject::from($m::Content {
                artifact_id: art,
                environment: $m::ContentEnvironment {
                    id: env,
                    source: None,
                },
            })
        };
    }
    let subject = match (spec, predicate) {
        (Spec::V04, Service::Deployed) => content!(v04_deployed),
        (Spec::V04, Service::Upgraded) => content!(v04_upgraded),
        (Spec::V04, Service::RolledBack) => content!(v04_rolledback),
        (Spec::V05, Service::Deployed) => content!(v05_deployed),
        (Spec::V05, Service::Upgraded) => content!(v05_upgraded),
        (Spec::V05, Service::RolledBack) => content!(v05_rolledback),
    };
    let ev = CDEvent::from(
        subject
            .with_id(service.try_into().unwrap())
            .with_source("/clusters/prod-1".try_into().unwrap()),
    )
    .with_id(id.try_into().unwrap())
    .with_source("/ci/pipelines/release".try_into().unwrap())
    .with_timestamp(at(when));
    match custom {
        Some(c) => ev.with_custom_data(c),
        None => ev,
    }
}

use v04::service_deployed as v04_deployed;
use v04::service_rolledback as v04_rolledback;
use v04::service_upgraded as v04_upgraded;
use v05::service_deployed as v05_deployed;
use v05::service_rolledback as v05_rolledback;
use v05::service_upgraded as v05_upgraded;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Inc {
    Detected,
    Reported,
    Resolved,
}

/// An `incident.*` CDEvent built with cdevents-sdk. `service: None` leaves
/// the (optional in the spec) service reference out.
fn incident_event(
    spec: Spec,
    predicate: Inc,
    id: &str,
    service: Option<&str>,
    artifact: Option<&str>,
    when: i64,
    custom: Option<Value>,
) -> CDEvent {
    macro_rules! content {
        ($m:ident $(, $extra:ident: $value:expr)?) => {
            Subject::from($m::Content {
                artifact_id: artifact.map(|a| a.try_into().unwrap()),
                description: Some("p99 latency above 800 ms".into()),
                environment: $m::ContentEnvironment {
                    id: "production".try_into().unwrap(),
                    source: None,
                },
                service: service.map(|s| $m::ContentService {
                    id: s.try_into().unwrap(),
                    source: None,
                }),
                $($extra: $value,)?
            })
        };
    }
    let ticket = || "https://tickets.example.com/INC-77".try_into().unwrap();
    let subject = match (spec, predicate) {
        (Spec::V04, Inc::Detected) => content!(v04_detected),
        (Spec::V04, Inc::Reported) => content!(v04_reported, ticket_uri: ticket()),
        (Spec::V04, Inc::Resolved) => content!(v04_resolved),
        (Spec::V05, Inc::Detected) => content!(v05_detected),
        (Spec::V05, Inc::Reported) => content!(v05_reported, ticket_uri: ticket()),
        (Spec::V05, Inc::Resolved) => content!(v05_resolved),
    };
    let ev = CDEvent::from(
        subject
            .with_id(id.try_into().unwrap())
            .with_source("/monitoring/prod-1".try_into().unwrap()),
    )
    .with_id(
        format!("ctx-{id}-{predicate:?}-{spec:?}")
            .try_into()
            .unwrap(),
    )
    .with_source("/monitoring/prod-1".try_into().unwrap())
    .with_timestamp(at(when));
    match custom {
        Some(c) => ev.with_custom_data(c),
        None => ev,
    }
}

use v04::incident_detected as v04_detected;
use v04::incident_reported as v04_reported;
use v04::incident_resolved as v04_resolved;
use v05::incident_detected as v05_detected;
use v05::incident_reported as v05_reported;
use v05::incident_resolved as v05_resolved;

/// The CDEvent as a structured-mode CloudEvent, JSON event format, as
/// cloudevents-sdk serializes it.
fn structured(ev: CDEvent) -> Vec<u8> {
    let ce: cloudevents::Event = ev.try_into().unwrap();
    serde_json::to_vec(&ce).unwrap()
}

/// A binary-mode Kafka record (headers and value) written by
/// cloudevents-sdk's binary serializer. The header names follow the
/// CloudEvents Kafka binding as the SDK's own rdkafka binding writes them
/// (`ce_<attribute>`, `datacontenttype` as `content-type`); that binding is
/// not used because of its rdkafka 0.38 dependency (see Cargo.toml).
#[derive(Default)]
struct Binary {
    headers: Vec<(String, Vec<u8>)>,
    value: Vec<u8>,
}

impl Binary {
    fn headers(&self) -> Headers<'_> {
        Headers::from_pairs(self.headers.iter().map(|(k, v)| (k.as_str(), v.as_slice())))
    }
}

impl BinarySerializer<Binary> for Binary {
    fn set_spec_version(mut self, v: SpecVersion) -> cloudevents::message::Result<Self> {
        self.headers
            .push(("ce_specversion".into(), v.to_string().into_bytes()));
        Ok(self)
    }
    fn set_attribute(
        mut self,
        name: &str,
        value: MessageAttributeValue,
    ) -> cloudevents::message::Result<Self> {
        let key = match name {
            "datacontenttype" => "content-type".to_owned(),
            _ => format!("ce_{name}"),
        };
        self.headers.push((key, value.to_string().into_bytes()));
        Ok(self)
    }
    fn set_extension(
        self,
        name: &str,
        value: MessageAttributeValue,
    ) -> cloudevents::message::Result<Self> {
        self.set_attribute(name, value)
    }
    fn end_with_data(mut self, bytes: Vec<u8>) -> cloudevents::message::Result<Binary> {
        self.value = bytes;
        Ok(self)
    }
    fn end(self) -> cloudevents::message::Result<Binary> {
        Ok(self)
    }
}

fn binary(ev: CDEvent) -> Binary {
    let ce: cloudevents::Event = ev.try_into().unwrap();
    ce.deserialize_binary(Binary::default()).unwrap()
}

const STRUCTURED_HEADERS: Headers<'static> = Headers {
    content_type: Some(b"application/cloudevents+json; charset=UTF-8"),
    ..Headers::NONE
};

fn deploy_of(e: Result<Event<'_>, DecodeError>) -> Deploy<'_> {
    match e {
        Ok(Event::Deploy(d)) => d,
        other => panic!("not a deploy: {other:?}"),
    }
}

fn incident_of(e: Result<Event<'_>, DecodeError>) -> Incident<'_> {
    match e {
        Ok(Event::Incident(i)) => i,
        other => panic!("not an incident: {other:?}"),
    }
}

fn deploy_custom() -> Value {
    json!({
        "team": "payments",
        "changes": [
            {"id": "4be1c0d", "committed_at": rfc3339(T - 3 * H)},
            {"id": "9a1f00e", "committed_at": rfc3339(T - H)},
        ],
        "features": ["one-click-checkout"],
        "started_at": rfc3339(T - 600),
        "pipeline": {"ignored": true},
    })
}

/// Every mode and spec version of one deploy decode to the same domain
/// event, with every mapped field.
#[test]
fn service_deployed_maps_to_a_succeeded_deploy_in_both_modes_and_versions() {
    let mut seen = Vec::new();
    for spec in SPECS {
        let ev = || {
            service_event(
                spec,
                Service::Deployed,
                "d-1842",
                "checkout",
                "production",
                PURL,
                T,
                Some(deploy_custom()),
            )
        };
        let s = structured(ev());
        let b = binary(ev());
        for (mode, d) in [
            (
                "structured",
                deploy_of(decode(Stream::Deploys, &s, &STRUCTURED_HEADERS)),
            ),
            (
                "structured, no content-type",
                deploy_of(decode(Stream::Deploys, &s, &Headers::NONE)),
            ),
            (
                "binary",
                deploy_of(decode(Stream::Deploys, &b.value, &b.headers())),
            ),
        ] {
            let want = Deploy {
                id: "d-1842".into(),
                service: "checkout".into(),
                team: Some("payments".into()),
                environment: "production".into(),
                status: DeployStatus::Succeeded,
                finished_at: T_MS,
                artifact: Some(DIGEST.into()),
                changes: vec![
                    Change {
                        id: Some("4be1c0d".into()),
                        committed_at: T_MS - 3 * H * 1000,
                    },
                    Change {
                        id: Some("9a1f00e".into()),
                        committed_at: T_MS - H * 1000,
                    },
                ],
                features: vec!["one-click-checkout".into()],
                rollback_of: None,
                fixes_incident: None,
                repository: None,
                revision: None,
            };
            assert_eq!(d, want, "{spec:?} {mode}");
            // Text is borrowed from the record value.
            assert!(matches!(d.id, Cow::Borrowed(_)), "{spec:?} {mode}");
            assert!(matches!(d.service, Cow::Borrowed(_)), "{spec:?} {mode}");
            assert!(matches!(d.team, Some(Cow::Borrowed(_))), "{spec:?} {mode}");
            assert!(matches!(d.features[0], Cow::Borrowed(_)), "{spec:?} {mode}");
            seen.push(format!("{d:?}"));
        }
    }
    assert_eq!(seen.len(), 6);
}

#[test]
fn service_upgraded_is_a_succeeded_deploy_too() {
    for spec in SPECS {
        let ev = service_event(
            spec,
            Service::Upgraded,
            "d-2",
            "cart",
            "staging",
            "pkg:oci/cart@sha256%3Aabc123",
            T,
            None,
        );
        let b = binary(ev);
        let d = deploy_of(decode(Stream::Deploys, &b.value, &b.headers()));
        assert_eq!(
            (d.id.as_ref(), d.service.as_ref(), d.environment.as_ref()),
            ("d-2", "cart", "staging")
        );
        assert_eq!(d.status, DeployStatus::Succeeded);
        assert_eq!(d.artifact.as_deref(), Some("sha256:abc123"));
        assert_eq!((d.team, d.changes.len()), (None, 0));
    }
}

/// The rollback is a new deploy (the context id) naming the deploy it
/// replaced, which the decoder cannot know: `customData.rollback_of` is
/// required.
#[test]
fn service_rolledback_needs_customdata_rollback_of() {
    for spec in SPECS {
        let ev = |custom| {
            service_event(
                spec,
                Service::RolledBack,
                "d-1843",
                "checkout",
                "production",
                "pkg:oci/checkout@sha256%3Aold",
                T + H,
                custom,
            )
        };
        let s = structured(ev(Some(
            json!({"rollback_of": "d-1842", "team": "payments"}),
        )));
        let d = deploy_of(decode(Stream::Deploys, &s, &STRUCTURED_HEADERS));
        assert_eq!(d.id, "d-1843");
        assert_eq!(d.status, DeployStatus::Succeeded);
        assert_eq!(d.rollback_of.as_deref(), Some("d-1842"));
        assert_eq!(d.artifact.as_deref(), Some("sha256:old"));
        assert_eq!(d.finished_at, T_MS + H * 1000);

        let b = binary(ev(None));
        assert_eq!(
            decode(Stream::Deploys, &b.value, &b.headers()),
            Err(DecodeError::Invalid(InvalidReason::MissingField)),
            "{spec:?}"
        );
    }
}

#[test]
fn incident_detected_and_reported_open_resolved_resolves_with_one_incident_id() {
    for spec in SPECS {
        for predicate in [Inc::Detected, Inc::Reported] {
            let ev = incident_event(
                spec,
                predicate,
                "inc-77",
                Some("checkout"),
                Some(PURL),
                T,
                Some(json!({"team": "payments", "caused_by_deploy": "d-1842", "severity": "sev2"})),
            );
            let s = structured(ev);
            let i = incident_of(decode(Stream::Incidents, &s, &Headers::NONE));
            let want = Incident {
                id: "inc-77".into(),
                service: "checkout".into(),
                team: Some("payments".into()),
                environment: "production".into(),
                status: IncidentStatus::Opened,
                opened_at: Some(T_MS),
                resolved_at: None,
                source: Some("/monitoring/prod-1".into()),
                caused_by_deploy: Some("d-1842".into()),
                artifact: Some(DIGEST.into()),
            };
            assert_eq!(i, want, "{spec:?} {predicate:?}");
            assert!(matches!(i.id, Cow::Borrowed(_)));
        }
        // Resolved: the event time is the resolution; the opening comes
        // from customData.opened_at.
        let resolved = |custom| {
            incident_event(
                spec,
                Inc::Resolved,
                "inc-77",
                Some("checkout"),
                None,
                T + 2 * H,
                custom,
            )
        };
        let b = binary(resolved(Some(json!({"opened_at": rfc3339(T)}))));
        let i = incident_of(decode(Stream::Incidents, &b.value, &b.headers()));
        assert_eq!(i.id, "inc-77");
        assert_eq!(i.status, IncidentStatus::Resolved);
        assert_eq!(
            (i.opened_at, i.resolved_at),
            (Some(T_MS), Some(T_MS + 2 * H * 1000))
        );
        assert_eq!((i.caused_by_deploy, i.artifact), (None, None));

        // Without customData.opened_at, as incident tools send it: a
        // resolution whose opening DORA state pairs by id and source.
        let b = binary(resolved(None));
        let i = incident_of(decode(Stream::Incidents, &b.value, &b.headers()));
        assert_eq!(
            (i.status, i.opened_at, i.resolved_at),
            (IncidentStatus::Resolved, None, Some(T_MS + 2 * H * 1000))
        );
        assert_eq!(i.source.as_deref(), Some("/monitoring/prod-1"));
        let b = binary(resolved(Some(json!({"opened_at": rfc3339(T + 3 * H)}))));
        assert_eq!(
            decode(Stream::Incidents, &b.value, &b.headers()),
            Err(DecodeError::Invalid(InvalidReason::NegativeRestoreTime))
        );
    }
}

/// `customData.opened_at` on an opening wins over the event time (the
/// incident started before it was detected).
#[test]
fn an_opening_may_carry_an_earlier_opened_at() {
    let ev = incident_event(
        Spec::V05,
        Inc::Detected,
        "inc-8",
        Some("search"),
        None,
        T,
        Some(json!({"opened_at": rfc3339(T - 600)})),
    );
    let payload = structured(ev);
    let i = incident_of(decode(Stream::Incidents, &payload, &Headers::NONE));
    assert_eq!(i.opened_at, Some(T_MS - 600_000));
}

/// The incident subject's `service` is optional in the spec, but the domain
/// needs one.
#[test]
fn an_incident_without_a_service_is_invalid() {
    let ev = incident_event(Spec::V04, Inc::Detected, "inc-9", None, None, T, None);
    assert_eq!(
        decode(Stream::Incidents, &structured(ev), &Headers::NONE),
        Err(DecodeError::Invalid(InvalidReason::MissingField))
    );
}

/// Spec v0.4 writes its version in `context.version` and types
/// `….0.2.0`; v0.5 in `context.specversion` and `….0.3.0`. Both are read.
#[test]
fn spec_versions_are_detected_from_the_context_and_the_type() {
    let ev = |spec| {
        service_event(
            spec,
            Service::Deployed,
            "d-1",
            "checkout",
            "production",
            DIGEST,
            T,
            None,
        )
    };
    let v4: Value = serde_json::to_value(ev(Spec::V04)).unwrap();
    let v5: Value = serde_json::to_value(ev(Spec::V05)).unwrap();
    assert_eq!(v4["context"]["version"], "0.4.1");
    assert_eq!(v4["context"]["type"], "dev.cdevents.service.deployed.0.2.0");
    assert_eq!(v5["context"]["specversion"], "0.5.0");
    assert_eq!(v5["context"]["type"], "dev.cdevents.service.deployed.0.3.0");
    for v in [&v4, &v5] {
        let ty = v["context"]["type"].as_str().unwrap();
        let t = parse_type(ty).unwrap();
        assert_eq!((t.subject, t.predicate), ("service", "deployed"));
        assert!(t.version.is_some());
    }
    assert_eq!(
        parse_type("dev.cdevents.incident.resolved.0.1.0-draft"),
        Some(CdType {
            subject: "incident",
            predicate: "resolved",
            version: Some("0.1.0-draft"),
        })
    );
    // Drafts wrote types without a version.
    assert_eq!(
        parse_type("dev.cdevents.service.deployed").map(|t| t.version),
        Some(None)
    );
    assert_eq!(parse_type("dev.cdeventsx.service.deployed.0.1.0"), None);
    assert_eq!(parse_type("com.example.deployed"), None);
    assert_eq!(parse_type("dev.cdevents.service"), None);
    // Any version of a listed type is read, future ones included.
    assert!(is_supported(
        Stream::Deploys,
        "dev.cdevents.service.rolledback.0.9.0"
    ));
    assert!(is_supported(
        Stream::Incidents,
        "dev.cdevents.incident.reported.0.1.0"
    ));

    // A context with neither `version` nor `specversion` is not a CDEvent.
    let mut no_version = v5.clone();
    no_version["context"]
        .as_object_mut()
        .unwrap()
        .remove("specversion");
    let payload = serde_json::to_vec(&no_version).unwrap();
    let h = binary_headers("dev.cdevents.service.deployed.0.3.0");
    assert_eq!(
        decode(Stream::Deploys, &payload, &h.headers()),
        Err(DecodeError::Invalid(InvalidReason::MissingField))
    );
}

/// Hand-made binary-mode headers (for payloads the SDK will not build).
fn binary_headers(ty: &str) -> Binary {
    Binary {
        headers: vec![
            ("ce_specversion".into(), b"1.0".to_vec()),
            ("ce_id".into(), b"271069a8".to_vec()),
            ("ce_source".into(), b"/ci".to_vec()),
            ("ce_type".into(), ty.as_bytes().to_vec()),
            ("content-type".into(), b"application/json".to_vec()),
        ],
        value: Vec::new(),
    }
}

#[test]
fn other_cdevents_and_cloudevents_types_are_unsupported_not_invalid() {
    // Another CDEvents type, built by the SDK, in both modes.
    let pipeline = || {
        CDEvent::from(
            Subject::from(v05::pipelinerun_finished::Content {
                errors: None,
                outcome: Some(v05::pipelinerun_finished::ContentOutcome::Success),
                pipeline_name: Some("release".into()),
                uri: None,
            })
            .with_id("/pipelines/release/42".try_into().unwrap())
            .with_source("/ci".try_into().unwrap()),
        )
        .with_id("run-42".try_into().unwrap())
        .with_source("/ci".try_into().unwrap())
    };
    let s = structured(pipeline());
    assert_eq!(
        decode(Stream::Deploys, &s, &STRUCTURED_HEADERS),
        Err(DecodeError::Unsupported)
    );
    assert_eq!(
        decode(Stream::Deploys, &s, &Headers::NONE),
        Err(DecodeError::Unsupported)
    );
    let b = binary(pipeline());
    assert_eq!(
        decode(Stream::Deploys, &b.value, &b.headers()),
        Err(DecodeError::Unsupported)
    );

    // A listed type on the other topic.
    let deployed = service_event(
        Spec::V04,
        Service::Deployed,
        "d-1",
        "checkout",
        "production",
        DIGEST,
        T,
        None,
    );
    let b = binary(deployed);
    assert_eq!(
        decode(Stream::Incidents, &b.value, &b.headers()),
        Err(DecodeError::Unsupported)
    );
    let opened = incident_event(
        Spec::V04,
        Inc::Detected,
        "inc-1",
        Some("checkout"),
        None,
        T,
        None,
    );
    assert_eq!(
        decode(Stream::Deploys, &structured(opened), &Headers::NONE),
        Err(DecodeError::Unsupported)
    );

    // CloudEvents that are no CDEvents, whatever their data.
    let other = br#"{"specversion":"1.0","id":"1","source":"/shop","type":"com.example.order.placed","data":"<xml/>"}"#;
    assert_eq!(
        decode(Stream::Deploys, other, &Headers::NONE),
        Err(DecodeError::Unsupported)
    );
    let mut h = binary_headers("com.example.order.placed");
    h.headers[4].1 = b"application/xml".to_vec();
    assert_eq!(
        decode(Stream::Deploys, b"<order/>", &h.headers()),
        Err(DecodeError::Unsupported)
    );
    // The type decides before the data is read: an unread CDEvents type is
    // unsupported even when its data is not a CDEvent.
    let odd = br#"{"specversion":"1.0","id":"1","source":"/ci","type":"dev.cdevents.pipelinerun.finished.0.3.0","data":"x"}"#;
    assert_eq!(
        decode(Stream::Deploys, odd, &Headers::NONE),
        Err(DecodeError::Unsupported)
    );
    // Another CloudEvents version, event format or a batch.
    let v03 = br#"{"specversion":"0.3","id":"1","source":"/ci","type":"dev.cdevents.service.deployed.0.2.0","data":{}}"#;
    assert_eq!(
        decode(Stream::Deploys, v03, &Headers::NONE),
        Err(DecodeError::Unsupported)
    );
    for ct in [
        &b"application/cloudevents+avro"[..],
        b"application/cloudevents-batch+json",
    ] {
        let h = Headers {
            content_type: Some(ct),
            ..Headers::NONE
        };
        assert_eq!(
            decode(Stream::Deploys, b"\x00\x01", &h),
            Err(DecodeError::Unsupported)
        );
    }
}

/// A valid v0.5 `service.deployed` CDEvent as JSON, for mutations.
fn deployed_json() -> Value {
    serde_json::to_value(service_event(
        Spec::V05,
        Service::Deployed,
        "d-1",
        "checkout",
        "production",
        PURL,
        T,
        Some(deploy_custom()),
    ))
    .unwrap()
}

/// A structured CloudEvent around `data`.
fn envelope(data: Value) -> Value {
    json!({
        "specversion": "1.0",
        "id": "d-1",
        "source": "/ci",
        "type": "dev.cdevents.service.deployed.0.3.0",
        "datacontenttype": "application/json",
        "data": data,
    })
}

#[test]
fn invalid_cloudevents_and_cdevents_have_a_bounded_reason() {
    use InvalidReason::*;
    let structured_cases: Vec<(Vec<u8>, InvalidReason)> = {
        let mut v = Vec::new();
        let mut push = |json: Value, reason| v.push((serde_json::to_vec(&json).unwrap(), reason));
        let mut e = envelope(deployed_json());
        e.as_object_mut().unwrap().remove("type");
        push(e, MissingField);
        let mut e = envelope(deployed_json());
        e.as_object_mut().unwrap().remove("id");
        push(e, MissingField);
        let mut e = envelope(deployed_json());
        e.as_object_mut().unwrap().remove("data");
        push(e, MissingField);
        let mut e = envelope(deployed_json());
        let data = e.as_object_mut().unwrap().remove("data").unwrap();
        e["data_base64"] = json!(data.to_string());
        push(e, WrongType);
        let mut e = envelope(deployed_json());
        e["datacontenttype"] = json!("application/xml");
        push(e, WrongType);
        push(envelope(json!("not an object")), WrongType);
        let mut e = envelope(deployed_json());
        e["specversion"] = json!(1.0);
        push(e, WrongType);
        let mut d = deployed_json();
        d.as_object_mut().unwrap().remove("subject");
        push(envelope(d), MissingField);
        let mut d = deployed_json();
        d["context"]["timestamp"] = json!("yesterday");
        push(envelope(d), BadTimestamp);
        let mut d = deployed_json();
        d["subject"]["id"] = json!("");
        push(envelope(d), EmptyField);
        let mut d = deployed_json();
        d["context"]["id"] = json!(42);
        push(envelope(d), WrongType);
        let mut d = deployed_json();
        d["customData"]["changes"] = json!([{"id": "c", "committed_at": rfc3339(T + 1)}]);
        push(envelope(d), NonPositiveLeadTime);
        let mut d = deployed_json();
        d["customData"]["changes"] = json!([{"id": "c"}]);
        push(envelope(d), MissingField);
        let mut d = deployed_json();
        d["customData"]["features"] = json!("one-click-checkout");
        push(envelope(d), WrongType);
        let mut d = deployed_json();
        d["subject"]["content"]["environment"] = json!({"source": "/iaas"});
        push(envelope(d), MissingField);
        v
    };
    for (payload, reason) in &structured_cases {
        for h in [STRUCTURED_HEADERS, Headers::NONE] {
            assert_eq!(
                decode(Stream::Deploys, payload, &h),
                Err(DecodeError::Invalid(*reason)),
                "{}",
                String::from_utf8_lossy(payload)
            );
        }
    }
    let truncated = &serde_json::to_vec(&envelope(deployed_json())).unwrap()[..120];
    assert_eq!(
        decode(Stream::Deploys, truncated, &STRUCTURED_HEADERS),
        Err(DecodeError::Invalid(MalformedJson))
    );
    assert_eq!(
        decode(Stream::Deploys, b"[1]", &STRUCTURED_HEADERS),
        Err(DecodeError::Invalid(NotAnObject))
    );

    // Binary mode.
    let value = serde_json::to_vec(&deployed_json()).unwrap();
    let ok = binary_headers("dev.cdevents.service.deployed.0.3.0");
    assert!(decode(Stream::Deploys, &value, &ok.headers()).is_ok());
    let without = |key: &str| Binary {
        headers: ok
            .headers
            .iter()
            .filter(|(k, _)| k != key)
            .cloned()
            .collect(),
        value: Vec::new(),
    };
    for key in ["ce_type", "ce_id", "ce_source"] {
        assert_eq!(
            decode(Stream::Deploys, &value, &without(key).headers()),
            Err(DecodeError::Invalid(MissingField)),
            "{key}"
        );
    }
    let mut text = binary_headers("dev.cdevents.service.deployed.0.3.0");
    text.headers[4].1 = b"text/plain".to_vec();
    assert_eq!(
        decode(Stream::Deploys, &value, &text.headers()),
        Err(DecodeError::Invalid(WrongType))
    );
    let mut latin1 = binary_headers("dev.cdevents.service.deployed.0.3.0");
    latin1.headers[3].1 = b"dev.cdevents.service.d\xe9ployed".to_vec();
    assert_eq!(
        decode(Stream::Deploys, &value, &latin1.headers()),
        Err(DecodeError::Invalid(WrongType))
    );
    for (payload, reason) in [
        (&b""[..], MissingField),
        (b"  ", MissingField),
        (b"\"d-1\"", NotAnObject),
        (b"{\"context\":", MalformedJson),
        (b"{}", MissingField),
    ] {
        assert_eq!(
            decode(Stream::Deploys, payload, &ok.headers()),
            Err(DecodeError::Invalid(reason)),
            "{}",
            String::from_utf8_lossy(payload)
        );
    }
}

/// A JSON `content-type` on a native record does not make it a CloudEvent;
/// a top-level `specversion` does.
#[test]
fn detection_needs_a_cloudevents_content_type_a_ce_specversion_or_a_specversion() {
    let native = br#"{"id":"d-1","service":"checkout","status":"succeeded","finished_at":"2027-01-15T08:00:00Z"}"#;
    let json_ct = Headers {
        content_type: Some(b"application/json"),
        ..Headers::NONE
    };
    let d = deploy_of(decode(Stream::Deploys, native, &json_ct));
    assert_eq!((d.id.as_ref(), d.finished_at), ("d-1", T_MS));
    // Other headers are ignored.
    let h = Headers::from_pairs([("traceparent", &b"00-abc"[..]), ("ce_subject", b"x")]);
    assert_eq!(h, Headers::NONE);
    assert!(decode(Stream::Deploys, native, &h).is_ok());
    // A native record with a `specversion` field is read as a CloudEvent.
    let odd = br#"{"specversion":"1.0","id":"d-1","service":"checkout","status":"succeeded","finished_at":"2027-01-15T08:00:00Z"}"#;
    assert_eq!(
        decode(Stream::Deploys, odd, &Headers::NONE),
        Err(DecodeError::Invalid(InvalidReason::MissingField))
    );
    // Header keys are matched case-insensitively; the last of a repeated key wins.
    let h = Headers::from_pairs([
        ("Content-Type", &b"text/plain"[..]),
        ("content-type", b"application/cloudevents+json"),
        ("CE_SPECVERSION", b"1.0"),
    ]);
    assert_eq!(h.content_type, Some(&b"application/cloudevents+json"[..]));
    assert_eq!(framing(&h), Framing::Structured);
    assert_eq!(
        framing(&Headers {
            ce_specversion: Some(b"1.0"),
            ..Headers::NONE
        }),
        Framing::Binary
    );
    assert_eq!(framing(&json_ct), Framing::None);
    // The usage topic reads native v1 only, whatever the headers say.
    let usage = br#"{"feature":"f","user":"u","at":"2027-01-15T08:00:00Z"}"#;
    assert!(matches!(
        decode(Stream::FeatureUsage, usage, &STRUCTURED_HEADERS),
        Ok(Event::Usage(_))
    ));
}

#[test]
fn artifact_ids_are_normalised_to_the_native_identity() {
    let n = |s: &'static str| normalize_artifact(Cow::Borrowed(s));
    assert_eq!(n(PURL), DIGEST);
    assert_eq!(
        n("pkg:oci/checkout@sha256%3A9f2c?tag=1.42.0"),
        "sha256:9f2c"
    );
    assert_eq!(n("pkg:oci/checkout@sha256:9f2c"), "sha256:9f2c");
    assert_eq!(
        n("pkg:oci/checkout@SHA256%3A9f2c"),
        "pkg:oci/checkout@SHA256%3A9f2c"
    );
    assert_eq!(
        n("pkg:npm/%40acme/left-pad@1.3.0?vcs_url=x#lib"),
        "pkg:npm/%40acme/left-pad@1.3.0"
    );
    assert_eq!(n("pkg:oci/checkout"), "pkg:oci/checkout");
    assert_eq!(n("sha256:9f2c"), "sha256:9f2c");
    assert_eq!(
        n("0b31b1c02ff458ad9b7b81cbdf8f028bd54699fa151f221d1e8de6817db93427"),
        "0b31b1c02ff458ad9b7b81cbdf8f028bd54699fa151f221d1e8de6817db93427"
    );
    assert_eq!(n("pkg:oci/x@sha256%3"), "pkg:oci/x@sha256%3");
    // Unchanged or merely cut: still borrowed.
    assert!(matches!(n("sha256:9f2c"), Cow::Borrowed(_)));
    assert!(matches!(
        n("pkg:npm/left-pad@1.3.0?x=y"),
        Cow::Borrowed("pkg:npm/left-pad@1.3.0")
    ));
    assert_eq!(
        normalize_artifact(Cow::Owned("pkg:npm/a@1?x".into())),
        "pkg:npm/a@1"
    );
}

/// `customData.fixes_incident`, or a `RELATION` link of kind `FIXES`, marks
/// a deploy as a fix (rework).
#[test]
fn a_fixes_link_or_customdata_fixes_incident_marks_a_fix() {
    let mut d = deployed_json();
    d["context"]["links"] = json!([
        {"linkType": "PATH", "from": {"contextId": "a"}},
        {"linkType": "RELATION", "linkKind": "TRIGGER", "target": {"contextId": "b"}},
        {"linkType": "RELATION", "linkKind": "fixes", "target": {"contextId": "inc-77-detected"}, "tags": {"x": "y"}},
    ]);
    let payload = serde_json::to_vec(&envelope(d.clone())).unwrap();
    let got = deploy_of(decode(Stream::Deploys, &payload, &Headers::NONE));
    assert_eq!(got.fixes_incident.as_deref(), Some("inc-77-detected"));
    d["customData"]["fixes_incident"] = json!("inc-77");
    let payload = serde_json::to_vec(&envelope(d.clone())).unwrap();
    let got = deploy_of(decode(Stream::Deploys, &payload, &Headers::NONE));
    assert_eq!(got.fixes_incident.as_deref(), Some("inc-77"));
    d["context"]["links"] =
        json!([{"linkType": "RELATION", "linkKind": "TRIGGER", "target": {"contextId": "b"}}]);
    d["customData"]
        .as_object_mut()
        .unwrap()
        .remove("fixes_incident");
    let payload = serde_json::to_vec(&envelope(d)).unwrap();
    let got = deploy_of(decode(Stream::Deploys, &payload, &Headers::NONE));
    assert_eq!(got.fixes_incident, None);
}

/// customData in another content type (here a base64 string) is not read.
#[test]
fn customdata_that_is_not_an_object_is_ignored() {
    for custom in [
        json!("eyJ0ZWFtIjoicGF5bWVudHMifQ=="),
        json!([1, 2]),
        json!(null),
        json!(7),
    ] {
        let mut d = deployed_json();
        d["customData"] = custom.clone();
        d["customDataContentType"] = json!("application/octet-stream");
        let payload = serde_json::to_vec(&envelope(d)).unwrap();
        let got = deploy_of(decode(Stream::Deploys, &payload, &Headers::NONE));
        assert_eq!((got.team, got.changes.len()), (None, 0), "{custom}");
    }
}

/// The environment defaults as in native v1 when a producer leaves it out.
#[test]
fn a_missing_environment_defaults_to_production() {
    let mut d = deployed_json();
    d["subject"]["content"]
        .as_object_mut()
        .unwrap()
        .remove("environment");
    let payload = serde_json::to_vec(&envelope(d)).unwrap();
    let got = deploy_of(decode(Stream::Deploys, &payload, &Headers::NONE));
    assert_eq!(got.environment, "production");
}
