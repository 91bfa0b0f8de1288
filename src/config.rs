//! Configuration: typed, layered and validated before anything starts.
//!
//! Layers, later wins: the embedded `config/default.toml` → the optional file
//! given with `--config` → environment variables `VALUEPULSE__SECTION__KEY`.
//! Unknown keys are errors, and every error names the key it is about.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::domain::adoption::AdoptionSettings;
use crate::domain::dora::{DoraSettings, FailedDeploys};
use crate::domain::time::{TimePolicy, Window};

/// The embedded defaults: every key, with a comment.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

/// librdkafka properties valuepulse sets itself and refuses in
/// `kafka.properties`.
pub const MANAGED_PROPERTIES: [&str; 7] = [
    "bootstrap.servers",
    "client.id",
    "group.id",
    "enable.auto.commit",
    "enable.auto.offset.store",
    "enable.partition.eof",
    "statistics.interval.ms",
];

/// A configuration error, naming the key it is about.
#[derive(Debug, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ConfigError {
    /// Dotted key, e.g. `windows.sizes`.
    pub key: String,
    /// What is wrong with it.
    pub message: String,
}

impl ConfigError {
    fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Kafka connection.
    pub kafka: KafkaConfig,
    /// Topic names.
    pub topics: TopicsConfig,
    /// Windows and event-time limits.
    pub windows: WindowsConfig,
    /// DORA scope.
    pub dora: DoraConfig,
    /// Incident-to-deploy attribution.
    pub attribution: AttributionConfig,
    /// Caps that bound memory and label cardinality.
    pub limits: LimitsConfig,
    /// Feature adoption.
    pub adoption: AdoptionConfig,
    /// Consumer loop tuning.
    pub ingest: IngestConfig,
    /// Admin HTTP server.
    pub http: HttpConfig,
    /// Logging.
    pub log: LogConfig,
}

/// `[kafka]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    /// Bootstrap brokers.
    pub brokers: String,
    /// `client.id`.
    pub client_id: String,
    /// Group of the feature-usage consumers.
    pub group_id: String,
    /// Timeout of one metadata / offsets request.
    pub request_timeout: String,
    /// Pass-through librdkafka properties (TLS, SASL, tuning).
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

/// `[topics]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TopicsConfig {
    /// Deploy events.
    pub deploys: String,
    /// Incident events.
    pub incidents: String,
    /// Feature-usage events (consumer group, keyed by user).
    pub feature_usage: String,
}

/// `[windows]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WindowsConfig {
    /// Window widths, e.g. `["1d", "7d", "30d"]`.
    pub sizes: Vec<String>,
    /// History kept beyond the longest window.
    pub grace: String,
    /// Tolerated producer clock skew.
    pub max_clock_skew: String,
}

/// `[dora]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DoraConfig {
    /// Environments that count.
    pub environments: Vec<String>,
    /// Whether a `failed` deploy is a change failure (`ignore` |
    /// `change_failure`); never a deployment.
    pub failed_deploys: FailedDeploys,
}

/// `[attribution]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AttributionConfig {
    /// Loose mode links an incident to the latest deploy of its service and
    /// environment finished at most this long before it opened.
    pub window: String,
}

/// `[adoption]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AdoptionConfig {
    /// Distinct users since shipping for a shipped feature to count as used.
    pub min_users: u64,
    /// Width of the time buckets of usage aggregates (bounds window-edge error).
    pub bucket: String,
}

/// `[limits]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Cap of distinct services.
    pub max_services: usize,
    /// Cap of distinct teams.
    pub max_teams: usize,
    /// Cap of distinct features.
    pub max_features: usize,
    /// Largest accepted record.
    pub max_event_bytes: usize,
}

/// `[ingest]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IngestConfig {
    /// Records folded per state lock.
    pub batch_size: usize,
    /// Shutdown deadline for closing consumers.
    pub close_timeout: String,
}

/// `[http]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Listen address.
    pub listen: String,
}

/// `[log]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: String,
    /// tracing filter directive.
    pub level: String,
}

/// Parses a duration such as `30d`, `1h` or `90s`, naming `key` on error.
pub fn parse_duration(key: &str, value: &str) -> Result<Duration, ConfigError> {
    let d = humantime::parse_duration(value.trim()).map_err(|e| {
        ConfigError::new(
            key,
            format!("{value:?} is not a duration like \"30s\", \"1h\" or \"7d\" ({e})"),
        )
    })?;
    if d.is_zero() {
        return Err(ConfigError::new(key, "must be greater than zero"));
    }
    Ok(d)
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Config {
    /// Loads defaults, then `file` if given, then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_with_env(file, std::env::vars())
    }

    /// As [`Config::load`], with the environment passed in (for tests).
    pub fn load_with_env(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        use config::{Environment, File, FileFormat};
        let mut b =
            config::Config::builder().add_source(File::from_str(DEFAULT_TOML, FileFormat::Toml));
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError::new(
                    "--config",
                    format!("{} does not exist", path.display()),
                ));
            }
            b = b.add_source(File::from(path).format(FileFormat::Toml));
        }
        let vars: config::Map<String, String> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with("VALUEPULSE__"))
            .collect();
        b = b.add_source(
            Environment::with_prefix("VALUEPULSE")
                .prefix_separator("__")
                .separator("__")
                .list_separator(",")
                .with_list_parse_key("windows.sizes")
                .with_list_parse_key("dora.environments")
                .try_parsing(true)
                .source(Some(vars)),
        );
        let raw = b.build().map_err(from_config_error)?;
        let cfg: Config = raw.try_deserialize().map_err(from_config_error)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks every value that the types alone do not.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.kafka.brokers.trim().is_empty() {
            return Err(ConfigError::new(
                "kafka.brokers",
                "must name at least one broker",
            ));
        }
        for key in self.kafka.properties.keys() {
            if MANAGED_PROPERTIES.contains(&key.as_str()) {
                return Err(ConfigError::new(
                    format!("kafka.properties.{key}"),
                    "is set by valuepulse itself; use the dedicated key (kafka.brokers, kafka.client_id, kafka.group_id) or remove it",
                ));
            }
        }
        parse_duration("kafka.request_timeout", &self.kafka.request_timeout)?;
        for (key, topic) in [
            ("topics.deploys", &self.topics.deploys),
            ("topics.incidents", &self.topics.incidents),
        ] {
            if topic.trim().is_empty() {
                return Err(ConfigError::new(key, "must not be empty"));
            }
        }
        if self.topics.deploys == self.topics.incidents {
            return Err(ConfigError::new(
                "topics.incidents",
                "must differ from topics.deploys",
            ));
        }
        self.windows()?;
        parse_duration("windows.grace", &self.windows.grace)?;
        parse_duration("windows.max_clock_skew", &self.windows.max_clock_skew)?;
        if self.dora.environments.is_empty()
            || self.dora.environments.iter().any(|e| e.trim().is_empty())
        {
            return Err(ConfigError::new(
                "dora.environments",
                "must list at least one non-empty environment",
            ));
        }
        parse_duration("attribution.window", &self.attribution.window)?;
        if self.dora.environments.len() > 255 {
            return Err(ConfigError::new(
                "dora.environments",
                "at most 255 environments",
            ));
        }
        for (key, v) in [
            ("limits.max_services", self.limits.max_services),
            ("limits.max_teams", self.limits.max_teams),
            ("limits.max_features", self.limits.max_features),
            ("limits.max_event_bytes", self.limits.max_event_bytes),
            ("ingest.batch_size", self.ingest.batch_size),
        ] {
            if v == 0 {
                return Err(ConfigError::new(key, "must be greater than zero"));
            }
        }
        parse_duration("ingest.close_timeout", &self.ingest.close_timeout)?;
        self.listen()?;
        if !matches!(self.log.format.as_str(), "text" | "json") {
            return Err(ConfigError::new(
                "log.format",
                format!("{:?} is not \"text\" or \"json\"", self.log.format),
            ));
        }
        Ok(())
    }

    /// The configured windows, parsed.
    pub fn windows(&self) -> Result<Vec<Window>, ConfigError> {
        let key = "windows.sizes";
        if self.windows.sizes.is_empty() {
            return Err(ConfigError::new(key, "must list at least one window"));
        }
        let mut out: Vec<Window> = Vec::new();
        for s in &self.windows.sizes {
            let w = Window::new(s.trim(), millis(parse_duration(key, s)?));
            if out.iter().any(|o| o.width == w.width || o.label == w.label) {
                return Err(ConfigError::new(key, format!("{s:?} is listed twice")));
            }
            out.push(w);
        }
        Ok(out)
    }

    /// The HTTP listen address.
    pub fn listen(&self) -> Result<SocketAddr, ConfigError> {
        self.http.listen.parse().map_err(|_| {
            ConfigError::new(
                "http.listen",
                format!("{:?} is not an address like 0.0.0.0:9464", self.http.listen),
            )
        })
    }

    /// Timeout of one Kafka request.
    pub fn request_timeout(&self) -> Duration {
        parse_duration("kafka.request_timeout", &self.kafka.request_timeout).expect("validated")
    }

    /// The state budget, `limits.max_state_bytes`. (Until the config key
    /// lands: 1 GiB.)
    pub fn max_state_bytes(&self) -> usize {
        1 << 30
    }

    /// How often the report snapshot is refreshed while scraped,
    /// `report.interval`. (Until the config key lands: 1 s.)
    pub fn report_interval(&self) -> Duration {
        Duration::from_secs(1)
    }

    /// Shutdown deadline for the consumers.
    pub fn close_timeout(&self) -> Duration {
        parse_duration("ingest.close_timeout", &self.ingest.close_timeout).expect("validated")
    }

    /// Settings of the DORA state.
    pub fn dora_settings(&self) -> DoraSettings {
        let windows = self.windows().expect("validated");
        let longest = windows.iter().map(|w| w.width).max().expect("validated");
        DoraSettings {
            windows,
            time: TimePolicy {
                longest,
                grace: millis(
                    parse_duration("windows.grace", &self.windows.grace).expect("validated"),
                ),
                max_clock_skew: millis(
                    parse_duration("windows.max_clock_skew", &self.windows.max_clock_skew)
                        .expect("validated"),
                ),
            },
            environments: self.dora.environments.clone(),
            max_services: self.limits.max_services,
            max_teams: self.limits.max_teams,
            attribution_window: millis(
                parse_duration("attribution.window", &self.attribution.window).expect("validated"),
            ),
            failed_deploys: self.dora.failed_deploys,
        }
    }

    /// Settings of the feature-adoption state.
    pub fn adoption_settings(&self) -> AdoptionSettings {
        let dora = self.dora_settings();
        AdoptionSettings {
            windows: dora.windows,
            time: dora.time,
            max_features: self.limits.max_features,
            min_users: self.adoption.min_users,
        }
    }

    /// The effective configuration as TOML, with secrets redacted.
    pub fn to_redacted_toml(&self) -> String {
        let mut shown = self.clone();
        for (k, v) in shown.kafka.properties.iter_mut() {
            if is_secret(k) {
                *v = "<redacted>".into();
            }
        }
        toml::to_string_pretty(&shown).expect("config serializes")
    }
}

/// Whether a librdkafka property holds a secret.
pub fn is_secret(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["password", "secret", "key", "token", "jaas"]
        .iter()
        .any(|s| k.contains(s))
}

/// Turns a `config` crate error into one naming its key.
fn from_config_error(e: config::ConfigError) -> ConfigError {
    let text = e.to_string();
    // The crate says "… for key `a.b`" or "… in <file>"; keep its words, pull the key out.
    let key = text
        .split("for key `")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .map(str::to_owned);
    let unknown = text
        .split("unknown field `")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .map(str::to_owned);
    let key = match (key, unknown) {
        (Some(k), Some(u)) if !k.is_empty() => format!("{k}.{u}"),
        (None, Some(u)) | (Some(_), Some(u)) => u,
        (Some(k), None) => k,
        (None, None) => "config".to_owned(),
    };
    ConfigError::new(key, text)
}

#[cfg(test)]
mod tests;
