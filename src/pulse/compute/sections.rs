//! The four sections' facts for one scope (a team or the organisation),
//! gathered by kind, each kind sorted by impact.

use std::collections::BTreeMap;

use super::{Context, WEEK, human, item, pct};
use crate::domain::dora::{Attribution, SeriesReport};
use crate::domain::flow::{FlowReport, measure_sorted, waits_sorted};
use crate::domain::health::{self, HealthMetric, HealthTier};
use crate::domain::labels::OTHER;
use crate::domain::quantiles::{self, Samples};
use crate::domain::satisfaction::{SatisfactionFigures, SatisfactionReport};
use crate::domain::tier::TierMetric;
use crate::domain::{FlowCategory, Millis};
use crate::ingest::decode::format_time;
use crate::pulse::model::{Comparison, Item};

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

/// What the features first shipped in one week add up to, as they stood
/// at its end.
struct ShippedWeek {
    shipped: u64,
    used: u64,
    /// Median time to first use, seconds, of the used ones.
    feedback: Option<f64>,
}

impl ShippedWeek {
    fn bands(&self) -> [(HealthMetric, Option<HealthTier>); 2] {
        let realization = (self.shipped > 0).then(|| self.used as f64 / self.shipped as f64);
        [
            (
                HealthMetric::ValueRealization,
                realization.map(|r| HealthMetric::ValueRealization.grade(r)),
            ),
            (
                HealthMetric::ValueFeedbackCycle,
                self.feedback
                    .map(|f| HealthMetric::ValueFeedbackCycle.grade(f)),
            ),
        ]
    }
}

impl Scope<'_, '_> {
    /// The features of this scope first shipped in `[from, to)`, used (a
    /// first use) before `to`, and their median time to first use. Exact
    /// for both weeks only when a feature counts as used from its first
    /// user (`adoption.min_users` 1): first uses are kept to the second,
    /// distinct users of an earlier week are not.
    fn shipped_week(&self, from: Millis, to: Millis) -> ShippedWeek {
        let mut w = ShippedWeek {
            shipped: 0,
            used: 0,
            feedback: None,
        };
        let mut samples = Samples::default();
        for f in self
            .cx
            .adoption
            .shipped_features
            .iter()
            .filter(|f| self.ours(f.team) && f.shipped_at >= from && f.shipped_at < to)
        {
            w.shipped += 1;
            if let Some(t) = f.time_to_first_use.filter(|t| f.shipped_at + t < to) {
                w.used += 1;
                samples.record(t as u64);
            }
        }
        w.feedback = samples
            .quantiles(&mut quantiles::scratch())
            .map(|q| q.values[0].1);
        w
    }

    /// The value-stream bands of adoption (value realization, the value
    /// feedback cycle) of this week's first ships against last week's,
    /// where they dropped: `(subject, text, now, then)`.
    fn adoption_bands_dropped(&self) -> Vec<(String, String, u8, u8)> {
        if self.cx.min_users != 1 {
            return Vec::new();
        }
        let now = self.cx.now;
        let (this, last) = (
            // This week's end is now: every first use so far (a use is never
            // after now beyond the clock skew).
            self.shipped_week(now - WEEK, Millis::MAX),
            self.shipped_week(now - 2 * WEEK, now - WEEK),
        );
        let mut out = Vec::new();
        for ((metric, a), (_, b)) in this.bands().into_iter().zip(last.bands()) {
            if let (Some(a), Some(b)) = (a, b)
                && a < b
            {
                out.push((
                    metric.as_str().to_owned(),
                    format!(
                        "{} band dropped from {} to {} ({} of {} features first shipped this week used, {} of {} last week)",
                        metric.as_str(),
                        b.as_str(),
                        a.as_str(),
                        this.used,
                        this.shipped,
                        last.used,
                        last.shipped
                    ),
                    a as u8,
                    b as u8,
                ));
            }
        }
        out
    }

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

    /// Value created: features first shipped and their first use, features
    /// with the most distinct users, work items finished, deployments,
    /// median lead time, satisfaction.
    pub(super) fn created(&self) -> Vec<Vec<Item>> {
        let cx = self.cx;
        let a = &cx.adoption;
        let mut shipped: Vec<_> = a
            .shipped_features
            .iter()
            .filter(|f| f.shipped_at >= self.week_start() && self.ours(f.team))
            .collect();
        shipped.sort_by(|x, y| {
            let used = |f: &&crate::domain::adoption::ShippedFeature<'_>| {
                f.users_since_ship >= cx.min_users
            };
            used(y)
                .cmp(&used(x))
                .then(y.users_since_ship.cmp(&x.users_since_ship))
                .then(x.time_to_first_use.cmp(&y.time_to_first_use))
                .then(x.feature.cmp(y.feature))
        });
        let shipped = shipped
            .into_iter()
            .map(|f| {
                let ttfu = f.time_to_first_use.map(|t| t as f64 / 1000.0);
                let date = format_time(f.shipped_at);
                let when = &date[..10];
                let text = match ttfu {
                    Some(t) => format!(
                        "{} shipped by {} on {when}: first used {} later, {} users since",
                        f.feature,
                        f.service,
                        human(t),
                        f.users_since_ship
                    ),
                    None => format!(
                        "{} shipped by {} on {when}: not used yet",
                        f.feature, f.service
                    ),
                };
                item(
                    "feature_shipped",
                    text,
                    Some(f.feature),
                    (ttfu, None),
                    "seconds",
                    Comparison::None,
                )
            })
            .collect();

        let mut gaining: Vec<_> = a
            .features
            .iter()
            .filter(|f| f.feature != OTHER && f.users[0] > 0 && self.ours_feature(f.team))
            .collect();
        gaining.sort_by(|x, y| y.users[0].cmp(&x.users[0]).then(x.feature.cmp(y.feature)));
        let gaining = gaining
            .into_iter()
            .map(|f| {
                item(
                    "feature_gaining_users",
                    format!(
                        "{}: {} distinct users this week (no comparison: distinct users of an earlier week are not kept)",
                        f.feature, f.users[0]
                    ),
                    Some(f.feature),
                    (Some(f.users[0] as f64), None),
                    "users",
                    Comparison::None,
                )
            })
            .collect();

        let (this, last) = (self.flow_sums(&cx.this.flow), self.flow_sums(&cx.last.flow));
        let mut finished = Vec::new();
        if this.items > 0 || last.items > 0 {
            let eff = this
                .efficiency()
                .map_or_else(String::new, |e| format!(", flow efficiency {}", pct(e)));
            finished.push(item(
                "work_items_finished",
                format!(
                    "{} work items finished (last week {}){eff}",
                    this.items, last.items
                ),
                None,
                (Some(this.items as f64), Some(last.items as f64)),
                "count",
                Comparison::State,
            ));
        }

        let pairs = self.dora_pairs();
        let deploys = |series: &[SeriesReport<'_>]| -> u64 {
            series
                .iter()
                .filter(|s| self.ours(s.team))
                .map(|s| s.windows[0].deployments)
                .sum()
        };
        let (d_this, d_last) = (deploys(&cx.this.dora.series), deploys(&cx.last.dora.series));
        let mut deployments = Vec::new();
        if d_this > 0 || d_last > 0 {
            deployments.push(item(
                "deploys",
                format!("{d_this} deployments (last week {d_last})"),
                None,
                (Some(d_this as f64), Some(d_last as f64)),
                "count",
                Comparison::State,
            ));
        }

        let mut lead: Vec<_> = pairs
            .iter()
            .filter_map(|(s, l)| {
                let median = s.windows[0].lead_time.as_ref()?.values[0].1;
                let before = l
                    .and_then(|l| l.windows[0].lead_time.as_ref())
                    .map(|q| q.values[0].1);
                Some((s, median, before))
            })
            .collect();
        lead.sort_by(|x, y| {
            y.0.windows[0]
                .deployments
                .cmp(&x.0.windows[0].deployments)
                .then(x.0.service.cmp(y.0.service))
        });
        let lead = lead
            .into_iter()
            .map(|(s, median, before)| {
                item(
                    "lead_time",
                    format!(
                        "{}: median lead time {} (last week {})",
                        s.service,
                        human(median),
                        or_none(before.map(human))
                    ),
                    Some(s.service),
                    (Some(median), before),
                    "seconds",
                    Comparison::State,
                )
            })
            .collect();

        let (s_this, s_last) = (
            self.scores(&cx.this.satisfaction),
            self.scores(&cx.last.satisfaction),
        );
        let mut satisfaction = Vec::new();
        if let Some(score) = s_this.score() {
            satisfaction.push(item(
                "satisfaction",
                format!(
                    "satisfaction {} from {} responses (last week {})",
                    pct(score),
                    s_this.responses,
                    or_none(s_last.score().map(|p| format!(
                        "{} from {}",
                        pct(p),
                        s_last.responses
                    )))
                ),
                None,
                (Some(score), s_last.score()),
                "score",
                Comparison::State,
            ));
        }
        vec![shipped, gaining, finished, deployments, lead, satisfaction]
    }

    /// Value blocked: finished items that waited longest, open items
    /// waiting longest, change failures, flow efficiency, unmapped states.
    pub(super) fn blocked(&self) -> Vec<Vec<Item>> {
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
                    .map(|(s, t)| format!("{s} {}", human(*t as f64 / 1000.0)))
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
                        human(times.waiting as f64 / 1000.0),
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
                        human(secs)
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

    /// Value opportunities: shipped features still unused, the lowest
    /// satisfaction, falling usage.
    pub(super) fn opportunities(&self) -> Vec<Vec<Item>> {
        let cx = self.cx;
        let mut unused: Vec<_> = cx
            .adoption
            .shipped_features
            .iter()
            .filter(|f| f.users_since_ship < cx.min_users && self.ours(f.team))
            .collect();
        unused.sort_by(|x, y| {
            x.shipped_at
                .cmp(&y.shipped_at)
                .then(x.feature.cmp(y.feature))
        });
        let unused = unused
            .into_iter()
            .map(|f| {
                let age = (cx.now - f.shipped_at) as f64 / 1000.0;
                item(
                    "feature_unused",
                    format!(
                        "{} ({}) shipped {} ago, {} users since: not adopted",
                        f.feature,
                        f.service,
                        human(age),
                        f.users_since_ship
                    ),
                    Some(f.feature),
                    (Some(age), None),
                    "seconds",
                    Comparison::None,
                )
            })
            .collect();

        // Services and features, lowest score first, then most detractors.
        let last = &cx.last.satisfaction.series;
        let mut lowest: Vec<(String, &str, &SatisfactionFigures, f64, Option<f64>)> = cx
            .this
            .satisfaction
            .series
            .iter()
            .filter(|s| self.ours(s.team))
            .filter_map(|s| {
                let f = &s.windows[0];
                let before = last
                    .binary_search_by(|x| (x.service, x.team).cmp(&(s.service, s.team)))
                    .ok()
                    .and_then(|i| last[i].windows[0].score);
                Some((s.service.to_owned(), s.service, f, f.score?, before))
            })
            .collect();
        lowest.extend(
            cx.this
                .features
                .iter()
                .filter(|f| self.ours_feature(f.team))
                .filter_map(|f| {
                    let before = cx
                        .last
                        .features
                        .iter()
                        .find(|l| (l.feature, l.team) == (f.feature, f.team))
                        .and_then(|l| l.figures.score);
                    Some((
                        format!("feature {}", f.feature),
                        f.feature,
                        &f.figures,
                        f.figures.score?,
                        before,
                    ))
                }),
        );
        lowest.sort_by(|x, y| {
            x.3.total_cmp(&y.3)
                .then(y.2.detractors.cmp(&x.2.detractors))
                .then(x.0.cmp(&y.0))
        });
        let lowest = lowest
            .into_iter()
            .map(|(name, subject, f, score, before)| {
                let nps = f.net_promoter.map_or_else(String::new, |n| {
                    format!(", NPS {:.0} ({} detractors)", n * 100.0, f.detractors)
                });
                item(
                    "lowest_satisfaction",
                    format!(
                        "{name}: satisfaction {} from {} responses{nps} (last week {})",
                        pct(score),
                        f.responses(),
                        or_none(before.map(pct))
                    ),
                    Some(subject),
                    (Some(score), before),
                    "score",
                    Comparison::State,
                )
            })
            .collect();

        let mut falling: Vec<_> = cx
            .adoption
            .features
            .iter()
            .filter(|f| f.feature != OTHER && self.ours_feature(f.team))
            .filter_map(|f| {
                let this = f.events[0];
                let before = f.events[1].saturating_sub(this);
                (this < before).then_some((f.feature, this, before))
            })
            .collect();
        let fall = |(_, this, before): &(&str, u64, u64)| (before - this) as f64 / *before as f64;
        falling.sort_by(|x, y| fall(y).total_cmp(&fall(x)).then(x.0.cmp(y.0)));
        let falling = falling
            .into_iter()
            .map(|f @ (feature, this, before)| {
                item(
                    "adoption_falling",
                    format!(
                        "{feature}: usage events fell {} ({before} last week, {this} this week)",
                        pct(fall(&f))
                    ),
                    Some(feature),
                    (Some(this as f64), Some(before as f64)),
                    "count",
                    Comparison::State,
                )
            })
            .collect();
        vec![unused, lowest, falling]
    }

    /// Value risks: change failure rate and time to restore against last
    /// week with their tiers, open incidents, tiers that dropped, value
    /// scores that fell, data that cannot be trusted.
    pub(super) fn risks(&self) -> Vec<Vec<Item>> {
        let cx = self.cx;
        let pairs = self.dora_pairs();
        let tier = |s: Option<&SeriesReport<'_>>, m: TierMetric| {
            s.and_then(|s| s.tiers.iter().find(|(x, _)| *x == m).map(|(_, t)| *t))
        };
        let tier_name = |t: Option<crate::domain::tier::Tier>| {
            t.map_or_else(|| "no tier".to_owned(), |t| t.as_str().to_owned())
        };

        let mut cfr: Vec<_> = pairs
            .iter()
            .filter_map(|(s, l)| {
                let r = s.windows[0].change_failure_ratio(Attribution::Strict)?;
                let before = l.and_then(|l| l.windows[0].change_failure_ratio(Attribution::Strict));
                Some((*s, *l, r, before))
            })
            .collect();
        cfr.sort_by(|x, y| y.2.total_cmp(&x.2).then(x.0.service.cmp(y.0.service)));
        let cfr = cfr
            .into_iter()
            .map(|(s, l, r, before)| {
                let m = TierMetric::ChangeFailureRate;
                item(
                    "change_failure_rate",
                    format!(
                        "{}: change failure rate {} ({}), last week {}",
                        s.service,
                        pct(r),
                        tier_name(tier(Some(s), m)),
                        or_none(before.map(|b| format!("{} ({})", pct(b), tier_name(tier(l, m)))))
                    ),
                    Some(s.service),
                    (Some(r), before),
                    "ratio",
                    Comparison::State,
                )
            })
            .collect();

        let median =
            |s: &SeriesReport<'_>| s.windows[0].time_to_restore.as_ref().map(|q| q.values[0].1);
        let mut restore: Vec<_> = pairs
            .iter()
            .filter_map(|(s, l)| Some((*s, *l, median(s)?, l.and_then(median))))
            .collect();
        restore.sort_by(|x, y| y.2.total_cmp(&x.2).then(x.0.service.cmp(y.0.service)));
        let restore = restore
            .into_iter()
            .map(|(s, l, t, before)| {
                let m = TierMetric::TimeToRestore;
                item(
                    "time_to_restore",
                    format!(
                        "{}: median time to restore {} ({}), last week {}",
                        s.service,
                        human(t),
                        tier_name(tier(Some(s), m)),
                        or_none(before.map(|b| format!(
                            "{} ({})",
                            human(b),
                            tier_name(tier(l, m))
                        )))
                    ),
                    Some(s.service),
                    (Some(t), before),
                    "seconds",
                    Comparison::State,
                )
            })
            .collect();

        let incidents = cx
            .open_incidents
            .iter()
            .filter(|i| self.ours(i.team))
            .map(|i| {
                let age = (cx.now - i.opened_at) as f64 / 1000.0;
                item(
                    "open_incident",
                    format!("{} ({}) open for {}", i.id, i.service, human(age)),
                    Some(i.id),
                    (Some(age), None),
                    "seconds",
                    Comparison::None,
                )
            })
            .collect();

        let mut dropped: Vec<(String, String, u8, u8)> = Vec::new();
        for (s, l) in &pairs {
            for m in TierMetric::ALL {
                if let (Some(now), Some(then)) = (tier(Some(*s), m), tier(*l, m))
                    && now < then
                {
                    dropped.push((
                        s.service.to_owned(),
                        format!(
                            "{}: {} tier dropped from {} to {}",
                            s.service,
                            m.as_str(),
                            then.as_str(),
                            now.as_str()
                        ),
                        now as u8,
                        then as u8,
                    ));
                }
            }
        }
        let band = |r: &FlowReport<'_>, service: &str, team: &str| -> Option<HealthTier> {
            r.series
                .iter()
                .find(|s| s.service == service && s.team == team)
                .and_then(|s| s.tier)
        };
        for s in cx.this.flow.series.iter().filter(|s| self.ours(s.team)) {
            if let (Some(now), Some(then)) = (s.tier, band(&cx.last.flow, s.service, s.team))
                && now < then
            {
                dropped.push((
                    s.service.to_owned(),
                    format!(
                        "{}: flow_efficiency band dropped from {} to {}",
                        s.service,
                        then.as_str(),
                        now.as_str()
                    ),
                    now as u8,
                    then as u8,
                ));
            }
        }
        dropped.extend(self.adoption_bands_dropped());
        dropped.sort_by(|x, y| (y.3 - y.2).cmp(&(x.3 - x.2)).then(x.1.cmp(&y.1)));
        let dropped = dropped
            .into_iter()
            .map(|(service, text, now, then)| {
                item(
                    "tier_dropped",
                    text,
                    Some(service.as_str()),
                    (Some(f64::from(now)), Some(f64::from(then))),
                    "tier",
                    Comparison::State,
                )
            })
            .collect();

        let mut fell: Vec<_> = cx
            .this
            .value
            .iter()
            .filter(|v| self.ours(v.team))
            .filter_map(|v| {
                let now = v.windows[0]?;
                let then = cx
                    .last
                    .value
                    .iter()
                    .find(|l| {
                        (l.service, l.team, l.environment) == (v.service, v.team, v.environment)
                    })
                    .and_then(|l| l.windows[0])?;
                (now < then).then_some((v.service, now, then))
            })
            .collect();
        fell.sort_by(|x, y| (x.1 / x.2).total_cmp(&(y.1 / y.2)).then(x.0.cmp(y.0)));
        let fell = fell
            .into_iter()
            .map(|(service, now, then)| {
                item(
                    "value_score_fell",
                    format!(
                        "{service}: value delivery score fell {} ({then:.3} to {now:.3})",
                        pct(1.0 - now / then)
                    ),
                    Some(service),
                    (Some(now), Some(then)),
                    "score",
                    Comparison::State,
                )
            })
            .collect();

        let mut untrusted = Vec::new();
        let unattributed = |series: &[SeriesReport<'_>]| -> u64 {
            series
                .iter()
                .filter(|s| self.ours(s.team))
                .map(|s| s.windows[0].unattributed)
                .sum()
        };
        let (u_this, u_last) = (
            unattributed(&cx.this.dora.series),
            unattributed(&cx.last.dora.series),
        );
        if u_this > 0 {
            untrusted.push(item(
                "untrusted_data",
                format!(
                    "{u_this} incidents opened this week are linked to no deploy (last week {u_last})"
                ),
                None,
                (Some(u_this as f64), Some(u_last as f64)),
                "count",
                Comparison::State,
            ));
        }
        if cx.refused > 0 {
            untrusted.push(item(
                "untrusted_data",
                format!(
                    "{} usage records refused over the state budget since start: usage figures are short",
                    cx.refused
                ),
                None,
                (Some(cx.refused as f64), None),
                "count",
                Comparison::None,
            ));
        }
        for topic in &cx.incomplete {
            untrusted.push(item(
                "untrusted_data",
                format!("topic {topic}: history here does not reach back 14 days, last week is incomplete"),
                Some(*topic),
                (None, None),
                "count",
                Comparison::None,
            ));
        }
        vec![cfr, restore, incidents, dropped, fell, untrusted]
    }
}
