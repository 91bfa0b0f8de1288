//! The wire types: what they write is what the decoder reads, absent
//! options are left out, and decoding borrows from the payload.

use std::borrow::Cow;

use super::*;
use crate::ingest::decode::format_time;
use crate::testkit::{self, HOUR, NOW};

#[test]
fn absent_options_and_empty_lists_are_left_out_and_write_only_fields_are_written() {
    let d = DeployV1 {
        id: "d-1".into(),
        service: "checkout".into(),
        status: "succeeded".into(),
        finished_at: "2027-01-15T08:00:00Z".into(),
        version: Some("1.2.0".into()),
        ..DeployV1::default()
    };
    assert_eq!(
        serde_json::to_string(&d).unwrap(),
        r#"{"id":"d-1","service":"checkout","status":"succeeded","finished_at":"2027-01-15T08:00:00Z","version":"1.2.0"}"#
    );
    let u = UsageV1 {
        feature: "f".into(),
        user: "u-1".into(),
        account: Some("acme".into()),
        at: "2027-01-15T08:00:00Z".into(),
    };
    assert_eq!(
        serde_json::to_string(&u).unwrap(),
        r#"{"feature":"f","user":"u-1","account":"acme","at":"2027-01-15T08:00:00Z"}"#
    );
}

#[test]
fn decoding_borrows_plain_strings_and_ignores_write_only_fields() {
    let json = r#"{"id":"d-1","service":"checkout","team":"pay\"ments","status":"succeeded",
        "finished_at":"2027-01-15T08:00:00Z","version":7,"features":["a"],
        "changes":[{"id":"c","committed_at":"2027-01-14T08:00:00Z"}]}"#;
    let d: DeployV1<'_> = serde_json::from_str(json).unwrap();
    assert!(matches!(d.id, Cow::Borrowed("d-1")));
    assert!(matches!(d.features[0], Cow::Borrowed("a")));
    assert!(matches!(d.changes[0].id, Some(Cow::Borrowed("c"))));
    assert_eq!(d.team.as_deref(), Some("pay\"ments"));
    assert!(matches!(d.team, Some(Cow::Owned(_))));
    assert_eq!((d.version, d.specversion), (None, None));
}

#[test]
fn every_event_survives_a_round_trip() {
    let w = WorkItemV1 {
        team: Some("payments".into()),
        category: Some("waiting".into()),
        changes: vec!["4be1c0d".into()],
        deploys: vec!["d-1".into()],
        ..testkit::work_item("PAY-1", "In Review", NOW)
    };
    let json = serde_json::to_string(&w).unwrap();
    assert_eq!(serde_json::from_str::<WorkItemV1<'_>>(&json).unwrap(), w);
    let s = SatisfactionV1 {
        service: None,
        feature: Some("voice-search".into()),
        ..testkit::satisfaction("r-1", "nps", 9, NOW)
    };
    let json = serde_json::to_string(&s).unwrap();
    assert_eq!(
        serde_json::from_str::<SatisfactionV1<'_>>(&json).unwrap(),
        s
    );
    let i = IncidentV1 {
        status: "resolved".into(),
        resolved_at: Some(format_time(NOW + HOUR).into()),
        caused_by_deploy: Some("d-1".into()),
        ..testkit::incident("inc-1", NOW)
    };
    let json = serde_json::to_string(&i).unwrap();
    assert_eq!(serde_json::from_str::<IncidentV1<'_>>(&json).unwrap(), i);
}
