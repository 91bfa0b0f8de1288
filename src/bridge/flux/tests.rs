//! Events as notification-controller posts them to a `generic-hmac`
//! provider (metadata keys without their API group, the Alert's
//! `eventMetadata` added), and the exact deploys they become, by hand.

use serde_json::{Value, json};

use super::*;
use crate::config::bridge::{Secrets, ServiceRule};
use crate::config::values::regex::compile;

const SHA: &str = "8c4d2a1f9b3e7c6d5a4f3e2d1c0b9a8f7e6d5c4b";
const DIGEST: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn cfg() -> FluxSource {
    FluxSource {
        enabled: None,
        secrets: Secrets::default(),
        secrets_file: String::new(),
        insecure: false,
        production: Some(compile("prod(uction)?").unwrap()),
        services: Vec::new(),
    }
}

fn event(kind: &str, name: &str, reason: &str, at: &str, metadata: &Value) -> Value {
    let controller = if kind == "HelmRelease" {
        "helm-controller"
    } else {
        "kustomize-controller"
    };
    json!({
        "involvedObject": {"kind": kind, "namespace": "apps", "name": name,
                           "uid": "7d0cb2a4-3e4f-4c6b-9d5b-0f3e2a1b4c5d",
                           "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "resourceVersion": "56921"},
        "severity": if reason.ends_with("Failed") { "error" } else { "info" },
        "timestamp": at,
        "message": "Reconciliation finished in 1.2s, next run in 10m0s",
        "reason": reason,
        "metadata": metadata,
        "reportingController": controller,
        "reportingInstance": format!("{controller}-7f8d9c6b5-x2x4z")
    })
}

fn kustomization(at: &str) -> Value {
    event(
        "Kustomization",
        "checkout",
        "ReconciliationSucceeded",
        at,
        &json!({"revision": format!("main@sha1:{SHA}"), "commit_status": "update",
                "env": "prod", "cluster": "eu-1", "summary": "checkout in eu-1"}),
    )
}

fn helm(reason: &str, at: &str, chart: &str) -> Value {
    event(
        "HelmRelease",
        "podinfo",
        reason,
        at,
        &json!({"revision": chart, "token": DIGEST, "app-version": "6.5.0",
                "env": "prod", "cluster": "eu-1"}),
    )
}

fn run(v: &Value) -> Result<Mapped, Malformed> {
    map(&serde_json::to_vec(v).unwrap(), &cfg())
}

#[allow(
    clippy::unnecessary_wraps,
    reason = "the expected value, compared with what map returns"
)]
fn one(event: &'static str, d: DeployV1<'static>) -> Result<Mapped, Malformed> {
    Ok(Mapped {
        event,
        out: vec![Out::Deploy(d)],
        truncated_push: false,
    })
}

fn kustomization_deploy(finished_at: &str) -> DeployV1<'static> {
    DeployV1 {
        id: format!("flux-eu-1/Kustomization/apps/checkout@main@sha1:{SHA}").into(),
        service: "checkout".into(),
        team: None,
        environment: Some("production".into()),
        status: "succeeded".into(),
        finished_at: finished_at.to_owned().into(),
        revision: Some(SHA.into()),
        ..DeployV1::default()
    }
}

fn helm_deploy(status: &'static str, finished_at: &str, chart: &str) -> DeployV1<'static> {
    DeployV1 {
        id: format!("flux-eu-1/HelmRelease/apps/podinfo@{chart}+{DIGEST}").into(),
        service: "podinfo".into(),
        team: None,
        environment: Some("production".into()),
        status: status.into(),
        finished_at: finished_at.to_owned().into(),
        revision: Some(chart.to_owned().into()),
        ..DeployV1::default()
    }
}

#[test]
fn a_kustomization_applied_at_a_revision_is_a_succeeded_deploy() {
    assert_eq!(
        run(&kustomization("2026-03-02T10:00:05Z")),
        one(
            "ReconciliationSucceeded",
            kustomization_deploy("2026-03-02T10:00:05Z")
        )
    );
}

#[test]
fn a_kustomization_repeat_is_the_same_deploy_and_a_redelivery_identical() {
    let first = run(&kustomization("2026-03-02T10:00:05Z")).unwrap();
    assert_eq!(run(&kustomization("2026-03-02T10:00:05Z")).unwrap(), first);
    let repeat = run(&kustomization("2026-03-02T10:10:07Z")).unwrap();
    let (Out::Deploy(a), Out::Deploy(b)) = (&first.out[0], &repeat.out[0]) else {
        panic!()
    };
    assert_eq!(a.id, b.id);
}

#[test]
fn metadata_keys_with_their_api_group_are_read_too() {
    let v = event(
        "Kustomization",
        "checkout",
        "ReconciliationSucceeded",
        "2026-03-02T10:00:05Z",
        &json!({"kustomize.toolkit.fluxcd.io/revision": format!("main@sha1:{SHA}"),
                "env": "prod", "cluster": "eu-1"}),
    );
    assert_eq!(
        run(&v),
        one(
            "ReconciliationSucceeded",
            kustomization_deploy("2026-03-02T10:00:05Z")
        )
    );
}

#[test]
fn helm_install_and_upgrade_results_are_deploys_keyed_by_chart_and_values() {
    for (reason, status) in [
        ("InstallSucceeded", "succeeded"),
        ("UpgradeSucceeded", "succeeded"),
        ("InstallFailed", "failed"),
        ("UpgradeFailed", "failed"),
        ("TestFailed", "failed"),
    ] {
        let got = run(&helm(reason, "2026-03-02T11:00:00Z", "6.5.1"));
        let Ok(Mapped { event, .. }) = &got else {
            panic!("{reason}")
        };
        assert_eq!(
            got,
            one(event, helm_deploy(status, "2026-03-02T11:00:00Z", "6.5.1")),
            "{reason}"
        );
        assert_eq!(*event, reason);
    }
}

#[test]
fn a_helm_rollback_marks_the_release_it_undid_rolled_back() {
    // The upgrade to new values on chart 6.5.1 succeeded, its tests failed,
    // helm-controller rolled back to the previous release (chart 6.5.1):
    // the rollback names the same chart version and values digest.
    let upgrade = run(&helm("UpgradeSucceeded", "2026-03-02T11:00:00Z", "6.5.1")).unwrap();
    let rollback = run(&helm("RollbackSucceeded", "2026-03-02T11:04:00Z", "6.5.1"));
    assert_eq!(
        rollback,
        one(
            "RollbackSucceeded",
            helm_deploy("rolled_back", "2026-03-02T11:04:00Z", "6.5.1")
        )
    );
    let (Out::Deploy(a), Out::Deploy(b)) = (&upgrade.out[0], &rollback.unwrap().out[0]) else {
        panic!()
    };
    assert_eq!(a.id, b.id);
}

#[test]
fn rules_and_event_metadata_name_service_team_and_environment() {
    let ruled = FluxSource {
        services: vec![ServiceRule {
            matches: compile("Kustomization/apps/.*").unwrap(),
            service: "shop".into(),
            team: "payments".into(),
        }],
        ..cfg()
    };
    let mut want = kustomization_deploy("2026-03-02T10:00:05Z");
    want.service = "shop".into();
    want.team = Some("payments".into());
    assert_eq!(
        map(
            &serde_json::to_vec(&kustomization("2026-03-02T10:00:05Z")).unwrap(),
            &ruled
        ),
        one("ReconciliationSucceeded", want)
    );

    // Another environment passes through; without env or cluster: none.
    let mut v = kustomization("2026-03-02T10:00:05Z");
    v["metadata"] = json!({"revision": format!("main@sha1:{SHA}"), "env": "staging"});
    let mut want = kustomization_deploy("2026-03-02T10:00:05Z");
    want.id = format!("flux-/Kustomization/apps/checkout@main@sha1:{SHA}").into();
    want.environment = Some("staging".into());
    assert_eq!(run(&v), one("ReconciliationSucceeded", want.clone()));
    v["metadata"] = json!({"revision": format!("main@sha1:{SHA}")});
    want.environment = None;
    assert_eq!(run(&v), one("ReconciliationSucceeded", want));
}

#[test]
fn other_reasons_kinds_and_events_without_a_revision_are_ignored() {
    let mut failed = kustomization("2026-03-02T10:00:05Z");
    failed["reason"] = json!("ReconciliationFailed");
    assert_eq!(run(&failed), Ok(Mapped::ignored("ReconciliationFailed")));
    let mut source = kustomization("2026-03-02T10:00:05Z");
    source["involvedObject"]["kind"] = json!("GitRepository");
    source["reason"] = json!("NewArtifact");
    assert_eq!(run(&source), Ok(Mapped::ignored("other")));
    // A HelmRelease reason on a Kustomization is not a Helm release.
    let mut odd = kustomization("2026-03-02T10:00:05Z");
    odd["reason"] = json!("UpgradeSucceeded");
    assert_eq!(run(&odd), Ok(Mapped::ignored("UpgradeSucceeded")));
    let mut bare = kustomization("2026-03-02T10:00:05Z");
    bare["metadata"] = json!({"env": "prod"});
    assert_eq!(run(&bare), Ok(Mapped::ignored("ReconciliationSucceeded")));
}

#[test]
fn source_revisions_become_their_commit() {
    assert_eq!(commit(&format!("main@sha1:{SHA}")), SHA);
    assert_eq!(commit(&format!("sha1:{SHA}")), SHA);
    assert_eq!(commit("latest@sha256:abc"), "abc");
    assert_eq!(commit("6.5.1"), "6.5.1");
}

#[test]
fn missing_or_unreadable_fields_are_malformed_and_named() {
    let malformed = |f: &str| Err(Malformed(f.into()));
    for (pointer, to, field) in [
        ("/involvedObject", Value::Null, "involvedObject"),
        ("/involvedObject/kind", json!(""), "involvedObject.kind"),
        ("/reason", Value::Null, "reason"),
        ("/involvedObject/name", Value::Null, "involvedObject.name"),
        ("/timestamp", json!("now"), "timestamp"),
        ("/metadata", json!("x"), "metadata"),
    ] {
        let mut v = kustomization("2026-03-02T10:00:05Z");
        *v.pointer_mut(pointer).unwrap() = to;
        assert_eq!(run(&v), malformed(field), "{pointer}");
    }
    assert_eq!(map(b"[]", &cfg()), malformed("body"));
}
