//! Value created: what customer problems did we solve this week?

use super::super::{item, pct};
use super::{Scope, or_none};
use crate::domain::dora::SeriesReport;
use crate::domain::labels::OTHER;
use crate::domain::time::human_duration;
use crate::ingest::decode::format_time;
use crate::pulse::history::LastWeek;
use crate::pulse::model::{Comparison, Item};

impl Scope<'_, '_> {
    /// Value created: features first shipped and their first use, features
    /// with the most distinct users, work items finished, deployments,
    /// median lead time, satisfaction.
    pub(in crate::pulse::compute) fn created(&self) -> Vec<Vec<Item>> {
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
                        human_duration(t),
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
        // Most users gained first: this week's distinct users less last
        // week's, where Prometheus knows last week's; a feature without
        // that figure ranks by this week's users (as if new), and its item
        // says there is no comparison. With Prometheus both weeks are its
        // sums over replicas (this replica's state holds only its share).
        let users = |f: &crate::domain::adoption::FeatureReport<'_>| {
            cx.history
                .this_week_users(f.feature)
                .unwrap_or(f.users[0] as f64)
        };
        let gain = |f: &crate::domain::adoption::FeatureReport<'_>| match cx
            .history
            .last_week_users(f.feature)
        {
            LastWeek::Known(previous) => users(f) - previous,
            LastWeek::Unknown(_) => users(f),
        };
        gaining.sort_by(|x, y| {
            gain(y)
                .total_cmp(&gain(x))
                .then(users(y).total_cmp(&users(x)))
                .then(x.feature.cmp(y.feature))
        });
        let gaining = gaining
            .into_iter()
            .map(|f| {
                let users = users(f);
                let (text, previous, comparison) = match cx.history.last_week_users(f.feature) {
                    LastWeek::Known(previous) => (
                        format!(
                            "{}: {users:.0} distinct users this week (last week {previous:.0}, from Prometheus)",
                            f.feature
                        ),
                        Some(previous),
                        Comparison::Prometheus,
                    ),
                    LastWeek::Unknown(why) => (
                        format!(
                            "{}: {users:.0} distinct users this week (no comparison: {why})",
                            f.feature
                        ),
                        None,
                        Comparison::None,
                    ),
                };
                item(
                    "feature_gaining_users",
                    text,
                    Some(f.feature),
                    (Some(users), previous),
                    "users",
                    comparison,
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
                        human_duration(median),
                        or_none(before.map(human_duration))
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
}
