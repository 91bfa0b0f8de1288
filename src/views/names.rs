//! Every exported metric: name, type, labels and help text, in one place.
//! The README's metrics table mirrors this file. The `process_*` families
//! are the Prometheus client's own (read by `report::process`).

/// How a metric is exposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A value that goes up and down.
    Gauge,
    /// A monotonically increasing count (`_total`).
    Counter,
    /// Quantiles with `_sum` and `_count`.
    Summary,
    /// Buckets (`_bucket{le}`) with `_sum` and `_count` (the bridge's
    /// acknowledgement latency).
    Histogram,
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
const ATTRIBUTED_SERIES: &[&str] = &["service", "team", "environment", "window", "attribution"];

/// Deploys finished in the window.
pub const DEPLOYMENTS: MetricDef = MetricDef {
    name: "valuepulse_deployments",
    kind: Kind::Gauge,
    labels: SERIES,
    help: "Deployments: deploys whose finished_at is in the window and that reached the environment (status succeeded or rolled_back). A failed deploy is not a deployment. The basis of deployment frequency.",
};
/// Every deploy event in the window, by status.
pub const DEPLOY_ATTEMPTS: MetricDef = MetricDef {
    name: "valuepulse_deploy_attempts",
    kind: Kind::Gauge,
    labels: &["service", "team", "environment", "window", "status"],
    help: "Deploys whose finished_at is in the window, by status (succeeded, rolled_back, failed): deployments plus the deploys that never reached the environment.",
};
/// Denominator of the change failure rate.
pub const DEPLOYMENTS_ASSESSED: MetricDef = MetricDef {
    name: "valuepulse_deployments_assessed",
    kind: Kind::Gauge,
    labels: SERIES,
    help: "Deploys in the window assessed for change failure, the denominator of valuepulse_change_failure_ratio: the deployments, plus failed deploys when dora.failed_deploys = \"change_failure\".",
};
/// Change failures among them, per attribution mode.
pub const DEPLOYMENTS_FAILED: MetricDef = MetricDef {
    name: "valuepulse_deployments_failed",
    kind: Kind::Gauge,
    labels: ATTRIBUTED_SERIES,
    help: "Assessed deploys in the window that are change failures: status rolled_back (or failed, when dora.failed_deploys = \"change_failure\"), named by a rollback_of, or linked to an incident. attribution=\"strict\": incident links by caused_by_deploy or same artifact; \"loose\": also the latest deployment within attribution.window before the incident.",
};
/// failed / deployments, per attribution mode.
pub const CHANGE_FAILURE_RATIO: MetricDef = MetricDef {
    name: "valuepulse_change_failure_ratio",
    kind: Kind::Gauge,
    labels: ATTRIBUTED_SERIES,
    help: "Change failure rate: valuepulse_deployments_failed / valuepulse_deployments_assessed (0-1) per attribution mode (strict, loose); absent without assessed deploys.",
};
/// Unplanned fix deploys.
pub const DEPLOYMENTS_REWORK: MetricDef = MetricDef {
    name: "valuepulse_deployments_rework",
    kind: Kind::Gauge,
    labels: SERIES,
    help: "Deployments in the window that are unplanned fixes: a rollback (rollback_of set) or a deploy with fixes_incident.",
};
/// rework / deployments.
pub const DEPLOYMENT_REWORK_RATIO: MetricDef = MetricDef {
    name: "valuepulse_deployment_rework_ratio",
    kind: Kind::Gauge,
    labels: SERIES,
    help: "Deployment rework rate (DORA 2024): valuepulse_deployments_rework / valuepulse_deployments (0-1); absent without deployments.",
};
/// Failed deployment recovery time.
pub const FAILED_DEPLOYMENT_RECOVERY: MetricDef = MetricDef {
    name: "valuepulse_failed_deployment_recovery_seconds",
    kind: Kind::Summary,
    labels: SERIES,
    help: "Failed deployment recovery time (DORA 2023): over the strict change failures finished in the window, from finished_at to the next succeeded, non-failed deploy of the service and environment or the first resolution of a strictly linked incident, whichever is first; failures not yet recovered have no sample (nearest-rank quantiles, 3 significant digits).",
};
/// Incidents no rule links to a deploy.
pub const INCIDENTS_UNATTRIBUTED: MetricDef = MetricDef {
    name: "valuepulse_incidents_unattributed",
    kind: Kind::Gauge,
    labels: SERIES,
    help: "Incidents opened in the window that neither strict nor loose attribution links to a deploy (no caused_by_deploy, no deploy of their artifact, no deploy within attribution.window before).",
};
/// Lead time for changes.
pub const LEAD_TIME: MetricDef = MetricDef {
    name: "valuepulse_lead_time_seconds",
    kind: Kind::Summary,
    labels: SERIES,
    help: "Lead time for changes: finished_at - committed_at of each change, once, at the first deployment of its service and environment that lists it (by change id), over those deployments in the window (nearest-rank quantiles, 3 significant digits).",
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
    help: "DORA performance tier on the longest window: 4 elite, 3 high, 2 medium, 1 low. change_failure_rate is graded on strict attribution.",
};
/// Records by outcome.
pub const EVENTS: MetricDef = MetricDef {
    name: "valuepulse_events_total",
    kind: Kind::Counter,
    labels: &["topic", "outcome"],
    help: "Kafka records processed, by topic and outcome (accepted, updated, duplicate, invalid, late, future, oversized, ignored, unsupported, over_budget).",
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
    help: "Events whose service, team or feature label value was replaced by __other__ because the label's cap was reached.",
};
/// Feature-usage consumers recreated.
pub const USAGE_CONSUMER_RECREATIONS: MetricDef = MetricDef {
    name: "valuepulse_usage_consumer_recreations_total",
    kind: Kind::Counter,
    labels: &["reason"],
    help: "Feature-usage consumers recreated since start: stalled (no assignment for 60 s after a revocation; the watchdog) or fatal (librdkafka's fatal error). Each drops the consumer's state, and the process is not ready until the new one has replayed.",
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
/// Whether each window holds all of a topic's history.
pub const WINDOW_COMPLETE: MetricDef = MetricDef {
    name: "valuepulse_window_complete",
    kind: Kind::Gauge,
    labels: &["topic", "window"],
    help: "1 when every partition of the topic this process reads reaches back to the window's start: its log holds a record older than the replay horizon, or was never truncated, or its first record is at or before the window's start. 0 when retention (or deleted records) cut into the window, so its figures are partial, or while that is not known yet. Alert on min_over_time(valuepulse_window_complete[1h]) == 0 for ready replicas.",
};
/// Heap bytes of state, by component.
pub const STATE_BYTES: MetricDef = MetricDef {
    name: "valuepulse_state_bytes",
    kind: Kind::Gauge,
    labels: &["component"],
    help: "Approximate heap bytes of in-memory state, by component: deploys, incidents, labels (service/team/feature tables), adoption_sketches (distinct-user sketches), adoption_counts (per-minute event counts and busy seconds, for windowed events and first use), adoption_index (feature maps), work_items and satisfaction (their records and label tables).",
};
/// The configured budget.
pub const STATE_BUDGET_BYTES: MetricDef = MetricDef {
    name: "valuepulse_state_budget_bytes",
    kind: Kind::Gauge,
    labels: &[],
    help: "limits.max_state_bytes: the state budget. At 90 % new features fold into __other__; at 100 % usage records are refused with outcome=\"over_budget\".",
};
/// Budget level.
pub const STATE_BUDGET_LEVEL: MetricDef = MetricDef {
    name: "valuepulse_state_budget_level",
    kind: Kind::Gauge,
    labels: &[],
    help: "0: state under 90 % of limits.max_state_bytes; 1: at or above 90 %, new features fold into __other__; 2: at or above 100 %, usage records are refused (outcome=\"over_budget\").",
};
/// How long the last report took.
pub const REPORT_DURATION: MetricDef = MetricDef {
    name: "valuepulse_report_duration_seconds",
    kind: Kind::Gauge,
    labels: &[],
    help: "Wall time the background reporter took to compute and encode the snapshot served by this scrape. /metrics serves the snapshot; ingest never waits for it.",
};
/// When the snapshot was computed.
pub const REPORT_TIMESTAMP: MetricDef = MetricDef {
    name: "valuepulse_report_timestamp_seconds",
    kind: Kind::Gauge,
    labels: &[],
    help: "Unix time at which the snapshot served by this scrape was computed; time() - this is its age.",
};
/// Build info.
pub const BUILD_INFO: MetricDef = MetricDef {
    name: "valuepulse_build_info",
    kind: Kind::Gauge,
    labels: &["version", "revision", "rustc"],
    help: "Always 1; the labels say which build is running: version, git revision (unknown when built without git) and the rustc version that compiled it.",
};

const FEATURE_SERIES: &[&str] = &["feature", "service", "team", "window"];
const FEATURE_KEY: &[&str] = &["feature", "service", "team"];

/// Distinct users of a feature.
pub const FEATURE_USERS: MetricDef = MetricDef {
    name: "valuepulse_feature_users",
    kind: Kind::Gauge,
    labels: FEATURE_SERIES,
    help: "Distinct users with at least one usage event of the feature in the window, on this replica's partitions (HyperLogLog estimate; sum across replicas).",
};
/// Usage events of a feature.
pub const FEATURE_USAGE_EVENTS: MetricDef = MetricDef {
    name: "valuepulse_feature_usage_events",
    kind: Kind::Gauge,
    labels: FEATURE_SERIES,
    help: "Usage events of the feature in the window, on this replica's partitions (exact; sum across replicas).",
};
/// Feature users / active users.
pub const FEATURE_ADOPTION_RATIO: MetricDef = MetricDef {
    name: "valuepulse_feature_adoption_ratio",
    kind: Kind::Gauge,
    labels: FEATURE_SERIES,
    help: "valuepulse_feature_users / valuepulse_active_users in the window (0-1), on this replica's partitions.",
};
/// Distinct users over all features.
pub const ACTIVE_USERS: MetricDef = MetricDef {
    name: "valuepulse_active_users",
    kind: Kind::Gauge,
    labels: &["window"],
    help: "Distinct users with any usage event in the window, on this replica's partitions (HyperLogLog estimate; sum across replicas).",
};
/// Features first shipped in the window.
pub const FEATURES_SHIPPED: MetricDef = MetricDef {
    name: "valuepulse_features_shipped",
    kind: Kind::Gauge,
    labels: &["window"],
    help: "Features first shipped by a deploy to a tracked environment in the window (same on every replica).",
};
/// Of those, used.
pub const FEATURES_USED: MetricDef = MetricDef {
    name: "valuepulse_features_used",
    kind: Kind::Gauge,
    labels: &["window"],
    help: "Features shipped in the window with at least adoption.min_users distinct users since shipping, on this replica's partitions (across replicas use the recording rules).",
};
/// used / shipped.
pub const VALUE_REALIZATION_RATIO: MetricDef = MetricDef {
    name: "valuepulse_value_realization_ratio",
    kind: Kind::Gauge,
    labels: &["window"],
    help: "valuepulse_features_used / valuepulse_features_shipped (0-1); absent when nothing shipped.",
};
/// First use after first ship.
pub const FEATURE_TIME_TO_FIRST_USE: MetricDef = MetricDef {
    name: "valuepulse_feature_time_to_first_use_seconds",
    kind: Kind::Gauge,
    labels: FEATURE_KEY,
    help: "First usage at or after the feature's first shipping deploy minus that deploy's finished_at, on this replica's partitions (min across replicas).",
};
/// Distribution of time to first use over features shipped in the window.
pub const VALUE_FEEDBACK_CYCLE: MetricDef = MetricDef {
    name: "valuepulse_value_feedback_cycle_seconds",
    kind: Kind::Summary,
    labels: &["window"],
    help: "Value feedback cycle: time from first shipping deploy to first use, over the features shipped in the window that were used (nearest-rank quantiles, this replica's partitions).",
};
/// Users since shipping, for cross-replica rules.
pub const FEATURE_USERS_SINCE_SHIP: MetricDef = MetricDef {
    name: "valuepulse_feature_users_since_ship",
    kind: Kind::Gauge,
    labels: FEATURE_KEY,
    help: "Distinct users of a shipped feature since its first shipping deploy, on this replica's partitions (sum across replicas; used >= adoption.min_users).",
};
/// When a feature first shipped.
pub const FEATURE_FIRST_SHIPPED: MetricDef = MetricDef {
    name: "valuepulse_feature_first_shipped_timestamp_seconds",
    kind: Kind::Gauge,
    labels: FEATURE_KEY,
    help: "Unix time of the feature's first shipping deploy (finished_at) within retained history.",
};

const TEAM_SERIES: &[&str] = &["service", "team", "window"];

/// Work items finished in the window.
pub const WORK_ITEMS_FINISHED: MetricDef = MetricDef {
    name: "valuepulse_work_items_finished",
    kind: Kind::Gauge,
    labels: TEAM_SERIES,
    help: "Work items finished in the window: their last transition is in a done state, and they finished at the first transition of that final run of done states. Exported, zeros included, for every service and team with an item finished in the longest window.",
};
/// Summed active and waiting time of those items.
pub const WORK_ITEM_TIME: MetricDef = MetricDef {
    name: "valuepulse_work_item_time_seconds",
    kind: Kind::Gauge,
    labels: &["service", "team", "window", "category"],
    help: "Summed active or waiting time (category) of the work items finished in the window, from each item's first active transition; time in a done state (and a done-to-reopen gap) is neither. Team and organisation flow efficiency is sum(active) / sum(active + waiting).",
};
/// Flow efficiency.
pub const FLOW_EFFICIENCY: MetricDef = MetricDef {
    name: "valuepulse_flow_efficiency_ratio",
    kind: Kind::Gauge,
    labels: TEAM_SERIES,
    help: "Flow efficiency: summed active time / summed active + waiting time of the work items finished in the window (0-1); absent when both are 0. Target above 0.25, world-class above 0.40.",
};
/// Per-item flow efficiency.
pub const WORK_ITEM_FLOW_EFFICIENCY: MetricDef = MetricDef {
    name: "valuepulse_work_item_flow_efficiency_ratio",
    kind: Kind::Summary,
    labels: TEAM_SERIES,
    help: "Per-item flow efficiency, active / (active + waiting), over the work items finished in the window that were started (exact nearest-rank quantiles 0.5, 0.9, 0.95).",
};
/// Transitions of states in no list.
pub const WORK_ITEM_UNMAPPED: MetricDef = MetricDef {
    name: "valuepulse_work_item_unmapped_transitions",
    kind: Kind::Gauge,
    labels: &[],
    help: "Retained work-item transitions whose state is in no flow.states list and that carried no category; they count as waiting. Above 0: the mapping misses a state the tracker uses.",
};
/// Flow-efficiency health band.
pub const FLOW_EFFICIENCY_TIER: MetricDef = MetricDef {
    name: "valuepulse_flow_efficiency_tier",
    kind: Kind::Gauge,
    labels: TEAM_SERIES,
    help: "Flow-efficiency health band on the longest window: 3 world-class (above 0.40), 2 good (above 0.25), 1 below.",
};
/// Mean normalised satisfaction.
pub const SATISFACTION_SCORE: MetricDef = MetricDef {
    name: "valuepulse_satisfaction_score",
    kind: Kind::Gauge,
    labels: TEAM_SERIES,
    help: "Customer satisfaction: the mean normalised response in the window, CSAT (s-1)/4 and NPS s/10 (0-1); absent without responses (satisfaction.default_score is never exported here).",
};
/// Responses per kind.
pub const SATISFACTION_RESPONSES: MetricDef = MetricDef {
    name: "valuepulse_satisfaction_responses",
    kind: Kind::Gauge,
    labels: &["service", "team", "window", "kind"],
    help: "Satisfaction responses in the window, by kind (csat, nps). Exported, zeros included, for every service and team with a response in the longest window.",
};
/// Net Promoter.
pub const NET_PROMOTER: MetricDef = MetricDef {
    name: "valuepulse_net_promoter_ratio",
    kind: Kind::Gauge,
    labels: TEAM_SERIES,
    help: "Net Promoter over the NPS responses in the window: (promoters 9-10 - detractors 0-6) / responses, -1 to 1 (NPS / 100); absent without NPS responses.",
};
/// Responses with no service.
pub const SATISFACTION_UNATTRIBUTED: MetricDef = MetricDef {
    name: "valuepulse_satisfaction_unattributed",
    kind: Kind::Gauge,
    labels: &["window"],
    help: "Satisfaction responses in the window that name no service and whose feature has no known first shipping deploy: in no series.",
};
/// The value delivery score.
pub const VALUE_DELIVERY_SCORE: MetricDef = MetricDef {
    name: "valuepulse_value_delivery_score",
    kind: Kind::Gauge,
    labels: SERIES,
    help: "Value delivery score: (1 / median lead time in hours) x deployments per day x (1 - strict change failure ratio) x (1 / median time to restore in hours) x satisfaction score (else satisfaction.default_score), from the figures exported for the same series and window; absent when an input is missing or a divisor is 0.",
};
/// Value-stream health bands of adoption.
pub const VALUE_STREAM_TIER: MetricDef = MetricDef {
    name: "valuepulse_value_stream_tier",
    kind: Kind::Gauge,
    labels: &["window", "metric"],
    help: "Value-stream health band on the longest window: 3 elite, 2 good, 1 below. value_realization: used / shipped above 0.8 elite, above 0.6 good; value_feedback_cycle: median first ship to first use under 24 h elite, under 7 days good. From this replica's adoption figures (across replicas use the recording rules).",
};
/// Unpaired incident resolutions.
pub const INCIDENTS_UNPAIRED: MetricDef = MetricDef {
    name: "valuepulse_incidents_unpaired",
    kind: Kind::Gauge,
    labels: &["service", "team", "environment"],
    help: "Retained incident resolutions with no opening time of their own (a CDEvents incident.resolved without customData.opened_at) and no retained opening of the same id and source to pair with; they have no time to restore until it arrives.",
};
/// The tier bands in force.
pub const TIER_BANDS_INFO: MetricDef = MetricDef {
    name: "valuepulse_tier_bands_info",
    kind: Kind::Gauge,
    labels: &["preset"],
    help: "Always 1: the DORA tier bands valuepulse_dora_tier is graded with (tiers.preset: valuepulse, framework, dora_2021, dora_2024 or custom).",
};

/// Certificate reloads of the admin server (and of the bridge, which
/// exports the same family).
pub const TLS_RELOADS: MetricDef = MetricDef {
    name: "valuepulse_tls_reloads_total",
    kind: Kind::Counter,
    labels: &["outcome"],
    help: "Changes of the TLS certificate, key or client CA files (http.web_config, or bridge.web_config for the bridge) seen while serving, by outcome: ok (new connections get the new certificate), failed (the files did not build a usable config; the previous certificate is still served). Exported only when TLS is on.",
};

/// Every metric, for descriptors and documentation checks.
pub const ALL: &[MetricDef] = &[
    DEPLOYMENTS,
    DEPLOY_ATTEMPTS,
    DEPLOYMENTS_ASSESSED,
    DEPLOYMENTS_FAILED,
    CHANGE_FAILURE_RATIO,
    DEPLOYMENTS_REWORK,
    DEPLOYMENT_REWORK_RATIO,
    LEAD_TIME,
    TIME_TO_RESTORE,
    FAILED_DEPLOYMENT_RECOVERY,
    INCIDENTS_OPEN,
    INCIDENTS_UNATTRIBUTED,
    DORA_TIER,
    EVENTS,
    EVENTS_INVALID,
    LABEL_OVERFLOW,
    USAGE_CONSUMER_RECREATIONS,
    READY,
    REPLAY_REMAINING,
    CONSUMER_LAG,
    BUILD_INFO,
    WINDOW_COMPLETE,
    STATE_BYTES,
    STATE_BUDGET_BYTES,
    STATE_BUDGET_LEVEL,
    REPORT_DURATION,
    REPORT_TIMESTAMP,
    FEATURE_USERS,
    FEATURE_USAGE_EVENTS,
    FEATURE_ADOPTION_RATIO,
    ACTIVE_USERS,
    FEATURES_SHIPPED,
    FEATURES_USED,
    VALUE_REALIZATION_RATIO,
    FEATURE_TIME_TO_FIRST_USE,
    VALUE_FEEDBACK_CYCLE,
    FEATURE_USERS_SINCE_SHIP,
    FEATURE_FIRST_SHIPPED,
    WORK_ITEMS_FINISHED,
    WORK_ITEM_TIME,
    FLOW_EFFICIENCY,
    WORK_ITEM_FLOW_EFFICIENCY,
    WORK_ITEM_UNMAPPED,
    FLOW_EFFICIENCY_TIER,
    SATISFACTION_SCORE,
    SATISFACTION_RESPONSES,
    NET_PROMOTER,
    SATISFACTION_UNATTRIBUTED,
    VALUE_DELIVERY_SCORE,
    VALUE_STREAM_TIER,
    INCIDENTS_UNPAIRED,
    TIER_BANDS_INFO,
    TLS_RELOADS,
];

/// Bridge deliveries, by source, event and outcome.
pub const BRIDGE_DELIVERIES: MetricDef = MetricDef {
    name: "valuepulse_bridge_deliveries_total",
    kind: Kind::Counter,
    labels: &["source", "event", "outcome"],
    help: "Webhook deliveries (and POST /events requests) the bridge answered, by source (github, gitlab, pagerduty, argocd, flux, jira, linear, events), event (the source's event name from a fixed list; unverified before the signature is checked) and outcome: produced (2xx after Kafka acknowledged), ignored (authentic, maps to nothing: 202), unauthorized (401), malformed (400), too_large (413), unavailable (503: Kafka did not acknowledge in the source's budget), disabled (404).",
};
/// From the request to Kafka's acknowledgement.
pub const BRIDGE_ACK_SECONDS: MetricDef = MetricDef {
    name: "valuepulse_bridge_ack_seconds",
    kind: Kind::Histogram,
    labels: &["source"],
    help: "Seconds from a delivery's arrival to Kafka's acknowledgement of all its events (deliveries answered 2xx), by source.",
};
/// Pushes that listed fewer commits than they carried.
pub const BRIDGE_PUSH_TRUNCATED: MetricDef = MetricDef {
    name: "valuepulse_bridge_push_commits_truncated_total",
    kind: Kind::Counter,
    labels: &["source"],
    help: "Push webhooks whose payload listed fewer commits than the push carried (GitLab lists at most 20): the commits left out have no lead time.",
};
/// Whether Kafka is reachable from the bridge.
pub const BRIDGE_READY: MetricDef = MetricDef {
    name: "valuepulse_bridge_ready",
    kind: Kind::Gauge,
    labels: &[],
    help: "1 while the bridge reaches Kafka (what /readyz says), else 0.",
};
