//! Kafka in: the two consumer loops, replay positioning, readiness, the
//! decode seam, and the fold of each batch into state with its outcomes
//! counted and logged.
//!
//! | module | job |
//! |---|---|
//! | [`small_topics`] | the small-topics loop: assigns every partition of deploys, incidents, work items and satisfaction |
//! | [`usage`] | the feature-usage loop: consumer group, rebalance callback |
//! | [`replay`] | where an assigned partition starts and ends its replay |
//! | [`kafka`] | client properties, the logging context, batch polling |
//! | [`fold`] | one batch of plain records folded into state (no Kafka) |
//! | [`pipeline`] | usage: polling on one thread, decode and fold on a worker |
//! | [`record_queue`] | usage: records read in batches from a queue of the loop's own (the crate's one `unsafe` module) |
//! | [`decode`] | the seam from wire formats (native v1, CDEvents) to domain events |
//! | [`outcome`] | one internal event per record: counted and logged |
//! | [`shards`] | this process's adoption state, one shard per owned partition |
//! | [`budget`] | what state weighs, and what happens near `limits.max_state_bytes` |
//! | [`progress`] | replay progress, readiness and heartbeats |

pub mod budget;
pub mod decode;
pub mod fold;
pub mod kafka;
pub mod outcome;
pub mod pipeline;
pub mod progress;
pub mod record_queue;
pub mod replay;
pub mod shards;
pub mod small_topics;
pub mod usage;

/// Re-exported from the domain, where it lives (config names topics by it).
pub use crate::domain::Stream;
