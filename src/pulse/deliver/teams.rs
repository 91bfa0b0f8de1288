//! Pulse → an Adaptive Card for a Microsoft Teams workflow webhook (the
//! "Post to a channel when a webhook request is received" template).
//!
//! The workflow expects a Bot Framework `message` whose `attachments` hold
//! the card with content type `application/vnd.microsoft.card.adaptive`.
//! The card is version 1.4 (what Teams renders on every client), full
//! width (`msteams.width`), built only of `TextBlock`s inside `Container`s:
//! a title, the period, then one container per question. It is checked
//! against the published Adaptive Card JSON schema by the unit tests
//! (`tests/schemas/adaptive-card.json`).

use serde_json::{Value, json};

use super::{NOTHING, more_line, period, sections, title};
use crate::pulse::model::Pulse;

/// The attachment's content type.
pub const CONTENT_TYPE: &str = "application/vnd.microsoft.card.adaptive";
/// The card's schema version.
pub const CARD_VERSION: &str = "1.4";

/// The webhook body for `p`: the card in its message envelope.
pub fn render(p: &Pulse) -> Value {
    json!({
        "type": "message",
        "attachments": [{
            "contentType": CONTENT_TYPE,
            "contentUrl": null,
            "content": card(p),
        }]
    })
}

/// The Adaptive Card alone.
pub fn card(p: &Pulse) -> Value {
    let mut body = vec![
        text_block(&title(p), &[("size", "large"), ("weight", "bolder")]),
        text_block(&period(p), &[("isSubtle", "true"), ("spacing", "none")]),
    ];
    for (name, question, section) in sections(p) {
        let mut items = vec![
            text_block(name, &[("size", "medium"), ("weight", "bolder")]),
            text_block(question, &[("isSubtle", "true"), ("spacing", "none")]),
        ];
        if section.items.is_empty() {
            items.push(text_block(NOTHING, &[("spacing", "small")]));
        }
        for item in &section.items {
            items.push(text_block(
                &format!("- {}", item.text),
                &[("spacing", "small")],
            ));
        }
        if let Some(more) = more_line(section) {
            items.push(text_block(
                &more,
                &[("isSubtle", "true"), ("spacing", "small")],
            ));
        }
        body.push(json!({
            "type": "Container",
            "separator": true,
            "spacing": "medium",
            "items": items,
        }));
    }
    json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "msteams": {"width": "Full"},
        "body": body,
    })
}

/// A wrapping `TextBlock` with `text` and string (or `"true"`) properties.
fn text_block(text: &str, properties: &[(&str, &str)]) -> Value {
    let mut b = json!({"type": "TextBlock", "text": text, "wrap": true});
    for (k, v) in properties {
        b[*k] = if *v == "true" { json!(true) } else { json!(v) };
    }
    b
}

#[cfg(test)]
mod tests;
