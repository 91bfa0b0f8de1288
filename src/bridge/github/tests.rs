//! GitHub payloads as GitHub documents them (the shapes of its webhook
//! reference and of octokit/webhooks' payload examples, unread fields
//! included), and the exact events they become.

#![allow(
    clippy::unreadable_literal,
    reason = "ids copied from the provider's documented payloads, as it prints them"
)]

use serde_json::{Value, json};

use super::*;
use crate::config::bridge::{ServiceRule, WorkflowRule};
use crate::config::values::regex::compile;
use crate::ingest::decode::PushedChangeV1;

const SHA: &str = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e";

fn cfg() -> GithubSource {
    GithubSource {
        enabled: None,
        secrets: crate::config::bridge::Secrets::default(),
        secrets_file: String::new(),
        insecure: false,
        production: None,
        services: Vec::new(),
        workflows: Vec::new(),
        incident_label: "incident".into(),
    }
}

fn rule(m: &str, service: &str, team: &str) -> ServiceRule {
    ServiceRule {
        matches: compile(m).unwrap(),
        service: service.into(),
        team: team.into(),
    }
}

fn workflow(m: &str, environment: &str) -> WorkflowRule {
    WorkflowRule {
        matches: compile(m).unwrap(),
        environment: environment.into(),
    }
}

fn body(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

/// Sets the field at `pointer` (it must exist) to `to`.
fn set(v: &mut Value, pointer: &str, to: Value) {
    *v.pointer_mut(pointer)
        .unwrap_or_else(|| panic!("{pointer}")) = to;
}

/// Removes the field at `pointer`.
fn remove(v: &mut Value, pointer: &str) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    v.pointer_mut(parent)
        .unwrap()
        .as_object_mut()
        .unwrap()
        .remove(key)
        .unwrap_or_else(|| panic!("{pointer}"));
}

fn user() -> Value {
    json!({
        "login": "Codertocat",
        "id": 21031067,
        "node_id": "MDQ6VXNlcjIxMDMxMDY3",
        "avatar_url": "https://avatars1.githubusercontent.com/u/21031067?v=4",
        "gravatar_id": "",
        "url": "https://api.github.com/users/Codertocat",
        "html_url": "https://github.com/Codertocat",
        "type": "User",
        "site_admin": false
    })
}

fn repository() -> Value {
    json!({
        "id": 186853002,
        "node_id": "MDEwOlJlcG9zaXRvcnkxODY4NTMwMDI=",
        "name": "Hello-World",
        "full_name": "Codertocat/Hello-World",
        "private": false,
        "owner": user(),
        "html_url": "https://github.com/Codertocat/Hello-World",
        "description": null,
        "fork": false,
        "url": "https://api.github.com/repos/Codertocat/Hello-World",
        "deployments_url": "https://api.github.com/repos/Codertocat/Hello-World/deployments",
        "created_at": "2019-05-15T15:19:25Z",
        "updated_at": "2019-05-15T15:20:41Z",
        "pushed_at": "2019-05-15T15:20:52Z",
        "git_url": "git://github.com/Codertocat/Hello-World.git",
        "ssh_url": "git@github.com:Codertocat/Hello-World.git",
        "clone_url": "https://github.com/Codertocat/Hello-World.git",
        "homepage": null,
        "size": 0,
        "language": "Ruby",
        "has_issues": true,
        "archived": false,
        "open_issues_count": 2,
        "license": null,
        "default_branch": "main",
        "is_template": false
    })
}

/// A `deployment_status` `created` delivery for deployment 145988746.
fn deployment_status(state: &str) -> Value {
    json!({
        "action": "created",
        "deployment_status": {
            "url": "https://api.github.com/repos/Codertocat/Hello-World/deployments/145988746/statuses/209916254",
            "id": 209916254,
            "node_id": "MDE2OkRlcGxveW1lbnRTdGF0dXMyMDk5MTYyNTQ=",
            "state": state,
            "creator": user(),
            "description": "",
            "environment": "staging",
            "target_url": "",
            "log_url": "https://example.com/deploys/42/log",
            "environment_url": "https://staging.example.com",
            "created_at": "2019-05-15T15:20:55Z",
            "updated_at": "2019-05-15T15:20:55Z",
            "deployment_url": "https://api.github.com/repos/Codertocat/Hello-World/deployments/145988746",
            "repository_url": "https://api.github.com/repos/Codertocat/Hello-World",
            "performed_via_github_app": null
        },
        "deployment": {
            "url": "https://api.github.com/repos/Codertocat/Hello-World/deployments/145988746",
            "id": 145988746,
            "node_id": "MDEwOkRlcGxveW1lbnQxNDU5ODg3NDY=",
            "sha": SHA,
            "ref": "main",
            "task": "deploy",
            "payload": {},
            "original_environment": "staging",
            "environment": "staging",
            "description": null,
            "creator": user(),
            "created_at": "2019-05-15T15:20:53Z",
            "updated_at": "2019-05-15T15:20:55Z",
            "statuses_url": "https://api.github.com/repos/Codertocat/Hello-World/deployments/145988746/statuses",
            "repository_url": "https://api.github.com/repos/Codertocat/Hello-World",
            "transient_environment": false,
            "production_environment": false,
            "performed_via_github_app": null
        },
        "repository": repository(),
        "sender": user()
    })
}

/// The deploy `deployment_status("success")` becomes without rules.
fn staging_deploy() -> DeployV1<'static> {
    DeployV1 {
        id: "github-deployment-145988746".into(),
        service: "Hello-World".into(),
        team: None,
        environment: Some("staging".into()),
        status: "succeeded".into(),
        finished_at: "2019-05-15T15:20:55Z".into(),
        started_at: Some("2019-05-15T15:20:53Z".into()),
        version: Some("main".into()),
        repository: Some("Codertocat/Hello-World".into()),
        revision: Some(SHA.into()),
        ..DeployV1::default()
    }
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

#[test]
fn a_successful_deployment_status_is_a_succeeded_deploy_with_every_field() {
    let m = map(
        "deployment_status",
        &body(&deployment_status("success")),
        &cfg(),
    )
    .unwrap();
    assert_eq!(m, one("deployment_status", Out::Deploy(staging_deploy())));
    assert_eq!(m.out[0].key(), "Hello-World");
    assert_eq!(
        String::from_utf8(m.out[0].to_json()).unwrap(),
        r#"{"id":"github-deployment-145988746","service":"Hello-World","environment":"staging","status":"succeeded","finished_at":"2019-05-15T15:20:55Z","started_at":"2019-05-15T15:20:53Z","version":"main","repository":"Codertocat/Hello-World","revision":"f95f852bd8fca8fcc58a9a2d6c842781e32a215e"}"#
    );
}

#[test]
fn failure_and_error_are_failed_deploys_and_other_states_are_ignored() {
    for state in ["failure", "error"] {
        let m = map(
            "deployment_status",
            &body(&deployment_status(state)),
            &cfg(),
        );
        let failed = DeployV1 {
            status: "failed".into(),
            ..staging_deploy()
        };
        assert_eq!(
            m,
            Ok(one("deployment_status", Out::Deploy(failed))),
            "{state}"
        );
    }
    for state in ["pending", "queued", "in_progress", "inactive", "waiting"] {
        let m = map(
            "deployment_status",
            &body(&deployment_status(state)),
            &cfg(),
        );
        assert_eq!(m, ignored("deployment_status"), "{state}");
    }
}

#[test]
fn every_status_of_one_deployment_names_the_same_deploy_and_redelivery_is_identical() {
    let c = cfg();
    let success = body(&deployment_status("success"));
    let first = map("deployment_status", &success, &c).unwrap();
    assert_eq!(map("deployment_status", &success, &c).unwrap(), first);
    // A later failure of the same deployment: same id, other content (the
    // daemon's `updated`).
    let later = map(
        "deployment_status",
        &body(&deployment_status("failure")),
        &c,
    )
    .unwrap();
    let (Out::Deploy(a), Out::Deploy(b)) = (&first.out[0], &later.out[0]) else {
        panic!("deploys")
    };
    assert_eq!(a.id, "github-deployment-145988746");
    assert_eq!(b.id, a.id);
    assert_ne!(a, b);
    // Another status object (its own id and URL) of the same deployment.
    let mut again = deployment_status("success");
    set(&mut again, "/deployment_status/id", json!(209916999));
    let m = map("deployment_status", &body(&again), &c).unwrap();
    assert_eq!(m, first);
}

#[test]
fn a_deployment_status_other_than_created_is_ignored() {
    let mut v = deployment_status("success");
    set(&mut v, "/action", json!("deleted"));
    assert_eq!(
        map("deployment_status", &body(&v), &cfg()),
        ignored("deployment_status")
    );
}

#[test]
fn the_environment_falls_back_to_the_deployments() {
    let mut v = deployment_status("success");
    remove(&mut v, "/deployment_status/environment");
    set(&mut v, "/deployment/environment", json!("qa"));
    let Out::Deploy(d) = &map("deployment_status", &body(&v), &cfg()).unwrap().out[0] else {
        panic!("a deploy")
    };
    assert_eq!(d.environment.as_deref(), Some("qa"));
}

#[test]
fn rules_name_service_team_and_production() {
    let mut c = cfg();
    c.services = vec![
        rule("Codertocat/Hello-.*", "hello", "octo"),
        rule("Codertocat/.*", "", "cats"),
    ];
    c.production = Some(compile("prod|production|staging-eu").unwrap());
    // `staging` is not taken whole by the production pattern: unchanged.
    let m = map(
        "deployment_status",
        &body(&deployment_status("success")),
        &c,
    )
    .unwrap();
    let expected = DeployV1 {
        service: "hello".into(),
        team: Some("octo".into()),
        ..staging_deploy()
    };
    assert_eq!(m, one("deployment_status", Out::Deploy(expected.clone())));
    assert_eq!(m.out[0].key(), "hello");

    let mut v = deployment_status("success");
    set(&mut v, "/deployment_status/environment", json!("prod"));
    let m = map("deployment_status", &body(&v), &c).unwrap();
    let expected = DeployV1 {
        environment: Some("production".into()),
        ..expected
    };
    assert_eq!(m, one("deployment_status", Out::Deploy(expected)));

    // The second rule keeps the repository's name as the service.
    set(
        &mut v,
        "/repository/full_name",
        json!("Codertocat/Spoon-Knife"),
    );
    set(&mut v, "/repository/name", json!("Spoon-Knife"));
    let Out::Deploy(d) = &map("deployment_status", &body(&v), &c).unwrap().out[0] else {
        panic!("a deploy")
    };
    assert_eq!(
        (d.service.as_ref(), d.team.as_deref()),
        ("Spoon-Knife", Some("cats"))
    );
    assert_eq!(d.repository.as_deref(), Some("Codertocat/Spoon-Knife"));
}

#[test]
fn a_malformed_deployment_status_names_its_field() {
    let c = cfg();
    assert_eq!(
        map("deployment_status", b"{\"action\":", &c),
        malformed("body")
    );
    assert_eq!(map("deployment_status", b"[1, 2]", &c), malformed("body"));
    assert_eq!(map("deployment_status", b"null", &c), malformed("body"));
    let cases: [(&str, Option<Value>, &str); 9] = [
        ("/deployment/id", None, "deployment.id"),
        ("/deployment/id", Some(json!("145988746")), "deployment.id"),
        ("/deployment/sha", None, "deployment.sha"),
        (
            "/deployment_status/state",
            Some(json!(1)),
            "deployment_status.state",
        ),
        (
            "/deployment_status/created_at",
            Some(json!("yesterday")),
            "deployment_status.created_at",
        ),
        (
            "/deployment_status/created_at",
            None,
            "deployment_status.created_at",
        ),
        (
            "/deployment/created_at",
            Some(json!(1557933653)),
            "deployment.created_at",
        ),
        ("/repository/name", Some(json!("")), "repository.name"),
        (
            "/repository",
            Some(json!("Codertocat/Hello-World")),
            "repository",
        ),
    ];
    for (pointer, to, field) in cases {
        let mut v = deployment_status("success");
        match to {
            Some(to) => set(&mut v, pointer, to),
            None => remove(&mut v, pointer),
        }
        assert_eq!(
            map("deployment_status", &body(&v), &c),
            malformed(field),
            "{pointer}"
        );
    }
    // The message names the field, never the value.
    let mut v = deployment_status("success");
    set(&mut v, "/deployment/id", json!("s3cr3t-looking-value"));
    let e = map("deployment_status", &body(&v), &c).unwrap_err();
    assert_eq!(e.to_string(), "deployment.id");
}

fn commit(id: &str, timestamp: &str, message: &str) -> Value {
    json!({
        "id": id,
        "tree_id": "f9d2a07e9488b91af2641b26b9407fe22a451433",
        "distinct": true,
        "message": message,
        "timestamp": timestamp,
        "url": format!("https://github.com/Codertocat/Hello-World/commit/{id}"),
        "author": {"name": "Codertocat", "email": "21031067+Codertocat@users.noreply.github.com", "username": "Codertocat"},
        "committer": {"name": "GitHub", "email": "noreply@github.com", "username": "web-flow"},
        "added": [],
        "removed": [],
        "modified": ["README.md"]
    })
}

const BEFORE: &str = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";
const C1: &str = "1c9a8b7f3e2d4c5b6a7980f1e2d3c4b5a6978f0e";
const C2: &str = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c";

/// A push of two commits to `main`.
fn push_event() -> Value {
    let c1 = commit(C1, "2019-05-15T08:15:04-07:00", "Fix the README");
    let c2 = commit(C2, "2019-05-15T17:19:30+02:00", "Add a test");
    json!({
        "ref": "refs/heads/main",
        "before": BEFORE,
        "after": C2,
        "repository": repository(),
        "pusher": {"name": "Codertocat", "email": "21031067+Codertocat@users.noreply.github.com"},
        "sender": user(),
        "created": false,
        "deleted": false,
        "forced": false,
        "base_ref": null,
        "compare": "https://github.com/Codertocat/Hello-World/compare/6113728f27ae...0d1a26e67d8f",
        "commits": [c1, c2.clone()],
        "head_commit": c2
    })
}

fn change(id: &str, committed_at: &str, parent: &str) -> Out {
    Out::Change(PushedChangeV1 {
        id: id.to_owned().into(),
        committed_at: committed_at.to_owned().into(),
        repository: "Codertocat/Hello-World".into(),
        branch: "main".into(),
        before: BEFORE.into(),
        after: C2.into(),
        parent: Some(parent.to_owned().into()),
    })
}

#[test]
fn a_push_is_one_change_per_commit_in_utc() {
    let m = map("push", &body(&push_event()), &cfg()).unwrap();
    assert_eq!(
        m,
        Mapped {
            event: "push",
            out: vec![
                change(C1, "2019-05-15T15:15:04Z", BEFORE),
                change(C2, "2019-05-15T15:19:30Z", C1),
            ],
            truncated_push: false,
        }
    );
    assert_eq!(m.out[0].key(), "Codertocat/Hello-World");
    assert_eq!(
        String::from_utf8(m.out[1].to_json()).unwrap(),
        r#"{"id":"0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c","committed_at":"2019-05-15T15:19:30Z","repository":"Codertocat/Hello-World","branch":"main","before":"6113728f27ae82c7b1a177c8d03f9e96e0adf246","after":"0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c","parent":"1c9a8b7f3e2d4c5b6a7980f1e2d3c4b5a6978f0e"}"#
    );
    // Redelivered: the same events.
    assert_eq!(map("push", &body(&push_event()), &cfg()).unwrap(), m);
}

#[test]
fn a_branch_name_keeps_its_slashes() {
    let mut v = push_event();
    set(&mut v, "/ref", json!("refs/heads/release/2.x"));
    let m = map("push", &body(&v), &cfg()).unwrap();
    let Out::Change(c) = &m.out[0] else {
        panic!("a change")
    };
    assert_eq!(c.branch, "release/2.x");
}

#[test]
fn tags_deleted_branches_and_other_refs_are_ignored() {
    let mut tag = push_event();
    set(&mut tag, "/ref", json!("refs/tags/v1.0.0"));
    assert_eq!(map("push", &body(&tag), &cfg()), ignored("push"));

    let mut deleted = push_event();
    set(&mut deleted, "/deleted", json!(true));
    set(
        &mut deleted,
        "/after",
        json!("0000000000000000000000000000000000000000"),
    );
    set(&mut deleted, "/commits", json!([]));
    set(&mut deleted, "/head_commit", Value::Null);
    assert_eq!(map("push", &body(&deleted), &cfg()), ignored("push"));

    // All-zero `after` alone says the same.
    let mut zeros = push_event();
    set(
        &mut zeros,
        "/after",
        json!("0000000000000000000000000000000000000000"),
    );
    assert_eq!(map("push", &body(&zeros), &cfg()), ignored("push"));

    let mut notes = push_event();
    set(&mut notes, "/ref", json!("refs/notes/commits"));
    assert_eq!(map("push", &body(&notes), &cfg()), ignored("push"));
}

#[test]
fn a_new_branch_without_commits_gives_no_change() {
    let mut v = push_event();
    set(&mut v, "/created", json!(true));
    set(
        &mut v,
        "/before",
        json!("0000000000000000000000000000000000000000"),
    );
    set(&mut v, "/commits", json!([]));
    assert_eq!(
        map("push", &body(&v), &cfg()),
        Ok(Mapped {
            event: "push",
            out: Vec::new(),
            truncated_push: false,
        })
    );
}

#[test]
fn a_push_is_cut_short_only_when_its_size_says_so() {
    let mut v = push_event();
    v["size"] = json!(2);
    assert!(!map("push", &body(&v), &cfg()).unwrap().truncated_push);
    v["size"] = json!(2051);
    let m = map("push", &body(&v), &cfg()).unwrap();
    assert!(m.truncated_push);
    assert_eq!(m.out.len(), 2, "the listed commits are still changes");
    v["size"] = json!("many");
    assert_eq!(map("push", &body(&v), &cfg()), malformed("size"));
}

#[test]
fn a_malformed_push_names_its_field() {
    let cases: [(&str, Option<Value>, &str); 7] = [
        ("/ref", None, "ref"),
        ("/before", None, "before"),
        ("/after", Some(json!(12)), "after"),
        ("/commits", Some(json!({})), "commits"),
        ("/commits/1", Some(json!("0d1a26e")), "commits[1]"),
        (
            "/commits/1/timestamp",
            Some(json!("2019-05-15")),
            "commits[1].timestamp",
        ),
        ("/repository/full_name", None, "repository.full_name"),
    ];
    for (pointer, to, field) in cases {
        let mut v = push_event();
        match to {
            Some(to) => set(&mut v, pointer, to),
            None => remove(&mut v, pointer),
        }
        assert_eq!(
            map("push", &body(&v), &cfg()),
            malformed(field),
            "{pointer}"
        );
    }
    let mut v = push_event();
    remove(&mut v, "/commits/0/id");
    assert_eq!(map("push", &body(&v), &cfg()), malformed("commits[0].id"));
}

const HEAD: &str = "3484a3fb816e0859fd6e1cea078d76385ff50625";

/// A `workflow_run` `completed` delivery of run 289782451, attempt 2.
fn workflow_run_event(name: &str, conclusion: &str) -> Value {
    json!({
        "action": "completed",
        "workflow": {
            "badge_url": "https://github.com/octo-org/octo-repo/workflows/deploy/badge.svg",
            "created_at": "2020-10-02T12:42:30.000Z",
            "html_url": "https://github.com/octo-org/octo-repo/blob/main/.github/workflows/deploy.yml",
            "id": 2823525,
            "name": name,
            "node_id": "MDg6V29ya2Zsb3cyODIzNTI1",
            "path": ".github/workflows/deploy.yml",
            "state": "active",
            "updated_at": "2020-10-03T19:24:48.000Z",
            "url": "https://api.github.com/repos/octo-org/octo-repo/actions/workflows/2823525"
        },
        "workflow_run": {
            "id": 289782451,
            "name": name,
            "node_id": "MDExOldvcmtmbG93UnVuMjg5NzgyNDUx",
            "head_branch": "main",
            "head_sha": HEAD,
            "path": ".github/workflows/deploy.yml",
            "display_title": "Deploy the release",
            "run_number": 163,
            "event": "push",
            "status": "completed",
            "conclusion": conclusion,
            "workflow_id": 2823525,
            "check_suite_id": 1291536064,
            "url": "https://api.github.com/repos/octo-org/octo-repo/actions/runs/289782451",
            "html_url": "https://github.com/octo-org/octo-repo/actions/runs/289782451",
            "pull_requests": [],
            "created_at": "2020-10-05T16:33:24Z",
            "updated_at": "2020-10-05T16:35:49Z",
            "actor": user(),
            "triggering_actor": user(),
            "run_attempt": 2,
            "run_started_at": "2020-10-05T16:33:30Z",
            "head_commit": {
                "id": HEAD,
                "tree_id": "c30f6c3377009c4c91c85d1f15deb6f2b7c2eb37",
                "message": "build(deploy): ship it",
                "timestamp": "2020-10-05T16:32:07Z",
                "author": {"email": "matfax@users.noreply.github.com", "name": "Matthias Fax"},
                "committer": {"email": "noreply@github.com", "name": "GitHub"}
            },
            "repository": {"id": 300029405, "name": "octo-repo", "full_name": "octo-org/octo-repo"},
            "head_repository": {"id": 300029405, "name": "octo-repo", "full_name": "octo-org/octo-repo"}
        },
        "repository": {
            "id": 300029405,
            "node_id": "MDEwOlJlcG9zaXRvcnkzMDAwMjk0MDU=",
            "name": "octo-repo",
            "full_name": "octo-org/octo-repo",
            "private": false,
            "owner": user(),
            "html_url": "https://github.com/octo-org/octo-repo",
            "default_branch": "main"
        },
        "organization": {"login": "octo-org", "id": 41548062},
        "sender": user()
    })
}

fn deploy_workflows() -> GithubSource {
    let mut c = cfg();
    c.workflows = vec![workflow("Deploy (production|prod)", "prod")];
    c.production = Some(compile("prod|production").unwrap());
    c
}

fn run_deploy() -> DeployV1<'static> {
    DeployV1 {
        id: "github-run-289782451-2".into(),
        service: "octo-repo".into(),
        team: None,
        environment: Some("production".into()),
        status: "succeeded".into(),
        finished_at: "2020-10-05T16:35:49Z".into(),
        started_at: Some("2020-10-05T16:33:30Z".into()),
        repository: Some("octo-org/octo-repo".into()),
        revision: Some(HEAD.into()),
        ..DeployV1::default()
    }
}

#[test]
fn a_completed_run_of_a_deploy_workflow_is_a_deploy() {
    let v = workflow_run_event("Deploy production", "success");
    let m = map("workflow_run", &body(&v), &deploy_workflows()).unwrap();
    assert_eq!(m, one("workflow_run", Out::Deploy(run_deploy())));
    assert_eq!(
        map("workflow_run", &body(&v), &deploy_workflows()).unwrap(),
        m
    );

    for conclusion in ["failure", "timed_out"] {
        let v = workflow_run_event("Deploy production", conclusion);
        let failed = DeployV1 {
            status: "failed".into(),
            ..run_deploy()
        };
        assert_eq!(
            map("workflow_run", &body(&v), &deploy_workflows()),
            Ok(one("workflow_run", Out::Deploy(failed))),
            "{conclusion}"
        );
    }
}

#[test]
fn other_conclusions_actions_and_workflows_are_ignored() {
    let c = deploy_workflows();
    for conclusion in [
        "cancelled",
        "skipped",
        "neutral",
        "action_required",
        "stale",
    ] {
        let v = workflow_run_event("Deploy production", conclusion);
        assert_eq!(
            map("workflow_run", &body(&v), &c),
            ignored("workflow_run"),
            "{conclusion}"
        );
    }
    let mut requested = workflow_run_event("Deploy production", "success");
    set(&mut requested, "/action", json!("requested"));
    set(&mut requested, "/workflow_run/conclusion", Value::Null);
    assert_eq!(
        map("workflow_run", &body(&requested), &c),
        ignored("workflow_run")
    );
    // The name must be taken whole: "Deploy" alone, or a longer name, is
    // another workflow.
    for name in ["CI", "Deploy", "Deploy production canary"] {
        let v = workflow_run_event(name, "success");
        assert_eq!(
            map("workflow_run", &body(&v), &c),
            ignored("workflow_run"),
            "{name}"
        );
    }
    // No workflow rules: no run is a deploy.
    let v = workflow_run_event("Deploy production", "success");
    assert_eq!(
        map("workflow_run", &body(&v), &cfg()),
        ignored("workflow_run")
    );
}

#[test]
fn the_first_matching_workflow_rule_sets_the_environment() {
    let mut c = cfg();
    c.workflows = vec![
        workflow("Deploy .*", "staging"),
        workflow("Deploy production", "prod"),
    ];
    let v = workflow_run_event("Deploy production", "success");
    let Out::Deploy(d) = &map("workflow_run", &body(&v), &c).unwrap().out[0] else {
        panic!("a deploy")
    };
    // No production pattern: the rule's environment passes through.
    assert_eq!(d.environment.as_deref(), Some("staging"));
}

#[test]
fn a_run_without_its_own_name_uses_the_workflows_and_one_without_an_attempt_is_the_first() {
    // octokit's completed example has `"name": ""` on the run.
    let mut v = workflow_run_event("Deploy production", "success");
    set(&mut v, "/workflow_run/name", json!(""));
    remove(&mut v, "/workflow_run/run_attempt");
    remove(&mut v, "/workflow_run/run_started_at");
    let expected = DeployV1 {
        id: "github-run-289782451-1".into(),
        started_at: None,
        ..run_deploy()
    };
    assert_eq!(
        map("workflow_run", &body(&v), &deploy_workflows()),
        Ok(one("workflow_run", Out::Deploy(expected)))
    );
}

#[test]
fn a_malformed_deploy_run_names_its_field() {
    let cases: [(&str, Option<Value>, &str); 5] = [
        ("/workflow_run/id", None, "workflow_run.id"),
        (
            "/workflow_run/updated_at",
            Some(json!("soon")),
            "workflow_run.updated_at",
        ),
        ("/workflow_run/head_sha", None, "workflow_run.head_sha"),
        (
            "/workflow_run/run_attempt",
            Some(json!("2")),
            "workflow_run.run_attempt",
        ),
        ("/repository", None, "repository"),
    ];
    for (pointer, to, field) in cases {
        let mut v = workflow_run_event("Deploy production", "success");
        match to {
            Some(to) => set(&mut v, pointer, to),
            None => remove(&mut v, pointer),
        }
        assert_eq!(
            map("workflow_run", &body(&v), &deploy_workflows()),
            malformed(field),
            "{pointer}"
        );
    }
    assert_eq!(
        map("workflow_run", b"not json", &deploy_workflows()),
        malformed("body")
    );
}

fn label(id: u64, name: &str) -> Value {
    json!({
        "id": id,
        "node_id": "MDU6TGFiZWwxMzYyOTM0Mzg5",
        "url": format!("https://api.github.com/repos/Codertocat/Hello-World/labels/{name}"),
        "name": name,
        "color": "d73a4a",
        "default": false,
        "description": null
    })
}

/// An `issues` delivery for issue 1, labelled `bug` and `Incident`.
fn issue_event(action: &str) -> Value {
    let closed = action == "closed";
    json!({
        "action": action,
        "issue": {
            "url": "https://api.github.com/repos/Codertocat/Hello-World/issues/1",
            "repository_url": "https://api.github.com/repos/Codertocat/Hello-World",
            "html_url": "https://github.com/Codertocat/Hello-World/issues/1",
            "id": 444500041,
            "node_id": "MDU6SXNzdWU0NDQ1MDAwNDE=",
            "number": 1,
            "title": "Checkout returns 500",
            "user": user(),
            "labels": [label(1362934389, "bug"), label(1362934390, "Incident")],
            "state": if closed { "closed" } else { "open" },
            "state_reason": if closed { json!("completed") } else { Value::Null },
            "locked": false,
            "assignee": null,
            "assignees": [],
            "milestone": null,
            "comments": 3,
            "created_at": "2019-05-15T15:20:18Z",
            "updated_at": "2019-05-15T16:02:41Z",
            "closed_at": if closed { json!("2019-05-15T17:45:00Z") } else { Value::Null },
            "author_association": "OWNER",
            "active_lock_reason": null,
            "body": "Every checkout fails since 15:18.",
            "reactions": {"total_count": 0, "+1": 0, "-1": 0}
        },
        "repository": repository(),
        "sender": user()
    })
}

fn opened_incident(opened_at: &str) -> IncidentV1<'static> {
    IncidentV1 {
        id: "github-issue-Codertocat/Hello-World#1".into(),
        service: "Hello-World".into(),
        team: None,
        environment: None,
        status: "opened".into(),
        severity: None,
        opened_at: opened_at.to_owned().into(),
        resolved_at: None,
        ..IncidentV1::default()
    }
}

#[test]
fn an_issue_with_the_incident_label_opens_and_resolves_an_incident() {
    let opened = map("issues", &body(&issue_event("opened")), &cfg()).unwrap();
    assert_eq!(
        opened,
        one(
            "issues",
            Out::Incident(opened_incident("2019-05-15T15:20:18Z"))
        )
    );
    assert_eq!(
        String::from_utf8(opened.out[0].to_json()).unwrap(),
        r#"{"id":"github-issue-Codertocat/Hello-World#1","service":"Hello-World","status":"opened","opened_at":"2019-05-15T15:20:18Z"}"#
    );
    // The label added later opens the same incident, identically.
    let mut labeled = issue_event("labeled");
    labeled["label"] = label(1362934390, "Incident");
    assert_eq!(map("issues", &body(&labeled), &cfg()).unwrap(), opened);

    let closed = map("issues", &body(&issue_event("closed")), &cfg()).unwrap();
    let resolved = IncidentV1 {
        status: "resolved".into(),
        resolved_at: Some("2019-05-15T17:45:00Z".into()),
        ..opened_incident("2019-05-15T15:20:18Z")
    };
    assert_eq!(closed, one("issues", Out::Incident(resolved)));
}

#[test]
fn a_reopened_issue_opens_the_same_incident_at_its_reopening() {
    let m = map("issues", &body(&issue_event("reopened")), &cfg()).unwrap();
    assert_eq!(
        m,
        one(
            "issues",
            Out::Incident(opened_incident("2019-05-15T16:02:41Z"))
        )
    );
}

#[test]
fn issues_without_the_label_and_other_actions_are_ignored() {
    let c = cfg();
    let mut unlabelled = issue_event("opened");
    set(
        &mut unlabelled,
        "/issue/labels",
        json!([label(1362934389, "bug")]),
    );
    assert_eq!(map("issues", &body(&unlabelled), &c), ignored("issues"));
    let mut no_labels = issue_event("closed");
    remove(&mut no_labels, "/issue/labels");
    assert_eq!(map("issues", &body(&no_labels), &c), ignored("issues"));

    for action in [
        "edited",
        "assigned",
        "unlabeled",
        "deleted",
        "transferred",
        "pinned",
    ] {
        assert_eq!(
            map("issues", &body(&issue_event(action)), &c),
            ignored("issues"),
            "{action}"
        );
    }
    // Another label added to an incident issue opens nothing new.
    let mut other = issue_event("labeled");
    other["label"] = label(1362934389, "bug");
    assert_eq!(map("issues", &body(&other), &c), ignored("issues"));
    // The incident label added to a closed issue opens nothing.
    let mut late = issue_event("labeled");
    late["label"] = label(1362934390, "Incident");
    set(&mut late, "/issue/state", json!("closed"));
    assert_eq!(map("issues", &body(&late), &c), ignored("issues"));
    // No incident label configured: no issue is an incident.
    let mut none = cfg();
    none.incident_label = " ".into();
    assert_eq!(
        map("issues", &body(&issue_event("opened")), &none),
        ignored("issues")
    );
}

#[test]
fn the_incident_label_is_compared_without_case_and_rules_apply() {
    let mut c = cfg();
    c.incident_label = "INCIDENT".into();
    c.services = vec![rule("Codertocat/Hello-World", "checkout", "payments")];
    let m = map("issues", &body(&issue_event("opened")), &c).unwrap();
    let expected = IncidentV1 {
        service: "checkout".into(),
        team: Some("payments".into()),
        ..opened_incident("2019-05-15T15:20:18Z")
    };
    assert_eq!(m, one("issues", Out::Incident(expected)));
    assert_eq!(m.out[0].key(), "checkout");
}

#[test]
fn a_malformed_issue_names_its_field() {
    let c = cfg();
    let mut v = issue_event("closed");
    set(&mut v, "/issue/closed_at", Value::Null);
    assert_eq!(map("issues", &body(&v), &c), malformed("issue.closed_at"));
    let mut v = issue_event("opened");
    set(&mut v, "/issue/number", json!("1"));
    assert_eq!(map("issues", &body(&v), &c), malformed("issue.number"));
    let mut v = issue_event("opened");
    set(&mut v, "/issue/labels/1/name", json!(7));
    assert_eq!(
        map("issues", &body(&v), &c),
        malformed("issue.labels[1].name")
    );
    let mut v = issue_event("labeled");
    remove(&mut v, "/action");
    assert_eq!(map("issues", &body(&v), &c), malformed("action"));
    let v = issue_event("labeled"); // no `label`
    assert_eq!(map("issues", &body(&v), &c), malformed("label"));
    let mut v = issue_event("reopened");
    set(&mut v, "/issue/updated_at", json!("2019-05-15 16:02"));
    assert_eq!(map("issues", &body(&v), &c), malformed("issue.updated_at"));
}

#[test]
fn ping_and_other_events_are_ignored_under_a_fixed_label() {
    let ping = json!({
        "zen": "Design for failure.",
        "hook_id": 109948940,
        "hook": {"type": "Repository", "id": 109948940, "events": ["*"], "active": true},
        "repository": repository(),
        "sender": user()
    });
    assert_eq!(map("ping", &body(&ping), &cfg()), ignored("ping"));
    for event in [
        "pull_request",
        "check_run",
        "release",
        "",
        "Push",
        "deployment_status ",
    ] {
        assert_eq!(
            map(event, &body(&ping), &cfg()),
            ignored("other"),
            "{event:?}"
        );
    }
    // Nothing is parsed for them: any body will do.
    assert_eq!(map("star", b"\xff", &cfg()), ignored("other"));
}
