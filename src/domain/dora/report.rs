//! The DORA report: every figure of every series and window, computed at
//! scrape time from the exact event lists of [`DoraState`], and the audit
//! trail of how each incident is attributed.

use std::collections::{BTreeMap, HashMap};

use hdrhistogram::Histogram;

use super::attribution::{Attribution, IncidentLink, Linked, Links};
use super::{DoraState, FailedDeploys, Key};
use crate::domain::labels::LabelId;
use crate::domain::quantiles::{self, Quantiles, Samples};
use crate::domain::tier::{DoraBands, Tier, TierMetric};
use crate::domain::time::{Millis, Window, Windows};

impl DoraState {
    /// Label values of a key.
    fn names(&self, key: Key) -> (&str, &str, &str) {
        (
            self.services.name(key.service),
            self.teams.name(key.team),
            &self.settings.environments[key.environment as usize],
        )
    }

    /// The team of each service's latest retained deploy per environment
    /// (latest by `finished_at`, ties to the larger deploy id), among
    /// deploys that name a team. Derived from the whole retained history,
    /// so arrival order and replay cannot change it.
    fn deploy_teams(&self) -> HashMap<(LabelId, u8), LabelId> {
        let unknown = self.teams.get(super::UNKNOWN_TEAM);
        let mut latest: HashMap<(LabelId, u8), (Millis, &str, LabelId)> = HashMap::new();
        for (id, d) in &self.deploys {
            if Some(d.key.team) == unknown {
                continue;
            }
            let candidate = (d.finished_at, &**id, d.key.team);
            latest
                .entry((d.key.service, d.key.environment))
                .and_modify(|best| {
                    if (candidate.0, candidate.1) > (best.0, best.1) {
                        *best = candidate;
                    }
                })
                .or_insert(candidate);
        }
        latest
            .into_iter()
            .map(|(k, (_, _, team))| (k, team))
            .collect()
    }

    /// An incident's series key: its own, except that an incident naming no
    /// team (CDEvents incidents, a PagerDuty service without a mapping) takes
    /// the team of its service's latest deploy in the same environment, so
    /// its time to restore meets that service's deploys (and the value
    /// delivery score gets its recovery factor). Without such a deploy it
    /// stays `unknown`.
    fn incident_key(&self, key: Key, deploy_teams: &HashMap<(LabelId, u8), LabelId>) -> Key {
        if Some(key.team) != self.teams.get(super::UNKNOWN_TEAM) {
            return key;
        }
        match deploy_teams.get(&(key.service, key.environment)) {
            Some(&team) => Key { team, ..key },
            None => key,
        }
    }

    /// Every open incident (an opening with no resolution of the same
    /// incident), with its series labels as the report files it, sorted by
    /// opening time then id.
    pub fn open_incidents(&self) -> Vec<OpenIncident<'_>> {
        let deploy_teams = self.deploy_teams();
        let mut out: Vec<OpenIncident<'_>> = self
            .incidents
            .iter()
            .filter(|(_, r)| r.is_open())
            .filter_map(|(id, r)| {
                let o = r.opened.as_ref()?;
                let (service, team, environment) =
                    self.names(self.incident_key(o.key, &deploy_teams));
                Some(OpenIncident {
                    id,
                    service,
                    team,
                    environment,
                    opened_at: o.opened_at.unwrap_or(o.at),
                })
            })
            .collect();
        out.sort_unstable_by_key(|i| (i.opened_at, i.id));
        out
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
    fn first_deploys_of_changes<'s>(
        &'s self,
        changes: &HashMap<&'s str, Vec<(Option<&'s str>, Millis)>>,
    ) -> HashMap<(&'s str, u8, &'s str), (Millis, &'s str)> {
        let mut first: HashMap<(&str, u8, &str), (Millis, &str)> = HashMap::new();
        for (id, d) in &self.deploys {
            let Some(listed) = changes.get(&**id) else {
                continue;
            };
            for &(cid, _) in listed {
                let Some(cid) = cid else { continue };
                let candidate = (d.finished_at, &**id);
                first
                    .entry((&*d.service, d.key.environment, cid))
                    .and_modify(|e| *e = (*e).min(candidate))
                    .or_insert(candidate);
            }
        }
        first
    }

    /// The commits pushed up to `revision` of `repository`, walking the
    /// retained push chain back through each commit's parent: (commit,
    /// committed at), newest first. Empty when the revision was not pushed
    /// (or not yet: a deploy that arrives before its push is joined when the
    /// push arrives, since the walk happens at each report).
    fn pushed_up_to(&self, repository: &str, revision: &str) -> Vec<(&str, Millis)> {
        let Some(commits) = self.pushes.get(repository) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut next = Some(revision);
        while let Some(id) = next {
            let Some((id, c)) = commits.get_key_value(id) else {
                break;
            };
            // A chain never holds more commits than the repository: more
            // means a cycle in bad input; stop.
            if out.len() >= commits.len() {
                break;
            }
            out.push((&**id, c.committed_at));
            next = c.parent.as_deref();
        }
        out
    }

    /// The changes of every retained deployment (a deploy that reached its
    /// environment), with their lead times: the ones it lists; or, when it
    /// lists none and names its repository and revision, every retained
    /// commit pushed up to that revision committed before it finished. The
    /// first-deployment rule then counts each commit once, at the first
    /// deployment of its service and environment that delivered it.
    fn deployed_changes(&self) -> HashMap<&str, Vec<(Option<&str>, Millis)>> {
        let mut out = HashMap::new();
        for (id, d) in &self.deploys {
            if !d.status.reached_environment() {
                continue;
            }
            let listed: Vec<(Option<&str>, Millis)> = match &d.revision {
                Some((repository, revision)) if d.changes.is_empty() => self
                    .pushed_up_to(repository, revision)
                    .into_iter()
                    .map(|(cid, at)| (Some(cid), d.finished_at - at))
                    .filter(|(_, lead)| *lead > 0)
                    .collect(),
                _ => d
                    .changes
                    .iter()
                    .map(|c| (c.id.as_deref(), c.lead_time))
                    .collect(),
            };
            out.insert(&**id, listed);
        }
        out
    }

    /// Computes every DORA figure at `now`.
    pub fn report(&self, now: Millis) -> DoraReport<'_> {
        self.report_over(now, &self.settings.windows)
    }

    /// Computes every DORA figure at `now` over `windows` instead of the
    /// configured ones (the weekly pulse: one window of 7 days), tiers
    /// graded on the longest of them.
    pub fn report_over(&self, now: Millis, windows: &Windows) -> DoraReport<'_> {
        let longest = windows.longest();
        let links = Links::new(
            &self.deploys,
            &self.incidents,
            self.settings.attribution_window,
        );

        let mut acc: BTreeMap<(&str, &str, &str), Accumulator> = BTreeMap::new();
        let new = || Accumulator::new(windows.len());
        let deployed_changes = self.deployed_changes();
        let first_deploys = self.first_deploys_of_changes(&deployed_changes);
        let deploy_teams = self.deploy_teams();
        let incident_names = |key: Key| self.names(self.incident_key(key, &deploy_teams));

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
            let lead_times: Vec<Millis> = deployed_changes
                .get(&**id)
                .map(|listed| {
                    listed
                        .iter()
                        .filter(|(cid, _)| match cid {
                            None => true,
                            Some(cid) => {
                                first_deploys.get(&(&*d.service, d.key.environment, *cid))
                                    == Some(&(d.finished_at, &**id))
                            }
                        })
                        .map(|(_, lead)| *lead)
                        .collect()
                })
                .unwrap_or_default();
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
                let a = acc.entry(incident_names(side.key)).or_insert_with(new);
                a.has_incidents = true;
                if r.is_open() {
                    a.open += 1;
                }
            }
            if let Some(res) = &r.resolved {
                let a = acc.entry(incident_names(res.key)).or_insert_with(new);
                if let Some(restore) = r.restore() {
                    for (w, window) in windows.iter().enumerate() {
                        if window.contains(res.at, now) {
                            a.restore[w].record(restore as u64);
                        }
                    }
                } else {
                    a.has_incidents = true;
                    a.unpaired += 1;
                }
            }
        }

        for Linked { view, link, .. } in &links.incidents {
            // An unpaired resolution has no opening time to window by; it is
            // counted as unpaired instead.
            let Some(opened_at) = view.opened_at else {
                continue;
            };
            if !windows[longest].contains(opened_at, now) {
                continue;
            }
            let a = acc.entry(incident_names(view.key)).or_insert_with(new);
            a.has_opened_incidents = true;
            if link.is_none() {
                for (w, window) in windows.iter().enumerate() {
                    if window.contains(opened_at, now) {
                        a.unattributed[w] += 1;
                    }
                }
            }
        }

        let mut scratch = quantiles::scratch();
        let series = acc
            .into_iter()
            .map(|((service, team, environment), a)| {
                a.finish(
                    service,
                    team,
                    environment,
                    (&windows[longest], longest),
                    &self.bands,
                    &mut scratch,
                )
            })
            .collect();
        DoraReport {
            series,
            service_overflow: self.services.overflow(),
            team_overflow: self.teams.overflow(),
            bands: self.bands.label(),
        }
    }
}

/// An incident still open, as [`DoraState::open_incidents`] lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenIncident<'s> {
    /// Incident id.
    pub id: &'s str,
    /// `service` label of its series.
    pub service: &'s str,
    /// `team` label of its series (its service's latest deploy's team when
    /// it names none).
    pub team: &'s str,
    /// `environment` label.
    pub environment: &'s str,
    /// When it opened.
    pub opened_at: Millis,
}

/// Figures of one series key in one window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WindowFigures {
    /// Deploy events finished in the window, by status, indexed by
    /// [`DeployStatus::index`](crate::domain::DeployStatus::index).
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
    /// Figures per window, aligned with [`DoraSettings::windows`](super::DoraSettings::windows).
    pub windows: Vec<WindowFigures>,
    /// Whether any deploy (of any status) falls in the longest window: deploy
    /// counts are exported (zeros included) only then.
    pub has_deploys: bool,
    /// Whether any incident opened in the longest window: unattributed
    /// counts are exported (zeros included) only then.
    pub has_opened_incidents: bool,
    /// Open incidents, when this key has any incident retained.
    pub incidents_open: Option<u64>,
    /// Retained resolutions whose opening time is unknown: no `opened_at`
    /// of their own (a CDEvents `incident.resolved` without
    /// `customData.opened_at`) and no retained opening of the same id (and
    /// source) to pair with. They have no time to restore until the opening
    /// arrives. `Some` exactly when `incidents_open` is.
    pub incidents_unpaired: Option<u64>,
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
    /// The `preset` label of the bands the tiers were graded with.
    pub bands: &'static str,
}

/// Per-key sums while a report is being built.
struct Accumulator {
    /// Per status ([`DeployStatus::index`](crate::domain::DeployStatus::index)), per window.
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
    unpaired: u64,
    has_incidents: bool,
    has_opened_incidents: bool,
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
            unpaired: 0,
            has_incidents: false,
            has_opened_incidents: false,
        }
    }

    fn finish<'s>(
        self,
        service: &'s str,
        team: &'s str,
        environment: &'s str,
        (longest_window, longest): (&Window, usize),
        bands: &DoraBands,
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
        let mut grade = |metric: TierMetric, value: f64| {
            tiers.push((metric, bands.grade(metric, value)));
        };
        if has_deploys {
            let per_day = longest_window.per_day(long.deployments);
            grade(TierMetric::DeploymentFrequency, per_day);
        }
        if let Some(q) = &long.lead_time {
            grade(TierMetric::LeadTime, q.values[0].1);
        }
        // The change failure tier is graded on strict attribution: inferred
        // links never lower a tier.
        if let Some(r) = long.change_failure_ratio(Attribution::Strict) {
            grade(TierMetric::ChangeFailureRate, r);
        }
        if let Some(q) = &long.time_to_restore {
            grade(TierMetric::TimeToRestore, q.values[0].1);
        }
        SeriesReport {
            service,
            team,
            environment,
            windows,
            has_deploys,
            has_opened_incidents: self.has_opened_incidents,
            incidents_open: self.has_incidents.then_some(self.open),
            incidents_unpaired: self.has_incidents.then_some(self.unpaired),
            tiers,
        }
    }
}
