//! Domain events: what a deploy, an incident, a feature usage, a work-item
//! transition or a satisfaction response *is*, independent of the wire
//! format it arrived in. Text fields borrow from the decoded payload where they
//! can (`Cow`), so decoding and folding a typical event copies no strings.

use std::borrow::Cow;

use super::time::{Millis, TimeCheck};

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
    /// The repository of the deployed revision (`owner/name`), when the
    /// producer says (the bridge does).
    pub repository: Option<Cow<'a, str>>,
    /// The deployed commit. A deploy listing no `changes` is given the
    /// commits pushed up to it (the `changes` topic) that no earlier
    /// deployment of its service and environment delivered.
    pub revision: Option<Cow<'a, str>>,
}

/// One pushed commit, from the `changes` topic: the links of a
/// repository's push chain.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PushedChange<'a> {
    /// The commit.
    pub id: Cow<'a, str>,
    /// Its repository.
    pub repository: Cow<'a, str>,
    /// The commit before it in its push (the push's `before` for the first).
    pub parent: Option<Cow<'a, str>>,
    /// When it was committed.
    pub committed_at: Millis,
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
    /// When the incident started: always `Some` for an opening. A
    /// resolution may not know it (a CDEvents `incident.resolved` without
    /// `customData.opened_at`); DORA state then pairs it with the opening
    /// of the same id.
    pub opened_at: Option<Millis>,
    /// When it was resolved; always `Some` for a resolved event.
    pub resolved_at: Option<Millis>,
    /// Who reports the incident (the CDEvents subject's `source`), when
    /// known. An opening and a resolution that both name a source pair only
    /// when the sources are equal.
    pub source: Option<Cow<'a, str>>,
    /// Id of the deploy that caused it, which becomes a change failure.
    pub caused_by_deploy: Option<Cow<'a, str>>,
    /// Artifact (e.g. image digest) running when the incident began, for
    /// attribution to the deploy that shipped it.
    pub artifact: Option<Cow<'a, str>>,
}

impl Incident<'_> {
    /// The event time: `opened_at` for an opening, `resolved_at` for a
    /// resolution. (An event without it is invalid and never folded; it
    /// would read as the earliest time, i.e. late.)
    pub fn event_time(&self) -> Millis {
        match self.status {
            IncidentStatus::Opened => self.opened_at,
            IncidentStatus::Resolved => self.resolved_at,
        }
        .unwrap_or(Millis::MIN)
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

/// What a work item's state means for flow: working on it, waiting, or
/// finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlowCategory {
    /// Someone is working on the item (value-add time).
    Active,
    /// The item waits: queued, blocked, in review, waiting for deploy.
    Waiting,
    /// The item is finished.
    Done,
}

impl FlowCategory {
    /// Every category, in export order.
    pub const ALL: [FlowCategory; 3] = [
        FlowCategory::Active,
        FlowCategory::Waiting,
        FlowCategory::Done,
    ];

    /// The wire and label value.
    pub fn as_str(self) -> &'static str {
        match self {
            FlowCategory::Active => "active",
            FlowCategory::Waiting => "waiting",
            FlowCategory::Done => "done",
        }
    }

    /// The category named `name` (`active`, `waiting`, `done`), if any.
    pub fn from_name(name: &str) -> Option<FlowCategory> {
        FlowCategory::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

/// One state transition of a work item (a ticket, story, bug): "item `id`
/// entered `state` at `at`" (the `work-items` topic).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WorkItem<'a> {
    /// Item id, shared by all its transitions.
    pub id: Cow<'a, str>,
    /// Service the item belongs to (a label).
    pub service: Cow<'a, str>,
    /// Owning team (a label); `None` when the producer did not say.
    pub team: Option<Cow<'a, str>>,
    /// Environment, when the producer gives one. Not a label: flow figures
    /// are per service and team.
    pub environment: Option<Cow<'a, str>>,
    /// The state entered, as the tracker names it (`In Progress`,
    /// `in_review`, …); mapped to a category by configuration.
    pub state: Cow<'a, str>,
    /// The category, when the event says it: wins over the state mapping.
    pub category: Option<FlowCategory>,
    /// When the item entered the state.
    pub at: Millis,
    /// Changes (commit ids) that implement the item.
    pub changes: Vec<Cow<'a, str>>,
    /// Deploys that shipped the item.
    pub deploys: Vec<Cow<'a, str>>,
}

impl WorkItem<'_> {
    /// Checks the rules of the contract that the wire format cannot express.
    pub fn validate(&self) -> Result<(), InvalidReason> {
        if self.id.is_empty() || self.service.is_empty() || self.state.is_empty() {
            return Err(InvalidReason::EmptyField);
        }
        Ok(())
    }
}

/// One customer-satisfaction response on its own scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SatisfactionScore {
    /// A CSAT answer, 1 (very unsatisfied) to 5 (very satisfied).
    Csat(u8),
    /// A Net Promoter answer, 0 to 10 ("how likely are you to recommend").
    Nps(u8),
}

impl SatisfactionScore {
    /// The response on a 0–1 scale: CSAT `(s − 1) / 4`, NPS `s / 10`.
    pub fn normalized(self) -> f64 {
        match self {
            SatisfactionScore::Csat(s) => (f64::from(s) - 1.0) / 4.0,
            SatisfactionScore::Nps(s) => f64::from(s) / 10.0,
        }
    }

    /// The `kind` value: `csat` or `nps`.
    pub fn kind(self) -> &'static str {
        match self {
            SatisfactionScore::Csat(_) => "csat",
            SatisfactionScore::Nps(_) => "nps",
        }
    }

    /// Whether the score is on its scale (CSAT 1–5, NPS 0–10).
    pub fn in_range(self) -> bool {
        match self {
            SatisfactionScore::Csat(s) => (1..=5).contains(&s),
            SatisfactionScore::Nps(s) => s <= 10,
        }
    }
}

/// One customer-satisfaction response (the `satisfaction` topic).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Satisfaction<'a> {
    /// Response id; the de-duplication key.
    pub id: Cow<'a, str>,
    /// Service the response is about (a label).
    pub service: Option<Cow<'a, str>>,
    /// Owning team (a label).
    pub team: Option<Cow<'a, str>>,
    /// Feature the response is about; gives the service and team (from the
    /// feature's first shipping deploy) when the response names no service.
    pub feature: Option<Cow<'a, str>>,
    /// The answer.
    pub score: SatisfactionScore,
    /// When it was given.
    pub at: Millis,
}

impl Satisfaction<'_> {
    /// Checks the rules of the contract that the wire format cannot express:
    /// an id, a service or a feature to attribute it to, a score on its
    /// scale.
    pub fn validate(&self) -> Result<(), InvalidReason> {
        let empty = |t: &Option<Cow<'_, str>>| t.as_deref().is_some_and(str::is_empty);
        if self.id.is_empty() || empty(&self.service) || empty(&self.team) || empty(&self.feature) {
            return Err(InvalidReason::EmptyField);
        }
        if self.service.is_none() && self.feature.is_none() {
            return Err(InvalidReason::MissingField);
        }
        if !self.score.in_range() {
            return Err(InvalidReason::OutOfRange);
        }
        Ok(())
    }
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
    /// A work-item state transition.
    WorkItem(WorkItem<'a>),
    /// A customer-satisfaction response.
    Satisfaction(Satisfaction<'a>),
    /// A pushed commit.
    Push(PushedChange<'a>),
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

    /// The outcome of an event whose time state does not keep (`late` or
    /// `future`), or `None` when it is in range: every fold starts with
    /// `Outcome::of_time(policy.check(t, now))`.
    #[inline]
    pub fn of_time(check: TimeCheck) -> Option<Outcome> {
        match check {
            TimeCheck::InRange => None,
            TimeCheck::Late => Some(Outcome::Late),
            TimeCheck::Future => Some(Outcome::Future),
        }
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
    /// `status` is not one of the allowed values (also a work item's
    /// `category`, a satisfaction response's `kind`).
    BadStatus,
    /// A change was committed at or after its deploy finished.
    NonPositiveLeadTime,
    /// An incident was resolved before it was opened.
    NegativeRestoreTime,
    /// Not UTF-8, or not a JSON object.
    NotAnObject,
    /// A number outside its scale (a CSAT score outside 1–5, an NPS score
    /// outside 0–10).
    OutOfRange,
}

impl InvalidReason {
    /// Every reason, in export order.
    pub const ALL: [InvalidReason; 10] = [
        InvalidReason::MalformedJson,
        InvalidReason::MissingField,
        InvalidReason::WrongType,
        InvalidReason::EmptyField,
        InvalidReason::BadTimestamp,
        InvalidReason::BadStatus,
        InvalidReason::NonPositiveLeadTime,
        InvalidReason::NegativeRestoreTime,
        InvalidReason::NotAnObject,
        InvalidReason::OutOfRange,
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
            InvalidReason::OutOfRange => "out_of_range",
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
        match (self.status, self.opened_at, self.resolved_at) {
            (IncidentStatus::Opened, None, _) | (IncidentStatus::Resolved, _, None) => {
                Err(InvalidReason::MissingField)
            }
            (_, Some(o), Some(r)) if r < o => Err(InvalidReason::NegativeRestoreTime),
            _ => Ok(()),
        }
    }
}
