//! The sparse form of a [`SlidingHll`](super::SlidingHll): a map from a
//! nonzero `u32` key to the latest second it was seen, stored as `u64`
//! slots (`key << 32 | second`) in one power-of-two array with linear
//! probing.
//!
//! Why not a general-purpose hash map: a lookup here is a cache miss on the
//! hot path of every usage event, and keeping key and value in the same
//! 8-byte slot, beside the next slots probed, makes it one miss where a map
//! with separate control bytes takes two. (Introduced together with dense
//! minute days, it took `cargo bench --bench adoption`'s random-order
//! decode + fold from 1 082 to 716 ns an event, interleaved, load about 2.)
//! Deletion shifts later entries back (no tombstones), so pruning costs
//! only the entries it removes.

/// An empty slot (keys are never 0).
const EMPTY: u64 = 0;

/// What an insert changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// The key was not held.
    New,
    /// The key was held at this earlier second, now replaced.
    Later(u32),
    /// The key was held at the same or a later second: nothing changed.
    Unchanged,
}

/// Keys to latest seconds.
#[derive(Debug, Clone, Default)]
pub struct SparseTable {
    /// `key << 32 | second`, or [`EMPTY`]; length 0 or a power of two.
    slots: Vec<u64>,
    len: usize,
}

impl SparseTable {
    #[inline]
    fn home(&self, key: u32) -> usize {
        let mask = self.slots.len() - 1;
        (u64::from(key).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize & mask
    }

    /// Asks the CPU to start fetching the slot where the probe for `key`
    /// starts (see [`super::SlidingHll::prefetch`]).
    #[inline]
    pub fn prefetch(&self, key: u32) {
        if !self.slots.is_empty() {
            prefetch_index::prefetch_index(&self.slots, self.home(key));
        }
    }

    /// Records `key` seen at `at`: keeps the later second.
    #[inline]
    pub fn insert(&mut self, key: u32, at: u32) -> Inserted {
        debug_assert_ne!(key, 0, "keys are nonzero");
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let mut i = self.home(key);
        loop {
            let s = self.slots[i];
            if s == EMPTY {
                self.slots[i] = (u64::from(key) << 32) | u64::from(at);
                self.len += 1;
                return Inserted::New;
            }
            if (s >> 32) as u32 == key {
                let held = s as u32;
                if held < at {
                    self.slots[i] = (u64::from(key) << 32) | u64::from(at);
                    return Inserted::Later(held);
                }
                return Inserted::Unchanged;
            }
            i = (i + 1) & mask;
        }
    }

    #[cold]
    fn grow(&mut self) {
        let cap = (self.slots.len() * 2).max(8);
        let old = std::mem::replace(&mut self.slots, vec![EMPTY; cap]);
        self.len = 0;
        for s in old.into_iter().filter(|s| *s != EMPTY) {
            self.insert((s >> 32) as u32, s as u32);
        }
    }

    /// The latest second of `key`, if held.
    pub fn get(&self, key: u32) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut i = self.home(key);
        loop {
            let s = self.slots[i];
            if s == EMPTY {
                return None;
            }
            if (s >> 32) as u32 == key {
                return Some(s as u32);
            }
            i = (i + 1) & mask;
        }
    }

    /// Removes every key last seen before `horizon`, calling `removed` with
    /// the second of each.
    pub fn retain_since(&mut self, horizon: u32, mut removed: impl FnMut(u32)) {
        let expired: Vec<u64> = self
            .slots
            .iter()
            .copied()
            .filter(|s| *s != EMPTY && (*s as u32) < horizon)
            .collect();
        for s in expired {
            self.remove((s >> 32) as u32);
            removed(s as u32);
        }
        if self.len == 0 {
            self.slots = Vec::new();
        } else if self.len * 8 < self.slots.len() && self.slots.len() > 8 {
            let keep: Vec<u64> = self.slots.iter().copied().filter(|s| *s != EMPTY).collect();
            let cap = (self.len * 2).next_power_of_two().max(8);
            self.slots = vec![EMPTY; cap];
            self.len = 0;
            for s in keep {
                self.insert((s >> 32) as u32, s as u32);
            }
        }
    }

    /// Removes `key`, shifting later entries of its probe run back.
    fn remove(&mut self, key: u32) {
        let mask = self.slots.len() - 1;
        let mut i = self.home(key);
        loop {
            let s = self.slots[i];
            if s == EMPTY {
                return;
            }
            if (s >> 32) as u32 == key {
                break;
            }
            i = (i + 1) & mask;
        }
        // Backward-shift deletion: move each later entry of the run into
        // the hole when its home is not between the hole and itself.
        let mut hole = i;
        let mut j = (i + 1) & mask;
        loop {
            let s = self.slots[j];
            if s == EMPTY {
                break;
            }
            let home = self.home((s >> 32) as u32);
            // Distance from home to j, and from home to the hole, cyclically.
            if (j.wrapping_sub(home) & mask) >= (j.wrapping_sub(hole) & mask) {
                self.slots[hole] = s;
                hole = j;
            }
            j = (j + 1) & mask;
        }
        self.slots[hole] = EMPTY;
        self.len -= 1;
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// `(key, latest second)` of every entry, in no order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.slots
            .iter()
            .filter(|s| **s != EMPTY)
            .map(|s| ((s >> 32) as u32, *s as u32))
    }

    /// The latest second of every entry, in no order.
    pub fn seconds(&self) -> impl Iterator<Item = u32> + '_ {
        self.slots
            .iter()
            .filter(|s| **s != EMPTY)
            .map(|s| *s as u32)
    }

    /// Heap bytes of the slot array.
    pub fn heap_bytes(&self) -> usize {
        self.slots.capacity() * 8
    }
}

#[cfg(test)]
mod tests;
