//! Typed configuration values: how a duration, a byte size, a window list,
//! a listen address and a log format are read from the layered config and
//! printed back by `check-config`.
//!
//! Each is a serde `with` module (or a type) used by a field of
//! [`Config`](super::Config), so a value is parsed exactly once, at load,
//! and an error names the key it sits under (the `config` crate adds it).

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::domain::Millis;
use crate::domain::time::Window;

/// Marks the start and end of a sub-key at the head of an error message
/// ([`at_subkey`]); `from_config_error` moves it into the key.
pub const SUBKEY_MARK: char = '\u{1f}';

/// An error about `sub`, a dotted key below the one being read (e.g.
/// `custom.lead_time.high` while reading `tiers`): the configuration error
/// then names `tiers.custom.lead_time.high`.
pub fn at_subkey<E: de::Error>(sub: &str, message: impl fmt::Display) -> E {
    E::custom(format!("{SUBKEY_MARK}{sub}{SUBKEY_MARK}{message}"))
}

/// Splits a message made by [`at_subkey`] into its sub-key and the rest.
pub fn split_subkey(message: &str) -> Option<(&str, &str)> {
    message
        .strip_prefix(SUBKEY_MARK)
        .and_then(|rest| rest.split_once(SUBKEY_MARK))
}

/// A duration in epoch-millisecond arithmetic (saturating).
pub fn millis(d: Duration) -> Millis {
    Millis::try_from(d.as_millis()).unwrap_or(Millis::MAX)
}

/// Parses a duration such as `30d`, `1h` or `90s`; zero is refused.
pub fn parse_duration(value: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(value.trim())
        .map_err(|e| format!("{value:?} is not a duration like \"30s\", \"1h\" or \"7d\" ({e})"))?;
    if d.is_zero() {
        return Err(format!("{value:?}: must be greater than zero"));
    }
    Ok(d)
}

/// Parses a byte size: plain bytes (`65536`) or a number with a unit, binary
/// (`KiB`, `MiB`, `GiB`, `TiB`: powers of 1024) or decimal (`kB`/`KB`, `MB`,
/// `GB`, `TB`: powers of 1000), or `B`. Zero is refused.
pub fn parse_size(value: &str) -> Result<u64, String> {
    let s = value.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '_')
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let number: u64 = number.replace('_', "").parse().map_err(|_| {
        format!("{value:?} is not a size like \"65536\", \"64KiB\", \"512MiB\" or \"1GiB\"")
    })?;
    let factor: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        "kB" | "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "TB" => 1_000_000_000_000,
        other => {
            return Err(format!(
                "{value:?}: unknown unit {other:?} (use B, KiB, MiB, GiB, TiB, kB, MB, GB or TB)"
            ));
        }
    };
    let bytes = number
        .checked_mul(factor)
        .ok_or_else(|| format!("{value:?} is too large"))?;
    if bytes == 0 {
        return Err(format!("{value:?}: must be greater than zero"));
    }
    Ok(bytes)
}

/// A byte size as written back by `check-config`: the largest binary unit
/// that divides it exactly.
pub fn format_size(bytes: u64) -> String {
    for (unit, factor) in [
        ("TiB", 1u64 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ] {
        if bytes >= factor && bytes.is_multiple_of(factor) {
            return format!("{}{unit}", bytes / factor);
        }
    }
    bytes.to_string()
}

/// A string, or (from an environment variable parsed as a number) an
/// integer, handed to `parse`.
fn text_or_integer<'de, D, T>(
    d: D,
    expecting: &'static str,
    parse: fn(&str) -> Result<T, String>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    struct V<T> {
        expecting: &'static str,
        parse: fn(&str) -> Result<T, String>,
    }
    impl<T> Visitor<'_> for V<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str(self.expecting)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
            (self.parse)(v).map_err(E::custom)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
            (self.parse)(&v.to_string()).map_err(E::custom)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
            (self.parse)(&v.to_string()).map_err(E::custom)
        }
    }
    d.deserialize_any(V { expecting, parse })
}

/// `Duration` fields: `"30s"`, `"1h"`, `"7d"`; printed back the same way.
pub mod duration {
    use super::{Deserializer, Duration, Serializer, parse_duration, text_or_integer};

    /// Reads a duration.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        text_or_integer(d, "a duration like \"30s\"", parse_duration)
    }

    /// Writes a duration as humantime text (`1day`, `5m`).
    pub fn serialize<S: Serializer>(v: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*v).to_string())
    }
}

/// Byte-size fields held as `usize` bytes: `65536`, `"64KiB"`, `"1GiB"`.
pub mod size {
    use super::{Deserializer, Serializer, format_size, parse_size, text_or_integer};

    fn parse(v: &str) -> Result<usize, String> {
        let bytes = parse_size(v)?;
        usize::try_from(bytes).map_err(|_| format!("{v:?} is too large for this machine"))
    }

    /// Reads a size.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
        text_or_integer(d, "a size like 65536 or \"1GiB\"", parse)
    }

    /// Writes a size in the largest exact binary unit.
    pub fn serialize<S: Serializer>(v: &usize, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_size(*v as u64))
    }
}

/// The window list: `["1d", "7d", "30d"]`, each label kept as written.
pub mod windows {
    use super::{Deserialize, Deserializer, Serializer, Window, de, millis, parse_duration};

    /// Reads the windows; an empty list or a width listed twice is refused.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Window>, D::Error> {
        let texts = Vec::<String>::deserialize(d)?;
        if texts.is_empty() {
            return Err(de::Error::custom("must list at least one window"));
        }
        let mut out: Vec<Window> = Vec::with_capacity(texts.len());
        for s in &texts {
            let w = Window::new(
                s.trim(),
                millis(parse_duration(s).map_err(de::Error::custom)?),
            );
            if out.iter().any(|o| o.width == w.width || o.label == w.label) {
                return Err(de::Error::custom(format!("{s:?} is listed twice")));
            }
            out.push(w);
        }
        Ok(out)
    }

    /// Writes the labels.
    pub fn serialize<S: Serializer>(v: &[Window], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|w| w.label.as_str()))
    }
}

/// The HTTP listen address.
pub mod listen {
    use std::net::SocketAddr;

    use super::{Deserializer, Serializer, text_or_integer};

    fn parse(v: &str) -> Result<SocketAddr, String> {
        v.trim()
            .parse()
            .map_err(|_| format!("{v:?} is not an address like 0.0.0.0:9464"))
    }

    /// Reads an address.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SocketAddr, D::Error> {
        text_or_integer(d, "an address like 0.0.0.0:9464", parse)
    }

    /// Writes an address.
    pub fn serialize<S: Serializer>(v: &SocketAddr, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }
}

/// A regular expression that must match a whole name: compiled at load
/// as `^(?:…)$`, written back as given.
pub mod regex {
    use super::{Deserialize, Deserializer, Serializer, de};

    /// Compiles `text` anchored at both ends.
    pub fn compile(text: &str) -> Result<::regex::Regex, String> {
        ::regex::Regex::new(&format!("^(?:{text})$"))
            .map_err(|e| format!("{text:?} is not a regular expression: {e}"))
    }

    /// The text as written, without the anchors [`compile`] adds.
    pub fn text(r: &::regex::Regex) -> &str {
        let s = r.as_str();
        s.strip_prefix("^(?:")
            .and_then(|s| s.strip_suffix(")$"))
            .unwrap_or(s)
    }

    /// Reads and compiles one.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<::regex::Regex, D::Error> {
        let s = String::deserialize(d)?;
        compile(&s).map_err(de::Error::custom)
    }

    /// Writes it as given.
    pub fn serialize<S: Serializer>(v: &::regex::Regex, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(text(v))
    }
}

/// An optional whole-name regular expression: empty text is none.
pub mod opt_regex {
    use super::{Deserialize, Deserializer, Serializer, de, regex};

    /// Reads one; `""` is `None`.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<::regex::Regex>, D::Error> {
        let s = String::deserialize(d)?;
        if s.trim().is_empty() {
            return Ok(None);
        }
        regex::compile(&s).map(Some).map_err(de::Error::custom)
    }

    /// Writes it as given, `""` for none.
    #[allow(clippy::ref_option, reason = "serde's `with` passes `&Option<T>`")]
    pub fn serialize<S: Serializer>(v: &Option<::regex::Regex>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v.as_ref().map_or("", regex::text))
    }
}

/// One of a fixed set of words, read as a string so the error lists them.
fn one_of<'de, D: Deserializer<'de>, T: Copy>(
    d: D,
    choices: &[(&'static str, T)],
) -> Result<T, D::Error> {
    let s = String::deserialize(d)?;
    choices
        .iter()
        .find(|(name, _)| *name == s)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let names: Vec<String> = choices.iter().map(|(n, _)| format!("{n:?}")).collect();
            de::Error::custom(format!("{s:?} is not one of {}", names.join(", ")))
        })
}

/// `dora.failed_deploys`: `"ignore"` or `"change_failure"`.
pub mod failed_deploys {
    use super::{Deserializer, one_of};
    use crate::domain::dora::FailedDeploys;

    /// Reads the policy.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<FailedDeploys, D::Error> {
        one_of(
            d,
            &[
                (FailedDeploys::Ignore.as_str(), FailedDeploys::Ignore),
                (
                    FailedDeploys::ChangeFailure.as_str(),
                    FailedDeploys::ChangeFailure,
                ),
            ],
        )
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log pipelines.
    Json,
}

impl LogFormat {
    /// The config value.
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}

impl<'de> Deserialize<'de> for LogFormat {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        one_of(d, &[("text", LogFormat::Text), ("json", LogFormat::Json)])
    }
}

/// A tracing filter directive (`log.level`), checked at load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct LogLevel(String);

impl LogLevel {
    /// The directive as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for LogLevel {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        tracing_subscriber::EnvFilter::builder()
            .parse(&s)
            .map_err(|e| {
                de::Error::custom(format!(
                    "{s:?} is not a tracing filter like \"info\" or \"info,librdkafka=warn\" ({e})"
                ))
            })?;
        Ok(LogLevel(s))
    }
}

/// `adoption.bucket`, a key that no longer exists: setting it is an error
/// that says why and what to do. Held as `Option<RetiredBucket>`, always
/// `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetiredBucket;

/// Why `adoption.bucket` is refused.
pub const BUCKET_RETIRED: &str = "retired: windows are answered at their own edges (users to the second, events to the minute); remove the key";

impl<'de> Deserialize<'de> for RetiredBucket {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        de::IgnoredAny::deserialize(d)?;
        Err(de::Error::custom(BUCKET_RETIRED))
    }
}

#[cfg(test)]
mod tests;
