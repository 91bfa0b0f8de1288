//! JSON helpers every format shares: borrowed strings, bounded error
//! reasons, timestamps and the native shape of a deploy's changes (also
//! inside CDEvents' `customData`).

use std::borrow::Cow;

use serde::Deserialize;
use serde::de::{Deserializer, Visitor};

use super::timestamp::parse_rfc3339;
use crate::domain::event::InvalidReason;
use crate::domain::{Change, Millis};

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

/// Maps a serde_json error to a bounded reason, never to its text (which may
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

/// Parses an RFC 3339 timestamp to epoch milliseconds.
pub fn parse_time(s: &str) -> Result<Millis, InvalidReason> {
    parse_rfc3339(s).ok_or(InvalidReason::BadTimestamp)
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

#[derive(Deserialize)]
pub(super) struct ChangeV1<'a> {
    #[serde(borrow, default)]
    pub(super) id: Option<Text<'a>>,
    #[serde(borrow)]
    pub(super) committed_at: Text<'a>,
}

/// The changes of a deploy, native v1 shape (also inside CDEvents'
/// `customData`). An empty id is no id.
pub(super) fn changes(w: Vec<ChangeV1<'_>>) -> Result<Vec<Change<'_>>, InvalidReason> {
    w.into_iter()
        .map(|c| {
            Ok(Change {
                id: cow(c.id).filter(|id| !id.is_empty()),
                committed_at: parse_time(&c.committed_at.0)?,
            })
        })
        .collect()
}
