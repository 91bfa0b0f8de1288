//! The usage pipeline: polling on one thread, folding on
//! `ingest.fold_workers` others.
//!
//! The consumer loop's thread only reads librdkafka (in batches,
//! [`super::record_queue`]) and copies each record's payload into a batch ([`Pipeline::push`]; one buffer per batch, reused); fold
//! worker threads decode and fold whole batches with
//! [`fold_usage_records`], so fetching, polling and folding overlap across
//! cores, which is what keeps librdkafka's prefetch queue from filling up and
//! its fetcher from backing off.
//!
//! - **By partition**: a partition's records always go to the same worker
//!   ([`Router`]: the worker with the fewest partitions when the partition is
//!   first seen, then that one for good). Partitions are independent state
//!   (one shard each), so workers share no lock on the hot path but the
//!   feature table's, held only to look up ids.
//! - **Order**: each worker takes its batches in the order they were polled,
//!   so each partition's records are folded in offset order.
//! - **Offsets**: the offsets folded go back to the polling thread, the
//!   only one that touches the consumer and replay progress: it stores them
//!   and advances progress ([`super::kafka::advance_progress`]). A
//!   partition's offsets come from its one worker, in order, and only for
//!   what was folded.
//! - **Bounded**: at most [`IN_FLIGHT`] batches per worker are queued or
//!   being folded; when a worker falls behind, polling waits, and
//!   librdkafka's own queue limits (`queued.max.messages.kbytes`) bound what
//!   it prefetches.
//! - **No allocation per record**: batch buffers travel back to the poller
//!   to be refilled.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::thread::JoinHandle;

use super::fold::{NextOffset, UsageRecord, fold_usage_records};
use super::outcome::Counters;
use super::shards::AdoptionShared;
use crate::domain::Millis;

/// Batches queued for, or being folded by, each worker.
pub const IN_FLIGHT: usize = 4;

/// One polled record, its payload in the batch's buffer.
#[derive(Debug, Clone, Copy)]
struct Slot {
    partition: i32,
    offset: i64,
    generation: u64,
    start: usize,
    end: usize,
}

/// Records copied out of librdkafka, ready to cross to the worker.
#[derive(Debug, Default)]
struct OwnedBatch {
    data: Vec<u8>,
    slots: Vec<Slot>,
}

impl OwnedBatch {
    /// Appends a record (an absent payload is an empty one).
    #[inline]
    fn push(&mut self, partition: i32, offset: i64, generation: u64, payload: &[u8]) {
        let start = self.data.len();
        self.data.extend_from_slice(payload);
        self.slots.push(Slot {
            partition,
            offset,
            generation,
            start,
            end: self.data.len(),
        });
    }

    /// Records held.
    fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether no record is held.
    fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Per partition, the offset after its last record in the batch.
    fn last_offsets(&self) -> Vec<(i32, i64)> {
        let mut out: Vec<(i32, i64)> = Vec::new();
        for s in &self.slots {
            match out.iter_mut().find(|(p, _)| *p == s.partition) {
                Some((_, o)) => *o = (*o).max(s.offset + 1),
                None => out.push((s.partition, s.offset + 1)),
            }
        }
        out
    }

    /// Empties the batch, keeping its buffers.
    fn clear(&mut self) {
        self.data.clear();
        self.slots.clear();
    }

    /// The records as the fold takes them.
    fn records<'a>(&'a self, out: &mut Vec<UsageRecord<'a>>) {
        out.clear();
        out.extend(self.slots.iter().map(|s| UsageRecord {
            partition: s.partition,
            offset: s.offset,
            generation: s.generation,
            payload: &self.data[s.start..s.end],
        }));
    }
}

/// What the worker needs.
pub struct FoldContext {
    /// Adoption state.
    pub shared: Arc<AdoptionShared>,
    /// Outcome counters.
    pub counters: Arc<Counters>,
    /// The usage topic.
    pub topic: String,
    /// `limits.max_event_bytes`.
    pub max_bytes: usize,
    /// Source of "now".
    pub clock: fn() -> Millis,
}

/// Which worker folds each partition. A partition seen for the first time
/// goes to the worker with the fewest partitions so far, and stays with it
/// for the life of the pipeline, across rebalances: a partition that moved
/// between workers could have a later batch folded before an earlier one
/// still queued on its old worker, and those earlier records would then
/// count as duplicates. Balanced by what this replica owns, not by the
/// partition number: with 4 partitions over 2 replicas a replica often owns
/// two of the same parity.
#[derive(Debug)]
struct Router {
    /// Per partition number, its worker (`usize::MAX`: not seen yet).
    of: Vec<usize>,
    /// Partitions given to each worker.
    load: Vec<usize>,
}

impl Router {
    /// A router over `workers` workers (at least one).
    fn new(workers: usize) -> Self {
        Self {
            of: Vec::new(),
            load: vec![0; workers.max(1)],
        }
    }

    /// The worker that folds `partition`.
    #[inline]
    fn worker(&mut self, partition: i32) -> usize {
        let p = usize::try_from(partition).unwrap_or(0);
        if let Some(&w) = self.of.get(p)
            && w != usize::MAX
        {
            return w;
        }
        self.assign(p)
    }

    #[cold]
    fn assign(&mut self, p: usize) -> usize {
        let w = (0..self.load.len())
            .min_by_key(|&w| self.load[w])
            .unwrap_or(0);
        self.load[w] += 1;
        if self.of.len() <= p {
            self.of.resize(p + 1, usize::MAX);
        }
        self.of[p] = w;
        w
    }
}

/// The polling side of the pipeline.
pub struct Pipeline {
    /// Towards each worker.
    to_workers: Vec<SyncSender<OwnedBatch>>,
    /// The batch being filled for each worker.
    filling: Vec<OwnedBatch>,
    /// Which worker each partition's records go to.
    router: Router,
    /// Emptied batches coming back for reuse.
    free: Receiver<OwnedBatch>,
    /// Offsets folded, to store.
    done: Receiver<Vec<(i32, i64)>>,
    workers: Vec<JoinHandle<()>>,
}

impl Pipeline {
    /// Starts `workers` fold workers (at least one).
    pub fn start(ctx: FoldContext, workers: usize) -> std::io::Result<Self> {
        // Bounded towards each worker (backpressure); the way back carries
        // at most one message per batch submitted, drained by every poll
        // round, so it never blocks a worker (which could deadlock with a
        // poller waiting in `submit`).
        let (give_back, free) = channel::<OwnedBatch>();
        let (report, done) = channel::<Vec<(i32, i64)>>();
        let ctx = Arc::new(ctx);
        let mut to_workers = Vec::new();
        let mut handles = Vec::new();
        for n in 0..workers.max(1) {
            let (to_worker, inbox) = sync_channel::<OwnedBatch>(IN_FLIGHT);
            let (ctx, give_back, report) = (ctx.clone(), give_back.clone(), report.clone());
            handles.push(
                std::thread::Builder::new()
                    .name(format!("valuepulse-fold-{n}"))
                    .spawn(move || work(&ctx, &inbox, &give_back, &report))?,
            );
            to_workers.push(to_worker);
        }
        let filling = (0..to_workers.len())
            .map(|_| OwnedBatch::default())
            .collect();
        Ok(Self {
            router: Router::new(to_workers.len()),
            filling,
            to_workers,
            free,
            done,
            workers: handles,
        })
    }

    /// Adds a polled record (an absent payload is an empty one) to the
    /// batch of its partition's worker.
    #[inline]
    pub fn push(&mut self, partition: i32, offset: i64, generation: u64, payload: &[u8]) {
        let w = self.router.worker(partition);
        self.filling[w].push(partition, offset, generation, payload);
    }

    /// Hands each worker the records pushed for it since the last call;
    /// waits while [`IN_FLIGHT`] batches are already queued for a worker.
    /// Returns, per partition, the offset after its last record handed over.
    pub fn submit(&mut self) -> Vec<(i32, i64)> {
        let mut polled = Vec::new();
        for (slot, tx) in self.filling.iter_mut().zip(&self.to_workers) {
            if slot.is_empty() {
                continue;
            }
            polled.extend(slot.last_offsets());
            // A batch the worker gave back, emptied, when there is one.
            let spare = self.free.try_recv().unwrap_or_default();
            if tx.send(std::mem::replace(slot, spare)).is_err() {
                tracing::error!("A fold worker has stopped; dropping a usage batch.");
            }
        }
        polled
    }

    /// Offsets folded since the last call, per partition, to store and to
    /// advance progress to.
    pub fn folded(&self) -> impl Iterator<Item = (i32, i64)> + '_ {
        self.done.try_iter().flatten()
    }

    /// Lets the workers fold what is queued, then stops them.
    pub fn stop(mut self) {
        self.to_workers.clear();
        for w in self.workers.drain(..) {
            if w.join().is_err() {
                tracing::error!("A fold worker panicked.");
            }
        }
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        self.to_workers.clear();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

/// A worker: folds its batches in order until the poller hangs up.
fn work(
    ctx: &FoldContext,
    inbox: &Receiver<OwnedBatch>,
    give_back: &Sender<OwnedBatch>,
    report: &Sender<Vec<(i32, i64)>>,
) {
    while let Ok(mut batch) = inbox.recv() {
        // One allocation per batch, none per record.
        let mut records = Vec::with_capacity(batch.len());
        batch.records(&mut records);
        let offsets: Vec<(i32, i64)> = fold_usage_records(
            &ctx.shared,
            &ctx.topic,
            &records,
            ctx.max_bytes,
            (ctx.clock)(),
            &ctx.counters,
        )
        .iter()
        .map(|n: &NextOffset<'_>| (n.partition, n.offset))
        .collect();
        drop(records);
        let _ = report.send(offsets);
        batch.clear();
        let _ = give_back.send(batch);
    }
}

#[cfg(test)]
mod tests;
