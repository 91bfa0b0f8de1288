//! Telemetry out: the reporter thread that computes a report
//! ([`crate::report`]) off the ingest path, encodes it through the views
//! ([`crate::views`]) and shares the snapshot with every scrape; log setup;
//! and the counts of TLS certificate reloads that the admin server and the
//! bridge export. Nothing in ingest, the report step or the domain imports
//! it.

pub mod logging;
pub mod snapshot;
pub mod tls_reloads;
