//! Kafka in: the two consumer loops, replay positioning, readiness, the
//! decode seam, and the fold of each batch into state with its outcomes
//! counted and logged.

pub mod decode;
pub mod dora;
pub mod fold;
pub mod kafka;
pub mod outcome;
pub mod progress;
pub mod replay;
pub mod shards;
mod stream;
pub mod usage;

pub use stream::Stream;
