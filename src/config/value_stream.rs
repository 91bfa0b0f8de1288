//! The value-stream sections of the configuration, typed at load:
//! `[flow.states]` becomes a [`StateMap`], `satisfaction.default_score` an
//! `Option<f64>`, and `[tiers]` the validated [`DoraBands`] in force.
//!
//! Each section keeps the text it was written with, so `check-config`
//! prints it back as given. An error about one list or one edge names it
//! below the section's key (`flow.states.waiting`,
//! `tiers.custom.lead_time.high`) through [`values::at_subkey`].

use std::fmt;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};

use super::values;
use crate::domain::flow::{StateMap, StateMapError};
use crate::domain::tier::{self, BandsError, DoraBands, MetricBands, Preset, Tier, TierMetric};

/// `[flow]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FlowConfig {
    /// `flow.states.*`: which tracker states are active, waiting and done.
    pub states: FlowStates,
}

/// The three lists of `[flow.states]` as written, and the mapping built
/// from them.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct FlowStatesText {
    active: Vec<String>,
    waiting: Vec<String>,
    done: Vec<String>,
}

/// `[flow.states]`: state names per category, compared normalised
/// (lowercase; runs of spaces, `-` and `_` as one `_`). A state in no list
/// counts as waiting.
#[derive(Debug, Clone)]
pub struct FlowStates {
    text: FlowStatesText,
    map: StateMap,
}

impl FlowStates {
    /// The mapping, checked at load: no state in two lists, no empty name.
    pub fn map(&self) -> &StateMap {
        &self.map
    }
}

impl<'de> Deserialize<'de> for FlowStates {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = FlowStatesText::deserialize(d)?;
        let map = StateMap::new(
            text.active.iter().map(String::as_str),
            text.waiting.iter().map(String::as_str),
            text.done.iter().map(String::as_str),
        )
        .map_err(|e| {
            let list = match &e {
                StateMapError::Conflict { second, .. } => *second,
                StateMapError::Empty { category } => *category,
            };
            values::at_subkey::<D::Error>(list, e)
        })?;
        Ok(Self { text, map })
    }
}

impl Serialize for FlowStates {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.text.serialize(s)
    }
}

/// `[satisfaction]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SatisfactionConfig {
    /// The satisfaction factor of the value delivery score for a series
    /// with no response in the window, 0–1; `None` (`"none"`) for no value
    /// score without responses.
    #[serde(with = "default_score")]
    pub default_score: Option<f64>,
}

/// `satisfaction.default_score`: a number in 0–1, or `"none"`.
mod default_score {
    use super::{Deserializer, Serializer, de, fmt};

    fn parse(text: &str) -> Result<Option<f64>, String> {
        let t = text.trim();
        if t.eq_ignore_ascii_case("none") {
            return Ok(None);
        }
        let v: f64 = t
            .parse()
            .map_err(|_| format!("{text:?} is not a number in 0-1 or \"none\""))?;
        check(v)
    }

    fn check(v: f64) -> Result<Option<f64>, String> {
        if (0.0..=1.0).contains(&v) {
            Ok(Some(v))
        } else {
            Err(format!("{v} is outside 0-1 (or write \"none\")"))
        }
    }

    struct V;

    impl de::Visitor<'_> for V {
        type Value = Option<f64>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a number in 0-1 or \"none\"")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            parse(v).map_err(E::custom)
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            check(v).map_err(E::custom)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            check(v as f64).map_err(E::custom)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            check(v as f64).map_err(E::custom)
        }
    }

    /// Reads the default.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        d.deserialize_any(V)
    }

    /// Writes it back: the number, or `"none"`.
    #[allow(clippy::ref_option, reason = "serde's `with` passes `&Option<T>`")]
    pub fn serialize<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(x) => s.serialize_f64(*x),
            None => s.serialize_str("none"),
        }
    }
}

/// `[tiers.custom]` as written: three edges per metric, elite first.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct CustomBandsText {
    deployment_frequency: Vec<String>,
    lead_time: Vec<String>,
    change_failure_rate: Vec<String>,
    time_to_restore: Vec<String>,
}

impl CustomBandsText {
    fn of(&self, metric: TierMetric) -> &[String] {
        match metric {
            TierMetric::DeploymentFrequency => &self.deployment_frequency,
            TierMetric::LeadTime => &self.lead_time,
            TierMetric::ChangeFailureRate => &self.change_failure_rate,
            TierMetric::TimeToRestore => &self.time_to_restore,
        }
    }
}

/// `[tiers]` as written.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct TiersText {
    preset: String,
    custom: CustomBandsText,
}

/// `[tiers]`: the DORA tier bands in force, a named preset or custom edges.
#[derive(Debug, Clone)]
pub struct TiersConfig {
    text: TiersText,
    bands: DoraBands,
}

impl TiersConfig {
    /// The bands tiers are graded with (validated at load).
    pub fn bands(&self) -> DoraBands {
        self.bands
    }
}

/// The `preset` values: every preset, then `custom`.
fn preset_names() -> String {
    Preset::ALL
        .iter()
        .map(|p| p.as_str())
        .chain([tier::CUSTOM])
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses and validates the custom edges; the error's sub-key (below
/// `tiers`) and message.
fn custom_bands(text: &CustomBandsText) -> Result<DoraBands, (String, String)> {
    let mut three = Vec::with_capacity(4);
    for metric in TierMetric::ALL {
        let edges = text.of(metric);
        let key = format!("custom.{}", metric.as_str());
        if edges.len() != Tier::GRADED.len() {
            return Err((
                key,
                format!(
                    "lists {} edges; it needs three, elite, high and medium, e.g. {}",
                    edges.len(),
                    example(metric)
                ),
            ));
        }
        let mut parsed = Tier::GRADED.iter().zip(edges).map(|(&t, e)| {
            tier::parse_edge(metric, t, e).map_err(|e| (format!("{key}.{}", t.as_str()), e))
        });
        let mut next = || parsed.next().expect("three edges").map_err(band_error);
        three.push(MetricBands {
            elite: next()?,
            high: next()?,
            medium: next()?,
        });
    }
    DoraBands::custom(three[0], three[1], three[2], three[3]).map_err(|e| {
        let m = match &e {
            // Quote the edges as written: their units are the user's.
            BandsError::NotMonotonic {
                field, previous, ..
            } => {
                let edges = text.of(field.metric);
                let at = |t: Tier| Tier::GRADED.iter().position(|&g| g == t).unwrap_or(0);
                format!(
                    "{:?} is better than the {} edge {:?}; edges may not get better from elite to medium",
                    edges[at(field.tier)],
                    previous.tier.as_str(),
                    edges[at(previous.tier)]
                )
            }
            _ => message(&e),
        };
        (format!("custom.{}", field(&e)), m)
    })
}

fn example(metric: TierMetric) -> &'static str {
    match metric {
        TierMetric::DeploymentFrequency => r#"[">= 1/1d", ">= 1/7d", ">= 1/30d"]"#,
        TierMetric::LeadTime => r#"["< 1d", "< 7d", "< 30d"]"#,
        TierMetric::ChangeFailureRate => r#"["<= 0.05", "<= 0.10", "<= 0.15"]"#,
        TierMetric::TimeToRestore => r#"["< 1h", "< 1d", "< 7d"]"#,
    }
}

/// The edge a band error is about, e.g. `lead_time.high`.
fn field(e: &BandsError) -> String {
    match e {
        BandsError::Syntax { field, .. }
        | BandsError::OutOfRange { field, .. }
        | BandsError::NotMonotonic { field, .. } => field.to_string(),
    }
}

/// A band error without its leading field name (the key names it).
fn message(e: &BandsError) -> String {
    let text = e.to_string();
    let prefix = format!("{}: ", field(e));
    text.strip_prefix(&prefix)
        .map(str::to_owned)
        .unwrap_or(text)
}

fn band_error((key, e): (String, BandsError)) -> (String, String) {
    (key, message(&e))
}

impl<'de> Deserialize<'de> for TiersConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = TiersText::deserialize(d)?;
        // The custom edges are checked whatever the preset, so a mistake in
        // them is found before anyone switches to them.
        let custom = custom_bands(&text.custom)
            .map_err(|(key, m)| values::at_subkey::<D::Error>(&key, m))?;
        let bands = if text.preset == tier::CUSTOM {
            custom
        } else {
            Preset::from_name(&text.preset)
                .ok_or_else(|| {
                    values::at_subkey::<D::Error>(
                        "preset",
                        format!("{:?} is not one of {}", text.preset, preset_names()),
                    )
                })?
                .bands()
        };
        Ok(Self { text, bands })
    }
}

impl Serialize for TiersConfig {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.text.serialize(s)
    }
}

#[cfg(test)]
mod tests;
