//! Format equivalence through a real Kafka broker: the hand-computed
//! scenario of `dora_e2e.rs` is fed once as native v1 events and once as
//! CDEvents (structured and binary CloudEvents, spec v0.4 and v0.5, mixed),
//! into two daemons on separate topics, and the two scrapes must agree on
//! every series.
//!
//! The CDEvents are built with the official SDKs: `cdevents-sdk` makes each
//! CDEvent, `cloudevents-sdk` wraps it in a CloudEvent and serializes it
//! (`common::cloudevents`).
//!
//! What CDEvents cannot express stays native in the CDEvents feed, on the
//! same topics: the failed deploys (c2, s2, s4) and the later `rolled_back`
//! mark of c4 (CDEvents v0.4/v0.5 have no event for either); so does c5, so
//! that attribution by artifact must match a native `sha256:` digest with a
//! CDEvents purl. Two departures from `dora_e2e.rs`, both in the two feeds
//! alike: every deploy names an artifact (the CDEvents service events
//! require one), and incident i2 names the artifact c5 shipped (c5 is a
//! change failure already, through c6's rollback, so no DORA figure moves).
//! The CDEvents feed also carries one CDEvent of a type valuepulse does not
//! read (`pipelinerun.finished`): the only difference between the scrapes is
//! that it is counted as `unsupported`.

// The event builders take every field positionally so the dataset reads as a table.
#![allow(clippy::too_many_arguments)]

use std::collections::BTreeMap;
use std::time::Duration;

use crate::common::cloudevents::{Wire, cloudevent_record, native_record};
use crate::common::events::{self, DeployExt, Event, IncidentExt};
use crate::common::{
    self, Daemon, HeaderedRecord, create_topics, produce_with_headers, scrape_after, unique,
};
use cdevents_sdk::{CDEvent, Subject, spec_0_4_1 as v04, spec_0_5_1 as v05};
use serde_json::json;
use time::OffsetDateTime;
use valuepulse::ingest::decode::{ChangeV1, DeployV1};

const M: i64 = 60;
const H: i64 = 3600;
const D: i64 = 86_400;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spec {
    V04,
    V05,
}

use Spec::{V04, V05};
use Wire::{Bare, Binary, Native, Structured};

struct DeployRow {
    id: &'static str,
    service: &'static str,
    team: &'static str,
    env: &'static str,
    status: &'static str,
    finished: i64,
    leads: &'static [i64],
    rollback_of: Option<&'static str>,
    /// `service.upgraded` rather than `service.deployed`.
    upgraded: bool,
    wire: Wire,
    spec: Spec,
}

struct IncidentRow {
    id: &'static str,
    service: &'static str,
    team: &'static str,
    env: &'static str,
    opened: i64,
    resolved: Option<i64>,
    cause: Option<&'static str>,
    /// Id of the deploy whose artifact was running.
    artifact_of: Option<&'static str>,
    /// `incident.reported` rather than `incident.detected`.
    reported: bool,
    wire: Wire,
    spec: Spec,
}

fn dep(
    id: &'static str,
    service: &'static str,
    status: &'static str,
    finished: i64,
    leads: &'static [i64],
    wire: Wire,
    spec: Spec,
) -> DeployRow {
    let team = if service == "search" {
        "discovery"
    } else {
        "payments"
    };
    DeployRow {
        id,
        service,
        team,
        env: "production",
        status,
        finished,
        leads,
        rollback_of: None,
        upgraded: false,
        wire,
        spec,
    }
}

fn inc(
    id: &'static str,
    service: &'static str,
    env: &'static str,
    opened: i64,
    resolved: Option<i64>,
    cause: Option<&'static str>,
    wire: Wire,
    spec: Spec,
) -> IncidentRow {
    let team = if service == "search" {
        "discovery"
    } else {
        "payments"
    };
    IncidentRow {
        id,
        service,
        team,
        env,
        opened,
        resolved,
        cause,
        artifact_of: None,
        reported: false,
        wire,
        spec,
    }
}

/// The scenario of `dora_e2e.rs`, with the wire format of each record in the
/// CDEvents feed. Offsets are seconds from now.
fn deploy_rows() -> Vec<DeployRow> {
    vec![
        dep(
            "c1",
            "checkout",
            "succeeded",
            -2 * D,
            &[H, 3 * H],
            Structured,
            V05,
        ), // failure via i1
        dep("c2", "checkout", "failed", -5 * D, &[2 * H], Native, V05),
        DeployRow {
            upgraded: true,
            ..dep(
                "c3",
                "checkout",
                "succeeded",
                -10 * D,
                &[5 * H],
                Binary,
                V04,
            )
        },
        // The same deploy again, in the other mode, version and predicate:
        // the same domain event, so a duplicate.
        dep("c3", "checkout", "succeeded", -10 * D, &[5 * H], Bare, V05),
        dep(
            "c4",
            "checkout",
            "succeeded",
            -12 * D,
            &[4 * H],
            Binary,
            V05,
        ), // first version ...
        dep(
            "c4",
            "checkout",
            "rolled_back",
            -12 * D,
            &[4 * H],
            Native,
            V05,
        ), // ... updated
        dep("c5", "checkout", "succeeded", -20 * D, &[D], Native, V04), // rolled back by c6
        DeployRow {
            rollback_of: Some("c5"),
            ..dep(
                "c6",
                "checkout",
                "succeeded",
                -19 * D,
                &[30 * M],
                Binary,
                V04,
            )
        },
        dep("k1", "cart", "succeeded", -3 * D, &[6 * H], Bare, V05),
        dep("k2", "cart", "succeeded", -8 * D, &[2 * D], Binary, V05),
        dep(
            "k3",
            "cart",
            "succeeded",
            -25 * D,
            &[12 * H],
            Structured,
            V04,
        ),
        dep("s1", "search", "succeeded", -4 * D, &[20 * M], Binary, V04),
        dep("s2", "search", "failed", -6 * D, &[], Native, V04),
        DeployRow {
            upgraded: true,
            ..dep(
                "s3",
                "search",
                "succeeded",
                -6 * D + 2 * H,
                &[40 * M],
                Structured,
                V05,
            )
        },
        dep(
            "s5",
            "search",
            "succeeded",
            -9 * D - 2 * H,
            &[3 * H],
            Binary,
            V05,
        ), // failure via i5
        DeployRow {
            env: "staging",
            ..dep("s4", "search", "failed", -D, &[], Native, V05)
        },
        // Late (beyond 30d + 1h grace) and future (beyond 5m skew).
        dep(
            "late",
            "checkout",
            "succeeded",
            -40 * D,
            &[H],
            Structured,
            V05,
        ),
        dep("future", "checkout", "succeeded", H, &[H], Binary, V04),
    ]
}

fn incident_rows() -> Vec<IncidentRow> {
    let p = "production";
    vec![
        inc(
            "i1",
            "checkout",
            p,
            -2 * D + H,
            None,
            Some("c1"),
            Structured,
            V05,
        ),
        inc(
            "i1",
            "checkout",
            p,
            -2 * D + H,
            Some(-2 * D + 3 * H),
            Some("c1"),
            Binary,
            V04,
        ), // TTR 2h
        IncidentRow {
            reported: true,
            artifact_of: Some("c5"),
            ..inc("i2", "checkout", p, -15 * D, None, None, Structured, V04)
        },
        IncidentRow {
            artifact_of: Some("c5"),
            ..inc(
                "i2",
                "checkout",
                p,
                -15 * D,
                Some(-15 * D + 30 * M),
                None,
                Bare,
                V05,
            )
        }, // TTR 30m
        inc("i3", "cart", p, -6 * H, None, None, Binary, V05), // still open
        inc("i4", "search", "staging", -D, None, None, Bare, V04), // ignored
        inc("i5", "search", p, -9 * D, None, Some("s5"), Binary, V04),
        inc(
            "i5",
            "search",
            p,
            -9 * D,
            Some(-8 * D),
            Some("s5"),
            Structured,
            V04,
        ), // TTR 1d
    ]
}

/// The image digest a deploy shipped.
fn artifact(deploy: &str) -> String {
    let hex: String = deploy.bytes().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex:0>64}")
}

/// The same as a purl, as a CDEvents producer writes it.
fn purl(service: &str, deploy: &str) -> String {
    format!(
        "pkg:oci/{service}@{}?repository_url=registry.example.com%2F{service}",
        artifact(deploy).replace(':', "%3A")
    )
}

fn at(now: i64, offset: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(now + offset).unwrap()
}

/// The row as a native deploy of version 1.0.0, shipping its artifact.
fn native(now: i64, r: &DeployRow) -> DeployV1<'static> {
    let d = events::deploy(now, r.id, r.service, r.team, r.status, r.finished)
        .with_env(r.env)
        .with_version("1.0.0")
        .with_artifact(&artifact(r.id))
        .with_leads(r.leads);
    match r.rollback_of {
        Some(of) => d.with_rollback_of(of),
        None => d,
    }
}

/// The changes of the row, as the native deploy lists them.
fn changes(now: i64, r: &DeployRow) -> Vec<ChangeV1<'static>> {
    native(now, r).changes
}

fn native_deploy(now: i64, r: &DeployRow) -> String {
    native(now, r).json()
}

fn native_incident(now: i64, r: &IncidentRow) -> String {
    let i = events::incident(now, r.id, r.service, r.team, r.opened, r.resolved)
        .with_env(r.env)
        .with_cause(r.cause);
    match r.artifact_of {
        Some(d) => i.with_artifact(&artifact(d)),
        None => i,
    }
    .json()
}

/// The deploy as a CDEvent, built with cdevents-sdk.
fn cdevent_deploy(now: i64, r: &DeployRow) -> CDEvent {
    macro_rules! subject {
        ($m:path) => {{
            use $m as m;
            Subject::from(m::Content {
                artifact_id: purl(r.service, r.id).try_into().unwrap(),
                environment: m::ContentEnvironment {
                    id: r.env.try_into().unwrap(),
                    source: None,
                },
            })
        }};
    }
    let subject = match (r.spec, r.rollback_of.is_some(), r.upgraded) {
        (V04, true, _) => subject!(v04::service_rolledback),
        (V04, false, true) => subject!(v04::service_upgraded),
        (V04, false, false) => subject!(v04::service_deployed),
        (V05, true, _) => subject!(v05::service_rolledback),
        (V05, false, true) => subject!(v05::service_upgraded),
        (V05, false, false) => subject!(v05::service_deployed),
    };
    let mut custom = json!({"team": r.team, "changes": changes(now, r), "version": "1.0.0"});
    if let Some(of) = r.rollback_of {
        custom["rollback_of"] = json!(of);
    }
    CDEvent::from(
        subject
            .with_id(r.service.try_into().unwrap())
            .with_source("/k8s/prod-eu-1".try_into().unwrap()),
    )
    .with_id(r.id.try_into().unwrap())
    .with_source("/ci/release-pipeline".try_into().unwrap())
    .with_timestamp(at(now, r.finished))
    .with_custom_data(custom)
}

/// The incident event as a CDEvent, built with cdevents-sdk.
fn cdevent_incident(now: i64, r: &IncidentRow) -> CDEvent {
    let artifact_id = r
        .artifact_of
        .map(|d| purl(r.service, d).try_into().unwrap());
    macro_rules! subject {
        ($m:path $(, $extra:ident: $value:expr)?) => {{
            use $m as m;
            Subject::from(m::Content {
                artifact_id,
                description: Some("error rate above SLO".into()),
                environment: m::ContentEnvironment {
                    id: r.env.try_into().unwrap(),
                    source: None,
                },
                service: Some(m::ContentService {
                    id: r.service.try_into().unwrap(),
                    source: None,
                }),
                $($extra: $value,)?
            })
        }};
    }
    let ticket = || {
        format!("https://tickets.example.com/{}", r.id)
            .try_into()
            .unwrap()
    };
    let subject = match (r.spec, r.resolved.is_some(), r.reported) {
        (V04, true, _) => subject!(v04::incident_resolved),
        (V04, false, true) => subject!(v04::incident_reported, ticket_uri: ticket()),
        (V04, false, false) => subject!(v04::incident_detected),
        (V05, true, _) => subject!(v05::incident_resolved),
        (V05, false, true) => subject!(v05::incident_reported, ticket_uri: ticket()),
        (V05, false, false) => subject!(v05::incident_detected),
    };
    let mut custom = json!({"team": r.team, "severity": "sev2"});
    if let Some(c) = r.cause {
        custom["caused_by_deploy"] = json!(c);
    }
    if r.resolved.is_some() {
        custom["opened_at"] = json!(common::at(now, r.opened));
    }
    let predicate = if r.resolved.is_some() {
        "resolved"
    } else {
        "opened"
    };
    CDEvent::from(
        subject
            .with_id(r.id.try_into().unwrap())
            .with_source("/monitoring/prod-eu-1".try_into().unwrap()),
    )
    .with_id(format!("{}-{predicate}", r.id).try_into().unwrap())
    .with_source("/monitoring/prod-eu-1".try_into().unwrap())
    .with_timestamp(at(now, r.resolved.unwrap_or(r.opened)))
    .with_custom_data(custom)
}

/// (deploy records, incident records) of one feed.
struct Feed {
    deploys: Vec<HeaderedRecord>,
    incidents: Vec<HeaderedRecord>,
}

impl Feed {
    fn len(&self) -> usize {
        self.deploys.len() + self.incidents.len()
    }
}

/// Every record native, as in `dora_e2e.rs`.
fn native_feed(now: i64) -> Feed {
    let mut deploys: Vec<HeaderedRecord> = deploy_rows()
        .iter()
        .map(|r| native_record(r.service, native_deploy(now, r)))
        .collect();
    // Invalid JSON, before the late and future deploys as in dora_e2e.
    let invalid = native_record("checkout", r#"{"id": "broken", "service": "#.to_owned());
    deploys.insert(deploys.len() - 2, invalid);
    let incidents = incident_rows()
        .iter()
        .map(|r| native_record(r.service, native_incident(now, r)))
        .collect();
    Feed { deploys, incidents }
}

/// The same scenario in the wire format of each row, plus one unsupported
/// CDEvent.
fn cdevents_feed(now: i64) -> Feed {
    let mut deploys: Vec<HeaderedRecord> = deploy_rows()
        .iter()
        .map(|r| match r.wire {
            Native => native_record(r.service, native_deploy(now, r)),
            w => cloudevent_record(r.service, w, cdevent_deploy(now, r)),
        })
        .collect();
    // A structured CloudEvent cut short: malformed JSON, as the native one.
    let mut cut = cloudevent_record(
        "checkout",
        Structured,
        cdevent_deploy(now, &deploy_rows()[0]),
    );
    cut.payload.truncate(cut.payload.len() / 2);
    deploys.insert(deploys.len() - 2, cut);
    // A CDEvents type valuepulse does not read, from the same pipeline.
    let pipeline = CDEvent::from(
        Subject::from(v05::pipelinerun_finished::Content {
            errors: None,
            outcome: Some(v05::pipelinerun_finished::ContentOutcome::Success),
            pipeline_name: Some("release".into()),
            uri: None,
        })
        .with_id("release/1234".try_into().unwrap())
        .with_source("/ci/release-pipeline".try_into().unwrap()),
    )
    .with_id("run-1234".try_into().unwrap())
    .with_source("/ci/release-pipeline".try_into().unwrap())
    .with_timestamp(at(now, -D));
    deploys.push(cloudevent_record("checkout", Binary, pipeline));
    let incidents = incident_rows()
        .iter()
        .map(|r| match r.wire {
            Native => native_record(r.service, native_incident(now, r)),
            w => cloudevent_record(r.service, w, cdevent_incident(now, r)),
        })
        .collect();
    Feed { deploys, incidents }
}

/// The scrape with topic names replaced by their role, and without the
/// per-partition plumbing series, so that two daemons on different topics
/// compare.
fn comparable(
    scrape: &BTreeMap<String, f64>,
    deploys: &str,
    incidents: &str,
    usage: &str,
) -> BTreeMap<String, f64> {
    scrape
        .iter()
        .filter(|(k, _)| !common::process_specific(k))
        .map(|(k, v)| {
            let k = k
                .replace(&format!(r#"topic="{deploys}""#), r#"topic="deploys""#)
                .replace(&format!(r#"topic="{incidents}""#), r#"topic="incidents""#)
                .replace(&format!(r#"topic="{usage}""#), r#"topic="feature-usage""#);
            (k, *v)
        })
        .collect()
}

struct Topics {
    deploys: String,
    incidents: String,
    usage: String,
}

impl Topics {
    fn new(prefix: &str) -> Self {
        let t = Topics {
            deploys: unique(&format!("{prefix}-deploys")),
            incidents: unique(&format!("{prefix}-incidents")),
            usage: unique(&format!("{prefix}-usage")),
        };
        create_topics(&[(&t.deploys, 3), (&t.incidents, 2), (&t.usage, 1)]);
        t
    }

    fn daemon(&self) -> Daemon {
        Daemon::start(&[
            ("VALUEPULSE__TOPICS__DEPLOYS", &self.deploys),
            ("VALUEPULSE__TOPICS__INCIDENTS", &self.incidents),
            ("VALUEPULSE__TOPICS__FEATURE_USAGE", &self.usage),
        ])
    }

    fn publish(&self, feed: &Feed) {
        produce_with_headers(&self.deploys, &feed.deploys);
        // Incidents after their deploys, as in dora_e2e.
        produce_with_headers(&self.incidents, &feed.incidents);
    }

    fn comparable(&self, scrape: &BTreeMap<String, f64>) -> BTreeMap<String, f64> {
        comparable(scrape, &self.deploys, &self.incidents, &self.usage)
    }
}

#[test]
fn the_scenario_as_cdevents_scrapes_exactly_as_the_scenario_as_native_events() {
    let _isolation = common::shared();
    let (native, cdevents) = (Topics::new("native"), Topics::new("cdevents"));
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let (native_records, cdevents_records) = (native_feed(now), cdevents_feed(now));

    let (a, b) = (native.daemon(), cdevents.daemon());
    a.wait_ready(Duration::from_secs(60));
    b.wait_ready(Duration::from_secs(60));
    native.publish(&native_records);
    cdevents.publish(&cdevents_records);
    let mut from_native = native.comparable(&scrape_after(
        &a,
        native_records.len(),
        Duration::from_secs(60),
    ));
    let mut from_cdevents = cdevents.comparable(&scrape_after(
        &b,
        cdevents_records.len(),
        Duration::from_secs(60),
    ));

    // The one expected difference: the pipelinerun CDEvent.
    let unsupported = r#"valuepulse_events_total{outcome="unsupported",topic="deploys"}"#;
    assert_eq!(from_native.remove(unsupported), Some(0.0));
    assert_eq!(from_cdevents.remove(unsupported), Some(1.0));

    let diff: Vec<String> = from_native
        .keys()
        .chain(from_cdevents.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter(|k| from_native.get(*k) != from_cdevents.get(*k))
        .map(|k| {
            format!(
                "{k}: native {:?}, cdevents {:?}",
                from_native.get(k),
                from_cdevents.get(k)
            )
        })
        .collect();
    assert!(
        diff.is_empty(),
        "the scrapes differ in {} series:\n{}",
        diff.len(),
        diff.join("\n")
    );

    // And they are the hand-computed figures of dora_e2e (the ones that do
    // not depend on attribution): deploys per window, lead-time and
    // restore-time sample counts and sums, open incidents, outcomes.
    let key = |svc: &str, team: &str| {
        format!(r#"environment="production",service="{svc}",team="{team}""#)
    };
    let mut want: Vec<(String, f64)> = Vec::new();
    for (svc, team, per_window) in [
        ("checkout", "payments", [0, 1, 5]),
        ("cart", "payments", [0, 1, 3]),
        ("search", "discovery", [0, 2, 3]),
    ] {
        for (w, n) in ["1d", "7d", "30d"].iter().zip(per_window) {
            want.push((
                format!(
                    r#"valuepulse_deployments{{{},window="{w}"}}"#,
                    key(svc, team)
                ),
                f64::from(n),
            ));
        }
    }
    let lt = "valuepulse_lead_time_seconds";
    let ttr = "valuepulse_time_to_restore_seconds";
    for (metric, svc, team, w, count, sum) in [
        (lt, "checkout", "payments", "7d", 2, 4 * H),
        (
            lt,
            "checkout",
            "payments",
            "30d",
            6,
            30 * M + H + 3 * H + 4 * H + 5 * H + D,
        ),
        (lt, "cart", "payments", "30d", 3, 6 * H + 12 * H + 2 * D),
        (lt, "search", "discovery", "30d", 3, 60 * M + 3 * H),
        (ttr, "checkout", "payments", "30d", 2, 2 * H + 30 * M),
        (ttr, "search", "discovery", "30d", 1, D),
    ] {
        let k = key(svc, team);
        want.push((
            format!(r#"{metric}_count{{{k},window="{w}"}}"#),
            f64::from(count),
        ));
        want.push((format!(r#"{metric}_sum{{{k},window="{w}"}}"#), sum as f64));
    }
    for (svc, team, open) in [
        ("checkout", "payments", 0),
        ("cart", "payments", 1),
        ("search", "discovery", 0),
    ] {
        want.push((
            format!(r"valuepulse_incidents_open{{{}}}", key(svc, team)),
            f64::from(open),
        ));
    }
    for (topic, outcome, n) in [
        ("deploys", "accepted", 13),
        ("deploys", "updated", 1),
        ("deploys", "duplicate", 1),
        ("deploys", "ignored", 1),
        ("deploys", "invalid", 1),
        ("deploys", "late", 1),
        ("deploys", "future", 1),
        ("incidents", "accepted", 7),
        ("incidents", "ignored", 1),
        ("incidents", "invalid", 0),
        ("incidents", "unsupported", 0),
    ] {
        want.push((
            format!(r#"valuepulse_events_total{{outcome="{outcome}",topic="{topic}"}}"#),
            f64::from(n),
        ));
    }
    want.push((
        r#"valuepulse_events_invalid_total{reason="malformed_json",topic="deploys"}"#.into(),
        1.0,
    ));
    let wrong: Vec<String> = want
        .iter()
        .map(|(k, v)| (common::normalize(k), v))
        .filter(|(k, v)| from_cdevents.get(k) != Some(v))
        .map(|(k, v)| format!("{k}: want {v}, got {:?}", from_cdevents.get(&k)))
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
