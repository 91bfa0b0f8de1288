//! valuepulse: real-time DORA metrics from Kafka, served to Prometheus.
//!
//! Data flows one way:
//!
//! ```text
//! Kafka ──► ingest (rdkafka consumers, batches) ──► decode (borrowed serde, validate)
//!       ──► domain state (pure, clock injected) ──► telemetry (collector at scrape) ──► http
//! ```
//!
//! | module | job |
//! |---|---|
//! | [`config`] | typed, layered, validated configuration |
//! | [`domain`] | events, windows, DORA maths and tiers: pure, no I/O |
//! | [`ingest`] | Kafka consumers, replay positioning, readiness, decoding |
//! | [`telemetry`] | metric names, counters, the scrape-time collector, logs |
//! | [`http`] | `/metrics`, `/livez`, `/readyz` |
//! | [`app`] | task wiring and ordered shutdown |
//! | [`demo`] | embedded broker + generator + daemon for a first look |
//! | [`emit`] | `valuepulse emit`: publish one validated event (native or CDEvents) |
//! | [`loadgen`] | `valuepulse loadgen`: publish a seeded benchmark dataset fast |
#![forbid(unsafe_code)]

pub mod app;
pub mod config;
pub mod demo;
pub mod domain;
pub mod emit;
pub mod http;
pub mod ingest;
pub mod loadgen;
pub mod telemetry;
