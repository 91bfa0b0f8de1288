//! Block Kit has no published JSON schema: the body is checked here
//! against the structure and limits Slack documents for incoming webhooks,
//! and its texts against a hand-written expectation.

use serde_json::Value;

use super::{MAX_HEADER, MAX_SECTION, escape, render, truncate};
use crate::pulse::deliver::tests::sample;

/// Checks one body against Block Kit's documented structure: a fallback
/// `text`, at most 50 blocks of known types, each with the fields its type
/// requires and within its text limits.
fn assert_block_kit(body: &Value) {
    assert!(body["text"].as_str().is_some_and(|t| !t.is_empty()));
    let blocks = body["blocks"].as_array().unwrap();
    assert!(
        !blocks.is_empty() && blocks.len() <= 50,
        "{} blocks",
        blocks.len()
    );
    for b in blocks {
        match b["type"].as_str().unwrap() {
            "header" => {
                assert_eq!(b["text"]["type"], "plain_text");
                let t = b["text"]["text"].as_str().unwrap();
                assert!(!t.is_empty() && t.chars().count() <= MAX_HEADER);
            }
            "context" => {
                let elements = b["elements"].as_array().unwrap();
                assert!(!elements.is_empty() && elements.len() <= 10);
                for e in elements {
                    assert_eq!(e["type"], "mrkdwn");
                    assert!(e["text"].as_str().is_some());
                }
            }
            "divider" => assert_eq!(b.as_object().unwrap().len(), 1),
            "section" => {
                assert_eq!(b["text"]["type"], "mrkdwn");
                let t = b["text"]["text"].as_str().unwrap();
                assert!(!t.is_empty() && t.chars().count() <= MAX_SECTION);
            }
            other => panic!("unexpected block type {other}"),
        }
    }
}

#[test]
fn a_pulse_becomes_a_header_a_period_and_one_section_per_question() {
    let body = render(&sample());
    assert_block_kit(&body);
    assert_eq!(body["text"], "Weekly Value Pulse: payments, 2026-W49");
    let types: Vec<&str> = body["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "header", "context", "divider", "section", "divider", "section", "divider", "section",
            "divider", "section"
        ]
    );
    let b = &body["blocks"];
    assert_eq!(
        b[0]["text"]["text"],
        "Weekly Value Pulse: payments, 2026-W49"
    );
    assert_eq!(
        b[1]["elements"][0]["text"],
        "7 days from 2026-11-27 to 2026-12-04, compared with the 7 days before."
    );
    assert_eq!(
        b[3]["text"]["text"],
        "*Value created*\n_What customer problems did we solve this week?_\n\
         • 12 deploys to production (8 the week before)\n\
         • Shipped &lt;refunds&gt; &amp; first used 2 h later by 40 users"
    );
    assert_eq!(
        b[5]["text"]["text"],
        "*Value blocked*\n_What prevented us from creating more value?_\nNothing this week."
    );
    assert_eq!(
        b[7]["text"]["text"],
        "*Value opportunities*\n_What customer pain points did we discover?_\n\
         • export_csv shipped 9 days ago and still unused\n…and 3 more"
    );
    assert_eq!(
        b[9]["text"]["text"],
        "*Value risks*\n_What might destroy value we've already created?_\n\
         • Change failure rate 25 % (10 % the week before)"
    );
}

#[test]
fn the_organisations_pulse_is_titled_so() {
    let mut p = sample();
    p.team = None;
    assert_eq!(
        render(&p)["text"],
        "Weekly Value Pulse: the organisation, 2026-W49"
    );
}

#[test]
fn long_texts_are_cut_to_block_kits_limits() {
    let mut p = sample();
    p.team = Some("t".repeat(400));
    p.created.items[0].text = "x".repeat(5000);
    let body = render(&p);
    assert_block_kit(&body);
    let header = body["blocks"][0]["text"]["text"].as_str().unwrap();
    assert_eq!(header.chars().count(), MAX_HEADER);
    assert!(header.ends_with('…'));
    let created = body["blocks"][3]["text"]["text"].as_str().unwrap();
    assert_eq!(created.chars().count(), MAX_SECTION);
}

#[test]
fn escaping_and_truncation() {
    assert_eq!(escape("a <b> & c"), "a &lt;b&gt; &amp; c");
    assert_eq!(truncate("abc", 3), "abc");
    assert_eq!(truncate("abcd", 3), "ab…");
    assert_eq!(truncate("ééé", 2), "é…");
}
