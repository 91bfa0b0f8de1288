//! Secrets and SASL/SCRAM against the real broker: a planted secret never
//! reaches the output of `check-config` or `run` (bad and good configs), the
//! README's SASL configuration works on the broker's SCRAM-SHA-512 listener,
//! and a wrong password leaves the daemon alive, not ready, saying why.

use std::time::{Duration, Instant};

use crate::common::events::Event;
use crate::common::{self, at, create_topics, produce, unique};
use crate::fault::{self, Captured, config_file, daemon_env, run_to_end, sum_series};
use valuepulse::ingest::decode::DeployV1;

/// The secret every config here plants; no output may contain it.
const PLANTED: &str = "planted-Secret-7f3a9";

fn sasl_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: run the tests with deploy/test.sh, or export the lines of \
             `deploy/kafka-local.sh env` (the broker's SASL/SCRAM listener)"
        )
    })
}

/// The README's SASL configuration, with `password`.
fn sasl_config(password: &str) -> String {
    format!(
        "[kafka]\nbrokers = \"{}\"\n\n[kafka.properties]\n\"security.protocol\" = \"SASL_PLAINTEXT\"\n\"sasl.mechanism\" = \"SCRAM-SHA-512\"\n\"sasl.username\" = \"{}\"\n\"sasl.password\" = \"{password}\"\n\"session.timeout.ms\" = \"6000\"\n",
        sasl_env("VALUEPULSE_TEST_SASL_BROKERS"),
        sasl_env("VALUEPULSE_TEST_SASL_USER"),
    )
}

fn topics() -> [String; 3] {
    let t = [
        unique("sasl-deploys"),
        unique("sasl-incidents"),
        unique("sasl-usage"),
    ];
    create_topics(&[(&t[0], 1), (&t[1], 1), (&t[2], 1)]);
    t
}

fn env_for(brokers: &str, t: &[String; 3]) -> Vec<(String, String)> {
    let mut env = daemon_env(brokers, [&t[0], &t[1], &t[2]]);
    // Most verbose: whatever is logged is checked.
    env.push(("VALUEPULSE__LOG__LEVEL".into(), "debug".into()));
    env
}

fn assert_clean(what: &str, output: &str) {
    assert!(
        !output.contains(PLANTED),
        "{what} printed the planted secret:\n{output}"
    );
}

#[test]
fn bad_configs_exit_64_naming_the_key_and_never_print_the_secret() {
    let _isolation = common::shared();
    let cases = [
        (
            format!("[kafka.properties]\n\"sasl.pasword\" = \"{PLANTED}\"\n"),
            "kafka.properties.sasl.pasword",
        ),
        (
            format!("[kafka.properties]\n\"security.protocol\" = \"{PLANTED}\"\n"),
            "kafka.properties.security.protocol",
        ),
        (
            format!(
                "[kafka.properties]\n\"security.protocol\" = \"SASL_PLAINTEXT\"\n\"sasl.mechanism\" = \"{PLANTED}\"\n"
            ),
            "kafka.properties",
        ),
        (
            format!(
                "[kafka.properties]\n\"sasl.password\" = \"{PLANTED}\"\n[kafka.properties.nested]\nx = 1\n"
            ),
            "kafka.properties",
        ),
    ];
    for (toml, key) in cases {
        let path = config_file(&toml);
        for cmd in ["check-config", "run"] {
            let (status, out) = run_to_end(&[cmd, "--config", &path.to_string_lossy()], &[]);
            assert_eq!(status.code(), Some(64), "{cmd} with {toml}: {out}");
            assert_clean(cmd, &out);
            let line = out.trim();
            assert!(!line.contains('\n'), "one line: {out}");
            assert!(
                line.starts_with(&format!("valuepulse: invalid configuration: {key}")),
                "{cmd}: {out}"
            );
        }
        let _ = std::fs::remove_file(path);
    }
}

#[test]
fn check_config_redacts_secrets_of_a_good_config() {
    let _isolation = common::shared();
    let toml = format!(
        "[kafka.properties]\n\"security.protocol\" = \"SASL_PLAINTEXT\"\n\"sasl.mechanism\" = \"OAUTHBEARER\"\n\"sasl.oauthbearer.config\" = \"principal=valuepulse extension_x={PLANTED}\"\n"
    );
    let path = config_file(&toml);
    let (status, out) = run_to_end(&["check-config", "--config", &path.to_string_lossy()], &[]);
    assert!(status.success(), "{out}");
    assert_clean("check-config", &out);
    assert!(
        out.contains("\"sasl.oauthbearer.config\" = \"<redacted>\""),
        "{out}"
    );
    assert!(
        out.contains("\"security.protocol\" = \"SASL_PLAINTEXT\""),
        "{out}"
    );
    let _ = std::fs::remove_file(path);
}

#[test]
fn sasl_scram_as_documented_is_ready_and_folds_events_and_prints_no_password() {
    let _isolation = common::shared();
    let t = topics();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let deploys: Vec<(String, String)> = (0..5)
        .map(|i| {
            DeployV1 {
                id: format!("sasl-{i}").into(),
                service: "checkout".into(),
                status: "succeeded".into(),
                finished_at: at(now, -600 - i).into(),
                ..DeployV1::default()
            }
            .record()
        })
        .collect();
    produce(&t[0], &deploys);
    // The broker's SCRAM user has the password kafka-local.sh created it
    // with; plant it as the secret to look for.
    let password = sasl_env("VALUEPULSE_TEST_SASL_PASSWORD");
    let path = config_file(&sasl_config(&password));
    let (status, out) = run_to_end(&["check-config", "--config", &path.to_string_lossy()], &[]);
    assert!(status.success(), "{out}");
    assert!(
        !out.contains(&password),
        "check-config printed the password:\n{out}"
    );
    let mut env = env_for(&sasl_env("VALUEPULSE_TEST_SASL_BROKERS"), &t);
    env.retain(|(k, _)| k != "VALUEPULSE__KAFKA__BROKERS");
    let mut daemon = Captured::run(&path, env);
    daemon.wait_ready(Duration::from_secs(60));
    assert!(
        fault::eventually(Duration::from_secs(20), || {
            sum_series(
                &daemon.scrape(),
                "valuepulse_events_total",
                &[("topic", &t[0]), ("outcome", "accepted")],
            ) == 5.0
        }),
        "the 5 deploys were not folded over SASL"
    );
    let status = daemon
        .terminate(Duration::from_secs(10))
        .expect("exit after SIGTERM");
    assert!(status.success());
    let output = daemon.text();
    assert!(
        !output.contains(&password),
        "run printed the password:\n{output}"
    );
    let _ = std::fs::remove_file(path);
}

#[test]
fn sasl_wrong_password_is_not_ready_alive_says_why_and_prints_no_password() {
    let _isolation = common::shared();
    let t = topics();
    let path = config_file(&sasl_config(PLANTED));
    let mut env = env_for(&sasl_env("VALUEPULSE_TEST_SASL_BROKERS"), &t);
    env.retain(|(k, _)| k != "VALUEPULSE__KAFKA__BROKERS");
    let mut daemon = Captured::run(&path, env);
    let start = Instant::now();
    let mut answered = false;
    while start.elapsed() < Duration::from_secs(12) {
        if let Some((status, _, body)) = daemon.get("/readyz") {
            answered = true;
            assert_eq!(
                status,
                503,
                "ready with a wrong password: {}",
                String::from_utf8_lossy(&body)
            );
            let (live, _, _) = daemon.get("/livez").unwrap();
            assert_eq!(live, 200, "/livez must not depend on Kafka");
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(answered, "the admin server never answered");
    assert!(daemon.alive(), "the daemon died on a wrong password");
    let status = daemon
        .terminate(Duration::from_secs(10))
        .expect("exit after SIGTERM");
    assert!(status.success(), "exit status {status}");
    let output = daemon.text();
    assert_clean("run", &output);
    assert!(
        output.contains("SASL authentication error") || output.contains("Authentication failed"),
        "no clear authentication error in the output:\n{}",
        fault::tail(&output, 30)
    );
    let _ = std::fs::remove_file(path);
}
