//! The four sections' facts for one scope (a team or the organisation),
//! gathered by kind, each kind sorted by impact: one file per section, and
//! here what they share (the scope, sums over series, last week's series
//! beside this week's).
//!
//! | module | section |
//! |---|---|
//! | `created` | value created |
//! | `blocked` | value blocked |
//! | `opportunities` | value opportunities |
//! | `risks` | value risks |

mod blocked;
mod created;
mod opportunities;
mod risks;

use super::{Context, WEEK};
use crate::domain::Millis;
use crate::domain::dora::SeriesReport;
use crate::domain::flow::FlowReport;
use crate::domain::satisfaction::SatisfactionReport;

/// One pulse's view of the context.
pub(super) struct Scope<'c, 'a> {
    pub(super) cx: &'c Context<'a>,
    /// `None`: the organisation.
    pub(super) team: Option<&'c str>,
}

/// Active and waiting time and items finished, summed over series.
#[derive(Default)]
struct FlowSums {
    items: u64,
    active: f64,
    waiting: f64,
}

impl FlowSums {
    fn efficiency(&self) -> Option<f64> {
        let total = self.active + self.waiting;
        (total > 0.0).then(|| self.active / total)
    }
}

/// Responses and the sum of their scores.
#[derive(Default)]
struct Scores {
    responses: u64,
    sum: f64,
}

impl Scores {
    fn score(&self) -> Option<f64> {
        (self.responses > 0).then(|| self.sum / self.responses as f64)
    }
}

fn or_none(v: Option<String>) -> String {
    v.unwrap_or_else(|| "none".to_owned())
}

impl Scope<'_, '_> {
    /// Whether a fact of `team` belongs to this pulse.
    fn ours(&self, team: &str) -> bool {
        self.team.is_none_or(|t| t == team)
    }

    /// Whether a feature owned by `team` (its first ship's) belongs here.
    fn ours_feature(&self, team: Option<&str>) -> bool {
        match (self.team, team) {
            (None, _) => true,
            (Some(t), Some(f)) => t == f,
            (Some(_), None) => false,
        }
    }

    fn week_start(&self) -> Millis {
        self.cx.now - WEEK
    }

    fn flow_sums(&self, r: &FlowReport<'_>) -> FlowSums {
        let mut s = FlowSums::default();
        for f in r.series.iter().filter(|s| self.ours(s.team)) {
            let w = &f.windows[0];
            s.items += w.items_finished;
            s.active += w.active_seconds;
            s.waiting += w.waiting_seconds;
        }
        s
    }

    fn scores(&self, r: &SatisfactionReport<'_>) -> Scores {
        let mut s = Scores::default();
        for series in r.series.iter().filter(|s| self.ours(s.team)) {
            let f = &series.windows[0];
            if let Some(score) = f.score {
                s.responses += f.responses();
                s.sum += score * f.responses() as f64;
            }
        }
        s
    }

    /// This week's DORA series of the scope with last week's of the same
    /// labels.
    fn dora_pairs(&self) -> Vec<(&SeriesReport<'_>, Option<&SeriesReport<'_>>)> {
        let last = &self.cx.last.dora.series;
        self.cx
            .this
            .dora
            .series
            .iter()
            .filter(|s| self.ours(s.team))
            .map(|s| {
                let key = (s.service, s.team, s.environment);
                let l = last
                    .binary_search_by(|x| (x.service, x.team, x.environment).cmp(&key))
                    .ok()
                    .map(|i| &last[i]);
                (s, l)
            })
            .collect()
    }
}
