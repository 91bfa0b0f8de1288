//! GitLab payloads as GitLab documents them (the examples of
//! `doc/user/project/integrations/webhook_events.md`, unread fields
//! included), and the exact events they become.

#![allow(
    clippy::unreadable_literal,
    reason = "ids copied from the provider's documented payloads, as it prints them"
)]

use std::time::Duration;

use serde_json::{Value, json};

use super::*;
use crate::config::bridge::ServiceRule;
use crate::config::values::regex::compile;
use crate::ingest::decode::PushedChangeV1;

fn cfg() -> GitlabSource {
    GitlabSource {
        enabled: None,
        secrets: crate::config::bridge::Secrets::default(),
        secrets_file: String::new(),
        insecure: false,
        production: None,
        services: Vec::new(),
        incident_label: "incident".into(),
        signing_tolerance: Duration::from_secs(300),
    }
}

fn rule(m: &str, service: &str, team: &str) -> ServiceRule {
    ServiceRule {
        matches: compile(m).unwrap(),
        service: service.into(),
        team: team.into(),
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

fn one(event: &'static str, out: Out) -> Mapped {
    Mapped {
        event,
        out: vec![out],
        truncated_push: false,
    }
}

#[allow(
    clippy::unnecessary_wraps,
    reason = "compared with map()'s result as it is"
)]
fn ignored(event: &'static str) -> Result<Mapped, Malformed> {
    Ok(Mapped::ignored(event))
}

fn malformed(field: &str) -> Result<Mapped, Malformed> {
    Err(Malformed(field.into()))
}

const DEPLOYED: &str = "279484c09fbe69ededfced8c1bb6e6d24616b468";

/// GitLab's Deployment Hook example.
fn deployment_event(status: &str) -> Value {
    json!({
        "object_kind": "deployment",
        "status": status,
        "status_changed_at": "2021-04-28 21:50:00 +0200",
        "deployment_id": 15,
        "deployable_id": 796,
        "deployable_url": "http://10.126.0.2:3000/root/test-deployment-webhooks/-/jobs/796",
        "environment": "staging",
        "environment_tier": "staging",
        "environment_slug": "staging",
        "environment_external_url": "https://staging.example.com",
        "project": {
            "id": 30,
            "name": "test-deployment-webhooks",
            "description": "",
            "web_url": "http://10.126.0.2:3000/root/test-deployment-webhooks",
            "avatar_url": null,
            "git_ssh_url": "ssh://vlad@10.126.0.2:2222/root/test-deployment-webhooks.git",
            "git_http_url": "http://10.126.0.2:3000/root/test-deployment-webhooks.git",
            "namespace": "Administrator",
            "visibility_level": 0,
            "path_with_namespace": "root/test-deployment-webhooks",
            "default_branch": "master",
            "ci_config_path": "",
            "homepage": "http://10.126.0.2:3000/root/test-deployment-webhooks",
            "url": "ssh://vlad@10.126.0.2:2222/root/test-deployment-webhooks.git",
            "ssh_url": "ssh://vlad@10.126.0.2:2222/root/test-deployment-webhooks.git",
            "http_url": "http://10.126.0.2:3000/root/test-deployment-webhooks.git"
        },
        "short_sha": "279484c0",
        "user": {
            "id": 1,
            "name": "Administrator",
            "username": "root",
            "avatar_url": "https://www.gravatar.com/avatar/e64c7d89f26bd1972efa854d13d7dd61?s=80&d=identicon",
            "email": "admin@example.com"
        },
        "user_url": "http://10.126.0.2:3000/root",
        "commit_url": format!("http://10.126.0.2:3000/root/test-deployment-webhooks/-/commit/{DEPLOYED}"),
        "commit_title": "Add new file"
    })
}

fn staging_deploy() -> DeployV1<'static> {
    DeployV1 {
        id: "gitlab-deployment-15".into(),
        service: "test-deployment-webhooks".into(),
        team: None,
        environment: Some("staging".into()),
        status: "succeeded".into(),
        // 21:50:00 at +02:00.
        finished_at: "2021-04-28T19:50:00Z".into(),
        started_at: None,
        version: None,
        repository: Some("root/test-deployment-webhooks".into()),
        revision: Some(DEPLOYED.into()),
        ..DeployV1::default()
    }
}

#[test]
fn the_documented_deployment_hook_is_a_succeeded_deploy_in_utc() {
    let m = map(
        "Deployment Hook",
        &body(&deployment_event("success")),
        &cfg(),
    )
    .unwrap();
    assert_eq!(m, one("deployment", Out::Deploy(staging_deploy())));
    assert_eq!(m.out[0].key(), "test-deployment-webhooks");
    assert_eq!(
        String::from_utf8(m.out[0].to_json()).unwrap(),
        r#"{"id":"gitlab-deployment-15","service":"test-deployment-webhooks","environment":"staging","status":"succeeded","finished_at":"2021-04-28T19:50:00Z","repository":"root/test-deployment-webhooks","revision":"279484c09fbe69ededfced8c1bb6e6d24616b468"}"#
    );
}

#[test]
fn failed_is_a_failed_deploy_and_other_statuses_are_ignored() {
    let m = map(
        "Deployment Hook",
        &body(&deployment_event("failed")),
        &cfg(),
    );
    let failed = DeployV1 {
        status: "failed".into(),
        ..staging_deploy()
    };
    assert_eq!(m, Ok(one("deployment", Out::Deploy(failed))));
    for status in [
        "created", "running", "canceled", "blocked", "skipped", "approved",
    ] {
        let m = map("Deployment Hook", &body(&deployment_event(status)), &cfg());
        assert_eq!(m, ignored("deployment"), "{status}");
    }
}

#[test]
fn every_status_of_one_deployment_names_the_same_deploy_and_redelivery_is_identical() {
    let c = cfg();
    let success = body(&deployment_event("success"));
    let first = map("Deployment Hook", &success, &c).unwrap();
    assert_eq!(map("Deployment Hook", &success, &c).unwrap(), first);
    let mut failed = deployment_event("failed");
    set(
        &mut failed,
        "/status_changed_at",
        json!("2021-04-28 21:52:10 +0200"),
    );
    let later = map("Deployment Hook", &body(&failed), &c).unwrap();
    let (Out::Deploy(a), Out::Deploy(b)) = (&first.out[0], &later.out[0]) else {
        panic!("deploys")
    };
    assert_eq!(
        (a.id.as_ref(), b.id.as_ref()),
        ("gitlab-deployment-15", "gitlab-deployment-15")
    );
    assert_eq!(b.finished_at, "2021-04-28T19:52:10Z");
}

#[test]
fn every_documented_time_form_reads_as_utc() {
    for (text, utc) in [
        ("2021-04-28 21:50:00 +0200", "2021-04-28T19:50:00Z"),
        ("2025-01-15 12:20:00 UTC", "2025-01-15T12:20:00Z"),
        ("2021-04-28 12:50:00 -0700", "2021-04-28T19:50:00Z"),
        ("2021-04-28T19:50:00Z", "2021-04-28T19:50:00Z"),
    ] {
        let mut v = deployment_event("success");
        set(&mut v, "/status_changed_at", json!(text));
        let Out::Deploy(d) = &map("Deployment Hook", &body(&v), &cfg()).unwrap().out[0] else {
            panic!("a deploy")
        };
        assert_eq!(d.finished_at, utc, "{text}");
    }
}

#[test]
fn the_revision_is_the_commit_urls_sha_else_the_short_one() {
    for url in [
        Value::Null,
        json!("http://10.126.0.2:3000/root/test-deployment-webhooks/-/commit/279484c0"),
        json!("http://10.126.0.2:3000/root/test-deployment-webhooks/-/tree/main"),
    ] {
        let mut v = deployment_event("success");
        set(&mut v, "/commit_url", url.clone());
        let Out::Deploy(d) = &map("Deployment Hook", &body(&v), &cfg()).unwrap().out[0] else {
            panic!("a deploy")
        };
        assert_eq!(d.revision.as_deref(), Some("279484c0"), "{url}");
    }
    let mut v = deployment_event("success");
    set(&mut v, "/commit_url", Value::Null);
    remove(&mut v, "/short_sha");
    assert_eq!(
        map("Deployment Hook", &body(&v), &cfg()),
        malformed("short_sha")
    );
}

#[test]
fn without_the_header_the_object_kind_decides() {
    let v = deployment_event("success");
    assert_eq!(
        map("", &body(&v), &cfg()),
        Ok(one("deployment", Out::Deploy(staging_deploy())))
    );
    let mut other = v.clone();
    set(&mut other, "/object_kind", json!("pipeline"));
    assert_eq!(map("", &body(&other), &cfg()), ignored("other"));
    let mut none = v;
    remove(&mut none, "/object_kind");
    assert_eq!(map("", &body(&none), &cfg()), malformed("object_kind"));
    assert_eq!(map("", b"<html>", &cfg()), malformed("body"));
}

#[test]
fn rules_name_service_team_and_production() {
    let mut c = cfg();
    c.services = vec![rule("root/test-.*", "deployer", "platform")];
    c.production = Some(compile("staging|production").unwrap());
    let m = map("Deployment Hook", &body(&deployment_event("success")), &c).unwrap();
    let expected = DeployV1 {
        service: "deployer".into(),
        team: Some("platform".into()),
        environment: Some("production".into()),
        ..staging_deploy()
    };
    assert_eq!(m, one("deployment", Out::Deploy(expected)));
    assert_eq!(m.out[0].key(), "deployer");
    // A rule without a service keeps the project's name.
    c.services = vec![rule("root/.*", "", "platform")];
    let Out::Deploy(d) = &map("Deployment Hook", &body(&deployment_event("success")), &c)
        .unwrap()
        .out[0]
    else {
        panic!("a deploy")
    };
    assert_eq!(
        (d.service.as_ref(), d.team.as_deref()),
        ("test-deployment-webhooks", Some("platform"))
    );
}

#[test]
fn a_malformed_deployment_names_its_field() {
    let cases: [(&str, Option<Value>, &str); 7] = [
        ("/status", None, "status"),
        (
            "/status_changed_at",
            Some(json!("2021-04-28 21:50:00")),
            "status_changed_at",
        ),
        ("/status_changed_at", None, "status_changed_at"),
        ("/deployment_id", Some(json!("15")), "deployment_id"),
        ("/environment", None, "environment"),
        (
            "/project/path_with_namespace",
            None,
            "project.path_with_namespace",
        ),
        ("/commit_url", Some(json!(["x"])), "commit_url"),
    ];
    for (pointer, to, field) in cases {
        let mut v = deployment_event("success");
        match to {
            Some(to) => set(&mut v, pointer, to),
            None => remove(&mut v, pointer),
        }
        assert_eq!(
            map("Deployment Hook", &body(&v), &cfg()),
            malformed(field),
            "{pointer}"
        );
    }
}

fn project() -> Value {
    json!({
        "id": 15,
        "name": "Diaspora",
        "description": "",
        "web_url": "http://example.com/mike/diaspora",
        "avatar_url": null,
        "git_ssh_url": "git@example.com:mike/diaspora.git",
        "git_http_url": "http://example.com/mike/diaspora.git",
        "namespace": "Mike",
        "visibility_level": 0,
        "path_with_namespace": "mike/diaspora",
        "default_branch": "master",
        "homepage": "http://example.com/mike/diaspora",
        "url": "git@example.com:mike/diaspora.git",
        "ssh_url": "git@example.com:mike/diaspora.git",
        "http_url": "http://example.com/mike/diaspora.git"
    })
}

fn commit(id: &str, timestamp: &str) -> Value {
    json!({
        "id": id,
        "message": "fixed readme\n\nSee https://gitlab.com/gitlab-org/gitlab for more information",
        "title": "fixed readme",
        "timestamp": timestamp,
        "url": format!("http://example.com/mike/diaspora/commit/{id}"),
        "author": {"name": "GitLab dev user", "email": "gitlabdev@dv6700.(none)"},
        "added": ["CHANGELOG"],
        "modified": ["app/controller/application.rb"],
        "removed": []
    })
}

const BEFORE: &str = "95790bf891e76fee5e1747ab589903a6a1f80f22";
const AFTER: &str = "da1560886d4f094c3e6c9ef40349f7d38b5d27d7";

/// GitLab's Push Hook example: 2 commits listed of 4 pushed.
fn push_event() -> Value {
    json!({
        "object_kind": "push",
        "event_name": "push",
        "before": BEFORE,
        "after": AFTER,
        "ref": "refs/heads/master",
        "ref_protected": true,
        "checkout_sha": AFTER,
        "user_id": 4,
        "user_name": "John Smith",
        "user_username": "jsmith",
        "user_email": "john@example.com",
        "user_avatar": "https://s.gravatar.com/avatar/d4c74594d841139328695756648b6bd6?s=80",
        "project_id": 15,
        "project": project(),
        "repository": {
            "name": "Diaspora",
            "url": "git@example.com:mike/diaspora.git",
            "description": "",
            "homepage": "http://example.com/mike/diaspora",
            "git_http_url": "http://example.com/mike/diaspora.git",
            "git_ssh_url": "git@example.com:mike/diaspora.git",
            "visibility_level": 0
        },
        "commits": [
            commit("b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327", "2011-12-12T14:27:31+02:00"),
            commit(AFTER, "2012-01-03T23:36:29+02:00")
        ],
        "total_commits_count": 4
    })
}

fn change(id: &str, committed_at: &str, parent: &str) -> Out {
    Out::Change(PushedChangeV1 {
        id: id.to_owned().into(),
        committed_at: committed_at.to_owned().into(),
        repository: "mike/diaspora".into(),
        branch: "master".into(),
        before: BEFORE.into(),
        after: AFTER.into(),
        parent: Some(parent.to_owned().into()),
    })
}

#[test]
fn the_documented_push_is_two_changes_and_cut_short() {
    let m = map("Push Hook", &body(&push_event()), &cfg()).unwrap();
    assert_eq!(
        m,
        Mapped {
            event: "push",
            out: vec![
                change(
                    "b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327",
                    "2011-12-12T12:27:31Z",
                    BEFORE
                ),
                change(
                    AFTER,
                    "2012-01-03T21:36:29Z",
                    "b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327"
                ),
            ],
            // total_commits_count 4, 2 listed.
            truncated_push: true,
        }
    );
    assert_eq!(m.out[0].key(), "mike/diaspora");
    assert_eq!(map("Push Hook", &body(&push_event()), &cfg()).unwrap(), m);
}

#[test]
fn a_push_of_more_than_twenty_commits_is_cut_short() {
    let commits = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|i| {
                commit(
                    &format!("{i:040x}"),
                    &format!("2024-03-01 09:{i:02}:00 UTC"),
                )
            })
            .collect()
    };
    // GitLab lists the newest 20 of 25.
    let mut v = push_event();
    set(&mut v, "/commits", json!(commits(20)));
    set(&mut v, "/total_commits_count", json!(25));
    let m = map("Push Hook", &body(&v), &cfg()).unwrap();
    assert!(m.truncated_push);
    assert_eq!(m.out.len(), 20);
    let Out::Change(last) = &m.out[19] else {
        panic!("a change")
    };
    assert_eq!(last.id, "0000000000000000000000000000000000000013");
    assert_eq!(last.committed_at, "2024-03-01T09:19:00Z");
    // Exactly 20: all listed.
    set(&mut v, "/total_commits_count", json!(20));
    let m = map("Push Hook", &body(&v), &cfg()).unwrap();
    assert!(!m.truncated_push);
    assert_eq!(m.out.len(), 20);
    // No count: nothing says it was cut.
    remove(&mut v, "/total_commits_count");
    assert!(!map("Push Hook", &body(&v), &cfg()).unwrap().truncated_push);
}

#[test]
fn tags_and_deleted_branches_are_ignored() {
    let mut tag = push_event();
    set(&mut tag, "/object_kind", json!("tag_push"));
    set(&mut tag, "/ref", json!("refs/tags/v1.0.0"));
    assert_eq!(
        map("Tag Push Hook", &body(&tag), &cfg()),
        ignored("tag_push")
    );
    assert_eq!(map("", &body(&tag), &cfg()), ignored("tag_push"));

    let mut deleted = push_event();
    set(
        &mut deleted,
        "/after",
        json!("0000000000000000000000000000000000000000"),
    );
    set(&mut deleted, "/checkout_sha", Value::Null);
    set(&mut deleted, "/commits", json!([]));
    set(&mut deleted, "/total_commits_count", json!(0));
    assert_eq!(map("Push Hook", &body(&deleted), &cfg()), ignored("push"));
}

#[test]
fn a_malformed_push_names_its_field() {
    let cases: [(&str, Option<Value>, &str); 6] = [
        ("/ref", None, "ref"),
        ("/before", Some(json!(null)), "before"),
        ("/commits", None, "commits"),
        (
            "/commits/0/timestamp",
            Some(json!("12/12/2011")),
            "commits[0].timestamp",
        ),
        (
            "/total_commits_count",
            Some(json!("4")),
            "total_commits_count",
        ),
        ("/project", None, "project"),
    ];
    for (pointer, to, field) in cases {
        let mut v = push_event();
        match to {
            Some(to) => set(&mut v, pointer, to),
            None => remove(&mut v, pointer),
        }
        assert_eq!(
            map("Push Hook", &body(&v), &cfg()),
            malformed(field),
            "{pointer}"
        );
    }
}

fn label(id: u64, title: &str) -> Value {
    json!({
        "id": id,
        "title": title,
        "color": "#ffffff",
        "project_id": 14,
        "created_at": "2013-12-03T17:15:43Z",
        "updated_at": "2013-12-03T17:15:43Z",
        "template": false,
        "description": null,
        "type": "ProjectLabel",
        "group_id": 41
    })
}

/// GitLab's Issue Hook example, as an issue of type Incident.
fn issue_event(action: &str) -> Value {
    let closed = action == "close";
    let attributes = json!({
        "id": 301,
        "title": "Checkout returns 500",
        "assignee_ids": [51],
        "assignee_id": 51,
        "author_id": 51,
        "project_id": 14,
        "created_at": "2013-12-03T17:15:43Z",
        "updated_at": "2013-12-04 08:30:00 UTC",
        "updated_by_id": 1,
        "last_edited_at": null,
        "last_edited_by_id": null,
        "relative_position": 0,
        "description": "Every checkout fails",
        "milestone_id": null,
        "state_id": if closed { 2 } else { 1 },
        "confidential": false,
        "discussion_locked": true,
        "due_date": null,
        "moved_to_id": null,
        "duplicated_to_id": null,
        "time_estimate": 0,
        "total_time_spent": 0,
        "time_change": 0,
        "human_total_time_spent": null,
        "human_time_estimate": null,
        "human_time_change": null,
        "weight": null,
        "health_status": "at_risk",
        "type": "Incident",
        "iid": 23,
        "url": "http://example.com/gitlabhq/gitlab-test/-/issues/23",
        "state": if closed { "closed" } else { "opened" },
        "action": action,
        "closed_at": if closed { json!("2013-12-04 09:12:01 UTC") } else { Value::Null },
        "severity": "high",
        "escalation_status": "triggered",
        "escalation_policy": {"id": 18, "name": "Engineering On-call"},
        "labels": [label(206, "API")]
    });
    json!({
        "object_kind": "issue",
        "event_type": "issue",
        "user": {
            "id": 1,
            "name": "Administrator",
            "username": "root",
            "avatar_url": "http://www.gravatar.com/avatar/e64c7d89f26bd1972efa854d13d7dd61?s=40&d=identicon",
            "email": "admin@example.com"
        },
        "project": {
            "id": 1,
            "name": "Gitlab Test",
            "description": "Aut reprehenderit ut est.",
            "web_url": "http://example.com/gitlabhq/gitlab-test",
            "avatar_url": null,
            "git_ssh_url": "git@example.com:gitlabhq/gitlab-test.git",
            "git_http_url": "http://example.com/gitlabhq/gitlab-test.git",
            "namespace": "GitlabHQ",
            "visibility_level": 20,
            "path_with_namespace": "gitlabhq/gitlab-test",
            "default_branch": "master",
            "ci_config_path": null,
            "homepage": "http://example.com/gitlabhq/gitlab-test",
            "url": "http://example.com/gitlabhq/gitlab-test.git",
            "ssh_url": "git@example.com:gitlabhq/gitlab-test.git",
            "http_url": "http://example.com/gitlabhq/gitlab-test.git"
        },
        "object_attributes": attributes,
        "repository": {
            "name": "Gitlab Test",
            "url": "http://example.com/gitlabhq/gitlab-test.git",
            "description": "Aut reprehenderit ut est.",
            "homepage": "http://example.com/gitlabhq/gitlab-test"
        },
        "assignees": [{"name": "User1", "username": "user1", "avatar_url": "http://www.gravatar.com/avatar/x?s=40"}],
        "labels": [label(206, "API")],
        "changes": {
            "updated_by_id": {"previous": null, "current": 1},
            "updated_at": {"previous": "2013-12-03 17:15:43 UTC", "current": "2013-12-04 08:30:00 UTC"}
        }
    })
}

fn opened_incident(opened_at: &str) -> IncidentV1<'static> {
    IncidentV1 {
        id: "gitlab-issue-gitlabhq/gitlab-test#23".into(),
        service: "Gitlab Test".into(),
        team: None,
        environment: None,
        status: "opened".into(),
        severity: Some("high".into()),
        opened_at: opened_at.to_owned().into(),
        resolved_at: None,
        ..IncidentV1::default()
    }
}

#[test]
fn an_incident_issue_opens_reopens_and_resolves() {
    let opened = map("Issue Hook", &body(&issue_event("open")), &cfg()).unwrap();
    assert_eq!(
        opened,
        one(
            "issue",
            Out::Incident(opened_incident("2013-12-03T17:15:43Z"))
        )
    );
    assert_eq!(
        String::from_utf8(opened.out[0].to_json()).unwrap(),
        r#"{"id":"gitlab-issue-gitlabhq/gitlab-test#23","service":"Gitlab Test","status":"opened","severity":"high","opened_at":"2013-12-03T17:15:43Z"}"#
    );
    assert_eq!(
        map("Issue Hook", &body(&issue_event("open")), &cfg()).unwrap(),
        opened
    );

    let closed = map("Issue Hook", &body(&issue_event("close")), &cfg()).unwrap();
    let resolved = IncidentV1 {
        status: "resolved".into(),
        resolved_at: Some("2013-12-04T09:12:01Z".into()),
        ..opened_incident("2013-12-03T17:15:43Z")
    };
    assert_eq!(closed, one("issue", Out::Incident(resolved.clone())));

    // Without closed_at, the update time is the resolution.
    let mut v = issue_event("close");
    remove(&mut v, "/object_attributes/closed_at");
    let m = map("Issue Hook", &body(&v), &cfg()).unwrap();
    let at_update = IncidentV1 {
        resolved_at: Some("2013-12-04T08:30:00Z".into()),
        ..resolved
    };
    assert_eq!(m, one("issue", Out::Incident(at_update)));

    // Reopened: the same incident, opened at the reopening.
    let m = map("Issue Hook", &body(&issue_event("reopen")), &cfg()).unwrap();
    assert_eq!(
        m,
        one(
            "issue",
            Out::Incident(opened_incident("2013-12-04T08:30:00Z"))
        )
    );
}

#[test]
fn a_labelled_issue_is_an_incident_and_a_plain_one_is_not() {
    let mut plain = issue_event("open");
    set(&mut plain, "/object_attributes/type", json!("Issue"));
    assert_eq!(map("Issue Hook", &body(&plain), &cfg()), ignored("issue"));

    let mut labelled = plain.clone();
    set(
        &mut labelled,
        "/labels",
        json!([label(206, "API"), label(207, "Incident")]),
    );
    let expected = one(
        "issue",
        Out::Incident(opened_incident("2013-12-03T17:15:43Z")),
    );
    assert_eq!(
        map("Issue Hook", &body(&labelled), &cfg()),
        Ok(expected.clone())
    );
    // The label on object_attributes alone also counts.
    let mut attrs = plain.clone();
    set(
        &mut attrs,
        "/object_attributes/labels",
        json!([label(207, "INCIDENT")]),
    );
    assert_eq!(
        map("Issue Hook", &body(&attrs), &cfg()),
        Ok(expected.clone())
    );
    // The older `issue_type` field.
    let mut legacy = plain.clone();
    remove(&mut legacy, "/object_attributes/type");
    legacy["object_attributes"]["issue_type"] = json!("incident");
    assert_eq!(
        map("Issue Hook", &body(&legacy), &cfg()),
        Ok(expected.clone())
    );
    // Confidential issues come under their own header; header-less, the
    // object kind decides (issues and work items alike).
    assert_eq!(
        map("Confidential Issue Hook", &body(&labelled), &cfg()),
        Ok(expected.clone())
    );
    let mut work_item = issue_event("open");
    set(&mut work_item, "/object_kind", json!("work_item"));
    assert_eq!(map("", &body(&work_item), &cfg()), Ok(expected));
    // No label configured: only the type makes an incident.
    let mut c = cfg();
    c.incident_label = String::new();
    assert_eq!(map("Issue Hook", &body(&labelled), &c), ignored("issue"));
}

#[test]
fn adding_the_label_to_an_open_issue_opens_an_incident() {
    let mut v = issue_event("update");
    set(&mut v, "/object_attributes/type", json!("Issue"));
    set(
        &mut v,
        "/labels",
        json!([label(206, "API"), label(207, "incident")]),
    );
    v["changes"]["labels"] = json!({
        "previous": [label(206, "API")],
        "current": [label(206, "API"), label(207, "incident")]
    });
    assert_eq!(
        map("Issue Hook", &body(&v), &cfg()),
        Ok(one(
            "issue",
            Out::Incident(opened_incident("2013-12-03T17:15:43Z"))
        ))
    );
    // On a closed issue: nothing.
    let mut closed = v.clone();
    set(&mut closed, "/object_attributes/state", json!("closed"));
    assert_eq!(map("Issue Hook", &body(&closed), &cfg()), ignored("issue"));
    // Another label changed while the incident label stays: nothing.
    let mut other = v.clone();
    other["changes"]["labels"]["previous"] = json!([label(207, "incident")]);
    assert_eq!(map("Issue Hook", &body(&other), &cfg()), ignored("issue"));
    // Any other update: nothing.
    assert_eq!(
        map("Issue Hook", &body(&issue_event("update")), &cfg()),
        ignored("issue")
    );
}

#[test]
fn rules_name_the_incidents_service_and_team() {
    let mut c = cfg();
    c.services = vec![rule("gitlabhq/.*", "checkout", "payments")];
    let m = map("Issue Hook", &body(&issue_event("open")), &c).unwrap();
    let expected = IncidentV1 {
        service: "checkout".into(),
        team: Some("payments".into()),
        ..opened_incident("2013-12-03T17:15:43Z")
    };
    assert_eq!(m, one("issue", Out::Incident(expected)));
}

#[test]
fn a_malformed_issue_names_its_field() {
    let cases: [(&str, &str, Option<Value>, &str); 6] = [
        (
            "open",
            "/object_attributes/iid",
            None,
            "object_attributes.iid",
        ),
        (
            "open",
            "/object_attributes/created_at",
            Some(json!("today")),
            "object_attributes.created_at",
        ),
        (
            "close",
            "/object_attributes/closed_at",
            Some(json!(17)),
            "object_attributes.closed_at",
        ),
        (
            "reopen",
            "/object_attributes/updated_at",
            None,
            "object_attributes.updated_at",
        ),
        (
            "open",
            "/labels/0/title",
            Some(json!(true)),
            "labels[0].title",
        ),
        (
            "open",
            "/object_attributes/action",
            None,
            "object_attributes.action",
        ),
    ];
    for (action, pointer, to, field) in cases {
        let mut v = issue_event(action);
        match to {
            Some(to) => set(&mut v, pointer, to),
            None => remove(&mut v, pointer),
        }
        assert_eq!(
            map("Issue Hook", &body(&v), &cfg()),
            malformed(field),
            "{pointer}"
        );
    }
    let mut v = issue_event("open");
    remove(&mut v, "/object_attributes");
    assert_eq!(
        map("Issue Hook", &body(&v), &cfg()),
        malformed("object_attributes")
    );
}

#[test]
fn other_hooks_are_ignored_under_a_fixed_label() {
    for event in [
        "Pipeline Hook",
        "Job Hook",
        "Merge Request Hook",
        "Note Hook",
        "deployment hook",
    ] {
        assert_eq!(map(event, b"{}", &cfg()), ignored("other"), "{event}");
    }
    assert_eq!(map("Release Hook", b"not json", &cfg()), ignored("other"));
}
