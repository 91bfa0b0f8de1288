//! GitHub webhooks to native v1 events. `event` is the `X-GitHub-Event`
//! header; the body is the payload GitHub documents for it. A pure
//! function: no I/O, no clock.
//!
//! | `X-GitHub-Event` | mapped when | becomes |
//! |---|---|---|
//! | `deployment_status` | `action` `created`, `deployment_status.state` `success` (→ `succeeded`), `failure` or `error` (→ `failed`) | a deploy `github-deployment-<deployment.id>` |
//! | `push` | a branch (`refs/heads/…`) pushed, not deleted | one change per entry of `commits` |
//! | `workflow_run` | `action` `completed`, the workflow's name taken whole by a `workflows` rule, `conclusion` `success` (→ `succeeded`), `failure` or `timed_out` (→ `failed`) | a deploy `github-run-<workflow_run.id>-<run_attempt>` |
//! | `issues` | the issue carries `incident_label` (any case); `opened`, `reopened`, `labeled` with that label (→ `opened`), `closed` (→ `resolved`) | an incident `github-issue-<owner/name>#<number>` |
//! | `ping` and any other | never | nothing |
//!
//! Deploys:
//!
//! | deploy field | `deployment_status` | `workflow_run` |
//! |---|---|---|
//! | `service`, `team` | the `services` rule taking `repository.full_name`, else `repository.name` and no team | the same |
//! | `environment` | `deployment_status.environment` (else `deployment.environment`), `production` when the `production` pattern takes it whole | the rule's `environment`, likewise |
//! | `finished_at` | `deployment_status.created_at` | `workflow_run.updated_at` |
//! | `started_at` | `deployment.created_at` | `workflow_run.run_started_at` |
//! | `version` | `deployment.ref` | — |
//! | `repository`, `revision` | `repository.full_name`, `deployment.sha` | `repository.full_name`, `workflow_run.head_sha` |
//!
//! A deploy carries no `changes`: the daemon joins it to the pushes of its
//! repository up to `revision` (lead time is never guessed from the deploy
//! alone). Its id depends only on the deployment (or the run and its
//! attempt), so a later status of the same deployment is the same deploy:
//! the daemon counts an identical redelivery `duplicate` and a different
//! final state `updated`.
//!
//! Changes (`push`): `id` = `commits[].id`, `committed_at` =
//! `commits[].timestamp`, `repository` = `repository.full_name`, `branch` =
//! `ref` without `refs/heads/`, `before` and `after` the push's. A tag push,
//! a branch deletion (`deleted`, or `after` all zeros) and any other ref
//! are ignored. GitHub lists at most 2048 commits and its push payload has
//! no count of the rest, so a push is flagged cut short only when a `size`
//! field says it carried more than it lists.
//!
//! Incidents (`issues`): `service` and `team` as for deploys, no
//! environment (the daemon reads `production`), `opened_at` =
//! `issue.created_at`, and for `closed` `resolved_at` = `issue.closed_at`.
//! Labelling a closed issue, removing the label, and every other action are
//! ignored.
//!
//! A reopened issue is the same incident again: `reopened` gives an
//! opening at `issue.updated_at` (the reopening), which the daemon counts
//! `updated` as it replaces the earlier opening, and the last `closed` gives
//! the resolution, replacing an earlier one. The close payload does not say
//! when the issue was reopened, so the resolution's `opened_at` stays
//! `issue.created_at`: the incident's time to restore runs from its
//! creation to its last close.

use std::borrow::Cow;

use serde::Deserialize;

use super::map::{self, Field, Malformed, Mapped, Out, owned};
use crate::config::bridge::GithubSource;
use crate::ingest::decode::{DeployV1, IncidentV1};

/// The delivery as native v1 events, or nothing (ignored); `Malformed`
/// names the first field that is missing, mistyped or unreadable.
pub fn map(event: &str, body: &[u8], cfg: &GithubSource) -> Result<Mapped, Malformed> {
    match event {
        "deployment_status" => deployment_status(body, cfg),
        "push" => push(body),
        "workflow_run" => workflow_run(body, cfg),
        "issues" => issues(body, cfg),
        "ping" => Ok(Mapped::ignored("ping")),
        _ => Ok(Mapped::ignored("other")),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Repository {
    name: Field<String>,
    full_name: Field<String>,
}

impl Repository {
    /// `(full_name, name)`.
    fn names(self) -> Result<(String, String), Malformed> {
        Ok((
            self.full_name.text("repository.full_name")?,
            self.name.text("repository.name")?,
        ))
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DeploymentStatusEvent {
    action: Field<String>,
    deployment_status: Field<DeploymentStatus>,
    deployment: Field<Deployment>,
    repository: Field<Repository>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DeploymentStatus {
    state: Field<String>,
    environment: Field<String>,
    created_at: Field<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Deployment {
    id: Field<u64>,
    sha: Field<String>,
    #[serde(rename = "ref")]
    git_ref: Field<String>,
    environment: Field<String>,
    created_at: Field<String>,
}

fn deployment_status(body: &[u8], cfg: &GithubSource) -> Result<Mapped, Malformed> {
    const EVENT: &str = "deployment_status";
    let e: DeploymentStatusEvent = map::json(body)?;
    if e.action.required("action")? != "created" {
        return Ok(Mapped::ignored(EVENT));
    }
    let status = e.deployment_status.required("deployment_status")?;
    let state = match status.state.required("deployment_status.state")?.as_str() {
        "success" => "succeeded",
        "failure" | "error" => "failed",
        _ => return Ok(Mapped::ignored(EVENT)),
    };
    let deployment = e.deployment.required("deployment")?;
    let (full_name, name) = e.repository.required("repository")?.names()?;
    let environment = match status
        .environment
        .optional("deployment_status.environment")?
    {
        Some(env) if !env.trim().is_empty() => env,
        _ => deployment.environment.text("deployment.environment")?,
    };
    let (service, team) = map::service_of(&cfg.services, &full_name, &name);
    let deploy = DeployV1 {
        id: owned(format!(
            "github-deployment-{}",
            deployment.id.required("deployment.id")?
        )),
        service: owned(service),
        team: team.map(owned),
        environment: Some(owned(map::environment(
            cfg.production.as_ref(),
            &environment,
        ))),
        status: Cow::Borrowed(state),
        finished_at: owned(status.created_at.time("deployment_status.created_at")?),
        started_at: deployment
            .created_at
            .opt_time("deployment.created_at")?
            .map(owned),
        version: deployment
            .git_ref
            .optional("deployment.ref")?
            .filter(|r| !r.is_empty())
            .map(owned),
        revision: Some(owned(deployment.sha.text("deployment.sha")?)),
        repository: Some(owned(full_name)),
        ..DeployV1::default()
    };
    Ok(Mapped::one(EVENT, Out::Deploy(deploy)))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PushEvent {
    #[serde(rename = "ref")]
    git_ref: Field<String>,
    before: Field<String>,
    after: Field<String>,
    deleted: Field<bool>,
    size: Field<u64>,
    commits: Field<Vec<Field<map::PushedCommit>>>,
    repository: Field<Repository>,
}

fn push(body: &[u8]) -> Result<Mapped, Malformed> {
    const EVENT: &str = "push";
    let e: PushEvent = map::json(body)?;
    let git_ref = e.git_ref.text("ref")?;
    let Some(branch) = git_ref.strip_prefix("refs/heads/") else {
        // A tag, or a ref that is no branch.
        return Ok(Mapped::ignored(EVENT));
    };
    let after = e.after.text("after")?;
    if e.deleted.optional("deleted")? == Some(true) || after.bytes().all(|b| b == b'0') {
        return Ok(Mapped::ignored(EVENT));
    }
    let before = e.before.text("before")?;
    let repository = e
        .repository
        .required("repository")?
        .full_name
        .text("repository.full_name")?;
    let commits = e.commits.required("commits")?;
    let listed = commits.len();
    let truncated_push = e
        .size
        .optional("size")?
        .is_some_and(|size| size > listed as u64);
    let out = map::pushed_changes(
        commits,
        &map::Push {
            repository: &repository,
            branch,
            before: &before,
            after: &after,
        },
    )?;
    Ok(Mapped {
        event: EVENT,
        out,
        truncated_push,
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct WorkflowRunEvent {
    action: Field<String>,
    workflow_run: Field<WorkflowRun>,
    workflow: Field<Workflow>,
    repository: Field<Repository>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct WorkflowRun {
    id: Field<u64>,
    name: Field<String>,
    run_attempt: Field<u64>,
    conclusion: Field<String>,
    head_sha: Field<String>,
    run_started_at: Field<String>,
    updated_at: Field<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Workflow {
    name: Field<String>,
}

fn workflow_run(body: &[u8], cfg: &GithubSource) -> Result<Mapped, Malformed> {
    const EVENT: &str = "workflow_run";
    if cfg.workflows.is_empty() {
        return Ok(Mapped::ignored(EVENT));
    }
    let e: WorkflowRunEvent = map::json(body)?;
    if e.action.required("action")? != "completed" {
        return Ok(Mapped::ignored(EVENT));
    }
    let run = e.workflow_run.required("workflow_run")?;
    // The run's name, else its workflow's (GitHub sends `""` for some).
    let name = run
        .name
        .ok()
        .filter(|n| !n.is_empty())
        .or_else(|| e.workflow.ok().and_then(|w| w.name.ok()))
        .unwrap_or_default();
    let Some(rule) = cfg.workflows.iter().find(|r| r.matches.is_match(&name)) else {
        return Ok(Mapped::ignored(EVENT));
    };
    let status = match run.conclusion.ok().as_deref() {
        Some("success") => "succeeded",
        Some("failure" | "timed_out") => "failed",
        // cancelled, skipped, neutral, action_required, stale, none.
        _ => return Ok(Mapped::ignored(EVENT)),
    };
    let (full_name, repo_name) = e.repository.required("repository")?.names()?;
    let (service, team) = map::service_of(&cfg.services, &full_name, &repo_name);
    // Runs from before reruns existed carry no attempt: their first.
    let attempt = run
        .run_attempt
        .optional("workflow_run.run_attempt")?
        .unwrap_or(1);
    let deploy = DeployV1 {
        id: owned(format!(
            "github-run-{}-{attempt}",
            run.id.required("workflow_run.id")?
        )),
        service: owned(service),
        team: team.map(owned),
        environment: Some(owned(map::environment(
            cfg.production.as_ref(),
            &rule.environment,
        ))),
        status: Cow::Borrowed(status),
        finished_at: owned(run.updated_at.time("workflow_run.updated_at")?),
        started_at: run
            .run_started_at
            .opt_time("workflow_run.run_started_at")?
            .map(owned),
        revision: Some(owned(run.head_sha.text("workflow_run.head_sha")?)),
        repository: Some(owned(full_name)),
        ..DeployV1::default()
    };
    Ok(Mapped::one(EVENT, Out::Deploy(deploy)))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct IssuesEvent {
    action: Field<String>,
    issue: Field<Issue>,
    label: Field<Label>,
    repository: Field<Repository>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Issue {
    number: Field<u64>,
    state: Field<String>,
    labels: Field<Vec<Field<Label>>>,
    created_at: Field<String>,
    updated_at: Field<String>,
    closed_at: Field<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Label {
    name: Field<String>,
}

fn issues(body: &[u8], cfg: &GithubSource) -> Result<Mapped, Malformed> {
    const EVENT: &str = "issues";
    let wanted = cfg.incident_label.trim();
    if wanted.is_empty() {
        return Ok(Mapped::ignored(EVENT));
    }
    let e: IssuesEvent = map::json(body)?;
    let action = e.action.required("action")?;
    if !matches!(
        action.as_str(),
        "opened" | "labeled" | "reopened" | "closed"
    ) {
        return Ok(Mapped::ignored(EVENT));
    }
    let issue = e.issue.required("issue")?;
    let mut labelled = false;
    for (i, label) in issue
        .labels
        .optional("issue.labels")?
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let name = label
            .required(&format!("issue.labels[{i}]"))?
            .name
            .required(&format!("issue.labels[{i}].name"))?;
        labelled |= map::same_label(&name, wanted);
    }
    if !labelled {
        return Ok(Mapped::ignored(EVENT));
    }
    if action == "labeled" {
        // Only the incident label's own arrival opens it, and only on an
        // open issue.
        let added = e.label.required("label")?.name.required("label.name")?;
        if !map::same_label(&added, wanted) || issue.state.ok().as_deref() == Some("closed") {
            return Ok(Mapped::ignored(EVENT));
        }
    }
    let (full_name, name) = e.repository.required("repository")?.names()?;
    let (service, team) = map::service_of(&cfg.services, &full_name, &name);
    let number = issue.number.required("issue.number")?;
    let (status, opened_at, resolved_at) = match action.as_str() {
        "reopened" => ("opened", issue.updated_at.time("issue.updated_at")?, None),
        "closed" => (
            "resolved",
            issue.created_at.time("issue.created_at")?,
            Some(issue.closed_at.time("issue.closed_at")?),
        ),
        _ => ("opened", issue.created_at.time("issue.created_at")?, None),
    };
    let incident = IncidentV1 {
        id: owned(format!("github-issue-{full_name}#{number}")),
        service: owned(service),
        team: team.map(owned),
        status: Cow::Borrowed(status),
        opened_at: owned(opened_at),
        resolved_at: resolved_at.map(owned),
        ..IncidentV1::default()
    };
    Ok(Mapped::one(EVENT, Out::Incident(incident)))
}

#[cfg(test)]
mod tests;
