//! The work trackers through the bridge end to end: Jira Cloud and Linear
//! deliveries built as they document them, signed as they sign, sent over
//! real HTTP to a running `valuepulse bridge`, produced to a real broker
//! and read back by a running daemon. Each status history is sent out of
//! order, and the daemon must report exactly the flow figures worked out
//! by hand below, and exactly what the same transitions sent natively (to
//! another service on the same topic) give.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use valuepulse::bridge::verify::sign_hmac_sha256_hex;
use valuepulse::ingest::decode::WorkItemV1;

use crate::common::bridge::{Bridge, Topics, wait_for, wait_for_outcome};
use crate::common::{self, Daemon, at, create_topics, normalize, parse, produce, unique};

const JIRA_SECRET: &str = "jira-admin-webhook-secret";
const LINEAR_SECRET: &str = "lin_wh_signing_secret";
const H: i64 = 3600;
const M: i64 = 60;

/// A daemon and a bridge sharing a broker, with a work-items topic.
struct Setup {
    daemon: Daemon,
    bridge: Bridge,
    work_items: String,
    incidents: String,
    rules: std::path::PathBuf,
}

impl Setup {
    fn start(prefix: &str, rules: &str, secret: (&str, &str)) -> Self {
        let t = Topics::create(prefix, create_topics);
        let work_items = unique(&format!("{prefix}-work-items"));
        create_topics(&[(&work_items, 2)]);
        let path = std::env::temp_dir().join(unique(&format!("{prefix}-rules")) + ".toml");
        std::fs::write(&path, rules).unwrap();
        let mut env: Vec<(&str, &str)> = t.env().to_vec();
        env.push(("VALUEPULSE__TOPICS__WORK_ITEMS", &work_items));
        let daemon = Daemon::start(&env);
        env.push(secret);
        let bridge = Bridge::start(&path, &env);
        daemon.wait_ready(Duration::from_secs(60));
        Self {
            daemon,
            bridge,
            work_items,
            incidents: t.incidents,
            rules: path,
        }
    }

    /// Produces native work items straight to the topic, as any tracker
    /// integration would.
    fn native(&self, now: i64, id: &str, transitions: &[(&str, i64)]) {
        let records: Vec<(String, String)> = transitions
            .iter()
            .map(|(state, offset)| {
                let item = WorkItemV1 {
                    id: id.into(),
                    service: "native".into(),
                    team: Some("payments".into()),
                    state: (*state).into(),
                    at: at(now, *offset).into(),
                    ..WorkItemV1::default()
                };
                (id.to_owned(), serde_json::to_string(&item).unwrap())
            })
            .collect();
        produce(&self.work_items, &records);
    }

    fn count(&self, series: &str) -> f64 {
        parse(&self.bridge.metrics())
            .get(&normalize(series))
            .copied()
            .unwrap_or(0.0)
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.rules);
    }
}

/// The flow series of `service` (team payments), with the service label
/// renamed so two services compare.
fn flow_of(scrape: &BTreeMap<String, f64>, service: &str) -> BTreeMap<String, f64> {
    let label = format!(r#"service="{service}",team="payments""#);
    scrape
        .iter()
        .filter(|(k, _)| {
            (k.starts_with("valuepulse_work_item") || k.starts_with("valuepulse_flow_efficiency"))
                && k.contains(&label)
        })
        .map(|(k, v)| (k.replace(&label, r#"service="S",team="payments""#), *v))
        .collect()
}

/// The figures both trackers' datasets add up to, per window (all items
/// finished within the last day, so 1d, 7d and 30d agree):
///
/// | item | transitions (from now) | active | waiting |
/// |---|---|---|---|
/// | 1 | To Do/Backlog −10h, In Progress −8h, In Review −6h, In Progress −5h, Done −4h | 2h + 1h = 3h | 1h |
/// | 2 | In Progress −3h, Blocked −2h, Done −1h | 1h | 1h |
///
/// Two items, 4h active, 2h waiting, efficiency 4/6; per item 0.75 and
/// 0.5: nearest-rank median 0.5, p90 and p95 0.75, sum 1.25.
fn assert_hand_figures(daemon: &Daemon, service: &str) {
    for w in ["1d", "7d", "30d"] {
        let l = format!(r#"service="{service}",team="payments",window="{w}""#);
        wait_for(
            daemon,
            &format!("valuepulse_work_items_finished{{{l}}}"),
            2.0,
        );
        wait_for(
            daemon,
            &format!(r#"valuepulse_work_item_time_seconds{{{l},category="active"}}"#),
            (4 * H) as f64,
        );
        wait_for(
            daemon,
            &format!(r#"valuepulse_work_item_time_seconds{{{l},category="waiting"}}"#),
            (2 * H) as f64,
        );
        wait_for(
            daemon,
            &format!("valuepulse_flow_efficiency_ratio{{{l}}}"),
            4.0 / 6.0,
        );
        for (q, v) in [("0.5", 0.5), ("0.9", 0.75), ("0.95", 0.75)] {
            wait_for(
                daemon,
                &format!(r#"valuepulse_work_item_flow_efficiency_ratio{{{l},quantile="{q}"}}"#),
                v,
            );
        }
        wait_for(
            daemon,
            &format!("valuepulse_work_item_flow_efficiency_ratio_sum{{{l}}}"),
            1.25,
        );
        wait_for(
            daemon,
            &format!("valuepulse_work_item_flow_efficiency_ratio_count{{{l}}}"),
            2.0,
        );
    }
}

/// The native twin of both datasets: the same transitions, by state name.
fn native_twin(s: &Setup, now: i64) {
    s.native(
        now,
        "native-1",
        &[
            ("In Progress", -8 * H),
            ("Done", -4 * H),
            ("To Do", -10 * H),
            ("In Review", -6 * H),
            ("In Progress", -5 * H),
        ],
    );
    s.native(
        now,
        "native-2",
        &[("Done", -H), ("In Progress", -3 * H), ("Blocked", -2 * H)],
    );
}

fn assert_same_as_native(daemon: &Daemon, service: &str) {
    let scrape = parse(&daemon.scrape());
    let (ours, native) = (flow_of(&scrape, service), flow_of(&scrape, "native"));
    assert!(!ours.is_empty(), "no flow series for {service}");
    assert_eq!(ours, native, "{service} against the native twin");
}

// ---------------------------------------------------------------------------
// Jira
// ---------------------------------------------------------------------------

fn jira_headers(body: &[u8], secret: Option<&str>) -> Vec<(&'static str, String)> {
    let mut h = vec![
        ("Content-Type", "application/json".to_owned()),
        ("X-Atlassian-Webhook-Identifier", unique("jira-delivery")),
        ("User-Agent", "Atlassian Webhook HTTP Client".to_owned()),
    ];
    if let Some(s) = secret {
        h.push(("X-Hub-Signature", sign_hmac_sha256_hex(s, body)));
    }
    h
}

/// Jira's own time form (`2024-03-01T11:00:00.000+0100`) of `now + offset`,
/// written at +01:00.
fn jira_time(now: i64, offset: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(now + offset)
        .unwrap()
        .to_offset(time::UtcOffset::from_hms(1, 0, 0).unwrap());
    t.format(time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].000+0100"
    ))
    .unwrap()
}

/// A Jira status with its category.
fn jira_status(name: &str) -> Value {
    let (id, key) = match name {
        "To Do" => ("10000", "new"),
        "Open" => ("1", "new"),
        "In Progress" => ("3", "indeterminate"),
        "In Review" => ("10002", "indeterminate"),
        "Blocked" => ("10003", "indeterminate"),
        "Done" => ("10001", "done"),
        "Resolved" => ("5", "done"),
        other => panic!("no status {other}"),
    };
    json!({"self": format!("https://acme.atlassian.net/rest/api/2/status/{id}"),
           "name": name, "id": id,
           "statusCategory": {"id": 2, "key": key, "name": key}})
}

/// One delivery about issue `key` (project = its prefix, of `issuetype`),
/// fired at `now + offset`: created into `status`, or updated from `from`
/// into `status`.
fn jira(
    now: i64,
    offset: i64,
    key: &str,
    issuetype: &str,
    from: Option<&str>,
    status: &str,
    resolved: Option<i64>,
) -> Vec<u8> {
    let project = key.split('-').next().unwrap();
    let mut v = json!({
        "timestamp": (now + offset) * 1000,
        "webhookEvent": if from.is_some() { "jira:issue_updated" } else { "jira:issue_created" },
        "issue_event_type_name": if from.is_some() { "issue_generic" } else { "issue_created" },
        "user": {"accountId": "5b10ac8d82e05b22cc7d4ef5", "displayName": "Dev", "active": true},
        "issue": {
            "id": "10042", "key": key,
            "self": "https://acme.atlassian.net/rest/api/2/10042",
            "fields": {
                "issuetype": {"id": "10001", "name": issuetype, "subtask": false},
                "project": {"id": "10000", "key": project, "name": project, "projectTypeKey": "software"},
                "created": jira_time(now, -90 * M),
                "updated": jira_time(now, offset),
                "resolutiondate": resolved.map(|r| jira_time(now, r)),
                "priority": {"id": "2", "name": "High"},
                "labels": [],
                "status": jira_status(status),
                "summary": "Work"
            }
        }
    });
    if let Some(from) = from {
        v["changelog"] = json!({"id": "10301", "items": [{
            "field": "status", "fieldtype": "jira", "fieldId": "status",
            "from": jira_status(from)["id"], "fromString": from,
            "to": jira_status(status)["id"], "toString": status
        }]});
    }
    serde_json::to_vec(&v).unwrap()
}

#[test]
fn jira_status_history_out_of_order_gives_the_native_flow_and_incidents_their_restore_time() {
    let _isolation = common::shared();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let s = Setup::start(
        "jira",
        "[[bridge.jira.services]]\nmatch = \"PAY\"\nservice = \"checkout\"\nteam = \"payments\"\n",
        ("VALUEPULSE__BRIDGE__JIRA__SECRETS", JIRA_SECRET),
    );
    let send = |body: &[u8]| {
        s.bridge
            .post("/hooks/jira", &jira_headers(body, Some(JIRA_SECRET)), body)
            .0
    };
    let story = |offset, key, from, to| jira(now, offset, key, "Story", from, to, None);
    // PAY-1 and PAY-2, newest first and shuffled.
    let pay1_done = story(-4 * H, "PAY-1", Some("In Progress"), "Done");
    let deliveries = [
        pay1_done.clone(),
        story(-H, "PAY-2", Some("Blocked"), "Done"),
        story(-6 * H, "PAY-1", Some("In Progress"), "In Review"),
        story(-10 * H, "PAY-1", None, "To Do"),
        story(-2 * H, "PAY-2", Some("In Progress"), "Blocked"),
        story(-5 * H, "PAY-1", Some("In Review"), "In Progress"),
        story(-3 * H, "PAY-2", Some("To Do"), "In Progress"),
        story(-8 * H, "PAY-1", Some("To Do"), "In Progress"),
    ];
    for d in &deliveries {
        assert_eq!(send(d), 200);
    }
    native_twin(&s, now);

    // OPS-3, an Incident: created 90 min ago, resolved 30 min ago: 3600 s.
    let opened = jira(now, -90 * M, "OPS-3", "Incident", None, "Open", None);
    let resolved = jira(
        now,
        -30 * M,
        "OPS-3",
        "Incident",
        Some("Open"),
        "Resolved",
        Some(-30 * M),
    );
    assert_eq!(send(&opened), 200);
    assert_eq!(send(&resolved), 200);

    // Redelivered (Jira retries with the same body): duplicates.
    assert_eq!(send(&pay1_done), 200);
    assert_eq!(send(&resolved), 200);

    // Not authentic: a changed body, another secret, no signature.
    let mut tampered = pay1_done.clone();
    let i = tampered.len() - 3;
    tampered[i] ^= 1;
    let signed = jira_headers(&pay1_done, Some(JIRA_SECRET));
    assert_eq!(s.bridge.post("/hooks/jira", &signed, &tampered).0, 401);
    let other = story(-30 * M, "PAY-9", Some("To Do"), "In Progress");
    assert_eq!(
        s.bridge
            .post("/hooks/jira", &jira_headers(&other, Some("guess")), &other)
            .0,
        401
    );
    assert_eq!(
        s.bridge
            .post("/hooks/jira", &jira_headers(&other, None), &other)
            .0,
        401
    );

    // Authentic but unmapped: a deleted issue, a comment.
    let mut deleted: Value = serde_json::from_slice(&other).unwrap();
    deleted["webhookEvent"] = json!("jira:issue_deleted");
    let deleted = serde_json::to_vec(&deleted).unwrap();
    assert_eq!(send(&deleted), 202);
    let comment = serde_json::to_vec(&json!({
        "timestamp": now * 1000, "webhookEvent": "comment_created",
        "comment": {"id": "10100", "body": "LGTM", "created": jira_time(now, 0)},
        "issue": {"id": "10042", "key": "PAY-1", "fields": {"summary": "Work"}}
    }))
    .unwrap();
    assert_eq!(send(&comment), 202);

    assert_hand_figures(&s.daemon, "checkout");
    assert_hand_figures(&s.daemon, "native");
    // 8 Jira + 8 native + OPS-3's 2 transitions accepted; the two
    // redeliveries (PAY-1's Done, OPS-3's Resolved) duplicates; nothing
    // refused reached Kafka (PAY-9 never appears).
    let wi = &s.work_items;
    wait_for_outcome(&s.daemon, wi, "accepted", 18.0);
    wait_for_outcome(&s.daemon, wi, "duplicate", 2.0);
    let k = r#"environment="production",service="OPS",team="unknown",window="1d""#;
    wait_for(
        &s.daemon,
        &format!("valuepulse_time_to_restore_seconds_count{{{k}}}"),
        1.0,
    );
    wait_for(
        &s.daemon,
        &format!("valuepulse_time_to_restore_seconds_sum{{{k}}}"),
        3600.0,
    );
    let inc = &s.incidents;
    wait_for_outcome(&s.daemon, inc, "accepted", 2.0);
    wait_for_outcome(&s.daemon, inc, "duplicate", 1.0);
    assert_same_as_native(&s.daemon, "checkout");

    let c = |event: &str, outcome: &str| {
        s.count(&format!(
            r#"valuepulse_bridge_deliveries_total{{source="jira",event="{event}",outcome="{outcome}"}}"#
        ))
    };
    assert_eq!(c("jira:issue_created", "produced"), 2.0);
    assert_eq!(c("jira:issue_updated", "produced"), 10.0);
    assert_eq!(c("jira:issue_deleted", "ignored"), 1.0);
    assert_eq!(c("other", "ignored"), 1.0);
    assert_eq!(c("unverified", "unauthorized"), 3.0);
}

// ---------------------------------------------------------------------------
// Linear
// ---------------------------------------------------------------------------

fn linear_headers(body: &[u8], secret: Option<&str>) -> Vec<(&'static str, String)> {
    let mut h = vec![
        ("Content-Type", "application/json; charset=utf-8".to_owned()),
        ("Linear-Delivery", unique("linear-delivery")),
        ("Linear-Event", "Issue".to_owned()),
        ("User-Agent", "Linear-Webhook".to_owned()),
    ];
    if let Some(s) = secret {
        let signed = sign_hmac_sha256_hex(s, body);
        h.push((
            "Linear-Signature",
            signed.trim_start_matches("sha256=").to_owned(),
        ));
    }
    h
}

/// The Linear state of a name, with its type.
fn linear_state(name: &str) -> Value {
    let kind = match name {
        "Backlog" => "backlog",
        "Todo" => "unstarted",
        "In Progress" | "In Review" | "Blocked" => "started",
        "Done" => "completed",
        "Canceled" => "canceled",
        other => panic!("no state {other}"),
    };
    json!({"id": format!("state-{}", name.replace(' ', "-")), "color": "#f2c94c",
           "name": name, "type": kind})
}

/// An `Issue` delivery about `identifier`, signed for now: `create` into
/// `state` at `now + offset`, or `update` from another state into it.
fn linear(now: i64, offset: i64, identifier: &str, create: bool, state: &str) -> Vec<u8> {
    linear_at(now, offset, identifier, create, state, time_ms())
}

fn time_ms() -> i64 {
    valuepulse::clock::now_millis()
}

fn linear_at(
    now: i64,
    offset: i64,
    identifier: &str,
    create: bool,
    state: &str,
    webhook_ms: i64,
) -> Vec<u8> {
    let team = identifier.split('-').next().unwrap();
    let mut v = json!({
        "action": if create { "create" } else { "update" },
        "actor": {"id": "8b1c6d9e-1a2b-4c3d-9e8f-7a6b5c4d3e2f", "type": "user", "name": "Dev"},
        "createdAt": at(now, offset),
        "data": {
            "id": format!("uuid-{identifier}"),
            "createdAt": at(now, if create { offset } else { -12 * H }),
            "updatedAt": at(now, offset),
            "number": 1, "title": "Work", "priority": 2,
            "identifier": identifier,
            "teamId": "72b2a2dc-6f4f-4423-9d34-24b5bd10634a",
            "team": {"id": "72b2a2dc-6f4f-4423-9d34-24b5bd10634a", "key": team, "name": "Engineering"},
            "stateId": linear_state(state)["id"],
            "state": linear_state(state),
            "labelIds": []
        },
        "url": format!("https://linear.app/acme/issue/{identifier}/work"),
        "type": "Issue",
        "organizationId": "b6c7d8e9-f0a1-4b2c-9d3e-4f5a6b7c8d9e",
        "webhookTimestamp": webhook_ms,
        "webhookId": "000042e3-d123-4980-b49f-8e140eef9329"
    });
    if !create {
        v["updatedFrom"] = json!({"updatedAt": at(now, offset - 60), "stateId": "state-previous"});
    }
    serde_json::to_vec(&v).unwrap()
}

#[test]
fn linear_state_history_out_of_order_gives_the_native_flow_and_canceled_items_are_in_no_figure() {
    let _isolation = common::shared();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let s = Setup::start(
        "linear",
        "[[bridge.linear.services]]\nmatch = \"ENG\"\nservice = \"checkout\"\nteam = \"payments\"\n",
        ("VALUEPULSE__BRIDGE__LINEAR__SECRETS", LINEAR_SECRET),
    );
    let send = |body: &[u8]| {
        s.bridge
            .post(
                "/hooks/linear",
                &linear_headers(body, Some(LINEAR_SECRET)),
                body,
            )
            .0
    };
    let eng1_done = linear(now, -4 * H, "ENG-1", false, "Done");
    let deliveries = [
        eng1_done.clone(),
        linear(now, -H, "ENG-2", false, "Done"),
        linear(now, -6 * H, "ENG-1", false, "In Review"),
        linear(now, -10 * H, "ENG-1", true, "Backlog"),
        linear(now, -2 * H, "ENG-2", false, "Blocked"),
        linear(now, -5 * H, "ENG-1", false, "In Progress"),
        linear(now, -3 * H, "ENG-2", false, "In Progress"),
        linear(now, -8 * H, "ENG-1", false, "In Progress"),
        // ENG-3 started and was canceled; ENG-4 was done, then canceled.
        linear(now, -7 * H, "ENG-3", false, "In Progress"),
        linear(now, -6 * H, "ENG-3", false, "Canceled"),
        linear(now, -9 * H, "ENG-4", false, "Canceled"),
        linear(now, -11 * H, "ENG-4", false, "In Progress"),
        linear(now, -10 * H, "ENG-4", false, "Done"),
    ];
    for d in &deliveries {
        assert_eq!(send(d), 200);
    }
    native_twin(&s, now);
    // Redelivered: a duplicate.
    assert_eq!(send(&eng1_done), 200);

    // A signed delivery from two minutes ago is a replay: refused.
    let stale = linear_at(
        now,
        -30 * M,
        "ENG-9",
        false,
        "In Progress",
        time_ms() - 120_000,
    );
    assert_eq!(send(&stale), 401);
    // A bad signature, no signature.
    let other = linear(now, -30 * M, "ENG-9", false, "In Progress");
    assert_eq!(
        s.bridge
            .post(
                "/hooks/linear",
                &linear_headers(&other, Some("guess")),
                &other
            )
            .0,
        401
    );
    assert_eq!(
        s.bridge
            .post("/hooks/linear", &linear_headers(&other, None), &other)
            .0,
        401
    );

    // Authentic but unmapped: a title edit, a comment.
    let mut title: Value = serde_json::from_slice(&other).unwrap();
    title["updatedFrom"] = json!({"updatedAt": at(now, -H), "title": "Old title"});
    let title = serde_json::to_vec(&title).unwrap();
    assert_eq!(send(&title), 202);
    let comment = serde_json::to_vec(&json!({
        "action": "create", "type": "Comment", "createdAt": at(now, 0),
        "data": {"id": "c1", "body": "LGTM", "issueId": "uuid-ENG-1"},
        "url": "https://linear.app/acme/issue/ENG-1#comment-c1",
        "organizationId": "b6c7d8e9-f0a1-4b2c-9d3e-4f5a6b7c8d9e",
        "webhookTimestamp": time_ms(), "webhookId": "000042e3-d123-4980-b49f-8e140eef9329"
    }))
    .unwrap();
    assert_eq!(send(&comment), 202);

    // ENG-3 and ENG-4 add nothing: the same figures as the native twin.
    assert_hand_figures(&s.daemon, "checkout");
    assert_hand_figures(&s.daemon, "native");
    let wi = &s.work_items;
    // 13 Linear + 8 native accepted, one duplicate; ENG-9 never arrived.
    wait_for_outcome(&s.daemon, wi, "accepted", 21.0);
    wait_for_outcome(&s.daemon, wi, "duplicate", 1.0);
    assert_same_as_native(&s.daemon, "checkout");
    // Canceled was sent as waiting, not left unmapped.
    let scrape = parse(&s.daemon.scrape());
    assert_eq!(
        scrape.get("valuepulse_work_item_unmapped_transitions"),
        Some(&0.0)
    );

    let c = |event: &str, outcome: &str| {
        s.count(&format!(
            r#"valuepulse_bridge_deliveries_total{{source="linear",event="{event}",outcome="{outcome}"}}"#
        ))
    };
    assert_eq!(c("issue.create", "produced"), 1.0);
    assert_eq!(c("issue.update", "produced"), 13.0);
    assert_eq!(c("issue.update", "ignored"), 1.0);
    assert_eq!(c("other", "ignored"), 1.0);
    assert_eq!(c("unverified", "unauthorized"), 3.0);
}
