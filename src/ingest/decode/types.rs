//! The seam's vocabulary: the record headers the decoder reads besides the
//! payload, and why a record did not become a domain event.

use crate::domain::event::InvalidReason;

/// Why a record did not become a domain event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DecodeError {
    /// Not a valid event (counted as `invalid`, by reason).
    Invalid(InvalidReason),
    /// A well-formed CloudEvent or CDEvent of a type valuepulse does not
    /// read on this topic (counted as `unsupported`).
    Unsupported,
}

impl From<InvalidReason> for DecodeError {
    fn from(r: InvalidReason) -> Self {
        DecodeError::Invalid(r)
    }
}

/// The record headers the decoder reads: `content-type` and the CloudEvents
/// Kafka binding's binary-mode attributes it needs (`ce_specversion`,
/// `ce_type`, `ce_id`, `ce_source`). Values are the raw header bytes; the
/// decoded event never borrows from them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Headers<'h> {
    /// `content-type`: the CloudEvents event format in structured mode, the
    /// data's media type (`datacontenttype`) in binary mode.
    pub content_type: Option<&'h [u8]>,
    /// `ce_specversion`: present only on binary-mode CloudEvents.
    pub ce_specversion: Option<&'h [u8]>,
    /// `ce_type`.
    pub ce_type: Option<&'h [u8]>,
    /// `ce_id`.
    pub ce_id: Option<&'h [u8]>,
    /// `ce_source`.
    pub ce_source: Option<&'h [u8]>,
}

impl<'h> Headers<'h> {
    /// A record without headers.
    pub const NONE: Headers<'static> = Headers {
        content_type: None,
        ce_specversion: None,
        ce_type: None,
        ce_id: None,
        ce_source: None,
    };

    /// Picks the headers the decoder reads out of `(key, value)` pairs. Keys
    /// match ASCII case-insensitively; a repeated key keeps its last value.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (&'h str, &'h [u8])>) -> Self {
        let mut h = Headers::default();
        for (key, value) in pairs {
            let slot = if key.eq_ignore_ascii_case("content-type") {
                &mut h.content_type
            } else if key.eq_ignore_ascii_case("ce_specversion") {
                &mut h.ce_specversion
            } else if key.eq_ignore_ascii_case("ce_type") {
                &mut h.ce_type
            } else if key.eq_ignore_ascii_case("ce_id") {
                &mut h.ce_id
            } else if key.eq_ignore_ascii_case("ce_source") {
                &mut h.ce_source
            } else {
                continue;
            };
            *slot = Some(value);
        }
        h
    }

    /// The headers of a Kafka record (headers without a value are skipped).
    pub fn from_kafka<H: rdkafka::message::Headers>(headers: Option<&'h H>) -> Self {
        match headers {
            None => Headers::default(),
            Some(hs) => Self::from_pairs(hs.iter().filter_map(|h| h.value.map(|v| (h.key, v)))),
        }
    }
}
