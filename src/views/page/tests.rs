//! The page: every label value escaped, every number equal to its series in
//! the metrics text of the same report.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use prometheus::{Encoder as _, TextEncoder};

use super::*;
use crate::config::Config;
use crate::domain::Millis;
use crate::domain::dora::DoraState;
use crate::domain::event::{Deploy, Event};
use crate::domain::flow::FlowState;
use crate::domain::satisfaction::SatisfactionState;
use crate::domain::{Change, DeployStatus};
use crate::ingest::budget::StateBudget;
use crate::ingest::outcome::Counters;
use crate::ingest::progress::Progress;
use crate::ingest::shards::AdoptionShared;
use crate::report::{Sources, with_reports};
use crate::views::metrics::{ReportCost, families};

const NOW: Millis = 1_800_000_000_000;
const HOUR: Millis = 3_600_000;
const HOSTILE: &str = "<b>\"x\"&'y'</b>";

fn clock() -> Millis {
    NOW
}

fn sources() -> Sources {
    let config = Config::load(None).expect("defaults load");
    let budget = Arc::new(StateBudget::new(1 << 30));
    Sources {
        dora: Arc::new(Mutex::new(Arc::new(DoraState::new(config.dora_settings())))),
        counters: Arc::new(Counters::default()),
        progress: Arc::new(Progress::default()),
        adoption: Arc::new(AdoptionShared::new(
            config.adoption_settings(),
            budget.clone(),
        )),
        budget,
        topics: [
            "deploys".into(),
            HOSTILE.into(),
            "feature-usage".into(),
            "work-items".into(),
            "satisfaction".into(),
            "changes".into(),
        ],
        clock,
        flow: Arc::new(Mutex::new(Arc::new(FlowState::new(config.flow_settings())))),
        satisfaction: Arc::new(Mutex::new(Arc::new(SatisfactionState::new(
            config.satisfaction_settings(),
        )))),
    }
}

fn deploy(
    id: &'static str,
    service: &'static str,
    status: DeployStatus,
    ago: Millis,
) -> Event<'static> {
    Event::Deploy(Deploy {
        id: Cow::Borrowed(id),
        service: Cow::Borrowed(service),
        team: Some(Cow::Borrowed("payments")),
        environment: Cow::Borrowed("production"),
        status,
        finished_at: NOW - ago,
        artifact: None,
        changes: vec![Change {
            id: None,
            committed_at: NOW - ago - 2 * HOUR,
        }],
        features: vec![],
        rollback_of: None,
        fixes_incident: None,
        repository: None,
        revision: None,
    })
}

/// Metrics text and page of one report.
fn render_both(s: &Sources) -> (String, String) {
    with_reports(s, NOW, |r| {
        let f = families(r, ReportCost::default());
        let page = render(r);
        let mut text = Vec::new();
        TextEncoder::new().encode(&f, &mut text).unwrap();
        (String::from_utf8(text).unwrap(), page)
    })
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// (data-series, data-value) of every number on the page.
fn numbers(page: &str) -> Vec<(String, f64)> {
    page.split("data-series=\"")
        .skip(1)
        .map(|rest| {
            let (series, rest) = rest.split_once('"').unwrap();
            let value = rest
                .split_once("data-value=\"")
                .unwrap()
                .1
                .split_once('"')
                .unwrap()
                .0;
            (unescape(series), value.parse().unwrap())
        })
        .collect()
}

/// Exposition text → series (labels sorted) → value.
fn parse(text: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (series, value) = line.rsplit_once(' ').unwrap();
        let key = match series.split_once('{') {
            None => series.to_owned(),
            Some((name, rest)) => {
                let rest = rest.strip_suffix('}').unwrap();
                // Label values here hold no unescaped `",`.
                let mut pairs: Vec<&str> = rest.split("\",").collect();
                let last = pairs.len() - 1;
                let mut owned: Vec<String> = pairs
                    .drain(..)
                    .enumerate()
                    .map(|(i, p)| {
                        if i == last {
                            p.to_owned()
                        } else {
                            format!("{p}\"")
                        }
                    })
                    .collect();
                owned.sort();
                format!("{name}{{{}}}", owned.join(","))
            }
        };
        out.insert(key, value.parse::<f64>().unwrap());
    }
    out
}

#[test]
fn every_number_on_the_page_is_its_series_in_the_metrics_of_the_same_report() {
    let s = sources();
    {
        let mut guard = s.dora.lock().unwrap();
        let state = Arc::make_mut(&mut guard);
        state.fold(
            &deploy("d1", "checkout", DeployStatus::Succeeded, HOUR),
            NOW,
        );
        state.fold(
            &deploy("d2", "checkout", DeployStatus::RolledBack, 3 * HOUR),
            NOW,
        );
        state.fold(
            &deploy("d3", HOSTILE, DeployStatus::Succeeded, 2 * 24 * HOUR),
            NOW,
        );
    }
    let (text, page) = render_both(&s);
    let metrics = parse(&text);
    let shown = numbers(&page);
    assert!(shown.len() > 20, "{} numbers", shown.len());
    for (series, value) in &shown {
        let exported = metrics
            .get(series)
            .unwrap_or_else(|| panic!("{series} is on the page, not in the metrics"));
        assert_eq!(value, exported, "{series}");
    }
    // Worked out by hand: 2 deployments of checkout in 1d, one rolled back.
    let cfr = r#"valuepulse_change_failure_ratio{attribution="strict",environment="production",service="checkout",team="payments",window="1d"}"#;
    assert!(shown.contains(&(cfr.to_owned(), 0.5)), "{shown:?}");
    let deployments = r#"valuepulse_deployments{environment="production",service="checkout",team="payments",window="1d"}"#;
    assert!(shown.contains(&(deployments.to_owned(), 2.0)));
    assert!(page.contains("50 %"));
}

#[test]
fn label_values_are_escaped_everywhere() {
    let s = sources();
    {
        let mut guard = s.dora.lock().unwrap();
        Arc::make_mut(&mut guard).fold(&deploy("d1", HOSTILE, DeployStatus::Succeeded, HOUR), NOW);
    }
    let (_, page) = render_both(&s);
    assert!(!page.contains(HOSTILE), "raw label value on the page");
    assert!(!page.contains("<b>\"x"));
    assert!(page.contains("&lt;b&gt;&quot;x&quot;&amp;&#39;y&#39;&lt;/b&gt;"));
    assert!(page.contains("<meta http-equiv=\"refresh\""));
    for link in ["href=\"/metrics\"", "href=\"/livez\"", "href=\"/readyz\""] {
        assert!(page.contains(link), "{link}");
    }
    assert!(!page.contains("<script"), "no script on the page");
}

#[test]
fn text_is_escaped_and_series_named() {
    assert_eq!(esc("a<b"), "a&lt;b");
    assert_eq!(
        series("m", &[("b", "2"), ("a", "x\"y")]),
        "m{a=\"x\\\"y\",b=\"2\"}"
    );
}

#[test]
fn the_value_stream_section_shows_flow_satisfaction_and_the_value_score_as_their_series() {
    use crate::domain::Stream;
    use crate::ingest::decode::{Headers, IncidentV1, SatisfactionV1, WorkItemV1, format_time};
    use crate::ingest::fold::{SmallRecord, SmallStates, fold_small_records};
    use crate::testkit::{self, json};
    let s = sources();
    {
        let mut guard = s.dora.lock().unwrap();
        Arc::make_mut(&mut guard).fold(
            &deploy("d1", "checkout", DeployStatus::Succeeded, 5 * HOUR),
            NOW,
        );
    }
    let team = || Some(Cow::Borrowed("payments"));
    let step = |id: &'static str, state: &'static str, ago: Millis| {
        json(&WorkItemV1 {
            team: team(),
            ..testkit::work_item(id, state, NOW - ago)
        })
    };
    let opened = IncidentV1 {
        team: team(),
        ..testkit::incident("i1", NOW - 4 * HOUR)
    };
    let resolved = IncidentV1 {
        status: "resolved".into(),
        resolved_at: Some(format_time(NOW - 3 * HOUR).into()),
        ..opened.clone()
    };
    let records = [
        (Stream::WorkItems, step("w1", "in_progress", 10 * HOUR)),
        (Stream::WorkItems, step("w1", "blocked", 7 * HOUR)),
        (Stream::WorkItems, step("w1", "done", HOUR)),
        (Stream::Incidents, json(&opened)),
        (Stream::Incidents, json(&resolved)),
        (
            Stream::Satisfaction,
            json(&SatisfactionV1 {
                team: team(),
                ..testkit::satisfaction("r1", "nps", 9, NOW - HOUR)
            }),
        ),
    ];
    let small: Vec<SmallRecord<'_>> = records
        .iter()
        .enumerate()
        .map(|(i, (stream, p))| SmallRecord {
            topic: "t",
            stream: *stream,
            partition: 0,
            offset: i as i64,
            payload: p.as_bytes(),
            headers: Headers::NONE,
        })
        .collect();
    let states = SmallStates {
        dora: s.dora.clone(),
        flow: s.flow.clone(),
        satisfaction: s.satisfaction.clone(),
    };
    fold_small_records(&states, &small, 1 << 20, NOW, &s.counters);
    let (text, page) = render_both(&s);
    let metrics = parse(&text);
    let shown = numbers(&page);
    for (series, value) in &shown {
        let exported = metrics
            .get(series)
            .unwrap_or_else(|| panic!("{series} is on the page, not in the metrics"));
        assert_eq!(value, exported, "{series}");
    }
    let has = |name: &str| shown.iter().any(|(s, _)| s.starts_with(name));
    // w1: active 3 h, waiting 6 h: flow efficiency 1/3, band good (above 0.25).
    let flow =
        r#"valuepulse_flow_efficiency_ratio{service="checkout",team="payments",window="1d"}"#;
    assert!(shown.contains(&(flow.to_owned(), 1.0 / 3.0)), "{shown:?}");
    let band =
        r#"valuepulse_flow_efficiency_tier{service="checkout",team="payments",window="30d"}"#;
    assert!(shown.contains(&(band.to_owned(), 2.0)), "{shown:?}");
    // One NPS 9: score 0.9, Net Promoter 1.
    let score = r#"valuepulse_satisfaction_score{service="checkout",team="payments",window="7d"}"#;
    assert!(shown.contains(&(score.to_owned(), 0.9)), "{shown:?}");
    assert!(has("valuepulse_net_promoter_ratio{"));
    assert!(has("valuepulse_value_delivery_score{"), "{shown:?}");
    assert!(page.contains("id=\"value-stream\""));
}
