//! The delivery section: per service, team and environment the DORA tier
//! badges and the four keys per window, change failure rate strict and
//! loose side by side.

use std::fmt::Write as _;

use super::html::{duration_quantile, esc, num, percent, series, tier_name};
use super::{MAX_SERIES, names};
use crate::domain::Windows;
use crate::domain::dora::{Attribution, SeriesReport};
use crate::domain::tier::TierMetric;
use crate::report::Reports;

/// The delivery section: one card per service, team and environment.
pub(super) fn section(out: &mut String, r: &Reports<'_>) {
    let windows = r.windows;
    let longest = windows.longest();
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

fn card(out: &mut String, k: &SeriesReport<'_>, windows: &Windows, longest: usize) {
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
            let _ = write!(
                out,
                "<small>{:.2}/day</small></td><td>",
                w.per_day(f.deployments)
            );
        } else {
            out.push_str("–</td><td>");
        }
        duration_quantile(out, names::LEAD_TIME.name, &l, f.lead_time.as_ref());
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
        duration_quantile(
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
