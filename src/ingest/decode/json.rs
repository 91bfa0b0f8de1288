//! JSON helpers every format shares: borrowed strings, bounded error
//! reasons and the native shape of a deploy's changes (also
//! inside CDEvents' `customData`).

use std::borrow::Cow;

use serde::Deserialize;
use serde::de::{Deserializer, Visitor};

pub(super) use super::timestamp::parse_time;
use super::wire::ChangeV1;
use crate::domain::Change;
use crate::domain::event::InvalidReason;

/// Environment assumed when an event names none.
pub const DEFAULT_ENVIRONMENT: &str = "production";

/// Refuses what cannot be a JSON object, with the reason native v1 gives.
pub(super) fn check_object(payload: &[u8]) -> Result<(), InvalidReason> {
    match payload.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => Ok(()),
        Some(b'[' | b'"' | b't' | b'f' | b'n' | b'-' | b'0'..=b'9') => {
            Err(InvalidReason::NotAnObject)
        }
        _ => Err(InvalidReason::MalformedJson),
    }
}

/// Maps a `serde_json` error to a bounded reason, never to its text (which may
/// quote the payload).
pub(super) fn classify(e: &serde_json::Error) -> InvalidReason {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => InvalidReason::MalformedJson,
        Category::Data => {
            let msg = e.to_string();
            if msg.starts_with("missing field") {
                InvalidReason::MissingField
            } else {
                InvalidReason::WrongType
            }
        }
    }
}

/// A JSON string that borrows from the payload, and is copied only when it
/// holds escapes. (serde's own `Cow` support borrows only for bare fields, not
/// inside `Option` or `Vec`.)
#[derive(Debug)]
pub(super) struct Text<'a>(pub(super) Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(TextVisitor)
    }
}

pub(super) fn cow(t: Option<Text<'_>>) -> Option<Cow<'_, str>> {
    t.map(|t| t.0)
}

/// `deserialize_with` of a string field: borrowed unless it holds escapes.
pub(super) fn text<'de: 'a, 'a, D: Deserializer<'de>>(d: D) -> Result<Cow<'a, str>, D::Error> {
    Text::deserialize(d).map(|t| t.0)
}

/// `deserialize_with` of an optional string field (`null` is absent).
pub(super) fn opt_text<'de: 'a, 'a, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Cow<'a, str>>, D::Error> {
    Option::<Text<'a>>::deserialize(d).map(|t| t.map(|t| t.0))
}

/// `deserialize_with` of a list of strings.
pub(super) fn texts<'de: 'a, 'a, D: Deserializer<'de>>(
    d: D,
) -> Result<Vec<Cow<'a, str>>, D::Error> {
    Vec::<Text<'a>>::deserialize(d).map(|v| v.into_iter().map(|t| t.0).collect())
}

/// The changes of a deploy, native v1 shape (also inside CDEvents'
/// `customData`). An empty id is no id.
pub(super) fn changes(w: Vec<ChangeV1<'_>>) -> Result<Vec<Change<'_>>, InvalidReason> {
    w.into_iter()
        .map(|c| {
            Ok(Change {
                id: c.id.filter(|id| !id.is_empty()),
                committed_at: parse_time(&c.committed_at)?,
            })
        })
        .collect()
}
