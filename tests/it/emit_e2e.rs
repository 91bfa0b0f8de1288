//! `valuepulse emit` end to end: events published by the command, in every
//! format, are consumed and counted by a daemon on a real broker; invalid
//! events are refused before any connection; an unreachable broker is a
//! bounded, clear failure.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::common::{self, Daemon, brokers, create_topics, scrape_after, unique};
use time::OffsetDateTime;

/// RFC 3339 of the test's start (whole seconds, taken once) plus
/// `offset_s`, so that timestamps built by separate calls differ by exactly
/// their offsets.
fn rfc3339(offset_s: i64) -> String {
    static START: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    let start = *START.get_or_init(|| OffsetDateTime::now_utc().unix_timestamp());
    common::at(start, offset_s)
}

/// Runs `valuepulse emit …` with a clean environment for valuepulse's keys.
fn emit(args: &[&str]) -> (Output, Duration) {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_valuepulse"))
        .arg("emit")
        .args(args)
        .env_remove("VALUEPULSE__KAFKA__BROKERS")
        .output()
        .expect("run valuepulse emit");
    (out, started.elapsed())
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).trim().to_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Emits and expects success; returns the printed id.
fn emit_ok(args: &[&str]) -> String {
    let (out, _) = emit(args);
    assert!(
        out.status.success(),
        "emit {args:?} failed ({}): {}",
        out.status,
        stderr(&out)
    );
    let id = stdout(&out);
    assert!(!id.is_empty() && !id.contains('\n'), "stdout: {id:?}");
    assert!(stderr(&out).contains("acknowledged"), "{}", stderr(&out));
    id
}

#[test]
fn emitted_events_in_every_format_are_consumed_and_counted() {
    let _isolation = common::shared();
    let (deploys, incidents, usage) = (
        unique("emit-deploys"),
        unique("emit-incidents"),
        unique("emit-usage"),
    );
    create_topics(&[(&deploys, 2), (&incidents, 1), (&usage, 1)]);
    let daemon = Daemon::start(&[
        ("VALUEPULSE__TOPICS__DEPLOYS", &deploys),
        ("VALUEPULSE__TOPICS__INCIDENTS", &incidents),
        ("VALUEPULSE__TOPICS__FEATURE_USAGE", &usage),
    ]);
    daemon.wait_ready(Duration::from_secs(60));

    // Topics from a config file (as `run` reads it); its broker is wrong on
    // purpose and overridden by --brokers.
    let config = std::env::temp_dir().join(unique("emit-config") + ".toml");
    std::fs::write(
        &config,
        format!(
            "[kafka]\nbrokers = \"127.0.0.1:1\"\n[topics]\ndeploys = \"{deploys}\"\nincidents = \"{incidents}\"\n"
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let b = brokers();
    let common = ["--config", config, "--brokers", &b, "--timeout", "30s"];
    let with = |args: &[&str]| -> Vec<String> {
        args.iter()
            .chain(common.iter())
            .map(std::string::ToString::to_string)
            .collect()
    };
    let run = |args: &[&str]| emit_ok(&with(args).iter().map(String::as_str).collect::<Vec<_>>());

    let (three_h, two_h, one_h) = (rfc3339(-3 * 3600), rfc3339(-2 * 3600), rfc3339(-3600));
    // Native, with a generated id.
    let first = run(&[
        "deploy",
        "--service",
        "checkout",
        "--team",
        "payments",
        "--status",
        "succeeded",
        "--finished-at",
        &two_h,
        "--commit",
        &format!("4be1c0d@{three_h}"),
        "--feature",
        "one-click-checkout",
        "--artifact",
        "sha256:9f2c4e1b",
    ]);
    assert!(first.starts_with("d-"), "{first}");
    // CDEvents, structured, v0.5.
    let second = run(&[
        "deploy",
        "--id",
        "d-emit-2",
        "--service",
        "checkout",
        "--team",
        "payments",
        "--status",
        "succeeded",
        "--finished-at",
        &one_h,
        "--artifact",
        "sha256:77aa01",
        "--format",
        "cdevents-structured",
    ]);
    assert_eq!(second, "d-emit-2");
    // The incident it caused: CDEvents, binary, v0.4; then resolved natively.
    let incident = run(&[
        "incident",
        "--service",
        "checkout",
        "--team",
        "payments",
        "--status",
        "opened",
        "--opened-at",
        &rfc3339(-1800),
        "--caused-by-deploy",
        "d-emit-2",
        "--format",
        "cdevents-binary",
        "--cdevents-spec",
        "0.4",
        "--source",
        "/pagerduty",
    ]);
    assert!(incident.starts_with("inc-"), "{incident}");
    run(&[
        "incident",
        "--id",
        &incident,
        "--service",
        "checkout",
        "--team",
        "payments",
        "--status",
        "resolved",
        "--opened-at",
        &rfc3339(-1800),
        "--resolved-at",
        &rfc3339(-600),
        "--caused-by-deploy",
        "d-emit-2",
    ]);
    // The rollback: CDEvents, binary, v0.5; it names the deploy it replaced.
    run(&[
        "deploy",
        "--service",
        "checkout",
        "--team",
        "payments",
        "--status",
        "succeeded",
        "--rollback-of",
        "d-emit-2",
        "--artifact",
        "sha256:9f2c4e1b",
        "--format",
        "cdevents-binary",
    ]);

    let scrape = scrape_after(&daemon, 5, Duration::from_secs(60));
    let k = r#"environment="production",service="checkout",team="payments""#;
    for (series, want) in [
        (
            format!(r#"valuepulse_events_total{{outcome="accepted",topic="{deploys}"}}"#),
            3.0,
        ),
        (
            format!(r#"valuepulse_events_total{{outcome="accepted",topic="{incidents}"}}"#),
            2.0,
        ),
        (format!(r#"valuepulse_deployments{{{k},window="1d"}}"#), 3.0),
        (
            format!(r#"valuepulse_lead_time_seconds_count{{{k},window="1d"}}"#),
            1.0,
        ),
        (
            format!(r#"valuepulse_lead_time_seconds_sum{{{k},window="1d"}}"#),
            3600.0,
        ),
        (
            format!(r#"valuepulse_time_to_restore_seconds_count{{{k},window="1d"}}"#),
            1.0,
        ),
        (format!(r"valuepulse_incidents_open{{{k}}}"), 0.0),
    ] {
        let series = common::normalize(&series);
        assert_eq!(scrape.get(&series), Some(&want), "{series}");
    }
    let invalid: f64 = scrape
        .iter()
        .filter(|(k, _)| {
            k.contains(r#"outcome="invalid""#) || k.contains(r#"outcome="unsupported""#)
        })
        .map(|(_, v)| v)
        .sum();
    assert_eq!(invalid, 0.0, "{scrape:?}");
}

/// A bad flag combination fails before any connection: no broker answers
/// at 127.0.0.1:1, and the command still returns at once with exit 64.
#[test]
fn a_bad_flag_combination_fails_fast_without_touching_the_network() {
    let _isolation = common::shared();
    for args in [
        &[
            "incident",
            "--id",
            "inc-77",
            "--service",
            "checkout",
            "--status",
            "resolved",
            "--opened-at",
            "2026-11-25T10:30:00Z",
        ][..],
        &[
            "deploy",
            "--service",
            "checkout",
            "--status",
            "failed",
            "--format",
            "cdevents-binary",
            "--artifact",
            "sha256:ab",
        ],
        &[
            "deploy",
            "--service",
            "checkout",
            "--status",
            "succeeded",
            "--finished-at",
            "2026-11-25T10:00:00Z",
            "--commit",
            "4be1c0d@2026-11-25T11:00:00Z",
        ],
    ] {
        let mut all = args.to_vec();
        all.extend(["--brokers", "127.0.0.1:1"]);
        let (out, took) = emit(&all);
        assert_eq!(out.status.code(), Some(64), "{args:?}: {}", stderr(&out));
        assert!(took < Duration::from_secs(3), "{args:?} took {took:?}");
        assert_eq!(stdout(&out), "", "nothing printed on stdout");
        assert!(
            stderr(&out).starts_with("valuepulse emit: invalid event: "),
            "{}",
            stderr(&out)
        );
    }
    let (out, _) = emit(&[
        "incident",
        "--id",
        "inc-77",
        "--service",
        "checkout",
        "--status",
        "resolved",
        "--opened-at",
        "2026-11-25T10:30:00Z",
        "--brokers",
        "127.0.0.1:1",
    ]);
    assert!(stderr(&out).contains("--resolved-at"), "{}", stderr(&out));
    // A broken configuration is refused the same way.
    let (out, _) = emit(&[
        "deploy",
        "--service",
        "checkout",
        "--status",
        "succeeded",
        "--config",
        "/nonexistent/valuepulse.toml",
    ]);
    assert_eq!(out.status.code(), Some(64), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("invalid configuration"),
        "{}",
        stderr(&out)
    );
}

/// A valid event and no broker: the command gives up after --timeout with a
/// clear message and exit 69, printing no id.
#[test]
fn an_unacknowledged_event_fails_within_the_timeout() {
    let _isolation = common::shared();
    let (out, took) = emit(&[
        "deploy",
        "--service",
        "checkout",
        "--status",
        "succeeded",
        "--brokers",
        "127.0.0.1:1",
        "--timeout",
        "2s",
    ]);
    assert_eq!(out.status.code(), Some(69), "{}", stderr(&out));
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(15),
        "took {took:?}"
    );
    assert_eq!(stdout(&out), "");
    assert!(
        stderr(&out).contains("did not acknowledge") && stderr(&out).contains("within 2s"),
        "{}",
        stderr(&out)
    );
}
