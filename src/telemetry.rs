//! Telemetry out: the reporter thread that computes a report
//! ([`crate::report`]) off the ingest path, encodes it through the views
//! ([`crate::views`]) and shares the snapshot with every scrape; and log
//! setup. Nothing in ingest, the report step or the domain imports it.

pub mod logging;
pub mod snapshot;
