//! The Weekly Value Pulse as a page (`/pulse`, in the style of `/`) and as
//! markdown (`/pulse?format=markdown`, `valuepulse pulse`). Pure renderers
//! of a [`Pulse`]: every name and number comes from its items, nothing is
//! computed here but the length of a bar.
//!
//! On the page each fact carries its figures as `data-kind`, `data-value`
//! and `data-previous` (exact, as in the JSON), so a test can compare the
//! page with `/pulse?format=json` number by number. A fact with this week's
//! and last week's figure has a small inline SVG: two bars, this week over
//! last, on the scale of the larger.

use std::fmt::Write as _;

use super::page::{STYLE, esc};
use crate::pulse::model::{Comparison, Item, Pulse, Section, Teams};

/// The four sections with their headings, in the ritual's order.
fn sections(p: &Pulse) -> [(&'static str, &'static str, &Section); 4] {
    [
        ("created", "Value created", &p.created),
        ("blocked", "Value blocked", &p.blocked),
        ("opportunities", "Value opportunities", &p.opportunities),
        ("risks", "Value risks", &p.risks),
    ]
}

/// Whom a pulse is about, for headings.
fn scope(p: &Pulse) -> &str {
    p.team.as_deref().unwrap_or("organisation")
}

/// What a reader should know about where last week's figure comes from,
/// when the text alone does not say it.
fn comparison_note(i: &Item) -> Option<&'static str> {
    match i.comparison {
        Comparison::Prometheus => Some("last week from Prometheus"),
        Comparison::State | Comparison::None => None,
    }
}

/// The pulse as markdown: a heading, the week, four sections of bullets.
pub fn markdown(p: &Pulse) -> String {
    let mut out = String::with_capacity(4096);
    let _ = writeln!(out, "# Weekly Value Pulse: {} ({})", scope(p), p.week);
    let _ = writeln!(
        out,
        "\nThe 7 days from {} to {}, compared with the 7 days from {}.",
        p.from, p.to, p.previous_from
    );
    for (_, title, s) in sections(p) {
        let _ = writeln!(out, "\n## {title}\n");
        if s.items.is_empty() {
            out.push_str("- nothing this week\n");
        }
        for i in &s.items {
            let _ = write!(out, "- {}", i.text);
            if let Some(note) = comparison_note(i) {
                let _ = write!(out, " ({note})");
            }
            out.push('\n');
        }
        if s.more > 0 {
            let _ = writeln!(out, "- and {} more", s.more);
        }
    }
    out
}

/// Two bars, this week (top) and last week, on the scale of the larger;
/// `None` unless both figures are there and not negative.
pub fn bars(value: Option<f64>, previous: Option<f64>) -> Option<String> {
    let (v, p) = (value?, previous?);
    if !(v >= 0.0 && p >= 0.0) {
        return None;
    }
    let max = v.max(p);
    let width = |x: f64| if max > 0.0 { x / max * 100.0 } else { 0.0 };
    Some(format!(
        "<svg class=\"bars\" width=\"102\" height=\"18\" viewBox=\"0 0 102 18\" role=\"img\" \
         aria-label=\"this week against last week\">\
         <rect x=\"0\" y=\"1\" width=\"{:.1}\" height=\"7\" fill=\"var(--bar)\"><title>this week</title></rect>\
         <rect x=\"0\" y=\"10\" width=\"{:.1}\" height=\"7\" fill=\"#aab3c5\"><title>last week</title></rect></svg>",
        width(v),
        width(p)
    ))
}

/// The pulse page of `p`, with links to every team's pulse in `teams`.
pub fn html(p: &Pulse, teams: &Teams) -> String {
    let mut out = String::with_capacity(16 * 1024);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>valuepulse · weekly value pulse · {scope}</title><style>{STYLE}{PULSE_STYLE}</style></head><body>\
         <header><h1>value<span>pulse</span></h1><nav><a href=\"/\">/</a><a href=\"/pulse\">organisation</a>",
        scope = esc(scope(p)),
    );
    for t in &teams.teams {
        let _ = write!(
            out,
            "<a href=\"/pulse?team={}\">{}</a>",
            esc(&query_value(t)),
            esc(t)
        );
    }
    let team_query = p
        .team
        .as_deref()
        .map_or_else(String::new, |t| format!("team={}&", query_value(t)));
    let _ = write!(
        out,
        "</nav><div class=\"meta\" id=\"pulse-week\" data-week=\"{week}\">{week} · {from} to {to} \
         against {previous} · <a href=\"/pulse?{q}format=json\">json</a> · \
         <a href=\"/pulse?{q}format=markdown\">markdown</a></div></header><main>\
         <h2 id=\"pulse-scope\">Weekly Value Pulse: {scope}</h2><div class=\"grid pulse\">",
        week = esc(&p.week),
        from = esc(&p.from),
        to = esc(&p.to),
        previous = esc(&p.previous_from),
        q = esc(&team_query),
        scope = esc(scope(p)),
    );
    for (id, title, s) in sections(p) {
        let _ = write!(
            out,
            "<section class=\"card\" id=\"{id}\"><h3>{title}</h3><ul>"
        );
        if s.items.is_empty() {
            out.push_str("<li class=\"mute\">nothing this week</li>");
        }
        for i in &s.items {
            item(&mut out, i);
        }
        out.push_str("</ul>");
        if s.more > 0 {
            let _ = write!(
                out,
                "<p class=\"mute more\" data-more=\"{0}\">and {0} more</p>",
                s.more
            );
        }
        out.push_str("</section>");
    }
    out.push_str("</div></main></body></html>\n");
    out
}

fn item(out: &mut String, i: &Item) {
    let _ = write!(out, "<li data-kind=\"{}\"", esc(&i.kind));
    if let Some(s) = &i.subject {
        let _ = write!(out, " data-subject=\"{}\"", esc(s));
    }
    if let Some(v) = i.value {
        let _ = write!(out, " data-value=\"{v}\"");
    }
    if let Some(v) = i.previous {
        let _ = write!(out, " data-previous=\"{v}\"");
    }
    let _ = write!(
        out,
        " data-unit=\"{}\" data-comparison=\"{}\"><span class=\"text\">{}</span>",
        esc(&i.unit),
        comparison_name(i.comparison),
        esc(&i.text)
    );
    if let Some(svg) = bars(i.value, i.previous) {
        out.push_str(&svg);
    }
    if let Some(note) = comparison_note(i) {
        let _ = write!(out, "<small>{note}</small>");
    }
    out.push_str("</li>");
}

fn comparison_name(c: Comparison) -> &'static str {
    match c {
        Comparison::State => "state",
        Comparison::Prometheus => "prometheus",
        Comparison::None => "none",
    }
}

/// A query value, percent-encoded.
fn query_value(v: &str) -> String {
    form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

/// The pulse's own rules on top of the page's style.
const PULSE_STYLE: &str = ".pulse ul{list-style:none;margin:0;padding:0}\
.pulse li{display:flex;align-items:center;justify-content:space-between;gap:10px;padding:5px 0;border-bottom:1px solid var(--line)}\
.pulse li:last-child{border-bottom:0}.pulse li .text{flex:1}.pulse svg.bars{flex:none}\
.pulse li small{color:var(--mute);font-size:11px}.pulse .more{margin:6px 0 0}\
header .meta a{color:#cfd6e4}";

#[cfg(test)]
mod tests;
