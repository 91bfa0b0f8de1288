//! libFuzzer target: the first byte picks the topic and the framing
//! headers, the rest is the record value. Every input must decode or be
//! rejected, never panic, and end in exactly one counted outcome.

#![no_main]

use libfuzzer_sys::fuzz_target;
use valuepulse::domain::Outcome;
use valuepulse::ingest::Stream;
use valuepulse::ingest::decode::{Headers, decode, decode_usage};
use valuepulse::ingest::outcome::{self, BatchCounts, Position, Rejected};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, payload)) = data.split_first() else {
        return;
    };
    let stream = Stream::EVERY[usize::from(selector) % Stream::EVERY.len()];
    let headers = match (selector / 5) % 4 {
        0 => Headers::NONE,
        1 => Headers {
            content_type: Some(b"application/cloudevents+json"),
            ..Headers::NONE
        },
        2 => Headers {
            content_type: Some(b"application/json"),
            ce_specversion: Some(b"1.0"),
            ce_type: Some(b"dev.cdevents.service.deployed.0.2.0"),
            ce_id: Some(b"id"),
            ce_source: Some(b"/ci"),
        },
        _ => Headers {
            ce_specversion: Some(b"1.0"),
            ce_type: Some(b"dev.cdevents.incident.resolved.0.2.0"),
            ce_id: Some(b"id"),
            ce_source: Some(b"/ci"),
            ..Headers::NONE
        },
    };
    let _ = decode_usage(payload);
    let fate = decode(stream, payload, &headers)
        .map(|_| Outcome::Accepted)
        .map_err(Rejected::from);
    if !Stream::ALL.contains(&stream) {
        // Not consumed yet: no counters; decoding must only not panic.
        return;
    }
    let mut counts = BatchCounts::default();
    let at = Position {
        topic: "fuzz",
        partition: 0,
        offset: 0,
    };
    outcome::emit(fate, stream, at, &mut counts);
    assert_eq!(counts.events.iter().flatten().sum::<u64>(), 1);
});
