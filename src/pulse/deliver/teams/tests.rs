//! The Teams body: the workflow's message envelope, and a card that the
//! published Adaptive Card JSON schema accepts (vendored from the npm
//! package `adaptivecards-designer` 2.4.4, MIT: `tests/schemas/`).

use serde_json::{Value, json};

use super::{CARD_VERSION, CONTENT_TYPE, card, render};
use crate::pulse::deliver::tests::sample;

fn schema() -> jsonschema::Validator {
    let text = include_str!("../../../../tests/schemas/adaptive-card.json");
    let schema: Value = serde_json::from_str(text).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

fn errors(v: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    v.iter_errors(instance).map(|e| e.to_string()).collect()
}

#[test]
fn the_body_is_a_message_with_one_adaptive_card_attachment() {
    let body = render(&sample());
    assert_eq!(body["type"], "message");
    let attachments = body["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 1);
    assert_eq!(attachments[0]["contentType"], CONTENT_TYPE);
    assert_eq!(attachments[0]["contentUrl"], Value::Null);
    assert_eq!(attachments[0]["content"], card(&sample()));
    assert_eq!(attachments[0]["content"]["version"], CARD_VERSION);
}

#[test]
fn the_card_is_valid_against_the_published_schema() {
    let v = schema();
    let mut org = sample();
    org.team = None;
    for p in [sample(), org] {
        let c = card(&p);
        assert_eq!(errors(&v, &c), Vec::<String>::new());
    }
    // The validator is live: a card without its version, or with a
    // TextBlock size the schema does not know, is refused.
    let mut no_version = card(&sample());
    no_version.as_object_mut().unwrap().remove("version");
    assert!(!v.is_valid(&no_version));
    let bad_size = json!({"type": "AdaptiveCard", "version": "1.4",
        "body": [{"type": "TextBlock", "text": "x", "size": "huge"}]});
    assert!(!v.is_valid(&bad_size));
}

#[test]
fn every_element_is_a_text_block_in_a_container_with_the_items_in_order() {
    let c = card(&sample());
    let body = c["body"].as_array().unwrap();
    assert_eq!(body.len(), 6);
    assert_eq!(body[0]["text"], "Weekly Value Pulse: payments, 2026-W49");
    assert_eq!(
        body[1]["text"],
        "7 days from 2026-11-27 to 2026-12-04, compared with the 7 days before."
    );
    let texts = |i: usize| -> Vec<String> {
        assert_eq!(body[i]["type"], "Container");
        body[i]["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                assert_eq!(t["type"], "TextBlock");
                assert_eq!(t["wrap"], true);
                t["text"].as_str().unwrap().to_owned()
            })
            .collect()
    };
    assert_eq!(
        texts(2),
        [
            "Value created",
            "What customer problems did we solve this week?",
            "- 12 deploys to production (8 the week before)",
            "- Shipped <refunds> & first used 2 h later by 40 users",
        ]
    );
    assert_eq!(
        texts(3),
        [
            "Value blocked",
            "What prevented us from creating more value?",
            "Nothing this week."
        ]
    );
    assert_eq!(
        texts(4),
        [
            "Value opportunities",
            "What customer pain points did we discover?",
            "- export_csv shipped 9 days ago and still unused",
            "…and 3 more",
        ]
    );
    assert_eq!(texts(5).len(), 3);
}
