//! Flow state: every work-item transition inside the retained horizon,
//! kept exactly, and the flow figures computed from them at report time.
//!
//! Work items are tracked like deploys: volumes are small (hundreds to
//! thousands of transitions a day), every replica reads every partition and
//! holds all of it, and each transition is kept as it came so every window
//! is exact and a late transition re-measures its item everywhere.
//!
//! - **Key.** A transition's key is *(item id, `at`)*: one item is in one
//!   state at one instant. An identical redelivery is a `duplicate`; the
//!   same key with different content (another state, category, team or
//!   links) replaces the earlier transition (`updated`), e.g. a tracker
//!   correcting the state it reported.
//! - **Category.** The event's own `category` wins; otherwise the state is
//!   looked up in [`StateMap`] (normalised); a state in no list counts as
//!   waiting and is counted in [`FlowReport::unmapped_transitions`].
//! - **Time.** `at` must be inside the horizon (`late`) and not beyond the
//!   clock skew (`future`), as for every stream ([`TimePolicy`]).
//! - **Labels.** Service and team are interned with caps ([`Labels`]); an
//!   item is reported under the labels of its latest transition.
//! - **Memory.** Transitions older than the horizon are dropped; an item
//!   whose every transition is gone is forgotten. An item is measured over
//!   the transitions retained: one that lived longer than the longest window
//!   plus `windows.grace` is measured from its oldest retained transition
//!   (replay reads no further back, so every replica agrees).
//!
//! Per-item maths is in `item.rs`, the report in `report.rs`, the state
//! mapping in `states.rs`.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use super::event::{Event, FlowCategory, Outcome, WorkItem};
use super::labels::{LabelId, Labels};
use super::time::{DAY_MS, Millis, TimePolicy, Window, Windows};

mod item;
mod report;
mod states;

pub use item::{ItemTimes, measure, measure_sorted, waits_sorted};
pub use report::{FlowFigures, FlowReport, FlowSeries};
pub use states::{
    DEFAULT_ACTIVE, DEFAULT_DONE, DEFAULT_WAITING, StateMap, StateMapError, normalize,
};

/// Label value used when an item names no team.
pub use super::dora::UNKNOWN_TEAM;

/// How often folding prunes transitions older than the horizon.
const PRUNE_EVERY: Millis = 60_000;

/// Most distinct state names remembered (a tracker has tens); beyond it a
/// state is named `__other__` (its category is kept).
pub const MAX_STATES: usize = 500;

/// What flow state needs from configuration. [`Default`] holds the proposed
/// defaults (the same windows, horizon and caps as DORA).
#[derive(Debug, Clone)]
pub struct FlowSettings {
    /// Windows to report, in configured order (the DORA windows).
    pub windows: Windows,
    /// Late/future limits and the retained horizon.
    pub time: TimePolicy,
    /// Most distinct `service` label values.
    pub max_services: usize,
    /// Most distinct `team` label values.
    pub max_teams: usize,
    /// `flow.states.*`: which states are active, waiting and done.
    pub states: StateMap,
}

impl Default for FlowSettings {
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
            states: StateMap::default(),
        }
    }
}

/// Labels of a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Key {
    service: LabelId,
    team: LabelId,
}

/// One retained transition.
#[derive(Debug, Clone)]
struct Transition {
    at: Millis,
    /// Content hash, to tell an identical redelivery from an update.
    fingerprint: u64,
    category: FlowCategory,
    key: Key,
    /// Whether the category came from no mapping (counted as waiting).
    unmapped: bool,
    /// The state as the tracker named it, normalised ([`normalize`]):
    /// what the weekly pulse names when it says where an item waited.
    state: LabelId,
}

/// Flow state of this process. `Clone` so that ingest can copy it on write
/// while a report still reads the previous version.
#[derive(Debug, Clone)]
pub struct FlowState {
    settings: FlowSettings,
    services: Labels,
    teams: Labels,
    /// Normalised state names, capped at [`MAX_STATES`].
    states: Labels,
    /// Item id → its transitions, sorted by `at` (unique per item).
    items: HashMap<Box<str>, Vec<Transition>>,
    /// When transitions older than the horizon were last dropped.
    last_prune: Millis,
}

fn fingerprint<T: Hash>(value: &T) -> u64 {
    let mut h = DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

impl FlowState {
    /// Empty state.
    pub fn new(settings: FlowSettings) -> Self {
        Self {
            services: Labels::new(settings.max_services),
            teams: Labels::new(settings.max_teams),
            states: Labels::new(MAX_STATES),
            settings,
            items: HashMap::new(),
            last_prune: Millis::MIN,
        }
    }

    /// The settings this state was built with.
    pub fn settings(&self) -> &FlowSettings {
        &self.settings
    }

    /// Folds one event at processing time `now`; anything but a work item
    /// is `ignored`.
    pub fn fold(&mut self, event: &Event<'_>, now: Millis) -> Outcome {
        match event {
            Event::WorkItem(w) => self.fold_item(w, now),
            _ => Outcome::Ignored,
        }
    }

    /// Folds one work-item transition and says what became of it.
    pub fn fold_item(&mut self, w: &WorkItem<'_>, now: Millis) -> Outcome {
        if now.saturating_sub(self.last_prune) >= PRUNE_EVERY {
            self.prune(now);
        }
        if let Some(o) = Outcome::of_time(self.settings.time.check(w.at, now)) {
            return o;
        }
        let fp = fingerprint(w);
        let existing = self.items.get(w.id.as_ref()).map(|ts| {
            let at = ts.binary_search_by_key(&w.at, |t| t.at);
            (at, at.is_ok_and(|i| ts[i].fingerprint == fp))
        });
        if let Some((_, true)) = existing {
            return Outcome::Duplicate;
        }
        let (category, unmapped) = match w
            .category
            .or_else(|| self.settings.states.category(&w.state))
        {
            Some(c) => (c, false),
            None => (FlowCategory::Waiting, true),
        };
        let t = Transition {
            at: w.at,
            fingerprint: fp,
            category,
            key: Key {
                service: self.services.intern(&w.service),
                team: self.teams.intern(w.team.as_deref().unwrap_or(UNKNOWN_TEAM)),
            },
            unmapped,
            state: self.states.intern(&normalize(&w.state)),
        };
        match existing {
            Some((Ok(i), _)) => {
                self.items.get_mut(w.id.as_ref()).expect("looked up")[i] = t;
                Outcome::Updated
            }
            Some((Err(i), _)) => {
                self.items
                    .get_mut(w.id.as_ref())
                    .expect("looked up")
                    .insert(i, t);
                Outcome::Accepted
            }
            None => {
                self.items.insert(w.id.as_ref().into(), vec![t]);
                Outcome::Accepted
            }
        }
    }

    /// Drops transitions older than the horizon, and items left with none.
    pub fn prune(&mut self, now: Millis) {
        let horizon = self.settings.time.horizon(now);
        self.items.retain(|_, ts| {
            ts.retain(|t| t.at >= horizon);
            !ts.is_empty()
        });
        self.last_prune = now;
    }

    /// Number of items with a retained transition.
    pub fn item_count(&self) -> usize {
        self.items.len()
    }

    /// Approximate heap bytes held: the item map's slots, each item's id
    /// and transitions, and the service and team label tables.
    pub fn heap_bytes(&self) -> usize {
        let slot = std::mem::size_of::<(Box<str>, Vec<Transition>)>() + 1;
        self.items.capacity() * slot
            + self
                .items
                .iter()
                .map(|(id, ts)| id.len() + ts.capacity() * std::mem::size_of::<Transition>())
                .sum::<usize>()
            + self.services.heap_bytes()
            + self.teams.heap_bytes()
            + self.states.heap_bytes()
    }

    /// The state as it stood at `cutoff`, as far as retained history
    /// knows: only the transitions dated before it (the weekly pulse's
    /// "last week" is this state reported at `cutoff`).
    #[must_use]
    pub fn as_of(&self, cutoff: Millis) -> Self {
        let mut s = self.clone();
        s.items.retain(|_, ts| {
            ts.retain(|t| t.at < cutoff);
            !ts.is_empty()
        });
        s
    }

    /// Every team label value interned so far (not `__other__`).
    pub fn teams(&self) -> impl Iterator<Item = &str> {
        (1..self.teams.len()).map(|id| self.teams.name(id as LabelId))
    }

    /// Every retained item with its transitions, sorted by id: what the
    /// weekly pulse lists items from.
    pub fn items(&self) -> Vec<ItemView<'_>> {
        let mut out: Vec<ItemView<'_>> = self
            .items
            .iter()
            .map(|(id, ts)| {
                let key = ts.last().expect("items are never empty").key;
                ItemView {
                    id,
                    service: self.services.name(key.service),
                    team: self.teams.name(key.team),
                    transitions: ts
                        .iter()
                        .map(|t| ItemTransition {
                            at: t.at,
                            category: t.category,
                            state: self.states.name(t.state),
                            unmapped: t.unmapped,
                        })
                        .collect(),
                }
            })
            .collect();
        out.sort_unstable_by_key(|i| i.id);
        out
    }

    /// The active and waiting time of one retained item (`None` when it has
    /// no retained transition): the audit trail of the flow figures.
    pub fn item(&self, id: &str) -> Option<ItemTimes> {
        self.items
            .get(id)
            .map(|ts| measure_sorted(ts.iter().map(|t| (t.at, t.category))))
    }
}

/// One retained item, as [`FlowState::items`] lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemView<'s> {
    /// Item id.
    pub id: &'s str,
    /// `service` label of its latest transition.
    pub service: &'s str,
    /// `team` label of its latest transition.
    pub team: &'s str,
    /// Its retained transitions, in time order.
    pub transitions: Vec<ItemTransition<'s>>,
}

/// One transition of an [`ItemView`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ItemTransition<'s> {
    /// When the item entered the state.
    pub at: Millis,
    /// The state's category (its own, mapped, or waiting when unmapped).
    pub category: FlowCategory,
    /// The state's normalised name.
    pub state: &'s str,
    /// Whether the state maps to nothing.
    pub unmapped: bool,
}

#[cfg(test)]
mod tests;
