//! Telemetry out: metric names, ingest counters, the scrape-time collector
//! and log setup.

pub mod collector;
pub mod counters;
pub mod logging;
pub mod names;
