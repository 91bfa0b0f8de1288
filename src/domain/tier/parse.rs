//! Band edges written as text, as configuration gives them: an operator and
//! a value in the metric's natural unit.
//!
//! | metric | operators | value | examples |
//! |---|---|---|---|
//! | `deployment_frequency` | `>=` `≥` `>` | deployments per period, `N/DURATION`, or a bare number per day | `">= 1/1d"`, `">= 1/7d"`, `"> 0.5"` |
//! | `lead_time`, `time_to_restore` | `<` `<=` `≤` | a duration (`s`, `m`, `h`, `d`, `w`) | `"< 1h"`, `"<= 7d"` |
//! | `change_failure_rate` | `<` `<=` `≤` | a ratio or a percentage | `"<= 0.15"`, `"< 15%"` |

use super::{BandField, BandsError, Edge, Tier, TierMetric};

/// Parses the edge of `tier` for `metric` from `text`. Only the syntax and
/// the direction are checked here; ranges and order are
/// [`super::DoraBands::validate`]'s.
pub fn parse_edge(metric: TierMetric, tier: Tier, text: &str) -> Result<Edge, BandsError> {
    let field = BandField { metric, tier };
    let expected = match metric {
        TierMetric::DeploymentFrequency => "\">= 1/1d\" (deployments per period) or \">= 0.5\"",
        TierMetric::LeadTime | TierMetric::TimeToRestore => "\"< 1h\" or \"<= 7d\"",
        TierMetric::ChangeFailureRate => "\"<= 0.15\" or \"< 15%\"",
    };
    let syntax = || BandsError::Syntax {
        field,
        text: text.to_owned(),
        expected,
    };
    let t = text.trim();
    let (op, rest) = [">=", "<=", "≥", "≤", ">", "<"]
        .into_iter()
        .find_map(|op| t.strip_prefix(op).map(|rest| (op, rest.trim())))
        .ok_or_else(syntax)?;
    let inclusive = matches!(op, ">=" | "<=" | "≥" | "≤");
    let upward = matches!(op, ">=" | "≥" | ">");
    if upward != metric.higher_is_better() {
        return Err(syntax());
    }
    let value = match metric {
        TierMetric::DeploymentFrequency => match rest.split_once('/') {
            Some((n, period)) => {
                let n: f64 = n.trim().parse().map_err(|_| syntax())?;
                let days = seconds(period).ok_or_else(syntax)? / 86_400.0;
                n / days
            }
            None => rest.parse().map_err(|_| syntax())?,
        },
        TierMetric::LeadTime | TierMetric::TimeToRestore => seconds(rest).ok_or_else(syntax)?,
        TierMetric::ChangeFailureRate => match rest.strip_suffix('%') {
            Some(pct) => pct.trim().parse::<f64>().map_err(|_| syntax())? / 100.0,
            None => rest.parse().map_err(|_| syntax())?,
        },
    };
    Ok(Edge { value, inclusive })
}

/// A duration such as `1h` or `7d`, in seconds.
fn seconds(text: &str) -> Option<f64> {
    humantime::parse_duration(text.trim())
        .ok()
        .map(|d| d.as_secs_f64())
}
