//! Loading, layering and validation of the configuration.

use super::*;
use std::time::Duration;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn embedded_defaults_are_valid_and_complete() {
    let c = Config::load_with_env(None, env(&[])).unwrap();
    let labels: Vec<&str> = c.windows().iter().map(|w| w.label.as_str()).collect();
    assert_eq!(labels, ["1d", "7d", "30d"]);
    assert_eq!(c.dora.environments, ["production"]);
    let s = c.dora_settings();
    assert_eq!(s.time.longest, 30 * 86_400_000);
    assert_eq!(s.time.grace, 3_600_000);
    assert_eq!(c.attribution.window, Duration::from_secs(86_400));
    assert_eq!(s.attribution_window, 86_400_000);
    assert_eq!(c.report.interval, Duration::from_millis(500));
    assert_eq!(c.limits.max_state_bytes, 1 << 30);
    assert_eq!(c.limits.max_event_bytes, 65_536);
    assert_eq!(c.log.format, LogFormat::Text);
    assert_eq!(c.http.listen, "0.0.0.0:9464".parse().unwrap());
}

#[test]
fn attribution_window_is_set_by_environment_and_validated() {
    let c = Config::load_with_env(None, env(&[("VALUEPULSE__ATTRIBUTION__WINDOW", "6h")])).unwrap();
    assert_eq!(c.dora_settings().attribution_window, 6 * 3_600_000);
    for bad in ["0s", "soon"] {
        let e = Config::load_with_env(None, env(&[("VALUEPULSE__ATTRIBUTION__WINDOW", bad)]))
            .unwrap_err();
        assert_eq!(e.key, "attribution.window", "{bad}: {e}");
    }
}

#[test]
fn environment_overrides_defaults_including_lists() {
    let c = Config::load_with_env(
        None,
        env(&[
            ("VALUEPULSE__KAFKA__BROKERS", "k1:9092,k2:9092"),
            ("VALUEPULSE__WINDOWS__SIZES", "1h,2d"),
            ("VALUEPULSE__LIMITS__MAX_TEAMS", "7"),
        ]),
    )
    .unwrap();
    assert_eq!(c.kafka.brokers, "k1:9092,k2:9092");
    let labels: Vec<&str> = c.windows().iter().map(|w| w.label.as_str()).collect();
    assert_eq!(labels, ["1h", "2d"]);
    assert_eq!(c.limits.max_teams, 7);
}

#[test]
fn unknown_keys_are_errors_that_name_the_key() {
    let e = Config::load_with_env(None, env(&[("VALUEPULSE__HTTP__LISTN", "x")])).unwrap_err();
    assert!(e.key.contains("listn"), "{e}");
}

#[test]
fn bad_values_name_their_key() {
    let cases = [
        ("VALUEPULSE__WINDOWS__SIZES", "1d,soon", "windows.sizes"),
        ("VALUEPULSE__WINDOWS__SIZES", "1d,1d", "windows.sizes"),
        ("VALUEPULSE__HTTP__LISTEN", "nowhere", "http.listen"),
        ("VALUEPULSE__LOG__FORMAT", "xml", "log.format"),
        (
            "VALUEPULSE__LIMITS__MAX_SERVICES",
            "0",
            "limits.max_services",
        ),
        ("VALUEPULSE__ADOPTION__BUCKET", "soon", "adoption.bucket"),
        ("VALUEPULSE__ADOPTION__BUCKET", "1h", "adoption.bucket"),
        (
            "VALUEPULSE__ADOPTION__MIN_USERS",
            "many",
            "adoption.min_users",
        ),
        (
            "VALUEPULSE__KAFKA__REQUEST_TIMEOUT",
            "soon",
            "kafka.request_timeout",
        ),
        (
            "VALUEPULSE__KAFKA__REQUEST_TIMEOUT",
            "10",
            "kafka.request_timeout",
        ),
        ("VALUEPULSE__KAFKA__BROKERS", " ", "kafka.brokers"),
        ("VALUEPULSE__WINDOWS__GRACE", "0s", "windows.grace"),
        (
            "VALUEPULSE__WINDOWS__MAX_CLOCK_SKEW",
            "later",
            "windows.max_clock_skew",
        ),
        (
            "VALUEPULSE__INGEST__CLOSE_TIMEOUT",
            "-5s",
            "ingest.close_timeout",
        ),
        ("VALUEPULSE__INGEST__BATCH_SIZE", "0", "ingest.batch_size"),
        (
            "VALUEPULSE__INGEST__FOLD_WORKERS",
            "0",
            "ingest.fold_workers",
        ),
        (
            "VALUEPULSE__INGEST__FOLD_WORKERS",
            "65",
            "ingest.fold_workers",
        ),
        ("VALUEPULSE__REPORT__INTERVAL", "often", "report.interval"),
        (
            "VALUEPULSE__LIMITS__MAX_EVENT_BYTES",
            "64 furlongs",
            "limits.max_event_bytes",
        ),
        (
            "VALUEPULSE__LIMITS__MAX_STATE_BYTES",
            "0GiB",
            "limits.max_state_bytes",
        ),
        (
            "VALUEPULSE__DORA__FAILED_DEPLOYS",
            "sometimes",
            "dora.failed_deploys",
        ),
        ("VALUEPULSE__LOG__LEVEL", "info,[[", "log.level"),
        (
            "VALUEPULSE__TOPICS__FEATURE_USAGE",
            "",
            "topics.feature_usage",
        ),
        (
            "VALUEPULSE__PULSE__PROMETHEUS_URL",
            "prometheus:9090",
            "pulse.prometheus_url",
        ),
        (
            "VALUEPULSE__PULSE__PROMETHEUS_URL",
            "http://",
            "pulse.prometheus_url",
        ),
    ];
    for (k, v, key) in cases {
        let e = Config::load_with_env(None, env(&[(k, v)])).unwrap_err();
        assert_eq!(e.key, key, "{k}={v}: {e}");
        assert!(!e.to_string().contains('\n'), "one line: {e}");
    }
}

#[test]
fn retired_bucket_says_why_and_what_to_do() {
    let e =
        Config::load_with_env(None, env(&[("VALUEPULSE__ADOPTION__BUCKET", "soon")])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "adoption.bucket: retired: windows are answered at their own edges (users to the second, events to the minute); remove the key"
    );
    let f = file("[adoption]\nbucket = \"1h\"\n");
    let e = Config::load_with_env(Some(&f.0), env(&[])).unwrap_err();
    assert_eq!(e.key, "adoption.bucket", "{e}");
}

#[test]
fn sizes_take_units_and_print_back_in_them() {
    let c = Config::load_with_env(
        None,
        env(&[
            ("VALUEPULSE__LIMITS__MAX_EVENT_BYTES", "64KiB"),
            ("VALUEPULSE__LIMITS__MAX_STATE_BYTES", "512MiB"),
        ]),
    )
    .unwrap();
    assert_eq!(c.limits.max_event_bytes, 65_536);
    assert_eq!(c.limits.max_state_bytes, 512 << 20);
    let shown = c.to_redacted_toml();
    assert!(shown.contains("max_event_bytes = \"64KiB\""), "{shown}");
    assert!(shown.contains("max_state_bytes = \"512MiB\""), "{shown}");
}

#[test]
fn printed_config_loads_back_to_the_same_values() {
    let c = Config::load_with_env(None, env(&[("VALUEPULSE__WINDOWS__SIZES", "90m,2d")])).unwrap();
    let f = file(&c.to_redacted_toml());
    let again = Config::load_with_env(Some(&f.0), env(&[])).unwrap();
    assert_eq!(again.to_redacted_toml(), c.to_redacted_toml());
    assert_eq!(again.dora_settings().time, c.dora_settings().time);
}

fn file(text: &str) -> tempfile_path::TempToml {
    tempfile_path::TempToml::new(text)
}

/// A TOML file in the temp dir, removed on drop.
mod tempfile_path {
    pub struct TempToml(pub std::path::PathBuf);
    impl TempToml {
        pub fn new(text: &str) -> Self {
            use std::sync::atomic::{AtomicU32, Ordering};
            static N: AtomicU32 = AtomicU32::new(0);
            let p = std::env::temp_dir().join(format!(
                "valuepulse-config-test-{}-{}.toml",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::write(&p, text).unwrap();
            Self(p)
        }
    }
    impl Drop for TempToml {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

#[test]
fn file_sets_dotted_librdkafka_properties_and_refuses_managed_ones() {
    let f = file(
        "[kafka.properties]\n\"security.protocol\" = \"SASL_SSL\"\n\"sasl.mechanism\" = \"PLAIN\"\n\"sasl.username\" = \"u\"\n\"sasl.password\" = \"p\"\n",
    );
    let c = Config::load_with_env(Some(&f.0), env(&[])).unwrap();
    assert_eq!(
        c.kafka.properties.get("security.protocol"),
        Some("SASL_SSL")
    );
    assert_eq!(c.kafka.properties.get("sasl.mechanism"), Some("PLAIN"));
    let f = file("[kafka.properties]\n\"group.id\" = \"x\"\n");
    let e = Config::load_with_env(Some(&f.0), env(&[])).unwrap_err();
    assert_eq!(e.key, "kafka.properties.group.id", "{e}");
    let f = file("[http]\nlisten = \"127.0.0.1:1\"\nport = 3\n");
    let e = Config::load_with_env(Some(&f.0), env(&[])).unwrap_err();
    assert!(e.key.contains("port"), "{e}");
}

#[test]
fn redaction_shows_only_known_harmless_properties() {
    let mut c = Config::load_with_env(None, env(&[])).unwrap();
    for (k, v) in [
        ("sasl.password", "hunter2"),
        ("sasl.pasword", "hunter3"),
        (
            "sasl.oauthbearer.config",
            "principal=me clientSecret=hunter4",
        ),
        ("ssl.key.pem", "PEM"),
        ("security.protocol", "SASL_SSL"),
        ("sasl.username", "valuepulse"),
    ] {
        c.kafka.properties.insert(k, v);
    }
    let shown = c.to_redacted_toml();
    let debug = format!("{c:?}");
    for secret in ["hunter2", "hunter3", "hunter4", "PEM"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
        assert!(!debug.contains(secret), "{secret} in {debug}");
    }
    assert!(shown.contains("SASL_SSL") && shown.contains("valuepulse"));
    assert!(
        shown.contains("\"sasl.pasword\" = \"<redacted>\""),
        "{shown}"
    );
}

#[test]
fn librdkafka_check_names_the_key_and_never_the_value() {
    let cases = [
        (
            "\"sasl.pasword\" = \"hunter2\"",
            "kafka.properties.sasl.pasword",
        ),
        (
            "\"security.protocol\" = \"hunter2\"",
            "kafka.properties.security.protocol",
        ),
        (
            "\"security.protocol\" = \"SASL_PLAINTEXT\"\n\"sasl.mechanism\" = \"hunter2\"",
            "kafka.properties",
        ),
    ];
    for (line, key) in cases {
        let f = file(&format!("[kafka.properties]\n{line}\n"));
        let e = Config::load_with_env(Some(&f.0), env(&[])).unwrap_err();
        assert_eq!(e.key, key, "{e}");
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }
    let f = file("[kafka.properties]\n\"sasl.password\" = 7\n");
    match Config::load_with_env(Some(&f.0), env(&[])) {
        Ok(c) => assert_eq!(c.kafka.properties.get("sasl.password"), Some("7")),
        Err(e) => assert!(!e.to_string().contains('7'), "{e}"),
    }
}
