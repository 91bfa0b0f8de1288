//! The page's small pieces: escaping, the `data-series` attributes that tie
//! a number to its series, and number, duration and time formats.

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::domain::Millis;
use crate::domain::quantiles::Quantiles;
use crate::domain::tier::Tier;
use crate::domain::time::human_duration;
use crate::ingest::decode::format_time;

/// The median of `q`, as a duration, carrying its series.
pub(super) fn duration_quantile(
    out: &mut String,
    name: &str,
    labels: &[(&str, &str)],
    q: Option<&Quantiles>,
) {
    match q.and_then(|q| q.values.iter().find(|(p, _)| *p == 0.5)) {
        Some((p, v)) => {
            let p = p.to_string();
            let mut l = labels.to_vec();
            l.push(("quantile", &p));
            num(out, &series(name, &l), *v, &human_duration(*v));
        }
        None => out.push_str("<span class=\"mute\">–</span>"),
    }
}

/// A number that is also a series: its exact value in `data-value`.
pub(super) fn num(out: &mut String, series: &str, value: f64, shown: &str) {
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

pub(super) fn tier_name(t: Tier) -> &'static str {
    match t {
        Tier::Elite => "elite",
        Tier::High => "high",
        Tier::Medium => "medium",
        Tier::Low => "low",
    }
}

/// A ratio as a percentage.
pub(super) fn percent(v: f64) -> String {
    let p = v * 100.0;
    if p == p.round() {
        format!("{p:.0} %")
    } else {
        format!("{p:.1} %")
    }
}

/// A counter value (whole numbers).
pub(super) fn count(v: f64) -> String {
    format!("{v:.0}")
}

/// RFC 3339 of epoch milliseconds, to the second.
pub(super) fn iso(at: Millis) -> String {
    format_time(at - at.rem_euclid(1000))
}
