//! The native v1 wire types: one struct per event of the six topics (see
//! the README, "Event schema" and "Value stream"), read by the decoder and
//! written by `valuepulse emit`, the demo and the load generator.
//!
//! Text fields are `Cow<str>`: decoding borrows them from the payload (and
//! copies only a string with escapes), a producer fills them with `&str` or
//! `String` alike (`"checkout".into()`). Timestamps stay the RFC 3339 text of
//! the wire ([`super::format_time`] writes one from milliseconds); statuses,
//! kinds and categories stay text too, so that an unknown value reaches the
//! decoder's validation (`bad_status`) rather than serde's (`wrong_type`).
//! Every optional field is left out when absent. A few fields are written
//! but never read (`version`, `severity`, `summary`, `uri`, `account`): the
//! daemon ignores them as it ignores any unknown field, so decoding never
//! refuses an event for one.
//!
//! These types say only what the wire says; what makes an event valid (a
//! known status, a change committed before the deploy finished, a score on
//! its scale) is checked when it becomes a domain event (`native.rs`).

use std::borrow::Cow;

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use super::json::{opt_text, text, texts};

/// A `deploys` event: one deploy's final state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeployV1<'a> {
    /// Deploy id, the de-duplication key.
    #[serde(borrow, deserialize_with = "text")]
    pub id: Cow<'a, str>,
    /// Service deployed; also the record key.
    #[serde(borrow, deserialize_with = "text")]
    pub service: Cow<'a, str>,
    /// Owning team (`unknown` when absent).
    #[serde(
        borrow,
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub team: Option<Cow<'a, str>>,
    /// Environment (`production` when absent).
    #[serde(
        borrow,
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub environment: Option<Cow<'a, str>>,
    /// `succeeded`, `failed` or `rolled_back`.
    #[serde(borrow, deserialize_with = "text")]
    pub status: Cow<'a, str>,
    /// When the deploy finished, RFC 3339.
    #[serde(borrow, deserialize_with = "text")]
    pub finished_at: Cow<'a, str>,
    /// When it started, RFC 3339 (checked, not used by a figure).
    #[serde(
        borrow,
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub started_at: Option<Cow<'a, str>>,
    /// Version deployed. Written, never read.
    #[serde(skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub version: Option<Cow<'a, str>>,
    /// Artifact deployed, e.g. an image digest `sha256:…` (for incident
    /// attribution).
    #[serde(
        borrow,
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub artifact: Option<Cow<'a, str>>,
    /// The changes shipped.
    #[serde(borrow, default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<ChangeV1<'a>>,
    /// The features shipped.
    #[serde(
        borrow,
        default,
        deserialize_with = "texts",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub features: Vec<Cow<'a, str>>,
    /// Id of the earlier deploy this one rolls back.
    #[serde(
        borrow,
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub rollback_of: Option<Cow<'a, str>>,
    /// Id of the incident this deploy is an unplanned fix for.
    #[serde(
        borrow,
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub fixes_incident: Option<Cow<'a, str>>,
    /// The repository the deployed revision belongs to (`owner/name`), as
    /// the bridge writes it.
    #[serde(
        borrow,
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub repository: Option<Cow<'a, str>>,
    /// The deployed commit (a full SHA): with `repository`, what joins a
    /// deploy that lists no `changes` to the pushed commits.
    #[serde(
        borrow,
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub revision: Option<Cow<'a, str>>,
    /// Not part of the contract: set by decoding when the object also has a
    /// top-level `specversion` (it is then a CloudEvent). Never written;
    /// leave it `None`.
    #[serde(default, skip_serializing)]
    pub specversion: Option<IgnoredAny>,
}

/// One change a deploy ships.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeV1<'a> {
    /// The commit; a change without one counts at every deploy listing it.
    #[serde(
        borrow,
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<Cow<'a, str>>,
    /// When it was committed, RFC 3339.
    #[serde(borrow, deserialize_with = "text")]
    pub committed_at: Cow<'a, str>,
}

/// An `incidents` event: one incident opened, or resolved.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IncidentV1<'a> {
    /// Incident id, shared by its opened and resolved events.
    #[serde(borrow, deserialize_with = "text")]
    pub id: Cow<'a, str>,
    /// Affected service; also the record key.
    #[serde(borrow, deserialize_with = "text")]
    pub service: Cow<'a, str>,
    /// Owning team.
    #[serde(
        borrow,
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub team: Option<Cow<'a, str>>,
    /// Environment (`production` when absent).
    #[serde(
        borrow,
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub environment: Option<Cow<'a, str>>,
    /// `opened` or `resolved`.
    #[serde(borrow, deserialize_with = "text")]
    pub status: Cow<'a, str>,
    /// Severity, e.g. `sev2`. Written, never read.
    #[serde(skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Cow<'a, str>>,
    /// When it started, RFC 3339.
    #[serde(borrow, deserialize_with = "text")]
    pub opened_at: Cow<'a, str>,
    /// When it was resolved, RFC 3339 (required when resolved).
    #[serde(
        borrow,
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub resolved_at: Option<Cow<'a, str>>,
    /// Id of the deploy that caused it.
    #[serde(
        borrow,
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub caused_by_deploy: Option<Cow<'a, str>>,
    /// Artifact running when it began (for attribution).
    #[serde(
        borrow,
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub artifact: Option<Cow<'a, str>>,
    /// Not part of the contract: set by decoding when the object also has a
    /// top-level `specversion` (it is then a CloudEvent). Never written;
    /// leave it `None`.
    #[serde(default, skip_serializing)]
    pub specversion: Option<IgnoredAny>,
}

/// A `work-items` event: item `id` entered `state` at `at`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkItemV1<'a> {
    /// Item id (ticket key); also the record key.
    #[serde(borrow, deserialize_with = "text")]
    pub id: Cow<'a, str>,
    /// Service the item belongs to.
    #[serde(borrow, deserialize_with = "text")]
    pub service: Cow<'a, str>,
    /// Owning team.
    #[serde(
        borrow,
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub team: Option<Cow<'a, str>>,
    /// Environment (informational).
    #[serde(
        borrow,
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub environment: Option<Cow<'a, str>>,
    /// State entered, as the tracker names it.
    #[serde(borrow, deserialize_with = "text")]
    pub state: Cow<'a, str>,
    /// `active`, `waiting` or `done`; wins over the state mapping.
    #[serde(
        borrow,
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub category: Option<Cow<'a, str>>,
    /// When the item entered the state, RFC 3339.
    #[serde(borrow, deserialize_with = "text")]
    pub at: Cow<'a, str>,
    /// Commit ids implementing the item.
    #[serde(
        borrow,
        default,
        deserialize_with = "texts",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub changes: Vec<Cow<'a, str>>,
    /// Deploy ids that shipped the item.
    #[serde(
        borrow,
        default,
        deserialize_with = "texts",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub deploys: Vec<Cow<'a, str>>,
    /// Ticket summary (the CDEvents ticket's). Written, never read.
    #[serde(skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub summary: Option<Cow<'a, str>>,
    /// Ticket URI (the CDEvents ticket's). Written, never read.
    #[serde(skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub uri: Option<Cow<'a, str>>,
    /// Not part of the contract: set by decoding when the object also has a
    /// top-level `specversion` (it is then a CloudEvent). Never written;
    /// leave it `None`.
    #[serde(default, skip_serializing)]
    pub specversion: Option<IgnoredAny>,
}

/// A `satisfaction` event: one CSAT or NPS response.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SatisfactionV1<'a> {
    /// Response id, the de-duplication key.
    #[serde(borrow, deserialize_with = "text")]
    pub id: Cow<'a, str>,
    /// Service it is about (the record key; one of service and feature is
    /// required).
    #[serde(
        borrow,
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub service: Option<Cow<'a, str>>,
    /// Owning team.
    #[serde(
        borrow,
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub team: Option<Cow<'a, str>>,
    /// Feature it is about (the record key without a service).
    #[serde(
        borrow,
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub feature: Option<Cow<'a, str>>,
    /// `csat` (1–5) or `nps` (0–10).
    #[serde(borrow, deserialize_with = "text")]
    pub kind: Cow<'a, str>,
    /// The answer.
    pub score: i64,
    /// When it was given, RFC 3339.
    #[serde(borrow, deserialize_with = "text")]
    pub at: Cow<'a, str>,
    /// Not part of the contract: set by decoding when the object also has a
    /// top-level `specversion` (it is then a CloudEvent). Never written;
    /// leave it `None`.
    #[serde(default, skip_serializing)]
    pub specversion: Option<IgnoredAny>,
}

/// A `changes` event: one commit pushed to a branch, as the bridge writes it
/// from a GitHub or GitLab push (keyed by repository). Its id is the
/// commit's; the push's `before` and `after` place it in the branch's chain.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushedChangeV1<'a> {
    /// The commit (a full SHA).
    #[serde(borrow, deserialize_with = "text")]
    pub id: Cow<'a, str>,
    /// When it was committed, RFC 3339.
    #[serde(borrow, deserialize_with = "text")]
    pub committed_at: Cow<'a, str>,
    /// The repository, `owner/name` (GitLab: `path_with_namespace`).
    #[serde(borrow, deserialize_with = "text")]
    pub repository: Cow<'a, str>,
    /// The branch pushed to, without `refs/heads/`.
    #[serde(borrow, deserialize_with = "text")]
    pub branch: Cow<'a, str>,
    /// The branch's head before the push.
    #[serde(borrow, deserialize_with = "text")]
    pub before: Cow<'a, str>,
    /// The branch's head after the push.
    #[serde(borrow, deserialize_with = "text")]
    pub after: Cow<'a, str>,
    /// The commit before this one in the push (the push's `before` for its
    /// first commit): the link the daemon walks back from a deployed SHA.
    #[serde(
        borrow,
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub parent: Option<Cow<'a, str>>,
}

/// A `feature-usage` event: `user` used `feature` at `at`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageV1<'a> {
    /// Feature used.
    #[serde(borrow, deserialize_with = "text")]
    pub feature: Cow<'a, str>,
    /// Who used it; also the record key. Hashed, never a label.
    #[serde(borrow, deserialize_with = "text")]
    pub user: Cow<'a, str>,
    /// The user's account. Written, never read.
    #[serde(skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub account: Option<Cow<'a, str>>,
    /// When, RFC 3339.
    #[serde(borrow, deserialize_with = "text")]
    pub at: Cow<'a, str>,
}

#[cfg(test)]
mod tests;
