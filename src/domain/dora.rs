//! DORA state: every deploy and incident event inside the retained horizon,
//! kept exactly, and the DORA keys computed from them at report time.
//!
//! Deploy and incident streams are small (tens to thousands a day), so state
//! keeps one record per event rather than pre-aggregated buckets. That makes
//! every window exact and lets a late-arriving rollback or incident turn an
//! earlier deploy into a change failure in every window that holds it: the set
//! of failed deploys, the incident links (strict and loose, see
//! [`attribution`]) and the recovery of each failure are derived when the
//! report is built (`report.rs`), never stored.
//!
//! An incident is two events with one id. A resolution that does not say
//! when the incident opened (a CDEvents `incident.resolved` without
//! `customData.opened_at`) is kept as it is and *paired* at report time
//! with the retained opening of the same id (and the same source, when
//! both name one), whichever arrived first: its time to restore is then
//! `resolved_at − opened_at` of that opening, exactly as a native
//! resolution would say. Until the opening arrives (or when it is outside
//! the retained history, or opened after the resolution) it is *unpaired*:
//! no time to restore, counted in [`SeriesReport::incidents_unpaired`].
//!
//! This file holds the settings, the retained records and their folding and
//! pruning, and the first shipping of each feature (which adoption reads).

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::mem::size_of;

use super::event::{Deploy, DeployStatus, Event, Incident, IncidentStatus, Outcome, PushedChange};
use super::labels::{LabelId, Labels};
use super::tier::DoraBands;
use super::time::{Millis, TimePolicy, Windows};
use serde::{Deserialize, Serialize};

pub mod attribution;
mod report;

pub use attribution::{Attribution, IncidentLink, Rule};
pub use report::{DoraReport, OpenIncident, SeriesReport, WindowFigures};

/// Label value used when an event names no team.
pub const UNKNOWN_TEAM: &str = "unknown";

/// How often folding prunes records older than the horizon.
const PRUNE_EVERY: Millis = 60_000;

/// Whether a `failed` deploy (one that never reached its environment) is a
/// change failure. It is never a deployment for deployment frequency, lead
/// time or first ships, whatever this says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailedDeploys {
    /// Not a change failure, and not in the change failure rate at all: DORA,
    /// Four Keys and DevLake count only deployments that reached production.
    #[default]
    Ignore,
    /// A change failure: counted in the change failure rate's numerator and
    /// denominator (`valuepulse_deployments_assessed`), never in frequency.
    ChangeFailure,
}

impl FailedDeploys {
    /// The config value.
    pub fn as_str(self) -> &'static str {
        match self {
            FailedDeploys::Ignore => "ignore",
            FailedDeploys::ChangeFailure => "change_failure",
        }
    }
}

/// What DORA state needs from configuration.
#[derive(Debug, Clone)]
pub struct DoraSettings {
    /// Windows to report, in configured order.
    pub windows: Windows,
    /// Late/future limits and the retained horizon.
    pub time: TimePolicy,
    /// Environments that count; events for others are ignored.
    pub environments: Vec<String>,
    /// Most distinct `service` label values.
    pub max_services: usize,
    /// Most distinct `team` label values.
    pub max_teams: usize,
    /// `attribution.window`: how long before an incident opened a deploy may
    /// have finished to be linked to it in loose mode.
    pub attribution_window: Millis,
    /// `dora.failed_deploys`: whether a `failed` deploy is a change failure.
    pub failed_deploys: FailedDeploys,
    /// `tiers.*`: the bands the tiers are graded with (validated at load).
    pub bands: DoraBands,
}

/// Labels shared by a deploy or incident record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    service: LabelId,
    team: LabelId,
    environment: u8,
}

/// One retained deploy.
#[derive(Debug, Clone)]
struct DeployRecord {
    /// Content hash, to tell an identical redelivery from an update.
    fingerprint: u64,
    key: Key,
    /// Service as written (the label may be `__other__`), for attribution.
    service: Box<str>,
    status: DeployStatus,
    finished_at: Millis,
    /// The changes it lists, with their lead times.
    changes: Box<[ChangeRecord]>,
    rollback_of: Option<Box<str>>,
    /// Artifact shipped (e.g. an image digest).
    artifact: Option<Box<str>>,
    /// An unplanned fix: a rollback (`rollback_of`) or a deploy with
    /// `fixes_incident`.
    rework: bool,
    /// Features this deploy ships (for adoption's "first shipped").
    features: Box<[Box<str>]>,
    /// `(repository, commit)` deployed, when the producer said: joins a
    /// deploy that lists no changes to the pushed commits.
    revision: Option<(Box<str>, Box<str>)>,
}

/// One retained pushed commit: a link of its repository's push chain.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PushRecord {
    /// The commit before it in its push.
    parent: Option<Box<str>>,
    committed_at: Millis,
}

/// One change listed by a retained deploy.
#[derive(Debug, Clone)]
struct ChangeRecord {
    /// Commit id, when the producer gave one: the key that makes a change
    /// count once per service and environment.
    id: Option<Box<str>>,
    /// `finished_at - committed_at` of the deploy listing it; positive.
    lead_time: Millis,
}

/// One retained incident event (the opening or the resolution).
#[derive(Debug, Clone)]
struct IncidentSide {
    fingerprint: u64,
    key: Key,
    /// Service as written (the label may be `__other__`), for attribution.
    service: Box<str>,
    /// Event time: `opened_at` or `resolved_at`.
    at: Millis,
    /// When the incident opened, as this event says: always known for an
    /// opening, unknown for a resolution that does not repeat it.
    opened_at: Option<Millis>,
    /// Who reports the incident (CDEvents subject source), when known.
    source: Option<Box<str>>,
    caused_by_deploy: Option<Box<str>>,
    /// Artifact running when the incident began.
    artifact: Option<Box<str>>,
}

/// Both events of one incident id.
///
/// The two sides are kept whatever order they arrive in; whether they
/// belong together, and so when a resolution without an opening time
/// opened, is decided when the report is built ([`IncidentRecord::belongs`],
/// [`IncidentRecord::opened_at`]).
#[derive(Debug, Default, Clone)]
struct IncidentRecord {
    opened: Option<IncidentSide>,
    resolved: Option<IncidentSide>,
}

impl IncidentRecord {
    /// Whether the retained opening and resolution are one incident: both
    /// present, and their sources equal when both name one.
    fn belongs(&self) -> bool {
        match (&self.opened, &self.resolved) {
            (Some(o), Some(r)) => match (&o.source, &r.source) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            },
            _ => false,
        }
    }

    /// When the incident opened: the resolution's own `opened_at` when it
    /// has one, else (paired) the opening's when it belongs to the same
    /// incident and is not after the resolution; with no resolution, the
    /// opening's. `None` for an unpaired resolution.
    fn opened_at(&self) -> Option<Millis> {
        match &self.resolved {
            Some(r) => r.opened_at.or_else(|| {
                self.belongs()
                    .then(|| self.opened.as_ref().and_then(|o| o.opened_at))
                    .flatten()
                    .filter(|&o| o <= r.at)
            }),
            None => self.opened.as_ref().and_then(|o| o.opened_at),
        }
    }

    /// Time to restore of a resolved incident whose opening time is known
    /// (its own, or its paired opening's); `None` while open or unpaired.
    fn restore(&self) -> Option<Millis> {
        let r = self.resolved.as_ref()?;
        self.opened_at().map(|o| r.at - o)
    }

    /// Whether the incident is open: an opening with no resolution of the
    /// same incident.
    fn is_open(&self) -> bool {
        self.opened.is_some() && (self.resolved.is_none() || !self.belongs())
    }
}

/// DORA state of this process.
#[derive(Debug, Clone)]
pub struct DoraState {
    settings: DoraSettings,
    /// The bands the report grades tiers with.
    bands: DoraBands,
    services: Labels,
    teams: Labels,
    deploys: HashMap<Box<str>, DeployRecord>,
    incidents: HashMap<Box<str>, IncidentRecord>,
    /// Pushed commits per repository, by commit id (the `changes` topic).
    pushes: HashMap<Box<str>, HashMap<Box<str>, PushRecord>>,
    /// When records older than the horizon were last dropped.
    last_prune: Millis,
}

/// The first shipping of a feature, as far as retained history knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirstShip<'s> {
    /// Feature name, as written in the deploy's `features`.
    pub feature: &'s str,
    /// `finished_at` of the earliest deploy that shipped it.
    pub at: Millis,
    /// Service of that deploy.
    pub service: &'s str,
    /// Team of that deploy.
    pub team: &'s str,
}

fn fingerprint<T: Hash>(value: &T) -> u64 {
    let mut h = DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

/// A deploy's content apart from when it finished.
fn content_fingerprint(d: &Deploy<'_>) -> u64 {
    let mut h = DefaultHasher::new();
    let Deploy {
        id,
        service,
        team,
        environment,
        status,
        finished_at: _,
        artifact,
        changes,
        features,
        rollback_of,
        fixes_incident,
        repository,
        revision,
    } = d;
    (id, service, team, environment, status, artifact).hash(&mut h);
    (
        changes,
        features,
        rollback_of,
        fixes_incident,
        repository,
        revision,
    )
        .hash(&mut h);
    h.finish()
}

impl DoraState {
    /// Empty state, grading tiers with [`DoraSettings::bands`].
    pub fn new(settings: DoraSettings) -> Self {
        Self {
            services: Labels::new(settings.max_services),
            teams: Labels::new(settings.max_teams),
            bands: settings.bands,
            settings,
            deploys: HashMap::new(),
            incidents: HashMap::new(),
            pushes: HashMap::new(),
            last_prune: Millis::MIN,
        }
    }

    /// The same state grading tiers with `bands` (validate them first:
    /// [`DoraBands::validate`]).
    #[must_use]
    pub fn with_bands(mut self, bands: DoraBands) -> Self {
        self.bands = bands;
        self.settings.bands = bands;
        self
    }

    /// The settings this state was built with.
    pub fn settings(&self) -> &DoraSettings {
        &self.settings
    }

    /// The bands tiers are graded with (their [`DoraBands::label`] is the
    /// `preset` of `valuepulse_tier_bands_info`).
    pub fn bands(&self) -> &DoraBands {
        &self.bands
    }

    /// Folds one event at processing time `now` and says what became of it.
    pub fn fold(&mut self, event: &Event<'_>, now: Millis) -> Outcome {
        if now.saturating_sub(self.last_prune) >= PRUNE_EVERY {
            self.prune(now);
        }
        match event {
            Event::Deploy(d) => self.fold_deploy(d, now),
            Event::Incident(i) => self.fold_incident(i, now),
            Event::Push(c) => self.fold_push(c, now),
            // Usage, work items and satisfaction belong to other states;
            // they never reach DORA state.
            Event::Usage(_) | Event::WorkItem(_) | Event::Satisfaction(_) => Outcome::Ignored,
        }
    }

    fn environment_index(&self, environment: &str) -> Option<u8> {
        self.settings
            .environments
            .iter()
            .position(|e| e == environment)
            .map(|i| i as u8)
    }

    fn key(&mut self, service: &str, team: Option<&str>, environment: u8) -> Key {
        Key {
            service: self.services.intern(service),
            team: self.teams.intern(team.unwrap_or(UNKNOWN_TEAM)),
            environment,
        }
    }

    fn fold_deploy(&mut self, d: &Deploy<'_>, now: Millis) -> Outcome {
        if let Some(o) = Outcome::of_time(self.settings.time.check(d.finished_at, now)) {
            return o;
        }
        let Some(env) = self.environment_index(&d.environment) else {
            return Outcome::Ignored;
        };
        let fp = content_fingerprint(d);
        // The same deploy reported again, unchanged but for a later finish
        // (Flux repeats a Kustomization's success every interval), is a
        // duplicate: the first finish stands. An earlier finish replaces
        // it, so the state is the same in any arrival order.
        if self
            .deploys
            .get(d.id.as_ref())
            .is_some_and(|e| e.fingerprint == fp && e.finished_at <= d.finished_at)
        {
            return Outcome::Duplicate;
        }
        let record = DeployRecord {
            fingerprint: fp,
            key: self.key(&d.service, d.team.as_deref(), env),
            service: d.service.as_ref().into(),
            status: d.status,
            finished_at: d.finished_at,
            changes: d
                .changes
                .iter()
                .map(|c| ChangeRecord {
                    id: c.id.as_deref().map(Into::into),
                    lead_time: d.finished_at - c.committed_at,
                })
                .collect(),
            rollback_of: d.rollback_of.as_deref().map(Into::into),
            artifact: d.artifact.as_deref().map(Into::into),
            rework: d.rollback_of.is_some() || d.fixes_incident.is_some(),
            features: d.features.iter().map(|f| f.as_ref().into()).collect(),
            revision: d
                .repository
                .as_deref()
                .zip(d.revision.as_deref())
                .map(|(r, c)| (r.into(), c.into())),
        };
        if let Some(slot) = self.deploys.get_mut(d.id.as_ref()) {
            *slot = record;
            Outcome::Updated
        } else {
            self.deploys.insert(d.id.as_ref().into(), record);
            Outcome::Accepted
        }
    }

    fn fold_incident(&mut self, i: &Incident<'_>, now: Millis) -> Outcome {
        if let Some(o) = Outcome::of_time(self.settings.time.check(i.event_time(), now)) {
            return o;
        }
        let Some(env) = self.environment_index(&i.environment) else {
            return Outcome::Ignored;
        };
        let fp = fingerprint(i);
        let same = self
            .incidents
            .get(i.id.as_ref())
            .and_then(|r| match i.status {
                IncidentStatus::Opened => r.opened.as_ref(),
                IncidentStatus::Resolved => r.resolved.as_ref(),
            });
        let outcome = match same {
            Some(side) if side.fingerprint == fp => return Outcome::Duplicate,
            Some(_) => Outcome::Updated,
            None => Outcome::Accepted,
        };
        let side = IncidentSide {
            fingerprint: fp,
            key: self.key(&i.service, i.team.as_deref(), env),
            service: i.service.as_ref().into(),
            at: i.event_time(),
            opened_at: i.opened_at,
            source: i.source.as_deref().map(Into::into),
            caused_by_deploy: i.caused_by_deploy.as_deref().map(Into::into),
            artifact: i.artifact.as_deref().map(Into::into),
        };
        let record = match self.incidents.entry(i.id.as_ref().into()) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(IncidentRecord::default()),
        };
        match i.status {
            IncidentStatus::Opened => record.opened = Some(side),
            IncidentStatus::Resolved => record.resolved = Some(side),
        }
        outcome
    }

    /// Keeps one pushed commit: identical again is a `duplicate`, the same
    /// commit with another parent or time an `update`.
    fn fold_push(&mut self, c: &PushedChange<'_>, now: Millis) -> Outcome {
        if let Some(o) = Outcome::of_time(self.settings.time.check(c.committed_at, now)) {
            return o;
        }
        let record = PushRecord {
            parent: c.parent.as_deref().map(Into::into),
            committed_at: c.committed_at,
        };
        let commits = self.pushes.entry(c.repository.as_ref().into()).or_default();
        match commits.get_mut(c.id.as_ref()) {
            Some(existing) if *existing == record => Outcome::Duplicate,
            Some(existing) => {
                *existing = record;
                Outcome::Updated
            }
            None => {
                commits.insert(c.id.as_ref().into(), record);
                Outcome::Accepted
            }
        }
    }

    /// Drops records older than the horizon, so memory follows the window.
    pub fn prune(&mut self, now: Millis) {
        let horizon = self.settings.time.horizon(now);
        self.deploys.retain(|_, d| d.finished_at >= horizon);
        self.incidents.retain(|_, r| {
            for side in [&mut r.opened, &mut r.resolved] {
                if side.as_ref().is_some_and(|s| s.at < horizon) {
                    *side = None;
                }
            }
            r.opened.is_some() || r.resolved.is_some()
        });
        // A commit older than the horizon gives no lead time any more:
        // the chain walk stops where the retained commits end.
        self.pushes.retain(|_, commits| {
            commits.retain(|_, c| c.committed_at >= horizon);
            !commits.is_empty()
        });
        self.last_prune = now;
    }

    /// For every feature named by a retained deploy that reached a tracked
    /// environment (status not `failed`): its earliest such deploy. Sorted
    /// by feature name.
    pub fn first_ships(&self) -> Vec<FirstShip<'_>> {
        let mut first: BTreeMap<&str, FirstShip<'_>> = BTreeMap::new();
        for d in self.deploys.values() {
            if !d.status.reached_environment() {
                continue;
            }
            for f in &d.features {
                let candidate = FirstShip {
                    feature: f,
                    at: d.finished_at,
                    service: self.services.name(d.key.service),
                    team: self.teams.name(d.key.team),
                };
                first
                    .entry(f)
                    .and_modify(|e| {
                        if (candidate.at, candidate.service) < (e.at, e.service) {
                            *e = candidate;
                        }
                    })
                    .or_insert(candidate);
            }
        }
        first.into_values().collect()
    }

    /// The state as it stood at `cutoff`, as far as retained history
    /// knows: only the deploys finished, incident events and pushes dated
    /// before it (the weekly pulse's "last week" is this state reported at
    /// `cutoff`). Labels and settings are kept.
    #[must_use]
    pub fn as_of(&self, cutoff: Millis) -> Self {
        let mut s = self.clone();
        s.deploys.retain(|_, d| d.finished_at < cutoff);
        s.incidents.retain(|_, r| {
            for side in [&mut r.opened, &mut r.resolved] {
                if side.as_ref().is_some_and(|s| s.at >= cutoff) {
                    *side = None;
                }
            }
            r.opened.is_some() || r.resolved.is_some()
        });
        s.pushes.retain(|_, commits| {
            commits.retain(|_, c| c.committed_at < cutoff);
            !commits.is_empty()
        });
        s
    }

    /// Every team label value interned so far (not `__other__`).
    pub fn teams(&self) -> impl Iterator<Item = &str> {
        (1..self.teams.len()).map(|id| self.teams.name(id as LabelId))
    }

    /// Number of retained deploy records.
    pub fn deploy_count(&self) -> usize {
        self.deploys.len()
    }

    /// Approximate heap bytes held, by component: records (with their text,
    /// change ids and features) and the map slots that hold them.
    pub fn heap_bytes(&self) -> DoraBytes {
        let text = |t: &Option<Box<str>>| t.as_ref().map_or(0, |t| t.len());
        let slot = |size: usize| size + 1;
        let deploys = self.deploys.capacity() * slot(size_of::<(Box<str>, DeployRecord)>())
            + self
                .deploys
                .iter()
                .map(|(id, d)| {
                    id.len()
                        + d.service.len()
                        + text(&d.rollback_of)
                        + text(&d.artifact)
                        + d.revision.as_ref().map_or(0, |(r, c)| r.len() + c.len())
                        + d.changes.len() * size_of::<ChangeRecord>()
                        + d.changes.iter().map(|c| text(&c.id)).sum::<usize>()
                        + d.features.len() * size_of::<Box<str>>()
                        + d.features.iter().map(|f| f.len()).sum::<usize>()
                })
                .sum::<usize>();
        let side = |s: &Option<IncidentSide>| {
            s.as_ref().map_or(0, |s| {
                s.service.len() + text(&s.caused_by_deploy) + text(&s.artifact) + text(&s.source)
            })
        };
        let incidents = self.incidents.capacity() * slot(size_of::<(Box<str>, IncidentRecord)>())
            + self
                .incidents
                .iter()
                .map(|(id, r)| id.len() + side(&r.opened) + side(&r.resolved))
                .sum::<usize>();
        let pushes = self.pushes.capacity()
            * slot(size_of::<(Box<str>, HashMap<Box<str>, PushRecord>)>())
            + self
                .pushes
                .iter()
                .map(|(repo, commits)| {
                    repo.len()
                        + commits.capacity() * slot(size_of::<(Box<str>, PushRecord)>())
                        + commits
                            .iter()
                            .map(|(id, c)| id.len() + text(&c.parent))
                            .sum::<usize>()
                })
                .sum::<usize>();
        DoraBytes {
            deploys,
            incidents,
            pushes,
            labels: self.services.heap_bytes() + self.teams.heap_bytes(),
        }
    }
}

/// Heap bytes of DORA state, by component.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DoraBytes {
    /// Deploy records, their change ids and features.
    pub deploys: usize,
    /// Incident records.
    pub incidents: usize,
    /// Pushed commits (the `changes` topic's push chains).
    pub pushes: usize,
    /// The service and team label tables.
    pub labels: usize,
}

#[cfg(test)]
mod tests;
