//! Kafka in: consumers, replay positioning, readiness and decoding.

pub mod decode;
