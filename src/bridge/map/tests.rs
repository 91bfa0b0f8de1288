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
