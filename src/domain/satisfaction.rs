//! Customer satisfaction: CSAT and NPS responses, kept exactly inside the
//! retained horizon, windowed into one normalised score per service and
//! team.
//!
//! **Score.** Each response is put on a 0–1 scale, CSAT 1–5 as
//! `(s − 1) / 4` and NPS 0–10 as `s / 10`, and the score of a window is the
//! mean over the responses in it. A mean of normalised responses is linear
//! (every response moves it by the same weight), mixes both survey kinds on
//! one scale, and stays steady with few responses; Net Promoter proper
//! (% promoters 9–10 − % detractors 0–6) throws away the 7s and 8s and
//! jumps by whole buckets, so it is reported beside the score
//! ([`SatisfactionFigures::net_promoter`], −1 to 1), not as it.
//!
//! **Attribution.** A response counts for its `service` and `team`
//! (`unknown` without a team). A response that names only a `feature`
//! counts for the service and team of that feature's first shipping deploy
//! (passed to [`SatisfactionState::report`] from DORA state); when that is
//! not known either, it is *unattributed* (counted per window, in no
//! series).
//!
//! **Default.** With no response in a window a series has no score. The
//! configured default ([`SatisfactionSettings::default_score`]) is never
//! exported as a satisfaction score: it only stands in for the missing
//! factor of the value delivery score ([`crate::domain::value`]).
//!
//! Responses are keyed by id: an identical redelivery is a `duplicate`, the
//! same id with different content replaces the earlier response
//! (`updated`). Late, future and label caps as for every stream.

use std::collections::{BTreeMap, HashMap};
use std::hash::{DefaultHasher, Hash, Hasher};

use super::dora::{FirstShip, UNKNOWN_TEAM};
use super::event::{Event, Outcome, Satisfaction, SatisfactionScore};
use super::labels::{LabelId, Labels, OTHER};
use super::time::{DAY_MS, Millis, TimePolicy, Window, Windows};

/// How often folding prunes responses older than the horizon.
const PRUNE_EVERY: Millis = 60_000;

/// What satisfaction state needs from configuration. [`Default`] holds the
/// proposed defaults.
#[derive(Debug, Clone)]
pub struct SatisfactionSettings {
    /// Windows to report, in configured order (the DORA windows).
    pub windows: Windows,
    /// Late/future limits and the retained horizon.
    pub time: TimePolicy,
    /// Most distinct `service` label values.
    pub max_services: usize,
    /// Most distinct `team` label values.
    pub max_teams: usize,
    /// Most distinct features remembered for attribution.
    pub max_features: usize,
    /// `satisfaction.default_score`: the satisfaction factor of the value
    /// delivery score for a series with no response in the window (0–1), or
    /// `None` for no value score without responses. Default 1.0: the score
    /// is then the pure delivery product until surveys arrive.
    pub default_score: Option<f64>,
}

impl Default for SatisfactionSettings {
    fn default() -> Self {
        Self {
            windows: Windows::new(vec![
                Window::new("1d", DAY_MS),
                Window::new("7d", 7 * DAY_MS),
                Window::new("30d", 30 * DAY_MS),
            ]),
            time: TimePolicy {
                longest: 30 * DAY_MS,
                grace: 3_600_000,
                max_clock_skew: 300_000,
            },
            max_services: 1000,
            max_teams: 200,
            max_features: 2000,
            default_score: Some(1.0),
        }
    }
}

/// One retained response.
#[derive(Debug, Clone)]
struct Response {
    fingerprint: u64,
    at: Millis,
    service: Option<LabelId>,
    team: Option<LabelId>,
    feature: Option<LabelId>,
    score: SatisfactionScore,
}

/// Satisfaction state of this process. `Clone` so that ingest can copy it
/// on write while a report still reads the previous version.
#[derive(Debug, Clone)]
pub struct SatisfactionState {
    settings: SatisfactionSettings,
    services: Labels,
    teams: Labels,
    features: Labels,
    responses: HashMap<Box<str>, Response>,
    last_prune: Millis,
}

/// Figures of one series in one window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SatisfactionFigures {
    /// CSAT responses in the window.
    pub csat_responses: u64,
    /// NPS responses in the window.
    pub nps_responses: u64,
    /// Mean normalised response (0–1); `None` without responses.
    pub score: Option<f64>,
    /// Net Promoter over the NPS responses: (promoters 9–10 − detractors
    /// 0–6) ÷ NPS responses, −1 to 1 (NPS ÷ 100); `None` without them.
    pub net_promoter: Option<f64>,
    /// NPS detractors (0–6) among them.
    pub detractors: u64,
}

impl SatisfactionFigures {
    /// Responses of both kinds.
    pub fn responses(&self) -> u64 {
        self.csat_responses + self.nps_responses
    }
}

/// Everything exported for one `(service, team)`.
#[derive(Debug, Clone, PartialEq)]
pub struct SatisfactionSeries<'s> {
    /// `service` label.
    pub service: &'s str,
    /// `team` label.
    pub team: &'s str,
    /// Figures per window, aligned with [`SatisfactionSettings::windows`].
    pub windows: Vec<SatisfactionFigures>,
}

/// The satisfaction report at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct SatisfactionReport<'s> {
    /// One entry per label set with a response in the longest window,
    /// sorted by (service, team).
    pub series: Vec<SatisfactionSeries<'s>>,
    /// Per window: responses that name no service and whose feature has no
    /// known first ship.
    pub unattributed: Vec<u64>,
    /// The configured default score (for the value delivery score).
    pub default_score: Option<f64>,
    /// Events whose service was folded into `__other__`.
    pub service_overflow: u64,
    /// Events whose team was folded into `__other__`.
    pub team_overflow: u64,
    /// Events whose feature was folded into `__other__` (then unattributed
    /// unless they name a service).
    pub feature_overflow: u64,
}

impl SatisfactionReport<'_> {
    /// The measured score of `(service, team)` in window `w`: that series'
    /// when it has responses, else that of `(service, unknown)` (responses
    /// that named the service but no team); `None` when neither has any.
    pub fn score(&self, service: &str, team: &str, w: usize) -> Option<f64> {
        let of = |team: &str| {
            self.series
                .binary_search_by(|s| (s.service, s.team).cmp(&(service, team)))
                .ok()
                .and_then(|i| self.series[i].windows.get(w))
                .and_then(|f| f.score)
        };
        of(team).or_else(|| of(UNKNOWN_TEAM))
    }

    /// [`Self::score`], else the configured default.
    pub fn score_or_default(&self, service: &str, team: &str, w: usize) -> Option<f64> {
        self.score(service, team, w).or(self.default_score)
    }
}

fn fingerprint<T: Hash>(value: &T) -> u64 {
    let mut h = DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

/// Satisfaction of one feature in one window, as the weekly pulse lists
/// it ([`SatisfactionState::features_in`]).
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureSatisfaction<'s> {
    /// Feature named by the responses.
    pub feature: &'s str,
    /// The responses' team, else the team of the feature's first ship;
    /// `None` when neither is known.
    pub team: Option<&'s str>,
    /// Its figures in the window.
    pub figures: SatisfactionFigures,
}

/// Per-key sums while a report is built.
#[derive(Clone, Default)]
struct Sums {
    csat: u64,
    nps: u64,
    normalized: f64,
    promoters: u64,
    detractors: u64,
}

impl Sums {
    fn add(&mut self, score: SatisfactionScore) {
        self.normalized += score.normalized();
        match score {
            SatisfactionScore::Csat(_) => self.csat += 1,
            SatisfactionScore::Nps(v) => {
                self.nps += 1;
                self.promoters += u64::from(v >= 9);
                self.detractors += u64::from(v <= 6);
            }
        }
    }

    fn figures(&self) -> SatisfactionFigures {
        let n = self.csat + self.nps;
        SatisfactionFigures {
            csat_responses: self.csat,
            nps_responses: self.nps,
            score: (n > 0).then(|| self.normalized / n as f64),
            net_promoter: (self.nps > 0)
                .then(|| (self.promoters as f64 - self.detractors as f64) / self.nps as f64),
            detractors: self.detractors,
        }
    }
}

impl SatisfactionState {
    /// Empty state.
    pub fn new(settings: SatisfactionSettings) -> Self {
        Self {
            services: Labels::new(settings.max_services),
            teams: Labels::new(settings.max_teams),
            features: Labels::new(settings.max_features),
            settings,
            responses: HashMap::new(),
            last_prune: Millis::MIN,
        }
    }

    /// The settings this state was built with.
    pub fn settings(&self) -> &SatisfactionSettings {
        &self.settings
    }

    /// Folds one event at processing time `now`; anything but a
    /// satisfaction response is `ignored`.
    pub fn fold(&mut self, event: &Event<'_>, now: Millis) -> Outcome {
        match event {
            Event::Satisfaction(s) => self.fold_response(s, now),
            _ => Outcome::Ignored,
        }
    }

    /// Folds one response and says what became of it.
    pub fn fold_response(&mut self, s: &Satisfaction<'_>, now: Millis) -> Outcome {
        if now.saturating_sub(self.last_prune) >= PRUNE_EVERY {
            self.prune(now);
        }
        if let Some(o) = Outcome::of_time(self.settings.time.check(s.at, now)) {
            return o;
        }
        let fp = fingerprint(s);
        let outcome = match self.responses.get(s.id.as_ref()) {
            Some(r) if r.fingerprint == fp => return Outcome::Duplicate,
            Some(_) => Outcome::Updated,
            None => Outcome::Accepted,
        };
        let r = Response {
            fingerprint: fp,
            at: s.at,
            service: s.service.as_deref().map(|v| self.services.intern(v)),
            team: s.team.as_deref().map(|v| self.teams.intern(v)),
            feature: s.feature.as_deref().map(|v| self.features.intern(v)),
            score: s.score,
        };
        self.responses.insert(s.id.as_ref().into(), r);
        outcome
    }

    /// Drops responses older than the horizon.
    pub fn prune(&mut self, now: Millis) {
        let horizon = self.settings.time.horizon(now);
        self.responses.retain(|_, r| r.at >= horizon);
        self.last_prune = now;
    }

    /// Per feature (and team) named by responses in `window` at `now`: its
    /// figures, sorted by (feature, team). A response counts for the team
    /// it names, else for the team of the feature's first ship (`owners`,
    /// as for [`Self::report`]); features over the cap (`__other__`) are
    /// left out.
    pub fn features_in<'s>(
        &'s self,
        now: Millis,
        owners: &[FirstShip<'s>],
        window: &Window,
    ) -> Vec<FeatureSatisfaction<'s>> {
        let owner: HashMap<&str, &str> = owners.iter().map(|f| (f.feature, f.team)).collect();
        let mut acc: BTreeMap<(&str, Option<&str>), Sums> = BTreeMap::new();
        for r in self.responses.values() {
            let Some(feature) = r.feature.map(|f| self.features.name(f)) else {
                continue;
            };
            if feature == OTHER || !window.contains(r.at, now) {
                continue;
            }
            let team = r
                .team
                .map(|t| self.teams.name(t))
                .or_else(|| owner.get(feature).copied());
            acc.entry((feature, team)).or_default().add(r.score);
        }
        acc.into_iter()
            .map(|((feature, team), s)| FeatureSatisfaction {
                feature,
                team,
                figures: s.figures(),
            })
            .collect()
    }

    /// The state as it stood at `cutoff`: only the responses dated before
    /// it (the weekly pulse's "last week").
    #[must_use]
    pub fn as_of(&self, cutoff: Millis) -> Self {
        let mut s = self.clone();
        s.responses.retain(|_, r| r.at < cutoff);
        s
    }

    /// Every team label value interned so far (not `__other__`).
    pub fn teams(&self) -> impl Iterator<Item = &str> {
        (1..self.teams.len()).map(|id| self.teams.name(id as LabelId))
    }

    /// Number of retained responses.
    pub fn response_count(&self) -> usize {
        self.responses.len()
    }

    /// Approximate heap bytes held: the response map's slots with their
    /// ids, and the service, team and feature label tables.
    pub fn heap_bytes(&self) -> usize {
        let slot = std::mem::size_of::<(Box<str>, Response)>() + 1;
        self.responses.capacity() * slot
            + self.responses.keys().map(|id| id.len()).sum::<usize>()
            + self.services.heap_bytes()
            + self.teams.heap_bytes()
            + self.features.heap_bytes()
    }

    /// Computes every satisfaction figure at `now`. `owners` are the first
    /// ships of DORA state ([`crate::domain::dora::DoraState::first_ships`]):
    /// they attribute responses that name only a feature.
    pub fn report<'s>(&'s self, now: Millis, owners: &[FirstShip<'s>]) -> SatisfactionReport<'s> {
        self.report_over(now, owners, &self.settings.windows)
    }

    /// [`Self::report`] over `windows` instead of the configured ones (the
    /// weekly pulse).
    pub fn report_over<'s>(
        &'s self,
        now: Millis,
        owners: &[FirstShip<'s>],
        windows: &Windows,
    ) -> SatisfactionReport<'s> {
        let longest = windows.longest();
        let by_feature: HashMap<&str, (&str, &str)> = owners
            .iter()
            .map(|f| (f.feature, (f.service, f.team)))
            .collect();
        let mut acc: BTreeMap<(&str, &str), Vec<Sums>> = BTreeMap::new();
        let mut unattributed = vec![0; windows.len()];
        for r in self.responses.values() {
            if !windows[longest].contains(r.at, now) {
                continue;
            }
            let owner = r
                .feature
                .map(|f| self.features.name(f))
                .filter(|&f| f != OTHER)
                .and_then(|f| by_feature.get(f).copied());
            let key = match (r.service, owner) {
                (Some(s), _) => Some((
                    self.services.name(s),
                    r.team.map_or(UNKNOWN_TEAM, |t| self.teams.name(t)),
                )),
                (None, Some((service, team))) => {
                    Some((service, r.team.map_or(team, |t| self.teams.name(t))))
                }
                (None, None) => None,
            };
            let in_window = windows.iter().map(|w| w.contains(r.at, now));
            let Some(key) = key else {
                for (w, inside) in in_window.enumerate() {
                    unattributed[w] += u64::from(inside);
                }
                continue;
            };
            let sums = acc
                .entry(key)
                .or_insert_with(|| vec![Sums::default(); windows.len()]);
            for (w, inside) in in_window.enumerate() {
                if !inside {
                    continue;
                }
                sums[w].add(r.score);
            }
        }
        let series = acc
            .into_iter()
            .map(|((service, team), sums)| SatisfactionSeries {
                service,
                team,
                windows: sums.iter().map(Sums::figures).collect(),
            })
            .collect();
        SatisfactionReport {
            series,
            unattributed,
            default_score: self.settings.default_score,
            service_overflow: self.services.overflow(),
            team_overflow: self.teams.overflow(),
            feature_overflow: self.features.overflow(),
        }
    }
}

#[cfg(test)]
mod tests;
