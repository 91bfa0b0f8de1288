//! Configuration: typed, layered and validated before anything starts.
//!
//! Layers, later wins: the embedded `config/default.toml` → the optional file
//! given with `--config` → environment variables `VALUEPULSE__SECTION__KEY`.
//! Unknown keys are errors, and every error names the key it is about.
//!
//! [`Config::load`] is the one load step of every command (`run`,
//! `check-config`, `emit`, `demo`): durations, sizes, addresses and enums are
//! parsed into typed fields as the layers are deserialized ([`values`]), the
//! rules types cannot say are checked ([`Config::validate`]), and the
//! librdkafka properties are tried on librdkafka itself ([`secrets`]). Later
//! code never meets a string it must re-parse.
//!
//! Adding a key: a field with a doc comment in its section struct (a typed
//! one: `Duration` with `#[serde(with = "values::duration")]`, a byte size as
//! `usize` with `#[serde(with = "values::size")]`, an enum deriving
//! `Deserialize`), the key with its default and a comment in
//! `config/default.toml`, a row in the README's configuration table, and a
//! rule in [`Config::validate`] only if the type alone does not say it all.

pub mod bridge;
pub mod pulse_delivery;
pub mod secrets;
pub mod value_stream;
pub mod values;
pub mod web;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::domain::Stream;
use crate::domain::adoption::AdoptionSettings;
use crate::domain::dora::{DoraSettings, FailedDeploys};
use crate::domain::flow::FlowSettings;
use crate::domain::satisfaction::SatisfactionSettings;
use crate::domain::time::{TimePolicy, Window, Windows};
pub use secrets::KafkaProperties;
pub use value_stream::{FlowConfig, FlowStates, SatisfactionConfig, TiersConfig};
use values::millis;
pub use values::{LogFormat, LogLevel, RetiredBucket};

/// The embedded defaults: every key, with a comment.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

/// librdkafka properties valuepulse sets itself and refuses in
/// `kafka.properties`.
pub const MANAGED_PROPERTIES: [&str; 9] = [
    "bootstrap.servers",
    "client.id",
    "group.id",
    "group.instance.id",
    "auto.offset.reset",
    "enable.auto.commit",
    "enable.auto.offset.store",
    "enable.partition.eof",
    "statistics.interval.ms",
];

/// A configuration error, naming the key it is about. Its text never holds
/// the value of a librdkafka property.
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

/// The whole configuration, typed.
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
    /// Work items: which tracker states are active, waiting and done.
    pub flow: FlowConfig,
    /// Customer satisfaction.
    pub satisfaction: SatisfactionConfig,
    /// The DORA tier bands in force.
    pub tiers: TiersConfig,
    /// Consumer loop tuning.
    pub ingest: IngestConfig,
    /// The report computed off the ingest path, read by scrapes.
    pub report: ReportConfig,
    /// Admin HTTP server.
    pub http: HttpConfig,
    /// Logging.
    pub log: LogConfig,
    /// The Weekly Value Pulse (`/pulse`).
    pub pulse: PulseConfig,
    /// The webhook bridge (`valuepulse bridge`).
    pub bridge: bridge::BridgeConfig,
}

/// `[pulse]`: the Weekly Value Pulse.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PulseConfig {
    /// Most facts per section of a pulse (the rest are counted in the
    /// section's `more`), 1 to [`MAX_PULSE_ITEMS`].
    pub max_items: usize,
    /// A Prometheus that scrapes the daemon (its HTTP API's base URL);
    /// last week's distinct users come from its history (`offset 7d`).
    /// Empty: none, and the pulse says those figures have no comparison.
    /// Shown redacted, as a webhook URL is (it may carry credentials).
    #[serde(default)]
    pub prometheus_url: pulse_delivery::WebhookUrl,
    /// `[pulse.delivery]`: where `valuepulse pulse send` posts it.
    pub delivery: pulse_delivery::DeliveryConfig,
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
    /// Static group membership: this replica's stable name in the group
    /// (`group.instance.id`), empty for none. A restarted member with the
    /// same name takes its partitions back at once instead of waiting for
    /// the group to notice it left.
    #[serde(default)]
    pub group_instance_id: String,
    /// On shutdown (SIGTERM), leave the consumer group before closing, so
    /// the group hands this replica's usage partitions to the others at
    /// once. Matters for a static member (`group_instance_id`): librdkafka
    /// closes one without a leave (KIP-345 expects it back under the same
    /// name), so a replica that never comes back (a Deployment's rollout
    /// names pods anew) holds its partitions, unread, until its session
    /// times out. A crash still leaves nothing, so a restart under the
    /// same name takes its partitions back at once.
    pub leave_group_on_shutdown: bool,
    /// Timeout of one metadata / offsets request.
    #[serde(with = "values::duration")]
    pub request_timeout: Duration,
    /// Pass-through librdkafka properties (TLS, SASL, tuning); values are
    /// never printed unless known to be harmless ([`secrets`]).
    #[serde(default)]
    pub properties: KafkaProperties,
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
    /// Work-item transitions (native v1 or CDEvents tickets), keyed by item
    /// id; read like deploys. Optional: a replica is ready without it.
    pub work_items: String,
    /// CSAT / NPS responses, keyed by service or feature; read like
    /// deploys. Optional: a replica is ready without it.
    pub satisfaction: String,
    /// Pushed commits (native v1 change events), keyed by repository,
    /// written by the bridge from push webhooks.
    pub changes: String,
    /// The Weekly Value Pulse's delivery record (compacted; key
    /// `<team>/<week>/<destination>`), written by `valuepulse pulse send`
    /// after each post a destination accepted.
    pub pulse_deliveries: String,
}

impl TopicsConfig {
    /// The topic of `stream`.
    pub fn of(&self, stream: Stream) -> &str {
        match stream {
            Stream::Deploys => &self.deploys,
            Stream::Incidents => &self.incidents,
            Stream::FeatureUsage => &self.feature_usage,
            Stream::WorkItems => &self.work_items,
            Stream::Satisfaction => &self.satisfaction,
            Stream::Changes => &self.changes,
        }
    }

    /// Every topic, indexed by [`Stream::index`].
    pub fn all(&self) -> [String; Stream::ALL.len()] {
        Stream::ALL.map(|s| self.of(s).to_owned())
    }
}

/// `[windows]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WindowsConfig {
    /// Window widths, e.g. `["1d", "7d", "30d"]`: distinct, at least one.
    #[serde(with = "values::windows")]
    pub sizes: Vec<Window>,
    /// History kept beyond the longest window.
    #[serde(with = "values::duration")]
    pub grace: Duration,
    /// Tolerated producer clock skew.
    #[serde(with = "values::duration")]
    pub max_clock_skew: Duration,
}

/// `[dora]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DoraConfig {
    /// Environments that count.
    pub environments: Vec<String>,
    /// Whether a `failed` deploy is a change failure (`ignore` |
    /// `change_failure`); never a deployment.
    #[serde(deserialize_with = "values::failed_deploys::deserialize")]
    pub failed_deploys: FailedDeploys,
}

/// `[attribution]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AttributionConfig {
    /// Loose mode links an incident to the latest deploy of its service and
    /// environment finished at most this long before it opened.
    #[serde(with = "values::duration")]
    pub window: Duration,
}

/// `[adoption]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AdoptionConfig {
    /// Distinct users since shipping for a shipped feature to count as used.
    pub min_users: u64,
    /// Retired (usage windows are exact): present only to refuse it with a
    /// message that says so.
    #[serde(default, skip_serializing)]
    pub bucket: Option<RetiredBucket>,
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
    /// Largest accepted record, in bytes (`65536`, `"64KiB"`).
    #[serde(with = "values::size")]
    pub max_event_bytes: usize,
    /// Memory budget of the in-memory state, in bytes (`"1GiB"`).
    #[serde(with = "values::size")]
    pub max_state_bytes: usize,
}

/// `[ingest]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IngestConfig {
    /// Records folded per state lock; also the most feature-usage records
    /// read from librdkafka in one call.
    pub batch_size: usize,
    /// Threads that decode and fold feature usage, each taking whole
    /// partitions.
    pub fold_workers: usize,
    /// Shutdown deadline for closing consumers.
    #[serde(with = "values::duration")]
    pub close_timeout: Duration,
}

/// `[report]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReportConfig {
    /// How often the report that scrapes read is recomputed.
    #[serde(with = "values::duration")]
    pub interval: Duration,
}

/// `[http]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Listen address.
    #[serde(with = "values::listen")]
    pub listen: SocketAddr,
    /// TLS and basic auth: a web-config file in the Prometheus
    /// exporter-toolkit format, read and checked at load ([`web`]). Empty:
    /// plain HTTP, no auth.
    #[serde(default, with = "web")]
    pub web_config: web::WebConfig,
}

/// Highest `pulse.max_items`: a pulse is read by people.
pub const MAX_PULSE_ITEMS: usize = 50;

/// Most fold workers `ingest.fold_workers` may ask for (one per partition
/// is the most that can be busy).
pub const MAX_FOLD_WORKERS: usize = 64;

/// `[log]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: LogFormat,
    /// tracing filter directive.
    pub level: LogLevel,
}

impl Config {
    /// Loads defaults, then `file` if given, then the environment; parses,
    /// validates and checks the librdkafka properties.
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
                .with_list_parse_key("flow.states.active")
                .with_list_parse_key("flow.states.waiting")
                .with_list_parse_key("flow.states.done")
                .with_list_parse_key("tiers.custom.deployment_frequency")
                .with_list_parse_key("tiers.custom.lead_time")
                .with_list_parse_key("tiers.custom.change_failure_rate")
                .with_list_parse_key("tiers.custom.time_to_restore")
                .with_list_parse_key("bridge.github.secrets")
                .with_list_parse_key("bridge.gitlab.secrets")
                .with_list_parse_key("bridge.pagerduty.secrets")
                .with_list_parse_key("bridge.argocd.secrets")
                .with_list_parse_key("bridge.flux.secrets")
                .with_list_parse_key("bridge.jira.secrets")
                .with_list_parse_key("bridge.linear.secrets")
                .with_list_parse_key("bridge.events.secrets")
                .try_parsing(true)
                .source(Some(vars)),
        );
        let raw = b.build().map_err(from_config_error)?;
        let mut cfg: Config = raw.try_deserialize().map_err(from_config_error)?;
        cfg.validate()?;
        cfg.bridge.load_secrets_and_check()?;
        cfg.pulse.delivery.load_urls_and_check()?;
        secrets::check_librdkafka(
            &cfg.kafka.properties,
            &cfg.kafka.brokers,
            &cfg.kafka.group_id,
        )
        .map_err(|(key, message)| ConfigError::new(key, message))?;
        Ok(cfg)
    }

    /// Checks the rules the types alone do not say.
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
        let topics = [
            ("topics.deploys", &self.topics.deploys),
            ("topics.incidents", &self.topics.incidents),
            ("topics.feature_usage", &self.topics.feature_usage),
            ("topics.work_items", &self.topics.work_items),
            ("topics.satisfaction", &self.topics.satisfaction),
            ("topics.changes", &self.topics.changes),
            ("topics.pulse_deliveries", &self.topics.pulse_deliveries),
        ];
        for (i, (key, topic)) in topics.iter().enumerate() {
            if topic.trim().is_empty() {
                return Err(ConfigError::new(*key, "must not be empty"));
            }
            // The topic decides which events a record must hold.
            if let Some((earlier, _)) = topics[..i].iter().find(|(_, t)| t == topic) {
                return Err(ConfigError::new(
                    *key,
                    format!("must differ from {earlier}"),
                ));
            }
        }
        if self.dora.environments.is_empty()
            || self.dora.environments.iter().any(|e| e.trim().is_empty())
        {
            return Err(ConfigError::new(
                "dora.environments",
                "must list at least one non-empty environment",
            ));
        }
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
            ("ingest.batch_size", self.ingest.batch_size),
        ] {
            if v == 0 {
                return Err(ConfigError::new(key, "must be greater than zero"));
            }
        }
        if !(1..=MAX_FOLD_WORKERS).contains(&self.ingest.fold_workers) {
            return Err(ConfigError::new(
                "ingest.fold_workers",
                format!("must be between 1 and {MAX_FOLD_WORKERS}"),
            ));
        }
        if !(1..=MAX_PULSE_ITEMS).contains(&self.pulse.max_items) {
            return Err(ConfigError::new(
                "pulse.max_items",
                format!("must be between 1 and {MAX_PULSE_ITEMS}"),
            ));
        }
        if !self.pulse.prometheus_url.is_empty()
            && let Some(p) = self.pulse.prometheus_url.problem()
        {
            return Err(ConfigError::new("pulse.prometheus_url", p));
        }
        if self.adoption.bucket.is_some() {
            return Err(ConfigError::new("adoption.bucket", values::BUCKET_RETIRED));
        }
        Ok(())
    }

    /// The configured windows.
    pub fn windows(&self) -> &[Window] {
        &self.windows.sizes
    }

    /// Timeout of one Kafka request.
    pub fn request_timeout(&self) -> Duration {
        self.kafka.request_timeout
    }

    /// The state budget, `limits.max_state_bytes`.
    pub fn max_state_bytes(&self) -> usize {
        self.limits.max_state_bytes
    }

    /// How often the report snapshot is refreshed while scraped,
    /// `report.interval`.
    pub fn report_interval(&self) -> Duration {
        self.report.interval
    }

    /// Shutdown deadline for the consumers.
    pub fn close_timeout(&self) -> Duration {
        self.ingest.close_timeout
    }

    /// Late/future limits and the retained horizon.
    pub fn time_policy(&self) -> TimePolicy {
        TimePolicy {
            // The window list is never empty (checked at load); 0 would only
            // make every event late, never a panic.
            longest: self
                .windows
                .sizes
                .iter()
                .map(|w| w.width)
                .max()
                .unwrap_or(0),
            grace: millis(self.windows.grace),
            max_clock_skew: millis(self.windows.max_clock_skew),
        }
    }

    /// Settings of the DORA state.
    pub fn dora_settings(&self) -> DoraSettings {
        DoraSettings {
            windows: Windows::new(self.windows.sizes.clone()),
            time: self.time_policy(),
            environments: self.dora.environments.clone(),
            max_services: self.limits.max_services,
            max_teams: self.limits.max_teams,
            attribution_window: millis(self.attribution.window),
            failed_deploys: self.dora.failed_deploys,
            bands: self.tiers.bands(),
        }
    }

    /// Settings of the flow (work-item) state: the DORA windows, horizon
    /// and caps, and the state mapping.
    pub fn flow_settings(&self) -> FlowSettings {
        FlowSettings {
            windows: Windows::new(self.windows.sizes.clone()),
            time: self.time_policy(),
            max_services: self.limits.max_services,
            max_teams: self.limits.max_teams,
            states: self.flow.states.map().clone(),
        }
    }

    /// Settings of the satisfaction state.
    pub fn satisfaction_settings(&self) -> SatisfactionSettings {
        SatisfactionSettings {
            windows: Windows::new(self.windows.sizes.clone()),
            time: self.time_policy(),
            max_services: self.limits.max_services,
            max_teams: self.limits.max_teams,
            max_features: self.limits.max_features,
            default_score: self.satisfaction.default_score,
        }
    }

    /// Settings of the feature-adoption state.
    pub fn adoption_settings(&self) -> AdoptionSettings {
        AdoptionSettings {
            windows: Windows::new(self.windows.sizes.clone()),
            time: self.time_policy(),
            max_features: self.limits.max_features,
            min_users: self.adoption.min_users,
        }
    }

    /// The effective configuration as TOML, with secrets redacted (see
    /// [`secrets`]): what `check-config` prints.
    pub fn to_redacted_toml(&self) -> String {
        toml::to_string_pretty(self)
            .unwrap_or_else(|e| format!("# cannot print the configuration: {e}\n"))
    }
}

/// Turns a `config` crate error into one naming its key. The text of an
/// error under `kafka.properties` is not kept: it could quote a value.
fn from_config_error(e: config::ConfigError) -> ConfigError {
    use config::ConfigError as E;
    let (key, message) = match &e {
        E::At {
            error,
            key: Some(k),
            ..
        } => (k.clone(), error.to_string()),
        E::Type {
            key: Some(k),
            unexpected,
            expected,
            ..
        } => (
            k.clone(),
            format!("invalid type: {unexpected}, expected {expected}"),
        ),
        E::NotFound(k) => (k.clone(), "missing".to_owned()),
        _ => ("config".to_owned(), e.to_string()),
    };
    // A deserializer may name a key below the one it reads.
    let (key, message) = match values::split_subkey(&message) {
        Some((sub, rest)) => (format!("{key}.{sub}"), rest.to_owned()),
        None => (key, message),
    };
    // serde names an unknown field inside the section the key points at.
    let (key, message) = match message
        .split("unknown field `")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
    {
        Some(u) if key == "config" => (u.to_owned(), message),
        Some(u) => (format!("{key}.{u}"), message),
        None => (key, message),
    };
    if key.starts_with("kafka.properties") {
        return ConfigError::new(
            key,
            "every librdkafka property value must be a string (value not shown)",
        );
    }
    ConfigError::new(key, message)
}

#[cfg(test)]
mod tests;
