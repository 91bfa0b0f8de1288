//! The pulse computed from the state the daemon holds: one [`Pulse`] per
//! team and one for the organisation, for the 7 days ending at `now`
//! against the 7 days before them.
//!
//! **This week** is `[now − 7d, now]`: every state reported at `now` over
//! one 7-day window, exactly as `/metrics` reports a `7d` window.
//! **Last week** is `[now − 14d, now − 7d)`: the state *as it stood* at
//! `now − 7d` ([`DoraState::as_of`], [`FlowState::as_of`],
//! [`SatisfactionState::as_of`]: only the events dated before it) reported
//! at `now − 7d` over the same window. That is what the daemon would have
//! shown then, given everything it holds now, and so what Prometheus'
//! `offset 7d` would say: an incident resolved this week was open at the
//! end of last week; an item finished last week and reopened this week was
//! finished then. Deploys, incidents, work items, satisfaction and usage
//! *events* are exact ([`Comparison::State`]); distinct users of an earlier
//! week are not kept by the sliding sketches, so their items say
//! [`Comparison::None`].
//!
//! **Order.** Each section gathers its facts by kind, in the order issue 20
//! lists them, each kind sorted by impact (most users, longest wait,
//! largest drop…); the section then takes the best fact of every kind, then
//! the second of every kind, and so on, up to `pulse.max_items`: a section
//! never fills with one kind while another has news. The rest is counted
//! in [`Section::more`].
//!
//! **Teams.** Every team label any state has interned (not `__other__`);
//! an item, deploy series, incident or response counts for the team its
//! report series carries, a feature for the team of its first shipping
//! deploy.

mod sections;

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::domain::adoption::AdoptionReport;
use crate::domain::dora::{DoraReport, DoraState, FirstShip, OpenIncident};
use crate::domain::flow::{FlowReport, FlowState, ItemView};
use crate::domain::satisfaction::{FeatureSatisfaction, SatisfactionReport, SatisfactionState};
use crate::domain::time::DAY_MS;
use crate::domain::value::{self, ValueSeries};
use crate::domain::{Millis, Outcome, Stream, Window, Windows};
use crate::ingest::decode::format_time;
use crate::ingest::shards::lock;
use crate::report::{self, Sources};

use super::history::History;
use super::model::{Comparison, Item, Pulse, SCHEMA, Section, Teams};

/// One week.
pub const WEEK: Millis = 7 * DAY_MS;

/// What computing a pulse needs from configuration (`[pulse]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PulseSettings {
    /// `pulse.max_items`: most facts per section.
    pub max_items: usize,
}

/// The figures of one week: every state reported over one 7-day window.
struct Week<'a> {
    dora: DoraReport<'a>,
    flow: FlowReport<'a>,
    satisfaction: SatisfactionReport<'a>,
    /// Satisfaction per feature named by responses.
    features: Vec<FeatureSatisfaction<'a>>,
    value: Vec<ValueSeries<'a>>,
}

impl<'a> Week<'a> {
    fn new(
        dora: &'a DoraState,
        flow: &'a FlowState,
        satisfaction: &'a SatisfactionState,
        ships: &[FirstShip<'a>],
        window: &Windows,
        end: Millis,
    ) -> Self {
        let dora = dora.report_over(end, window);
        let features = satisfaction.features_in(end, ships, &window[0]);
        let satisfaction = satisfaction.report_over(end, ships, window);
        let value = value::value_scores(&dora, window, &satisfaction);
        Self {
            dora,
            flow: flow.report_over(end, window),
            satisfaction,
            features,
            value,
        }
    }
}

/// Everything the pulses of one instant are computed from: both weeks'
/// reports and this week's lists, read once and shared by every team's
/// pulse.
pub struct Context<'a> {
    now: Millis,
    max_items: usize,
    /// `adoption.min_users`: a shipped feature counts as used from there.
    min_users: u64,
    this: Week<'a>,
    last: Week<'a>,
    /// Adoption over two windows, `7d` and `14d`: usage events of last
    /// week are the difference (exact, per minute); distinct users are not.
    adoption: AdoptionReport<'a>,
    items: Vec<ItemView<'a>>,
    open_incidents: Vec<OpenIncident<'a>>,
    /// Streams whose history here does not reach back 14 days.
    incomplete: Vec<&'a str>,
    /// Usage records refused over the state budget since start.
    refused: u64,
    teams: Vec<&'a str>,
    /// Last week's distinct users, from Prometheus when configured.
    history: &'a History,
}

impl Context<'_> {
    /// The teams a pulse can be asked for, sorted.
    pub fn teams(&self) -> Teams {
        Teams {
            teams: self.teams.iter().map(|t| (*t).to_owned()).collect(),
        }
    }

    /// The pulse of `team` (`None`: the organisation); `None` when the team
    /// is unknown.
    pub fn pulse(&self, team: Option<&str>) -> Option<Pulse> {
        if let Some(t) = team
            && self.teams.binary_search(&t).is_err()
        {
            return None;
        }
        let scope = sections::Scope { cx: self, team };
        let now = self.now;
        Some(Pulse {
            schema: SCHEMA.to_owned(),
            team: team.map(str::to_owned),
            week: iso_week(now),
            from: format_time(now - WEEK),
            to: format_time(now),
            previous_from: format_time(now - 2 * WEEK),
            created: rank(scope.created(), self.max_items),
            blocked: rank(scope.blocked(), self.max_items),
            opportunities: rank(scope.opportunities(), self.max_items),
            risks: rank(scope.risks(), self.max_items),
        })
    }

    /// The organisation's pulse and every team's, in that order.
    pub fn all(&self) -> Vec<Pulse> {
        std::iter::once(None)
            .chain(self.teams.iter().map(|t| Some(*t)))
            .filter_map(|t| self.pulse(t))
            .collect()
    }
}

/// Reads the state at `now` and hands the pulses' [`Context`] to `view`,
/// with what Prometheus said of last week (`history`, asked beforehand:
/// never while the state is held).
/// Like [`report::with_reports`], it reads and never writes: DORA, flow and
/// satisfaction through one copy-on-write version each, adoption one
/// feature at a time under its shard's lock.
pub fn with_pulses<T>(
    s: &Sources,
    now: Millis,
    settings: PulseSettings,
    history: &History,
    view: impl FnOnce(&Context<'_>) -> T,
) -> T {
    let dora: Arc<DoraState> = lock(&s.dora).clone();
    let flow: Arc<FlowState> = lock(&s.flow).clone();
    let satisfaction: Arc<SatisfactionState> = lock(&s.satisfaction).clone();
    let cutoff = now - WEEK;
    let (dora_then, flow_then, satisfaction_then) = (
        dora.as_of(cutoff),
        flow.as_of(cutoff),
        satisfaction.as_of(cutoff),
    );
    let window = Windows::new(vec![Window::new("7d", WEEK)]);
    let ships = dora.first_ships();
    let ships_then = dora_then.first_ships();
    let features = lock(&s.adoption.features).clone();
    let mut adoption_settings = s.adoption.settings.clone();
    adoption_settings.windows =
        Windows::new(vec![Window::new("7d", WEEK), Window::new("14d", 2 * WEEK)]);
    let adoption = report::adoption_report(
        &s.adoption,
        &adoption_settings,
        &ships,
        &features,
        now,
        report::Read::Full,
    );
    let incomplete = Stream::ALL
        .iter()
        .map(|st| s.topics[st.index()].as_str())
        .filter(|topic| !s.progress.window_complete(topic, now - 2 * WEEK))
        .collect();
    let mut teams: BTreeSet<&str> = dora
        .teams()
        .chain(flow.teams())
        .chain(satisfaction.teams())
        .collect();
    teams.extend(ships.iter().map(|f| f.team));
    let cx = Context {
        now,
        max_items: settings.max_items,
        min_users: s.adoption.settings.min_users,
        this: Week::new(&dora, &flow, &satisfaction, &ships, &window, now),
        last: Week::new(
            &dora_then,
            &flow_then,
            &satisfaction_then,
            &ships_then,
            &window,
            cutoff,
        ),
        adoption,
        items: flow.items(),
        open_incidents: dora.open_incidents(),
        incomplete,
        refused: s.counters.events(Stream::FeatureUsage, Outcome::OverBudget),
        teams: teams.into_iter().collect(),
        history,
    };
    view(&cx)
}

/// The section of facts gathered by kind (each kind sorted by impact):
/// the first of every kind, then the second of every kind…, at most `max`.
fn rank(kinds: Vec<Vec<Item>>, max: usize) -> Section {
    let total: usize = kinds.iter().map(Vec::len).sum();
    let mut kinds: Vec<std::vec::IntoIter<Item>> = kinds.into_iter().map(Vec::into_iter).collect();
    let mut items = Vec::with_capacity(max.min(total));
    while items.len() < max.min(total) {
        for k in &mut kinds {
            if items.len() == max {
                break;
            }
            if let Some(i) = k.next() {
                items.push(i);
            }
        }
    }
    Section {
        more: total - items.len(),
        items,
    }
}

/// The ISO 8601 week `at` falls in, e.g. `2027-W02`.
pub fn iso_week(at: Millis) -> String {
    let date = time::OffsetDateTime::from_unix_timestamp(at.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let (year, week, _) = date.to_iso_week_date();
    format!("{year}-W{week:02}")
}

/// One fact.
fn item(
    kind: &str,
    text: String,
    subject: Option<&str>,
    (value, previous): (Option<f64>, Option<f64>),
    unit: &str,
    comparison: Comparison,
) -> Item {
    Item {
        kind: kind.to_owned(),
        text,
        subject: subject.map(str::to_owned),
        value,
        previous,
        unit: unit.to_owned(),
        comparison,
    }
}

/// A ratio as a percentage: `42 %`.
fn pct(ratio: f64) -> String {
    format!("{:.0} %", ratio * 100.0)
}

#[cfg(test)]
mod tests;
