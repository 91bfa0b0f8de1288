//! Value blocked: what prevented us from creating more value?

use std::collections::BTreeMap;

use super::super::{WEEK, item, pct};
use super::{Scope, or_none};
use crate::domain::FlowCategory;
use crate::domain::dora::{Attribution, SeriesReport};
use crate::domain::flow::{measure_sorted, waits_sorted};
use crate::domain::health;
use crate::domain::time::human_duration;
use crate::pulse::model::{Comparison, Item};

impl Scope<'_, '_> {
    /// Value blocked: finished items that waited longest, open items
    /// waiting longest, change failures, flow efficiency, unmapped states.
    pub(in crate::pulse::compute) fn blocked(&self) -> Vec<Vec<Item>> {
        let cx = self.cx;
        let start = self.week_start();
        let ours: Vec<_> = cx.items.iter().filter(|i| self.ours(i.team)).collect();

        let mut waited: Vec<_> = ours
            .iter()
            .filter_map(|i| {
                let times = measure_sorted(i.transitions.iter().map(|t| (t.at, t.category)));
                let finished = times.finished_at?;
                (finished >= start && times.waiting > 0).then_some((i, times))
            })
            .collect();
        waited.sort_by(|x, y| y.1.waiting.cmp(&x.1.waiting).then(x.0.id.cmp(y.0.id)));
        let waited = waited
            .into_iter()
            .map(|(i, times)| {
                let waits = waits_sorted(i.transitions.iter().map(|t| (t.at, t.category, t.state)));
                let states: Vec<String> = waits
                    .iter()
                    .map(|(s, t)| format!("{s} {}", human_duration(*t as f64 / 1000.0)))
                    .collect();
                let eff = times
                    .efficiency()
                    .map_or_else(String::new, |e| format!("; flow efficiency {}", pct(e)));
                item(
                    "waited_longest",
                    format!(
                        "{} ({}) waited {}: {}{eff}",
                        i.id,
                        i.service,
                        human_duration(times.waiting as f64 / 1000.0),
                        states.join(", ")
                    ),
                    Some(i.id),
                    (Some(times.waiting as f64 / 1000.0), None),
                    "seconds",
                    Comparison::None,
                )
            })
            .collect();

        let mut open: Vec<_> = ours
            .iter()
            .filter_map(|i| {
                let ts = &i.transitions;
                let last = ts.last()?;
                if last.category != FlowCategory::Waiting {
                    return None;
                }
                // The final run of waiting transitions, and whether work
                // had started before it.
                let run = ts
                    .iter()
                    .rposition(|t| t.category != FlowCategory::Waiting)
                    .map_or(0, |p| p + 1);
                let started = ts[..run].iter().any(|t| t.category == FlowCategory::Active);
                started.then(|| (i, last.state, cx.now - ts[run].at))
            })
            .collect();
        open.sort_by(|x, y| y.2.cmp(&x.2).then(x.0.id.cmp(y.0.id)));
        let open = open
            .into_iter()
            .map(|(i, state, age)| {
                let secs = age as f64 / 1000.0;
                item(
                    "open_waiting",
                    format!(
                        "{} ({}) waiting for {} in {state}",
                        i.id,
                        i.service,
                        human_duration(secs)
                    ),
                    Some(i.id),
                    (Some(secs), None),
                    "seconds",
                    Comparison::None,
                )
            })
            .collect();

        let mut failed: Vec<_> = self
            .dora_pairs()
            .into_iter()
            .filter(|(s, _)| s.windows[0].failed(Attribution::Strict) > 0)
            .collect();
        failed.sort_by(|x, y| {
            let n = |s: &SeriesReport<'_>| s.windows[0].failed(Attribution::Strict);
            n(y.0).cmp(&n(x.0)).then(x.0.service.cmp(y.0.service))
        });
        let failed = failed
            .into_iter()
            .map(|(s, l)| {
                let w = &s.windows[0];
                let (lf, la) = l.map_or((0, 0), |l| {
                    (
                        l.windows[0].failed(Attribution::Strict),
                        l.windows[0].assessed,
                    )
                });
                item(
                    "failed_deploys",
                    format!(
                        "{}: {} change failures of {} deploys (last week {lf} of {la})",
                        s.service,
                        w.failed(Attribution::Strict),
                        w.assessed
                    ),
                    Some(s.service),
                    (Some(w.failed(Attribution::Strict) as f64), Some(lf as f64)),
                    "count",
                    Comparison::State,
                )
            })
            .collect();

        let (this, last) = (self.flow_sums(&cx.this.flow), self.flow_sums(&cx.last.flow));
        let mut efficiency = Vec::new();
        if let Some(e) = this.efficiency() {
            let band = |e: f64| health::flow_efficiency(e).as_str();
            efficiency.push(item(
                "flow_efficiency",
                format!(
                    "flow efficiency {} ({}), last week {}",
                    pct(e),
                    band(e),
                    or_none(
                        last.efficiency()
                            .map(|p| format!("{} ({})", pct(p), band(p)))
                    )
                ),
                None,
                (Some(e), last.efficiency()),
                "ratio",
                Comparison::State,
            ));
        }

        let mut unmapped: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
        for i in &ours {
            for t in i.transitions.iter().filter(|t| t.unmapped) {
                let e = unmapped.entry(t.state).or_default();
                if t.at >= start {
                    e.0 += 1;
                } else if t.at >= start - WEEK {
                    e.1 += 1;
                }
            }
        }
        let mut unmapped: Vec<_> = unmapped.into_iter().filter(|(_, (n, _))| *n > 0).collect();
        unmapped.sort_by(|x, y| y.1.0.cmp(&x.1.0).then(x.0.cmp(y.0)));
        let unmapped = unmapped
            .into_iter()
            .map(|(state, (n, before))| {
                item(
                    "unmapped_states",
                    format!(
                        "state {state} maps to no category (counted as waiting): {n} transitions (last week {before})"
                    ),
                    Some(state),
                    (Some(n as f64), Some(before as f64)),
                    "count",
                    Comparison::State,
                )
            })
            .collect();
        vec![waited, open, failed, efficiency, unmapped]
    }
}
