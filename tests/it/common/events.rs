//! Native events for the tests, built on the daemon's own wire types
//! (`valuepulse::ingest::decode::{DeployV1, IncidentV1, UsageV1, …}`) and
//! serialised with serde, so that a test writes each event's fields and never
//! its JSON shape.
//!
//! The builders take the common fields; the `with_*` modifiers of
//! [`DeployExt`] and [`IncidentExt`] add the rest, and struct update syntax
//! (`DeployV1 { version: …, ..deploy(…) }`) anything else. Times are
//! offsets in seconds from `now` (Unix seconds), written by [`super::at`].
//! [`Event::record`] gives the `(key, payload)` pair to publish, keyed as a
//! producer keys it (deploys and incidents by service, usage by user).
//!
//! A record that is itself the input under test (malformed, invalid, with
//! odd fields) stays hand-written where the test builds it.

use std::borrow::Cow;

use serde::Serialize;
use valuepulse::ingest::decode::{
    ChangeV1, DeployV1, IncidentV1, SatisfactionV1, UsageV1, WorkItemV1, format_time, parse_time,
};

use super::at;

/// An owned text field of a wire type.
fn text(s: &str) -> Cow<'static, str> {
    Cow::Owned(s.to_owned())
}

/// A production deploy of `service` by `team`, finished at `now + finished`,
/// with no changes and no features.
pub fn deploy(
    now: i64,
    id: &str,
    service: &str,
    team: &str,
    status: &str,
    finished: i64,
) -> DeployV1<'static> {
    DeployV1 {
        id: text(id),
        service: text(service),
        team: Some(text(team)),
        environment: Some(text("production")),
        status: text(status),
        finished_at: at(now, finished).into(),
        ..DeployV1::default()
    }
}

/// An incident of `service` by `team` in production, severity `sev2`, opened
/// at `now + opened`: `resolved` at `now + r` when `resolved` is `Some(r)`,
/// else `opened`.
pub fn incident(
    now: i64,
    id: &str,
    service: &str,
    team: &str,
    opened: i64,
    resolved: Option<i64>,
) -> IncidentV1<'static> {
    IncidentV1 {
        id: text(id),
        service: text(service),
        team: Some(text(team)),
        environment: Some(text("production")),
        status: text(if resolved.is_some() {
            "resolved"
        } else {
            "opened"
        }),
        severity: Some(text("sev2")),
        opened_at: at(now, opened).into(),
        resolved_at: resolved.map(|r| at(now, r).into()),
        ..IncidentV1::default()
    }
}

/// `user` used `feature` at `now + offset` (no account).
pub fn usage(now: i64, feature: &str, user: &str, offset: i64) -> UsageV1<'static> {
    UsageV1 {
        feature: text(feature),
        user: text(user),
        account: None,
        at: at(now, offset).into(),
    }
}

/// A native event: its JSON, and the key a producer gives its record.
pub trait Event: Serialize {
    /// The record key.
    fn key(&self) -> String;

    /// The event as JSON.
    fn json(&self) -> String {
        serde_json::to_string(self).expect("a wire type serialises")
    }

    /// `(key, payload)`, as [`super::produce`] takes it.
    fn record(&self) -> (String, String) {
        (self.key(), self.json())
    }
}

impl Event for DeployV1<'_> {
    fn key(&self) -> String {
        self.service.clone().into_owned()
    }
}

impl Event for IncidentV1<'_> {
    fn key(&self) -> String {
        self.service.clone().into_owned()
    }
}

impl Event for UsageV1<'_> {
    fn key(&self) -> String {
        self.user.clone().into_owned()
    }
}

impl Event for WorkItemV1<'_> {
    fn key(&self) -> String {
        self.id.clone().into_owned()
    }
}

impl Event for SatisfactionV1<'_> {
    fn key(&self) -> String {
        self.service
            .as_ref()
            .or(self.feature.as_ref())
            .map_or_else(|| "none".to_owned(), |k| k.clone().into_owned())
    }
}

/// The modifiers of a deploy.
pub trait DeployExt: Sized {
    /// In `env` rather than production.
    #[must_use]
    fn with_env(self, env: &str) -> Self;
    /// Ships the changes `(commit id, committed at now + offset)`.
    #[must_use]
    fn with_changes(self, now: i64, changes: &[(&str, i64)]) -> Self;
    /// Ships one change per lead time (seconds before the deploy finished),
    /// with ids `<deploy id>-c0`, `-c1`, ….
    #[must_use]
    fn with_leads(self, leads: &[i64]) -> Self;
    /// Ships `features`.
    #[must_use]
    fn with_features(self, features: &[&str]) -> Self;
    /// Rolls back deploy `of`.
    #[must_use]
    fn with_rollback_of(self, of: &str) -> Self;
    /// Ships `artifact`.
    #[must_use]
    fn with_artifact(self, artifact: &str) -> Self;
    /// Deploys version `version` (written, never read).
    #[must_use]
    fn with_version(self, version: &str) -> Self;
}

impl DeployExt for DeployV1<'static> {
    fn with_env(self, env: &str) -> Self {
        Self {
            environment: Some(text(env)),
            ..self
        }
    }

    fn with_changes(mut self, now: i64, changes: &[(&str, i64)]) -> Self {
        self.changes.extend(changes.iter().map(|(id, t)| ChangeV1 {
            id: Some(text(id)),
            committed_at: at(now, *t).into(),
        }));
        self
    }

    fn with_leads(mut self, leads: &[i64]) -> Self {
        let finished = parse_time(&self.finished_at).expect("finished_at is RFC 3339");
        let first = self.changes.len();
        self.changes
            .extend(leads.iter().enumerate().map(|(i, lead)| ChangeV1 {
                id: Some(format!("{}-c{}", self.id, first + i).into()),
                committed_at: format_time(finished - lead * 1000).into(),
            }));
        self
    }

    fn with_features(mut self, features: &[&str]) -> Self {
        self.features.extend(features.iter().map(|f| text(f)));
        self
    }

    fn with_rollback_of(self, of: &str) -> Self {
        Self {
            rollback_of: Some(text(of)),
            ..self
        }
    }

    fn with_artifact(self, artifact: &str) -> Self {
        Self {
            artifact: Some(text(artifact)),
            ..self
        }
    }

    fn with_version(self, version: &str) -> Self {
        Self {
            version: Some(text(version)),
            ..self
        }
    }
}

/// The modifiers of an incident.
pub trait IncidentExt: Sized {
    /// In `env` rather than production.
    #[must_use]
    fn with_env(self, env: &str) -> Self;
    /// Caused by deploy `deploy` (explicit attribution).
    #[must_use]
    fn with_cause(self, deploy: Option<&str>) -> Self;
    /// Running `artifact` when it began.
    #[must_use]
    fn with_artifact(self, artifact: &str) -> Self;
}

impl IncidentExt for IncidentV1<'static> {
    fn with_env(self, env: &str) -> Self {
        Self {
            environment: Some(text(env)),
            ..self
        }
    }

    fn with_cause(self, deploy: Option<&str>) -> Self {
        Self {
            caused_by_deploy: deploy.map(text),
            ..self
        }
    }

    fn with_artifact(self, artifact: &str) -> Self {
        Self {
            artifact: Some(text(artifact)),
            ..self
        }
    }
}
