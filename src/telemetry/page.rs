//! The value pulse page served at `/`: server-rendered HTML with inline SVG,
//! no script, refreshing itself every [`REFRESH_SECONDS`].
//!
//! The reporter renders it beside the metrics text from the same
//! [`Reports`] (see [`super::snapshot`]), so the page and `/metrics` of one
//! snapshot show the same figures: DORA and adoption figures are read from
//! the report, and the ingest counters (events by outcome, invalid by
//! reason, window completeness, label overflow) from the metric families
//! rendered from it, not from the live counters a moment later.
//!
//! Every number that is also a series carries it: `data-series` holds the
//! series as `name{label="value",…}` with labels sorted by name and
//! `data-value` its exact value, so a test can compare the page with
//! `/metrics` number by number. Every label value is HTML-escaped.
//!
//! Sections: per service, team and environment the DORA tier badges and
//! the four keys per window (change failure rate strict and loose side by
//! side); the top features by adoption; value realization and the value
//! feedback cycle per window; data quality.

use std::borrow::Cow;
use std::fmt::Write as _;

use prometheus::proto::{MetricFamily, MetricType};

use super::names;
use super::render::{Reports, Sources};
use crate::domain::Millis;
use crate::domain::dora::{Attribution, SeriesReport};
use crate::domain::quantiles::Quantiles;
use crate::domain::tier::{Tier, TierMetric};
use crate::domain::time::Window;

/// The page reloads itself this often.
pub const REFRESH_SECONDS: u32 = 10;
/// DORA cards shown; the rest are counted and left to `/metrics`.
pub const MAX_SERIES: usize = 60;
/// Features in the adoption table.
pub const TOP_FEATURES: usize = 12;

/// Served before the first report exists.
pub const STARTING: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"2\"><title>valuepulse</title></head><body><h1>valuepulse</h1><p>Starting: the first report is being computed.</p><p><a href=\"/metrics\">/metrics</a> · <a href=\"/livez\">/livez</a> · <a href=\"/readyz\">/readyz</a></p></body></html>\n";

const STYLE: &str = r#"
:root{--bg:#f6f7f9;--card:#fff;--ink:#1c2230;--mute:#5d6677;--line:#e3e6eb;--elite:#1a7f37;--high:#3c8dde;--medium:#c68a00;--low:#cf222e;--strict:#6d4bd1;--loose:#b9a6f0;--bar:#2f9e8f}
*{box-sizing:border-box}body{margin:0;font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--ink)}
header{display:flex;align-items:center;gap:16px;flex-wrap:wrap;padding:14px 24px;background:#151a26;color:#fff}
header h1{font-size:20px;margin:0;font-weight:650;letter-spacing:.2px}header h1 span{color:#7ee0c8}
header nav a{color:#cfd6e4;margin-right:12px;text-decoration:none}header nav a:hover{text-decoration:underline}
header .meta{margin-left:auto;color:#aab3c5;font-size:12px}
.pill{display:inline-block;padding:2px 9px;border-radius:999px;font-size:12px;font-weight:600}
.pill.ok{background:#1a7f37;color:#fff}.pill.wait{background:#c68a00;color:#fff}
main{padding:18px 24px 40px;max-width:1500px}
h2{font-size:16px;margin:22px 0 10px;font-weight:650}h2 small{color:var(--mute);font-weight:400}
.summary{display:flex;gap:12px;flex-wrap:wrap}
.stat{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:10px 14px;min-width:150px}
.stat b{display:block;font-size:22px}.stat>span{color:var(--mute);font-size:12px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(590px,1fr));gap:14px}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 14px;overflow-x:auto}
.card h3{margin:0 0 6px;font-size:15px}.card h3 small{color:var(--mute);font-weight:400;margin-left:6px}
.tiers{display:flex;gap:6px;flex-wrap:wrap;margin:4px 0 8px}
.tier{border-radius:6px;padding:2px 8px;font-size:12px;color:#fff;font-weight:600}
.tier.elite{background:var(--elite)}.tier.high{background:var(--high)}.tier.medium{background:var(--medium)}.tier.low{background:var(--low)}
.tier.none{background:#9aa3b2}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:right;padding:3px 5px;border-bottom:1px solid var(--line);white-space:nowrap}
td small{color:var(--mute);font-size:11px;margin-left:3px}
th{color:var(--mute);font-weight:500;font-size:12px}th:first-child,td:first-child{text-align:left}
td.name{max-width:260px;overflow:hidden;text-overflow:ellipsis}
.mute{color:var(--mute)}.open{color:var(--low);font-weight:600}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin:0 4px 0 10px}
.two{display:grid;grid-template-columns:1.4fr 1fr;gap:14px}
svg text{font:11px system-ui,sans-serif;fill:var(--mute)}
"#;

/// The page of one report. `families` are the metric families rendered
/// from the same report; `ready` says whether replay had finished.
pub fn render(s: &Sources, r: &Reports<'_>, families: &[MetricFamily], ready: bool) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let now = iso(r.now);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"{REFRESH_SECONDS}\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>valuepulse · value pulse</title><style>{STYLE}</style></head><body>\
         <header><h1>value<span>pulse</span></h1><nav><a href=\"/metrics\">/metrics</a>\
         <a href=\"/livez\">/livez</a><a href=\"/readyz\">/readyz</a></nav>{}\
         <div class=\"meta\" id=\"computed-at\" data-computed-at=\"{}\">report of {} · \
         refreshes every {REFRESH_SECONDS} s · valuepulse {} ({})</div></header><main>",
        if ready {
            "<span class=\"pill ok\" id=\"ready\" data-value=\"1\">ready</span>"
        } else {
            "<span class=\"pill wait\" id=\"ready\" data-value=\"0\">replaying</span>"
        },
        r.now,
        esc(&now),
        esc(env!("CARGO_PKG_VERSION")),
        esc(env!("VALUEPULSE_REVISION")),
    );
    summary(&mut out, s, r);
    dora(&mut out, r);
    adoption(&mut out, s, r);
    quality(&mut out, families, s);
    out.push_str("</main></body></html>\n");
    out
}

/// Headline figures on the longest window.
fn summary(out: &mut String, s: &Sources, r: &Reports<'_>) {
    let longest = longest_index(r.windows);
    let w = &r.windows[longest];
    let deployments: u64 = r
        .dora
        .series
        .iter()
        .map(|k| k.windows[longest].deployments)
        .sum();
    let services = r
        .dora
        .series
        .iter()
        .map(|k| k.service)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    out.push_str("<section class=\"summary\">");
    stat(out, &services.to_string(), "services reporting");
    stat(
        out,
        &deployments.to_string(),
        &format!("deployments in {}", w.label),
    );
    let aw = &s.adoption.settings.windows;
    let al = longest_index(aw);
    if let Some(active) = r.adoption.active_users.get(al) {
        let _ = write!(out, "<div class=\"stat\"><b>");
        num(
            out,
            &series(names::ACTIVE_USERS.name, &[("window", &aw[al].label)]),
            *active as f64,
            &active.to_string(),
        );
        let _ = write!(
            out,
            "</b><span>active users in {}</span></div>",
            esc(&aw[al].label)
        );
    }
    if let (Some(&shipped), Some(&used)) = (r.adoption.shipped.get(al), r.adoption.used.get(al)) {
        stat(
            out,
            &format!("{used} / {shipped}"),
            &format!("features used / shipped in {}", aw[al].label),
        );
    }
    out.push_str("</section>");
}

fn stat(out: &mut String, value: &str, label: &str) {
    let _ = write!(
        out,
        "<div class=\"stat\"><b>{}</b><span>{}</span></div>",
        esc(value),
        esc(label)
    );
}

/// One card per service, team and environment.
fn dora(out: &mut String, r: &Reports<'_>) {
    let windows = r.windows;
    let longest = longest_index(windows);
    let shown: Vec<&SeriesReport<'_>> = r
        .dora
        .series
        .iter()
        .filter(|k| k.has_deploys || k.incidents_open.is_some() || !k.tiers.is_empty())
        .collect();
    let _ = write!(
        out,
        "<h2>Delivery <small>DORA keys per service, team and environment · tiers on {} · \
         change failure rate <span class=\"legend\"><i style=\"background:var(--strict)\"></i>strict\
         <i style=\"background:var(--loose)\"></i>loose</span></small></h2>",
        esc(&windows[longest].label)
    );
    if shown.is_empty() {
        out.push_str("<p class=\"mute\">No deploys or incidents yet.</p>");
        return;
    }
    out.push_str("<div class=\"grid\">");
    for k in shown.iter().take(MAX_SERIES) {
        card(out, k, windows, longest);
    }
    out.push_str("</div>");
    if shown.len() > MAX_SERIES {
        let _ = write!(
            out,
            "<p class=\"mute\">{} more series: see <a href=\"/metrics\">/metrics</a>.</p>",
            shown.len() - MAX_SERIES
        );
    }
}

fn card(out: &mut String, k: &SeriesReport<'_>, windows: &[Window], longest: usize) {
    let key = [
        ("service", k.service),
        ("team", k.team),
        ("environment", k.environment),
    ];
    let _ = write!(
        out,
        "<article class=\"card\" data-service=\"{}\" data-team=\"{}\" data-environment=\"{}\">\
         <h3>{}<small>{} · {}</small></h3><div class=\"tiers\">",
        esc(k.service),
        esc(k.team),
        esc(k.environment),
        esc(k.service),
        esc(k.team),
        esc(k.environment)
    );
    for metric in TierMetric::ALL {
        let title = match metric {
            TierMetric::DeploymentFrequency => "Deploy frequency",
            TierMetric::LeadTime => "Lead time",
            TierMetric::ChangeFailureRate => "Change failure rate",
            TierMetric::TimeToRestore => "Time to restore",
        };
        match k.tiers.iter().find(|(m, _)| *m == metric) {
            Some((_, t)) => {
                let mut l = key.to_vec();
                l.push(("window", &windows[longest].label));
                l.push(("metric", metric.as_str()));
                let _ = write!(
                    out,
                    "<span class=\"tier {}\" data-series=\"{}\" data-value=\"{}\">{title}: {}</span>",
                    t.as_str(),
                    esc(&series(names::DORA_TIER.name, &l)),
                    *t as u8,
                    tier_name(*t)
                );
            }
            None => {
                let _ = write!(out, "<span class=\"tier none\">{title}: no data</span>");
            }
        }
    }
    out.push_str("</div>");
    if let Some(n) = k.incidents_open.filter(|n| *n > 0) {
        out.push_str("<p class=\"open\">");
        num(
            out,
            &series(names::INCIDENTS_OPEN.name, &key),
            n as f64,
            &n.to_string(),
        );
        out.push_str(" open incident(s)</p>");
    }
    out.push_str(
        "<table><tr><th>window</th><th>deployments</th><th>lead time p50</th>\
         <th>CFR strict</th><th>CFR loose</th><th></th><th>restore p50</th></tr>",
    );
    for (w, f) in windows.iter().zip(&k.windows) {
        let mut l = key.to_vec();
        l.push(("window", &w.label));
        let _ = write!(out, "<tr><td>{}</td><td>", esc(&w.label));
        if k.has_deploys {
            num(
                out,
                &series(names::DEPLOYMENTS.name, &l),
                f.deployments as f64,
                &f.deployments.to_string(),
            );
            let days = w.width as f64 / 86_400_000.0;
            let _ = write!(
                out,
                "<small>{:.2}/day</small></td><td>",
                f.deployments as f64 / days
            );
        } else {
            out.push_str("–</td><td>");
        }
        quantile(out, names::LEAD_TIME.name, &l, f.lead_time.as_ref());
        out.push_str("</td>");
        let mut ratios = [None; 2];
        for mode in Attribution::ALL {
            out.push_str("<td>");
            match f.change_failure_ratio(mode) {
                Some(v) => {
                    let mut la = l.clone();
                    la.push(("attribution", mode.as_str()));
                    num(
                        out,
                        &series(names::CHANGE_FAILURE_RATIO.name, &la),
                        v,
                        &percent(v),
                    );
                    ratios[mode.index()] = Some(v);
                }
                None => out.push('–'),
            }
            out.push_str("</td>");
        }
        out.push_str("<td>");
        cfr_bars(out, ratios);
        out.push_str("</td><td>");
        quantile(
            out,
            names::TIME_TO_RESTORE.name,
            &l,
            f.time_to_restore.as_ref(),
        );
        out.push_str("</td></tr>");
    }
    out.push_str("</table></article>");
}

/// Strict and loose change failure rate as two bars on a 0–50 % scale
/// (a bar past it is drawn full).
fn cfr_bars(out: &mut String, ratios: [Option<f64>; 2]) {
    const W: f64 = 90.0;
    out.push_str("<svg width=\"94\" height=\"18\" viewBox=\"0 0 94 18\" role=\"img\" aria-label=\"change failure rate strict and loose\"><rect x=\"0\" y=\"0\" width=\"90\" height=\"18\" fill=\"#f0f1f4\"/>");
    for (i, (r, color)) in ratios
        .iter()
        .zip(["var(--strict)", "var(--loose)"])
        .enumerate()
    {
        if let Some(v) = r {
            let width = (v / 0.5).clamp(0.0, 1.0) * W;
            let _ = write!(
                out,
                "<rect x=\"0\" y=\"{}\" width=\"{width:.1}\" height=\"7\" fill=\"{color}\"/>",
                2 + i * 8
            );
        }
    }
    out.push_str("</svg>");
}

/// The median of `q`, as a duration, carrying its series.
fn quantile(out: &mut String, name: &str, labels: &[(&str, &str)], q: Option<&Quantiles>) {
    match q.and_then(|q| q.values.iter().find(|(p, _)| *p == 0.5)) {
        Some((p, v)) => {
            let p = p.to_string();
            let mut l = labels.to_vec();
            l.push(("quantile", &p));
            num(out, &series(name, &l), *v, &duration(*v));
        }
        None => out.push_str("<span class=\"mute\">–</span>"),
    }
}

/// Top features by users on the longest window, then realization and the
/// feedback cycle per window.
fn adoption(out: &mut String, s: &Sources, r: &Reports<'_>) {
    let windows = &s.adoption.settings.windows;
    let longest = longest_index(windows);
    let report = &r.adoption;
    let _ = write!(
        out,
        "<h2>Adoption and value <small>top features by distinct users in {}</small></h2><div class=\"two\"><div class=\"card\">",
        esc(&windows[longest].label)
    );
    let mut top: Vec<_> = report.features.iter().collect();
    top.sort_by(|a, b| {
        b.users[longest]
            .cmp(&a.users[longest])
            .then_with(|| a.feature.cmp(b.feature))
    });
    if top.is_empty() {
        out.push_str("<p class=\"mute\">No feature usage yet.</p>");
    } else {
        out.push_str("<table><tr><th>feature</th><th>service · team</th>");
        for w in windows {
            let _ = write!(out, "<th>users {}</th>", esc(&w.label));
        }
        let _ = write!(
            out,
            "<th>adoption {}</th><th></th></tr>",
            esc(&windows[longest].label)
        );
        for f in top.iter().take(TOP_FEATURES) {
            let (service, team) = (f.service.unwrap_or(""), f.team.unwrap_or(""));
            let _ = write!(
                out,
                "<tr data-feature=\"{}\"><td class=\"name\">{}</td><td class=\"mute\">{}</td>",
                esc(f.feature),
                esc(f.feature),
                esc(&if service.is_empty() && team.is_empty() {
                    "–".to_owned()
                } else {
                    format!("{service} · {team}")
                })
            );
            for (i, w) in windows.iter().enumerate() {
                let l = [
                    ("feature", f.feature),
                    ("service", service),
                    ("team", team),
                    ("window", w.label.as_str()),
                ];
                out.push_str("<td>");
                num(
                    out,
                    &series(names::FEATURE_USERS.name, &l),
                    f.users[i] as f64,
                    &f.users[i].to_string(),
                );
                out.push_str("</td>");
            }
            out.push_str("<td>");
            let ratio = f.adoption_ratio[longest];
            match ratio {
                Some(v) => {
                    let l = [
                        ("feature", f.feature),
                        ("service", service),
                        ("team", team),
                        ("window", windows[longest].label.as_str()),
                    ];
                    num(
                        out,
                        &series(names::FEATURE_ADOPTION_RATIO.name, &l),
                        v,
                        &percent(v),
                    );
                }
                None => out.push('–'),
            }
            let width = ratio.unwrap_or(0.0).clamp(0.0, 1.0) * 80.0;
            let _ = write!(
                out,
                "</td><td><svg width=\"82\" height=\"12\" viewBox=\"0 0 82 12\" role=\"img\" aria-label=\"adoption\">\
                 <rect x=\"0\" y=\"1\" width=\"80\" height=\"10\" fill=\"#eef0f3\"/>\
                 <rect x=\"0\" y=\"1\" width=\"{width:.1}\" height=\"10\" fill=\"var(--bar)\"/></svg></td></tr>"
            );
        }
        out.push_str("</table>");
        if top.len() > TOP_FEATURES {
            let _ = write!(
                out,
                "<p class=\"mute\">{} more features in <a href=\"/metrics\">/metrics</a>.</p>",
                top.len() - TOP_FEATURES
            );
        }
    }
    out.push_str("</div><div class=\"card\"><table><tr><th>window</th><th>active users</th><th>shipped</th><th>used</th><th>realization</th><th></th><th>feedback p50</th></tr>");
    for (i, w) in windows.iter().enumerate() {
        let l = [("window", w.label.as_str())];
        let _ = write!(out, "<tr><td>{}</td><td>", esc(&w.label));
        num(
            out,
            &series(names::ACTIVE_USERS.name, &l),
            report.active_users[i] as f64,
            &report.active_users[i].to_string(),
        );
        out.push_str("</td><td>");
        num(
            out,
            &series(names::FEATURES_SHIPPED.name, &l),
            report.shipped[i] as f64,
            &report.shipped[i].to_string(),
        );
        out.push_str("</td><td>");
        num(
            out,
            &series(names::FEATURES_USED.name, &l),
            report.used[i] as f64,
            &report.used[i].to_string(),
        );
        out.push_str("</td><td>");
        let realization =
            (report.shipped[i] > 0).then(|| report.used[i] as f64 / report.shipped[i] as f64);
        match realization {
            Some(v) => num(
                out,
                &series(names::VALUE_REALIZATION_RATIO.name, &l),
                v,
                &percent(v),
            ),
            None => out.push_str("<span class=\"mute\">nothing shipped</span>"),
        }
        out.push_str("</td><td>");
        ring(out, realization);
        out.push_str("</td><td>");
        quantile(
            out,
            names::VALUE_FEEDBACK_CYCLE.name,
            &l,
            report.feedback_cycle[i].as_ref(),
        );
        out.push_str("</td></tr>");
    }
    out.push_str("</table></div></div>");
}

/// A ring filled to `ratio` (0–1).
fn ring(out: &mut String, ratio: Option<f64>) {
    let Some(v) = ratio else { return };
    let c = 2.0 * std::f64::consts::PI * 8.0;
    let filled = v.clamp(0.0, 1.0) * c;
    let _ = write!(
        out,
        "<svg width=\"22\" height=\"22\" viewBox=\"0 0 22 22\" role=\"img\" aria-label=\"value realization\">\
         <circle cx=\"11\" cy=\"11\" r=\"8\" fill=\"none\" stroke=\"#eef0f3\" stroke-width=\"4\"/>\
         <circle cx=\"11\" cy=\"11\" r=\"8\" fill=\"none\" stroke=\"var(--bar)\" stroke-width=\"4\" \
         stroke-dasharray=\"{filled:.2} {c:.2}\" transform=\"rotate(-90 11 11)\"/></svg>"
    );
}

/// Events by outcome, invalid records by reason, window completeness and
/// label overflow, from the rendered families.
fn quality(out: &mut String, families: &[MetricFamily], s: &Sources) {
    out.push_str("<h2>Data quality <small>records by outcome since start · invalid by reason · window completeness</small></h2><div class=\"two\"><div class=\"card\">");
    // Events: one row per topic, one column per outcome seen anywhere.
    let events = samples(families, names::EVENTS.name);
    let outcomes: Vec<&str> = {
        let mut o: Vec<&str> = Vec::new();
        for (labels, v) in &events {
            let outcome = label(labels, "outcome");
            if *v > 0.0 && !o.contains(&outcome) {
                o.push(outcome);
            }
        }
        // Keep the export order of the outcomes.
        let order: Vec<&str> = events.iter().map(|(l, _)| label(l, "outcome")).collect();
        o.sort_by_key(|x| order.iter().position(|y| y == x));
        if o.is_empty() {
            o.push("accepted");
        }
        o
    };
    out.push_str("<table><tr><th>topic</th>");
    for o in &outcomes {
        let _ = write!(out, "<th>{}</th>", esc(o));
    }
    out.push_str("</tr>");
    for topic in &s.topics {
        let _ = write!(out, "<tr><td class=\"name\">{}</td>", esc(topic));
        for o in &outcomes {
            out.push_str("<td>");
            if let Some((labels, v)) = events
                .iter()
                .find(|(l, _)| label(l, "topic") == topic && label(l, "outcome") == *o)
            {
                num(out, &series(names::EVENTS.name, labels), *v, &count(*v));
            }
            out.push_str("</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</table><table><tr><th>invalid: topic</th><th>reason</th><th>records</th></tr>");
    let invalid: Vec<_> = samples(families, names::EVENTS_INVALID.name)
        .into_iter()
        .filter(|(_, v)| *v > 0.0)
        .collect();
    if invalid.is_empty() {
        out.push_str("<tr><td class=\"mute\" colspan=\"3\">no invalid records</td></tr>");
    }
    for (labels, v) in &invalid {
        let _ = write!(
            out,
            "<tr><td class=\"name\">{}</td><td>{}</td><td>",
            esc(label(labels, "topic")),
            esc(label(labels, "reason"))
        );
        num(
            out,
            &series(names::EVENTS_INVALID.name, labels),
            *v,
            &count(*v),
        );
        out.push_str("</td></tr>");
    }
    out.push_str("</table></div><div class=\"card\"><table><tr><th>window complete: topic</th>");
    let complete = samples(families, names::WINDOW_COMPLETE.name);
    let windows = &s.adoption.settings.windows;
    for w in windows {
        let _ = write!(out, "<th>{}</th>", esc(&w.label));
    }
    out.push_str("</tr>");
    for topic in &s.topics {
        let _ = write!(out, "<tr><td class=\"name\">{}</td>", esc(topic));
        for w in windows {
            out.push_str("<td>");
            if let Some((labels, v)) = complete
                .iter()
                .find(|(l, _)| label(l, "topic") == topic && label(l, "window") == w.label)
            {
                let shown = if *v >= 1.0 { "complete" } else { "partial" };
                num(out, &series(names::WINDOW_COMPLETE.name, labels), *v, shown);
            }
            out.push_str("</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</table><table><tr><th>label capped to __other__</th><th>events</th></tr>");
    for (labels, v) in samples(families, names::LABEL_OVERFLOW.name) {
        let _ = write!(out, "<tr><td>{}</td><td>", esc(label(&labels, "label")));
        num(
            out,
            &series(names::LABEL_OVERFLOW.name, &labels),
            v,
            &count(v),
        );
        out.push_str("</td></tr>");
    }
    out.push_str("</table></div></div>");
}

/// The samples of a gauge or counter family: (labels, value).
fn samples<'f>(families: &'f [MetricFamily], name: &str) -> Vec<(Vec<(&'f str, &'f str)>, f64)> {
    let Some(family) = families.iter().find(|f| f.name() == name) else {
        return Vec::new();
    };
    family
        .get_metric()
        .iter()
        .filter_map(|m| {
            let v = match family.get_field_type() {
                MetricType::COUNTER => m.get_counter().get_value(),
                MetricType::GAUGE => m.get_gauge().get_value(),
                _ => return None,
            };
            let labels = m
                .get_label()
                .iter()
                .map(|l| (l.name(), l.value()))
                .collect();
            Some((labels, v))
        })
        .collect()
}

fn label<'a>(labels: &[(&str, &'a str)], name: &str) -> &'a str {
    labels
        .iter()
        .find(|(n, _)| *n == name)
        .map_or("", |(_, v)| v)
}

/// A number that is also a series: its exact value in `data-value`.
fn num(out: &mut String, series: &str, value: f64, shown: &str) {
    let _ = write!(
        out,
        "<span class=\"num\" data-series=\"{}\" data-value=\"{value}\">{}</span>",
        esc(series),
        esc(shown)
    );
}

/// `name{a="x",b="y"}`: labels sorted, values escaped as in the text
/// exposition format.
pub fn series(name: &str, labels: &[(&str, &str)]) -> String {
    let mut pairs: Vec<String> = labels
        .iter()
        .map(|(k, v)| {
            let v = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            format!("{k}=\"{v}\"")
        })
        .collect();
    pairs.sort();
    if pairs.is_empty() {
        name.to_owned()
    } else {
        format!("{name}{{{}}}", pairs.join(","))
    }
}

/// HTML-escapes text and attribute values.
pub fn esc(s: &str) -> Cow<'_, str> {
    if !s.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(s);
    }
    let mut o = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    Cow::Owned(o)
}

fn tier_name(t: Tier) -> &'static str {
    match t {
        Tier::Elite => "elite",
        Tier::High => "high",
        Tier::Medium => "medium",
        Tier::Low => "low",
    }
}

/// A ratio as a percentage.
fn percent(v: f64) -> String {
    let p = v * 100.0;
    if p == p.round() {
        format!("{p:.0} %")
    } else {
        format!("{p:.1} %")
    }
}

/// A counter value (whole numbers).
fn count(v: f64) -> String {
    format!("{v:.0}")
}

/// Seconds, in the unit that reads best.
pub fn duration(seconds: f64) -> String {
    if seconds < 90.0 {
        format!("{seconds:.0} s")
    } else if seconds < 90.0 * 60.0 {
        format!("{:.0} min", seconds / 60.0)
    } else if seconds < 48.0 * 3600.0 {
        format!("{:.1} h", seconds / 3600.0)
    } else {
        format!("{:.1} d", seconds / 86_400.0)
    }
}

/// Index of the longest window.
fn longest_index(windows: &[Window]) -> usize {
    (0..windows.len())
        .max_by_key(|&i| windows[i].width)
        .unwrap_or(0)
}

/// RFC 3339 of epoch milliseconds.
fn iso(at: Millis) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.replace_nanosecond(0)
                .ok()?
                .format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
