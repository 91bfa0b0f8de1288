//! The time one work item spent active and waiting, from its transitions.
//!
//! Transitions are taken in time order (so their arrival order does not
//! matter). Each transition's category holds from its time to the next
//! transition's:
//!
//! - the item's clock starts at its **first active transition** ("work
//!   started"); waiting before it (backlog, to do, queued before anyone
//!   picked it up) is not counted;
//! - from then on, time in an active state is *active*, time in a waiting
//!   state is *waiting*;
//! - time in a done state counts as neither. When a done item is
//!   **reopened** (a later transition to an active or waiting state), the
//!   gap between the done and the reopen is neither active nor waiting: the
//!   item sat delivered, nobody worked on it or queued it. Work after the
//!   reopen counts again;
//! - the item is **finished** when its last transition is a done state,
//!   at the first transition of that final run of done states (`resolved`
//!   then `closed` a week later finishes at `resolved`). An item whose last
//!   transition is not done is unfinished: in no window.
//!
//! Flow efficiency of the item is `active / (active + waiting)`; an item
//! never started (e.g. created, then closed as a duplicate) has neither and
//! no efficiency.

use crate::domain::event::FlowCategory;
use crate::domain::time::Millis;

/// What one item's transitions add up to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ItemTimes {
    /// Time in active states, from the first active transition on.
    pub active: Millis,
    /// Time in waiting states after the first active transition.
    pub waiting: Millis,
    /// When the item finished, if its last transition is done.
    pub finished_at: Option<Millis>,
}

impl ItemTimes {
    /// `active / (active + waiting)`, or `None` when both are zero.
    pub fn efficiency(&self) -> Option<f64> {
        let total = self.active + self.waiting;
        (total > 0).then(|| self.active as f64 / total as f64)
    }
}

/// Measures an item from its transitions `(time, category)` in any order.
pub fn measure(transitions: &mut [(Millis, FlowCategory)]) -> ItemTimes {
    transitions.sort_unstable_by_key(|&(at, _)| at);
    measure_sorted(transitions.iter().copied())
}

/// Measures an item from its transitions sorted by time.
pub fn measure_sorted(transitions: impl IntoIterator<Item = (Millis, FlowCategory)>) -> ItemTimes {
    let mut times = ItemTimes::default();
    let mut started = false;
    let mut done_since: Option<Millis> = None;
    let mut previous: Option<(Millis, FlowCategory)> = None;
    for (at, category) in transitions {
        if let Some((since, c)) = previous {
            let spent = at - since;
            match c {
                FlowCategory::Active => times.active += spent,
                FlowCategory::Waiting if started => times.waiting += spent,
                FlowCategory::Waiting | FlowCategory::Done => {}
            }
        }
        started |= category == FlowCategory::Active;
        done_since = match category {
            FlowCategory::Done => done_since.or(Some(at)),
            _ => None,
        };
        previous = Some((at, category));
    }
    times.finished_at = done_since;
    times
}

/// Where an item waited: its waiting time (as [`measure_sorted`] counts
/// it, from the first active transition on) per state, from its
/// transitions `(time, category, state)` sorted by time. Longest first,
/// ties by state name.
pub fn waits_sorted<'s>(
    transitions: impl IntoIterator<Item = (Millis, FlowCategory, &'s str)>,
) -> Vec<(&'s str, Millis)> {
    let mut waits: Vec<(&str, Millis)> = Vec::new();
    let mut started = false;
    let mut previous: Option<(Millis, FlowCategory, &str)> = None;
    for (at, category, state) in transitions {
        if let Some((since, FlowCategory::Waiting, s)) = previous
            && started
        {
            match waits.iter_mut().find(|(name, _)| *name == s) {
                Some((_, t)) => *t += at - since,
                None => waits.push((s, at - since)),
            }
        }
        started |= category == FlowCategory::Active;
        previous = Some((at, category, state));
    }
    waits.retain(|(_, t)| *t > 0);
    waits.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    waits
}
