//! Linear payloads as Linear documents them (the data-change webhook's
//! envelope around an `Issue`, unread fields included), and the exact work
//! items they become.

#![allow(
    clippy::unreadable_literal,
    reason = "epoch times copied as Linear prints them"
)]

use serde_json::{Value, json};

use super::*;
use crate::config::bridge::ServiceRule;
use crate::config::values::regex::compile;

fn cfg() -> LinearSource {
    LinearSource {
        enabled: None,
        secrets: crate::config::bridge::Secrets::default(),
        secrets_file: String::new(),
        insecure: false,
        timestamp_tolerance: std::time::Duration::from_secs(60),
        services: Vec::new(),
        state_types: ["triage", "backlog", "unstarted", "completed", "canceled"]
            .map(String::from)
            .to_vec(),
    }
}

fn body(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

fn set(v: &mut Value, pointer: &str, to: Value) {
    *v.pointer_mut(pointer)
        .unwrap_or_else(|| panic!("{pointer}")) = to;
}

/// An `Issue` `update` delivery: ENG-42 entered the state `name` of
/// `kind` at `updated_at`, coming from another state.
fn update(name: &str, kind: &str, updated_at: &str) -> Value {
    json!({
        "action": "update",
        "actor": {"id": "8b1c6d9e-1a2b-4c3d-9e8f-7a6b5c4d3e2f", "type": "user", "name": "Dev"},
        "createdAt": updated_at,
        "data": {
            "id": "2174add1-f7c8-44e3-bbf3-2d60b5ea8bc9",
            "createdAt": "2024-02-28T08:15:30.000Z",
            "updatedAt": updated_at,
            "archivedAt": null,
            "number": 42,
            "title": "One-click checkout",
            "priority": 2,
            "priorityLabel": "High",
            "estimate": null,
            "sortOrder": -1024.5,
            "identifier": "ENG-42",
            "url": "https://linear.app/acme/issue/ENG-42/one-click-checkout",
            "teamId": "72b2a2dc-6f4f-4423-9d34-24b5bd10634a",
            "team": {"id": "72b2a2dc-6f4f-4423-9d34-24b5bd10634a", "key": "ENG", "name": "Engineering"},
            "stateId": "5e6f7a8b-0c1d-4e2f-8a9b-1c2d3e4f5a6b",
            "state": {"id": "5e6f7a8b-0c1d-4e2f-8a9b-1c2d3e4f5a6b", "color": "#f2c94c",
                      "name": name, "type": kind},
            "labelIds": [],
            "labels": [],
            "subscriberIds": ["8b1c6d9e-1a2b-4c3d-9e8f-7a6b5c4d3e2f"]
        },
        "updatedFrom": {
            "updatedAt": "2024-02-29T16:00:00.000Z",
            "sortOrder": -2048.5,
            "stateId": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
        },
        "url": "https://linear.app/acme/issue/ENG-42/one-click-checkout",
        "type": "Issue",
        "organizationId": "b6c7d8e9-f0a1-4b2c-9d3e-4f5a6b7c8d9e",
        "webhookTimestamp": 1709287200456_i64,
        "webhookId": "000042e3-d123-4980-b49f-8e140eef9329"
    })
}

fn item(state: &str, category: Option<&'static str>, at: &str) -> WorkItemV1<'static> {
    WorkItemV1 {
        id: "linear-ENG-42".into(),
        service: "ENG".into(),
        state: state.to_owned().into(),
        category: category.map(Into::into),
        at: at.to_owned().into(),
        ..WorkItemV1::default()
    }
}

#[test]
fn a_state_change_is_a_transition_at_the_update_time() {
    let v = update("Done", "completed", "2024-03-01T10:00:00.123Z");
    let m = map(&body(&v), &cfg()).unwrap();
    assert_eq!(
        m,
        Mapped::one(
            "issue.update",
            Out::WorkItem(item("Done", Some("done"), "2024-03-01T10:00:00.123Z"))
        )
    );
    assert_eq!(m.out[0].key(), "linear-ENG-42");
    assert_eq!(
        String::from_utf8(m.out[0].to_json()).unwrap(),
        r#"{"id":"linear-ENG-42","service":"ENG","state":"Done","category":"done","at":"2024-03-01T10:00:00.123Z"}"#
    );
    // Redelivered: identical (the daemon's duplicate).
    assert_eq!(map(&body(&v), &cfg()).unwrap(), m);
}

#[test]
fn state_types_give_categories_and_started_is_left_to_flow_states() {
    let at = "2024-03-01T10:00:00Z";
    for (name, kind, category) in [
        ("Triage", "triage", Some("waiting")),
        ("Backlog", "backlog", Some("waiting")),
        ("Todo", "unstarted", Some("waiting")),
        ("In Review", "started", None),
        ("Canceled", "canceled", Some("waiting")),
        ("Duplicate", "canceled", Some("waiting")),
        ("Done", "completed", Some("done")),
        ("Someday", "a_new_type", None),
    ] {
        let v = update(name, kind, at);
        assert_eq!(
            map(&body(&v), &cfg()).unwrap().out,
            vec![Out::WorkItem(item(name, category, at))],
            "{kind}"
        );
    }
    let mut c = cfg();
    c.state_types.push("started".into());
    let v = update("In Progress", "started", at);
    assert_eq!(
        map(&body(&v), &c).unwrap().out,
        vec![Out::WorkItem(item("In Progress", Some("active"), at))]
    );
}

#[test]
fn create_is_a_transition_into_the_first_state_at_creation() {
    let mut v = update("Backlog", "backlog", "2024-02-28T08:15:30.000Z");
    set(&mut v, "/action", json!("create"));
    v.as_object_mut().unwrap().remove("updatedFrom");
    assert_eq!(
        map(&body(&v), &cfg()),
        Ok(Mapped::one(
            "issue.create",
            Out::WorkItem(item("Backlog", Some("waiting"), "2024-02-28T08:15:30Z"))
        ))
    );
}

#[test]
fn other_updates_types_and_actions_are_ignored() {
    // An update of the title only: updatedFrom has no stateId.
    let mut v = update("In Progress", "started", "2024-03-01T10:00:00Z");
    set(
        &mut v,
        "/updatedFrom",
        json!({"updatedAt": "2024-02-29T16:00:00.000Z", "title": "Checkout"}),
    );
    assert_eq!(map(&body(&v), &cfg()), Ok(Mapped::ignored("issue.update")));
    let mut v = update("In Progress", "started", "2024-03-01T10:00:00Z");
    set(&mut v, "/action", json!("remove"));
    assert_eq!(map(&body(&v), &cfg()), Ok(Mapped::ignored("issue.remove")));
    let comment = json!({
        "action": "create", "type": "Comment",
        "createdAt": "2024-03-01T10:00:00.000Z",
        "data": {"id": "c1", "body": "LGTM", "issueId": "2174add1-f7c8-44e3-bbf3-2d60b5ea8bc9"},
        "url": "https://linear.app/acme/issue/ENG-42#comment-c1",
        "organizationId": "b6c7d8e9-f0a1-4b2c-9d3e-4f5a6b7c8d9e",
        "webhookTimestamp": 1709287200456_i64,
        "webhookId": "000042e3-d123-4980-b49f-8e140eef9329"
    });
    assert_eq!(map(&body(&comment), &cfg()), Ok(Mapped::ignored("other")));
}

#[test]
fn the_team_key_maps_to_service_and_team() {
    let mut c = cfg();
    c.services = vec![ServiceRule {
        matches: compile("ENG|PAY").unwrap(),
        service: "checkout".into(),
        team: "payments".into(),
    }];
    let mut v = update("Done", "completed", "2024-03-01T10:00:00Z");
    let Out::WorkItem(w) = &map(&body(&v), &c).unwrap().out[0] else {
        panic!("a work item")
    };
    assert_eq!(
        (w.service.as_ref(), w.team.as_deref()),
        ("checkout", Some("payments"))
    );
    // Without `team`, the identifier's prefix is the team key.
    v["data"].as_object_mut().unwrap().remove("team");
    set(&mut v, "/data/identifier", json!("WEB-7"));
    let Out::WorkItem(w) = &map(&body(&v), &c).unwrap().out[0] else {
        panic!("a work item")
    };
    assert_eq!((w.service.as_ref(), w.team.as_deref()), ("WEB", None));
}

#[test]
fn a_malformed_delivery_names_its_field() {
    let m = |f: &str| Err(Malformed(f.into()));
    assert_eq!(map(b"\"Issue\"", &cfg()), m("body"));
    assert_eq!(map(b"{}", &cfg()), m("type"));
    let good = update("Done", "completed", "2024-03-01T10:00:00Z");
    let cases: [(&str, Value, &str); 6] = [
        ("/action", json!(1), "action"),
        ("/data/identifier", json!(""), "data.identifier"),
        ("/data/state", Value::Null, "data.state"),
        ("/data/state/name", json!(7), "data.state.name"),
        ("/data/updatedAt", json!("soon"), "data.updatedAt"),
        ("/data/team", json!({"id": "x"}), "data.team.key"),
    ];
    for (pointer, to, field) in cases {
        let mut v = good.clone();
        set(&mut v, pointer, to);
        assert_eq!(map(&body(&v), &cfg()), m(field), "{pointer}");
    }
}

#[test]
fn fresh_refuses_a_timestamp_outside_the_tolerance() {
    let v = body(&update("Done", "completed", "2024-03-01T10:00:00Z"));
    // webhookTimestamp 1709287200456 ms.
    assert_eq!(fresh(&v, 1709287200, 60), Ok(()));
    assert_eq!(fresh(&v, 1709287260, 60), Ok(()));
    assert_eq!(fresh(&v, 1709287261, 60), Err(Refused::Stale));
    assert_eq!(fresh(&v, 1709287139, 60), Err(Refused::Stale));
    assert_eq!(fresh(b"{}", 1709287200, 60), Err(Refused::Missing));
}
