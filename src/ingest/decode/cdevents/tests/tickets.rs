//! CDEvents tickets (spec v0.4+) built with the official SDK, decoded into
//! work-item transitions on the work-items topic.

use cdevents_sdk::{CDEvent, Subject};
use serde_json::{Value, json};

use super::{SPECS, STRUCTURED_HEADERS, Spec, T, T_MS, at, binary, rfc3339, structured, v04, v05};
use crate::domain::event::InvalidReason;
use crate::domain::{Event, FlowCategory, WorkItem};
use crate::ingest::Stream;
use crate::ingest::decode::cdevents::CLOUDEVENTS_SPECVERSION;
use crate::ingest::decode::{DecodeError, Headers, decode};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Created,
    Updated,
    Closed,
}

/// A `ticket.*` CDEvent built with cdevents-sdk: ticket `PAY-311` of the
/// `payments-board` group.
fn ticket(spec: Spec, kind: Kind, when: i64, custom: Option<Value>) -> CDEvent {
    let uri = || "https://tracker.example.com/PAY-311".try_into().unwrap();
    let group = Some("payments-board".to_owned());
    macro_rules! created {
        ($m:ident) => {
            Subject::from($m::ticket_created::Content {
                assignees: None,
                creator: "alice".try_into().unwrap(),
                group: group.clone(),
                labels: Some(vec!["checkout".into()]),
                milestone: None,
                priority: Some("high".try_into().unwrap()),
                summary: "One-click checkout".into(),
                ticket_type: Some("story".try_into().unwrap()),
                uri: uri(),
            })
        };
    }
    macro_rules! updated {
        ($m:ident) => {
            Subject::from($m::ticket_updated::Content {
                assignees: Some(vec!["bob".into()]),
                creator: None,
                group: group.clone(),
                labels: None,
                milestone: None,
                priority: None,
                summary: None,
                ticket_type: None,
                updated_by: Some("bob".into()),
                uri: uri(),
            })
        };
    }
    macro_rules! closed {
        ($m:ident) => {
            Subject::from($m::ticket_closed::Content {
                assignees: None,
                creator: None,
                group: group.clone(),
                labels: None,
                milestone: None,
                priority: None,
                resolution: "completed".try_into().unwrap(),
                summary: None,
                ticket_type: None,
                updated_by: Some("bob".into()),
                uri: uri(),
            })
        };
    }
    let subject = match (spec, kind) {
        (Spec::V04, Kind::Created) => created!(v04),
        (Spec::V04, Kind::Updated) => updated!(v04),
        (Spec::V04, Kind::Closed) => closed!(v04),
        (Spec::V05, Kind::Created) => created!(v05),
        (Spec::V05, Kind::Updated) => updated!(v05),
        (Spec::V05, Kind::Closed) => closed!(v05),
    };
    let ev = CDEvent::from(
        subject
            .with_id("PAY-311".try_into().unwrap())
            .with_source("/tracker".try_into().unwrap()),
    )
    .with_id(format!("ctx-{kind:?}-{spec:?}-{when}").try_into().unwrap())
    .with_source("/tracker".try_into().unwrap())
    .with_timestamp(at(when));
    match custom {
        Some(c) => ev.with_custom_data(c),
        None => ev,
    }
}

fn work_item(e: Result<Event<'_>, DecodeError>) -> WorkItem<'_> {
    match e {
        Ok(Event::WorkItem(w)) => w,
        other => panic!("not a work item: {other:?}"),
    }
}

/// Decodes a ticket in both modes (structured with and without
/// `content-type`, binary) and checks they agree.
fn both_modes(ev: impl Fn() -> CDEvent, check: impl Fn(&WorkItem<'_>)) {
    let s = structured(ev());
    let b = binary(ev());
    let structured = work_item(decode(Stream::WorkItems, &s, &STRUCTURED_HEADERS));
    let bare = work_item(decode(Stream::WorkItems, &s, &Headers::NONE));
    let binary = work_item(decode(Stream::WorkItems, &b.value, &b.headers()));
    assert_eq!(structured, bare);
    assert_eq!(structured, binary);
    check(&structured);
}

#[test]
fn ticket_created_is_a_transition_to_its_state_or_created() {
    for spec in SPECS {
        both_modes(
            || {
                ticket(
                    spec,
                    Kind::Created,
                    T,
                    Some(json!({"service": "checkout", "team": "payments", "state": "To Do"})),
                )
            },
            |w| {
                assert_eq!(
                    *w,
                    WorkItem {
                        id: "PAY-311".into(),
                        service: "checkout".into(),
                        team: Some("payments".into()),
                        environment: None,
                        state: "To Do".into(),
                        category: None,
                        at: T_MS,
                        changes: vec![],
                        deploys: vec![],
                    },
                    "{spec:?}"
                );
                assert!(matches!(w.id, std::borrow::Cow::Borrowed(_)));
            },
        );
        // No state: `created`; no team: the ticket's group.
        both_modes(
            || ticket(spec, Kind::Created, T, Some(json!({"service": "checkout"}))),
            |w| {
                assert_eq!(w.state, "created");
                assert_eq!(w.team.as_deref(), Some("payments-board"));
                assert_eq!(w.category, None);
            },
        );
    }
}

#[test]
fn ticket_updated_carries_its_state_links_and_category_in_custom_data() {
    for spec in SPECS {
        both_modes(
            || {
                ticket(
                    spec,
                    Kind::Updated,
                    T + 3600,
                    Some(json!({
                        "service": "checkout", "team": "payments", "state": "In Progress",
                        "environment": "production",
                        "changes": ["4be1c0d", {"id": "9a1f00e", "committed_at": rfc3339(T)}, {"committed_at": rfc3339(T)}],
                        "deploys": ["d-1842"],
                    })),
                )
            },
            |w| {
                assert_eq!(w.state, "In Progress");
                assert_eq!(w.at, T_MS + 3_600_000);
                assert_eq!(w.environment.as_deref(), Some("production"));
                // Commit ids or change objects; a change without an id has
                // nothing to link.
                assert_eq!(w.changes, ["4be1c0d", "9a1f00e"]);
                assert_eq!(w.deploys, ["d-1842"]);
            },
        );
        both_modes(
            || {
                ticket(
                    spec,
                    Kind::Updated,
                    T,
                    Some(json!({"service": "checkout", "category": "active"})),
                )
            },
            |w| {
                assert_eq!(
                    (w.state.as_ref(), w.category),
                    ("active", Some(FlowCategory::Active))
                );
            },
        );
    }
}

/// A new assignee or label is an update with no state change: nothing to
/// fold, counted as unsupported rather than invalid.
#[test]
fn ticket_updated_without_state_or_category_is_unsupported() {
    for spec in SPECS {
        let b = binary(ticket(
            spec,
            Kind::Updated,
            T,
            Some(json!({"service": "checkout"})),
        ));
        assert_eq!(
            decode(Stream::WorkItems, &b.value, &b.headers()),
            Err(DecodeError::Unsupported),
            "{spec:?}"
        );
    }
}

#[test]
fn ticket_closed_is_done_unless_custom_data_says_otherwise() {
    for spec in SPECS {
        both_modes(
            || ticket(spec, Kind::Closed, T, Some(json!({"service": "checkout"}))),
            |w| {
                assert_eq!(
                    (w.state.as_ref(), w.category),
                    ("closed", Some(FlowCategory::Done))
                );
            },
        );
        both_modes(
            || {
                ticket(
                    spec,
                    Kind::Closed,
                    T,
                    Some(
                        json!({"service": "checkout", "state": "Won't Do", "category": "waiting"}),
                    ),
                )
            },
            |w| {
                assert_eq!(
                    (w.state.as_ref(), w.category),
                    ("Won't Do", Some(FlowCategory::Waiting))
                );
            },
        );
    }
}

#[test]
fn a_ticket_needs_a_service_and_a_known_category() {
    for (custom, reason) in [
        (None, InvalidReason::MissingField),
        (
            Some(json!({"team": "payments"})),
            InvalidReason::MissingField,
        ),
        (
            Some(json!({"service": "checkout", "category": "busy"})),
            InvalidReason::BadStatus,
        ),
        (Some(json!({"service": ""})), InvalidReason::EmptyField),
    ] {
        let b = binary(ticket(Spec::V05, Kind::Created, T, custom.clone()));
        assert_eq!(
            decode(Stream::WorkItems, &b.value, &b.headers()),
            Err(DecodeError::Invalid(reason)),
            "{custom:?}"
        );
    }
}

#[test]
fn tickets_are_read_only_on_the_work_items_topic() {
    let s = structured(ticket(
        Spec::V05,
        Kind::Created,
        T,
        Some(json!({"service": "checkout"})),
    ));
    for stream in [Stream::Deploys, Stream::Incidents, Stream::Satisfaction] {
        assert_eq!(
            decode(stream, &s, &Headers::NONE),
            Err(DecodeError::Unsupported),
            "{stream:?}"
        );
    }
}

/// The same transition, native and as a ticket, is the same domain event.
#[test]
fn a_native_work_item_and_its_ticket_decode_alike() {
    let native = format!(
        r#"{{"id":"PAY-311","service":"checkout","team":"payments","state":"In Progress","at":"{}","changes":["4be1c0d"],"deploys":["d-1842"]}}"#,
        rfc3339(T)
    );
    let n = work_item(decode(Stream::WorkItems, native.as_bytes(), &Headers::NONE));
    let b = binary(ticket(
        Spec::V04,
        Kind::Updated,
        T,
        Some(
            json!({"service": "checkout", "team": "payments", "state": "In Progress",
                    "changes": ["4be1c0d"], "deploys": ["d-1842"]}),
        ),
    ));
    assert_eq!(
        work_item(decode(Stream::WorkItems, &b.value, &b.headers())),
        n
    );
}

/// A deploy's changes must be objects: a bare commit id has no commit
/// time.
#[test]
fn a_deploys_custom_data_changes_must_be_objects() {
    let ce = json!({
        "specversion": CLOUDEVENTS_SPECVERSION, "id": "d-1", "source": "/ci",
        "type": "dev.cdevents.service.deployed.0.3.0",
        "data": {
            "context": {"specversion": "0.5.0", "id": "d-1", "source": "/ci",
                        "type": "dev.cdevents.service.deployed.0.3.0", "timestamp": rfc3339(T)},
            "subject": {"id": "checkout", "content": {"environment": {"id": "production"},
                        "artifactId": "pkg:oci/checkout@sha256%3Aabc"}},
            "customData": {"changes": ["4be1c0d"]}
        }
    });
    assert_eq!(
        decode(Stream::Deploys, ce.to_string().as_bytes(), &Headers::NONE),
        Err(DecodeError::Invalid(InvalidReason::WrongType))
    );
}
