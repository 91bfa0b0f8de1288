//! Loading, layering and validation of the configuration.

use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn embedded_defaults_are_valid_and_complete() {
    let c = Config::load_with_env(None, env(&[])).unwrap();
    assert_eq!(c.windows.sizes, ["1d", "7d", "30d"]);
    assert_eq!(c.dora.environments, ["production"]);
    let s = c.dora_settings();
    assert_eq!(s.time.longest, 30 * 86_400_000);
    assert_eq!(s.time.grace, 3_600_000);
    assert_eq!(c.attribution.window, "24h");
    assert_eq!(s.attribution_window, 86_400_000);
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
    assert_eq!(c.windows.sizes, ["1h", "2d"]);
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
    ];
    for (k, v, key) in cases {
        let e = Config::load_with_env(None, env(&[(k, v)])).unwrap_err();
        assert_eq!(e.key, key, "{k}={v}: {e}");
    }
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
        "[kafka.properties]\n\"security.protocol\" = \"SASL_SSL\"\n\"sasl.mechanism\" = \"PLAIN\"\n",
    );
    let c = Config::load_with_env(Some(&f.0), env(&[])).unwrap();
    assert_eq!(c.kafka.properties["security.protocol"], "SASL_SSL");
    assert_eq!(c.kafka.properties["sasl.mechanism"], "PLAIN");
    let f = file("[kafka.properties]\n\"group.id\" = \"x\"\n");
    let e = Config::load_with_env(Some(&f.0), env(&[])).unwrap_err();
    assert_eq!(e.key, "kafka.properties.group.id", "{e}");
    let f = file("[http]\nlisten = \"127.0.0.1:1\"\nport = 3\n");
    let e = Config::load_with_env(Some(&f.0), env(&[])).unwrap_err();
    assert!(e.key.contains("port"), "{e}");
}

#[test]
fn redaction_hides_secret_properties() {
    let mut c = Config::load_with_env(None, env(&[])).unwrap();
    c.kafka
        .properties
        .insert("sasl.password".into(), "hunter2".into());
    c.kafka
        .properties
        .insert("ssl.key.pem".into(), "PEM".into());
    c.kafka
        .properties
        .insert("security.protocol".into(), "SASL_SSL".into());
    let shown = c.to_redacted_toml();
    assert!(!shown.contains("hunter2") && !shown.contains("PEM"));
    assert!(shown.contains("SASL_SSL"));
}
