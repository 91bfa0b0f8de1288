//! The Weekly Value Pulse as data: what `/pulse?format=json` serves
//! (schema [`SCHEMA`]), and what the page, the markdown and the chat
//! payloads (`valuepulse pulse send`) are rendered from. A pulse covers one
//! team (or the organisation) for the 7 days before `to`, compared with
//! the 7 days before them, in four sections that answer the ritual's four
//! questions. Every item carries its numbers and names; the renderers add
//! nothing.

use serde::{Deserialize, Serialize};

/// The JSON schema's name and version.
pub const SCHEMA: &str = "valuepulse.pulse/v1";

/// One team's (or the organisation's) pulse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pulse {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// The team; `None` for the organisation.
    pub team: Option<String>,
    /// The ISO week that `to` falls in, e.g. `2026-W49` (the delivery's
    /// idempotency key, with the team).
    pub week: String,
    /// Start of this week's 7 days, RFC 3339.
    pub from: String,
    /// End of them (exclusive): the report's now, RFC 3339.
    pub to: String,
    /// Start of the 7 days before, RFC 3339 (they end at `from`).
    pub previous_from: String,
    /// What customer problems did we solve this week?
    pub created: Section,
    /// What prevented us from creating more value?
    pub blocked: Section,
    /// What customer pain points did we discover?
    pub opportunities: Section,
    /// What might destroy value we've already created?
    pub risks: Section,
}

/// One of the four questions' answers, ordered by impact.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Section {
    /// At most `pulse.max_items`, most impact first.
    pub items: Vec<Item>,
    /// How many more there were (left out by the limit).
    pub more: usize,
}

/// One fact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// What kind of fact, from a fixed list (`feature_shipped`,
    /// `feature_gaining_users`, `work_items_finished`, `deploys`,
    /// `lead_time`, `satisfaction`, `waited_longest`, `open_waiting`,
    /// `failed_deploys`, `flow_efficiency`, `unmapped_states`,
    /// `feature_unused`, `lowest_satisfaction`, `adoption_falling`,
    /// `change_failure_rate`, `time_to_restore`, `open_incident`,
    /// `tier_dropped`, `value_score_fell`, `untrusted_data`).
    pub kind: String,
    /// One line for people, with the names and numbers.
    pub text: String,
    /// What it is about: a feature, service, work item or incident.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// This week's figure, in `unit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// Last week's figure, when there is one (see `comparison`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<f64>,
    /// `count`, `seconds`, `ratio` (0-1), `users` or `score` (0-1).
    pub unit: String,
    /// Where `previous` comes from.
    pub comparison: Comparison,
}

/// Where last week's figure comes from. Never invented: without a source
/// the item says there is no comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    /// Computed exactly from the daemon's state (deploys, incidents, work
    /// items, satisfaction responses of the retained history).
    State,
    /// From Prometheus' history of the daemon's own series (`offset 7d`,
    /// `pulse.prometheus_url`).
    Prometheus,
    /// No comparison: the state cannot answer it (distinct users of an
    /// earlier week) and no Prometheus is configured.
    None,
}

/// `GET /pulse/teams`: the teams a pulse can be asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Teams {
    /// Sorted.
    pub teams: Vec<String>,
}
