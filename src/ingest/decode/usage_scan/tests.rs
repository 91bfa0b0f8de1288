//! The usage scanner against `serde_json`.

use super::*;

#[test]
fn takes_the_three_fields_and_steps_over_everything_else() {
    let p = br#" { "session": "s-\"1\"", "feature" : "one-click", "n": -1.5e3, "ok": true,
            "none": null, "client": {"os": "ios", "tags": ["a", {"b": "}"}]}, "user": "u-5521",
            "at": "2026-11-25T12:00:00Z", "f": false } "#;
    assert_eq!(
        scan(p),
        Some(["one-click", "u-5521", "2026-11-25T12:00:00Z"])
    );
}

#[test]
fn is_unsure_rather_than_wrong() {
    for p in [
        &br#"{"feature": "f", "user": "u"}"#[..],
        br#"{"feature": "f\u00e9", "user": "u", "at": "t"}"#,
        br#"{"feature": "f", "feature": "g", "user": "u", "at": "t"}"#,
        br#"{"feature": 7, "user": "u", "at": "t"}"#,
        br#"{"feature": "f", "user": "u", "at": "t"} x"#,
        br#"{"feature": "f", "user": "u", "at": "t""#,
        br#"{"feature": "f", "user": "u", "at": "t",}"#,
        br#"{"x": tru, "feature": "f", "user": "u", "at": "t"}"#,
        br"[1]",
        b"",
        b"{\"feature\": \"\xff\", \"user\": \"u\", \"at\": \"t\"}",
    ] {
        assert_eq!(scan(p), None, "{}", String::from_utf8_lossy(p));
    }
}

#[test]
fn agrees_with_serde_json_on_generated_payloads() {
    use serde_json::{Map, Value, json};
    let mut rng = crate::testkit::Rng::new(0x2545_F491_4F6C_DD1Du64);
    let mut next = move |n: u64| rng.below(n);
    let extras = [
        json!("plain"),
        json!("quote \" and \\ slash"),
        json!(-12.5e-3),
        json!(true),
        json!(null),
        json!({"a": [1, {"b": "]}"}], "c": {}}),
        json!([]),
        json!("ünï"),
    ];
    for round in 0..5_000 {
        let mut fields: Vec<(String, Value)> = vec![
            ("feature".into(), json!(format!("feat-{}", next(50)))),
            (
                "user".into(),
                json!(if next(10) == 0 {
                    "u-\"q\"".to_owned()
                } else {
                    format!("u-{}", next(1000))
                }),
            ),
            ("at".into(), json!("2026-11-25T12:00:00Z")),
        ];
        for k in 0..next(5) {
            fields.push((
                format!("x{k}"),
                extras[next(extras.len() as u64) as usize].clone(),
            ));
        }
        // Shuffle the field order.
        for i in (1..fields.len()).rev() {
            fields.swap(i, next(i as u64 + 1) as usize);
        }
        let object: Map<String, Value> = fields.into_iter().collect();
        let value = Value::Object(object);
        let text = if round % 2 == 0 {
            serde_json::to_string(&value).unwrap()
        } else {
            serde_json::to_string_pretty(&value).unwrap()
        };
        let want: Vec<&str> = ["feature", "user", "at"]
            .iter()
            .map(|k| value[*k].as_str().unwrap())
            .collect();
        match scan(text.as_bytes()) {
            Some(got) => assert_eq!(got.to_vec(), want, "{text}"),
            // Unsure only when a needed string holds an escape.
            None => assert!(want.iter().any(|w| w.contains('"')), "unsure about {text}"),
        }
    }
}

#[test]
fn the_word_search_finds_what_a_byte_loop_finds_at_every_position() {
    let naive = |h: &[u8], control: bool| {
        h.iter()
            .position(|&c| c == b'"' || c == b'\\' || (control && c < 0x20))
    };
    // Every length to 40, the special byte at every position, with
    // neighbours that tempt a borrow (0x00, 0x01, 0x21, 0x23, 0x5b, 0x80,
    // 0xff) and a second special byte after it.
    for len in 0..40 {
        for at in 0..=len {
            for special in [b'"', b'\\', 0x00, 0x1f, b'\n'] {
                for filler in [b'a', 0x00, 0x01, 0x21, 0x23, 0x5b, 0x80, 0xff] {
                    let mut h = vec![filler; len];
                    if at < len {
                        h[at] = special;
                        if at + 3 < len {
                            h[at + 3] = b'"';
                        }
                    }
                    for control in [false, true] {
                        assert_eq!(
                            find_special(&h, control),
                            naive(&h, control),
                            "{h:?} control={control}"
                        );
                    }
                }
            }
        }
    }
}
