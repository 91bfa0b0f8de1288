//! The adoption and value section: the top features by distinct users on
//! the longest window, then value realization and the value feedback cycle
//! per window.

use std::fmt::Write as _;

use super::html::{duration_quantile, esc, num, percent, series};
use super::{TOP_FEATURES, names};
use crate::report::Reports;

/// Top features by users on the longest window, then realization and the
/// feedback cycle per window.
pub(super) fn section(out: &mut String, r: &Reports<'_>) {
    let windows = r.windows;
    let longest = windows.longest();
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
        let realization = report.realization(i);
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
        duration_quantile(
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
