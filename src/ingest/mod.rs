//! Kafka in: consumers, replay positioning, readiness and decoding.

pub mod cdevents;
pub mod consumer;
pub mod decode;
pub mod kafka;
pub mod progress;
pub mod timestamp;
pub mod usage;
pub mod usage_scan;
