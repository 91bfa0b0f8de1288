//! The deployment artefacts stay true: rules parse and pass their promtool
//! unit tests, manifests (kustomize and Helm) render and validate, dashboards
//! decode strictly as Grafana's schema describes them, and every PromQL
//! expression in rules and dashboards names only metrics a live daemon
//! really exports.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::{self, Daemon, create_topics, unique};

fn repo() -> &'static str {
    env!("CARGO_MANIFEST_DIR")
}

/// Runs a command in the repository; panics with its output on failure.
fn run(program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn prometheus_rules_parse_and_pass_their_promtool_tests() {
    let _isolation = common::shared();
    run("bash", &["deploy/prometheus/check.sh"]);
}

#[test]
fn kubernetes_manifests_render_validate_and_lint_clean() {
    let _isolation = common::shared();
    run("bash", &["deploy/check-manifests.sh"]);
}

#[test]
fn grafana_dashboards_decode_strictly_with_the_grafana_sdk_and_follow_the_dashboard_rules() {
    let _isolation = common::shared();
    run("bash", &["deploy/grafana/validate.sh"]);
}

#[test]
fn every_promql_expression_names_only_metrics_a_live_daemon_exports() {
    let _isolation = common::shared();
    let (deploys, incidents, usage) = (unique("deploys"), unique("incidents"), unique("usage"));
    create_topics(&[(&deploys, 1), (&incidents, 1), (&usage, 1)]);
    let daemon = Daemon::start(&[
        ("VALUEPULSE__TOPICS__DEPLOYS", &deploys),
        ("VALUEPULSE__TOPICS__INCIDENTS", &incidents),
        ("VALUEPULSE__TOPICS__FEATURE_USAGE", &usage),
    ]);
    daemon.wait_ready(Duration::from_secs(60));
    let scrape = daemon.scrape();
    let mut child = Command::new("python3")
        .args([
            "deploy/prometheus/exprs.py",
            "--names-from",
            "src/views/names.rs",
            "--exported",
            "-",
        ])
        .current_dir(repo())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 is needed for deploy/prometheus/exprs.py");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(scrape.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "exprs.py failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
