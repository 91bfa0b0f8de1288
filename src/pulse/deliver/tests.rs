//! `pulse send`'s pure parts: the retry schedule, how an answer is read,
//! record keys, the generic payload and the exit codes.

use std::time::Duration;

use super::{Report, backoff, payload, record_key};
use crate::config::Config;
use crate::config::pulse_delivery::DestinationKind;
use crate::pulse::client::{Posted, classify, percent_encode};
use crate::pulse::model::{Comparison, Item, Pulse, SCHEMA, Section};

/// A pulse of team `payments` in week 2026-W49: two items created (one
/// with characters chat formats give a meaning to), nothing blocked, one
/// opportunity with 3 more left out, one risk.
pub(crate) fn sample() -> Pulse {
    let item = |kind: &str, text: &str, value: f64, previous: Option<f64>, unit: &str| Item {
        kind: kind.to_owned(),
        text: text.to_owned(),
        subject: None,
        value: Some(value),
        previous,
        unit: unit.to_owned(),
        comparison: if previous.is_some() {
            Comparison::State
        } else {
            Comparison::None
        },
    };
    Pulse {
        schema: SCHEMA.to_owned(),
        team: Some("payments".to_owned()),
        week: "2026-W49".to_owned(),
        from: "2026-11-27T15:00:00Z".to_owned(),
        to: "2026-12-04T15:00:00Z".to_owned(),
        previous_from: "2026-11-20T15:00:00Z".to_owned(),
        created: Section {
            items: vec![
                item(
                    "deploys",
                    "12 deploys to production (8 the week before)",
                    12.0,
                    Some(8.0),
                    "count",
                ),
                item(
                    "feature_shipped",
                    "Shipped <refunds> & first used 2 h later by 40 users",
                    40.0,
                    None,
                    "users",
                ),
            ],
            more: 0,
        },
        blocked: Section::default(),
        opportunities: Section {
            items: vec![item(
                "feature_unused",
                "export_csv shipped 9 days ago and still unused",
                0.0,
                None,
                "users",
            )],
            more: 3,
        },
        risks: Section {
            items: vec![item(
                "change_failure_rate",
                "Change failure rate 25 % (10 % the week before)",
                0.25,
                Some(0.1),
                "ratio",
            )],
            more: 0,
        },
    }
}

fn settings() -> super::DeliveryConfig {
    let mut c = Config::load_with_env(None, Vec::new())
        .unwrap()
        .pulse
        .delivery;
    c.backoff = Duration::from_secs(2);
    c.max_backoff = Duration::from_secs(60);
    c
}

#[test]
fn backoff_doubles_from_the_first_retry_and_stops_at_the_cap() {
    let s = settings();
    let waits: Vec<u64> = (2..=8).map(|n| backoff(&s, n, None).as_secs()).collect();
    assert_eq!(waits, [2, 4, 8, 16, 32, 60, 60]);
    assert_eq!(backoff(&s, 40, None), Duration::from_secs(60));
}

#[test]
fn a_retry_after_is_honoured_up_to_the_cap() {
    let s = settings();
    assert_eq!(
        backoff(&s, 2, Some(Duration::from_secs(7))),
        Duration::from_secs(7)
    );
    assert_eq!(
        backoff(&s, 2, Some(Duration::from_secs(3600))),
        Duration::from_secs(60)
    );
}

#[test]
fn answers_are_accepted_retried_or_refused() {
    assert_eq!(classify(200, None), Posted::Accepted(200));
    assert_eq!(classify(202, None), Posted::Accepted(202));
    assert_eq!(
        classify(429, Some(" 30 ")),
        Posted::Retry {
            reason: "HTTP 429".to_owned(),
            retry_after: Some(Duration::from_secs(30))
        }
    );
    assert_eq!(
        classify(503, Some("Wed, 21 Oct 2026 07:28:00 GMT")),
        Posted::Retry {
            reason: "HTTP 503".to_owned(),
            retry_after: None
        }
    );
    assert!(matches!(classify(500, None), Posted::Retry { .. }));
    assert_eq!(classify(404, None), Posted::Refused("HTTP 404".to_owned()));
    assert_eq!(classify(400, None), Posted::Refused("HTTP 400".to_owned()));
    assert_eq!(classify(301, None), Posted::Refused("HTTP 301".to_owned()));
}

#[test]
fn record_keys_and_team_query_values() {
    assert_eq!(
        record_key("payments", "2026-W49", "payments-slack"),
        "payments/2026-W49/payments-slack"
    );
    assert_eq!(percent_encode("payments"), "payments");
    assert_eq!(percent_encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
}

#[test]
fn the_generic_webhook_gets_the_pulse_json_itself() {
    let p = sample();
    let body = payload(DestinationKind::Webhook, &p);
    let back: Pulse = serde_json::from_slice(&body).unwrap();
    assert_eq!(back, p);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["schema"], "valuepulse.pulse/v1");
}

#[test]
fn exit_codes_say_what_went_wrong() {
    let pair = || ("payments".to_owned(), "slack".to_owned());
    let mut r = Report::default();
    assert_eq!(r.exit_code(), 0);
    r.already.push(pair());
    r.delivered.push(pair());
    assert_eq!(r.exit_code(), 0);
    r.failed.push(pair());
    assert_eq!(r.exit_code(), 75);
    r.unfetched.push("payments".to_owned());
    assert_eq!(r.exit_code(), 69);
    assert_eq!(
        r.summary(),
        "1 delivered, 1 already delivered this week, 1 failed, 1 teams not fetched, 0 posted but not recorded"
    );
}
