//! PagerDuty v3 payloads as PagerDuty documents them (the webhook payload
//! and `incident` data of its developer docs, unread fields included), and
//! the exact incidents they become.

#![allow(
    clippy::unreadable_literal,
    reason = "ids copied from the provider's documented payloads, as it prints them"
)]

use serde_json::{Value, json};

use super::*;
use crate::config::bridge::ServiceRule;
use crate::config::values::regex::compile;

fn cfg() -> PagerDutySource {
    PagerDutySource {
        enabled: None,
        secrets: crate::config::bridge::Secrets::default(),
        secrets_file: String::new(),
        insecure: false,
        services: Vec::new(),
    }
}

fn body(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

fn set(v: &mut Value, pointer: &str, to: Value) {
    *v.pointer_mut(pointer)
        .unwrap_or_else(|| panic!("{pointer}")) = to;
}

fn remove(v: &mut Value, pointer: &str) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    v.pointer_mut(parent)
        .unwrap()
        .as_object_mut()
        .unwrap()
        .remove(key)
        .unwrap_or_else(|| panic!("{pointer}"));
}

fn reference(kind: &str, id: &str, summary: &str, path: &str) -> Value {
    json!({
        "html_url": format!("https://acme.pagerduty.com/{path}/{id}"),
        "id": id,
        "self": format!("https://api.pagerduty.com/{path}/{id}"),
        "summary": summary,
        "type": kind
    })
}

/// A v3 delivery of `event_type` for incident PGR0VU2, which was created at
/// 2020-04-09T15:16:27Z.
fn delivery(event_type: &str, occurred_at: &str) -> Value {
    let status = match event_type {
        "incident.resolved" => "resolved",
        "incident.acknowledged" => "acknowledged",
        _ => "triggered",
    };
    json!({
        "event": {
            "id": "5ac64822-4adc-4fda-ade0-410becf0de4f",
            "event_type": event_type,
            "resource_type": "incident",
            "occurred_at": occurred_at,
            "agent": reference("user_reference", "PLH1HKV", "Tenex Engineer", "users"),
            "client": {"name": "PagerDuty"},
            "data": {
                "id": "PGR0VU2",
                "type": "incident",
                "self": "https://api.pagerduty.com/incidents/PGR0VU2",
                "html_url": "https://acme.pagerduty.com/incidents/PGR0VU2",
                "number": 2,
                "status": status,
                "incident_key": "d3640fbd41094207a1c11e58e46b1662",
                "created_at": "2020-04-09T15:16:27Z",
                "title": "A little bump in the road",
                "service": reference("service_reference", "PF9KMXH", "API Service", "services"),
                "assignees": [reference("user_reference", "PTUXL6G", "User 123", "users")],
                "escalation_policy": reference("escalation_policy_reference", "PUS0KTE", "Default", "escalation_policies"),
                "teams": [reference("team_reference", "PFCVPS0", "Engineering", "teams")],
                "priority": reference("priority_reference", "PSO75BM", "P1", "priorities"),
                "urgency": "high",
                "conference_bridge": {
                    "conference_number": "+1 1234123412,,987654321#",
                    "conference_url": "https://example.com"
                },
                "resolve_reason": null
            }
        }
    })
}

fn opened(opened_at: &str) -> IncidentV1<'static> {
    IncidentV1 {
        id: "pagerduty-PGR0VU2".into(),
        service: "API Service".into(),
        team: None,
        environment: None,
        status: "opened".into(),
        severity: Some("P1".into()),
        opened_at: opened_at.to_owned().into(),
        resolved_at: None,
        ..IncidentV1::default()
    }
}

fn one(event: &'static str, i: IncidentV1<'static>) -> Mapped {
    Mapped {
        event,
        out: vec![Out::Incident(i)],
        truncated_push: false,
    }
}

fn malformed(field: &str) -> Result<Mapped, Malformed> {
    Err(Malformed(field.into()))
}

#[test]
fn triggered_opens_an_incident_at_its_creation() {
    let v = delivery("incident.triggered", "2020-04-09T15:16:28.102Z");
    let m = map(&body(&v), &cfg()).unwrap();
    assert_eq!(m, one("incident.triggered", opened("2020-04-09T15:16:27Z")));
    assert_eq!(m.out[0].key(), "API Service");
    assert_eq!(
        String::from_utf8(m.out[0].to_json()).unwrap(),
        r#"{"id":"pagerduty-PGR0VU2","service":"API Service","status":"opened","severity":"P1","opened_at":"2020-04-09T15:16:27Z"}"#
    );
    // Redelivered (PagerDuty retries with the same body): identical.
    assert_eq!(map(&body(&v), &cfg()).unwrap(), m);
}

#[test]
fn resolved_is_resolved_when_the_event_occurred() {
    let v = delivery("incident.resolved", "2020-04-09T16:01:02.512Z");
    let expected = IncidentV1 {
        status: "resolved".into(),
        resolved_at: Some("2020-04-09T16:01:02.512Z".into()),
        ..opened("2020-04-09T15:16:27Z")
    };
    assert_eq!(
        map(&body(&v), &cfg()),
        Ok(one("incident.resolved", expected))
    );
}

#[test]
fn reopened_opens_the_same_incident_when_the_event_occurred() {
    let v = delivery("incident.reopened", "2020-04-09T17:30:00+01:00");
    assert_eq!(
        map(&body(&v), &cfg()),
        Ok(one("incident.reopened", opened("2020-04-09T16:30:00Z")))
    );
}

#[test]
fn severity_is_the_priority_else_the_urgency() {
    let mut v = delivery("incident.triggered", "2020-04-09T15:16:28Z");
    set(&mut v, "/event/data/priority", Value::Null);
    let m = map(&body(&v), &cfg()).unwrap();
    let low = IncidentV1 {
        severity: Some("high".into()),
        ..opened("2020-04-09T15:16:27Z")
    };
    assert_eq!(m, one("incident.triggered", low));
    remove(&mut v, "/event/data/urgency");
    let Out::Incident(i) = &map(&body(&v), &cfg()).unwrap().out[0] else {
        panic!("an incident")
    };
    assert_eq!(i.severity, None);
}

#[test]
fn the_pagerduty_service_maps_to_service_and_team() {
    let mut c = cfg();
    c.services = vec![
        ServiceRule {
            matches: compile("API .*").unwrap(),
            service: "api".into(),
            team: "platform".into(),
        },
        ServiceRule {
            matches: compile("Checkout").unwrap(),
            service: String::new(),
            team: "payments".into(),
        },
    ];
    let v = delivery("incident.triggered", "2020-04-09T15:16:28Z");
    let m = map(&body(&v), &c).unwrap();
    let expected = IncidentV1 {
        service: "api".into(),
        team: Some("platform".into()),
        ..opened("2020-04-09T15:16:27Z")
    };
    assert_eq!(m, one("incident.triggered", expected));
    assert_eq!(m.out[0].key(), "api");

    let mut v = v;
    set(&mut v, "/event/data/service/summary", json!("Checkout"));
    let Out::Incident(i) = &map(&body(&v), &c).unwrap().out[0] else {
        panic!("an incident")
    };
    assert_eq!(
        (i.service.as_ref(), i.team.as_deref()),
        ("Checkout", Some("payments"))
    );
}

#[test]
fn other_event_types_are_ignored_under_a_bounded_label() {
    for t in [
        "incident.acknowledged",
        "incident.unacknowledged",
        "incident.escalated",
        "incident.priority_updated",
        "incident.reassigned",
        "incident.delegated",
    ] {
        let v = delivery(t, "2020-04-09T15:20:00Z");
        assert_eq!(map(&body(&v), &cfg()), Ok(Mapped::ignored(t)), "{t}");
    }
    // An incident_note: other data, never read.
    let annotated = json!({
        "event": {
            "id": "01BRB6ZP4M6T8ZG4X6BP63ZB9P",
            "event_type": "incident.annotated",
            "resource_type": "incident",
            "occurred_at": "2020-10-02T18:45:22.169Z",
            "agent": reference("user_reference", "PLH1HKV", "Tenex Engineer", "users"),
            "client": null,
            "data": {
                "incident": reference("incident_reference", "PGR0VU2", "A little bump in the road", "incidents"),
                "id": "P2LA89X",
                "content": "I sure am glad we are using PagerDuty!",
                "trimmed": false,
                "type": "incident_note"
            }
        }
    });
    assert_eq!(
        map(&body(&annotated), &cfg()),
        Ok(Mapped::ignored("incident.annotated"))
    );
    let service = json!({
        "event": {
            "id": "01BRB6ZP4M6T8ZG4X6BP63ZB9O",
            "event_type": "service.updated",
            "resource_type": "service",
            "occurred_at": "2021-03-02T13:35:11.682Z",
            "agent": null,
            "client": null,
            "data": {"id": "PF9KMXH", "summary": "testing service updates", "type": "service"}
        }
    });
    assert_eq!(
        map(&body(&service), &cfg()),
        Ok(Mapped::ignored("service.updated"))
    );
    let mut unknown = service;
    set(
        &mut unknown,
        "/event/event_type",
        json!("incident.something_new"),
    );
    assert_eq!(map(&body(&unknown), &cfg()), Ok(Mapped::ignored("other")));
}

#[test]
fn a_malformed_delivery_names_its_field() {
    assert_eq!(map(b"", &cfg()), malformed("body"));
    assert_eq!(map(b"{\"event\":", &cfg()), malformed("body"));
    assert_eq!(map(b"{\"messages\": []}", &cfg()), malformed("event"));
    let cases: [(&str, &str, Option<Value>, &str); 8] = [
        (
            "incident.triggered",
            "/event/event_type",
            Some(json!(3)),
            "event.event_type",
        ),
        ("incident.triggered", "/event/data", None, "event.data"),
        (
            "incident.triggered",
            "/event/data/id",
            Some(json!("")),
            "event.data.id",
        ),
        (
            "incident.triggered",
            "/event/data/service",
            None,
            "event.data.service",
        ),
        (
            "incident.triggered",
            "/event/data/created_at",
            Some(json!("now")),
            "event.data.created_at",
        ),
        (
            "incident.resolved",
            "/event/occurred_at",
            None,
            "event.occurred_at",
        ),
        (
            "incident.reopened",
            "/event/occurred_at",
            Some(json!(1586445387)),
            "event.occurred_at",
        ),
        (
            "incident.triggered",
            "/event/data/priority",
            Some(json!({"id": "PSO75BM"})),
            "event.data.priority.summary",
        ),
    ];
    for (t, pointer, to, field) in cases {
        let mut v = delivery(t, "2020-04-09T16:01:02Z");
        match to {
            Some(to) => set(&mut v, pointer, to),
            None => remove(&mut v, pointer),
        }
        assert_eq!(map(&body(&v), &cfg()), malformed(field), "{t} {pointer}");
    }
}
