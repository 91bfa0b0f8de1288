//! The flow report: per (service, team) and window, over the items
//! *finished* in the window (see `item.rs`): how many, their summed active
//! and waiting time, flow efficiency and its distribution per item.

use std::collections::BTreeMap;

use super::{FlowState, Key, measure_sorted};
use crate::domain::health::{self, HealthTier};
use crate::domain::quantiles::{RatioQuantiles, ratio_quantiles};
use crate::domain::time::{Millis, Windows};

/// Figures of one series in one window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlowFigures {
    /// Items finished in the window.
    pub items_finished: u64,
    /// Their summed active time, seconds.
    pub active_seconds: f64,
    /// Their summed waiting time, seconds.
    pub waiting_seconds: f64,
    /// Flow efficiency: Σ active ÷ Σ (active + waiting), 0–1; `None` when
    /// the denominator is 0 (no finished item was ever started).
    pub efficiency: Option<f64>,
    /// Distribution of the per-item efficiency over the finished items that
    /// were started (nearest-rank quantiles).
    pub item_efficiency: Option<RatioQuantiles>,
}

/// Everything exported for one `(service, team)`.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowSeries<'s> {
    /// `service` label.
    pub service: &'s str,
    /// `team` label.
    pub team: &'s str,
    /// Figures per window, aligned with [`super::FlowSettings::windows`].
    pub windows: Vec<FlowFigures>,
    /// The flow-efficiency health band on the longest window, when it has
    /// an efficiency.
    pub tier: Option<HealthTier>,
}

/// The flow report at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowReport<'s> {
    /// One entry per label set with an item finished in the longest
    /// window, sorted by (service, team).
    pub series: Vec<FlowSeries<'s>>,
    /// Retained transitions whose state is in no list and that carried no
    /// category (counted as waiting): a sign the state mapping misses a
    /// state the tracker uses.
    pub unmapped_transitions: u64,
    /// Events whose service was folded into `__other__`.
    pub service_overflow: u64,
    /// Events whose team was folded into `__other__`.
    pub team_overflow: u64,
}

/// Per-key sums while a report is built.
struct Accumulator {
    items: Vec<u64>,
    active: Vec<Millis>,
    waiting: Vec<Millis>,
    ratios: Vec<Vec<f64>>,
}

impl FlowState {
    /// Computes every flow figure at `now`.
    pub fn report(&self, now: Millis) -> FlowReport<'_> {
        self.report_over(now, &self.settings.windows)
    }

    /// Computes every flow figure at `now` over `windows` instead of the
    /// configured ones (the weekly pulse), bands graded on the longest.
    pub fn report_over(&self, now: Millis, windows: &Windows) -> FlowReport<'_> {
        let longest = windows.longest();
        let mut acc: BTreeMap<Key, Accumulator> = BTreeMap::new();
        let mut unmapped = 0;
        for ts in self.items.values() {
            unmapped += ts.iter().filter(|t| t.unmapped).count() as u64;
            let times = measure_sorted(ts.iter().map(|t| (t.at, t.category)));
            let Some(finished) = times.finished_at else {
                continue;
            };
            if !windows[longest].contains(finished, now) {
                continue;
            }
            let key = ts.last().expect("items are never empty").key;
            let a = acc.entry(key).or_insert_with(|| Accumulator {
                items: vec![0; windows.len()],
                active: vec![0; windows.len()],
                waiting: vec![0; windows.len()],
                ratios: vec![Vec::new(); windows.len()],
            });
            for (w, window) in windows.iter().enumerate() {
                if !window.contains(finished, now) {
                    continue;
                }
                a.items[w] += 1;
                a.active[w] += times.active;
                a.waiting[w] += times.waiting;
                if let Some(e) = times.efficiency() {
                    a.ratios[w].push(e);
                }
            }
        }
        let mut series: Vec<FlowSeries<'_>> = acc
            .into_iter()
            .map(|(key, mut a)| {
                let windows: Vec<FlowFigures> = (0..windows.len())
                    .map(|w| {
                        let total = a.active[w] + a.waiting[w];
                        FlowFigures {
                            items_finished: a.items[w],
                            active_seconds: a.active[w] as f64 / 1000.0,
                            waiting_seconds: a.waiting[w] as f64 / 1000.0,
                            efficiency: (total > 0).then(|| a.active[w] as f64 / total as f64),
                            item_efficiency: ratio_quantiles(&mut a.ratios[w]),
                        }
                    })
                    .collect();
                FlowSeries {
                    service: self.services.name(key.service),
                    team: self.teams.name(key.team),
                    tier: windows[longest].efficiency.map(health::flow_efficiency),
                    windows,
                }
            })
            .collect();
        series.sort_unstable_by_key(|s| (s.service, s.team));
        FlowReport {
            series,
            unmapped_transitions: unmapped,
            service_overflow: self.services.overflow(),
            team_overflow: self.teams.overflow(),
        }
    }
}
