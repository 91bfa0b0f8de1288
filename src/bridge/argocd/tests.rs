//! Bodies as the shipped template renders them (the integration test
//! renders the template itself with Go's text/template), and the exact
//! deploys they become, worked out by hand.

use serde_json::{Value, json};

use super::*;
use crate::config::bridge::{Secrets, ServiceRule};
use crate::config::values::regex::compile;

const SYNCED: &str = "8c4d2a1f9b3e7c6d5a4f3e2d1c0b9a8f7e6d5c4b";
const APP_SHA: &str = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e";

fn cfg() -> ArgocdSource {
    ArgocdSource {
        enabled: None,
        secrets: Secrets::default(),
        secrets_file: String::new(),
        insecure: false,
        header: "X-Valuepulse-Token".into(),
        production: Some(compile("prod|checkout-prod").unwrap()),
        services: Vec::new(),
        sync_commit_is_change: false,
    }
}

/// What the template renders for Application `checkout-prod` synced to
/// `SYNCED` from 10:00:00 to 10:01:30 (+02:00, i.e. 08:01:30Z).
fn body(phase: &str, health: &str) -> Value {
    json!({
        "application": "checkout-prod",
        "app_namespace": "argocd",
        "labels": {"app.kubernetes.io/part-of": "shop"},
        "destination": {"server": "https://kubernetes.default.svc", "name": null, "namespace": "checkout-prod"},
        "repo_url": "https://github.com/acme/gitops.git",
        "revision": SYNCED,
        "phase": phase,
        "health": health,
        "started_at": "2026-03-02T10:00:00+02:00",
        "finished_at": "2026-03-02T10:01:30+02:00",
        "images": ["ghcr.io/acme/checkout:1.42.0"],
        "committed_at": "2026-03-02T09:40:00+02:00",
        "app_revision": null,
        "app_repository": null
    })
}

fn run(v: &Value, cfg: &ArgocdSource) -> Result<Mapped, Malformed> {
    map(&serde_json::to_vec(v).unwrap(), cfg)
}

fn deploy(status: &'static str) -> DeployV1<'static> {
    DeployV1 {
        id: format!("argocd-checkout-prod@{SYNCED}@2026-03-02T08:01:30Z").into(),
        service: "checkout-prod".into(),
        team: None,
        environment: Some("production".into()),
        status: status.into(),
        finished_at: "2026-03-02T08:01:30Z".into(),
        started_at: Some("2026-03-02T08:00:00Z".into()),
        artifact: Some("ghcr.io/acme/checkout:1.42.0".into()),
        revision: Some(SYNCED.into()),
        ..DeployV1::default()
    }
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

#[test]
fn a_healthy_sync_is_a_succeeded_deploy_without_lead_time_by_default() {
    assert_eq!(
        run(&body("Succeeded", "Healthy"), &cfg()),
        one("deployed", deploy("succeeded"))
    );
}

#[test]
fn a_failed_or_errored_sync_is_a_failed_deploy() {
    for phase in ["Failed", "Error"] {
        assert_eq!(
            run(&body(phase, "Degraded"), &cfg()),
            one("sync_failed", deploy("failed"))
        );
    }
}

#[test]
fn running_or_not_yet_healthy_syncs_are_ignored() {
    for (phase, health) in [
        ("Running", "Progressing"),
        ("Succeeded", "Progressing"),
        ("Terminating", "Healthy"),
    ] {
        assert_eq!(
            run(&body(phase, health), &cfg()),
            Ok(Mapped::ignored("other"))
        );
    }
}

#[test]
fn the_same_notification_twice_is_the_same_deploy_and_a_new_sync_a_new_one() {
    let first = run(&body("Succeeded", "Healthy"), &cfg()).unwrap();
    assert_eq!(run(&body("Succeeded", "Healthy"), &cfg()).unwrap(), first);
    let mut later = body("Succeeded", "Healthy");
    later["finished_at"] = json!("2026-03-02T08:30:00Z");
    let Out::Deploy(d) = &run(&later, &cfg()).unwrap().out[0] else {
        panic!()
    };
    assert_eq!(
        d.id,
        format!("argocd-checkout-prod@{SYNCED}@2026-03-02T08:30:00Z")
    );
}

#[test]
fn the_application_revision_annotations_give_the_join_to_the_application_pushes() {
    let mut v = body("Succeeded", "Healthy");
    v["app_revision"] = json!(APP_SHA);
    v["app_repository"] = json!("acme/checkout");
    let mut want = deploy("succeeded");
    want.revision = Some(APP_SHA.into());
    want.repository = Some("acme/checkout".into());
    assert_eq!(run(&v, &cfg()), one("deployed", want.clone()));
    // The synced commit never becomes a change then, even when allowed.
    let allowed = ArgocdSource {
        sync_commit_is_change: true,
        ..cfg()
    };
    assert_eq!(run(&v, &allowed), one("deployed", want));
}

#[test]
fn the_synced_commit_is_the_change_only_when_configured() {
    let allowed = ArgocdSource {
        sync_commit_is_change: true,
        ..cfg()
    };
    let mut want = deploy("succeeded");
    want.changes = vec![ChangeV1 {
        id: Some(SYNCED.into()),
        committed_at: "2026-03-02T07:40:00Z".into(),
    }];
    assert_eq!(
        run(&body("Succeeded", "Healthy"), &allowed),
        one("deployed", want)
    );
    // A Helm chart source: the template sends no commit date.
    let mut chart = body("Succeeded", "Healthy");
    chart["committed_at"] = Value::Null;
    assert_eq!(run(&chart, &allowed), one("deployed", deploy("succeeded")));
}

#[test]
fn rules_and_labels_name_service_team_and_environment() {
    let ruled = ArgocdSource {
        services: vec![ServiceRule {
            matches: compile("checkout-.*").unwrap(),
            service: "checkout".into(),
            team: "payments".into(),
        }],
        ..cfg()
    };
    let mut want = deploy("succeeded");
    want.service = "checkout".into();
    want.team = Some("payments".into());
    assert_eq!(
        run(&body("Succeeded", "Healthy"), &ruled),
        one("deployed", want)
    );

    // No rule: the team label; the environment label wins over the
    // namespace and passes through when not production.
    let mut v = body("Succeeded", "Healthy");
    v["labels"] = json!({"valuepulse.io/team": "payments", "valuepulse.io/environment": "staging"});
    let mut want = deploy("succeeded");
    want.team = Some("payments".into());
    want.environment = Some("staging".into());
    assert_eq!(run(&v, &cfg()), one("deployed", want));

    // No label, no namespace: no environment (the daemon reads production).
    let mut v = body("Succeeded", "Healthy");
    v["labels"] = Value::Null;
    v["destination"] =
        json!({"server": "https://kubernetes.default.svc", "name": null, "namespace": null});
    let mut want = deploy("succeeded");
    want.environment = None;
    assert_eq!(run(&v, &cfg()), one("deployed", want));
}

#[test]
fn several_images_or_none_give_no_artifact() {
    for images in [json!(["a:1", "b:2"]), json!([]), Value::Null] {
        let mut v = body("Succeeded", "Healthy");
        v["images"] = images;
        let mut want = deploy("succeeded");
        want.artifact = None;
        assert_eq!(run(&v, &cfg()), one("deployed", want));
    }
}

#[test]
fn missing_or_unreadable_fields_are_malformed_and_named() {
    let malformed = |f: &str| Err(Malformed(f.into()));
    for (pointer, to, field) in [
        ("/phase", Value::Null, "phase"),
        ("/application", json!(""), "application"),
        ("/revision", Value::Null, "revision"),
        ("/finished_at", json!("yesterday"), "finished_at"),
        ("/started_at", json!(7), "started_at"),
        ("/labels", json!(["a"]), "labels"),
        ("/committed_at", json!("soon"), "committed_at"),
    ] {
        let mut v = body("Succeeded", "Healthy");
        *v.pointer_mut(pointer).unwrap() = to;
        assert_eq!(run(&v, &cfg()), malformed(field), "{pointer}");
    }
    assert_eq!(map(b"[]", &cfg()), malformed("body"));
    assert_eq!(map(b"not json", &cfg()), malformed("body"));
}
