//! The usage loop's batch read: its partitions' records reach it through a
//! queue of its own, taken up to `ingest.batch_size` at a time with one call
//! into librdkafka (`rd_kafka_consume_batch_queue`), not one poll each.
//!
//! Why: a poll per record costs the polling thread about as much as
//! fetching does (librdkafka reads the clock three times per record as it
//! pops its queue, rust-rdkafka once more, and each record is an event of
//! its own). A batch read halves the client's CPU per record
//! (BENCHMARKS.md, "The batch read").
//!
//! How, and what keeps each partition's order exact:
//! - Records are read from a queue of our own, never from the consumer
//!   queue: a batch read serves every other event it meets itself, and
//!   would answer a rebalance with librdkafka's default assignment instead
//!   of the loop's (positions by time, fresh shards). Rebalances, errors
//!   and statistics stay on the consumer queue, which the loop still polls.
//! - A partition's fetch queue is forwarded here in the rebalance callback,
//!   *before* the partition is assigned ([`RecordQueue::take`]). A forward
//!   made by the application marks the fetch queue (librdkafka's
//!   `RD_KAFKA_Q_F_FWD_APP`), and from then on starting to fetch never
//!   forwards it to the consumer queue. So all of a partition's records
//!   come through this one queue, in offset order; none is ever left on the
//!   consumer queue to be folded out of turn.
//! - Stopping a partition's fetch (a revocation) clears its forward, in
//!   librdkafka's broker thread, and that can land just after the next
//!   assignment's forward. The records then wait in the partition's own
//!   queue, still in order, until the next forward moves them here:
//!   [`RecordReader::refresh`] forwards the taken partitions again on every
//!   loop pass for a while after each rebalance, then once a second.
//! - Records of a revoked partition still queued here are dropped by
//!   librdkafka (their fetch version is outdated), as on the consumer queue.
//! - One thread serves both queues: the consumer queue without waiting,
//!   until no event is left on it ([`RecordReader::events_waiting`]), then
//!   the batch queue, waiting up to the loop's poll interval for a first
//!   record. An event that arrives meanwhile is served at most that
//!   interval late (100 ms; librdkafka allows a rebalance minutes).
//!
//! The FFI is here and nowhere else: this is the one module of the crate
//! allowed `unsafe` (`Cargo.toml` denies it everywhere else). Each block
//! says what keeps it sound. The queue must be destroyed before the client
//! that made it: [`RecordReader`] borrows the consumer, and hands the
//! queue back from the consumer's context when dropped.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::ptr::NonNull;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::bindings as rdsys;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;

use super::shards::lock;

/// How long after a rebalance the taken partitions are forwarded again on
/// every loop pass (covers a fetch stop that lands after the forward).
const EAGER_AFTER_REBALANCE: Duration = Duration::from_secs(2);
/// How often they are forwarded again otherwise.
const REFRESH_EVERY: Duration = Duration::from_secs(1);

/// A queue of our own that the usage topic's assigned partitions forward
/// their records to. Shared by the rebalance callback (which forwards) and
/// the loop's [`RecordReader`] (which reads, and alone destroys the queue:
/// a reference kept past the reader only finds it gone).
pub struct RecordQueue {
    /// The client the queue belongs to, as an address: only compared, so
    /// that no other client's partitions are forwarded here.
    client: usize,
    topic: CString,
    state: Mutex<Forwarding>,
}

/// What the callback and the reader share, under one lock.
struct Forwarding {
    /// The queue; `None` once the reader destroyed it.
    queue: Option<NonNull<rdsys::rd_kafka_queue_t>>,
    /// Partitions forwarded here at their assignment and not revoked since.
    taken: Vec<i32>,
}

// SAFETY: a librdkafka queue may be used from any thread (each operation
// takes the queue's own lock), and the pointer is only read under the
// mutex that holds it.
unsafe impl Send for Forwarding {}

impl RecordQueue {
    /// Forwards the fetch queues of `partitions` here and remembers them.
    /// Call it in the rebalance callback, before the partitions are
    /// assigned. Returns the partitions that could not be forwarded (their
    /// records then come through the consumer queue, all of them: such a
    /// partition is never forwarded later).
    pub fn take<C: ConsumerContext>(
        &self,
        consumer: &BaseConsumer<C>,
        partitions: &[i32],
    ) -> Vec<i32> {
        let mut state = lock(&self.state);
        let mut failed = Vec::new();
        for &p in partitions {
            if self.forward(&state, consumer, p) {
                if !state.taken.contains(&p) {
                    state.taken.push(p);
                }
            } else {
                failed.push(p);
            }
        }
        failed
    }

    /// Forgets revoked partitions (librdkafka clears their forward as it
    /// stops fetching them).
    pub fn release(&self, partitions: &[i32]) {
        lock(&self.state).taken.retain(|p| !partitions.contains(p));
    }

    /// Forwards the taken partitions again.
    fn forward_taken<C: ConsumerContext>(&self, consumer: &BaseConsumer<C>) {
        let state = lock(&self.state);
        for &p in &state.taken {
            self.forward(&state, consumer, p);
        }
    }

    /// Forwards one partition's fetch queue here; whatever it holds moves
    /// here first, in order. False if the queue is gone, `consumer` is not
    /// the queue's client, or librdkafka has no such partition.
    fn forward<C: ConsumerContext>(
        &self,
        state: &Forwarding,
        consumer: &BaseConsumer<C>,
        partition: i32,
    ) -> bool {
        let client = consumer.client().native_ptr();
        let Some(queue) = state.queue.filter(|_| client as usize == self.client) else {
            return false;
        };
        // SAFETY: the client pointer is valid while `consumer` is borrowed,
        // and it is the queue's own client; the queue is alive while the
        // lock `state` came from is held (the reader destroys it under
        // that lock). `topic` is a NUL-terminated string that outlives the
        // call. The partition queue returned is a new handle, destroyed
        // here; the forward it sets lives on in librdkafka's partition,
        // with its own reference to our queue.
        unsafe {
            let partition_queue =
                rdsys::rd_kafka_queue_get_partition(client, self.topic.as_ptr(), partition);
            if partition_queue.is_null() {
                return false;
            }
            rdsys::rd_kafka_queue_forward(partition_queue, queue.as_ptr());
            rdsys::rd_kafka_queue_destroy(partition_queue);
        }
        true
    }
}

/// What a consumer context gives the reader: the slot the callback forwards
/// through.
pub trait HasRecordQueue {
    /// The slot: `Some` while a [`RecordReader`] is installed.
    fn record_queue(&self) -> &Mutex<Option<Arc<RecordQueue>>>;
}

/// One record of a batch, borrowed from librdkafka until the batch ends.
pub struct Record<'a> {
    message: &'a rdsys::rd_kafka_message_t,
}

impl Record<'_> {
    /// The record's partition.
    pub fn partition(&self) -> i32 {
        self.message.partition
    }

    /// The record's offset.
    pub fn offset(&self) -> i64 {
        self.message.offset
    }

    /// The record's value (an absent one is empty).
    pub fn payload(&self) -> &[u8] {
        if self.message.payload.is_null() || self.message.len == 0 {
            return &[];
        }
        // SAFETY: librdkafka's message holds `len` bytes at `payload` until
        // it is destroyed, which happens only after the batch's records
        // are handed out (`Batch`'s drop), and `self` borrows the batch.
        unsafe { std::slice::from_raw_parts(self.message.payload as *const u8, self.message.len) }
    }

    /// The record's timestamp in milliseconds, if it has one.
    pub fn timestamp(&self) -> Option<i64> {
        let mut kind = rdsys::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
        // SAFETY: the message is valid (as above); `kind` is a local.
        let t = unsafe { rdsys::rd_kafka_message_timestamp(self.message, &raw mut kind) };
        (kind != rdsys::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_NOT_AVAILABLE && t >= 0)
            .then_some(t)
    }
}

/// Messages returned by one read; destroyed when dropped, even if handing
/// them out panicked.
struct Batch<'b>(&'b [*mut rdsys::rd_kafka_message_t]);

impl Drop for Batch<'_> {
    fn drop(&mut self) {
        for &m in self.0 {
            // SAFETY: each pointer was returned by
            // `rd_kafka_consume_batch_queue` and is destroyed once, here.
            unsafe { rdsys::rd_kafka_message_destroy(m) }
        }
    }
}

/// The loop's side: installs a [`RecordQueue`] in the consumer's context,
/// reads it in batches, and takes it back out and destroys it when
/// dropped, before the consumer can be.
pub struct RecordReader<'c, C: ConsumerContext + HasRecordQueue> {
    consumer: &'c BaseConsumer<C>,
    shared: Arc<RecordQueue>,
    /// The queue itself, alive until this reader drops.
    queue: NonNull<rdsys::rd_kafka_queue_t>,
    /// A handle on the consumer queue, to see whether events wait there.
    events: NonNull<rdsys::rd_kafka_queue_t>,
    messages: Vec<*mut rdsys::rd_kafka_message_t>,
    generation: u64,
    eager_until: Instant,
    last_refresh: Instant,
}

impl<'c, C: ConsumerContext + HasRecordQueue> RecordReader<'c, C> {
    /// Makes the queue for `topic`'s records and installs it in the
    /// consumer's context; `None` if librdkafka cannot make one (the loop
    /// then reads every record through the consumer queue, as before).
    /// Install it before subscribing, so that every assignment forwards.
    pub fn install(consumer: &'c BaseConsumer<C>, topic: &str) -> Option<Self> {
        let topic = CString::new(topic).ok()?;
        let client = consumer.client().native_ptr();
        // SAFETY: the client pointer is valid while `consumer` is borrowed,
        // and this reader borrows it for as long as either handle lives.
        // Each handle is destroyed once, by the reader's drop.
        let events = NonNull::new(unsafe { rdsys::rd_kafka_queue_get_consumer(client) })?;
        let Some(queue) = NonNull::new(unsafe { rdsys::rd_kafka_queue_new(client) }) else {
            // SAFETY: made just above, destroyed once.
            unsafe { rdsys::rd_kafka_queue_destroy(events.as_ptr()) };
            return None;
        };
        let shared = Arc::new(RecordQueue {
            client: client as usize,
            topic,
            state: Mutex::new(Forwarding {
                queue: Some(queue),
                taken: Vec::new(),
            }),
        });
        *lock(consumer.context().record_queue()) = Some(shared.clone());
        let now = Instant::now();
        Some(Self {
            consumer,
            shared,
            queue,
            events,
            messages: Vec::new(),
            generation: 0,
            eager_until: now,
            last_refresh: now,
        })
    }

    /// Whether events (rebalances, errors, statistics) wait on the
    /// consumer queue: the loop polls it until none do, then waits on the
    /// batch queue.
    pub fn events_waiting(&self) -> bool {
        // SAFETY: the handle is alive until the reader drops.
        unsafe { rdsys::rd_kafka_queue_length(self.events.as_ptr()) > 0 }
    }

    /// Forwards the taken partitions again: on every pass for a while after
    /// a rebalance (`generation` changed), then once a second.
    pub fn refresh(&mut self, generation: u64) {
        let now = Instant::now();
        if generation != self.generation {
            self.generation = generation;
            self.eager_until = now + EAGER_AFTER_REBALANCE;
        }
        if now >= self.eager_until && now.duration_since(self.last_refresh) < REFRESH_EVERY {
            return;
        }
        self.last_refresh = now;
        self.shared.forward_taken(self.consumer);
    }

    /// Reads up to `max` records, waiting up to `wait` for the first (and
    /// not for more), and hands each to `take`: a record, or a partition's
    /// consume error. Returns how many were handed.
    pub fn read(
        &mut self,
        max: usize,
        wait: Duration,
        mut take: impl FnMut(Result<Record<'_>, KafkaError>),
    ) -> usize {
        let max = max.max(1);
        // Room for `max` pointers, made once (librdkafka writes them).
        self.messages.resize(max, std::ptr::null_mut());
        let mut n = self.call(0, max, 0);
        if n == 0 && !wait.is_zero() {
            // A batch read waits until its batch is full: wait for one
            // record only, then take what else is there at once.
            let ms = i32::try_from(wait.as_millis()).unwrap_or(i32::MAX);
            n = self.call(0, 1, ms);
            if n == 1 {
                n += self.call(1, max - 1, 0);
            }
        }
        let batch = Batch(&self.messages[..n]);
        for &m in batch.0 {
            // SAFETY: a non-null message from librdkafka, valid until
            // `batch` drops.
            let message = unsafe { &*m };
            if message.err == rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
                take(Ok(Record { message }));
            } else {
                take(Err(consume_error(message)));
            }
        }
        n
    }

    /// One batch call into `messages[from..from + len]`, waiting up to
    /// `timeout_ms` for the batch to fill; how many it wrote.
    fn call(&mut self, from: usize, len: usize, timeout_ms: i32) -> usize {
        if len == 0 {
            return 0;
        }
        // SAFETY: the queue is alive until this reader drops, and the
        // client is borrowed; `messages[from..from + len]` is writable
        // space for `len` pointers, each of which we destroy after reading.
        let got = unsafe {
            rdsys::rd_kafka_consume_batch_queue(
                self.queue.as_ptr(),
                timeout_ms,
                self.messages.as_mut_ptr().add(from),
                len,
            )
        };
        usize::try_from(got).unwrap_or(0).min(len)
    }
}

impl<C: ConsumerContext + HasRecordQueue> Drop for RecordReader<'_, C> {
    fn drop(&mut self) {
        // The context's reference goes first; ours, the last, destroys the
        // queue while the consumer is still alive (borrowed by `self`).
        lock(self.consumer.context().record_queue()).take();
        // Out of the shared state first, under the lock every forward
        // holds while it uses the queue: a `RecordQueue` kept past the
        // reader finds it gone.
        lock(&self.shared.state).queue = None;
        // SAFETY: both made by `install`, destroyed once, here, while the
        // consumer is alive (borrowed by `self`), and no forward can reach
        // the queue any more. Partitions still forwarding to it keep the
        // underlying queue (disabled, emptied) until they stop.
        unsafe {
            rdsys::rd_kafka_queue_destroy(self.queue.as_ptr());
            rdsys::rd_kafka_queue_destroy(self.events.as_ptr());
        }
    }
}

/// A partition's consume error, as rust-rdkafka reports one from a poll.
fn consume_error(message: &rdsys::rd_kafka_message_t) -> KafkaError {
    match message.err {
        rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR__PARTITION_EOF => {
            KafkaError::PartitionEOF(message.partition)
        }
        e => KafkaError::MessageConsumption(e.into()),
    }
}

#[cfg(test)]
mod tests;
