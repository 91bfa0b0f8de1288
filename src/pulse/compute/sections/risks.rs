//! Value risks: what might destroy value we've already created?

use super::super::{WEEK, item, pct};
use super::{Scope, or_none};
use crate::domain::Millis;
use crate::domain::dora::{Attribution, SeriesReport};
use crate::domain::flow::FlowReport;
use crate::domain::health::{HealthMetric, HealthTier};
use crate::domain::quantiles::{self, Samples};
use crate::domain::tier::TierMetric;
use crate::domain::time::human_duration;
use crate::pulse::model::{Comparison, Item};

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

    /// Value risks: change failure rate and time to restore against last
    /// week with their tiers, open incidents, tiers that dropped, value
    /// scores that fell, data that cannot be trusted.
    pub(in crate::pulse::compute) fn risks(&self) -> Vec<Vec<Item>> {
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
                        human_duration(t),
                        tier_name(tier(Some(s), m)),
                        or_none(before.map(|b| format!(
                            "{} ({})",
                            human_duration(b),
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
                    format!("{} ({}) open for {}", i.id, i.service, human_duration(age)),
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
