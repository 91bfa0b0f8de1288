//! Argo CD and Flux through the bridge, end to end: the shipped Argo CD
//! template rendered by Go's text/template with Sprig (as
//! argocd-notifications renders it: `tests/argocd-render`) on an
//! Application object, Flux events as notification-controller posts them
//! and signs them (`generic-hmac`), sent to a running `valuepulse bridge`,
//! produced to a real broker and read back by a running daemon, whose
//! scrape must show the hand-computed figures.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{Value, json};
use valuepulse::bridge::verify::sign_hmac_sha256_hex;

use crate::common::bridge::{Bridge, GITHUB_SECRET, Topics, github, wait_for, wait_for_outcome};
use crate::common::{self, Daemon, at, create_topics, normalize, parse, unique};

const ARGOCD_TOKEN: &str = "argocd-token-3f9a";
const ARGOCD_BASIC: &str = "argocd:basic-password-77";
const FLUX_TOKEN: &str = "flux-hmac-token-c41e";

/// The deliveries counter of the bridge, 0 when it has no such series.
fn deliveries(bridge: &Bridge, source: &str, event: &str, outcome: &str) -> f64 {
    parse(&bridge.metrics())
        .get(&normalize(&format!(
            r#"valuepulse_bridge_deliveries_total{{source="{source}",event="{event}",outcome="{outcome}"}}"#
        )))
        .copied()
        .unwrap_or(0.0)
}

/// The Go renderer, built once per test run. Go is required: deploy/test.sh
/// installs it.
fn renderer() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/argocd-render");
        let bin = std::env::temp_dir().join(unique("argocd-render"));
        let out = Command::new("go")
            .args(["build", "-o"])
            .arg(&bin)
            .arg(".")
            .current_dir(&dir)
            .output()
            .unwrap_or_else(|e| {
                panic!("`go` is needed to render the Argo CD template ({e}); deploy/test.sh installs it")
            });
        assert!(
            out.status.success(),
            "go build tests/argocd-render failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        bin
    })
}

/// The webhook body of the shipped template `valuepulse-deploy`.
fn shipped_template() -> String {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/argocd/argocd-notifications-cm.yaml");
    let cm: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let template: serde_yaml_ng::Value = serde_yaml_ng::from_str(
        cm["data"]["template.valuepulse-deploy"]
            .as_str()
            .expect("the ConfigMap has template.valuepulse-deploy"),
    )
    .unwrap();
    template["webhook"]["valuepulse"]["body"]
        .as_str()
        .expect("a webhook body for the valuepulse service")
        .to_owned()
}

/// The template rendered on `app`, the repo server answering that the
/// synced commit was committed at `committed`.
fn render(app: &Value, committed: &str) -> Vec<u8> {
    let dir = std::env::temp_dir();
    let template = dir.join(unique("argocd-template") + ".txt");
    let application = dir.join(unique("argocd-app") + ".json");
    std::fs::write(&template, shipped_template()).unwrap();
    std::fs::write(&application, serde_json::to_vec(app).unwrap()).unwrap();
    let out = Command::new(renderer())
        .arg(&template)
        .arg(&application)
        .arg(committed)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&template);
    let _ = std::fs::remove_file(&application);
    assert!(
        out.status.success(),
        "rendering failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // What Argo CD sends must be JSON.
    serde_json::from_slice::<Value>(&out.stdout).expect("the rendered body is JSON");
    out.stdout
}

/// An Argo CD Application as the API returns it, after an operation on
/// `synced` that ran from `started` to `finished`.
fn application(
    phase: &str,
    health: &str,
    synced: &str,
    (started, finished): (&str, &str),
    annotations: &Value,
) -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": "checkout-prod", "namespace": "argocd",
            "labels": {"valuepulse.io/team": "payments"},
            "annotations": annotations
        },
        "spec": {
            "project": "default",
            "source": {"repoURL": "https://github.com/acme/gitops.git", "path": "checkout/prod",
                       "targetRevision": "HEAD"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "checkout-prod"},
            "syncPolicy": {"automated": {"prune": true, "selfHeal": true}}
        },
        "status": {
            "sync": {"status": "Synced", "revision": synced},
            "health": {"status": health},
            "summary": {"images": ["ghcr.io/acme/checkout:1.42.0"]},
            "operationState": {
                "operation": {"sync": {"revision": synced}},
                "phase": phase, "message": "successfully synced (all tasks run)",
                "startedAt": started, "finishedAt": finished,
                "syncResult": {"revision": synced, "source": {"repoURL": "https://github.com/acme/gitops.git"},
                               "resources": []}
            }
        }
    })
}

/// A GitHub push of `commits` (id, seconds from now) to acme/checkout.
fn push(now: i64, before: &str, commits: &[(&str, i64)]) -> Vec<u8> {
    let list: Vec<Value> = commits
        .iter()
        .map(|(id, t)| json!({"id": id, "message": "Change", "timestamp": at(now, *t), "distinct": true}))
        .collect();
    serde_json::to_vec(&json!({
        "ref": "refs/heads/main", "before": before, "after": commits.last().unwrap().0,
        "repository": {"id": 1, "name": "checkout", "full_name": "acme/checkout"},
        "created": false, "deleted": false, "forced": false, "commits": list
    }))
    .unwrap()
}

#[test]
fn argocd_notifications_rendered_from_the_shipped_template_become_exact_deploys() {
    let _isolation = common::shared();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let t = Topics::create("argocd", create_topics);
    let (deploys, changes) = (t.deploys.clone(), t.changes.clone());
    let topics = t.env();
    let rules = std::env::temp_dir().join(unique("argocd-rules") + ".toml");
    std::fs::write(&rules, "[bridge.argocd]\nproduction = \".*-prod\"\n").unwrap();
    let daemon = Daemon::start(&topics);
    let secrets = format!("{ARGOCD_TOKEN},{ARGOCD_BASIC}");
    let mut env: Vec<(&str, &str)> = topics.to_vec();
    env.extend([
        ("VALUEPULSE__BRIDGE__ARGOCD__SECRETS", secrets.as_str()),
        ("VALUEPULSE__BRIDGE__GITHUB__SECRETS", GITHUB_SECRET),
    ]);
    let bridge = Bridge::start(&rules, &env);
    daemon.wait_ready(Duration::from_secs(60));
    let token = |v: &str| vec![("X-Valuepulse-Token", v.to_owned())];

    // The application repository's pushes: c1 committed 5 h ago, c2 4 h ago.
    let (b0, c1, c2) = (
        "1111111111111111111111111111111111111111",
        "2222222222222222222222222222222222222222",
        "3333333333333333333333333333333333333333",
    );
    let p = push(now, b0, &[(c1, -5 * 3600), (c2, -4 * 3600)]);
    assert_eq!(
        bridge
            .post(
                "/hooks/github",
                &github("push", &p, Some(GITHUB_SECRET)),
                &p
            )
            .0,
        200
    );

    // Sync 1 of config commit s1, which CI wrote for application commit c2:
    // 3 h 2 min to 3 h ago, healthy (on-deployed).
    let s1 = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
    let annotated = json!({"valuepulse.io/revision": c2, "valuepulse.io/repository": "acme/checkout",
                           "notifications.argoproj.io/subscribe.on-deployed.valuepulse": ""});
    let deployed = render(
        &application(
            "Succeeded",
            "Healthy",
            s1,
            (&at(now, -3 * 3600 - 120), &at(now, -3 * 3600)),
            &annotated,
        ),
        &at(now, -3 * 3600 - 600),
    );
    assert_eq!(
        bridge
            .post("/hooks/argocd", &token(ARGOCD_TOKEN), &deployed)
            .0,
        200
    );
    // Argo CD sends it again (a retry), here with basic auth: the same deploy.
    let basic = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        ARGOCD_BASIC.as_bytes(),
    );
    assert_eq!(
        bridge
            .post(
                "/hooks/argocd",
                &[("Authorization", format!("Basic {basic}"))],
                &deployed
            )
            .0,
        200
    );
    // Sync 2 of s2, without annotations, failed 1 h ago (on-sync-failed).
    let s2 = "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2";
    let failed = render(
        &application(
            "Failed",
            "Degraded",
            s2,
            (&at(now, -3600 - 60), &at(now, -3600)),
            &Value::Null,
        ),
        &at(now, -2 * 3600),
    );
    assert_eq!(
        bridge
            .post("/hooks/argocd", &token(ARGOCD_TOKEN), &failed)
            .0,
        200
    );
    // A running sync (a trigger on-sync-running someone pointed here):
    // authentic, not a deploy.
    let running = render(
        &application(
            "Running",
            "Progressing",
            s2,
            (&at(now, -60), &at(now, -60)),
            &Value::Null,
        ),
        &at(now, -2 * 3600),
    );
    assert_eq!(
        bridge
            .post("/hooks/argocd", &token(ARGOCD_TOKEN), &running)
            .0,
        202
    );
    // Not authentic: a wrong token, none at all.
    assert_eq!(
        bridge.post("/hooks/argocd", &token("guess"), &deployed).0,
        401
    );
    assert_eq!(bridge.post("/hooks/argocd", &[], &deployed).0, 401);

    // By hand: one succeeded and one failed deploy of checkout-prod
    // (team payments from the label, production by the rule over the
    // destination namespace); lead time of sync 1 through c2's push:
    // c2 1 h, c1 2 h: count 2, sum 10 800 s. Sync 2 names no application
    // commit: no lead time.
    let k = r#"environment="production",service="checkout-prod",team="payments",window="1d""#;
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
    wait_for_outcome(&daemon, &deploys, "accepted", 2.0);
    wait_for_outcome(&daemon, &deploys, "duplicate", 1.0);
    wait_for_outcome(&daemon, &changes, "accepted", 2.0);

    assert_eq!(deliveries(&bridge, "argocd", "deployed", "produced"), 2.0);
    assert_eq!(
        deliveries(&bridge, "argocd", "sync_failed", "produced"),
        1.0
    );
    assert_eq!(deliveries(&bridge, "argocd", "other", "ignored"), 1.0);
    assert_eq!(
        deliveries(&bridge, "argocd", "unverified", "unauthorized"),
        2.0
    );
    let _ = std::fs::remove_file(&rules);
}

/// A Flux event as notification-controller posts it (metadata keys
/// without their API group, the Alert's eventMetadata added).
fn flux_event(kind: &str, name: &str, reason: &str, at: &str, metadata: &Value) -> Vec<u8> {
    let controller = if kind == "HelmRelease" {
        "helm-controller"
    } else {
        "kustomize-controller"
    };
    serde_json::to_vec(&json!({
        "involvedObject": {"kind": kind, "namespace": "apps", "name": name,
                           "uid": "0b6f1c1e-5d1a-4f0e-9a55-2f5d3c8e7a10", "apiVersion": "v1",
                           "resourceVersion": "88120"},
        "severity": if reason.ends_with("Failed") { "error" } else { "info" },
        "timestamp": at,
        "message": format!("{reason} for {name}"),
        "reason": reason,
        "metadata": metadata,
        "reportingController": controller,
        "reportingInstance": format!("{controller}-6d7f9b8c4-pq2xv")
    }))
    .unwrap()
}

fn signed(body: &[u8], secret: &str) -> Vec<(&'static str, String)> {
    vec![
        ("Content-Type", "application/json".to_owned()),
        ("X-Signature", sign_hmac_sha256_hex(secret, body)),
    ]
}

#[test]
fn flux_events_become_deploys_repeats_count_once_and_a_helm_rollback_marks_its_release() {
    let _isolation = common::shared();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let t = Topics::create("flux", create_topics);
    let deploys = t.deploys.clone();
    let topics = t.env();
    let rules = std::env::temp_dir().join(unique("flux-rules") + ".toml");
    std::fs::write(
        &rules,
        r#"
[bridge.flux]
production = "prod"
[[bridge.flux.services]]
match = "HelmRelease/apps/podinfo"
service = "podinfo"
team = "web"
"#,
    )
    .unwrap();
    let daemon = Daemon::start(&topics);
    let mut env: Vec<(&str, &str)> = topics.to_vec();
    env.push(("VALUEPULSE__BRIDGE__FLUX__SECRETS", FLUX_TOKEN));
    let bridge = Bridge::start(&rules, &env);
    daemon.wait_ready(Duration::from_secs(60));
    let send = |body: &[u8]| {
        bridge
            .post("/hooks/flux", &signed(body, FLUX_TOKEN), body)
            .0
    };

    // Kustomization checkout applied main@sha1:… 2 h ago; the same event
    // delivered again; then the periodic repeat 10 min later.
    let meta = json!({"revision": "main@sha1:4be1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3",
                      "commit_status": "update", "env": "prod", "cluster": "eu-1"});
    let applied = flux_event(
        "Kustomization",
        "checkout",
        "ReconciliationSucceeded",
        &at(now, -2 * 3600),
        &meta,
    );
    assert_eq!(send(&applied), 200);
    assert_eq!(send(&applied), 200);
    let repeat = flux_event(
        "Kustomization",
        "checkout",
        "ReconciliationSucceeded",
        &at(now, -2 * 3600 + 600),
        &meta,
    );
    assert_eq!(send(&repeat), 200);

    // HelmRelease podinfo: upgraded to new values on chart 6.5.1 90 min
    // ago, rolled back 80 min ago to the previous release (chart 6.5.1).
    let digest = "sha256:9f2c1d0e8b7a6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d";
    let helm = json!({"revision": "6.5.1", "token": digest, "env": "prod", "cluster": "eu-1"});
    let upgraded = flux_event(
        "HelmRelease",
        "podinfo",
        "UpgradeSucceeded",
        &at(now, -90 * 60),
        &helm,
    );
    assert_eq!(send(&upgraded), 200);
    let rolled = flux_event(
        "HelmRelease",
        "podinfo",
        "RollbackSucceeded",
        &at(now, -80 * 60),
        &helm,
    );
    assert_eq!(send(&rolled), 200);

    // Authentic but not a deploy: a source's new artifact.
    let source = flux_event(
        "GitRepository",
        "gitops",
        "NewArtifact",
        &at(now, -60),
        &json!({"revision": "main@sha1:4be1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3"}),
    );
    assert_eq!(send(&source), 202);
    // Not authentic: another key, a changed body, no signature.
    assert_eq!(
        bridge
            .post("/hooks/flux", &signed(&applied, "not-the-token"), &applied)
            .0,
        401
    );
    let mut tampered = applied.clone();
    tampered[20] ^= 1;
    assert_eq!(
        bridge
            .post("/hooks/flux", &signed(&applied, FLUX_TOKEN), &tampered)
            .0,
        401
    );
    assert_eq!(bridge.post("/hooks/flux", &[], &applied).0, 401);

    // By hand: checkout one succeeded deploy (the repeat is the same
    // deploy); podinfo one deploy, rolled back: a change failure.
    let checkout = r#"environment="production",service="checkout",team="unknown",window="1d""#;
    wait_for(
        &daemon,
        &format!(r#"valuepulse_deploy_attempts{{{checkout},status="succeeded"}}"#),
        1.0,
    );
    wait_for(
        &daemon,
        &format!("valuepulse_deployments{{{checkout}}}"),
        1.0,
    );
    let podinfo = r#"environment="production",service="podinfo",team="web",window="1d""#;
    wait_for(
        &daemon,
        &format!(r#"valuepulse_deploy_attempts{{{podinfo},status="rolled_back"}}"#),
        1.0,
    );
    wait_for(
        &daemon,
        &format!("valuepulse_deployments{{{podinfo}}}"),
        1.0,
    );
    wait_for(
        &daemon,
        &format!(r#"valuepulse_deployments_failed{{{podinfo},attribution="strict"}}"#),
        1.0,
    );
    wait_for(
        &daemon,
        &format!(r#"valuepulse_change_failure_ratio{{{podinfo},attribution="strict"}}"#),
        1.0,
    );
    // Two deploys accepted; the redelivery and the repeat (a later finish,
    // nothing else changed: the first finish stands) duplicates; the
    // rollback an update.
    for (outcome, n) in [("accepted", 2.0), ("duplicate", 2.0), ("updated", 1.0)] {
        wait_for_outcome(&daemon, &deploys, outcome, n);
    }
    let scrape = parse(&daemon.scrape());
    assert_eq!(
        scrape.get(&normalize(&format!(
            r#"valuepulse_deploy_attempts{{{podinfo},status="succeeded"}}"#
        ))),
        Some(&0.0),
        "the rolled-back upgrade is no longer a success"
    );

    assert_eq!(
        deliveries(&bridge, "flux", "ReconciliationSucceeded", "produced"),
        3.0
    );
    assert_eq!(
        deliveries(&bridge, "flux", "UpgradeSucceeded", "produced"),
        1.0
    );
    assert_eq!(
        deliveries(&bridge, "flux", "RollbackSucceeded", "produced"),
        1.0
    );
    assert_eq!(deliveries(&bridge, "flux", "other", "ignored"), 1.0);
    assert_eq!(
        deliveries(&bridge, "flux", "unverified", "unauthorized"),
        3.0
    );
    let _ = std::fs::remove_file(&rules);
}
