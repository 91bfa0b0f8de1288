//! valuepulse: real-time DORA metrics from Kafka, served to Prometheus.
#![forbid(unsafe_code)]

pub mod config;
pub mod domain;
pub mod ingest;
pub mod telemetry;
