//! Kafka in: consumers, replay positioning, readiness and decoding.

pub mod consumer;
pub mod decode;
pub mod kafka;
pub mod progress;
mod stream;
pub mod usage;

pub use stream::Stream;
