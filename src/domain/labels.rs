//! Label interning with a cap.
//!
//! Label values (service, team) come from event fields, so their number is
//! bounded by configuration: the first `cap` distinct values get their own id,
//! every later value maps to [`OTHER`] and is counted as an overflow. Looking up
//! a known value borrows the `&str` and allocates nothing.

use rustc_hash::FxHashMap;

/// The label value that absorbs everything beyond the cap.
pub const OTHER: &str = "__other__";

/// Id of an interned label value.
pub type LabelId = u32;

/// Interned values of one label (service, team, feature).
#[derive(Debug, Clone)]
pub struct Labels {
    /// Value → id, for lookups by `&str`. Holds at most `cap + 1` entries, so
    /// the fast, non-keyed hasher cannot be flooded by unknown values.
    ids: FxHashMap<Box<str>, LabelId>,
    /// Id → value, for rendering. Index 0 is always [`OTHER`].
    names: Vec<Box<str>>,
    /// Most distinct values kept, not counting [`OTHER`].
    cap: usize,
    /// Events whose value was folded into [`OTHER`] because of the cap.
    overflow: u64,
}

impl Labels {
    /// Id of [`OTHER`].
    pub const OTHER_ID: LabelId = 0;

    /// An empty table holding at most `cap` distinct values besides
    /// [`OTHER`] (which is pre-interned: a value equal to it maps to
    /// [`Self::OTHER_ID`] without counting as an overflow).
    pub fn new(cap: usize) -> Self {
        let mut ids = FxHashMap::default();
        ids.insert(OTHER.into(), Self::OTHER_ID);
        Self {
            ids,
            names: vec![OTHER.into()],
            cap,
            overflow: 0,
        }
    }

    /// Id of `value` if it is already interned, else [`Self::OTHER_ID`]
    /// (counted as one overflow): for when no new value may be admitted.
    #[inline]
    pub fn intern_known(&mut self, value: &str) -> LabelId {
        if let Some(&id) = self.ids.get(value) {
            id
        } else {
            self.overflow += 1;
            Self::OTHER_ID
        }
    }

    /// Approximate heap bytes held: both maps and the names.
    pub fn heap_bytes(&self) -> usize {
        let names: usize = self.names.iter().map(|n| n.len()).sum();
        self.ids.capacity() * (std::mem::size_of::<(Box<str>, LabelId)>() + 1)
            + self.names.capacity() * std::mem::size_of::<Box<str>>()
            + 2 * names
    }

    /// Id of `value`, interning it if there is room, else [`Self::OTHER_ID`]
    /// (counted as one overflow: call it once per event).
    #[inline]
    pub fn intern(&mut self, value: &str) -> LabelId {
        match self.ids.get(value) {
            Some(&id) => id,
            None => self.intern_new(value),
        }
    }

    #[cold]
    fn intern_new(&mut self, value: &str) -> LabelId {
        if self.names.len() > self.cap {
            self.overflow += 1;
            return Self::OTHER_ID;
        }
        let id = self.names.len() as LabelId;
        self.names.push(value.into());
        self.ids.insert(value.into(), id);
        id
    }

    /// Id of `value` if it is interned; never interns.
    pub fn get(&self, value: &str) -> Option<LabelId> {
        self.ids.get(value).copied()
    }

    /// The value of an id.
    pub fn name(&self, id: LabelId) -> &str {
        &self.names[id as usize]
    }

    /// How many events were folded into [`OTHER`].
    pub fn overflow(&self) -> u64 {
        self.overflow
    }

    /// Interned values, [`OTHER`] included.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Always false: [`OTHER`] is always interned.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

#[cfg(test)]
mod tests;
