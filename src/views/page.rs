//! The value pulse page served at `/`: server-rendered HTML with inline SVG,
//! no script, refreshing itself every [`REFRESH_SECONDS`].
//!
//! The reporter renders it beside the metrics text from the same
//! [`Reports`] (see [`crate::telemetry::snapshot`]), so the page and
//! `/metrics` of one snapshot show the same figures: every number, the
//! ingest counters (events by outcome, invalid by reason, window
//! completeness, label overflow) included, is read from the report, never
//! from the encoded families nor from the live counters a moment later.
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
//!
//! | module | job |
//! |---|---|
//! | this file | the page's frame and headline figures |
//! | `dora` | one card per service, team and environment |
//! | `adoption` | top features, realization and the feedback cycle |
//! | `value_stream` | flow efficiency, satisfaction, value delivery score and bands per service and team |
//! | `quality` | records by outcome, invalid records, window completeness, label overflow |
//! | `html` | escaping, number formats and the `data-series` attributes |

mod adoption;
mod dora;
mod html;
mod quality;
mod value_stream;

use std::fmt::Write as _;

pub use html::{esc, series};
use html::{iso, num};

use super::names;
use crate::report::Reports;

/// The page reloads itself this often.
pub const REFRESH_SECONDS: u32 = 10;
/// DORA cards shown; the rest are counted and left to `/metrics`.
pub const MAX_SERIES: usize = 60;
/// Features in the adoption table.
pub const TOP_FEATURES: usize = 12;

/// Served before the first report exists.
pub const STARTING: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"2\"><title>valuepulse</title></head><body><h1>valuepulse</h1><p>Starting: the first report is being computed.</p><p><a href=\"/metrics\">/metrics</a> · <a href=\"/livez\">/livez</a> · <a href=\"/readyz\">/readyz</a></p></body></html>\n";

/// The page's style sheet (the pulse page uses it too).
pub(crate) const STYLE: &str = include_str!("page/style.css");

/// The page of one report.
pub fn render(r: &Reports<'_>) -> String {
    let ready = r.health.ready;
    let mut out = String::with_capacity(64 * 1024);
    let now = iso(r.now);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"{REFRESH_SECONDS}\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>valuepulse · value pulse</title><style>{STYLE}</style></head><body>\
         <header><h1>value<span>pulse</span></h1><nav><a href=\"/pulse\">weekly pulse</a><a href=\"/metrics\">/metrics</a>\
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
    summary(&mut out, r);
    dora::section(&mut out, r);
    adoption::section(&mut out, r);
    value_stream::section(&mut out, r);
    quality::section(&mut out, r);
    out.push_str("</main></body></html>\n");
    out
}

/// Headline figures on the longest window.
fn summary(out: &mut String, r: &Reports<'_>) {
    let longest = r.windows.longest();
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
    let (aw, al) = (r.windows, longest);
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

#[cfg(test)]
mod tests;
