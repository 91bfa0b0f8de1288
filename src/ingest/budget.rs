//! The state budget (`limits.max_state_bytes`): what in-memory state weighs,
//! by component, and what happens as it nears the budget.
//!
//! The loops that own state measure it as they fold (the usage loop every
//! second, the small-topics loop at most every second after folding) and
//! store the figures here; readers (the report) only read them, and folding
//! reads one level per batch:
//!
//! | level | when | what happens |
//! |---|---|---|
//! | [`BudgetLevel::Ok`] | under 90 % of the budget | nothing |
//! | [`BudgetLevel::NoNewFeatures`] | at or above 90 % | a feature not seen before folds into `__other__` (counted by `valuepulse_label_overflow_total{label="feature"}`) |
//! | [`BudgetLevel::Full`] | at or above 100 % | valid usage records are refused with outcome `over_budget`, counted and logged |
//!
//! Every part of the state is bounded by the retained horizon, so the levels
//! are only reached by a workload larger than the budget allows, never by
//! time passing; they clear by themselves as old state is pruned.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

/// A part of the state, as exported by `valuepulse_state_bytes{component}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    /// DORA deploy records (with change ids and features).
    Deploys,
    /// DORA incident records.
    Incidents,
    /// Service and team label tables.
    DoraLabels,
    /// The feature name table.
    FeatureLabels,
    /// Distinct-user sketches.
    AdoptionSketches,
    /// Per-minute usage event counts and busy seconds.
    AdoptionCounts,
    /// Per-shard feature maps.
    AdoptionIndex,
    /// Work-item transitions (with their label tables).
    WorkItems,
    /// Satisfaction responses (with their label tables).
    Satisfaction,
    /// Pushed commits (the `changes` topic's push chains).
    Pushes,
}

impl Component {
    /// Every component, in storage order.
    pub const ALL: [Component; 10] = [
        Component::Deploys,
        Component::Incidents,
        Component::DoraLabels,
        Component::FeatureLabels,
        Component::AdoptionSketches,
        Component::AdoptionCounts,
        Component::AdoptionIndex,
        Component::WorkItems,
        Component::Satisfaction,
        Component::Pushes,
    ];

    /// The exported `component` label: both label tables export as `labels`.
    pub fn label(self) -> &'static str {
        match self {
            Component::Deploys => "deploys",
            Component::Incidents => "incidents",
            Component::DoraLabels | Component::FeatureLabels => "labels",
            Component::AdoptionSketches => "adoption_sketches",
            Component::AdoptionCounts => "adoption_counts",
            Component::AdoptionIndex => "adoption_index",
            Component::WorkItems => "work_items",
            Component::Satisfaction => "satisfaction",
            Component::Pushes => "pushes",
        }
    }
}

/// How close state is to the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum BudgetLevel {
    /// Under 90 %.
    Ok = 0,
    /// At or above 90 %: no new features.
    NoNewFeatures = 1,
    /// At or above 100 %: usage records refused.
    Full = 2,
}

/// Measured state sizes and the budget level derived from them.
#[derive(Debug)]
pub struct StateBudget {
    limit: usize,
    parts: [AtomicUsize; Component::ALL.len()],
    level: AtomicU8,
}

impl StateBudget {
    /// A budget of `limit` bytes, nothing measured yet.
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            parts: Default::default(),
            level: AtomicU8::new(BudgetLevel::Ok as u8),
        }
    }

    /// The budget in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Records the latest measurement of some components and updates the
    /// level.
    pub fn set(&self, measured: &[(Component, usize)]) {
        for (c, bytes) in measured {
            self.parts[*c as usize].store(*bytes, Ordering::Relaxed);
        }
        let total = self.total();
        let level = if total >= self.limit {
            BudgetLevel::Full
        } else if total >= self.limit / 10 * 9 {
            BudgetLevel::NoNewFeatures
        } else {
            BudgetLevel::Ok
        };
        let before = self.level.swap(level as u8, Ordering::Relaxed);
        if before != level as u8 {
            match level {
                BudgetLevel::Ok => {
                    tracing::info!(
                        bytes = total,
                        budget = self.limit,
                        "State back under 90 % of limits.max_state_bytes."
                    );
                }
                BudgetLevel::NoNewFeatures => tracing::warn!(
                    bytes = total,
                    budget = self.limit,
                    "State at 90 % of limits.max_state_bytes: new features fold into __other__."
                ),
                BudgetLevel::Full => tracing::error!(
                    bytes = total,
                    budget = self.limit,
                    "State reached limits.max_state_bytes: usage records are refused (outcome over_budget)."
                ),
            }
        }
    }

    /// The current level.
    #[inline]
    pub fn level(&self) -> BudgetLevel {
        match self.level.load(Ordering::Relaxed) {
            0 => BudgetLevel::Ok,
            1 => BudgetLevel::NoNewFeatures,
            _ => BudgetLevel::Full,
        }
    }

    /// Sum of every component.
    pub fn total(&self) -> usize {
        self.parts.iter().map(|p| p.load(Ordering::Relaxed)).sum()
    }

    /// Bytes per exported component label, in a fixed order.
    pub fn by_label(&self) -> Vec<(&'static str, usize)> {
        let mut out: Vec<(&'static str, usize)> = Vec::new();
        for c in Component::ALL {
            let bytes = self.parts[c as usize].load(Ordering::Relaxed);
            match out.iter_mut().find(|(l, _)| *l == c.label()) {
                Some((_, b)) => *b += bytes,
                None => out.push((c.label(), bytes)),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
