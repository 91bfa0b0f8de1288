//! The value stream end to end through a real Kafka broker: work items and
//! flow efficiency (native v1 and CDEvents tickets scrape alike),
//! satisfaction and the value delivery score, and CDEvents incidents
//! without an opening time paired with their detection in either order.
//!
//! Every expected figure was worked out by hand from the datasets below
//! (the comments say how), not from the code under test. The CDEvents are
//! built with the official SDKs (`common::cloudevents`).

// The event builders take every field positionally, and the expected
// figures are tuples, so the datasets read as tables.
#![allow(clippy::too_many_arguments, clippy::type_complexity)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::common::cloudevents::{Wire, cloudevent_record, native_record};
use crate::common::events::{self, DeployExt, Event, IncidentExt};
use crate::common::{
    self, Daemon, HeaderedRecord, assert_scrape, create_topics, normalize, produce_with_headers,
    scrape_after, unique,
};
use cdevents_sdk::{CDEvent, Subject, spec_0_4_1 as v04, spec_0_5_1 as v05};
use serde_json::json;
use time::OffsetDateTime;
use valuepulse::ingest::decode::{DeployV1, IncidentV1, SatisfactionV1, WorkItemV1};

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

fn at(now: i64, offset: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(now + offset).unwrap()
}

/// Unique topics of one daemon, with the role of each.
struct Topics {
    deploys: String,
    incidents: String,
    usage: String,
    work_items: String,
    satisfaction: String,
}

impl Topics {
    fn new(prefix: &str) -> Self {
        let t = Topics {
            deploys: unique(&format!("{prefix}-deploys")),
            incidents: unique(&format!("{prefix}-incidents")),
            usage: unique(&format!("{prefix}-usage")),
            work_items: unique(&format!("{prefix}-work-items")),
            satisfaction: unique(&format!("{prefix}-satisfaction")),
        };
        create_topics(&[
            (&t.deploys, 2),
            (&t.incidents, 1),
            (&t.usage, 1),
            (&t.work_items, 2),
            (&t.satisfaction, 2),
        ]);
        t
    }

    fn daemon(&self) -> Daemon {
        Daemon::start(&[
            ("VALUEPULSE__TOPICS__DEPLOYS", &self.deploys),
            ("VALUEPULSE__TOPICS__INCIDENTS", &self.incidents),
            ("VALUEPULSE__TOPICS__FEATURE_USAGE", &self.usage),
            ("VALUEPULSE__TOPICS__WORK_ITEMS", &self.work_items),
            ("VALUEPULSE__TOPICS__SATISFACTION", &self.satisfaction),
        ])
    }

    /// The scrape with topic names replaced by their role and without the
    /// per-process series, so that two daemons on different topics compare.
    fn comparable(&self, scrape: &BTreeMap<String, f64>) -> BTreeMap<String, f64> {
        let roles = [
            (&self.deploys, "deploys"),
            (&self.incidents, "incidents"),
            (&self.usage, "feature-usage"),
            (&self.work_items, "work-items"),
            (&self.satisfaction, "satisfaction"),
        ];
        scrape
            .iter()
            .filter(|(k, _)| !common::process_specific(k))
            .map(|(k, v)| {
                let mut k = k.clone();
                for (topic, role) in roles {
                    k = k.replace(
                        &format!(r#"topic="{topic}""#),
                        &format!(r#"topic="{role}""#),
                    );
                }
                (k, *v)
            })
            .collect()
    }
}

/// The series on which two comparable scrapes differ.
fn differences(a: &BTreeMap<String, f64>, b: &BTreeMap<String, f64>) -> Vec<String> {
    a.keys()
        .chain(b.keys())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| format!("{k}: {:?} vs {:?}", a.get(k), b.get(k)))
        .collect()
}

// ---------------------------------------------------------------------------
// Work items
// ---------------------------------------------------------------------------

/// The ticket event a transition is sent as in the CDEvents feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ticket {
    Created,
    Updated,
    Closed,
}

/// One work-item transition: item `id` entered `state` at `at` (seconds
/// from now), and how the CDEvents feed sends it.
struct Transition {
    id: &'static str,
    service: Option<&'static str>,
    team: &'static str,
    state: &'static str,
    at: i64,
    ticket: Ticket,
    wire: Wire,
    spec: Spec,
    /// In the CDEvents feed the team comes from the ticket's `group`
    /// rather than `customData.team`.
    team_as_group: bool,
}

fn tr(
    id: &'static str,
    service: &'static str,
    team: &'static str,
    state: &'static str,
    at: i64,
    ticket: Ticket,
    wire: Wire,
    spec: Spec,
) -> Transition {
    Transition {
        id,
        service: Some(service),
        team,
        state,
        at,
        ticket,
        wire,
        spec,
        team_as_group: false,
    }
}

/// The dataset, in publishing order. Items and what they add up to (an
/// item's clock starts at its first active transition; done time counts as
/// neither; it finishes at the first transition of its final done run):
///
/// | item | service | transitions (from now) | active | waiting | finished |
/// |---|---|---|---|---|---|
/// | A | checkout | created −5d−2h, In Progress −5d, In Review −5d+4h, In Progress −5d+6h, Done −5d+8h | 4h+2h = 6h | 2h | −5d+8h |
/// | B | checkout | To Do −12h, In Progress −10h, Blocked −8h, In Progress −4h, Done −2h (Done sent first) | 2h+2h = 4h | 4h | −2h |
/// | C | checkout | In Progress −20d, Done −19d, Reopened −15d, In Progress −14d, Closed −13d | 24h+24h = 48h | 24h (after the reopen) | −13d |
/// | D | checkout | In Progress −1d | — | — | unfinished |
/// | E | cart | In Progress −3d, Done −3d+1h | 1h | 0 | −3d+1h |
/// | F | cart | Created −6h, Closed −5h | never started | | −5h |
/// | G | cart | In Progress −2d, Waiting for Legal −2d+1h (in no list: waiting, unmapped), Done −2d+3h | 1h | 2h | −2d+3h |
/// | H | auth | In Progress −4d, Code Review −4d+1h corrected to In Review, Done −4d+10h | 1h | 9h | −4d+10h |
///
/// Plus B's Done again (duplicate), a transition at −40d (late) and one
/// without a service (invalid, `missing_field`).
fn transitions() -> Vec<Transition> {
    use Ticket::{Closed, Created, Updated};
    let (ck, ct, au) = ("checkout", "cart", "auth");
    let (pay, ident) = ("payments", "identity");
    vec![
        tr(
            "A",
            ck,
            pay,
            "created",
            -5 * D - 2 * H,
            Created,
            Structured,
            V05,
        ),
        tr("A", ck, pay, "In Progress", -5 * D, Updated, Binary, V04),
        tr(
            "A",
            ck,
            pay,
            "In Review",
            -5 * D + 4 * H,
            Updated,
            Bare,
            V05,
        ),
        tr(
            "A",
            ck,
            pay,
            "In Progress",
            -5 * D + 6 * H,
            Updated,
            Structured,
            V04,
        ),
        tr("A", ck, pay, "Done", -5 * D + 8 * H, Closed, Binary, V05),
        // B arrives out of order: its Done first.
        tr("B", ck, pay, "Done", -2 * H, Closed, Structured, V05),
        tr("B", ck, pay, "In Progress", -4 * H, Updated, Binary, V05),
        tr("B", ck, pay, "To Do", -12 * H, Created, Binary, V04),
        tr("B", ck, pay, "Blocked", -8 * H, Updated, Structured, V04),
        tr("B", ck, pay, "In Progress", -10 * H, Updated, Bare, V04),
        tr("C", ck, pay, "In Progress", -20 * D, Created, Binary, V05),
        tr("C", ck, pay, "Done", -19 * D, Closed, Structured, V05),
        tr("C", ck, pay, "Reopened", -15 * D, Updated, Binary, V04),
        tr(
            "C",
            ck,
            pay,
            "In Progress",
            -14 * D,
            Updated,
            Structured,
            V05,
        ),
        tr("C", ck, pay, "Closed", -13 * D, Closed, Bare, V04),
        tr("D", ck, pay, "In Progress", -D, Created, Binary, V05),
        tr(
            "E",
            ct,
            pay,
            "In Progress",
            -3 * D,
            Created,
            Structured,
            V04,
        ),
        tr("E", ct, pay, "Done", -3 * D + H, Closed, Binary, V04),
        tr("F", ct, pay, "Created", -6 * H, Created, Bare, V05),
        tr("F", ct, pay, "Closed", -5 * H, Closed, Structured, V05),
        tr("G", ct, pay, "In Progress", -2 * D, Created, Binary, V05),
        tr(
            "G",
            ct,
            pay,
            "Waiting for Legal",
            -2 * D + H,
            Updated,
            Structured,
            V04,
        ),
        tr("G", ct, pay, "Done", -2 * D + 3 * H, Closed, Binary, V04),
        Transition {
            team_as_group: true,
            ..tr(
                "H",
                au,
                ident,
                "In Progress",
                -4 * D,
                Created,
                Structured,
                V05,
            )
        },
        Transition {
            team_as_group: true,
            ..tr(
                "H",
                au,
                ident,
                "Code Review",
                -4 * D + H,
                Updated,
                Binary,
                V05,
            )
        },
        // The same instant, corrected: an update.
        Transition {
            team_as_group: true,
            ..tr("H", au, ident, "In Review", -4 * D + H, Updated, Bare, V04)
        },
        Transition {
            team_as_group: true,
            ..tr(
                "H",
                au,
                ident,
                "Done",
                -4 * D + 10 * H,
                Closed,
                Structured,
                V04,
            )
        },
        // B's Done redelivered: a duplicate.
        tr("B", ck, pay, "Done", -2 * H, Closed, Structured, V05),
        // Older than 30d + 1h grace: late.
        tr("OLD", ck, pay, "In Progress", -40 * D, Created, Binary, V05),
        // No service: invalid (missing_field) in both formats.
        Transition {
            service: None,
            ..tr("X", ck, pay, "Done", -H, Closed, Structured, V05)
        },
    ]
}

fn native_transition(now: i64, t: &Transition) -> String {
    let item = WorkItemV1 {
        id: t.id.into(),
        service: t.service.unwrap_or_default().into(),
        team: Some(t.team.into()),
        state: t.state.into(),
        at: common::at(now, t.at).into(),
        ..WorkItemV1::default()
    };
    if t.service.is_some() {
        return item.json();
    }
    // The invalid input under test: the wire type cannot leave out its
    // required service, so it is taken out of the JSON.
    let mut v = serde_json::to_value(&item).unwrap();
    v.as_object_mut().unwrap().remove("service");
    v.to_string()
}

/// The transition as a CDEvents ticket event, built with cdevents-sdk.
fn ticket_event(now: i64, t: &Transition) -> CDEvent {
    let uri = || {
        format!("https://tracker.example.com/{}", t.id)
            .try_into()
            .unwrap()
    };
    let group = t.team_as_group.then(|| t.team.to_owned());
    macro_rules! created {
        ($m:ident) => {
            Subject::from($m::ticket_created::Content {
                assignees: None,
                creator: "alice".try_into().unwrap(),
                group: group.clone(),
                labels: None,
                milestone: None,
                priority: None,
                summary: format!("Item {}", t.id),
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
    let subject = match (t.spec, t.ticket) {
        (V04, Ticket::Created) => created!(v04),
        (V04, Ticket::Updated) => updated!(v04),
        (V04, Ticket::Closed) => closed!(v04),
        (V05, Ticket::Created) => created!(v05),
        (V05, Ticket::Updated) => updated!(v05),
        (V05, Ticket::Closed) => closed!(v05),
    };
    let mut custom = json!({"state": t.state});
    if let Some(s) = t.service {
        custom["service"] = json!(s);
    }
    if !t.team_as_group {
        custom["team"] = json!(t.team);
    }
    CDEvent::from(
        subject
            .with_id(t.id.try_into().unwrap())
            .with_source("/tracker".try_into().unwrap()),
    )
    .with_id(format!("{}-{}", t.id, t.at).try_into().unwrap())
    .with_source("/tracker".try_into().unwrap())
    .with_timestamp(at(now, t.at))
    .with_custom_data(custom)
}

fn work_item_feed(now: i64, cdevents: bool) -> Vec<HeaderedRecord> {
    transitions()
        .iter()
        .map(|t| {
            if cdevents && t.wire != Native {
                cloudevent_record(t.id, t.wire, ticket_event(now, t))
            } else {
                native_record(t.id, native_transition(now, t))
            }
        })
        .collect()
}

/// Every flow series, worked out from the table of [`transitions`].
fn expected_flow() -> BTreeMap<String, f64> {
    let mut want = BTreeMap::new();
    let mut put = |k: String, v: f64| {
        want.insert(normalize(&k), v);
    };
    let h = 3600.0;
    // (service, team, window, items, active h, waiting h, efficiency,
    //  per-item efficiencies)
    let rows: [(&str, &str, &str, u64, f64, f64, Option<f64>, &[f64]); 9] = [
        // 1d: B only.
        ("checkout", "payments", "1d", 1, 4.0, 4.0, Some(0.5), &[0.5]),
        // 7d: A and B: 10h active, 6h waiting.
        (
            "checkout",
            "payments",
            "7d",
            2,
            10.0,
            6.0,
            Some(10.0 / 16.0),
            &[0.75, 0.5],
        ),
        // 30d: A, B and C: 58h active, 30h waiting.
        (
            "checkout",
            "payments",
            "30d",
            3,
            58.0,
            30.0,
            Some(58.0 / 88.0),
            &[0.75, 0.5, 2.0 / 3.0],
        ),
        // 1d: F only, never started: no time, no efficiency.
        ("cart", "payments", "1d", 1, 0.0, 0.0, None, &[]),
        // 7d and 30d: E, F and G: 2h active, 2h waiting.
        (
            "cart",
            "payments",
            "7d",
            3,
            2.0,
            2.0,
            Some(0.5),
            &[1.0, 1.0 / 3.0],
        ),
        (
            "cart",
            "payments",
            "30d",
            3,
            2.0,
            2.0,
            Some(0.5),
            &[1.0, 1.0 / 3.0],
        ),
        // H finished 4 days ago: zeros in 1d.
        ("auth", "identity", "1d", 0, 0.0, 0.0, None, &[]),
        ("auth", "identity", "7d", 1, 1.0, 9.0, Some(0.1), &[0.1]),
        ("auth", "identity", "30d", 1, 1.0, 9.0, Some(0.1), &[0.1]),
    ];
    for (svc, team, w, items, active, waiting, eff, per_item) in rows {
        let l = format!(r#"service="{svc}",team="{team}",window="{w}""#);
        put(
            format!("valuepulse_work_items_finished{{{l}}}"),
            items as f64,
        );
        put(
            format!(r#"valuepulse_work_item_time_seconds{{{l},category="active"}}"#),
            active * h,
        );
        put(
            format!(r#"valuepulse_work_item_time_seconds{{{l},category="waiting"}}"#),
            waiting * h,
        );
        if let Some(e) = eff {
            put(format!("valuepulse_flow_efficiency_ratio{{{l}}}"), e);
        }
        if !per_item.is_empty() {
            let mut v = per_item.to_vec();
            v.sort_by(f64::total_cmp);
            let n = v.len();
            let rank = |q: f64| v[((q * n as f64).ceil() as usize).clamp(1, n) - 1];
            for q in [0.5, 0.9, 0.95] {
                put(
                    format!(r#"valuepulse_work_item_flow_efficiency_ratio{{{l},quantile="{q}"}}"#),
                    rank(q),
                );
            }
            put(
                format!("valuepulse_work_item_flow_efficiency_ratio_sum{{{l}}}"),
                v.iter().sum(),
            );
            put(
                format!("valuepulse_work_item_flow_efficiency_ratio_count{{{l}}}"),
                n as f64,
            );
        }
    }
    // Bands on 30d: checkout 0.66 and cart 0.5 world-class (> 0.40), auth
    // 0.1 below (not > 0.25).
    for (svc, team, tier) in [
        ("checkout", "payments", 3.0),
        ("cart", "payments", 3.0),
        ("auth", "identity", 1.0),
    ] {
        put(
            format!(
                r#"valuepulse_flow_efficiency_tier{{service="{svc}",team="{team}",window="30d"}}"#
            ),
            tier,
        );
    }
    // G's "Waiting for Legal".
    put("valuepulse_work_item_unmapped_transitions".into(), 1.0);
    // 26 transitions accepted (H's correction is the update), B's Done
    // again, OLD and X.
    outcomes(
        &mut put,
        "work-items",
        &[
            ("accepted", 26),
            ("updated", 1),
            ("duplicate", 1),
            ("late", 1),
            ("invalid", 1),
        ],
        &[("missing_field", 1)],
    );
    want
}

/// `valuepulse_events_total` and `valuepulse_events_invalid_total` of one
/// topic: the counts given, every other outcome and reason 0.
fn outcomes(
    put: &mut impl FnMut(String, f64),
    topic: &str,
    counts: &[(&str, u64)],
    reasons: &[(&str, u64)],
) {
    let all = [
        "accepted",
        "updated",
        "duplicate",
        "invalid",
        "late",
        "future",
        "oversized",
        "ignored",
        "unsupported",
        "over_budget",
    ];
    for o in all {
        let n = counts.iter().find(|(c, _)| *c == o).map_or(0, |(_, n)| *n);
        put(
            format!(r#"valuepulse_events_total{{topic="{topic}",outcome="{o}"}}"#),
            n as f64,
        );
    }
    let all = [
        "malformed_json",
        "missing_field",
        "wrong_type",
        "empty_field",
        "bad_timestamp",
        "bad_status",
        "non_positive_lead_time",
        "negative_restore_time",
        "not_an_object",
        "out_of_range",
    ];
    for r in all {
        let n = reasons.iter().find(|(c, _)| *c == r).map_or(0, |(_, n)| *n);
        put(
            format!(r#"valuepulse_events_invalid_total{{topic="{topic}",reason="{r}"}}"#),
            n as f64,
        );
    }
}

/// Whether a series is one of `topic`'s outcome counters.
fn events_of(k: &str, topic: &str) -> bool {
    k.starts_with("valuepulse_events") && k.contains(&format!(r#"topic="{topic}""#))
}

fn flow_family(k: &str) -> bool {
    ["valuepulse_work_item", "valuepulse_flow_efficiency"]
        .iter()
        .any(|p| k.starts_with(p))
}

#[test]
fn work_items_native_and_as_cdevents_tickets_scrape_alike_with_the_hand_computed_flow_efficiency() {
    let _isolation = common::shared();
    let (native, cdevents) = (Topics::new("flow-native"), Topics::new("flow-cdevents"));
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let (a, b) = (native.daemon(), cdevents.daemon());
    a.wait_ready(Duration::from_secs(60));
    b.wait_ready(Duration::from_secs(60));
    let (native_feed, cdevents_feed) = (work_item_feed(now, false), work_item_feed(now, true));
    produce_with_headers(&native.work_items, &native_feed);
    produce_with_headers(&cdevents.work_items, &cdevents_feed);
    let from_native = native.comparable(&scrape_after(
        &a,
        native_feed.len(),
        Duration::from_secs(60),
    ));
    let from_cdevents = cdevents.comparable(&scrape_after(
        &b,
        cdevents_feed.len(),
        Duration::from_secs(60),
    ));

    let diff = differences(&from_native, &from_cdevents);
    assert!(
        diff.is_empty(),
        "the scrapes differ in {} series:\n{}",
        diff.len(),
        diff.join("\n")
    );
    assert_scrape(&from_cdevents, &expected_flow(), &BTreeMap::new(), |k| {
        flow_family(k) || events_of(k, "work-items")
    });
}

// ---------------------------------------------------------------------------
// Satisfaction and the value delivery score
// ---------------------------------------------------------------------------

/// A native deploy with no environment (production, to the daemon):
/// `leads` are the changes' lead times in seconds.
fn deploy(
    now: i64,
    id: &str,
    service: &str,
    team: &str,
    status: &str,
    finished: i64,
    leads: &[i64],
    features: &[&str],
) -> HeaderedRecord {
    let d = DeployV1 {
        environment: None,
        ..events::deploy(now, id, service, team, status, finished)
    };
    native_record(service, d.with_leads(leads).with_features(features).json())
}

/// A native resolved incident (no opening event needed: it carries
/// `opened_at`), with no environment and no severity.
fn resolved(
    now: i64,
    id: &str,
    service: &str,
    team: &str,
    opened: i64,
    resolved: i64,
    cause: Option<&str>,
) -> HeaderedRecord {
    let i = IncidentV1 {
        environment: None,
        severity: None,
        ..events::incident(now, id, service, team, opened, Some(resolved))
    };
    native_record(service, i.with_cause(cause).json())
}

/// A native satisfaction response.
fn response(
    now: i64,
    id: &str,
    service: Option<&str>,
    team: Option<&str>,
    feature: Option<&str>,
    kind: &str,
    score: i64,
    at: i64,
) -> HeaderedRecord {
    let r = SatisfactionV1 {
        id: id.into(),
        service: service.map(Into::into),
        team: team.map(Into::into),
        feature: feature.map(Into::into),
        kind: kind.into(),
        score,
        at: common::at(now, at).into(),
        ..SatisfactionV1::default()
    };
    native_record(&r.key(), r.json())
}

/// (deploys, incidents, responses). Per service and team:
///
/// - checkout/payments: ck1..ck3 succeeded 2, 3 and 4 days ago with lead
///   times 2h, 4h, 1h (ck1 ships `one-click`), ck4 rolled back 5 days ago
///   (no changes). Incidents resolved in 1h, 30m and 2h, 2 to 4 days ago.
///   7d and 30d: 4 deployments, median lead 2h, strict change failure 1/4,
///   median restore 1h. Nothing in 1d.
/// - cart/payments: 1.5 and 6 days ago, leads 6h and 10h (median of two,
///   nearest rank: 6h), no failure, one incident restored in 4h; no
///   response (`satisfaction.default_score` = 1.0 stands in).
/// - billing/payments: one deploy rolled back 2 days ago (lead 1h), its
///   incident restored in 30m: change failure 1, so a score of 0.
/// - search/discovery: one deploy, no incident: no time to restore, no
///   score.
/// - auth/identity: one deploy, one incident restored in 0 s: a divisor of
///   0, no score.
fn value_feed(
    now: i64,
) -> (
    Vec<HeaderedRecord>,
    Vec<HeaderedRecord>,
    Vec<HeaderedRecord>,
) {
    let (pay, disc, ident) = ("payments", "discovery", "identity");
    let deploys = vec![
        deploy(
            now,
            "ck1",
            "checkout",
            pay,
            "succeeded",
            -2 * D,
            &[2 * H],
            &["one-click"],
        ),
        deploy(
            now,
            "ck2",
            "checkout",
            pay,
            "succeeded",
            -3 * D,
            &[4 * H],
            &[],
        ),
        deploy(now, "ck3", "checkout", pay, "succeeded", -4 * D, &[H], &[]),
        deploy(now, "ck4", "checkout", pay, "rolled_back", -5 * D, &[], &[]),
        deploy(
            now,
            "ct1",
            "cart",
            pay,
            "succeeded",
            -D - 12 * H,
            &[6 * H],
            &[],
        ),
        deploy(now, "ct2", "cart", pay, "succeeded", -6 * D, &[10 * H], &[]),
        deploy(now, "bl1", "billing", pay, "rolled_back", -2 * D, &[H], &[]),
        deploy(
            now,
            "sr1",
            "search",
            disc,
            "succeeded",
            -3 * D,
            &[2 * H],
            &[],
        ),
        deploy(now, "au1", "auth", ident, "succeeded", -2 * D, &[H], &[]),
    ];
    let incidents = vec![
        resolved(
            now,
            "ci1",
            "checkout",
            pay,
            -2 * D + H,
            -2 * D + 2 * H,
            None,
        ),
        resolved(now, "ci2", "checkout", pay, -3 * D, -3 * D + 30 * M, None),
        resolved(now, "ci3", "checkout", pay, -4 * D, -4 * D + 2 * H, None),
        resolved(now, "cti1", "cart", pay, -5 * D, -5 * D + 4 * H, None),
        resolved(
            now,
            "bi1",
            "billing",
            pay,
            -2 * D + 10 * M,
            -2 * D + 40 * M,
            Some("bl1"),
        ),
        resolved(now, "ai1", "auth", ident, -D, -D, None),
    ];
    let (ck, pay) = (Some("checkout"), Some(pay));
    let responses = vec![
        response(now, "r1", ck, pay, None, "csat", 5, -2 * H),
        response(now, "r2", ck, pay, None, "csat", 4, -2 * D),
        response(now, "r3", ck, pay, None, "nps", 9, -3 * D),
        response(now, "r4", ck, pay, None, "nps", 6, -6 * D),
        response(now, "r5", ck, pay, None, "nps", 10, -20 * D),
        // Names only a feature: counts for its first shipper, checkout.
        response(now, "r6", None, None, Some("one-click"), "csat", 1, -10 * D),
        // A feature nobody shipped: unattributed.
        response(now, "r7", None, None, Some("mystery"), "csat", 3, -H),
        response(
            now,
            "r8",
            Some("search"),
            Some("discovery"),
            None,
            "csat",
            3,
            -D - H,
        ),
        // No team: the series (auth, unknown).
        response(now, "r9", Some("auth"), None, None, "nps", 0, -3 * H),
        // CSAT 6: invalid (out_of_range).
        response(now, "r10", ck, pay, None, "csat", 6, -H),
        // r1 again: a duplicate.
        response(now, "r1", ck, pay, None, "csat", 5, -2 * H),
    ];
    (deploys, incidents, responses)
}

/// The satisfaction series, worked out from [`value_feed`]'s responses
/// (CSAT s → (s−1)/4, NPS s → s/10; the score is their mean).
fn expected_satisfaction() -> BTreeMap<String, f64> {
    let mut want = BTreeMap::new();
    let mut put = |k: String, v: f64| {
        want.insert(normalize(&k), v);
    };
    // (service, team, window, csat, nps, score, net promoter)
    let rows: [(&str, &str, &str, u64, u64, Option<f64>, Option<f64>); 9] = [
        // r1 only: CSAT 5 → 1.0.
        ("checkout", "payments", "1d", 1, 0, Some(1.0), None),
        // r1..r4: 1.0, 0.75, 0.9, 0.6 → 3.25 / 4; NPS 9 promoter, 6
        // detractor → 0.
        ("checkout", "payments", "7d", 2, 2, Some(0.8125), Some(0.0)),
        // + r5 (NPS 10 → 1.0) + r6 (CSAT 1 → 0): 4.25 / 6; promoters 9
        // and 10, detractor 6 → (2 − 1) / 3.
        (
            "checkout",
            "payments",
            "30d",
            3,
            3,
            Some(4.25 / 6.0),
            Some(1.0 / 3.0),
        ),
        // r8 is 25 hours old.
        ("search", "discovery", "1d", 0, 0, None, None),
        ("search", "discovery", "7d", 1, 0, Some(0.5), None),
        ("search", "discovery", "30d", 1, 0, Some(0.5), None),
        // r9: NPS 0 → 0.0, a detractor → −1.
        ("auth", "unknown", "1d", 0, 1, Some(0.0), Some(-1.0)),
        ("auth", "unknown", "7d", 0, 1, Some(0.0), Some(-1.0)),
        ("auth", "unknown", "30d", 0, 1, Some(0.0), Some(-1.0)),
    ];
    for (svc, team, w, csat, nps, score, np) in rows {
        let l = format!(r#"service="{svc}",team="{team}",window="{w}""#);
        put(
            format!(r#"valuepulse_satisfaction_responses{{{l},kind="csat"}}"#),
            csat as f64,
        );
        put(
            format!(r#"valuepulse_satisfaction_responses{{{l},kind="nps"}}"#),
            nps as f64,
        );
        if let Some(s) = score {
            put(format!("valuepulse_satisfaction_score{{{l}}}"), s);
        }
        if let Some(v) = np {
            put(format!("valuepulse_net_promoter_ratio{{{l}}}"), v);
        }
    }
    for w in ["1d", "7d", "30d"] {
        put(
            format!(r#"valuepulse_satisfaction_unattributed{{window="{w}"}}"#),
            1.0,
        );
    }
    // r1..r9 accepted, r10 invalid, r1 again a duplicate.
    outcomes(
        &mut put,
        "satisfaction",
        &[("accepted", 9), ("invalid", 1), ("duplicate", 1)],
        &[("out_of_range", 1)],
    );
    want
}

/// The value delivery scores, worked out from [`value_feed`]:
/// (1 / lead h) × deployments per day × (1 − change failure) ×
/// (1 / restore h) × satisfaction.
fn expected_scores() -> BTreeMap<String, f64> {
    let series = |svc: &str, team: &str, w: &str| {
        normalize(&format!(
            r#"valuepulse_value_delivery_score{{service="{svc}",team="{team}",environment="production",window="{w}"}}"#
        ))
    };
    BTreeMap::from([
        // (1/2) × (4/7) × 0.75 × (1/1) × 0.8125
        (
            series("checkout", "payments", "7d"),
            0.5 * (4.0 / 7.0) * 0.75 * 0.8125,
        ),
        // (1/2) × (4/30) × 0.75 × (1/1) × 4.25/6
        (
            series("checkout", "payments", "30d"),
            0.5 * (4.0 / 30.0) * 0.75 * (4.25 / 6.0),
        ),
        // (1/6) × (2/7) × 1 × (1/4) × 1.0 (the default)
        (
            series("cart", "payments", "7d"),
            (1.0 / 6.0) * (2.0 / 7.0) * 0.25,
        ),
        (
            series("cart", "payments", "30d"),
            (1.0 / 6.0) * (2.0 / 30.0) * 0.25,
        ),
        // 1 − 1 = 0: a real 0.
        (series("billing", "payments", "7d"), 0.0),
        (series("billing", "payments", "30d"), 0.0),
    ])
}

#[test]
fn satisfaction_responses_and_dora_figures_give_the_hand_computed_score_and_value_delivery_score() {
    let _isolation = common::shared();
    let t = Topics::new("value");
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let d = t.daemon();
    d.wait_ready(Duration::from_secs(60));
    let (deploys, incidents, responses) = value_feed(now);
    produce_with_headers(&t.deploys, &deploys);
    produce_with_headers(&t.incidents, &incidents);
    produce_with_headers(&t.satisfaction, &responses);
    let scrape = t.comparable(&scrape_after(
        &d,
        deploys.len() + incidents.len() + responses.len(),
        Duration::from_secs(60),
    ));

    assert_scrape(&scrape, &expected_satisfaction(), &BTreeMap::new(), |k| {
        k.starts_with("valuepulse_satisfaction")
            || k.starts_with("valuepulse_net_promoter")
            || events_of(k, "satisfaction")
    });

    // ck1 shipped `one-click` 2 days ago and nobody used it: realization
    // 0 / 1 on the longest window, below (1); no feedback cycle without a
    // use, so no band for it. The bands in force are the default preset.
    let value_stream: BTreeMap<&String, f64> = scrape
        .iter()
        .filter(|(k, _)| {
            k.starts_with("valuepulse_value_stream_tier") || k.starts_with("valuepulse_tier_bands")
        })
        .map(|(k, v)| (k, *v))
        .collect();
    let want_bands = [
        (
            normalize(r#"valuepulse_value_stream_tier{window="30d",metric="value_realization"}"#),
            1.0,
        ),
        (
            normalize(r#"valuepulse_tier_bands_info{preset="valuepulse"}"#),
            1.0,
        ),
    ];
    assert_eq!(
        value_stream,
        want_bands
            .iter()
            .map(|(k, v)| (k, *v))
            .collect::<BTreeMap<_, _>>()
    );

    // The score: exactly the series expected (search, auth and every 1d
    // window have none). Lead and restore medians come from a histogram of
    // 3 significant digits, at most 0.1 % above the true sample, so each
    // score is at most 0.2 % below the exact product and never above it.
    let want = expected_scores();
    let got: BTreeMap<&String, f64> = scrape
        .iter()
        .filter(|(k, _)| k.starts_with("valuepulse_value_delivery_score{"))
        .map(|(k, v)| (k, *v))
        .collect();
    assert_eq!(
        got.keys().copied().collect::<BTreeSet<_>>(),
        want.keys().collect::<BTreeSet<_>>(),
        "value delivery score series"
    );
    for (k, exact) in &want {
        let v = got[k];
        assert!(
            v <= exact * (1.0 + 1e-12) && v >= exact / (1.001 * 1.001),
            "{k}: {v}, want {exact} (within the histogram's precision)"
        );
    }
    // And it is the product of the figures exported beside it.
    for (k, v) in &got {
        let labels = k.split_once('{').unwrap().1.trim_end_matches('}');
        let of = |metric: &str, extra: &str| -> f64 {
            let key = normalize(&format!("{metric}{{{labels}{extra}}}"));
            *scrape
                .get(&key)
                .unwrap_or_else(|| panic!("{key} is not exported"))
        };
        let window = if labels.contains(r#"window="7d""#) {
            7.0
        } else {
            30.0
        };
        let sat_labels = labels
            .split(',')
            .filter(|l| !l.starts_with("environment="))
            .collect::<Vec<_>>()
            .join(",");
        let satisfaction = scrape
            .get(&normalize(&format!(
                "valuepulse_satisfaction_score{{{sat_labels}}}"
            )))
            .copied()
            .unwrap_or(1.0);
        let product = (3600.0 / of("valuepulse_lead_time_seconds", r#",quantile="0.5""#))
            * (of("valuepulse_deployments", "") / window)
            * (1.0
                - of(
                    "valuepulse_change_failure_ratio",
                    r#",attribution="strict""#,
                ))
            * (3600.0 / of("valuepulse_time_to_restore_seconds", r#",quantile="0.5""#))
            * satisfaction;
        assert!(
            (v - product).abs() <= 1e-9 * product.abs().max(1e-12),
            "{k}: {v}, but its exported parts give {product}"
        );
    }
}

// ---------------------------------------------------------------------------
// CDEvents incidents without an opening time
// ---------------------------------------------------------------------------

/// One incident of the pairing dataset: opened and resolved, seconds from
/// now.
struct Pair {
    id: &'static str,
    opened: i64,
    resolved: i64,
    wire: Wire,
    spec: Spec,
}

/// p1..p3 restore in 2h, 30m and 45m; u1 (4h) is first sent as a
/// resolution alone.
fn pairs() -> [Pair; 4] {
    [
        Pair {
            id: "p1",
            opened: -3 * D,
            resolved: -3 * D + 2 * H,
            wire: Structured,
            spec: V05,
        },
        Pair {
            id: "p2",
            opened: -2 * D,
            resolved: -2 * D + 30 * M,
            wire: Binary,
            spec: V04,
        },
        Pair {
            id: "p3",
            opened: -6 * H,
            resolved: -6 * H + 45 * M,
            wire: Bare,
            spec: V05,
        },
        Pair {
            id: "u1",
            opened: -5 * H,
            resolved: -H,
            wire: Binary,
            spec: V05,
        },
    ]
}

/// A spec-shaped CDEvents `incident.detected` or `incident.resolved`, as an
/// incident tool sends it: no `customData` at all (so no opening time on
/// the resolution, and no team).
fn spec_shaped(now: i64, p: &Pair, resolution: bool) -> HeaderedRecord {
    macro_rules! subject {
        ($m:path) => {{
            use $m as m;
            Subject::from(m::Content {
                artifact_id: None,
                description: Some("error rate above SLO".into()),
                environment: m::ContentEnvironment {
                    id: "production".try_into().unwrap(),
                    source: None,
                },
                service: Some(m::ContentService {
                    id: "checkout".try_into().unwrap(),
                    source: None,
                }),
            })
        }};
    }
    let subject = match (p.spec, resolution) {
        (V04, true) => subject!(v04::incident_resolved),
        (V04, false) => subject!(v04::incident_detected),
        (V05, true) => subject!(v05::incident_resolved),
        (V05, false) => subject!(v05::incident_detected),
    };
    let ev = CDEvent::from(
        subject
            .with_id(p.id.try_into().unwrap())
            .with_source("/monitoring/prod-eu-1".try_into().unwrap()),
    )
    .with_id(format!("{}-{resolution}", p.id).try_into().unwrap())
    .with_source("/monitoring/prod-eu-1".try_into().unwrap())
    .with_timestamp(at(now, if resolution { p.resolved } else { p.opened }));
    cloudevent_record("checkout", p.wire, ev)
}

/// The same incident event natively (no team either).
fn native_incident(now: i64, p: &Pair, resolution: bool) -> HeaderedRecord {
    let i = IncidentV1 {
        id: p.id.into(),
        service: "checkout".into(),
        environment: Some("production".into()),
        status: if resolution { "resolved" } else { "opened" }.into(),
        opened_at: common::at(now, p.opened).into(),
        resolved_at: resolution.then(|| common::at(now, p.resolved).into()),
        ..IncidentV1::default()
    };
    native_record("checkout", i.json())
}

/// The restore-time series and the pairing gauges of a scrape.
fn restore_series(scrape: &BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    scrape
        .iter()
        .filter(|(k, _)| {
            k.starts_with("valuepulse_time_to_restore_seconds")
                || k.starts_with("valuepulse_incidents_unpaired")
                || k.starts_with("valuepulse_incidents_open")
        })
        .map(|(k, v)| (k.clone(), *v))
        .collect()
}

#[test]
fn cdevents_incidents_without_opening_time_restore_as_native_ones_in_either_order() {
    let _isolation = common::shared();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let feeds = [
        Topics::new("pair-native"),
        Topics::new("pair-detected-first"),
        Topics::new("pair-resolved-first"),
    ];
    let daemons: Vec<Daemon> = feeds.iter().map(Topics::daemon).collect();
    for d in &daemons {
        d.wait_ready(Duration::from_secs(60));
    }
    // Phase 1: p1..p3 in full; u1's resolution alone in the CDEvents feeds
    // (it stays unpaired), nothing of u1 natively.
    let [p1, p2, p3, u1] = pairs();
    let mut native = Vec::new();
    let (mut detected_first, mut resolved_first) = (Vec::new(), Vec::new());
    for p in [&p1, &p2, &p3] {
        native.push(native_incident(now, p, false));
        native.push(native_incident(now, p, true));
        detected_first.push(spec_shaped(now, p, false));
        detected_first.push(spec_shaped(now, p, true));
        resolved_first.push(spec_shaped(now, p, true));
        resolved_first.push(spec_shaped(now, p, false));
    }
    detected_first.push(spec_shaped(now, &u1, true));
    resolved_first.push(spec_shaped(now, &u1, true));
    let feeds_records = [native, detected_first, resolved_first];
    let scrape = |i: usize, records: usize| {
        feeds[i].comparable(&scrape_after(&daemons[i], records, Duration::from_secs(60)))
    };
    for (t, records) in feeds.iter().zip(&feeds_records) {
        produce_with_headers(&t.incidents, records);
    }
    let s: Vec<BTreeMap<String, f64>> = (0..3).map(|i| scrape(i, feeds_records[i].len())).collect();

    // By hand: 1d holds p3 (45m); 7d p1, p2, p3 (2h + 30m + 45m).
    let k = r#"environment="production",service="checkout",team="unknown""#;
    let key = |m: &str, rest: &str| normalize(&format!("{m}{{{k}{rest}}}"));
    let ttr = "valuepulse_time_to_restore_seconds";
    for (i, scrape) in s.iter().enumerate() {
        for (w, count, sum) in [
            ("1d", 1.0, 2700.0),
            ("7d", 3.0, 11_700.0),
            ("30d", 3.0, 11_700.0),
        ] {
            let wl = format!(r#",window="{w}""#);
            assert_eq!(
                scrape.get(&key(&format!("{ttr}_count"), &wl)),
                Some(&count),
                "feed {i} {w}"
            );
            assert_eq!(
                scrape.get(&key(&format!("{ttr}_sum"), &wl)),
                Some(&sum),
                "feed {i} {w}"
            );
        }
        assert_eq!(
            scrape.get(&key("valuepulse_incidents_open", "")),
            Some(&0.0),
            "feed {i}"
        );
        // u1's resolution: valid, kept, unpaired.
        let unpaired = if i == 0 { 0.0 } else { 1.0 };
        assert_eq!(
            scrape.get(&key("valuepulse_incidents_unpaired", "")),
            Some(&unpaired),
            "feed {i}"
        );
        let accepted = if i == 0 { 6.0 } else { 7.0 };
        let events = |o: &str| {
            scrape
                .get(&normalize(&format!(
                    r#"valuepulse_events_total{{topic="incidents",outcome="{o}"}}"#
                )))
                .copied()
        };
        assert_eq!(events("accepted"), Some(accepted), "feed {i}");
        assert_eq!(
            events("invalid"),
            Some(0.0),
            "feed {i}: a resolution without opened_at is valid"
        );
    }
    let without_unpaired = |m: &BTreeMap<String, f64>| {
        let mut r = restore_series(m);
        r.retain(|k, _| !k.starts_with("valuepulse_incidents_unpaired"));
        r
    };
    for i in [1, 2] {
        let diff = differences(&without_unpaired(&s[0]), &without_unpaired(&s[i]));
        assert!(
            diff.is_empty(),
            "feed {i} restores differently:\n{}",
            diff.join("\n")
        );
    }

    // Phase 2: u1's detection arrives late in the CDEvents feeds, and u1
    // natively: paired, 4h in 1d and 7d, nothing unpaired.
    produce_with_headers(
        &feeds[0].incidents,
        &[
            native_incident(now, &u1, false),
            native_incident(now, &u1, true),
        ],
    );
    produce_with_headers(&feeds[1].incidents, &[spec_shaped(now, &u1, false)]);
    produce_with_headers(&feeds[2].incidents, &[spec_shaped(now, &u1, false)]);
    let s: Vec<BTreeMap<String, f64>> = (0..3)
        .map(|i| scrape(i, feeds_records[i].len() + if i == 0 { 2 } else { 1 }))
        .collect();
    for (i, scrape) in s.iter().enumerate() {
        for (w, count, sum) in [("1d", 2.0, 2700.0 + 14_400.0), ("7d", 4.0, 26_100.0)] {
            let wl = format!(r#",window="{w}""#);
            assert_eq!(
                scrape.get(&key(&format!("{ttr}_count"), &wl)),
                Some(&count),
                "feed {i} {w}"
            );
            assert_eq!(
                scrape.get(&key(&format!("{ttr}_sum"), &wl)),
                Some(&sum),
                "feed {i} {w}"
            );
        }
        assert_eq!(
            scrape.get(&key("valuepulse_incidents_unpaired", "")),
            Some(&0.0),
            "feed {i}"
        );
    }
    for i in [1, 2] {
        let diff = differences(&restore_series(&s[0]), &restore_series(&s[i]));
        assert!(
            diff.is_empty(),
            "feed {i} restores differently:\n{}",
            diff.join("\n")
        );
    }
}

// ---------------------------------------------------------------------------
// Optional topics
// ---------------------------------------------------------------------------

#[test]
fn a_missing_work_items_topic_does_not_hold_readiness_and_is_read_once_created() {
    let _isolation = common::shared();
    let deploys = unique("optional-deploys");
    let incidents = unique("optional-incidents");
    let usage = unique("optional-usage");
    let (work_items, satisfaction) = (unique("optional-work-items"), unique("optional-sat"));
    create_topics(&[(&deploys, 1), (&incidents, 1), (&usage, 1)]);
    let d = Daemon::start(&[
        ("VALUEPULSE__TOPICS__DEPLOYS", &deploys),
        ("VALUEPULSE__TOPICS__INCIDENTS", &incidents),
        ("VALUEPULSE__TOPICS__FEATURE_USAGE", &usage),
        ("VALUEPULSE__TOPICS__WORK_ITEMS", &work_items),
        ("VALUEPULSE__TOPICS__SATISFACTION", &satisfaction),
    ]);
    // Neither value-stream topic exists: ready all the same.
    d.wait_ready(Duration::from_secs(60));
    create_topics(&[(&work_items, 2)]);
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let item = |state: &str, at: i64| {
        let item = WorkItemV1 {
            id: "PAY-1".into(),
            service: "checkout".into(),
            state: state.into(),
            at: common::at(now, at).into(),
            ..WorkItemV1::default()
        };
        native_record("PAY-1", item.json())
    };
    produce_with_headers(
        &work_items,
        &[item("In Progress", -3 * H), item("Done", -H)],
    );
    // Assigned at the next look for new partitions (every 30 s) and read
    // from the horizon: both transitions, one item with 2 h active.
    let finished = normalize(
        r#"valuepulse_work_items_finished{service="checkout",team="unknown",window="1d"}"#,
    );
    let efficiency = normalize(
        r#"valuepulse_flow_efficiency_ratio{service="checkout",team="unknown",window="1d"}"#,
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut scrape = common::parse(&d.scrape());
    while scrape.get(&finished) != Some(&1.0) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(500));
        scrape = common::parse(&d.scrape());
    }
    assert_eq!(
        scrape.get(&finished),
        Some(&1.0),
        "the created topic was not read"
    );
    assert_eq!(scrape.get(&efficiency), Some(&1.0));
    let accepted = normalize(&format!(
        r#"valuepulse_events_total{{topic="{work_items}",outcome="accepted"}}"#
    ));
    assert_eq!(scrape.get(&accepted), Some(&2.0));
    // The topic that still does not exist holds nothing back.
    assert_eq!(d.get("/readyz").map(|r| r.0), Some(200));
}
