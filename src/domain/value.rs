//! The value delivery score: one number per service, team and window that
//! rises only when speed, stability and customer satisfaction rise together.
//!
//! ```text
//! score = (1 / lead time h) × deployments per day × (1 − change failure rate)
//!         × (1 / time to restore h) × satisfaction
//! ```
//!
//! Every input is a figure the DORA report already exports for the same
//! series and window ([`WindowFigures`]), so the score and its parts always
//! agree:
//!
//! | factor | from | exported as |
//! |---|---|---|
//! | lead time, hours | median of the lead-time distribution | `valuepulse_lead_time_seconds{quantile="0.5"}` ÷ 3600 |
//! | deployments per day | deployments ÷ window days | `valuepulse_deployments` ÷ days |
//! | change failure rate | strict attribution, as the tier | `valuepulse_change_failure_ratio{attribution="strict"}` |
//! | time to restore, hours | median time to restore of incidents resolved in the window | `valuepulse_time_to_restore_seconds{quantile="0.5"}` ÷ 3600 |
//! | satisfaction | mean normalised response, else `satisfaction.default_score` | `valuepulse_satisfaction_score` |
//!
//! **Recovery figure.** Time to restore (incidents), not failed deployment
//! recovery time: it is the figure the `time_to_restore` tier grades, every
//! incident counts (not only those a deploy is blamed for), and it exists
//! for a service that has incidents but no change failure, where recovery
//! time would leave the best services without a score.
//!
//! **Missing and zero.** No score when an input is missing: no deployment
//! in the window (deployments per day would be 0 and lead time is absent),
//! no lead-time sample, no assessed deploy (no change failure rate), no
//! incident resolved in the window (no time to restore), or no satisfaction
//! response and no default. No score either when a divisor is zero (a
//! median lead time or time to restore of 0 s): the score is never a
//! division by zero or infinite. A zero *factor* is a real answer and gives
//! 0: every assessed deploy failed (1 − CFR = 0), or every customer gave the
//! lowest answer.

use super::dora::{Attribution, DoraReport, WindowFigures};
use super::satisfaction::SatisfactionReport;
use super::time::Window;

/// Seconds in an hour.
const HOUR: f64 = 3600.0;

/// The five factors of the score, each `None` when missing.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ValueInputs {
    /// Median lead time, hours.
    pub lead_time_hours: Option<f64>,
    /// Deployments per day over the window.
    pub deploys_per_day: Option<f64>,
    /// Change failure ratio (strict), 0–1.
    pub change_failure_ratio: Option<f64>,
    /// Median time to restore, hours.
    pub restore_hours: Option<f64>,
    /// Satisfaction score, 0–1.
    pub satisfaction: Option<f64>,
}

impl ValueInputs {
    /// The inputs of one DORA series in `window`, with its satisfaction.
    pub fn from_figures(f: &WindowFigures, window: &Window, satisfaction: Option<f64>) -> Self {
        Self {
            lead_time_hours: f.lead_time.as_ref().map(|q| q.values[0].1 / HOUR),
            deploys_per_day: (f.deployments > 0).then(|| f.deployments as f64 / window.days()),
            change_failure_ratio: f.change_failure_ratio(Attribution::Strict),
            restore_hours: f.time_to_restore.as_ref().map(|q| q.values[0].1 / HOUR),
            satisfaction,
        }
    }

    /// The score, or `None` when an input is missing, a divisor is not
    /// positive, or a factor is not finite or out of range.
    pub fn score(&self) -> Option<f64> {
        let positive = |v: Option<f64>| v.filter(|x| x.is_finite() && *x > 0.0);
        let unit = |v: Option<f64>| v.filter(|x| (0.0..=1.0).contains(x));
        let lead = positive(self.lead_time_hours)?;
        let per_day = positive(self.deploys_per_day)?;
        let cfr = unit(self.change_failure_ratio)?;
        let restore = positive(self.restore_hours)?;
        let satisfaction = unit(self.satisfaction)?;
        let score = (1.0 / lead) * per_day * (1.0 - cfr) * (1.0 / restore) * satisfaction;
        score.is_finite().then_some(score)
    }
}

/// The score of one DORA series, per window.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueSeries<'s> {
    /// `service` label.
    pub service: &'s str,
    /// `team` label.
    pub team: &'s str,
    /// `environment` label.
    pub environment: &'s str,
    /// Score per window (aligned with the DORA windows); `None` where an
    /// input is missing.
    pub windows: Vec<Option<f64>>,
}

/// The value delivery score of every DORA series and window. `windows` are
/// the DORA windows; `satisfaction` must have been built over the same
/// windows. A series with no score in any window is left out.
pub fn value_scores<'s>(
    dora: &DoraReport<'s>,
    windows: &[Window],
    satisfaction: &SatisfactionReport<'_>,
) -> Vec<ValueSeries<'s>> {
    dora.series
        .iter()
        .filter_map(|s| {
            let scores: Vec<Option<f64>> = s
                .windows
                .iter()
                .zip(windows)
                .enumerate()
                .map(|(w, (f, window))| {
                    let sat = satisfaction.score_or_default(s.service, s.team, w);
                    ValueInputs::from_figures(f, window, sat).score()
                })
                .collect();
            let any = scores.iter().any(Option::is_some);
            any.then_some(ValueSeries {
                service: s.service,
                team: s.team,
                environment: s.environment,
                windows: scores,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
