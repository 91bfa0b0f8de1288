//! Replay positioning: where each assigned partition starts so that
//! replaying the log rebuilds state, and where its replay ends.
//!
//! A partition starts at the first offset whose timestamp is at or after
//! the horizon (`now − longest window − grace`, from `offsets_for_times`),
//! never before its low watermark; when no record is that recent it starts
//! at the end. Its replay target is the high watermark captured now. Both
//! consumer loops position partitions here: the DORA loop before `assign`,
//! the usage loop inside the rebalance callback (the offsets go into the
//! assignment itself, never a seek after it).

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::{Offset, TopicPartitionList};

use super::progress::{Assignment, UNKNOWN_TARGET};
use crate::domain::Millis;

/// What positioning does when the broker cannot answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// Return the error: the caller retries (the DORA loop, with backoff).
    Fail,
    /// Go on with less: without offsets by time every partition replays
    /// from its low watermark (slower, never wrong: older records are
    /// dropped as late); without watermarks a partition's replay target is
    /// [`UNKNOWN_TARGET`], and the process stays unready until the loop
    /// learns it. Each is logged. For the usage rebalance callback, which
    /// cannot wait.
    Degrade,
}

/// Why positioning failed (only with [`OnError::Fail`], or when stopped).
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// `offsets_for_times` failed.
    #[error("cannot look up offsets by time: {0}")]
    OffsetsForTimes(KafkaError),
    /// A watermark lookup failed.
    #[error("cannot read the high watermark of {topic}[{partition}]: {source}")]
    Watermarks {
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
        /// The client's error.
        source: KafkaError,
    },
    /// `before_each` asked to stop (shutdown).
    #[error("shutting down")]
    Cancelled,
}

/// Positions each `(topic, partition)` for replay from `horizon`. Each
/// lookup may take up to `timeout`; `before_each` runs before each
/// partition's watermark lookup (to beat a heartbeat) and stops positioning
/// when it returns false.
///
/// The watermarks are read before the offsets by time, never after: a
/// partition with no record at or after the horizon starts at its high
/// watermark, and a high watermark read later could pass records produced
/// in between (a new partition written while it is being assigned lost
/// them in CI). Read first, it can only be early, and records between it
/// and the lookup are older than the horizon, read and dropped as late.
pub fn position_by_time<C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
    partitions: &[(String, i32)],
    horizon: Millis,
    timeout: Duration,
    on_error: OnError,
    mut before_each: impl FnMut() -> bool,
) -> Result<Vec<Assignment>, ReplayError> {
    // Nothing to position (an empty assignment: the cooperative protocol's
    // first round often is); librdkafka refuses an empty lookup.
    if partitions.is_empty() {
        return Ok(Vec::new());
    }
    let mut watermarks = Vec::with_capacity(partitions.len());
    for (topic, partition) in partitions {
        if !before_each() {
            return Err(ReplayError::Cancelled);
        }
        let partition = *partition;
        watermarks.push(match consumer.fetch_watermarks(topic, partition, timeout) {
            Ok(w) => Some(w),
            Err(source) if on_error == OnError::Fail => {
                return Err(ReplayError::Watermarks {
                    topic: topic.clone(),
                    partition,
                    source,
                });
            }
            Err(err) => {
                tracing::warn!(topic, partition, error = %err, "Cannot read the watermarks; not ready until they are known.");
                None
            }
        });
    }
    let mut query = TopicPartitionList::new();
    for (topic, partition) in partitions {
        query
            .add_partition_offset(topic, *partition, Offset::Offset(horizon))
            .expect("offset is valid");
    }
    let found = match consumer.offsets_for_times(query, timeout) {
        Ok(found) => Some(found),
        Err(e) if on_error == OnError::Fail => return Err(ReplayError::OffsetsForTimes(e)),
        Err(e) => {
            tracing::warn!(error = %e, "Cannot look up offsets by time; replaying from the beginning.");
            None
        }
    };
    let mut entries = Vec::with_capacity(partitions.len());
    for ((topic, partition), watermarks) in partitions.iter().zip(watermarks) {
        let partition = *partition;
        // A partition whose own lookup failed (its leader not known yet,
        // say) is treated as a failed lookup, never as "no record that
        // recent", which would start it at the end and pass its records.
        let by_time = match found
            .as_ref()
            .and_then(|f| f.find_partition(topic, partition))
        {
            Some(p) => match p.error() {
                Ok(()) => Some(p.offset()),
                Err(e) if on_error == OnError::Fail => {
                    return Err(ReplayError::OffsetsForTimes(e));
                }
                Err(e) => {
                    tracing::warn!(topic, partition, error = %e, "Cannot look up this partition's offset by time; replaying it from the beginning.");
                    None
                }
            },
            None => None,
        };
        entries.push(place(topic, partition, by_time, watermarks));
    }
    Ok(entries)
}

/// Where a partition's replay starts and ends, from its offset by time
/// (`None`: the lookup failed) and its `(low, high)` watermarks (`None`:
/// unknown).
pub fn place(
    topic: &str,
    partition: i32,
    by_time: Option<Offset>,
    watermarks: Option<(i64, i64)>,
) -> Assignment {
    let (low, high) = watermarks.unwrap_or((0, UNKNOWN_TARGET));
    let start = match by_time {
        Some(Offset::Offset(o)) => o.max(low),
        // No record at or after the horizon: start at the end.
        Some(_) if watermarks.is_some() => high,
        // ... whose offset is not known yet: librdkafka's "end" (-1); the
        // consumer's position says where that is once it fetched.
        Some(_) => -1,
        None => low,
    };
    // The log may have lost records after the horizon when it starts where
    // we start (and something was deleted before): nothing older than the
    // horizon is left to prove it reaches back far enough.
    let may_be_truncated = watermarks.is_some()
        && low > 0
        && match by_time {
            Some(Offset::Offset(o)) => o <= low,
            Some(_) => false,
            None => true,
        };
    Assignment {
        topic: topic.to_owned(),
        partition,
        start,
        target: high,
        may_be_truncated,
    }
}

/// Sets the start offset of each assigned partition in `tpl`.
pub fn set_start_offsets(tpl: &mut TopicPartitionList, entries: &[Assignment]) {
    for e in entries {
        let offset = if e.start < 0 {
            Offset::End
        } else {
            Offset::Offset(e.start)
        };
        tpl.set_partition_offset(&e.topic, e.partition, offset)
            .expect("partition is in the list");
    }
}

#[cfg(test)]
mod tests;
