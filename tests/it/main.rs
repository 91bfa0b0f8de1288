//! The integration tests: one test crate (one binary to link, not one per
//! file), one module per area, against a real Kafka broker that
//! `deploy/test.sh` starts. Run one module with
//! `cargo test --test it dora_e2e::` (with the broker's addresses in the
//! environment: `deploy/test.sh --test it dora_e2e::` sets them).
//!
//! - [`common`]: the shared harness (the broker's address, topics,
//!   producers, the daemon as a child process, scrape parsing) and the
//!   lock that keeps disruptive tests apart from the others
//!   ([`common::isolation`]: every test takes it), and the builders of
//!   native events on the daemon's wire types ([`common::events`]);
//! - [`fault`]: the fault suite's harness (a broker of a test's own, a TCP
//!   proxy, the oracle), also used by the corpus and secrets tests;
//! - the bad-input corpus they read is `tests/corpus/`.

#![allow(
    clippy::unreadable_literal,
    reason = "ids and numbers copied from providers' documented payloads read as the providers print them"
)]
#![allow(
    clippy::format_push_string,
    clippy::format_collect,
    reason = "test diagnostics and request builders, not a hot path: format! reads best"
)]
#![allow(
    clippy::items_after_statements,
    reason = "a scenario's helper types and constants are declared where the scenario uses them"
)]

mod common;
mod fault;

mod admin_tls;
mod adoption_e2e;
mod alert_e2e;
mod attribution_e2e;
mod bridge_abuse;
mod bridge_e2e;
mod bridge_gitops;
mod bridge_work;
mod budget_e2e;
mod cdevents_e2e;
mod cluster_e2e;
mod corpus_e2e;
mod deploy_checks;
mod dora_e2e;
mod emit_e2e;
mod fault_e2e;
mod fuzz_decoders;
mod http_abuse;
mod lead_time_e2e;
mod lifecycle;
mod memory;
mod page_e2e;
mod pulse_delivery;
mod pulse_e2e;
mod pulse_history;
mod rollout;
mod scrape_under_load;
mod secrets_sasl;
mod soak;
mod value_stream_e2e;
