//! `[bridge]`: sources enabled by their secrets, secrets from env, file and
//! config at once, never printed; mapping rules compiled at load.

use std::io::Write as _;

use crate::config::Config;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

const PLANTED: &str = "planted-Secret-7f3a9";

#[test]
fn by_default_no_source_is_enabled() {
    let c = Config::load_with_env(None, env(&[])).unwrap();
    assert!(c.bridge.access().iter().all(|a| !a.is_enabled()));
    assert_eq!(c.bridge.listen, "0.0.0.0:9465".parse().unwrap());
    assert_eq!(c.bridge.max_body_bytes, 25 << 20);
    assert_eq!(c.topics.changes, "changes");
    assert_eq!(c.bridge.github.incident_label, "incident");
    assert_eq!(
        c.bridge.gitlab.signing_tolerance,
        std::time::Duration::from_secs(300)
    );
}

#[test]
fn secrets_from_the_environment_are_a_comma_separated_list_and_enable_the_source() {
    let c = Config::load_with_env(
        None,
        env(&[
            ("VALUEPULSE__BRIDGE__GITHUB__SECRETS", "old-one,new-one"),
            ("VALUEPULSE__BRIDGE__LISTEN", "127.0.0.1:0"),
        ]),
    )
    .unwrap();
    assert_eq!(c.bridge.github.secrets.expose(), ["old-one", "new-one"]);
    assert!(c.bridge.access()[0].is_enabled());
    assert!(!c.bridge.access()[1].is_enabled());
    assert_eq!(c.bridge.listen, "127.0.0.1:0".parse().unwrap());
}

#[test]
fn a_secrets_file_adds_one_secret_per_line() {
    let path =
        std::env::temp_dir().join(format!("valuepulse-bridge-secrets-{}", std::process::id()));
    let mut f = std::fs::File::create(&path).unwrap();
    writeln!(f, "from-file-1\n\n  from-file-2  ").unwrap();
    drop(f);
    let c = Config::load_with_env(
        None,
        env(&[
            ("VALUEPULSE__BRIDGE__PAGERDUTY__SECRETS", "from-env"),
            (
                "VALUEPULSE__BRIDGE__PAGERDUTY__SECRETS_FILE",
                path.to_str().unwrap(),
            ),
        ]),
    )
    .unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(
        c.bridge.pagerduty.secrets.expose(),
        ["from-env", "from-file-1", "from-file-2"]
    );
    let missing = Config::load_with_env(
        None,
        env(&[(
            "VALUEPULSE__BRIDGE__PAGERDUTY__SECRETS_FILE",
            "/nonexistent/valuepulse-secrets",
        )]),
    )
    .unwrap_err();
    assert_eq!(missing.key, "bridge.pagerduty.secrets_file");
}

#[test]
fn enabled_without_a_secret_is_refused_unless_insecure() {
    let e = Config::load_with_env(
        None,
        env(&[("VALUEPULSE__BRIDGE__GITLAB__ENABLED", "true")]),
    )
    .unwrap_err();
    assert_eq!(e.key, "bridge.gitlab.secrets");
    assert!(
        e.message.contains("VALUEPULSE__BRIDGE__GITLAB__SECRETS"),
        "{e}"
    );
    let c = Config::load_with_env(
        None,
        env(&[
            ("VALUEPULSE__BRIDGE__GITLAB__ENABLED", "true"),
            ("VALUEPULSE__BRIDGE__GITLAB__INSECURE", "true"),
        ]),
    )
    .unwrap();
    assert!(c.bridge.access()[1].is_enabled());
    // Forced off, a source with a secret stays closed.
    let c = Config::load_with_env(
        None,
        env(&[
            ("VALUEPULSE__BRIDGE__EVENTS__ENABLED", "false"),
            ("VALUEPULSE__BRIDGE__EVENTS__SECRETS", "tok"),
        ]),
    )
    .unwrap();
    assert!(!c.bridge.access()[3].is_enabled());
}

#[test]
fn secrets_are_never_printed() {
    let c = Config::load_with_env(
        None,
        env(&[("VALUEPULSE__BRIDGE__GITHUB__SECRETS", PLANTED)]),
    )
    .unwrap();
    let toml = c.to_redacted_toml();
    assert!(!toml.contains(PLANTED), "{toml}");
    assert!(toml.contains("<redacted>"));
    let debug = format!("{c:?}");
    assert!(!debug.contains(PLANTED), "Debug printed a secret");
}

#[test]
fn mapping_rules_compile_at_load_and_match_whole_names() {
    let dir = std::env::temp_dir().join(format!("valuepulse-bridge-rules-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bridge.toml");
    std::fs::write(
        &file,
        r#"
[bridge.github]
production = "prod|production"
[[bridge.github.services]]
match = "acme/checkout-.*"
service = "checkout"
team = "payments"
[[bridge.github.workflows]]
match = "Deploy.*"
environment = "production"
"#,
    )
    .unwrap();
    let c = Config::load_with_env(Some(&file), env(&[])).unwrap();
    let g = &c.bridge.github;
    let prod = g.production.as_ref().unwrap();
    assert!(prod.is_match("prod") && prod.is_match("production"));
    assert!(!prod.is_match("preprod"), "the whole name must match");
    assert!(g.services[0].matches.is_match("acme/checkout-api"));
    assert!(!g.services[0].matches.is_match("other/acme/checkout-api"));
    assert_eq!(g.workflows[0].environment, "production");
    // Written back as given.
    assert!(
        c.to_redacted_toml()
            .contains("match = \"acme/checkout-.*\"")
    );
    std::fs::write(&file, "[bridge.github]\nproduction = \"(unclosed\"\n").unwrap();
    let e = Config::load_with_env(Some(&file), env(&[])).unwrap_err();
    assert_eq!(e.key, "bridge.github.production", "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}
