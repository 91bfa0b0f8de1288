//! Tracked estimates: what a sketch's estimate at a set of edges is made of,
//! kept up to date as the sketch changes, so that the next report pays for
//! what changed since the last one instead of reading the whole sketch.
//!
//! A window's estimate depends only on which entries are at or after its
//! edge. Between two reports that set changes in two ways, and both are
//! followed here:
//!
//! - **The sketch changes.** A sparse insert or removal moves the count of
//!   keys at or after each edge at once. A dense register that is about to
//!   change (an insert, a prune) is marked dirty, and its value at each edge
//!   is taken out of that edge's register histogram; the next report puts
//!   its new value back. A rebase of the dense times or the switch from
//!   sparse to dense drops the tracking, and the next report rebuilds it.
//! - **The edges move** (a second later, every second). Only the entries
//!   the edge passes change anything. For each edge, the tracking keeps the
//!   few entries just after it (`upcoming`, sorted by time) and the second
//!   below which that list is complete. A report whose edge has passed only
//!   listed entries updates those; one whose edge went beyond the complete
//!   part, moved back, or came with other edges rebuilds the tracking with
//!   one full read of the sketch.
//!
//! Both forms give exactly the figures of a full read
//! ([`SlidingHll::estimate`](super::SlidingHll::estimate)): the same counts
//! and histograms go into the same estimators (tested against it through
//! random inserts, prunes and edge moves).

use super::{Dense, MAX_RANK, SLOTS, Seconds};
use crate::domain::adoption::sparse_table::SparseTable;

/// Listed entries kept per edge after a trim, at first. An edge that
/// passes beyond its list doubles it at the rebuild, up to [`MOST_KEPT`]:
/// a dense sketch holds about `16 384 / age` entries a second at an edge
/// `age` seconds back (0.19 at one day, 4.6 at one hour), so a report every
/// second needs a list of a few seconds' entries.
const KEEP: usize = 8;
/// The most listed entries kept per edge after a trim.
const MOST_KEPT: usize = 1024;
/// Values a dense register can hold (0 for none, then ranks).
const VALUES: usize = MAX_RANK as usize + 1;
/// Words of a dense sketch's dirty bitmap, one bit a register.
const DIRTY_WORDS: usize = (1 << super::PRECISION) / 64;

/// The tracked state of one sketch at its last report's edges.
#[derive(Debug, Clone)]
pub(super) struct Tracked {
    edges: Vec<Edge>,
    /// Present when the sketch is dense.
    dense: Option<Box<DenseTrack>>,
}

/// One edge.
#[derive(Debug, Clone)]
struct Edge {
    /// The edge (absolute second) the figures below are at.
    at: Seconds,
    /// Every entry (sparse key, or dense register by its value's entry)
    /// whose second is in `[at, complete_below)` is in `upcoming`.
    complete_below: Seconds,
    /// Entries just after the edge, ascending by second. Sparse: the key,
    /// valid while the key is still held at that second. Dense: the
    /// register `<< 8 |` its value, valid while the register is not dirty.
    upcoming: Vec<Upcoming>,
    /// The second of `upcoming`'s first entry (`Seconds::MAX` when empty),
    /// so that a report whose edge passed nothing does not read the list.
    next_at: Seconds,
    /// Sparse only: keys at or after the edge.
    seen: u64,
    /// Entries the list keeps when trimmed (it is trimmed at twice this).
    keep: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Upcoming {
    at: Seconds,
    id: u32,
}

/// A dense sketch's register histogram per edge, and its dirty registers.
#[derive(Debug, Clone)]
struct DenseTrack {
    /// Per edge: registers by value.
    hist: Vec<[u32; VALUES]>,
    /// Registers changed since the histograms last counted them.
    dirty: Box<[u64; DIRTY_WORDS]>,
    /// Whether any bit of `dirty` is set.
    any_dirty: bool,
}

impl Edge {
    /// Edges at `edges`, each keeping its entry of `keeps`.
    fn all(edges: &[Seconds], keeps: &[usize]) -> Vec<Self> {
        edges
            .iter()
            .zip(keeps)
            .map(|(&e, &k)| Self::new(e, k))
            .collect()
    }

    fn new(at: Seconds, keep: usize) -> Self {
        Self {
            at,
            complete_below: Seconds::MAX,
            upcoming: Vec::new(),
            next_at: Seconds::MAX,
            seen: 0,
            keep,
        }
    }

    /// Sets `next_at` after a change of `upcoming`.
    fn listed(&mut self) {
        self.next_at = self.upcoming.first().map_or(Seconds::MAX, |u| u.at);
    }

    /// Lists `u` if it is before the complete part's end, trimming the list
    /// when it grows past twice `keep`.
    fn offer(&mut self, u: Upcoming) {
        if u.at < self.at || u.at >= self.complete_below {
            return;
        }
        if self.upcoming.capacity() == 0 {
            // Exactly what the list can hold: 17 entries at first, where
            // growing by doubling would allocate 32.
            self.upcoming.reserve_exact(2 * self.keep + 1);
        }
        let i = self.upcoming.partition_point(|x| *x < u);
        if self.upcoming.get(i) == Some(&u) {
            // Listed already (a key removed by a prune and seen again in
            // the same second).
            return;
        }
        self.upcoming.insert(i, u);
        if self.upcoming.len() > 2 * self.keep {
            self.complete_below = self.upcoming[self.keep].at;
            // Entries of that same second go too: the list is complete
            // strictly below it.
            self.upcoming.retain(|x| x.at < self.complete_below);
        }
        self.listed();
    }

    /// Takes the listed entries the edge passes when it moves to `to`.
    fn passed(&mut self, to: Seconds) -> Vec<Upcoming> {
        self.at = to;
        if to <= self.next_at {
            return Vec::new();
        }
        let n = self.upcoming.partition_point(|x| x.at < to);
        let passed = self.upcoming.drain(..n).collect();
        self.listed();
        passed
    }
}

/// The value of a dense register at the edge `rel` (relative to the
/// sketch's base) and the offset of the entry holding it: the oldest entry
/// at or after the edge (ranks strictly decrease with time in a register).
#[inline]
fn select(reg: &[u32; SLOTS], rel: u32) -> (u32, Option<u32>) {
    reg.iter()
        .take_while(|e| **e != 0)
        .find(|e| (**e >> 6) >= rel)
        .map_or((0, None), |e| (e & 0x3f, Some(e >> 6)))
}

/// Counts dense register `r` (`reg`, of a sketch with base `base`) at
/// `edge`, `rel` seconds after the base: its value goes into `hist`, and the
/// entry holding it is offered to the edge's list.
#[inline]
fn count_register(
    edge: &mut Edge,
    hist: &mut [u32; VALUES],
    r: usize,
    reg: &[u32; SLOTS],
    rel: u32,
    base: Seconds,
) {
    let (value, offset) = select(reg, rel);
    hist[value as usize] += 1;
    if let Some(offset) = offset {
        edge.offer(Upcoming {
            at: base + offset,
            id: ((r as u32) << 8) | value,
        });
    }
}

impl Tracked {
    /// Whether these figures can be brought to `edges` by following what
    /// the edges pass: the same edges, none moved back, none beyond its
    /// complete part.
    fn can_move_to(&self, edges: &[Seconds]) -> bool {
        self.edges.len() == edges.len()
            && self
                .edges
                .iter()
                .zip(edges)
                .all(|(e, &to)| to >= e.at && to <= e.complete_below)
    }

    /// The list length each of `edges` should keep at a rebuild: what it
    /// kept, doubled where the edge went beyond its list; [`KEEP`] for a new
    /// set of edges.
    pub(super) fn keeps_for(tracked: Option<&Self>, edges: &[Seconds]) -> Vec<usize> {
        match tracked {
            Some(t) if t.edges.len() == edges.len() => t
                .edges
                .iter()
                .zip(edges)
                .map(|(e, &to)| {
                    if to > e.complete_below {
                        (e.keep * 2).min(MOST_KEPT)
                    } else {
                        e.keep
                    }
                })
                .collect(),
            _ => vec![KEEP; edges.len()],
        }
    }

    /// Heap bytes held.
    pub(super) fn heap_bytes(&self) -> usize {
        let edges: usize = self
            .edges
            .iter()
            .map(|e| size_of::<Edge>() + e.upcoming.capacity() * size_of::<Upcoming>())
            .sum();
        let dense = self.dense.as_ref().map_or(0, |d| {
            size_of::<DenseTrack>() + DIRTY_WORDS * 8 + d.hist.capacity() * VALUES * 4
        });
        size_of::<Self>() + edges + dense
    }

    // ---- Sparse ----

    /// Reads a whole sparse table at `edges`, listing `keeps` entries per
    /// edge ([`Self::keeps_for`]).
    pub(super) fn build_sparse(map: &SparseTable, edges: &[Seconds], keeps: &[usize]) -> Self {
        let mut tracked = Self {
            edges: Edge::all(edges, keeps),
            dense: None,
        };
        for (key, at) in map.iter() {
            for edge in &mut tracked.edges {
                if at >= edge.at {
                    edge.seen += 1;
                    edge.offer(Upcoming { at, id: key });
                }
            }
        }
        tracked
    }

    /// Follows a sparse insert that changed the table: `key` was `before`
    /// (`None`: not held) and is now at `at`.
    #[inline]
    pub(super) fn sparse_inserted(&mut self, key: u32, before: Option<Seconds>, at: Seconds) {
        for edge in &mut self.edges {
            if at >= edge.at {
                if before.is_none_or(|b| b < edge.at) {
                    edge.seen += 1;
                }
                // A listed `before` is now stale: the key is no longer held
                // at that second.
                edge.offer(Upcoming { at, id: key });
            }
        }
    }

    /// Follows the removal of a key held at `at`.
    pub(super) fn sparse_removed(&mut self, at: Seconds) {
        for edge in &mut self.edges {
            if at >= edge.at {
                edge.seen -= 1;
            }
        }
    }

    /// Moves to `edges`; false when it cannot (then rebuild).
    pub(super) fn refresh_sparse(&mut self, map: &SparseTable, edges: &[Seconds]) -> bool {
        if !self.can_move_to(edges) {
            return false;
        }
        for (edge, &to) in self.edges.iter_mut().zip(edges) {
            for u in edge.passed(to) {
                if map.get(u.id) == Some(u.at) {
                    edge.seen -= 1;
                }
            }
        }
        true
    }

    /// Keys at or after each edge, in edge order.
    pub(super) fn sparse_seen(&self) -> impl Iterator<Item = u64> + '_ {
        self.edges.iter().map(|e| e.seen)
    }

    // ---- Dense ----

    /// Reads a whole dense sketch at `edges`, listing `keeps` entries per
    /// edge ([`Self::keeps_for`]).
    pub(super) fn build_dense(d: &Dense, edges: &[Seconds], keeps: &[usize]) -> Self {
        let mut tracked = Self {
            edges: Edge::all(edges, keeps),
            dense: Some(Box::new(DenseTrack {
                hist: vec![[0; VALUES]; edges.len()],
                dirty: Box::new([0; DIRTY_WORDS]),
                any_dirty: false,
            })),
        };
        let rel: Vec<u32> = edges.iter().map(|&e| e.saturating_sub(d.base)).collect();
        let track = tracked.dense.as_mut().expect("just set");
        for (r, reg) in d.slots.iter().enumerate() {
            for ((edge, hist), &rel) in tracked.edges.iter_mut().zip(&mut track.hist).zip(&rel) {
                count_register(edge, hist, r, reg, rel, d.base);
            }
        }
        tracked
    }

    /// Called before register `r` (now `reg`) of a dense sketch with base
    /// `base` changes: the first time since the last report, its values at
    /// the edges leave the histograms until the next report counts it anew.
    #[inline]
    pub(super) fn dense_touch(&mut self, r: usize, reg: &[u32; SLOTS], base: Seconds) {
        let Some(track) = self.dense.as_mut() else {
            return;
        };
        let (word, bit) = (r / 64, 1u64 << (r % 64));
        if track.dirty[word] & bit != 0 {
            return;
        }
        track.dirty[word] |= bit;
        track.any_dirty = true;
        for (edge, hist) in self.edges.iter().zip(&mut track.hist) {
            let (value, _) = select(reg, edge.at.saturating_sub(base));
            hist[value as usize] -= 1;
        }
    }

    /// Moves to `edges` and counts the dirty registers anew; false when it
    /// cannot (then rebuild).
    pub(super) fn refresh_dense(&mut self, d: &Dense, edges: &[Seconds]) -> bool {
        if !self.can_move_to(edges) {
            return false;
        }
        let Some(track) = self.dense.as_mut() else {
            return false;
        };
        let is_dirty = |dirty: &[u64; DIRTY_WORDS], r: usize| dirty[r / 64] & (1 << (r % 64)) != 0;
        for ((edge, hist), &to) in self.edges.iter_mut().zip(&mut track.hist).zip(edges) {
            if track.any_dirty {
                // A dirty register is counted anew below, listed again then.
                edge.upcoming
                    .retain(|u| !is_dirty(&track.dirty, (u.id >> 8) as usize));
                edge.listed();
            }
            let rel = to.saturating_sub(d.base);
            for u in edge.passed(to) {
                // The register leaves the value it had at the old edge.
                hist[(u.id & 0xff) as usize] -= 1;
                let r = (u.id >> 8) as usize;
                count_register(edge, hist, r, &d.slots[r], rel, d.base);
            }
        }
        if track.any_dirty {
            let rel: Vec<u32> = edges.iter().map(|&e| e.saturating_sub(d.base)).collect();
            for (w, word) in track.dirty.iter_mut().enumerate() {
                let mut bits = std::mem::take(word);
                while bits != 0 {
                    let r = w * 64 + bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    let reg = &d.slots[r];
                    for ((edge, hist), &rel) in self.edges.iter_mut().zip(&mut track.hist).zip(&rel)
                    {
                        count_register(edge, hist, r, reg, rel, d.base);
                    }
                }
            }
            track.any_dirty = false;
        }
        true
    }

    /// The register histogram of each edge, in edge order (dense only).
    pub(super) fn dense_histograms(&self) -> Option<&[[u32; VALUES]]> {
        self.dense.as_ref().map(|d| d.hist.as_slice())
    }
}
