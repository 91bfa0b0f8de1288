//! The data-quality section: records by outcome since start, invalid
//! records by reason, window completeness and label overflow, from the
//! report's [`Health`](crate::report::Health).

use std::fmt::Write as _;

use super::html::{count, esc, num, series};
use super::names;
use crate::domain::event::InvalidReason;
use crate::domain::{Outcome, Stream};
use crate::report::Reports;

/// Events by outcome, invalid records by reason, window completeness and
/// label overflow.
pub(super) fn section(out: &mut String, r: &Reports<'_>) {
    let h = &r.health;
    out.push_str("<h2>Data quality <small>records by outcome since start · invalid by reason · window completeness</small></h2><div class=\"two\"><div class=\"card\">");
    // Events: one row per topic, one column per outcome seen anywhere, in
    // the order of the outcome's name (as the metrics text sorts them).
    let mut outcomes: Vec<Outcome> = Outcome::ALL
        .into_iter()
        .filter(|&o| Stream::ALL.iter().any(|&s| h.events(s, o) > 0))
        .collect();
    outcomes.sort_by_key(|o| o.as_str());
    if outcomes.is_empty() {
        outcomes.push(Outcome::Accepted);
    }
    out.push_str("<table><tr><th>topic</th>");
    for o in &outcomes {
        let _ = write!(out, "<th>{}</th>", esc(o.as_str()));
    }
    out.push_str("</tr>");
    for stream in Stream::ALL {
        let topic = h.topics[stream.index()].as_str();
        let _ = write!(out, "<tr><td class=\"name\">{}</td>", esc(topic));
        for &o in &outcomes {
            let v = h.events(stream, o) as f64;
            out.push_str("<td>");
            num(
                out,
                &series(
                    names::EVENTS.name,
                    &[("topic", topic), ("outcome", o.as_str())],
                ),
                v,
                &count(v),
            );
            out.push_str("</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</table><table><tr><th>invalid: topic</th><th>reason</th><th>records</th></tr>");
    let mut invalid: Vec<(&str, InvalidReason, u64)> = Stream::ALL
        .into_iter()
        .flat_map(|s| {
            InvalidReason::ALL
                .into_iter()
                .map(move |reason| (h.topics[s.index()].as_str(), reason, h.invalid(s, reason)))
        })
        .filter(|(_, _, n)| *n > 0)
        .collect();
    invalid.sort_by(|a, b| (a.0, a.1.as_str()).cmp(&(b.0, b.1.as_str())));
    if invalid.is_empty() {
        out.push_str("<tr><td class=\"mute\" colspan=\"3\">no invalid records</td></tr>");
    }
    for (topic, reason, n) in invalid {
        let _ = write!(
            out,
            "<tr><td class=\"name\">{}</td><td>{}</td><td>",
            esc(topic),
            esc(reason.as_str())
        );
        let v = n as f64;
        num(
            out,
            &series(
                names::EVENTS_INVALID.name,
                &[("topic", topic), ("reason", reason.as_str())],
            ),
            v,
            &count(v),
        );
        out.push_str("</td></tr>");
    }
    out.push_str("</table></div><div class=\"card\"><table><tr><th>window complete: topic</th>");
    for w in r.windows {
        let _ = write!(out, "<th>{}</th>", esc(&w.label));
    }
    out.push_str("</tr>");
    for (topic, holds) in h.topics.iter().zip(&h.window_complete) {
        let _ = write!(out, "<tr><td class=\"name\">{}</td>", esc(topic));
        for (w, holds) in r.windows.iter().zip(holds) {
            out.push_str("<td>");
            let (v, shown) = if *holds {
                (1.0, "complete")
            } else {
                (0.0, "partial")
            };
            num(
                out,
                &series(
                    names::WINDOW_COMPLETE.name,
                    &[("topic", topic.as_str()), ("window", w.label.as_str())],
                ),
                v,
                shown,
            );
            out.push_str("</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</table><table><tr><th>label capped to __other__</th><th>events</th></tr>");
    for (label, n) in r.overflow.by_label() {
        let _ = write!(out, "<tr><td>{}</td><td>", esc(label));
        let v = n as f64;
        num(
            out,
            &series(names::LABEL_OVERFLOW.name, &[("label", label)]),
            v,
            &count(v),
        );
        out.push_str("</td></tr>");
    }
    out.push_str("</table></div></div>");
}
