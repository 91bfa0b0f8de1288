//! Distinct users per feature for both weeks from Prometheus' history of
//! the daemon's own series (`pulse.prometheus_url`).
//!
//! The sliding sketches count the distinct users of the last 7 days; they
//! keep nothing that could tell the distinct users of the 7 days before.
//! What the daemon *reported* then can: `valuepulse_feature_users{window="7d"}`
//! as scraped 7 days ago is exactly last week's distinct users of each
//! feature. Replicas read disjoint usage partitions (usage is keyed by
//! user), so the sum over replicas is the organisation's figure; this
//! week's comes from the same sum now ([`THIS_WEEK_USERS`]), so that both
//! weeks count the same users (a replica's own state holds only its
//! share). Two instant queries at the pulse's `now`, each for every feature.
//! Without a URL, or when Prometheus cannot answer, or has no sample for a
//! feature, the pulse uses the state's figure for this week and says that
//! there is no comparison and why: a figure is never invented.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::client::{Client, percent_encode};
use crate::domain::Millis;

/// The instant query for this week's distinct users per feature.
pub const THIS_WEEK_USERS: &str = "sum by (feature) (valuepulse_feature_users{window=\"7d\"})";

/// The instant query for last week's distinct users per feature.
pub const LAST_WEEK_USERS: &str =
    "sum by (feature) (valuepulse_feature_users{window=\"7d\"} offset 7d)";

/// How long Prometheus has to answer: the pulse itself must be served
/// within the admin server's 15 s.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(5);

/// What Prometheus said about last week, for one pulse.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum History {
    /// `pulse.prometheus_url` is not set.
    #[default]
    Off,
    /// Prometheus was asked and did not answer usefully (the reason: a
    /// status, a transport failure or Prometheus' own error).
    Failed(String),
    /// Distinct users per feature that had a sample: this week's, last
    /// week's.
    Users {
        /// Now.
        this: BTreeMap<String, f64>,
        /// 7 days ago.
        last: BTreeMap<String, f64>,
    },
}

/// Last week's distinct users of one feature, or why there is none.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LastWeek<'a> {
    /// The figure, from Prometheus.
    Known(f64),
    /// No comparison, and why (for people).
    Unknown(&'a str),
}

impl History {
    /// Asks Prometheus at `base` for both weeks' figures, as seen at `now`.
    pub fn fetch(client: &Client, base: &str, now: Millis) -> Self {
        let ask = |query: &str| {
            let url = format!(
                "{}/api/v1/query?query={}&time={}.{:03}",
                base.trim_end_matches('/'),
                percent_encode(query),
                now.div_euclid(1000),
                now.rem_euclid(1000)
            );
            client
                .get_json(&url)
                .map_err(|e| format!("cannot reach Prometheus: {e}"))
                .and_then(|(status, body)| parse_users(status, &body))
        };
        match ask(THIS_WEEK_USERS).and_then(|this| Ok((this, ask(LAST_WEEK_USERS)?))) {
            Ok((this, last)) => Self::Users { this, last },
            Err(why) => {
                tracing::warn!(
                    reason = %why,
                    "Cannot read distinct users per feature from Prometheus (pulse.prometheus_url); the pulse shows this replica's without a comparison."
                );
                Self::Failed(why)
            }
        }
    }

    /// This week's distinct users of `feature` from Prometheus, when it
    /// has them (the sum over replicas).
    pub fn this_week_users(&self, feature: &str) -> Option<f64> {
        match self {
            Self::Users { this, .. } => this.get(feature).copied(),
            Self::Off | Self::Failed(_) => None,
        }
    }

    /// Last week's distinct users of `feature`.
    pub fn last_week_users(&self, feature: &str) -> LastWeek<'_> {
        match self {
            Self::Off => LastWeek::Unknown("distinct users of an earlier week are not kept"),
            Self::Failed(why) => LastWeek::Unknown(why),
            Self::Users { last, .. } => last.get(feature).map_or(
                LastWeek::Unknown("Prometheus has no figure for last week"),
                |u| LastWeek::Known(*u),
            ),
        }
    }
}

/// The instant query's answer: `{"status":"success","data":{"resultType":
/// "vector","result":[{"metric":{"feature":…},"value":[t,"v"]}]}}`.
#[derive(Deserialize)]
struct Answer {
    status: String,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    data: Option<Data>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Vec<Sample>,
}

#[derive(Deserialize)]
struct Sample {
    metric: BTreeMap<String, String>,
    value: (f64, String),
}

/// Last week's users per feature from an answer with `status` and `body`;
/// the reason when it is not a vector of numbers.
fn parse_users(status: u16, body: &str) -> Result<BTreeMap<String, f64>, String> {
    let answer: Answer = serde_json::from_str(body).map_err(|_| {
        format!("Prometheus answered {status} with something that is not its query API's JSON")
    })?;
    if answer.status != "success" {
        return Err(format!(
            "Prometheus answered {status}: {}",
            answer.error.unwrap_or_else(|| answer.status.clone())
        ));
    }
    let data = answer
        .data
        .ok_or_else(|| "Prometheus answered without data".to_owned())?;
    if data.result_type != "vector" {
        return Err(format!(
            "Prometheus answered a {} where a vector was asked for",
            data.result_type
        ));
    }
    let mut users = BTreeMap::new();
    for s in data.result {
        let Some(feature) = s.metric.get("feature") else {
            continue;
        };
        let v: f64 = s.value.1.parse().map_err(|_| {
            format!(
                "Prometheus answered a sample that is not a number: {:?}",
                s.value.1
            )
        })?;
        if v.is_finite() {
            users.insert(feature.clone(), v);
        }
    }
    Ok(users)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vector_gives_each_features_figure() {
        let body = r#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"feature":"one-click"},"value":[1765000000.5,"12"]},
            {"metric":{"feature":"saved-cards"},"value":[1765000000.5,"3"]},
            {"metric":{},"value":[1765000000.5,"99"]}]}}"#;
        let users = parse_users(200, body).unwrap();
        assert_eq!(
            users.into_iter().collect::<Vec<_>>(),
            vec![
                ("one-click".to_owned(), 12.0),
                ("saved-cards".to_owned(), 3.0)
            ]
        );
    }

    #[test]
    fn an_error_answer_is_a_reason_never_a_figure() {
        let body = r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#;
        assert_eq!(
            parse_users(400, body).unwrap_err(),
            "Prometheus answered 400: parse error"
        );
        assert!(parse_users(502, "<html>bad gateway</html>").is_err());
        let matrix = r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#;
        assert!(parse_users(200, matrix).is_err());
    }

    #[test]
    fn a_feature_without_a_sample_has_no_comparison() {
        let h = History::Users {
            this: BTreeMap::from([("a".to_owned(), 6.0), ("b".to_owned(), 1.0)]),
            last: BTreeMap::from([("a".to_owned(), 4.0)]),
        };
        assert_eq!(h.last_week_users("a"), LastWeek::Known(4.0));
        assert_eq!(h.this_week_users("a"), Some(6.0));
        assert_eq!(
            h.last_week_users("b"),
            LastWeek::Unknown("Prometheus has no figure for last week")
        );
        assert!(matches!(
            History::Off.last_week_users("a"),
            LastWeek::Unknown(_)
        ));
    }
}
