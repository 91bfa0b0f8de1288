//! Telemetry out: metric names, the scrape-time collector and log setup.
//! It reads ingest's counters, progress and state; nothing in ingest or the
//! domain imports it.

pub mod logging;
pub mod names;
pub mod page;
pub mod process;
pub mod render;
pub mod snapshot;
