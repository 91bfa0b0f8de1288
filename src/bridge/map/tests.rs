//! The shared lookups: rules, production names, forge timestamps.

use super::*;
use crate::config::values::regex::compile;

fn rule(m: &str, service: &str, team: &str) -> ServiceRule {
    ServiceRule {
        matches: compile(m).unwrap(),
        service: service.into(),
        team: team.into(),
    }
}

#[test]
fn the_first_matching_rule_names_service_and_team() {
    let rules = [
        rule("acme/checkout-.*", "checkout", "payments"),
        rule("acme/.*", "", "platform"),
    ];
    assert_eq!(
        service_of(&rules, "acme/checkout-api", "checkout-api"),
        ("checkout".into(), Some("payments".into()))
    );
    assert_eq!(
        service_of(&rules, "acme/search", "search"),
        ("search".into(), Some("platform".into()))
    );
    assert_eq!(service_of(&rules, "other/x", "x"), ("x".into(), None));
}

#[test]
fn production_names_become_production_and_others_pass_through() {
    let p = compile("prod|production|live").unwrap();
    assert_eq!(environment(Some(&p), "prod"), "production");
    assert_eq!(environment(Some(&p), "live"), "production");
    assert_eq!(environment(Some(&p), "preprod"), "preprod");
    assert_eq!(environment(None, "Production"), "Production");
}

#[test]
fn forge_timestamps_in_every_form_read_as_the_same_instant() {
    // 2021-04-28 21:50:00 +0200 is 19:50:00 UTC.
    let utc = "2021-04-28T19:50:00Z";
    assert_eq!(timestamp("2021-04-28 21:50:00 +0200").as_deref(), Some(utc));
    assert_eq!(timestamp("2021-04-28 19:50:00 UTC").as_deref(), Some(utc));
    assert_eq!(timestamp("2021-04-28T21:50:00+02:00").as_deref(), Some(utc));
    assert_eq!(timestamp(utc).as_deref(), Some(utc));
    assert_eq!(timestamp("2021-04-28 12:50:00 -0700").as_deref(), Some(utc));
    assert_eq!(timestamp("yesterday"), None);
    assert_eq!(timestamp("2021-04-28 21:50:00"), None, "no zone: refused");
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct Payload {
    id: Field<u64>,
    name: Field<String>,
    at: Field<String>,
}

#[test]
fn a_field_is_absent_mistyped_or_read_and_errors_name_it() {
    let p: Payload =
        json(br#"{"id": "7", "name": null, "at": "2021-04-28 21:50:00 +0200"}"#).unwrap();
    assert_eq!(p.id.optional("id"), Err(Malformed("id".into())));
    assert_eq!(p.name.optional("name"), Ok(None));
    assert_eq!(p.at.time("at").as_deref(), Ok("2021-04-28T19:50:00Z"));

    let p: Payload = json(br#"{"id": 7, "name": " ", "at": "later"}"#).unwrap();
    assert_eq!(p.id.required("id"), Ok(7));
    assert_eq!(p.name.text("name"), Err(Malformed("name".into())));
    assert_eq!(p.at.opt_time("at"), Err(Malformed("at".into())));

    let p: Payload = json(b" {}").unwrap();
    assert_eq!(p.id.required("id"), Err(Malformed("id".into())));
    assert_eq!(p.at.opt_time("at"), Ok(None));
}

#[test]
fn a_body_that_is_no_json_object_is_malformed() {
    for body in [
        &b""[..],
        b"[]",
        b"null",
        b"\"text\"",
        b"{\"id\": 1",
        b"\xff",
    ] {
        assert_eq!(
            json::<Payload>(body).err(),
            Some(Malformed("body".into())),
            "{body:?}"
        );
    }
}

#[test]
fn labels_are_the_same_whatever_their_case() {
    assert!(same_label("Incident", "incident"));
    assert!(same_label("SEV-1 Incident", "sev-1 incident"));
    assert!(same_label("Störung", "STÖRUNG"));
    assert!(!same_label("incident", "incidents"));
}
