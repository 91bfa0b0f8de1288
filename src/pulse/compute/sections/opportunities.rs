//! Value opportunities: what customer pain points did we discover?

use super::super::{item, pct};
use super::{Scope, or_none};
use crate::domain::labels::OTHER;
use crate::domain::satisfaction::SatisfactionFigures;
use crate::domain::time::human_duration;
use crate::pulse::model::{Comparison, Item};

impl Scope<'_, '_> {
    /// Value opportunities: shipped features still unused, the lowest
    /// satisfaction, falling usage.
    pub(in crate::pulse::compute) fn opportunities(&self) -> Vec<Vec<Item>> {
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
                        human_duration(age),
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
}
