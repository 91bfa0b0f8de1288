//! A bounded, seeded mutation fuzzer for the decoders, on stable Rust (CI
//! has no nightly for `cargo fuzz`): it starts from the bad-input corpus
//! (`tests/corpus/`) and good events, mutates them (bit flips, byte
//! insertions and deletions, splices, repeated brackets, truncation,
//! swapped framing headers), and feeds every input to the daemon's decode
//! seam and to the DORA batch fold. It asserts that nothing panics and that
//! every input ends in exactly one counted outcome.
//!
//! Runs for `VALUEPULSE_FUZZ_SECS` seconds (default 10) from seed
//! `VALUEPULSE_FUZZ_SEED` (default: fixed, so CI is repeatable); a failure
//! prints the seed and the input (hex) to replay it.

#![allow(
    clippy::print_stderr,
    reason = "test diagnostics: measured figures for RELIABILITY.md"
)]

use std::time::{Duration, Instant};

use valuepulse::config::Config;
use valuepulse::domain::Outcome;
use valuepulse::ingest::Stream;
use valuepulse::ingest::decode::{Headers, decode, decode_usage};
use valuepulse::ingest::fold::{SmallRecord, SmallStates, fold_small_records};
use valuepulse::ingest::outcome::{self, BatchCounts, Counters, Position, Rejected};
use valuepulse::rng::Rng;

use crate::common;

fn seeds() -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut out = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x != "toml") {
                let bytes = std::fs::read(&p).unwrap();
                out.push(
                    String::from_utf8_lossy(&bytes)
                        .replace("@NOW@", "2026-11-25T10:04:00Z")
                        .into_bytes(),
                );
                out.push(bytes);
            }
        }
    }
    for good in [
        r#"{"id":"d-1","service":"checkout","team":"payments","environment":"production","status":"succeeded","finished_at":"2026-11-25T10:04:00Z","started_at":"2026-11-25T09:58:00Z","changes":[{"id":"4be1c0d","committed_at":"2026-11-24T16:20:00Z"}],"features":["one-click"],"rollback_of":null}"#,
        r#"{"id":"inc-7","service":"checkout","status":"resolved","severity":"sev2","opened_at":"2026-11-25T10:30:00Z","resolved_at":"2026-11-25T11:10:00Z","caused_by_deploy":"d-1"}"#,
        r#"{"feature":"one-click","user":"u-5521","account":"acme","at":"2026-11-25T12:00:00Z"}"#,
        r#"{"specversion":"1.0","id":"e1","source":"/ci","type":"dev.cdevents.service.deployed.0.2.0","data":{"context":{"version":"0.4.1","id":"e1","source":"/ci","type":"dev.cdevents.service.deployed.0.2.0","timestamp":"2026-11-25T10:04:00Z"},"subject":{"id":"checkout","content":{"environment":{"id":"production"},"artifactId":"pkg:oci/checkout@sha256:abc"}},"customData":{"changes":[{"id":"c","committed_at":"2026-11-24T10:00:00Z"}]}}}"#,
        r#"{"context":{"version":"0.4.1","id":"e2","source":"/ci","type":"dev.cdevents.incident.resolved.0.2.0","timestamp":"2026-11-25T11:04:00Z"},"subject":{"id":"inc-1","content":{"service":{"id":"checkout"},"environment":{"id":"production"}}},"customData":{"opened_at":"2026-11-25T10:04:00Z"}}"#,
    ] {
        out.push(good.as_bytes().to_vec());
    }
    out
}

const TOKENS: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b"\\",
    b"\\u0000",
    b"\\ud800",
    b":",
    b",",
    b"null",
    b"true",
    b"-0",
    b"1e999",
    b"\xff",
    b"\xc3",
    b"\xf0\x9f\x98",
    b"\"specversion\":\"1.0\",",
    b"\"status\":\"rolled_back\",",
    b"9999-12-31T23:59:59Z",
    b"0000-01-01T00:00:00+23:59",
    b"2026-02-29T00:00:00Z",
    b"2026-11-25T10:04:00.123456789Z",
    b"T",
    b"Z",
];

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>], input: &mut Vec<u8>) {
    for _ in 0..=rng.index(4) {
        let len = input.len();
        match rng.index(8) {
            0 if len > 0 => {
                let i = rng.index(len);
                input[i] ^= 1 << rng.index(8);
            }
            1 => {
                let t = TOKENS[rng.index(TOKENS.len())];
                let i = rng.index(len + 1);
                input.splice(i..i, t.iter().copied());
            }
            2 if len > 0 => {
                let i = rng.index(len);
                let n = rng.index(len - i + 1).min(16);
                input.drain(i..i + n);
            }
            3 => {
                let other = &seeds[rng.index(seeds.len())];
                if !other.is_empty() {
                    let from = rng.index(other.len());
                    let to = from + rng.index(other.len() - from + 1);
                    let i = rng.index(len + 1);
                    input.splice(i..i, other[from..to].iter().copied());
                }
            }
            4 => {
                let n = 1 + rng.index(300);
                let open = if rng.index(2) == 0 { b'[' } else { b'{' };
                let i = rng.index(len + 1);
                input.splice(i..i, std::iter::repeat_n(open, n));
            }
            5 if len > 0 => input.truncate(rng.index(len)),
            6 if len > 1 => {
                let (a, b) = (rng.index(len), rng.index(len));
                input.swap(a, b);
            }
            _ => {
                let i = rng.index(len + 1);
                input.insert(i, rng.next_u64() as u8);
            }
        }
    }
}

fn headers<'h>(rng: &mut Rng) -> Headers<'h> {
    const CT: [&[u8]; 5] = [
        b"application/cloudevents+json",
        b"application/json",
        b"application/cloudevents+avro",
        b"text/plain; charset=\xff",
        b"",
    ];
    const TY: [&[u8]; 4] = [
        b"dev.cdevents.service.deployed.0.2.0",
        b"dev.cdevents.incident.resolved.0.2.0",
        b"dev.cdevents.pipelinerun.finished.0.2.0",
        b"\xff",
    ];
    let pick = |rng: &mut Rng, opts: &[&'static [u8]]| -> Option<&'static [u8]> {
        let i = rng.index(opts.len() + 1);
        opts.get(i).copied()
    };
    match rng.index(3) {
        0 => Headers::NONE,
        _ => Headers {
            content_type: pick(rng, &CT),
            ce_specversion: pick(rng, &[b"1.0", b"0.3"]),
            ce_type: pick(rng, &TY),
            ce_id: pick(rng, &[b"id-1"]),
            ce_source: pick(rng, &[b"/ci"]),
        },
    }
}

#[test]
fn mutated_inputs_never_panic_and_every_one_is_counted_once() {
    let _isolation = common::shared();
    let secs = std::env::var("VALUEPULSE_FUZZ_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10u64);
    let seed = std::env::var("VALUEPULSE_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_f00d_u64);
    let seeds = seeds();
    let config = Config::load_with_env(None, Vec::<(String, String)>::new()).unwrap();
    let states = SmallStates::from_config(&config);
    let now = 1_795_000_000_000; // 2026-11-18, near the seeds' timestamps
    let mut rng = Rng::new(seed);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let (mut inputs, mut decoded_ok) = (0u64, 0u64);
    while Instant::now() < deadline {
        // A batch of 64 mutated inputs per round.
        let mut batch: Vec<(Vec<u8>, Headers<'static>, Stream)> = Vec::with_capacity(64);
        for _ in 0..64 {
            let mut input = seeds[rng.index(seeds.len())].clone();
            mutate(&mut rng, &seeds, &mut input);
            let stream = Stream::EVERY[rng.index(Stream::EVERY.len())];
            batch.push((input, headers(&mut rng), stream));
        }
        let mut counts = BatchCounts::default();
        let mut counted_inputs = 0u64;
        for (input, h, stream) in &batch {
            let result = std::panic::catch_unwind(|| {
                let usage_ok = decode_usage(input).is_ok();
                let fate = decode(*stream, input, h)
                    .map(|_| Outcome::Accepted)
                    .map_err(Rejected::from);
                (usage_ok, fate)
            });
            let (_, fate) = result.unwrap_or_else(|_| {
                panic!(
                    "decoder panic (seed {seed}, stream {stream:?}, headers {h:?}) on input {input:02x?}"
                )
            });
            decoded_ok += u64::from(fate.is_ok());
            inputs += 1;
            let at = Position {
                topic: "fuzz",
                partition: 0,
                offset: inputs as i64,
            };
            outcome::emit(fate, *stream, at, &mut counts);
            counted_inputs += 1;
        }
        let counted: u64 = counts.events.iter().flatten().sum();
        assert_eq!(
            counted, counted_inputs,
            "an input was not counted exactly once"
        );
        // The small-topics fold too: decode, validate, fold, count.
        let records: Vec<SmallRecord<'_>> = batch
            .iter()
            .filter(|(_, _, s)| s.is_small())
            .enumerate()
            .map(|(i, (input, h, stream))| SmallRecord {
                topic: "fuzz",
                stream: *stream,
                partition: 0,
                offset: i as i64,
                payload: input,
                headers: *h,
            })
            .collect();
        let counters = Counters::default();
        let folded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            fold_small_records(&states, &records, 65_536, now, &counters)
        }));
        assert!(
            folded.is_ok(),
            "the small-topics fold panicked (seed {seed})"
        );
        let total: u64 = Stream::ALL
            .iter()
            .filter(|s| s.is_small())
            .flat_map(|s| Outcome::ALL.iter().map(|o| counters.events(*s, *o)))
            .sum();
        assert_eq!(
            total,
            records.len() as u64,
            "a folded record was not counted exactly once"
        );
    }
    eprintln!("fuzz: {inputs} inputs in {secs} s from seed {seed}, {decoded_ok} decoded");
    assert!(inputs > 1000, "the fuzzer barely ran: {inputs} inputs");
}
