//! Domain events: what a deploy or an incident *is*, independent of the wire
//! format it arrived in. Text fields borrow from the decoded payload where they
//! can (`Cow`), so decoding and folding a typical event copies no strings.

use std::borrow::Cow;

use super::time::Millis;

/// Final state of a deploy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeployStatus {
    /// The change reached the environment and stayed.
    Succeeded,
    /// The deploy itself failed.
    Failed,
    /// The deploy was later rolled back.
    RolledBack,
}

impl DeployStatus {
    /// Whether the deploy reached its environment (`succeeded`, or
    /// `rolled_back`: live, then undone). Only these are deployments for
    /// deployment frequency, lead time and first ships; a `failed` deploy
    /// never finished.
    pub fn reached_environment(self) -> bool {
        !matches!(self, DeployStatus::Failed)
    }

    /// The `status` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            DeployStatus::Succeeded => "succeeded",
            DeployStatus::Failed => "failed",
            DeployStatus::RolledBack => "rolled_back",
        }
    }

    /// Every status, in export order.
    pub const ALL: [DeployStatus; 3] = [
        DeployStatus::Succeeded,
        DeployStatus::RolledBack,
        DeployStatus::Failed,
    ];

    /// Dense index into [`DeployStatus::ALL`].
    pub fn index(self) -> usize {
        match self {
            DeployStatus::Succeeded => 0,
            DeployStatus::RolledBack => 1,
            DeployStatus::Failed => 2,
        }
    }
}

/// One change (commit) listed by a deploy.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Change<'a> {
    /// Commit id. With an id, a change listed by several deploys (cumulative
    /// changelogs, redeploys, roll-forwards) counts once; without one, it
    /// counts at every deployment that lists it.
    pub id: Option<Cow<'a, str>>,
    /// When the change was committed.
    pub committed_at: Millis,
}

/// A deploy of one service to one environment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Deploy<'a> {
    /// Producer-chosen unique id; the de-duplication key.
    pub id: Cow<'a, str>,
    /// Service deployed (a label).
    pub service: Cow<'a, str>,
    /// Owning team (a label); `None` when the producer did not say.
    pub team: Option<Cow<'a, str>>,
    /// Environment deployed to; DORA counts only configured environments.
    pub environment: Cow<'a, str>,
    /// Final state.
    pub status: DeployStatus,
    /// Event time of the deploy.
    pub finished_at: Millis,
    /// Artifact identity (e.g. an image digest), used for incident attribution.
    pub artifact: Option<Cow<'a, str>>,
    /// The changes (commits) this deploy lists, for lead time. A change
    /// counts once: at the first deployment of its service and environment
    /// that lists it.
    pub changes: Vec<Change<'a>>,
    /// Features this deploy ships.
    pub features: Vec<Cow<'a, str>>,
    /// The earlier deploy this one rolls back, which becomes a change failure.
    pub rollback_of: Option<Cow<'a, str>>,
    /// The incident this deploy is an unplanned fix for (rework).
    pub fixes_incident: Option<Cow<'a, str>>,
}

/// Whether an incident event reports the opening or the resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IncidentStatus {
    /// The incident started.
    Opened,
    /// The incident is over.
    Resolved,
}

/// One incident event. An incident is two events with one id: opened, then
/// resolved.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Incident<'a> {
    /// Incident id, shared by its opened and resolved events.
    pub id: Cow<'a, str>,
    /// Affected service (a label).
    pub service: Cow<'a, str>,
    /// Owning team (a label); `None` when the producer did not say.
    pub team: Option<Cow<'a, str>>,
    /// Affected environment.
    pub environment: Cow<'a, str>,
    /// Which of the two events this is.
    pub status: IncidentStatus,
    /// When the incident started.
    pub opened_at: Millis,
    /// When it was resolved; always `Some` for a resolved event.
    pub resolved_at: Option<Millis>,
    /// Id of the deploy that caused it, which becomes a change failure.
    pub caused_by_deploy: Option<Cow<'a, str>>,
    /// Artifact (e.g. image digest) running when the incident began, for
    /// attribution to the deploy that shipped it.
    pub artifact: Option<Cow<'a, str>>,
}

impl Incident<'_> {
    /// The event time: `opened_at` for an opening, `resolved_at` for a
    /// resolution.
    pub fn event_time(&self) -> Millis {
        match self.status {
            IncidentStatus::Opened => self.opened_at,
            IncidentStatus::Resolved => self.resolved_at.unwrap_or(self.opened_at),
        }
    }
}

/// One use of a feature by a user (the `feature-usage` topic).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Usage<'a> {
    /// Feature used (a label, capped).
    pub feature: Cow<'a, str>,
    /// Who used it; never a label, only hashed into distinct-count sketches.
    pub user: Cow<'a, str>,
    /// Event time.
    pub at: Millis,
}

/// Any event the domain folds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Event<'a> {
    /// A deploy.
    Deploy(Deploy<'a>),
    /// An incident opening or resolution.
    Incident(Incident<'a>),
    /// A feature usage.
    Usage(Usage<'a>),
}

/// What happened to one Kafka record. Exported as
/// `valuepulse_events_total{outcome}`; the set is fixed so labels stay bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// New event folded into state.
    Accepted,
    /// Same key, different content: replaced the earlier event.
    Updated,
    /// Identical redelivery: counted once.
    Duplicate,
    /// Not a valid event (bad JSON, missing field, bad timestamp, …).
    Invalid,
    /// Older than `now - longest window - grace`.
    Late,
    /// Newer than `now + max_clock_skew`.
    Future,
    /// Payload larger than `limits.max_event_bytes`.
    Oversized,
    /// Valid, but for an environment DORA does not track.
    Ignored,
    /// A well-formed event of a type valuepulse does not use (e.g. another
    /// CDEvents type).
    Unsupported,
    /// A valid usage event refused because state reached
    /// `limits.max_state_bytes`.
    OverBudget,
}

impl Outcome {
    /// Every outcome, in export order.
    pub const ALL: [Outcome; 10] = [
        Outcome::Accepted,
        Outcome::Updated,
        Outcome::Duplicate,
        Outcome::Invalid,
        Outcome::Late,
        Outcome::Future,
        Outcome::Oversized,
        Outcome::Ignored,
        Outcome::Unsupported,
        Outcome::OverBudget,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Updated => "updated",
            Outcome::Duplicate => "duplicate",
            Outcome::Invalid => "invalid",
            Outcome::Late => "late",
            Outcome::Future => "future",
            Outcome::Oversized => "oversized",
            Outcome::Ignored => "ignored",
            Outcome::Unsupported => "unsupported",
            Outcome::OverBudget => "over_budget",
        }
    }

    /// Dense index into [`Outcome::ALL`], for counter arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Why an event is invalid. Exported as
/// `valuepulse_events_invalid_total{reason}`; the set is fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InvalidReason {
    /// Not JSON, or truncated.
    MalformedJson,
    /// A required field is absent.
    MissingField,
    /// A field has the wrong JSON type.
    WrongType,
    /// A required text field is empty.
    EmptyField,
    /// A timestamp is not RFC 3339.
    BadTimestamp,
    /// `status` is not one of the allowed values.
    BadStatus,
    /// A change was committed at or after its deploy finished.
    NonPositiveLeadTime,
    /// An incident was resolved before it was opened.
    NegativeRestoreTime,
    /// Not UTF-8, or not a JSON object.
    NotAnObject,
}

impl InvalidReason {
    /// Every reason, in export order.
    pub const ALL: [InvalidReason; 9] = [
        InvalidReason::MalformedJson,
        InvalidReason::MissingField,
        InvalidReason::WrongType,
        InvalidReason::EmptyField,
        InvalidReason::BadTimestamp,
        InvalidReason::BadStatus,
        InvalidReason::NonPositiveLeadTime,
        InvalidReason::NegativeRestoreTime,
        InvalidReason::NotAnObject,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            InvalidReason::MalformedJson => "malformed_json",
            InvalidReason::MissingField => "missing_field",
            InvalidReason::WrongType => "wrong_type",
            InvalidReason::EmptyField => "empty_field",
            InvalidReason::BadTimestamp => "bad_timestamp",
            InvalidReason::BadStatus => "bad_status",
            InvalidReason::NonPositiveLeadTime => "non_positive_lead_time",
            InvalidReason::NegativeRestoreTime => "negative_restore_time",
            InvalidReason::NotAnObject => "not_an_object",
        }
    }

    /// Dense index into [`InvalidReason::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

impl Deploy<'_> {
    /// Checks the rules of the contract that the wire format cannot express.
    pub fn validate(&self) -> Result<(), InvalidReason> {
        if self.id.is_empty() || self.service.is_empty() || self.environment.is_empty() {
            return Err(InvalidReason::EmptyField);
        }
        if self
            .changes
            .iter()
            .any(|c| c.committed_at >= self.finished_at)
        {
            return Err(InvalidReason::NonPositiveLeadTime);
        }
        Ok(())
    }
}

impl Incident<'_> {
    /// Checks the rules of the contract that the wire format cannot express.
    pub fn validate(&self) -> Result<(), InvalidReason> {
        if self.id.is_empty() || self.service.is_empty() || self.environment.is_empty() {
            return Err(InvalidReason::EmptyField);
        }
        match (self.status, self.resolved_at) {
            (IncidentStatus::Resolved, None) => Err(InvalidReason::MissingField),
            (_, Some(r)) if r < self.opened_at => Err(InvalidReason::NegativeRestoreTime),
            _ => Ok(()),
        }
    }
}
