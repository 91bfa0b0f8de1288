//! The value-stream keys: defaults, presets, custom bands refused with the
//! edge named, the state mapping and the default satisfaction score.

use crate::config::{Config, ConfigError};
use crate::domain::FlowCategory;
use crate::domain::flow::StateMap;
use crate::domain::tier::{Preset, Tier, TierMetric};

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn load(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::load_with_env(None, env(pairs))
}

/// Loads a TOML file layered over the defaults.
fn load_file(text: &str) -> Result<Config, ConfigError> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let p = std::env::temp_dir().join(format!(
        "valuepulse-value-config-{}-{}.toml",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&p, text).unwrap();
    let c = Config::load_with_env(Some(&p), env(&[]));
    let _ = std::fs::remove_file(&p);
    c
}

#[test]
fn defaults_are_the_documented_ones() {
    let c = load(&[]).unwrap();
    assert_eq!(c.topics.work_items, "work-items");
    assert_eq!(c.topics.satisfaction, "satisfaction");
    assert_eq!(c.satisfaction.default_score, Some(1.0));
    assert_eq!(c.dora_settings().bands, Preset::Valuepulse.bands());
    assert_eq!(c.flow.states.map(), &StateMap::default());
    let f = c.flow_settings();
    assert_eq!(f.windows, c.dora_settings().windows);
    assert_eq!(c.satisfaction_settings().default_score, Some(1.0));
    // The custom edges in default.toml are the valuepulse preset's.
    let custom = load(&[("VALUEPULSE__TIERS__PRESET", "custom")]).unwrap();
    let (a, b) = (custom.tiers.bands(), Preset::Valuepulse.bands());
    assert_eq!(a.label(), "custom");
    for m in TierMetric::ALL {
        for t in Tier::GRADED {
            let (x, y) = (a.of(m).edge(t).unwrap(), b.of(m).edge(t).unwrap());
            assert!((x.value - y.value).abs() < 1e-12, "{m:?} {t:?}");
            assert_eq!(x.inclusive, y.inclusive, "{m:?} {t:?}");
        }
    }
}

#[test]
fn a_preset_is_chosen_by_name_and_an_unknown_one_is_refused() {
    for p in Preset::ALL {
        let c = load(&[("VALUEPULSE__TIERS__PRESET", p.as_str())]).unwrap();
        assert_eq!(c.dora_settings().bands, p.bands());
        assert_eq!(c.dora_settings().bands.label(), p.as_str());
    }
    let e = load(&[("VALUEPULSE__TIERS__PRESET", "dora_2019")]).unwrap_err();
    assert_eq!(e.key, "tiers.preset", "{e}");
    assert!(e.message.contains("\"dora_2024\""), "{e}");
}

#[test]
fn custom_bands_grade_with_their_edges() {
    use TierMetric::{ChangeFailureRate, DeploymentFrequency, LeadTime, TimeToRestore};
    let c = load_file(
        r#"
[tiers]
preset = "custom"
[tiers.custom]
deployment_frequency = [">= 2/1d", ">= 1/1w", ">= 1/30d"]
lead_time = ["< 2h", "< 2d", "< 30d"]
change_failure_rate = ["< 10%", "<= 20%", "<= 20%"]
time_to_restore = ["< 30m", "< 4h", "<= 2d"]
"#,
    )
    .unwrap();
    let b = c.dora_settings().bands;
    assert_eq!(b.label(), "custom");
    assert_eq!(b.grade(DeploymentFrequency, 2.0), Tier::Elite);
    assert_eq!(b.grade(DeploymentFrequency, 1.9), Tier::High);
    assert_eq!(b.grade(LeadTime, 7_199.0), Tier::Elite);
    assert_eq!(b.grade(LeadTime, 7_200.0), Tier::High);
    assert_eq!(b.grade(ChangeFailureRate, 0.10), Tier::High);
    assert_eq!(
        b.grade(ChangeFailureRate, 0.20),
        Tier::High,
        "medium is empty"
    );
    assert_eq!(b.grade(ChangeFailureRate, 0.21), Tier::Low);
    assert_eq!(b.grade(TimeToRestore, 2.0 * 86_400.0), Tier::Medium);
}

#[test]
fn bad_custom_bands_are_refused_naming_the_edge() {
    let cases = [
        // Better than the elite edge above it.
        (
            "lead_time",
            r#"["< 1d", "< 12h", "< 30d"]"#,
            "tiers.custom.lead_time.high",
            "better than",
        ),
        // The wrong direction for a duration.
        (
            "time_to_restore",
            r#"["> 1h", "< 1d", "< 7d"]"#,
            "tiers.custom.time_to_restore.elite",
            "not an edge",
        ),
        // Not a duration.
        (
            "lead_time",
            r#"["< 1d", "< 7d", "< soon"]"#,
            "tiers.custom.lead_time.medium",
            "not an edge",
        ),
        // A ratio above 1.
        (
            "change_failure_rate",
            r#"["<= 0.05", "<= 0.10", "<= 150%"]"#,
            "tiers.custom.change_failure_rate.medium",
            "outside",
        ),
        // Frequency must be above 0.
        (
            "deployment_frequency",
            r#"[">= 1/1d", ">= 0", ">= 0"]"#,
            "tiers.custom.deployment_frequency.high",
            "outside",
        ),
        // Frequency getting better downwards.
        (
            "deployment_frequency",
            r#"[">= 1/7d", ">= 1/1d", ">= 1/30d"]"#,
            "tiers.custom.deployment_frequency.high",
            "better than",
        ),
        // Two edges, not three.
        (
            "lead_time",
            r#"["< 1d", "< 7d"]"#,
            "tiers.custom.lead_time",
            "three",
        ),
    ];
    for (metric, edges, key, says) in cases {
        // Refused whatever the preset: a mistake is found before use.
        for preset in ["custom", "valuepulse"] {
            let e = load_file(&format!(
                "[tiers]\npreset = \"{preset}\"\n[tiers.custom]\n{metric} = {edges}\n"
            ))
            .unwrap_err();
            assert_eq!(e.key, key, "{metric} = {edges}: {e}");
            assert!(e.message.contains(says), "{metric} = {edges}: {e}");
            let line = e.to_string();
            assert!(!line.contains('\n') && !line.contains('\u{1f}'), "{line:?}");
        }
    }
}

#[test]
fn custom_edges_come_from_the_environment_too() {
    let c = load(&[
        ("VALUEPULSE__TIERS__PRESET", "custom"),
        ("VALUEPULSE__TIERS__CUSTOM__LEAD_TIME", "< 1h,< 1w,< 180d"),
    ])
    .unwrap();
    assert_eq!(
        c.tiers.bands().grade(TierMetric::LeadTime, 3_599.0),
        Tier::Elite
    );
    let e = load(&[("VALUEPULSE__TIERS__CUSTOM__LEAD_TIME", "< 1h,< 1m,< 180d")]).unwrap_err();
    assert_eq!(e.key, "tiers.custom.lead_time.high", "{e}");
}

#[test]
fn flow_states_map_by_normalised_name_and_a_state_in_two_lists_is_refused() {
    let c = load(&[
        ("VALUEPULSE__FLOW__STATES__ACTIVE", "Doing,Pairing"),
        ("VALUEPULSE__FLOW__STATES__DONE", "Shipped"),
    ])
    .unwrap();
    let m = c.flow_settings().states;
    assert_eq!(m.category("pairing"), Some(FlowCategory::Active));
    assert_eq!(m.category("In Progress"), None, "no longer listed");
    assert_eq!(m.category("in-review"), Some(FlowCategory::Waiting));
    assert_eq!(m.category("SHIPPED"), Some(FlowCategory::Done));
    let e = load(&[("VALUEPULSE__FLOW__STATES__DONE", "done,In Review")]).unwrap_err();
    assert_eq!(e.key, "flow.states.done", "{e}");
    assert!(e.message.contains("in_review"), "{e}");
    let e = load(&[("VALUEPULSE__FLOW__STATES__ACTIVE", "doing, - ")]).unwrap_err();
    assert_eq!(e.key, "flow.states.active", "{e}");
    let e = load_file("[flow.states]\nactiv = [\"x\"]\n").unwrap_err();
    assert_eq!(e.key, "flow.states.activ", "{e}");
}

#[test]
fn default_score_is_a_number_in_0_1_or_none() {
    let score = |v: &str| {
        load(&[("VALUEPULSE__SATISFACTION__DEFAULT_SCORE", v)])
            .map(|c| c.satisfaction_settings().default_score)
    };
    assert_eq!(score("none").unwrap(), None);
    assert_eq!(score("0.8").unwrap(), Some(0.8));
    assert_eq!(score("0").unwrap(), Some(0.0));
    assert_eq!(score("1").unwrap(), Some(1.0));
    for bad in ["1.5", "-0.1", "high"] {
        let e = score(bad).unwrap_err();
        assert_eq!(e.key, "satisfaction.default_score", "{bad}: {e}");
    }
    let c = load_file("[satisfaction]\ndefault_score = \"none\"\n").unwrap();
    assert_eq!(c.satisfaction.default_score, None);
}

#[test]
fn value_stream_topics_must_differ_from_the_others() {
    let e = load(&[("VALUEPULSE__TOPICS__WORK_ITEMS", "deploys")]).unwrap_err();
    assert_eq!(e.key, "topics.work_items", "{e}");
    let e = load(&[("VALUEPULSE__TOPICS__SATISFACTION", "work-items")]).unwrap_err();
    assert_eq!(e.key, "topics.satisfaction", "{e}");
    let e = load(&[("VALUEPULSE__TOPICS__SATISFACTION", " ")]).unwrap_err();
    assert_eq!(e.key, "topics.satisfaction", "{e}");
}

#[test]
fn the_value_stream_keys_print_back_as_written_and_load_again() {
    let c = load(&[
        ("VALUEPULSE__TIERS__PRESET", "custom"),
        (
            "VALUEPULSE__TIERS__CUSTOM__CHANGE_FAILURE_RATE",
            "< 15%,<= 0.3,<= 0.3",
        ),
        ("VALUEPULSE__SATISFACTION__DEFAULT_SCORE", "none"),
        ("VALUEPULSE__FLOW__STATES__ACTIVE", "In Progress,pairing"),
    ])
    .unwrap();
    let shown = c.to_redacted_toml();
    assert!(shown.contains(r#"preset = "custom""#), "{shown}");
    assert!(shown.contains(r#""< 15%""#), "{shown}");
    assert!(shown.contains(r#"default_score = "none""#), "{shown}");
    assert!(shown.contains(r#""In Progress""#), "{shown}");
    let again = load_file(&shown).unwrap();
    assert_eq!(again.to_redacted_toml(), shown);
    assert_eq!(again.tiers.bands(), c.tiers.bands());
}
