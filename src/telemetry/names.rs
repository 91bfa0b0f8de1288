//! Every exported metric: name, type, labels and help text, in one place.
//! The README's metrics table mirrors this file.

/// How a metric is exposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A value that goes up and down.
    Gauge,
    /// A monotonically increasing count (`_total`).
    Counter,
    /// Quantiles with `_sum` and `_count`.
    Summary,
}

/// One metric's definition.
#[derive(Debug, Clone, Copy)]
pub struct MetricDef {
    /// Full metric name.
    pub name: &'static str,
    /// Exposition type.
    pub kind: Kind,
    /// Label names, in export order (`quantile` excluded).
    pub labels: &'static [&'static str],
    /// HELP text.
    pub help: &'static str,
}

const SERIES: &[&str] = &["service", "team", "environment", "window"];

/// Deploys finished in the window.
pub const DEPLOYMENTS: MetricDef = MetricDef {
    name: "valuepulse_deployments",
    kind: Kind::Gauge,
    labels: SERIES,
    help: "Deploys whose finished_at is in the window (any status).",
};
/// Change failures among them.
pub const DEPLOYMENTS_FAILED: MetricDef = MetricDef {
    name: "valuepulse_deployments_failed",
    kind: Kind::Gauge,
    labels: SERIES,
    help: "Deploys in the window that are change failures: status failed or rolled_back, named by a later rollback_of, or by an incident's caused_by_deploy.",
};
/// failed / deployments.
pub const CHANGE_FAILURE_RATIO: MetricDef = MetricDef {
    name: "valuepulse_change_failure_ratio",
    kind: Kind::Gauge,
    labels: SERIES,
    help: "Change failure rate: valuepulse_deployments_failed / valuepulse_deployments (0-1); absent without deploys.",
};
/// Lead time for changes.
pub const LEAD_TIME: MetricDef = MetricDef {
    name: "valuepulse_lead_time_seconds",
    kind: Kind::Summary,
    labels: SERIES,
    help: "Lead time for changes: finished_at - committed_at over the changes of succeeded deploys in the window (nearest-rank quantiles, 3 significant digits).",
};
/// Time to restore.
pub const TIME_TO_RESTORE: MetricDef = MetricDef {
    name: "valuepulse_time_to_restore_seconds",
    kind: Kind::Summary,
    labels: SERIES,
    help: "Time to restore: resolved_at - opened_at over incidents resolved in the window (nearest-rank quantiles, 3 significant digits).",
};
/// Open incidents.
pub const INCIDENTS_OPEN: MetricDef = MetricDef {
    name: "valuepulse_incidents_open",
    kind: Kind::Gauge,
    labels: &["service", "team", "environment"],
    help: "Incidents opened and not yet resolved (within the retained history).",
};
/// Tier per key.
pub const DORA_TIER: MetricDef = MetricDef {
    name: "valuepulse_dora_tier",
    kind: Kind::Gauge,
    labels: &["service", "team", "environment", "window", "metric"],
    help: "DORA performance tier on the longest window: 4 elite, 3 high, 2 medium, 1 low.",
};
/// Records by outcome.
pub const EVENTS: MetricDef = MetricDef {
    name: "valuepulse_events_total",
    kind: Kind::Counter,
    labels: &["topic", "outcome"],
    help: "Kafka records processed, by topic and outcome (accepted, updated, duplicate, invalid, late, future, oversized, ignored).",
};
/// Invalid records by reason.
pub const EVENTS_INVALID: MetricDef = MetricDef {
    name: "valuepulse_events_invalid_total",
    kind: Kind::Counter,
    labels: &["topic", "reason"],
    help: "Invalid Kafka records, by topic and reason.",
};
/// Label values folded into __other__.
pub const LABEL_OVERFLOW: MetricDef = MetricDef {
    name: "valuepulse_label_overflow_total",
    kind: Kind::Counter,
    labels: &["label"],
    help: "Events whose label value was replaced by __other__ because the label's cap was reached.",
};
/// Readiness.
pub const READY: MetricDef = MetricDef {
    name: "valuepulse_ready",
    kind: Kind::Gauge,
    labels: &[],
    help: "1 when replay has reached the high watermarks captured at assignment (as /readyz), else 0.",
};
/// Replay progress.
pub const REPLAY_REMAINING: MetricDef = MetricDef {
    name: "valuepulse_replay_remaining_messages",
    kind: Kind::Gauge,
    labels: &["topic"],
    help: "Messages left to read before replay reaches the high watermarks captured at assignment.",
};
/// Consumer lag.
pub const CONSUMER_LAG: MetricDef = MetricDef {
    name: "valuepulse_consumer_lag_messages",
    kind: Kind::Gauge,
    labels: &["topic", "partition"],
    help: "Messages between this process's position and the partition's latest known high watermark.",
};
/// Build info.
pub const BUILD_INFO: MetricDef = MetricDef {
    name: "valuepulse_build_info",
    kind: Kind::Gauge,
    labels: &["version"],
    help: "Always 1; the version label says which build is running.",
};

/// Every metric, for descriptors and documentation checks.
pub const ALL: &[MetricDef] = &[
    DEPLOYMENTS,
    DEPLOYMENTS_FAILED,
    CHANGE_FAILURE_RATIO,
    LEAD_TIME,
    TIME_TO_RESTORE,
    INCIDENTS_OPEN,
    DORA_TIER,
    EVENTS,
    EVENTS_INVALID,
    LABEL_OVERFLOW,
    READY,
    REPLAY_REMAINING,
    CONSUMER_LAG,
    BUILD_INFO,
];
