//! Which tracker states count as active, waiting or done.
//!
//! Trackers name states freely (`In Progress`, `in-review`,
//! `Ready for Deploy`), so names are compared *normalised*: ASCII lowercase,
//! runs of spaces, `-` and `_` become one `_`, leading and trailing ones
//! dropped. `In Progress`, `in-progress` and `IN_PROGRESS` are one state.
//!
//! The defaults follow the value-creation framework: *active* is someone
//! building or testing the item (value-add time); *waiting* is everything
//! the item spends in a queue, which the framework names (queued, blocked,
//! in review, waiting for deploy) plus the backlog states before work
//! starts (not counted anyway: an item's clock starts at its first active
//! state, see `item.rs`); *done* is delivered or closed. A state in no list
//! counts as waiting, the conservative choice: a missing mapping can only
//! lower flow efficiency, never inflate it. Cancelled states
//! (`cancelled`, `won't do`) are deliberately in no list: such an item is
//! never finished, so it is in no flow figure.

use std::collections::HashMap;

use crate::domain::event::FlowCategory;

/// Default active states.
pub const DEFAULT_ACTIVE: &[&str] = &[
    "in_progress",
    "doing",
    "in_development",
    "development",
    "developing",
    "implementing",
    "started",
    "active",
    "working",
    "testing",
    "in_testing",
    "in_qa",
];

/// Default waiting states.
pub const DEFAULT_WAITING: &[&str] = &[
    "created",
    "new",
    "open",
    "opened",
    "backlog",
    "todo",
    "to_do",
    "ready",
    "selected_for_development",
    "queued",
    "blocked",
    "on_hold",
    "waiting",
    "in_review",
    "review",
    "code_review",
    "ready_for_review",
    "awaiting_review",
    "ready_for_qa",
    "ready_for_deploy",
    "ready_for_release",
    "waiting_for_deploy",
    "awaiting_deploy",
    "reopened",
];

/// Default done states.
pub const DEFAULT_DONE: &[&str] = &[
    "done",
    "closed",
    "resolved",
    "complete",
    "completed",
    "released",
    "deployed",
    "shipped",
    "delivered",
];

/// Why a state mapping is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateMapError {
    /// One (normalised) state in two lists.
    #[error("state {state:?} is listed as both {first} and {second}")]
    Conflict {
        /// The normalised state name.
        state: String,
        /// The first list naming it.
        first: &'static str,
        /// The second.
        second: &'static str,
    },
    /// An empty name (or one of separators only).
    #[error("an empty state name in the {category} list")]
    Empty {
        /// The list.
        category: &'static str,
    },
}

/// State name → category, by normalised name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateMap {
    map: HashMap<String, FlowCategory>,
}

impl Default for StateMap {
    fn default() -> Self {
        Self::new(
            DEFAULT_ACTIVE.iter().copied(),
            DEFAULT_WAITING.iter().copied(),
            DEFAULT_DONE.iter().copied(),
        )
        .expect("the default lists are disjoint")
    }
}

impl StateMap {
    /// A mapping from three lists of state names.
    pub fn new<'s>(
        active: impl IntoIterator<Item = &'s str>,
        waiting: impl IntoIterator<Item = &'s str>,
        done: impl IntoIterator<Item = &'s str>,
    ) -> Result<Self, StateMapError> {
        let mut map: HashMap<String, FlowCategory> = HashMap::new();
        let lists: [(FlowCategory, Vec<&str>); 3] = [
            (FlowCategory::Active, active.into_iter().collect()),
            (FlowCategory::Waiting, waiting.into_iter().collect()),
            (FlowCategory::Done, done.into_iter().collect()),
        ];
        for (category, names) in lists {
            for name in names {
                let key = normalize(name);
                if key.is_empty() {
                    return Err(StateMapError::Empty {
                        category: category.as_str(),
                    });
                }
                match map.get(&key) {
                    Some(&c) if c != category => {
                        return Err(StateMapError::Conflict {
                            state: key,
                            first: c.as_str(),
                            second: category.as_str(),
                        });
                    }
                    _ => {
                        map.insert(key, category);
                    }
                }
            }
        }
        Ok(Self { map })
    }

    /// The category of a state as written, if it is listed.
    pub fn category(&self, state: &str) -> Option<FlowCategory> {
        self.map.get(normalize(state).as_str()).copied()
    }

    /// The normalised names listed under `category`, sorted.
    pub fn states(&self, category: FlowCategory) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .map
            .iter()
            .filter(|(_, c)| **c == category)
            .map(|(s, _)| s.as_str())
            .collect();
        v.sort_unstable();
        v
    }
}

/// A state name normalised for comparison (see the module documentation).
pub fn normalize(state: &str) -> String {
    let mut out = String::with_capacity(state.len());
    let mut gap = false;
    for c in state.trim().chars() {
        if matches!(c, ' ' | '-' | '_' | '\t') {
            gap = true;
            continue;
        }
        if gap && !out.is_empty() {
            out.push('_');
        }
        gap = false;
        out.push(c.to_ascii_lowercase());
    }
    out
}
