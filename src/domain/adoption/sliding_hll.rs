//! A sliding-window distinct-count sketch: HyperLogLog whose registers keep,
//! instead of one maximum, the short list of `(time, rank)` pairs that can
//! still be the maximum of some window ending now (Chabchoub & Hébrail,
//! "Sliding HyperLogLog", 2010: the "list of possible future maxima"; Twitter
//! Algebird's `HyperLogLogSeries` keeps the same information per rank).
//!
//! One sketch answers *every* window up to the retained horizon, each at its
//! exact edge to the second: the register value of the window
//! `[edge, now]` is the rank of the oldest entry whose time is at or after
//! `edge` (ranks strictly decrease with time in the list, so that entry holds
//! the largest rank in the window).
//!
//! # Representation, and why
//!
//! - **Sparse** while small: a map from a 25-bit index plus the rank of the
//!   remaining 39 hash bits (HyperLogLog++'s sparse encoding, `p' = 25`) to
//!   the latest time it was seen ([`SparseTable`]: one cache line per
//!   lookup). A window's count is linear counting over `2^25` registers of
//!   the keys seen at or after its edge: exact barring a collision of two
//!   users' 25-bit indexes (probability about `n / 2^26` per user), so small
//!   features are counted exactly. 10.7–21 bytes a user (8-byte slots, load
//!   between 3/8 and 3/4).
//! - **Dense** once the sparse map would outgrow it: `2^14` registers (the
//!   precision of valuepulse's previous sketches, standard error
//!   `1.04/√16384 ≈ 0.81 %`), each a fixed slot of [`SLOTS`] packed entries
//!   (26-bit time offset + 6-bit rank in a `u32`), 512 KiB a sketch. The
//!   list of a register is as long as the number of distinct descending
//!   ranks among its users by recency: 3.6 on average at 1 M users per
//!   sketch, more than 8 for about 5 registers in 100 000 (simulated). When
//!   a ninth entry would be needed, the oldest entry is dropped, which can
//!   only lower the estimate of windows reaching back before the second
//!   oldest entry: negligible below about 4 M distinct users per sketch.
//! - Estimates use Ertl's improved raw estimator ("New cardinality
//!   estimation algorithms for HyperLogLog sketches", 2017), unbiased over
//!   the whole range without empirical bias tables.
//!
//! Time is kept in whole seconds; an event at millisecond `t` is at second
//! `t.div_euclid(1000)`. Entries older than the retained horizon are dropped
//! by [`SlidingHll::prune`].
//!
//! The report reads a sketch with [`SlidingHll::estimate_tracked`], which
//! keeps what the estimate is made of up to date between reports
//! ([`tracked`]), so a report pays for what changed since the last one.

mod tracked;

use prefetch_index::prefetch_index;

use self::tracked::Tracked;
use super::sparse_table::{Inserted, SparseTable};

/// Dense precision: `2^14` registers.
pub const PRECISION: u32 = 14;
/// Sparse precision (HyperLogLog++'s `p'`).
pub const SPARSE_PRECISION: u32 = 25;
/// Entries a dense register holds.
pub const SLOTS: usize = 8;

const REGISTERS: usize = 1 << PRECISION;
/// Largest dense rank: `64 - p + 1`.
const MAX_RANK: u32 = 64 - PRECISION + 1;
/// Bits of the time offset in a packed dense entry.
const TIME_BITS: u32 = 26;
const TIME_MASK: u32 = (1 << TIME_BITS) - 1;
/// Bytes of the dense register array.
pub const DENSE_BYTES: usize = REGISTERS * SLOTS * 4;

/// Seconds since the Unix epoch, as stored.
pub type Seconds = u32;

/// The second holding millisecond `t` (clamped to the `u32` range).
#[inline]
pub fn second_of(t_ms: i64) -> Seconds {
    t_ms.div_euclid(1000).clamp(0, i64::from(u32::MAX)) as Seconds
}

/// Sparse key of a hash: the top 25 bits, then the rank (leading zeros + 1)
/// of the remaining 39 bits in the low 6 bits.
#[inline]
fn sparse_key(hash: u64) -> u32 {
    let index = (hash >> (64 - SPARSE_PRECISION)) as u32;
    let rest = hash << SPARSE_PRECISION;
    let rank = (rest.leading_zeros() + 1).min(64 - SPARSE_PRECISION + 1);
    (index << 6) | rank
}

/// Dense register and rank of a sparse key (the same as computing them from
/// the hash directly).
#[inline]
fn dense_of_sparse(key: u32) -> (usize, u32) {
    let index = key >> 6;
    let sparse_rank = key & 0x3f;
    let low_bits = SPARSE_PRECISION - PRECISION;
    let register = (index >> low_bits) as usize;
    let low = index & ((1 << low_bits) - 1);
    let rank = if low != 0 {
        // Leading zeros of `low` as a `low_bits`-bit number, plus one.
        low.leading_zeros() - (32 - low_bits) + 1
    } else {
        low_bits + sparse_rank
    };
    (register, rank)
}

/// Dense register and rank of a hash.
#[inline]
fn dense_of_hash(hash: u64) -> (usize, u32) {
    let register = (hash >> (64 - PRECISION)) as usize;
    let rest = hash << PRECISION;
    (register, (rest.leading_zeros() + 1).min(MAX_RANK))
}

/// A sliding-window distinct-count sketch.
#[derive(Debug, Clone)]
pub struct SlidingHll {
    repr: Repr,
    /// The estimate's parts at the last tracked report's edges, kept up to
    /// date; `None` until one, or after what the tracking cannot follow.
    tracked: Option<Box<Tracked>>,
}

/// Keys from which a sparse sketch is tracked; below, a full read costs
/// about as much as following it.
const TRACK_FROM: usize = 256;

#[derive(Debug, Clone)]
enum Repr {
    Sparse(SparseTable),
    Dense(Box<Dense>),
}

/// `2^14` registers of [`SLOTS`] packed entries, ascending by time (rank
/// strictly descending); an empty slot is 0 (a real entry has rank ≥ 1).
#[derive(Debug, Clone)]
struct Dense {
    /// Time offsets are relative to this second.
    base: Seconds,
    slots: Box<[Register]>,
}

/// One dense register's entries, aligned to its 32 bytes so that it never
/// straddles two cache lines: an insert touches one line of the sketch.
/// (With the allocator's 16-byte alignment, every other register straddled
/// two.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C, align(32))]
struct Register([u32; SLOTS]);

impl std::ops::Deref for Register {
    type Target = [u32; SLOTS];

    #[inline]
    fn deref(&self) -> &[u32; SLOTS] {
        &self.0
    }
}

impl std::ops::DerefMut for Register {
    #[inline]
    fn deref_mut(&mut self) -> &mut [u32; SLOTS] {
        &mut self.0
    }
}

impl Default for SlidingHll {
    fn default() -> Self {
        Self::new()
    }
}

impl SlidingHll {
    /// An empty sketch.
    pub fn new() -> Self {
        Self {
            repr: Repr::Sparse(SparseTable::default()),
            tracked: None,
        }
    }

    /// Records a user (its 64-bit hash) seen at second `at`.
    #[inline]
    pub fn insert(&mut self, hash: u64, at: Seconds) {
        match &mut self.repr {
            Repr::Sparse(map) => {
                let key = sparse_key(hash);
                let inserted = map.insert(key, at);
                if let Some(t) = &mut self.tracked {
                    match inserted {
                        Inserted::New => t.sparse_inserted(key, None, at),
                        Inserted::Later(before) => t.sparse_inserted(key, Some(before), at),
                        Inserted::Unchanged => {}
                    }
                }
                if map.heap_bytes() > DENSE_BYTES {
                    self.densify(at);
                }
            }
            Repr::Dense(d) => {
                let (register, rank) = dense_of_hash(hash);
                if let Some(t) = &mut self.tracked {
                    if d.needs_rebase(at) {
                        self.tracked = None;
                    } else {
                        t.dense_touch(register, &d.slots[register], d.base);
                    }
                }
                d.insert(register, rank, at);
            }
        }
    }

    /// Asks the CPU to start fetching what [`Self::insert`] of `hash` will
    /// touch (the dense register, or the sparse slot the probe starts at),
    /// without waiting for it: a hint, which changes nothing.
    #[inline]
    pub fn prefetch(&self, hash: u64) {
        match &self.repr {
            Repr::Sparse(map) => map.prefetch(sparse_key(hash)),
            Repr::Dense(d) => prefetch_index(&d.slots, dense_of_hash(hash).0),
        }
    }

    #[cold]
    #[inline(never)]
    fn densify(&mut self, at: Seconds) {
        let Repr::Sparse(map) = &self.repr else {
            return;
        };
        let oldest = map.seconds().min().unwrap_or(at);
        let mut dense = Dense::new(oldest);
        // Oldest first, so each insert is an append in the common case.
        let mut entries: Vec<(Seconds, u32)> = map.iter().map(|(k, t)| (t, k)).collect();
        entries.sort_unstable();
        for (t, key) in entries {
            let (register, rank) = dense_of_sparse(key);
            dense.insert(register, rank, t);
        }
        self.repr = Repr::Dense(Box::new(dense));
        self.tracked = None;
    }

    /// Drops what only matters before second `horizon`.
    pub fn prune(&mut self, horizon: Seconds) {
        match &mut self.repr {
            Repr::Sparse(map) => match &mut self.tracked {
                Some(t) => map.retain_since(horizon, |at| t.sparse_removed(at)),
                None => map.retain_since(horizon, |_| {}),
            },
            Repr::Dense(d) => d.prune(horizon, self.tracked.as_deref_mut()),
        }
    }

    /// Whether the sketch holds nothing.
    pub fn is_empty(&self) -> bool {
        match &self.repr {
            Repr::Sparse(map) => map.is_empty(),
            Repr::Dense(d) => d.slots.iter().all(|r| r[0] == 0),
        }
    }

    /// Whether the sketch is in its dense form.
    pub fn is_dense(&self) -> bool {
        matches!(self.repr, Repr::Dense(_))
    }

    /// Estimated distinct users seen at or after each of `edges` (seconds),
    /// in the same order, written to `out`.
    pub fn estimate(&self, edges: &[Seconds], out: &mut [f64]) {
        assert_eq!(edges.len(), out.len(), "one output per edge");
        for (e, o) in edges.chunks(MAX_EDGES).zip(out.chunks_mut(MAX_EDGES)) {
            self.estimate_some(e, o);
        }
    }

    /// [`Self::estimate`], exactly, at the cost of what changed since the
    /// last call: the sketch's changes and the entries the edges passed.
    /// The first call, and a call with other edges than the last (another
    /// number of them, one moved back, or one moved far), read the whole
    /// sketch once. Calls should come from one report schedule: two callers
    /// with different edges would each rebuild every time.
    pub fn estimate_tracked(&mut self, edges: &[Seconds], out: &mut [f64]) {
        assert_eq!(edges.len(), out.len(), "one output per edge");
        let worth = match &self.repr {
            Repr::Sparse(map) => map.len() >= TRACK_FROM,
            Repr::Dense(_) => true,
        };
        if !worth || edges.len() > MAX_EDGES {
            self.tracked = None;
            self.estimate(edges, out);
            return;
        }
        let moved = match (&self.repr, self.tracked.as_deref_mut()) {
            (Repr::Sparse(map), Some(t)) => t.refresh_sparse(map, edges),
            (Repr::Dense(d), Some(t)) => t.refresh_dense(d, edges),
            (_, None) => false,
        };
        if !moved {
            let keeps = Tracked::keeps_for(self.tracked.as_deref(), edges);
            self.tracked = Some(Box::new(match &self.repr {
                Repr::Sparse(map) => Tracked::build_sparse(map, edges, &keeps),
                Repr::Dense(d) => Tracked::build_dense(d, edges, &keeps),
            }));
        }
        let t = self.tracked.as_deref().expect("tracked just now");
        match t.dense_histograms() {
            Some(hists) => {
                for (o, h) in out.iter_mut().zip(hists) {
                    *o = ertl_estimate(h);
                }
            }
            None => {
                for (o, seen) in out.iter_mut().zip(t.sparse_seen()) {
                    *o = linear_counting(1 << SPARSE_PRECISION, seen as f64);
                }
            }
        }
    }

    /// [`Self::estimate`] for at most [`MAX_EDGES`] edges.
    fn estimate_some(&self, edges: &[Seconds], out: &mut [f64]) {
        match &self.repr {
            Repr::Sparse(map) => {
                let mut seen = [0u64; MAX_EDGES];
                for t in map.seconds() {
                    for (e, s) in edges.iter().zip(seen.iter_mut()) {
                        *s += u64::from(t >= *e);
                    }
                }
                for (o, s) in out.iter_mut().zip(seen) {
                    *o = linear_counting(1 << SPARSE_PRECISION, s as f64);
                }
            }
            Repr::Dense(d) => d.estimate(edges, out),
        }
    }

    /// Approximate heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        let tracked = self
            .tracked
            .as_ref()
            .map_or(0, |t| t.heap_bytes() + 4 * super::MALLOC_OVERHEAD);
        tracked
            + match &self.repr {
                Repr::Sparse(map) if map.heap_bytes() == 0 => 0,
                Repr::Sparse(map) => map.heap_bytes() + super::MALLOC_OVERHEAD,
                Repr::Dense(_) => {
                    DENSE_BYTES + std::mem::size_of::<Dense>() + 2 * super::MALLOC_OVERHEAD
                }
            }
    }
}

/// Edges evaluated in one pass over a sketch.
pub const MAX_EDGES: usize = 16;

/// Linear counting: `m ln(m / (m - seen))`.
fn linear_counting(m: u64, seen: f64) -> f64 {
    let m = m as f64;
    if seen <= 0.0 {
        0.0
    } else if seen >= m {
        m * m.ln()
    } else {
        m * (m / (m - seen)).ln()
    }
}

impl Dense {
    fn new(base: Seconds) -> Self {
        Self {
            base,
            slots: vec![Register([0; SLOTS]); REGISTERS].into_boxed_slice(),
        }
    }

    /// Whether `at` is outside the times the packed entries can hold.
    #[inline]
    fn needs_rebase(&self, at: Seconds) -> bool {
        at < self.base || at - self.base > TIME_MASK
    }

    #[inline]
    fn pack(&self, rank: u32, at: Seconds) -> u32 {
        ((at - self.base) << 6) | rank
    }

    /// Makes `at` representable: an older time moves the base down, a time
    /// beyond the 26-bit range moves it up (dropping entries below it).
    #[cold]
    #[inline(never)]
    fn rebase(&mut self, at: Seconds) {
        let new_base = if at < self.base {
            at
        } else {
            at - TIME_MASK / 2
        };
        let old = self.base;
        for reg in &mut self.slots {
            let mut kept = [0u32; SLOTS];
            let mut n = 0;
            for &e in reg.iter().take_while(|e| **e != 0) {
                let t = old + (e >> 6);
                if t >= new_base && t - new_base <= TIME_MASK {
                    kept[n] = ((t - new_base) << 6) | (e & 0x3f);
                    n += 1;
                }
            }
            reg.0 = kept;
        }
        self.base = new_base;
    }

    #[inline]
    fn insert(&mut self, register: usize, rank: u32, at: Seconds) {
        if self.needs_rebase(at) {
            self.rebase(at);
        }
        let entry = self.pack(rank, at);
        let reg = &mut self.slots[register];
        let len = reg.iter().position(|e| *e == 0).unwrap_or(SLOTS);
        // First entry at or after `at`: every later entry has a smaller
        // rank than it, so it alone decides whether the new one is dominated.
        let after = reg[..len].iter().position(|e| (e >> 6) >= (entry >> 6));
        let i = after.unwrap_or(len);
        if i < len && (reg[i] & 0x3f) >= rank {
            return;
        }
        // Entries before `i` with a rank ≤ the new one are dominated by it
        // (older and not larger): a suffix of `[0, i)`. So are entries of
        // the very same second with a smaller rank: a prefix of `[i, len)`.
        let k = reg[..i]
            .iter()
            .position(|e| (e & 0x3f) <= rank)
            .unwrap_or(i);
        let j = i + reg[i..len]
            .iter()
            .take_while(|e| (**e >> 6) == (entry >> 6))
            .count();
        // Result: reg[..k], entry, reg[j..len].
        let tail = len - j;
        let new_len = k + 1 + tail;
        let mut out = [0u32; SLOTS + 1];
        out[..k].copy_from_slice(&reg[..k]);
        out[k] = entry;
        out[k + 1..new_len].copy_from_slice(&reg[j..len]);
        // A full register drops its oldest entry.
        let start = new_len.saturating_sub(SLOTS);
        let mut next = [0u32; SLOTS];
        next[..new_len - start].copy_from_slice(&out[start..new_len]);
        reg.0 = next;
    }

    /// Drops entries before `horizon`, telling `tracked` of each register
    /// before it changes.
    fn prune(&mut self, horizon: Seconds, mut tracked: Option<&mut Tracked>) {
        if horizon <= self.base {
            return;
        }
        let cut = horizon - self.base;
        for (r, reg) in self.slots.iter_mut().enumerate() {
            if reg[0] == 0 || (reg[0] >> 6) >= cut {
                continue;
            }
            if let Some(t) = tracked.as_deref_mut() {
                t.dense_touch(r, reg, self.base);
            }
            let drop = reg
                .iter()
                .take_while(|e| **e != 0 && (**e >> 6) < cut)
                .count();
            let mut next = [0u32; SLOTS];
            next[..SLOTS - drop].copy_from_slice(&reg[drop..]);
            reg.0 = next;
        }
    }

    fn estimate(&self, edges: &[Seconds], out: &mut [f64]) {
        // Register value histogram per edge.
        let mut hist = vec![[0u32; MAX_RANK as usize + 1]; edges.len()];
        let rel: Vec<u32> = edges.iter().map(|&e| e.saturating_sub(self.base)).collect();
        let any_before: Vec<bool> = edges.iter().map(|&e| e < self.base).collect();
        for reg in &self.slots {
            for (w, &edge) in rel.iter().enumerate() {
                let rank = if any_before[w] {
                    reg[0] & 0x3f
                } else {
                    reg.iter()
                        .take_while(|e| **e != 0)
                        .find(|e| (**e >> 6) >= edge)
                        .map_or(0, |e| e & 0x3f)
                };
                hist[w][rank as usize] += 1;
            }
        }
        for (o, h) in out.iter_mut().zip(&hist) {
            *o = ertl_estimate(h);
        }
    }
}

/// Ertl's improved raw estimator over a register-value histogram `c`
/// (`c[k]` registers hold value `k`, `k` in `0..=q + 1`, `q = 64 - p`).
fn ertl_estimate(c: &[u32]) -> f64 {
    let m = REGISTERS as f64;
    let q = (MAX_RANK - 1) as usize;
    let mut z = m * tau(1.0 - f64::from(c[q + 1]) / m);
    for k in (1..=q).rev() {
        z = 0.5 * (z + f64::from(c[k]));
    }
    z += m * sigma(f64::from(c[0]) / m);
    let alpha_inf = 1.0 / (2.0 * std::f64::consts::LN_2);
    alpha_inf * m * m / z
}

fn sigma(mut x: f64) -> f64 {
    if x >= 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let previous = z;
        z += x * y;
        y += y;
        if z == previous {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let previous = z;
        y *= 0.5;
        z -= (1.0 - x).powi(2) * y;
        if z == previous {
            return z / 3.0;
        }
    }
}

#[cfg(test)]
mod tests;
