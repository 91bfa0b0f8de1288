//! Native v1 decoding through the seam, without headers.

use std::borrow::Cow;

use super::*;
use crate::domain::event::InvalidReason;
use crate::domain::{
    Deploy, DeployStatus, FlowCategory, Incident, IncidentStatus, Satisfaction, SatisfactionScore,
    WorkItem,
};

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
    assert_eq!(ok.resolved_at.unwrap() - ok.opened_at.unwrap(), 3_600_000);
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

fn work_item(json: &str) -> Result<WorkItem<'_>, InvalidReason> {
    match native(Stream::WorkItems, json.as_bytes())? {
        Event::WorkItem(w) => Ok(w),
        _ => unreachable!(),
    }
}

fn satisfaction(json: &str) -> Result<Satisfaction<'_>, InvalidReason> {
    match native(Stream::Satisfaction, json.as_bytes())? {
        Event::Satisfaction(s) => Ok(s),
        _ => unreachable!(),
    }
}

/// The work-item example of the README ("Work items and flow efficiency").
const WORK_ITEM: &str = r#"{"id": "PAY-311", "service": "checkout", "team": "payments",
 "state": "In Review", "category": "waiting", "at": "2026-11-25T10:04:00Z",
 "changes": ["4be1c0d"], "deploys": ["d-1842"], "title": "ignored"}"#;

#[test]
fn decodes_the_documented_work_item_borrowing_its_strings() {
    let w = work_item(WORK_ITEM).unwrap();
    assert_eq!(
        w,
        WorkItem {
            id: "PAY-311".into(),
            service: "checkout".into(),
            team: Some("payments".into()),
            environment: None,
            state: "In Review".into(),
            category: Some(FlowCategory::Waiting),
            at: parse_time("2026-11-25T10:04:00Z").unwrap(),
            changes: vec!["4be1c0d".into()],
            deploys: vec!["d-1842".into()],
        }
    );
    assert!(matches!(w.id, Cow::Borrowed(_)));
    assert!(matches!(w.state, Cow::Borrowed(_)));
    assert!(matches!(w.changes[0], Cow::Borrowed(_)));
    // Only id, service, state and at are required.
    let min = work_item(
        r#"{"id":"A","service":"s","state":"doing","at":"2026-11-25T10:04:00+01:00","environment":"production"}"#,
    )
    .unwrap();
    assert_eq!((min.team, min.category), (None, None));
    assert_eq!(min.environment.as_deref(), Some("production"));
    assert_eq!(min.at, parse_time("2026-11-25T09:04:00Z").unwrap());
}

#[test]
fn work_item_errors_have_a_bounded_reason() {
    for (bad, reason) in [
        (
            r#"{"id":"A","service":"s","at":"2026-11-25T10:04:00Z"}"#,
            InvalidReason::MissingField,
        ),
        (
            r#"{"id":"A","service":"s","state":"doing"}"#,
            InvalidReason::MissingField,
        ),
        (
            r#"{"id":"A","service":"s","state":"","at":"2026-11-25T10:04:00Z"}"#,
            InvalidReason::EmptyField,
        ),
        (
            r#"{"id":"A","service":"s","state":"doing","category":"busy","at":"2026-11-25T10:04:00Z"}"#,
            InvalidReason::BadStatus,
        ),
        (
            r#"{"id":"A","service":"s","state":"doing","at":"yesterday"}"#,
            InvalidReason::BadTimestamp,
        ),
        (
            r#"{"id":"A","service":"s","state":"doing","at":"2026-11-25T10:04:00Z","changes":[{"id":"x"}]}"#,
            InvalidReason::WrongType,
        ),
        (r#"["A"]"#, InvalidReason::NotAnObject),
    ] {
        assert_eq!(work_item(bad).unwrap_err(), reason, "{bad}");
    }
}

#[test]
fn decodes_satisfaction_responses_of_both_kinds() {
    let csat = satisfaction(
        r#"{"id":"r-1","service":"checkout","team":"payments","feature":"one-click-checkout","kind":"csat","score":4,"at":"2026-11-25T12:00:00Z","comment":"ignored"}"#,
    )
    .unwrap();
    assert_eq!(
        csat,
        Satisfaction {
            id: "r-1".into(),
            service: Some("checkout".into()),
            team: Some("payments".into()),
            feature: Some("one-click-checkout".into()),
            score: SatisfactionScore::Csat(4),
            at: parse_time("2026-11-25T12:00:00Z").unwrap(),
        }
    );
    let nps = satisfaction(
        r#"{"id":"r-2","feature":"voice-search","kind":"nps","score":0,"at":"2026-11-25T12:00:00Z"}"#,
    )
    .unwrap();
    assert_eq!((nps.score, nps.service), (SatisfactionScore::Nps(0), None));
}

#[test]
fn satisfaction_errors_have_a_bounded_reason() {
    let at = r#""at":"2026-11-25T12:00:00Z""#;
    for (body, reason) in [
        (
            r#""service":"s","kind":"csat","score":0"#,
            InvalidReason::OutOfRange,
        ),
        (
            r#""service":"s","kind":"csat","score":6"#,
            InvalidReason::OutOfRange,
        ),
        (
            r#""service":"s","kind":"nps","score":11"#,
            InvalidReason::OutOfRange,
        ),
        (
            r#""service":"s","kind":"nps","score":-1"#,
            InvalidReason::OutOfRange,
        ),
        (
            r#""service":"s","kind":"nps","score":300"#,
            InvalidReason::OutOfRange,
        ),
        (
            r#""service":"s","kind":"nps","score":7.5"#,
            InvalidReason::WrongType,
        ),
        (
            r#""service":"s","kind":"ces","score":3"#,
            InvalidReason::BadStatus,
        ),
        (
            r#""team":"t","kind":"csat","score":3"#,
            InvalidReason::MissingField,
        ),
        (
            r#""service":"s","kind":"csat""#,
            InvalidReason::MissingField,
        ),
        (
            r#""service":"","kind":"csat","score":3"#,
            InvalidReason::EmptyField,
        ),
    ] {
        let json = format!(r#"{{"id":"r",{body},{at}}}"#);
        assert_eq!(satisfaction(&json).unwrap_err(), reason, "{json}");
    }
}

/// No CDEvents type carries a survey response: a CloudEvent on the
/// satisfaction topic is unsupported, and an incident CDEvent on the
/// work-items topic too.
#[test]
fn cloudevents_on_the_satisfaction_topic_are_unsupported() {
    let ce = br#"{"specversion":"1.0","id":"x","source":"/s","type":"dev.cdevents.incident.detected.0.3.0","data":{}}"#;
    assert_eq!(
        decode(Stream::Satisfaction, ce, &Headers::NONE),
        Err(DecodeError::Unsupported)
    );
    assert_eq!(
        decode(Stream::WorkItems, ce, &Headers::NONE),
        Err(DecodeError::Unsupported)
    );
}
