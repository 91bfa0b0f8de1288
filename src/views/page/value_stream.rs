//! The value-stream section: per service and team flow efficiency and its
//! band, customer satisfaction (score, Net Promoter) and the value delivery
//! score per window; the organisation's value-stream bands (value
//! realization, value feedback cycle). Every figure is its series, as the
//! rest of the page.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::html::{esc, num, percent, series};
use super::names;
use crate::domain::health::HealthTier;
use crate::report::Reports;

/// The badge colour of a band (the DORA tiers' palette).
fn band_class(t: HealthTier) -> &'static str {
    match t {
        HealthTier::Elite => "elite",
        HealthTier::Good => "high",
        HealthTier::Below => "low",
    }
}

/// A band badge carrying its series.
fn band(out: &mut String, name: &str, labels: &[(&str, &str)], title: &str, t: HealthTier) {
    let _ = write!(
        out,
        "<span class=\"tier {}\" data-series=\"{}\" data-value=\"{}\">{title}: {}</span>",
        band_class(t),
        esc(&series(name, labels)),
        t as u8,
        t.as_str()
    );
}

/// Flow, satisfaction and value delivery per service and team; the
/// value-stream bands.
pub(super) fn section(out: &mut String, r: &Reports<'_>) {
    let windows = r.windows;
    let longest = windows.longest_window().label.as_str();
    let _ = write!(
        out,
        "<h2 id=\"value-stream\">Value stream <small>flow efficiency, satisfaction and the value \
         delivery score per service and team · bands on {}</small></h2>",
        esc(longest)
    );
    out.push_str("<div class=\"card\"><div class=\"tiers\">");
    if r.value_stream.is_empty() {
        out.push_str("<span class=\"tier none\">value realization: nothing shipped</span>");
    }
    for (metric, t) in &r.value_stream {
        band(
            out,
            names::VALUE_STREAM_TIER.name,
            &[("metric", metric.as_str()), ("window", longest)],
            metric.as_str(),
            *t,
        );
    }
    out.push_str("</div>");

    let keys: BTreeSet<(&str, &str)> = r
        .flow
        .series
        .iter()
        .map(|s| (s.service, s.team))
        .chain(r.satisfaction.series.iter().map(|s| (s.service, s.team)))
        .collect();
    if keys.is_empty() && r.value.is_empty() {
        out.push_str("<p class=\"mute\">No work item finished and no satisfaction response in the longest window.</p></div>");
        return;
    }
    if !keys.is_empty() {
        out.push_str("<table><tr><th>service</th><th>team</th><th>flow band</th>");
        for w in windows {
            let _ = write!(
                out,
                "<th>flow {0}</th><th>satisfaction {0}</th><th>NPS {0}</th>",
                esc(&w.label)
            );
        }
        out.push_str("</tr>");
        for (service, team) in keys {
            let flow = r
                .flow
                .series
                .iter()
                .find(|s| (s.service, s.team) == (service, team));
            let sat = r
                .satisfaction
                .series
                .iter()
                .find(|s| (s.service, s.team) == (service, team));
            let _ = write!(
                out,
                "<tr><td class=\"name\">{}</td><td class=\"name\">{}</td><td>",
                esc(service),
                esc(team)
            );
            match flow.and_then(|f| f.tier) {
                Some(t) => band(
                    out,
                    names::FLOW_EFFICIENCY_TIER.name,
                    &[("service", service), ("team", team), ("window", longest)],
                    "flow",
                    t,
                ),
                None => out.push_str("<span class=\"mute\">–</span>"),
            }
            out.push_str("</td>");
            for (i, w) in windows.iter().enumerate() {
                let l = [
                    ("service", service),
                    ("team", team),
                    ("window", w.label.as_str()),
                ];
                let cell =
                    |out: &mut String, name: &str, v: Option<f64>, shown: fn(f64) -> String| {
                        out.push_str("<td>");
                        match v {
                            Some(v) => num(out, &series(name, &l), v, &shown(v)),
                            None => out.push_str("<span class=\"mute\">–</span>"),
                        }
                        out.push_str("</td>");
                    };
                cell(
                    out,
                    names::FLOW_EFFICIENCY.name,
                    flow.and_then(|f| f.windows[i].efficiency),
                    percent,
                );
                cell(
                    out,
                    names::SATISFACTION_SCORE.name,
                    sat.and_then(|s| s.windows[i].score),
                    percent,
                );
                cell(
                    out,
                    names::NET_PROMOTER.name,
                    sat.and_then(|s| s.windows[i].net_promoter),
                    |v| format!("{:.0}", v * 100.0),
                );
            }
            out.push_str("</tr>");
        }
        out.push_str("</table>");
    }
    if !r.value.is_empty() {
        out.push_str("<table><tr><th>service</th><th>team</th><th>environment</th>");
        for w in windows {
            let _ = write!(out, "<th>value score {}</th>", esc(&w.label));
        }
        out.push_str("</tr>");
        for v in &r.value {
            let _ = write!(
                out,
                "<tr><td class=\"name\">{}</td><td class=\"name\">{}</td><td>{}</td>",
                esc(v.service),
                esc(v.team),
                esc(v.environment)
            );
            for (w, score) in windows.iter().zip(&v.windows) {
                out.push_str("<td>");
                match score {
                    Some(s) => num(
                        out,
                        &series(
                            names::VALUE_DELIVERY_SCORE.name,
                            &[
                                ("environment", v.environment),
                                ("service", v.service),
                                ("team", v.team),
                                ("window", w.label.as_str()),
                            ],
                        ),
                        *s,
                        &format!("{s:.3}"),
                    ),
                    None => out.push_str("<span class=\"mute\">–</span>"),
                }
                out.push_str("</td>");
            }
            out.push_str("</tr>");
        }
        out.push_str("</table>");
    }
    out.push_str("</div>");
}
