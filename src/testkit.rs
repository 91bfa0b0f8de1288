//! The unit tests' kit: one fixed `now`, native events built on the wire
//! types (so a test names only the fields it is about), and the crate's one
//! seeded [`Rng`].
//!
//! Builders fill the required fields with the house's example values
//! (service `checkout`, the other required fields from the arguments) and
//! leave every optional field out; a test sets what it needs with struct
//! update syntax or plain assignment, then writes the event with [`json`].

use serde::Serialize;

use crate::domain::Millis;
use crate::ingest::decode::{
    DeployV1, IncidentV1, SatisfactionV1, UsageV1, WorkItemV1, format_time,
};

pub(crate) use crate::rng::Rng;

/// The tests' "now": 2027-01-15T08:00:00Z.
pub(crate) const NOW: Millis = 1_800_000_000_000;
/// An hour in milliseconds.
pub(crate) const HOUR: Millis = 3_600_000;

/// A succeeded production deploy of `checkout` (environment left out, so
/// `production` by default).
pub(crate) fn deploy(id: &str, finished_at: Millis) -> DeployV1<'_> {
    DeployV1 {
        id: id.into(),
        service: "checkout".into(),
        status: "succeeded".into(),
        finished_at: format_time(finished_at).into(),
        ..DeployV1::default()
    }
}

/// An incident of `checkout` opened at `opened_at`.
pub(crate) fn incident(id: &str, opened_at: Millis) -> IncidentV1<'_> {
    IncidentV1 {
        id: id.into(),
        service: "checkout".into(),
        status: "opened".into(),
        opened_at: format_time(opened_at).into(),
        ..IncidentV1::default()
    }
}

/// `user` used `feature` at `at`.
pub(crate) fn usage<'a>(feature: &'a str, user: &'a str, at: Millis) -> UsageV1<'a> {
    UsageV1 {
        feature: feature.into(),
        user: user.into(),
        at: format_time(at).into(),
        account: None,
    }
}

/// Work item `id` of `checkout` entered `state` at `at`.
pub(crate) fn work_item<'a>(id: &'a str, state: &'a str, at: Millis) -> WorkItemV1<'a> {
    WorkItemV1 {
        id: id.into(),
        service: "checkout".into(),
        state: state.into(),
        at: format_time(at).into(),
        ..WorkItemV1::default()
    }
}

/// A response about `checkout`: `kind` (`csat` or `nps`) `score` at `at`.
pub(crate) fn satisfaction<'a>(
    id: &'a str,
    kind: &'a str,
    score: i64,
    at: Millis,
) -> SatisfactionV1<'a> {
    SatisfactionV1 {
        id: id.into(),
        service: Some("checkout".into()),
        kind: kind.into(),
        score,
        at: format_time(at).into(),
        ..SatisfactionV1::default()
    }
}

/// An event's JSON, as a producer writes it.
pub(crate) fn json(event: &impl Serialize) -> String {
    serde_json::to_string(event).expect("a wire event always serializes")
}
