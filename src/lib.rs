//! valuepulse: real-time DORA metrics from Kafka, served to Prometheus.
#![forbid(unsafe_code)]

pub mod domain;
pub mod ingest;
