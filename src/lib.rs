//! valuepulse: real-time DORA metrics and feature adoption from Kafka,
//! served to Prometheus.
//!
//! Read this first. `main.rs` only parses the command line, loads
//! [`config`], sets up logging and calls [`app::run`] with a shutdown
//! future; everything else is this library.
//!
//! # How data flows
//!
//! Two paths in, one path out, all one way:
//!
//! ```text
//! deploys, incidents, ─► ingest::small_topics every partition, assigned; replay::position_by_time
//! work-items,           ─► fold::fold_small_records ─► decode (native v1 | CDEvents)
//! satisfaction          ─► domain::{dora::DoraState, flow::FlowState, satisfaction::SatisfactionState}
//!                          exact event lists, each copied on write, one lock each per batch
//!
//! feature-usage      ─► ingest::usage    consumer group; rebalance: replay::position_by_time
//!                       ─► fold::fold_usage_records ─► decode::decode_usage
//!                       ─► ingest::shards  one domain::adoption::Shard per owned partition
//!
//! every record       ─► ingest::outcome  one internal event: counted per batch, logged
//!
//! report thread      ─► telemetry::snapshot  every report.interval while scraped:
//!                       report::with_reports  state → Reports, read-only: DoraState,
//!                       FlowState, SatisfactionState reports (copy-on-write Arcs, no lock),
//!                       the value delivery score, adoption ReportBuilder (one feature
//!                       under its shard lock at a time), report::Health (outcome
//!                       counters, progress, budget)
//!                       ─► views::metrics ─► encoded text + gzip,
//!                          views::page from the same Reports ─► HTML
//! scrape             ─► http /metrics, /  serve the latest snapshot; never compute
//! /pulse (rare)      ─► pulse::compute::with_pulses  on a blocking thread: both weeks'
//!                       reports from the same states (`report_over`, `as_of`)
//!                       ─► views::pulse (HTML, markdown) or JSON
//! ```
//!
//! On (re)assignment a partition is replayed from `now − longest window −
//! grace`, so state survives restarts without a store; [`ingest::progress`]
//! tracks the replay and gates `/readyz`. The report is computed off the
//! ingest path by one thread and shared by every scrape; nothing updates a
//! metric per event.
//!
//! # Modules
//!
//! | module | job |
//! |---|---|
//! | [`config`] | typed, layered configuration (defaults → file → env), validated once |
//! | [`domain`] | events, windows, label caps, DORA state and report, adoption sketches, quantiles, tiers: pure, clock passed in |
//! | [`ingest`] | the two Kafka consumer loops, replay positioning, readiness, the decode seam, batch folds and record outcomes |
//! | [`report`] | the report step: state and ingest's bookkeeping → one [`report::Reports`], read-only |
//! | [`views`] | `Reports` → bytes: metric names and help texts, the metric families, the value pulse page; a `Pulse` → its page and markdown |
//! | [`pulse`] | the Weekly Value Pulse: its data model (`valuepulse.pulse/v1`), computed per team from the states on request (`/pulse`), and `valuepulse pulse`'s client |
//! | [`telemetry`] | the reporter thread and the snapshot every scrape shares; log setup |
//! | [`clock`] | the wall clock, the one place that reads it |
//! | [`http`] | the admin server: `/` (the page), `/metrics`, `/livez`, `/readyz`, `/pulse`; optional TLS and basic auth from an exporter-toolkit web config |
//! | [`app`] | task wiring: start, wait, ordered drain |
//! | [`emit`] | `valuepulse emit`: publish one validated event (native or CDEvents) |
//! | [`bridge`] | `valuepulse bridge`: webhooks (GitHub, GitLab, PagerDuty, Argo CD, Flux, Jira, Linear) verified, mapped to native v1 and produced |
//! | [`demo`] | `valuepulse demo`: embedded broker, event generator and the daemon |
//! | [`loadgen`] | `valuepulse loadgen`: publish a seeded benchmark dataset fast |
//! | [`rng`] | the one seeded random number generator (SplitMix64) of the demo, loadgen, tests and benches |
//! | `testkit` | unit tests only: one `NOW`, native event builders on the wire types, the `Rng` |
//!
//! # Rules of the house
//!
//! - **Dependencies point one way**: `domain ← ingest ← report ← pulse ←
//!   views ← telemetry ← http ← app`, with [`config`] and [`clock`] beside them.
//!   [`domain`] imports no I/O crate (no tokio, rdkafka, prometheus or
//!   HTTP) and reads no clock: callers pass `now`. [`ingest`] feeds the
//!   domain and owns the state, measuring it for the budget as it folds;
//!   [`report`] only reads ingest's counters, progress and state, and
//!   [`views`] only encode what [`report`] computed.
//!   Module graphs are trees: a child may use its parent's types, nothing
//!   dispatches back into the file that dispatches to it.
//! - **One module-file convention**: a module with children is `foo.rs`
//!   beside a `foo/` folder; there is no `mod.rs`.
//! - **Unit tests** of a module live in a child module declared
//!   `#[cfg(test)] mod tests;` whose file is `tests.rs` in the module's own
//!   directory: `domain/time.rs` → `domain/time/tests.rs`,
//!   `domain/dora.rs` → `domain/dora/tests.rs` (with submodules in
//!   `domain/dora/tests/` when one file is not enough). No `#[path]`, no
//!   inline test bodies. Integration tests are one crate, `tests/it/`
//!   (one module per area), and run against a real Kafka broker.
//! - **Benches call the daemon's code** (the batch folds in
//!   [`ingest::fold`]), never a copy of it.
//! - **Lints** are set in `Cargo.toml` (`unsafe_code` denied, allowed in
//!   one module only: [`ingest::record_queue`], the usage loop's batch read
//!   through librdkafka's C API; `missing_docs`, a short clippy list); CI
//!   denies warnings.

pub mod app;
pub mod bridge;
pub mod clock;
pub mod config;
pub mod demo;
pub mod domain;
pub mod emit;
pub mod http;
pub mod ingest;
pub mod loadgen;
pub mod pulse;
pub mod report;
pub mod rng;
pub mod telemetry;
#[cfg(test)]
pub(crate) mod testkit;
pub mod views;
