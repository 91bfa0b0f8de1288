//! `[pulse.delivery]`: destinations typed at load, URLs from the file or a
//! file of their own, never printed whole.

use std::io::Write as _;

use super::{DestinationKind, ORGANISATION, WebhookUrl};
use crate::config::Config;

const PLANTED: &str = "planted-Secret-7f3a9";

fn config_file(text: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!(
        "valuepulse-pulse-delivery-{}-{}.toml",
        std::process::id(),
        crate::clock::now_nanos()
    ));
    std::fs::write(&path, text).unwrap();
    path
}

fn load(text: &str) -> Result<Config, crate::config::ConfigError> {
    let path = config_file(text);
    let c = Config::load_with_env(Some(&path), Vec::new());
    std::fs::remove_file(&path).unwrap();
    c
}

#[test]
fn defaults_have_no_destination_and_bounded_retries() {
    let c = Config::load_with_env(None, Vec::new()).unwrap();
    let d = &c.pulse.delivery;
    assert!(d.destinations.is_empty());
    assert_eq!(d.attempts, 5);
    assert_eq!(d.backoff, std::time::Duration::from_secs(2));
    assert_eq!(d.max_backoff, std::time::Duration::from_secs(60));
    assert_eq!(c.topics.pulse_deliveries, "pulse-deliveries");
}

#[test]
fn destinations_are_typed_and_urls_never_printed() {
    let secret_file = config_file(&format!(
        "https://prod-01.westeurope.logic.azure.com:443/workflows/{PLANTED}/triggers?sig={PLANTED}\n"
    ));
    let c = load(&format!(
        r#"
[[pulse.delivery.destinations]]
name = "payments-slack"
team = "payments"
kind = "slack"
url = "https://hooks.slack.com/services/T000/B000/{PLANTED}"

[[pulse.delivery.destinations]]
name = "org-teams"
kind = "teams"
url_file = "{}"

[[pulse.delivery.destinations]]
name = "payments-hook"
team = "payments"
kind = "webhook"
url = "http://user:{PLANTED}@hooks.internal:8080/pulse?token={PLANTED}"
"#,
        secret_file.display()
    ))
    .unwrap();
    std::fs::remove_file(&secret_file).unwrap();
    let d = &c.pulse.delivery.destinations;
    assert_eq!(d.len(), 3);
    assert_eq!(d[0].kind, DestinationKind::Slack);
    assert_eq!(d[0].team_label(), "payments");
    assert_eq!(d[1].team_label(), ORGANISATION);
    assert!(d[1].url.expose().ends_with(&format!("sig={PLANTED}")));
    assert_eq!(
        d[1].url.redacted(),
        "https://prod-01.westeurope.logic.azure.com:443/<redacted>"
    );
    assert_eq!(d[2].url.redacted(), "http://hooks.internal:8080/<redacted>");
    let printed = c.to_redacted_toml();
    let debugged = format!("{c:?}");
    for (what, text) in [("check-config", &printed), ("Debug", &debugged)] {
        assert!(
            !text.contains(PLANTED),
            "{what} printed a webhook secret:\n{text}"
        );
    }
    assert!(
        printed.contains("https://hooks.slack.com/<redacted>"),
        "{printed}"
    );
}

#[test]
fn a_bad_destination_names_its_key_and_never_its_url() {
    let cases = [
        (
            format!("name = \"a b\"\nkind = \"slack\"\nurl = \"https://h/{PLANTED}\""),
            "pulse.delivery.destinations.0.name",
        ),
        (
            format!("name = \"a\"\nkind = \"slack\"\nurl = \"ftp://h/{PLANTED}\""),
            "pulse.delivery.destinations.0.url",
        ),
        (
            format!("name = \"a\"\nkind = \"slack\"\nurl = \"{PLANTED}\""),
            "pulse.delivery.destinations.0.url",
        ),
        (
            "name = \"a\"\nkind = \"slack\"".to_owned(),
            "pulse.delivery.destinations.0.url",
        ),
        (
            format!("name = \"a\"\nteam = \" \"\nkind = \"slack\"\nurl = \"https://h/{PLANTED}\""),
            "pulse.delivery.destinations.0.team",
        ),
        (
            format!(
                "name = \"a\"\nkind = \"slack\"\nurl = \"https://h/{PLANTED}\"\nurl_file = \"/x\""
            ),
            "pulse.delivery.destinations.0.url_file",
        ),
        (
            "name = \"a\"\nkind = \"slack\"\nurl_file = \"/nonexistent/valuepulse-url\"".to_owned(),
            "pulse.delivery.destinations.0.url_file",
        ),
    ];
    for (table, key) in cases {
        let e = load(&format!("[[pulse.delivery.destinations]]\n{table}\n")).unwrap_err();
        assert_eq!(e.key, key, "{table}: {e}");
        assert!(!e.to_string().contains(PLANTED), "{e}");
    }
    let two = load(&format!(
        "[[pulse.delivery.destinations]]\nname = \"a\"\nkind = \"slack\"\nurl = \"https://h/{PLANTED}\"\n\
         [[pulse.delivery.destinations]]\nname = \"a\"\nkind = \"teams\"\nurl = \"https://h/{PLANTED}\"\n"
    ))
    .unwrap_err();
    assert_eq!(two.key, "pulse.delivery.destinations.1.name");
    let kind = load(
        "[[pulse.delivery.destinations]]\nname = \"a\"\nkind = \"email\"\nurl = \"https://h/x\"\n",
    )
    .unwrap_err();
    assert!(
        kind.key.starts_with("pulse.delivery.destinations"),
        "{kind}"
    );
    let attempts = Config::load_with_env(
        None,
        vec![(
            "VALUEPULSE__PULSE__DELIVERY__ATTEMPTS".to_owned(),
            "0".to_owned(),
        )],
    )
    .unwrap_err();
    assert_eq!(attempts.key, "pulse.delivery.attempts");
}

#[test]
fn redaction_keeps_only_scheme_and_host() {
    for (url, shown) in [
        (
            "https://hooks.slack.com/services/T/B/x",
            "https://hooks.slack.com/<redacted>",
        ),
        (
            "https://u:p@h.example:8443?x=1",
            "https://h.example:8443/<redacted>",
        ),
        ("mailto:someone", "<redacted>"),
        ("https:///path", "<redacted>"),
    ] {
        assert_eq!(WebhookUrl::new(url).redacted(), shown, "{url}");
    }
    let mut f = Vec::new();
    write!(f, "{:?}", WebhookUrl::new(format!("https://h/{PLANTED}"))).unwrap();
    assert!(!String::from_utf8(f).unwrap().contains(PLANTED));
}
