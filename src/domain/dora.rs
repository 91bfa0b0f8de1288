//! DORA state: every deploy and incident event inside the retained horizon,
//! kept exactly, and the DORA keys computed from them at report time.
//!
//! Deploy and incident streams are small (tens to thousands a day), so state
//! keeps one record per event rather than pre-aggregated buckets. That makes
//! every window exact and lets a late-arriving rollback or incident turn an
//! earlier deploy into a change failure in every window that holds it: the set
//! of failed deploys, the incident links (strict and loose, see
//! `attribution.rs`) and the recovery of each failure are derived when the
//! report is built, never stored.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::hash::{DefaultHasher, Hash, Hasher};

use hdrhistogram::Histogram;

use super::event::{Deploy, DeployStatus, Event, Incident, IncidentStatus, Outcome};
use super::labels::{LabelId, Labels};
use super::tier::{self, Tier, TierMetric};
use super::time::{DAY_MS, Millis, TimeCheck, TimePolicy, Window};
use serde::{Deserialize, Serialize};

#[path = "attribution.rs"]
mod attribution;

pub use attribution::{Attribution, IncidentLink, Rule};
use attribution::{Linked, Links};

/// Significant decimal digits kept by the lead-time and restore histograms:
/// a reported quantile is never below the true nearest-rank sample and at most
/// 0.1 % above it.
pub const HISTOGRAM_SIGFIG: u8 = 3;

/// Quantiles exported for lead time, time to restore and recovery time.
pub const QUANTILES: [f64; 3] = [0.5, 0.9, 0.95];

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
    pub windows: Vec<Window>,
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
}

impl DoraSettings {
    /// Index of the longest window.
    pub fn longest(&self) -> usize {
        (0..self.windows.len())
            .max_by_key(|&i| self.windows[i].width)
            .expect("at least one window is configured")
    }
}

/// Labels shared by a deploy or incident record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    service: LabelId,
    team: LabelId,
    environment: u8,
}

/// One retained deploy.
#[derive(Debug)]
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
}

/// One change listed by a retained deploy.
#[derive(Debug)]
struct ChangeRecord {
    /// Commit id, when the producer gave one: the key that makes a change
    /// count once per service and environment.
    id: Option<Box<str>>,
    /// `finished_at - committed_at` of the deploy listing it; positive.
    lead_time: Millis,
}

/// One retained incident event (the opening or the resolution).
#[derive(Debug)]
struct IncidentSide {
    fingerprint: u64,
    key: Key,
    /// Service as written (the label may be `__other__`), for attribution.
    service: Box<str>,
    /// Event time: `opened_at` or `resolved_at`.
    at: Millis,
    /// When the incident opened, as this event says.
    opened_at: Millis,
    /// `resolved_at - opened_at`, for a resolution.
    restore: Millis,
    caused_by_deploy: Option<Box<str>>,
    /// Artifact running when the incident began.
    artifact: Option<Box<str>>,
}

/// Both events of one incident id.
#[derive(Debug, Default)]
struct IncidentRecord {
    opened: Option<IncidentSide>,
    resolved: Option<IncidentSide>,
}

/// DORA state of this process.
#[derive(Debug)]
pub struct DoraState {
    settings: DoraSettings,
    services: Labels,
    teams: Labels,
    deploys: HashMap<Box<str>, DeployRecord>,
    incidents: HashMap<Box<str>, IncidentRecord>,
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

/// Quantiles of one distribution, in seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantiles {
    /// Number of samples.
    pub count: u64,
    /// Sum of the samples, in seconds.
    pub sum_seconds: f64,
    /// `(q, value in seconds)` for each of [`QUANTILES`].
    pub values: [(f64, f64); 3],
}

/// Figures of one series key in one window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WindowFigures {
    /// Deploy events finished in the window, by status, indexed by
    /// [`DeployStatus::index`].
    pub attempts: [u64; 3],
    /// Deployments finished in the window: deploys that reached the
    /// environment (`succeeded` or `rolled_back`). The basis of deployment
    /// frequency.
    pub deployments: u64,
    /// Deploys assessed for change failure: the deployments, plus `failed`
    /// deploys when `dora.failed_deploys` is `change_failure`. The
    /// denominator of the change failure rate.
    pub assessed: u64,
    /// Of the assessed deploys, change failures, indexed by
    /// [`Attribution::index`]: strict first, then loose.
    pub failed: [u64; 2],
    /// Of the deployments, rework: rollbacks and deploys with
    /// `fixes_incident`.
    pub rework: u64,
    /// Lead time of the changes whose first deployment (per service and
    /// environment) is in the window.
    pub lead_time: Option<Quantiles>,
    /// Restore time of incidents resolved in the window.
    pub time_to_restore: Option<Quantiles>,
    /// Recovery time of the (strict) change failures finished in the window
    /// that have recovered.
    pub recovery: Option<Quantiles>,
    /// Incidents opened in the window that no rule links to a deploy.
    pub unattributed: u64,
}

impl WindowFigures {
    /// Change failures in `mode`.
    pub fn failed(&self, mode: Attribution) -> u64 {
        self.failed[mode.index()]
    }

    /// `failed / assessed` in `mode`, or `None` without assessed deploys.
    pub fn change_failure_ratio(&self, mode: Attribution) -> Option<f64> {
        (self.assessed > 0).then(|| self.failed(mode) as f64 / self.assessed as f64)
    }

    /// `rework / deployments`, or `None` without deploys.
    pub fn rework_ratio(&self) -> Option<f64> {
        (self.deployments > 0).then(|| self.rework as f64 / self.deployments as f64)
    }
}

/// Everything exported for one `(service, team, environment)`.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesReport<'s> {
    /// `service` label.
    pub service: &'s str,
    /// `team` label.
    pub team: &'s str,
    /// `environment` label.
    pub environment: &'s str,
    /// Figures per window, aligned with [`DoraSettings::windows`].
    pub windows: Vec<WindowFigures>,
    /// Whether any deploy (of any status) falls in the longest window: deploy
    /// counts are exported (zeros included) only then.
    pub has_deploys: bool,
    /// Whether any incident opened in the longest window: unattributed
    /// counts are exported (zeros included) only then.
    pub has_opened_incidents: bool,
    /// Open incidents, when this key has any incident retained.
    pub incidents_open: Option<u64>,
    /// Tier of each key that has data in the longest window.
    pub tiers: Vec<(TierMetric, Tier)>,
}

/// The report of all DORA series at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct DoraReport<'s> {
    /// One entry per label set, sorted by (service, team, environment).
    pub series: Vec<SeriesReport<'s>>,
    /// Events whose service was folded into `__other__`.
    pub service_overflow: u64,
    /// Events whose team was folded into `__other__`.
    pub team_overflow: u64,
}

fn fingerprint<T: Hash>(value: &T) -> u64 {
    let mut h = DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

impl DoraState {
    /// Empty state.
    pub fn new(settings: DoraSettings) -> Self {
        Self {
            services: Labels::new(settings.max_services),
            teams: Labels::new(settings.max_teams),
            settings,
            deploys: HashMap::new(),
            incidents: HashMap::new(),
            last_prune: Millis::MIN,
        }
    }

    /// The settings this state was built with.
    pub fn settings(&self) -> &DoraSettings {
        &self.settings
    }

    /// Folds one event at processing time `now` and says what became of it.
    pub fn fold(&mut self, event: &Event<'_>, now: Millis) -> Outcome {
        if now.saturating_sub(self.last_prune) >= PRUNE_EVERY {
            self.prune(now);
        }
        match event {
            Event::Deploy(d) => self.fold_deploy(d, now),
            Event::Incident(i) => self.fold_incident(i, now),
            // Usage belongs to adoption state; it never reaches DORA state.
            Event::Usage(_) => Outcome::Ignored,
        }
    }

    fn environment_index(&self, environment: &str) -> Option<u8> {
        self.settings
            .environments
            .iter()
            .position(|e| e == environment)
            .map(|i| i as u8)
    }

    fn time_outcome(&self, t: Millis, now: Millis) -> Option<Outcome> {
        match self.settings.time.check(t, now) {
            TimeCheck::InRange => None,
            TimeCheck::Late => Some(Outcome::Late),
            TimeCheck::Future => Some(Outcome::Future),
        }
    }

    fn key(&mut self, service: &str, team: Option<&str>, environment: u8) -> Key {
        Key {
            service: self.services.intern(service),
            team: self.teams.intern(team.unwrap_or(UNKNOWN_TEAM)),
            environment,
        }
    }

    fn fold_deploy(&mut self, d: &Deploy<'_>, now: Millis) -> Outcome {
        if let Some(o) = self.time_outcome(d.finished_at, now) {
            return o;
        }
        let Some(env) = self.environment_index(&d.environment) else {
            return Outcome::Ignored;
        };
        let fp = fingerprint(d);
        if self
            .deploys
            .get(d.id.as_ref())
            .is_some_and(|e| e.fingerprint == fp)
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
        };
        match self.deploys.get_mut(d.id.as_ref()) {
            Some(slot) => {
                *slot = record;
                Outcome::Updated
            }
            None => {
                self.deploys.insert(d.id.as_ref().into(), record);
                Outcome::Accepted
            }
        }
    }

    fn fold_incident(&mut self, i: &Incident<'_>, now: Millis) -> Outcome {
        if let Some(o) = self.time_outcome(i.event_time(), now) {
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
            restore: i.resolved_at.map_or(0, |r| r - i.opened_at),
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
            for f in d.features.iter() {
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

    /// Number of retained deploy records.
    pub fn deploy_count(&self) -> usize {
        self.deploys.len()
    }

    /// Label values of a key.
    fn names(&self, key: Key) -> (&str, &str, &str) {
        (
            self.services.name(key.service),
            self.teams.name(key.team),
            &self.settings.environments[key.environment as usize],
        )
    }

    /// How every retained incident is attributed, sorted by incident id:
    /// the audit trail behind the strict and loose change failure figures.
    pub fn incident_links(&self) -> Vec<IncidentLink<'_>> {
        let links = Links::new(
            &self.deploys,
            &self.incidents,
            self.settings.attribution_window,
        );
        let mut out: Vec<IncidentLink<'_>> = links
            .incidents
            .iter()
            .map(|l| IncidentLink {
                incident: l.id,
                opened_at: l.view.opened_at,
                link: l.link,
            })
            .collect();
        out.sort_unstable_by_key(|l| l.incident);
        out
    }

    /// For every change id listed by a retained deployment (a deploy that
    /// reached its environment), per service (as written) and environment:
    /// the `(finished_at, deploy id)` of the first deployment listing it.
    /// Ties at the same millisecond go to the smaller deploy id. Derived from
    /// the whole retained history, so arrival order, redeliveries and replay
    /// cannot change it.
    fn first_deploys_of_changes(&self) -> HashMap<(&str, u8, &str), (Millis, &str)> {
        let mut first: HashMap<(&str, u8, &str), (Millis, &str)> = HashMap::new();
        for (id, d) in &self.deploys {
            if !d.status.reached_environment() {
                continue;
            }
            for c in d.changes.iter() {
                let Some(cid) = c.id.as_deref() else { continue };
                let candidate = (d.finished_at, &**id);
                first
                    .entry((&*d.service, d.key.environment, cid))
                    .and_modify(|e| *e = (*e).min(candidate))
                    .or_insert(candidate);
            }
        }
        first
    }

    /// Computes every DORA figure at `now`.
    pub fn report(&self, now: Millis) -> DoraReport<'_> {
        let windows = &self.settings.windows;
        let longest = self.settings.longest();
        let links = Links::new(
            &self.deploys,
            &self.incidents,
            self.settings.attribution_window,
        );

        let mut acc: BTreeMap<(&str, &str, &str), Accumulator> = BTreeMap::new();
        let new = || Accumulator::new(windows.len());
        let first_deploys = self.first_deploys_of_changes();

        for (id, d) in &self.deploys {
            if !windows[longest].contains(d.finished_at, now) {
                continue;
            }
            let deployment = d.status.reached_environment();
            let assessed =
                deployment || self.settings.failed_deploys == FailedDeploys::ChangeFailure;
            let failed = Attribution::ALL.map(|m| assessed && links.is_failure(id, d, m));
            let recovery = if failed[Attribution::Strict.index()] {
                links.recovery(id, d)
            } else {
                None
            };
            // Lead time of the changes this deploy is the first deployment of.
            let lead_times: Vec<Millis> = if deployment {
                d.changes
                    .iter()
                    .filter(|c| match &c.id {
                        None => true,
                        Some(cid) => {
                            first_deploys.get(&(&*d.service, d.key.environment, &**cid))
                                == Some(&(d.finished_at, &**id))
                        }
                    })
                    .map(|c| c.lead_time)
                    .collect()
            } else {
                Vec::new()
            };
            let a = acc.entry(self.names(d.key)).or_insert_with(new);
            for (w, window) in windows.iter().enumerate() {
                if !window.contains(d.finished_at, now) {
                    continue;
                }
                a.attempts[d.status.index()][w] += 1;
                if deployment {
                    a.deployments[w] += 1;
                    a.rework[w] += u64::from(d.rework);
                }
                if assessed {
                    a.assessed[w] += 1;
                }
                for (m, f) in failed.iter().enumerate() {
                    a.failed[m][w] += u64::from(*f);
                }
                for &lt in &lead_times {
                    a.lead_time[w].record(lt as u64);
                }
                if let Some(r) = recovery {
                    a.recovery[w].record(r as u64);
                }
            }
        }

        for r in self.incidents.values() {
            let any = r.opened.as_ref().or(r.resolved.as_ref());
            if let Some(side) = any {
                let a = acc.entry(self.names(side.key)).or_insert_with(new);
                a.has_incidents = true;
                if r.resolved.is_none() {
                    a.open += 1;
                }
            }
            if let Some(res) = &r.resolved {
                let a = acc.entry(self.names(res.key)).or_insert_with(new);
                for (w, window) in windows.iter().enumerate() {
                    if window.contains(res.at, now) {
                        a.restore[w].record(res.restore as u64);
                    }
                }
            }
        }

        for Linked { view, link, .. } in &links.incidents {
            if !windows[longest].contains(view.opened_at, now) {
                continue;
            }
            let a = acc.entry(self.names(view.key)).or_insert_with(new);
            a.has_opened_incidents = true;
            if link.is_none() {
                for (w, window) in windows.iter().enumerate() {
                    if window.contains(view.opened_at, now) {
                        a.unattributed[w] += 1;
                    }
                }
            }
        }

        // Largest trackable value: 100 years in milliseconds; beyond it
        // samples saturate. The histogram only grows as far as values need.
        let mut scratch =
            Histogram::new_with_bounds(1, 100 * 365 * DAY_MS as u64, HISTOGRAM_SIGFIG)
                .expect("static histogram bounds are valid");
        let series = acc
            .into_iter()
            .map(|((service, team, environment), a)| {
                a.finish(
                    service,
                    team,
                    environment,
                    &windows[longest],
                    longest,
                    &mut scratch,
                )
            })
            .collect();
        DoraReport {
            series,
            service_overflow: self.services.overflow(),
            team_overflow: self.teams.overflow(),
        }
    }
}

/// Per-key sums while a report is being built.
struct Accumulator {
    /// Per status ([`DeployStatus::index`]), per window.
    attempts: [Vec<u64>; 3],
    deployments: Vec<u64>,
    assessed: Vec<u64>,
    /// Per attribution mode, per window.
    failed: [Vec<u64>; 2],
    rework: Vec<u64>,
    lead_time: Vec<Samples>,
    restore: Vec<Samples>,
    recovery: Vec<Samples>,
    unattributed: Vec<u64>,
    open: u64,
    has_incidents: bool,
    has_opened_incidents: bool,
}

/// Samples of one distribution, in milliseconds, kept raw until the report
/// asks for quantiles so that one histogram serves every series.
#[derive(Default)]
pub(crate) struct Samples(Vec<u64>);

impl Samples {
    pub(crate) fn record(&mut self, ms: u64) {
        self.0.push(ms);
    }

    pub(crate) fn quantiles(&self, scratch: &mut Histogram<u64>) -> Option<Quantiles> {
        if self.0.is_empty() {
            return None;
        }
        scratch.reset();
        let mut sum_ms: u128 = 0;
        for &v in &self.0 {
            scratch.saturating_record(v);
            sum_ms += u128::from(v);
        }
        Some(Quantiles {
            count: self.0.len() as u64,
            sum_seconds: sum_ms as f64 / 1000.0,
            values: QUANTILES.map(|q| (q, scratch.value_at_quantile(q) as f64 / 1000.0)),
        })
    }
}

impl Accumulator {
    fn new(windows: usize) -> Self {
        let samples = || (0..windows).map(|_| Samples::default()).collect();
        Self {
            attempts: [vec![0; windows], vec![0; windows], vec![0; windows]],
            deployments: vec![0; windows],
            assessed: vec![0; windows],
            failed: [vec![0; windows], vec![0; windows]],
            rework: vec![0; windows],
            lead_time: samples(),
            restore: samples(),
            recovery: samples(),
            unattributed: vec![0; windows],
            open: 0,
            has_incidents: false,
            has_opened_incidents: false,
        }
    }

    fn finish<'s>(
        self,
        service: &'s str,
        team: &'s str,
        environment: &'s str,
        longest_window: &Window,
        longest: usize,
        scratch: &mut Histogram<u64>,
    ) -> SeriesReport<'s> {
        let windows: Vec<WindowFigures> = (0..self.deployments.len())
            .map(|w| WindowFigures {
                attempts: [
                    self.attempts[0][w],
                    self.attempts[1][w],
                    self.attempts[2][w],
                ],
                deployments: self.deployments[w],
                assessed: self.assessed[w],
                failed: [self.failed[0][w], self.failed[1][w]],
                rework: self.rework[w],
                lead_time: self.lead_time[w].quantiles(scratch),
                time_to_restore: self.restore[w].quantiles(scratch),
                recovery: self.recovery[w].quantiles(scratch),
                unattributed: self.unattributed[w],
            })
            .collect();
        let long = &windows[longest];
        let has_deploys = long.attempts.iter().any(|&n| n > 0);
        let mut tiers = Vec::new();
        if has_deploys {
            let per_day = long.deployments as f64 / longest_window.days();
            tiers.push((
                TierMetric::DeploymentFrequency,
                tier::deployment_frequency(per_day),
            ));
        }
        if let Some(q) = &long.lead_time {
            tiers.push((TierMetric::LeadTime, tier::lead_time(q.values[0].1)));
        }
        // The change failure tier is graded on strict attribution: inferred
        // links never lower a tier.
        if let Some(r) = long.change_failure_ratio(Attribution::Strict) {
            tiers.push((TierMetric::ChangeFailureRate, tier::change_failure_rate(r)));
        }
        if let Some(q) = &long.time_to_restore {
            tiers.push((
                TierMetric::TimeToRestore,
                tier::time_to_restore(q.values[0].1),
            ));
        }
        SeriesReport {
            service,
            team,
            environment,
            windows,
            has_deploys,
            has_opened_incidents: self.has_opened_incidents,
            incidents_open: self.has_incidents.then_some(self.open),
            tiers,
        }
    }
}

#[cfg(test)]
#[path = "dora_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "attribution_tests.rs"]
mod attribution_tests;

#[cfg(test)]
#[path = "dora_changes_tests.rs"]
mod changes_tests;
