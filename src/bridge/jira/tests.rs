//! Jira Cloud payloads as Atlassian documents them (an admin webhook's
//! `jira:issue_updated` with its `changelog`, `jira:issue_created`, unread
//! fields included), and the exact events they become. Times were converted
//! by hand: 1709287200123 ms is 2024-03-01T10:00:00.123Z (2024-03-01 is day
//! 19 783 since 1970, × 86 400 s = 1 709 251 200 s, plus 10 h).

#![allow(
    clippy::unreadable_literal,
    reason = "ids and epoch times copied as Jira prints them"
)]

use serde_json::{Value, json};

use super::*;
use crate::config::bridge::ServiceRule;
use crate::config::values::regex::compile;

fn cfg() -> JiraSource {
    JiraSource {
        enabled: None,
        secrets: crate::config::bridge::Secrets::default(),
        secrets_file: String::new(),
        insecure: false,
        services: Vec::new(),
        status_categories: vec!["new".into(), "done".into()],
        incident_types: vec!["Incident".into()],
        incident_priorities: Vec::new(),
        incident_labels: Vec::new(),
    }
}

fn body(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

fn set(v: &mut Value, pointer: &str, to: Value) {
    *v.pointer_mut(pointer)
        .unwrap_or_else(|| panic!("{pointer}")) = to;
}

/// A Jira status as the REST API and webhooks print it.
fn status(id: &str, name: &str, category: (u8, &str, &str, &str)) -> Value {
    let (cat_id, key, color, cat_name) = category;
    json!({
        "self": format!("https://acme.atlassian.net/rest/api/2/status/{id}"),
        "description": "",
        "iconUrl": "https://acme.atlassian.net/",
        "name": name,
        "id": id,
        "statusCategory": {
            "self": format!("https://acme.atlassian.net/rest/api/2/statuscategory/{cat_id}"),
            "id": cat_id,
            "key": key,
            "colorName": color,
            "name": cat_name
        }
    })
}

const TO_DO: (u8, &str, &str, &str) = (2, "new", "blue-gray", "To Do");
const IN_PROGRESS: (u8, &str, &str, &str) = (4, "indeterminate", "yellow", "In Progress");
const DONE: (u8, &str, &str, &str) = (3, "done", "green", "Done");

/// Issue PAY-17 (a Story of project PAY) now in `now_status`.
fn issue(now_status: Value) -> Value {
    json!({
        "id": "10042",
        "self": "https://acme.atlassian.net/rest/api/2/10042",
        "key": "PAY-17",
        "fields": {
            "statuscategorychangedate": "2024-03-01T11:00:00.123+0100",
            "issuetype": {
                "self": "https://acme.atlassian.net/rest/api/2/issuetype/10001",
                "id": "10001",
                "description": "Functionality or a feature expressed as a user goal.",
                "name": "Story",
                "subtask": false
            },
            "project": {
                "self": "https://acme.atlassian.net/rest/api/2/project/10000",
                "id": "10000",
                "key": "PAY",
                "name": "Payments",
                "projectTypeKey": "software",
                "simplified": false
            },
            "resolution": null,
            "resolutiondate": null,
            "created": "2024-02-28T09:15:30.000+0100",
            "updated": "2024-03-01T11:00:00.123+0100",
            "priority": {
                "self": "https://acme.atlassian.net/rest/api/2/priority/3",
                "iconUrl": "https://acme.atlassian.net/images/icons/priorities/medium.svg",
                "name": "Medium",
                "id": "3"
            },
            "labels": ["checkout"],
            "assignee": null,
            "status": now_status,
            "summary": "One-click checkout",
            "customfield_10020": null
        }
    })
}

/// A `jira:issue_updated` delivery at `timestamp` moving PAY-17 from To Do
/// (id 10000) into `to`.
fn updated(timestamp: i64, to: &Value) -> Value {
    json!({
        "timestamp": timestamp,
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_generic",
        "user": {
            "self": "https://acme.atlassian.net/rest/api/2/user?accountId=5b10ac8d82e05b22cc7d4ef5",
            "accountId": "5b10ac8d82e05b22cc7d4ef5",
            "displayName": "Dev",
            "active": true,
            "timeZone": "Europe/Berlin",
            "accountType": "atlassian"
        },
        "issue": issue(to.clone()),
        "changelog": {
            "id": "10301",
            "items": [
                {
                    "field": "resolution",
                    "fieldtype": "jira",
                    "fieldId": "resolution",
                    "from": null,
                    "fromString": null,
                    "to": null,
                    "toString": null
                },
                {
                    "field": "status",
                    "fieldtype": "jira",
                    "fieldId": "status",
                    "from": "10000",
                    "fromString": "To Do",
                    "to": to["id"],
                    "toString": to["name"]
                }
            ]
        }
    })
}

fn item(state: &str, category: Option<&'static str>, at: &str) -> WorkItemV1<'static> {
    WorkItemV1 {
        id: "jira-PAY-17".into(),
        service: "PAY".into(),
        state: state.to_owned().into(),
        category: category.map(Into::into),
        at: at.to_owned().into(),
        ..WorkItemV1::default()
    }
}

fn mapped(event: &'static str, out: Vec<Out>) -> Mapped {
    Mapped {
        event,
        out,
        truncated_push: false,
    }
}

#[test]
fn a_status_change_is_a_transition_at_the_event_time() {
    let v = updated(1709287200123, &status("3", "In Progress", IN_PROGRESS));
    let m = map(&body(&v), &cfg()).unwrap();
    // "In Progress" (indeterminate) is not trusted by default: no category,
    // flow.states decides by the name.
    assert_eq!(
        m,
        Mapped::one(
            "jira:issue_updated",
            Out::WorkItem(item("In Progress", None, "2024-03-01T10:00:00.123Z"))
        )
    );
    assert_eq!(m.out[0].key(), "jira-PAY-17");
    assert_eq!(
        String::from_utf8(m.out[0].to_json()).unwrap(),
        r#"{"id":"jira-PAY-17","service":"PAY","state":"In Progress","at":"2024-03-01T10:00:00.123Z"}"#
    );
    // Redelivered (Jira retries with the same body): identical, so the
    // daemon's duplicate.
    assert_eq!(map(&body(&v), &cfg()).unwrap(), m);
    // Trusting indeterminate: active.
    let mut c = cfg();
    c.status_categories.push("indeterminate".into());
    assert_eq!(
        map(&body(&v), &c).unwrap().out,
        vec![Out::WorkItem(item(
            "In Progress",
            Some("active"),
            "2024-03-01T10:00:00.123Z"
        ))]
    );
}

#[test]
fn the_new_status_category_gives_waiting_and_done() {
    let v = updated(1709290800000, &status("10001", "Shipped", DONE));
    assert_eq!(
        map(&body(&v), &cfg()).unwrap().out,
        vec![Out::WorkItem(item(
            "Shipped",
            Some("done"),
            "2024-03-01T11:00:00Z"
        ))]
    );
    let v = updated(1709290800000, &status("10000", "Backlog", TO_DO));
    assert_eq!(
        map(&body(&v), &cfg()).unwrap().out,
        vec![Out::WorkItem(item(
            "Backlog",
            Some("waiting"),
            "2024-03-01T11:00:00Z"
        ))]
    );
    // Trusted categories only.
    let mut c = cfg();
    c.status_categories.clear();
    assert_eq!(
        map(&body(&v), &c).unwrap().out,
        vec![Out::WorkItem(item("Backlog", None, "2024-03-01T11:00:00Z"))]
    );
}

#[test]
fn the_issue_status_gives_the_category_only_when_it_is_the_status_entered() {
    // The issue already moved on (another status id than the entry's `to`):
    // its category says nothing about this transition.
    let mut v = updated(1709290800000, &status("10001", "Shipped", DONE));
    set(
        &mut v,
        "/issue/fields/status",
        status("3", "In Progress", IN_PROGRESS),
    );
    assert_eq!(
        map(&body(&v), &cfg()).unwrap().out,
        vec![Out::WorkItem(item("Shipped", None, "2024-03-01T11:00:00Z"))]
    );
    // No statusCategory at all: none either.
    let mut v = updated(1709290800000, &status("10001", "Shipped", DONE));
    set(&mut v, "/issue/fields/status/statusCategory", Value::Null);
    assert_eq!(
        map(&body(&v), &cfg()).unwrap().out,
        vec![Out::WorkItem(item("Shipped", None, "2024-03-01T11:00:00Z"))]
    );
}

#[test]
fn an_update_without_a_status_change_is_ignored() {
    let mut v = updated(1709290800000, &status("3", "In Progress", IN_PROGRESS));
    set(
        &mut v,
        "/changelog/items",
        json!([{"field": "summary", "fieldtype": "jira", "fieldId": "summary",
                "from": null, "fromString": "Checkout", "to": null, "toString": "One-click checkout"},
               {"field": "status", "fieldtype": "custom", "fieldId": "customfield_10100",
                "from": null, "fromString": "a", "to": null, "toString": "b"}]),
    );
    assert_eq!(
        map(&body(&v), &cfg()),
        Ok(Mapped::ignored("jira:issue_updated"))
    );
    v.as_object_mut().unwrap().remove("changelog");
    assert_eq!(
        map(&body(&v), &cfg()),
        Ok(Mapped::ignored("jira:issue_updated"))
    );
}

#[test]
fn created_is_a_transition_into_the_first_status() {
    let mut v = updated(1709111730000, &status("10000", "To Do", TO_DO));
    set(&mut v, "/webhookEvent", json!("jira:issue_created"));
    set(&mut v, "/issue_event_type_name", json!("issue_created"));
    v.as_object_mut().unwrap().remove("changelog");
    // 1709111730000 ms: 2024-02-28 (day 19 781) 09:15:30 UTC.
    assert_eq!(
        map(&body(&v), &cfg()),
        Ok(Mapped::one(
            "jira:issue_created",
            Out::WorkItem(item("To Do", Some("waiting"), "2024-02-28T09:15:30Z"))
        ))
    );
}

#[test]
fn an_incident_issue_is_also_an_incident_opened_and_resolved() {
    let mut v = updated(1709287200000, &status("10001", "Done", DONE));
    set(&mut v, "/issue/fields/issuetype/name", json!("incident"));
    set(&mut v, "/issue/fields/priority/name", json!("Highest"));
    let opened = IncidentV1 {
        id: "jira-incident-PAY-17".into(),
        service: "PAY".into(),
        status: "opened".into(),
        severity: Some("Highest".into()),
        // 09:15:30 at +01:00.
        opened_at: "2024-02-28T08:15:30Z".into(),
        ..IncidentV1::default()
    };
    let done = Out::WorkItem(item("Done", Some("done"), "2024-03-01T10:00:00Z"));
    assert_eq!(
        map(&body(&v), &cfg()),
        Ok(mapped(
            "jira:issue_updated",
            vec![done.clone(), Out::Incident(opened.clone())]
        ))
    );
    set(
        &mut v,
        "/issue/fields/resolutiondate",
        json!("2024-03-01T11:00:00.000+0100"),
    );
    let resolved = IncidentV1 {
        status: "resolved".into(),
        resolved_at: Some("2024-03-01T10:00:00Z".into()),
        ..opened.clone()
    };
    let m = map(&body(&v), &cfg()).unwrap();
    assert_eq!(
        m,
        mapped(
            "jira:issue_updated",
            vec![done, Out::Incident(resolved.clone())]
        )
    );
    assert_eq!(m.out[1].key(), "PAY");
    // A comment edit on the incident (no status change): the incident
    // again, which the daemon counts as a duplicate.
    set(&mut v, "/changelog/items", json!([]));
    assert_eq!(
        map(&body(&v), &cfg()),
        Ok(mapped("jira:issue_updated", vec![Out::Incident(resolved)]))
    );
}

#[test]
fn incidents_by_priority_or_label_and_not_otherwise() {
    let v = updated(1709287200000, &status("3", "In Progress", IN_PROGRESS));
    let incidents = |c: &JiraSource| {
        map(&body(&v), c)
            .unwrap()
            .out
            .iter()
            .filter(|o| matches!(o, Out::Incident(_)))
            .count()
    };
    assert_eq!(incidents(&cfg()), 0);
    let mut c = cfg();
    c.incident_priorities = vec!["medium".into()];
    assert_eq!(incidents(&c), 1);
    let mut c = cfg();
    c.incident_labels = vec!["Checkout".into()];
    assert_eq!(incidents(&c), 1);
    c.incident_labels = vec!["outage".into()];
    assert_eq!(incidents(&c), 0);
}

#[test]
fn the_project_key_maps_to_service_and_team() {
    let mut c = cfg();
    c.services = vec![ServiceRule {
        matches: compile("PAY|CHK").unwrap(),
        service: "checkout".into(),
        team: "payments".into(),
    }];
    let v = updated(1709287200000, &status("3", "In Progress", IN_PROGRESS));
    let Out::WorkItem(w) = &map(&body(&v), &c).unwrap().out[0] else {
        panic!("a work item")
    };
    assert_eq!(
        (w.service.as_ref(), w.team.as_deref()),
        ("checkout", Some("payments"))
    );
}

#[test]
fn other_events_are_ignored_under_a_bounded_label() {
    let mut v = updated(1709287200000, &status("3", "In Progress", IN_PROGRESS));
    set(&mut v, "/webhookEvent", json!("jira:issue_deleted"));
    assert_eq!(
        map(&body(&v), &cfg()),
        Ok(Mapped::ignored("jira:issue_deleted"))
    );
    let comment = json!({
        "timestamp": 1709287200000_i64,
        "webhookEvent": "comment_created",
        "comment": {"id": "10100", "body": "LGTM", "created": "2024-03-01T11:00:00.000+0100"},
        "issue": {"id": "10042", "key": "PAY-17", "fields": {"summary": "One-click checkout"}}
    });
    assert_eq!(map(&body(&comment), &cfg()), Ok(Mapped::ignored("other")));
}

#[test]
fn jira_times_are_read_with_or_without_a_colon_in_the_offset() {
    assert_eq!(
        millis("2024-03-01T10:00:00.000+0000").map(format_time),
        Some("2024-03-01T10:00:00Z".into())
    );
    assert_eq!(
        millis("2024-03-01T11:00:00.250+0100").map(format_time),
        Some("2024-03-01T10:00:00.250Z".into())
    );
    assert_eq!(
        millis("2024-03-01T04:30:00-0530").map(format_time),
        Some("2024-03-01T10:00:00Z".into())
    );
    assert_eq!(
        millis("2024-03-01T10:00:00Z").map(format_time),
        Some("2024-03-01T10:00:00Z".into())
    );
    assert_eq!(millis("yesterday"), None);
}

#[test]
fn a_malformed_delivery_names_its_field() {
    let m = |f: &str| Err(Malformed(f.into()));
    assert_eq!(map(b"[]", &cfg()), m("body"));
    assert_eq!(map(b"{}", &cfg()), m("webhookEvent"));
    let mut good = updated(1709287200000, &status("10001", "Done", DONE));
    set(&mut good, "/issue/fields/issuetype/name", json!("Incident"));
    let cases: [(&str, Value, &str); 6] = [
        ("/timestamp", json!("now"), "timestamp"),
        ("/issue/key", json!(""), "issue.key"),
        ("/issue/fields/project", Value::Null, "issue.fields.project"),
        (
            "/changelog/items/1/toString",
            Value::Null,
            "changelog.items[1].toString",
        ),
        // Read for incidents only.
        (
            "/issue/fields/created",
            json!("Feb 28"),
            "issue.fields.created",
        ),
        (
            "/issue/fields/resolutiondate",
            json!(1709287200000_i64),
            "issue.fields.resolutiondate",
        ),
    ];
    for (pointer, to, field) in cases {
        let mut v = good.clone();
        set(&mut v, pointer, to);
        assert_eq!(map(&body(&v), &cfg()), m(field), "{pointer}");
    }
}
