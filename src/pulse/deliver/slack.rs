//! Pulse → Slack Block Kit: the body of a Slack-compatible incoming
//! webhook (Slack; Mattermost and Rocket.Chat accept the same body).
//!
//! A `text` (the notification's fallback) and `blocks`: a header, a
//! context line with the period, and per question a divider and one
//! `mrkdwn` section listing the items. Block Kit has no published JSON
//! schema; its documented limits are kept here and checked by the unit
//! tests: at most 50 blocks, a header's text at most 150 characters, a
//! section's at most 3,000, and `&`, `<`, `>` escaped in `mrkdwn` (Slack
//! reads `<…>` as a link or a mention).

use serde_json::{Value, json};

use super::{NOTHING, more_line, period, sections, title};
use crate::pulse::model::Pulse;

/// Longest header text Block Kit accepts.
pub const MAX_HEADER: usize = 150;
/// Longest section text Block Kit accepts.
pub const MAX_SECTION: usize = 3000;

/// The webhook body for `p`.
pub fn render(p: &Pulse) -> Value {
    let heading = title(p);
    let mut blocks = vec![
        json!({
            "type": "header",
            "text": {"type": "plain_text", "text": truncate(&heading, MAX_HEADER), "emoji": false}
        }),
        json!({
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": escape(&period(p))}]
        }),
    ];
    for (name, question, section) in sections(p) {
        let mut text = format!("*{}*\n_{}_", escape(name), escape(question));
        if section.items.is_empty() {
            text.push('\n');
            text.push_str(NOTHING);
        }
        for item in &section.items {
            text.push_str("\n• ");
            text.push_str(&escape(&item.text));
        }
        if let Some(more) = more_line(section) {
            text.push('\n');
            text.push_str(&more);
        }
        blocks.push(json!({"type": "divider"}));
        blocks.push(json!({
            "type": "section",
            "text": {"type": "mrkdwn", "text": truncate(&text, MAX_SECTION)}
        }));
    }
    json!({"text": heading, "blocks": blocks})
}

/// Escapes the three characters Slack's `mrkdwn` gives a meaning to.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// At most `max` characters, the last one `…` when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests;
