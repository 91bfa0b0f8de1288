//! Redaction of librdkafka property values.

use super::*;

fn props(pairs: &[(&str, &str)]) -> KafkaProperties {
    pairs.iter().map(|(k, v)| (*k, *v)).collect()
}

#[test]
fn only_allow_listed_values_are_shown() {
    let p = props(&[
        ("sasl.password", "hunter2"),
        ("sasl.pasword", "hunter2"),
        ("sasl.oauthbearer.config", "clientSecret=hunter2"),
        ("SASL.USERNAME", "hunter2"),
        ("sasl.username", "svc"),
        ("ssl.ca.location", "/etc/ca.pem"),
    ]);
    let debug = format!("{p:?}");
    let toml = toml::to_string(&p).unwrap();
    for shown in [&debug, &toml] {
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.contains("svc") && shown.contains("/etc/ca.pem"),
            "{shown}"
        );
    }
    assert_eq!(p.get("sasl.password"), Some("hunter2"));
}

#[test]
fn librdkafka_text_loses_values_and_quoted_words() {
    let p = props(&[("sasl.pasword", "hunter2"), ("security.protocol", "bogus")]);
    let text = r#"Invalid value "bogus" for configuration property "security.protocol"; no such property "sasl.pasword" (hunter2)"#;
    let out = redact_text(text, &p);
    assert!(!out.contains("hunter2") && !out.contains("bogus"), "{out}");
    assert!(
        out.contains("\"security.protocol\"") && out.contains("\"sasl.pasword\""),
        "{out}"
    );
}

#[test]
fn the_check_refuses_unknown_and_invalid_properties_by_key() {
    let e =
        check_librdkafka(&props(&[("sasl.pasword", "hunter2")]), "localhost:1", "g").unwrap_err();
    assert_eq!(e.0, "kafka.properties.sasl.pasword");
    assert!(!e.1.contains("hunter2"), "{}", e.1);
    let e = check_librdkafka(
        &props(&[("security.protocol", "hunter2")]),
        "localhost:1",
        "g",
    )
    .unwrap_err();
    assert_eq!(e.0, "kafka.properties.security.protocol");
    assert!(!e.1.contains("hunter2"), "{}", e.1);
    let ok = props(&[
        ("security.protocol", "SASL_PLAINTEXT"),
        ("sasl.mechanism", "SCRAM-SHA-512"),
        ("sasl.username", "u"),
        ("sasl.password", "hunter2"),
    ]);
    assert_eq!(check_librdkafka(&ok, "localhost:1", "g"), Ok(()));
}
