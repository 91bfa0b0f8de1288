//! The bridge end to end: payloads built as GitHub, GitLab and PagerDuty
//! document them, signed as they sign, sent over real HTTP to a running
//! `valuepulse bridge`, produced to a real broker and read back by a
//! running daemon, whose scrape must show the hand-computed figures. (The
//! providers themselves cannot be reached from here; what crosses the wire
//! is exactly what they send.)

use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::bridge::{
    Bridge, GITHUB_SECRET, Topics, deployment_status, github, post_or_get, repository, wait_for,
    wait_for_outcome,
};
use crate::common::events::{self, Event};
use crate::common::{self, Daemon, at, create_topics, normalize, parse, unique};
use base64::Engine as _;
use serde_json::{Value, json};
use valuepulse::bridge::verify::sign_hmac_sha256_hex;
use valuepulse::ingest::decode::DeployV1;

const GITHUB_RETIRED: &str = "gh-retired-secret";
const GITLAB_TOKEN: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const PAGERDUTY_SECRET: &str = "pd-secret";
const EVENTS_TOKEN: &str = "events-token";

/// An `issues` delivery of issue 7 carrying the `incident` label.
fn issue(now: i64, action: &str, opened: i64, closed: Option<i64>) -> Vec<u8> {
    let mut v = json!({
        "action": action,
        "issue": {
            "url": "https://api.github.com/repos/acme/checkout/issues/7",
            "id": 444500041, "number": 7, "title": "Checkout returns 500",
            "user": {"login": "sre", "id": 3, "type": "User"},
            "labels": [{"id": 1, "name": "Incident", "color": "d73a4a", "default": false}],
            "state": if closed.is_some() { "closed" } else { "open" },
            "comments": 0,
            "created_at": at(now, opened),
            "updated_at": at(now, closed.unwrap_or(opened)),
            "closed_at": closed.map(|c| at(now, c)),
            "body": "Payments fail."
        },
        "repository": repository(),
        "sender": {"login": "sre", "id": 3, "type": "User"}
    });
    if action == "labeled" {
        v["label"] = json!({"id": 1, "name": "Incident"});
    }
    serde_json::to_vec(&v).unwrap()
}

/// A PagerDuty v3 incident webhook.
fn pagerduty(now: i64, event_type: &str, occurred: i64, created: i64) -> Vec<u8> {
    serde_json::to_vec(&json!({"event": {
        "id": unique("01DEN"), "event_type": event_type, "resource_type": "incident",
        "occurred_at": at(now, occurred),
        "agent": {"html_url": "https://acme.pagerduty.com/users/PLH1HKV", "id": "PLH1HKV",
                  "self": "https://api.pagerduty.com/users/PLH1HKV", "summary": "Tenex Engineer",
                  "type": "user_reference"},
        "client": null,
        "data": {
            "id": "PGR0VU2", "type": "incident", "self": "https://api.pagerduty.com/incidents/PGR0VU2",
            "html_url": "https://acme.pagerduty.com/incidents/PGR0VU2", "number": 2,
            "status": if event_type == "incident.resolved" { "resolved" } else { "triggered" },
            "incident_key": "d3640fbd41094207a1c11e58e46b1662",
            "created_at": at(now, created), "title": "A little bump in the road",
            "service": {"html_url": "https://acme.pagerduty.com/services/PF9KMXH", "id": "PF9KMXH",
                        "self": "https://api.pagerduty.com/services/PF9KMXH",
                        "summary": "Checkout API", "type": "service_reference"},
            "assignees": [], "escalation_policy": {"id": "PTNMOLG", "summary": "Checkout", "type": "escalation_policy_reference"},
            "teams": [], "priority": {"id": "PSO75BM", "summary": "P1", "type": "priority_reference"},
            "urgency": "high", "conference_bridge": null, "resolve_reason": null
        }
    }}))
    .unwrap()
}

fn pd_headers(body: &[u8], secret: &str) -> Vec<(&'static str, String)> {
    let hex = &sign_hmac_sha256_hex(secret, body)["sha256=".len()..];
    vec![
        ("X-PagerDuty-Signature", format!("v1=00ff00ff,v1={hex}")),
        ("X-Webhook-Id", "PXYZ".to_owned()),
        ("Content-Type", "application/json".to_owned()),
    ]
}

/// A GitLab Deployment Hook, `status_changed_at` in GitLab's own form.
fn gitlab_deployment(changed_at: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "object_kind": "deployment", "status": "success", "status_changed_at": changed_at,
        "deployment_id": 15, "deployable_id": 796,
        "deployable_url": "http://gitlab.example.com/acme/web/-/jobs/796",
        "environment": "production", "environment_tier": "production", "environment_slug": "production",
        "environment_external_url": "https://web.example.com",
        "project": {"id": 30, "name": "web", "path_with_namespace": "acme/web",
                    "web_url": "http://gitlab.example.com/acme/web", "default_branch": "main"},
        "short_sha": "279484c0", "user": {"id": 1, "name": "Administrator", "username": "root"},
        "user_url": "http://gitlab.example.com/root",
        "commit_url": "http://gitlab.example.com/acme/web/-/commit/279484c09fbe69ededfced8c1bb6e6d24616b468",
        "commit_title": "Test commit message"
    }))
    .unwrap()
}

/// GitLab's signing-token headers (Standard Webhooks) at `ts`.
fn gitlab_signed(body: &[u8], ts: i64) -> Vec<(&'static str, String)> {
    let id = unique("msg");
    let key = base64::engine::general_purpose::STANDARD
        .decode(GITLAB_TOKEN.trim_start_matches("whsec_"))
        .unwrap();
    let mut signed = format!("{id}.{ts}.").into_bytes();
    signed.extend_from_slice(body);
    let tag = ring::hmac::sign(
        &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key),
        &signed,
    );
    vec![
        ("X-Gitlab-Event", "Deployment Hook".to_owned()),
        ("webhook-id", id),
        ("webhook-timestamp", ts.to_string()),
        (
            "webhook-signature",
            format!(
                "v1,{}",
                base64::engine::general_purpose::STANDARD.encode(tag.as_ref())
            ),
        ),
    ]
}

#[test]
fn signed_webhooks_become_deploys_and_incidents_the_daemon_reports_exactly() {
    let _isolation = common::shared();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let t = Topics::create("bridge", create_topics);
    let deploys = &t.deploys;
    let topics = t.env();
    let rules = std::env::temp_dir().join(unique("bridge-rules") + ".toml");
    std::fs::write(
        &rules,
        r#"
[bridge]
max_body_bytes = "64KiB"
[bridge.github]
production = "prod|production"
[[bridge.github.services]]
match = "acme/checkout"
service = "checkout"
team = "payments"
[[bridge.pagerduty.services]]
match = "Checkout API"
service = "checkout"
team = "payments"
"#,
    )
    .unwrap();
    let daemon = Daemon::start(&topics);
    let mut env: Vec<(&str, &str)> = topics.to_vec();
    env.extend([
        ("VALUEPULSE__BRIDGE__GITHUB__SECRETS", GITHUB_SECRET),
        ("VALUEPULSE__BRIDGE__GITLAB__SECRETS", GITLAB_TOKEN),
        ("VALUEPULSE__BRIDGE__PAGERDUTY__SECRETS", PAGERDUTY_SECRET),
        ("VALUEPULSE__BRIDGE__EVENTS__SECRETS", EVENTS_TOKEN),
    ]);
    // The rules file goes through --config as an operator's would.
    let bridge = Bridge::start(&rules, &env);
    daemon.wait_ready(Duration::from_secs(60));

    // GitHub: deployment 1001 succeeded 2 h ago (environment "prod" is
    // production by the rule), 1002 failed 1 h ago, 1003 is pending.
    let ok = deployment_status(now, 1001, "success", -2 * 3600);
    assert_eq!(
        bridge
            .post(
                "/hooks/github",
                &github("deployment_status", &ok, Some(GITHUB_SECRET)),
                &ok
            )
            .0,
        200
    );
    let failed = deployment_status(now, 1002, "failure", -3600);
    assert_eq!(
        bridge
            .post(
                "/hooks/github",
                &github("deployment_status", &failed, Some(GITHUB_SECRET)),
                &failed
            )
            .0,
        200
    );
    let pending = deployment_status(now, 1003, "pending", -60);
    assert_eq!(
        bridge
            .post(
                "/hooks/github",
                &github("deployment_status", &pending, Some(GITHUB_SECRET)),
                &pending
            )
            .0,
        202
    );
    // Redelivered as GitHub's "Redeliver" button sends it: the same bytes.
    assert_eq!(
        bridge
            .post(
                "/hooks/github",
                &github("deployment_status", &ok, Some(GITHUB_SECRET)),
                &ok
            )
            .0,
        200
    );

    // Not authentic: a changed body, a retired secret, no signature. None
    // reaches Kafka.
    let mut tampered = ok.clone();
    tampered[10] ^= 1;
    let signed_ok = github("deployment_status", &ok, Some(GITHUB_SECRET));
    assert_eq!(bridge.post("/hooks/github", &signed_ok, &tampered).0, 401);
    let retired = deployment_status(now, 1004, "success", -60);
    assert_eq!(
        bridge
            .post(
                "/hooks/github",
                &github("deployment_status", &retired, Some(GITHUB_RETIRED)),
                &retired
            )
            .0,
        401
    );
    assert_eq!(
        bridge
            .post(
                "/hooks/github",
                &github("deployment_status", &retired, None),
                &retired
            )
            .0,
        401
    );

    // A GitHub issue labelled Incident: opened 50 min ago, closed 20 min
    // ago: 30 min to restore.
    let opened = issue(now, "opened", -50 * 60, None);
    assert_eq!(
        bridge
            .post(
                "/hooks/github",
                &github("issues", &opened, Some(GITHUB_SECRET)),
                &opened
            )
            .0,
        200
    );
    let closed = issue(now, "closed", -50 * 60, Some(-20 * 60));
    assert_eq!(
        bridge
            .post(
                "/hooks/github",
                &github("issues", &closed, Some(GITHUB_SECRET)),
                &closed
            )
            .0,
        200
    );

    // PagerDuty: triggered 70 min ago, resolved 10 min ago: 60 min.
    let t = pagerduty(now, "incident.triggered", -70 * 60, -70 * 60);
    assert_eq!(
        bridge
            .post("/hooks/pagerduty", &pd_headers(&t, PAGERDUTY_SECRET), &t)
            .0,
        200
    );
    let r = pagerduty(now, "incident.resolved", -10 * 60, -70 * 60);
    assert_eq!(
        bridge
            .post("/hooks/pagerduty", &pd_headers(&r, PAGERDUTY_SECRET), &r)
            .0,
        200
    );
    let bad = pagerduty(now, "incident.resolved", -10 * 60, -70 * 60);
    assert_eq!(
        bridge
            .post(
                "/hooks/pagerduty",
                &pd_headers(&bad, "not-the-secret"),
                &bad
            )
            .0,
        401
    );

    // GitLab, signing token: a deploy of "web" 30 min ago, with GitLab's own
    // timestamp form (+0200); the same delivery 10 min old is a replay.
    let changed = time::OffsetDateTime::from_unix_timestamp(now - 30 * 60 + 2 * 3600).unwrap();
    let gl_time = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} +0200",
        changed.year(),
        u8::from(changed.month()),
        changed.day(),
        changed.hour(),
        changed.minute(),
        changed.second()
    );
    let gl = gitlab_deployment(&gl_time);
    assert_eq!(
        bridge
            .post("/hooks/gitlab", &gitlab_signed(&gl, now), &gl)
            .0,
        200
    );
    assert_eq!(
        bridge
            .post("/hooks/gitlab", &gitlab_signed(&gl, now - 600), &gl)
            .0,
        401
    );

    // Too large for bridge.max_body_bytes (64 KiB).
    let huge = vec![b' '; 100 * 1024];
    assert_eq!(
        bridge
            .post(
                "/hooks/github",
                &github("push", &huge, Some(GITHUB_SECRET)),
                &huge
            )
            .0,
        413
    );

    // POST /events: a native deploy of "search", with the bearer token.
    let native = DeployV1 {
        environment: None,
        ..events::deploy(now, "d-search-1", "search", "discovery", "succeeded", -900)
    }
    .json()
    .into_bytes();
    let bearer = [("Authorization", format!("Bearer {EVENTS_TOKEN}"))];
    assert_eq!(
        bridge
            .post(&format!("/events/{deploys}"), &bearer, &native)
            .0,
        200
    );
    let invalid = br#"{"id": "x", "service": "search", "status": "exploded", "finished_at": "2026-01-01T00:00:00Z"}"#;
    let (status, body) = bridge.post(&format!("/events/{deploys}"), &bearer, invalid);
    assert_eq!(
        (status, body.trim()),
        (400, "invalid: bad_status (the daemon would refuse it)")
    );

    // What the daemon reports, worked out by hand from the deliveries above.
    let k = r#"environment="production",service="checkout",team="payments",window="1d""#;
    wait_for(
        &daemon,
        &format!(r#"valuepulse_deploy_attempts{{{k},status="succeeded"}}"#),
        1.0,
    );
    wait_for(
        &daemon,
        &format!(r#"valuepulse_deploy_attempts{{{k},status="failed"}}"#),
        1.0,
    );
    wait_for(&daemon, &format!("valuepulse_deployments{{{k}}}"), 1.0);
    // Restore samples 1800 s (the issue) and 3600 s (PagerDuty).
    wait_for(
        &daemon,
        &format!("valuepulse_time_to_restore_seconds_count{{{k}}}"),
        2.0,
    );
    wait_for(
        &daemon,
        &format!("valuepulse_time_to_restore_seconds_sum{{{k}}}"),
        5400.0,
    );
    let web = r#"environment="production",service="web",team="unknown",window="1d""#;
    wait_for(&daemon, &format!("valuepulse_deployments{{{web}}}"), 1.0);
    let search = r#"environment="production",service="search",team="discovery",window="1d""#;
    wait_for(&daemon, &format!("valuepulse_deployments{{{search}}}"), 1.0);
    // Four deploys accepted (1001, 1002, web, search); the redelivery of
    // 1001 is a duplicate; nothing unauthenticated arrived.
    wait_for_outcome(&daemon, deploys, "accepted", 4.0);
    wait_for_outcome(&daemon, deploys, "duplicate", 1.0);

    let m = parse(&bridge.metrics());
    let count = |source: &str, event: &str, outcome: &str| {
        m.get(&normalize(&format!(
            r#"valuepulse_bridge_deliveries_total{{source="{source}",event="{event}",outcome="{outcome}"}}"#
        )))
        .copied()
        .unwrap_or(0.0)
    };
    assert_eq!(count("github", "deployment_status", "produced"), 3.0);
    assert_eq!(count("github", "deployment_status", "ignored"), 1.0);
    assert_eq!(count("github", "unverified", "unauthorized"), 3.0);
    assert_eq!(count("github", "unverified", "too_large"), 1.0);
    assert_eq!(count("github", "issues", "produced"), 2.0);
    assert_eq!(count("pagerduty", "incident.triggered", "produced"), 1.0);
    assert_eq!(count("pagerduty", "incident.resolved", "produced"), 1.0);
    assert_eq!(count("pagerduty", "unverified", "unauthorized"), 1.0);
    assert_eq!(count("gitlab", "deployment", "produced"), 1.0);
    assert_eq!(count("gitlab", "unverified", "unauthorized"), 1.0);
    assert_eq!(count("events", "deploy", "produced"), 1.0);
    assert_eq!(count("events", "deploy", "malformed"), 1.0);
    let _ = std::fs::remove_file(&rules);
}

#[test]
fn check_config_refuses_an_enabled_source_without_a_secret_and_never_prints_one() {
    let _isolation = common::shared();
    let out = Command::new(env!("CARGO_BIN_EXE_valuepulse"))
        .arg("check-config")
        .env("VALUEPULSE__BRIDGE__GITHUB__ENABLED", "true")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bridge.github.secrets"), "{err}");
    let planted = "planted-Secret-7f3a9";
    let out = Command::new(env!("CARGO_BIN_EXE_valuepulse"))
        .arg("check-config")
        .env("VALUEPULSE__BRIDGE__GITHUB__SECRETS", planted)
        .env(
            "VALUEPULSE__BRIDGE__PAGERDUTY__SECRETS",
            format!("a,{planted}"),
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains(planted), "check-config printed a secret");
    assert!(all.contains("<redacted>"));
}

/// A GitHub push of `commits` (id, seconds from now) after `before`.
fn github_push(now: i64, before: &str, commits: &[(&str, i64)]) -> Vec<u8> {
    let list: Vec<Value> = commits
        .iter()
        .map(|(id, t)| {
            json!({"id": id, "tree_id": "f9d2a07e9488b91af2641b26b9407fe22a451433", "distinct": true,
                   "message": "Change", "timestamp": at(now, *t),
                   "url": format!("https://github.com/acme/checkout/commit/{id}"),
                   "author": {"name": "Dev", "email": "dev@example.com", "username": "dev"},
                   "committer": {"name": "Dev", "email": "dev@example.com", "username": "dev"},
                   "added": [], "removed": [], "modified": ["README.md"]})
        })
        .collect();
    let after = commits.last().map_or(before, |c| c.0);
    serde_json::to_vec(&json!({
        "ref": "refs/heads/main", "before": before, "after": after,
        "repository": repository(), "pusher": {"name": "dev", "email": "dev@example.com"},
        "sender": {"login": "dev", "id": 4, "type": "User"},
        "created": false, "deleted": false, "forced": false, "base_ref": null,
        "compare": format!("https://github.com/acme/checkout/compare/{before}...{after}"),
        "commits": list, "head_commit": commits.last().map(|_| json!({"id": after}))
    }))
    .unwrap()
}

/// A GitLab push listing `listed` commits of `total`.
fn gitlab_push(now: i64, listed: usize, total: usize) -> Vec<u8> {
    let commits: Vec<Value> = (0..listed)
        .map(|i| {
            json!({"id": format!("{:040x}", 0xabc0 + i), "message": "Change", "title": "Change",
                   "timestamp": at(now, -3600 + i as i64), "url": "http://gitlab.example.com/acme/web/-/commit/x",
                   "author": {"name": "Dev", "email": "dev@example.com"},
                   "added": [], "modified": ["README.md"], "removed": []})
        })
        .collect();
    serde_json::to_vec(&json!({
        "object_kind": "push", "event_name": "push",
        "before": format!("{:040x}", 0xabb0), "after": format!("{:040x}", 0xabc0 + listed - 1),
        "ref": "refs/heads/main", "checkout_sha": format!("{:040x}", 0xabc0 + listed - 1),
        "user_id": 4, "user_name": "Dev", "project_id": 30,
        "project": {"id": 30, "name": "web", "path_with_namespace": "acme/web",
                    "web_url": "http://gitlab.example.com/acme/web", "default_branch": "main"},
        "commits": commits, "total_commits_count": total,
        "repository": {"name": "web", "url": "git@gitlab.example.com:acme/web.git"}
    }))
    .unwrap()
}

#[test]
fn pushes_give_deploys_their_lead_time_whatever_arrives_first() {
    let _isolation = common::shared();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let t = Topics::create("push", create_topics);
    let changes = &t.changes;
    let topics = t.env();
    let rules = std::env::temp_dir().join(unique("push-rules") + ".toml");
    std::fs::write(&rules, "[bridge.github]\nproduction = \"prod\"\n").unwrap();
    let daemon = Daemon::start(&topics);
    let mut env: Vec<(&str, &str)> = topics.to_vec();
    env.extend([
        ("VALUEPULSE__BRIDGE__GITHUB__SECRETS", GITHUB_SECRET),
        ("VALUEPULSE__BRIDGE__GITLAB__SECRETS", "gl-token"),
    ]);
    let bridge = Bridge::start(&rules, &env);
    daemon.wait_ready(Duration::from_secs(60));
    let (b0, c1, c2, c3) = (
        "1111111111111111111111111111111111111111",
        "2222222222222222222222222222222222222222",
        "3333333333333333333333333333333333333333",
        "4444444444444444444444444444444444444444",
    );
    // The deploy of c2 (3 h ago) arrives before the push that carries c2.
    let mut d1: Value =
        serde_json::from_slice(&deployment_status(now, 2001, "success", -3 * 3600)).unwrap();
    d1["deployment"]["sha"] = json!(c2);
    let d1 = serde_json::to_vec(&d1).unwrap();
    assert_eq!(
        bridge
            .post(
                "/hooks/github",
                &github("deployment_status", &d1, Some(GITHUB_SECRET)),
                &d1
            )
            .0,
        200
    );
    // c1 committed 5 h ago, c2 4 h ago; c3 (2 h ago) is pushed but not deployed.
    let p1 = github_push(now, b0, &[(c1, -5 * 3600), (c2, -4 * 3600)]);
    assert_eq!(
        bridge
            .post(
                "/hooks/github",
                &github("push", &p1, Some(GITHUB_SECRET)),
                &p1
            )
            .0,
        200
    );
    let p2 = github_push(now, c2, &[(c3, -2 * 3600)]);
    assert_eq!(
        bridge
            .post(
                "/hooks/github",
                &github("push", &p2, Some(GITHUB_SECRET)),
                &p2
            )
            .0,
        200
    );
    // Lead times by hand: c2 3 h − 4 h ago = 1 h, c1 2 h: count 2, sum
    // 10 800 s, nearest-rank median 3 600 s.
    let k = r#"environment="production",service="checkout",team="unknown",window="1d""#;
    wait_for(
        &daemon,
        &format!("valuepulse_lead_time_seconds_count{{{k}}}"),
        2.0,
    );
    wait_for(
        &daemon,
        &format!("valuepulse_lead_time_seconds_sum{{{k}}}"),
        10_800.0,
    );
    // The median within hdrhistogram's stated precision (0.1 %).
    let median = parse(&daemon.scrape())[&normalize(&format!(
        r#"valuepulse_lead_time_seconds{{{k},quantile="0.5"}}"#
    ))];
    assert!((3600.0..=3603.6).contains(&median), "median {median}");
    // The same deliveries again change nothing.
    for (event, body) in [("push", &p1), ("deployment_status", &d1), ("push", &p2)] {
        assert_eq!(
            bridge
                .post(
                    "/hooks/github",
                    &github(event, body, Some(GITHUB_SECRET)),
                    body
                )
                .0,
            200
        );
    }
    wait_for_outcome(&daemon, changes, "duplicate", 3.0);
    wait_for(
        &daemon,
        &format!("valuepulse_lead_time_seconds_count{{{k}}}"),
        2.0,
    );
    // A GitLab push listing 20 of its 25 commits is counted as cut short.
    let gl = gitlab_push(now, 20, 25);
    let token = [
        ("X-Gitlab-Event", "Push Hook".to_owned()),
        ("X-Gitlab-Token", "gl-token".to_owned()),
    ];
    assert_eq!(bridge.post("/hooks/gitlab", &token, &gl).0, 200);
    let m = parse(&bridge.metrics());
    assert_eq!(
        m.get(&normalize(
            r#"valuepulse_bridge_push_commits_truncated_total{source="gitlab"}"#
        )),
        Some(&1.0)
    );
    let _ = std::fs::remove_file(&rules);
}

#[test]
fn kafka_down_gets_503_and_not_ready_then_redelivery_gives_exact_figures() {
    let _isolation = common::exclusive();
    let b = crate::fault::broker::LocalBroker::start();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let t = Topics::create("down", |topics| b.create_topics(topics, &[]));
    let deploys = &t.deploys;
    let brokers = b.bootstrap();
    let mut env = vec![
        ("VALUEPULSE__KAFKA__BROKERS", brokers.as_str()),
        ("VALUEPULSE__KAFKA__REQUEST_TIMEOUT", "2s"),
        ("VALUEPULSE__BRIDGE__GITHUB__SECRETS", GITHUB_SECRET),
    ];
    env.extend(t.env());
    let rules = std::env::temp_dir().join(unique("down-rules") + ".toml");
    std::fs::write(&rules, "[bridge.github]\nproduction = \"prod\"\n").unwrap();
    let bridge = Bridge::start(&rules, &env);
    let daemon = Daemon::start(&env);
    daemon.wait_ready(Duration::from_secs(60));
    let send = |body: &[u8]| {
        bridge
            .post(
                "/hooks/github",
                &github("deployment_status", body, Some(GITHUB_SECRET)),
                body,
            )
            .0
    };
    let first = deployment_status(now, 3001, "success", -2 * 3600);
    assert_eq!(send(&first), 200);

    // Kafka gone: the delivery is not acknowledged, so the source is told
    // to come back, and the bridge is not ready.
    b.kill();
    let second = deployment_status(now, 3002, "success", -3600);
    assert_eq!(send(&second), 503, "Kafka down must answer 503");
    let ready = |want: u16| {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(90) {
            if post_or_get(&bridge.addr, "GET", "/readyz", &[], b"").map(|r| r.0) == Some(want) {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("/readyz never answered {want}");
    };
    ready(503);
    assert_eq!(
        post_or_get(&bridge.addr, "GET", "/livez", &[], b"").map(|r| r.0),
        Some(200),
        "alive while Kafka is down"
    );

    // Kafka back: the source redelivers both; nothing lost, nothing
    // doubled. A broker just restarted may still refuse for a few seconds
    // (partition leaders, the idempotent producer's id): the bridge then
    // answers 503 again and the source, told so, delivers again later.
    b.restart();
    ready(200);
    let mut unavailable = 1.0;
    let mut redeliver = |body: &[u8]| {
        let start = Instant::now();
        loop {
            match send(body) {
                200 => return,
                503 if start.elapsed() < Duration::from_secs(60) => {
                    unavailable += 1.0;
                    std::thread::sleep(Duration::from_secs(1));
                }
                other => panic!("redelivery after Kafka came back: {other}"),
            }
        }
    };
    redeliver(&second);
    redeliver(&first);
    let k = r#"environment="production",service="checkout",team="unknown",window="1d""#;
    wait_for(
        &daemon,
        &format!(r#"valuepulse_deploy_attempts{{{k},status="succeeded"}}"#),
        2.0,
    );
    wait_for_outcome(&daemon, deploys, "accepted", 2.0);
    let m = parse(&bridge.metrics());
    assert_eq!(
        m.get(&normalize(
            r#"valuepulse_bridge_deliveries_total{source="github",event="deployment_status",outcome="unavailable"}"#
        )),
        Some(&unavailable),
        "every 503 counted"
    );
    let _ = std::fs::remove_file(&rules);
}
