//! Usage per minute of event time: how many events, and in which of its 60
//! seconds. It answers exact windowed event counts at a resolution of one
//! minute, and the first use at or after any second exactly, in memory that
//! grows with the minutes that saw usage, never with the number of events.
//!
//! A window `[edge, now]` counts the events of every minute that *ends*
//! after its edge: minute `M` (seconds `[60 M, 60 M + 60)`) counts when
//! `M ≥ ⌊edge / 60⌋`. So a window may include up to 59 seconds of usage just
//! before its edge, never less than the window holds; the distinct-user
//! sketch's edge is exact to the second, so users never exceed events.
//!
//! Layout: one chunk per day that saw usage, with the day's total. Each busy
//! minute is a `[u32; 3]`: its count (with its minute of the day when the day
//! is sparse) and a 60-bit mask of the seconds that saw usage, kept together
//! so an event touches one place. A quiet day is a sorted list of those, 12
//! bytes a busy minute: appending in time order is `O(1)`, an out-of-order
//! event a binary search and a short move; a minute with more than
//! `2^21 − 1` events takes several entries. A busy day (360 busy minutes or
//! more) is an array of 1 440 of them with the events of each hour beside:
//! 17.1 KiB, any order `O(1)`, and a window's count of that day reads at
//! most 24 hours and 59 minutes instead of up to 1 440 minutes.

use std::collections::VecDeque;

use prefetch_index::prefetch_index;

use super::sliding_hll::Seconds;

const MINUTE_BITS: u32 = 11;
const COUNT_BITS: u32 = 32 - MINUTE_BITS;
const COUNT_MAX: u32 = (1 << COUNT_BITS) - 1;
const MINUTES_A_DAY: u32 = 1440;

/// One busy minute: `[count (and minute), seconds 0..32, seconds 32..60]`.
type Entry = [u32; 3];

#[inline]
fn mark(e: &mut Entry, second: u32) {
    if second < 32 {
        e[1] |= 1 << second;
    } else {
        e[2] |= 1 << (second - 32);
    }
}

/// The mask of an entry's seconds, as 60 bits.
#[inline]
fn mask(e: &Entry) -> u64 {
    u64::from(e[1]) | (u64::from(e[2]) << 32)
}

#[derive(Debug, Clone)]
struct Day {
    /// Days since the Unix epoch.
    day: u32,
    /// Events of the whole day.
    total: u64,
    minutes: Minutes,
}

/// A day's minutes.
#[derive(Debug, Clone)]
enum Minutes {
    /// Busy minutes, `e[0] = minute << 21 | count`, ascending by minute.
    Sparse(Vec<Entry>),
    /// Every minute of the day, `e[0] = count`, once [`DENSE_AT`] are busy.
    Dense(Box<DenseDay>),
}

/// A busy day: every minute, and the events of each hour.
#[derive(Debug, Clone)]
struct DenseDay {
    minutes: [Entry; MINUTES_A_DAY as usize],
    hours: [u64; 24],
}

impl DenseDay {
    /// Events of minutes at or after `minute`.
    fn since(&self, minute: u32) -> u64 {
        let hour = minute.div_ceil(60);
        let head: u64 = self.minutes[minute as usize..(hour * 60) as usize]
            .iter()
            .map(|e| u64::from(e[0]))
            .sum();
        head + self.hours[hour as usize..].iter().sum::<u64>()
    }
}

/// Busy minutes from which a day turns dense: an out-of-order insert into
/// the sparse list would move up to 4 KiB, and the list would take a
/// quarter of the dense array.
const DENSE_AT: usize = 360;

impl Day {
    fn new(day: u32) -> Self {
        Self {
            day,
            total: 0,
            minutes: Minutes::Sparse(Vec::new()),
        }
    }

    #[inline]
    fn minute(e: &Entry) -> u32 {
        e[0] >> COUNT_BITS
    }

    #[inline]
    fn count(e: &Entry) -> u32 {
        e[0] & COUNT_MAX
    }

    /// The index of the first entry at or after `minute` in a sparse day's
    /// sorted `entries` (what `partition_point` gives), searched from where
    /// an even spread of the busy minutes over the day would put it, in
    /// steps of 1, 2, 4, … until the answer is bracketed, then by bisection
    /// within the bracket. Usage spread over the day is found within a
    /// cache line or two of the guess, where a bisection of the whole list
    /// would miss the cache at each of its first steps; usage bunched in a
    /// few hours costs a logarithm of the distance.
    #[inline]
    fn lower_bound(entries: &[Entry], minute: u32) -> usize {
        let below = |e: &Entry| Self::minute(e) < minute;
        let n = entries.len();
        let guess = Self::search_start(n, minute);
        let (mut lo, mut hi) = (0, n);
        if guess < n && below(&entries[guess]) {
            lo = guess + 1;
            let mut step = 1;
            while guess + step < n {
                if !below(&entries[guess + step]) {
                    hi = guess + step;
                    break;
                }
                lo = guess + step + 1;
                step *= 2;
            }
        } else {
            hi = guess;
            let mut step = 1;
            while step <= guess {
                if below(&entries[guess - step]) {
                    lo = guess - step + 1;
                    break;
                }
                hi = guess - step;
                step *= 2;
            }
        }
        lo + entries[lo..hi].partition_point(below)
    }

    /// Where [`Self::lower_bound`] starts: `minute`'s share of the day,
    /// as an index into `n` entries (below `n` unless there are none).
    #[inline]
    fn search_start(n: usize, minute: u32) -> usize {
        n * minute.min(MINUTES_A_DAY - 1) as usize / MINUTES_A_DAY as usize
    }

    #[inline]
    fn add(&mut self, minute: u32, second: u32) {
        self.total += 1;
        let entries = match &mut self.minutes {
            Minutes::Dense(day) => {
                let e = &mut day.minutes[minute as usize];
                e[0] = e[0].saturating_add(1);
                mark(e, second);
                day.hours[(minute / 60) as usize] += 1;
                return;
            }
            Minutes::Sparse(entries) => entries,
        };
        // Time order: the last entry, or a new last one.
        if let Some(last) = entries.last_mut() {
            let m = Self::minute(last);
            if m == minute && Self::count(last) < COUNT_MAX {
                last[0] += 1;
                mark(last, second);
                return;
            }
            if m < minute && entries.len() < DENSE_AT {
                let mut e = [(minute << COUNT_BITS) | 1, 0, 0];
                mark(&mut e, second);
                entries.push(e);
                return;
            }
        }
        self.add_out_of_order(minute, second);
    }

    #[cold]
    fn add_out_of_order(&mut self, minute: u32, second: u32) {
        let Minutes::Sparse(entries) = &mut self.minutes else {
            return;
        };
        let i = Self::lower_bound(entries, minute);
        if let Some(e) = entries.get_mut(i)
            && Self::minute(e) == minute
            && Self::count(e) < COUNT_MAX
        {
            e[0] += 1;
            mark(e, second);
            return;
        }
        if entries.len() < DENSE_AT {
            let mut e = [(minute << COUNT_BITS) | 1, 0, 0];
            mark(&mut e, second);
            entries.insert(i, e);
            return;
        }
        #[allow(
            clippy::large_stack_arrays,
            reason = "17 KiB on the stack for a moment, once a day turns busy; \
                      the alternative is a second allocation per busy day"
        )]
        let mut day = Box::new(DenseDay {
            minutes: [[0; 3]; MINUTES_A_DAY as usize],
            hours: [0; 24],
        });
        for e in entries.iter() {
            let m = Self::minute(e);
            let d = &mut day.minutes[m as usize];
            d[0] = d[0].saturating_add(Self::count(e));
            d[1] |= e[1];
            d[2] |= e[2];
            day.hours[(m / 60) as usize] += u64::from(Self::count(e));
        }
        let d = &mut day.minutes[minute as usize];
        d[0] = d[0].saturating_add(1);
        mark(d, second);
        day.hours[(minute / 60) as usize] += 1;
        self.minutes = Minutes::Dense(day);
    }

    /// Events of minutes at or after `minute` of this day.
    fn since(&self, minute: u32) -> u64 {
        match &self.minutes {
            Minutes::Sparse(entries) => {
                let i = Self::lower_bound(entries, minute);
                let sum = |es: &[Entry]| es.iter().map(|e| u64::from(Self::count(e))).sum::<u64>();
                // The shorter side (a sparse day's total is exact).
                if i < entries.len() / 2 {
                    self.total - sum(&entries[..i])
                } else {
                    sum(&entries[i..])
                }
            }
            Minutes::Dense(day) => day.since(minute),
        }
    }

    /// The first busy second of this day at or after second `from` of the
    /// day (`0..86 400`), as a second of the day.
    fn first_use_since(&self, from: u32) -> Option<u32> {
        let (minute, second) = (from / 60, from % 60);
        let first_in = |m: u32, bits: u64| -> Option<u32> {
            let bits = if m == minute {
                bits >> second << second
            } else {
                bits
            };
            (bits != 0).then(|| m * 60 + bits.trailing_zeros())
        };
        match &self.minutes {
            Minutes::Sparse(entries) => {
                let i = Self::lower_bound(entries, minute);
                entries[i..]
                    .iter()
                    .find_map(|e| first_in(Self::minute(e), mask(e)))
            }
            Minutes::Dense(day) => {
                (minute..MINUTES_A_DAY).find_map(|m| first_in(m, mask(&day.minutes[m as usize])))
            }
        }
    }

    /// Drops the minutes before `minute`; true when the day is then empty.
    fn drop_before(&mut self, minute: u32) -> bool {
        let dropped = match &mut self.minutes {
            Minutes::Sparse(entries) => {
                let i = Self::lower_bound(entries, minute);
                let dropped: u64 = entries[..i].iter().map(|e| u64::from(Self::count(e))).sum();
                entries.drain(..i);
                dropped
            }
            Minutes::Dense(day) => {
                let mut dropped = 0;
                for (m, e) in day.minutes[..minute as usize].iter_mut().enumerate() {
                    day.hours[m / 60] -= u64::from(e[0]);
                    dropped += u64::from(e[0]);
                    *e = [0; 3];
                }
                dropped
            }
        };
        self.total -= dropped;
        self.total == 0
    }

    fn heap_bytes(&self) -> usize {
        match &self.minutes {
            Minutes::Sparse(e) if e.capacity() == 0 => 0,
            Minutes::Sparse(e) => e.capacity() * size_of::<Entry>() + super::MALLOC_OVERHEAD,
            Minutes::Dense(_) => size_of::<DenseDay>() + super::MALLOC_OVERHEAD,
        }
    }
}

/// Usage per minute: events and busy seconds, for windowed counts and the
/// first use.
#[derive(Debug, Clone, Default)]
pub struct MinuteCounts {
    /// Ascending by day, no two alike.
    days: VecDeque<Day>,
    /// Events of all days.
    total: u64,
    /// The counts of the last tracked report's edges, kept up to date.
    tracked: EdgeCounts,
}

/// Most edges [`MinuteCounts::since_tracked`] keeps counts for.
const MOST_TRACKED: usize = 4;

/// Events of the minutes at or after each of up to [`MOST_TRACKED`] edge
/// minutes, kept as events come in, inline so that an event touches no
/// other memory for it.
#[derive(Debug, Clone, Default)]
struct EdgeCounts {
    minutes: [u32; MOST_TRACKED],
    counts: [u64; MOST_TRACKED],
    /// Edges tracked; 0 until a tracked report, or after a prune past one.
    len: usize,
}

impl MinuteCounts {
    /// Empty.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the CPU to start fetching this record's own fields that
    /// [`Self::add`] reads: the first stage of
    /// [`Shard::prefetch`](super::Shard::prefetch).
    #[inline]
    pub fn prefetch_header(&self) {
        prefetch_index(std::slice::from_ref(&self.days), 0);
        prefetch_index(std::slice::from_ref(&self.tracked), 0);
    }

    /// Asks the CPU to start fetching the record of the day holding `at`,
    /// where consecutive days would put it (where [`Self::add`] looks
    /// first); reads only this record's header.
    #[inline]
    pub fn prefetch_day(&self, at: Seconds) {
        if let Some(i) = self.consecutive_index(at / 60 / MINUTES_A_DAY)
            && let Some(d) = self.days.get(i)
        {
            prefetch_index(std::slice::from_ref(d), 0);
        }
    }

    /// Asks the CPU to start fetching the minute and the hour that
    /// [`Self::add`] of `at` will count in when its day is busy (an array
    /// of every minute), or where the search of a quiet day's list starts
    /// (`Day::lower_bound`), when the day is where [`Self::prefetch_day`]
    /// guessed.
    #[inline]
    pub fn prefetch_minute(&self, at: Seconds) {
        let minute = at / 60;
        let (day, of_day) = (minute / MINUTES_A_DAY, minute % MINUTES_A_DAY);
        if let Some(i) = self.index_if_consecutive(day) {
            match &self.days[i].minutes {
                Minutes::Dense(dense) => {
                    prefetch_index(dense.minutes.as_slice(), of_day as usize);
                    prefetch_index(dense.hours.as_slice(), (of_day / 60) as usize);
                }
                Minutes::Sparse(entries) if !entries.is_empty() => {
                    prefetch_index(entries, Day::search_start(entries.len(), of_day));
                }
                Minutes::Sparse(_) => {}
            }
        }
    }

    /// Where `day`'s record is when the days held are consecutive: no
    /// search, and unchecked (the index may be past the end, or hold
    /// another day).
    #[inline]
    fn consecutive_index(&self, day: u32) -> Option<usize> {
        let first = self.days.front()?.day;
        Some(day.checked_sub(first)? as usize)
    }

    /// [`Self::consecutive_index`], if `day`'s record is there.
    #[inline]
    fn index_if_consecutive(&self, day: u32) -> Option<usize> {
        let i = self.consecutive_index(day)?;
        (self.days.get(i)?.day == day).then_some(i)
    }

    /// Counts one event at second `at`.
    #[inline]
    pub fn add(&mut self, at: Seconds) {
        self.total += 1;
        let (minute, second) = (at / 60, at % 60);
        let t = &mut self.tracked;
        for (m, c) in t.minutes[..t.len].iter().zip(&mut t.counts[..t.len]) {
            *c += u64::from(minute >= *m);
        }
        let (day, of_day) = (minute / MINUTES_A_DAY, minute % MINUTES_A_DAY);
        // Where consecutive days put it (the newest, in time order): the
        // record `prefetch_day` asked for.
        if let Some(i) = self.index_if_consecutive(day) {
            self.days[i].add(of_day, second);
            return;
        }
        self.add_by_search(day, of_day, second);
    }

    /// An event of a day not where consecutive days would put it (the days
    /// held have a gap): the newest day, else found by binary search, or
    /// inserted.
    fn add_by_search(&mut self, day: u32, of_day: u32, second: u32) {
        if let Some(last) = self.days.back_mut()
            && last.day == day
        {
            last.add(of_day, second);
            return;
        }
        let i = self.days.partition_point(|d| d.day < day);
        if i == self.days.len() || self.days[i].day != day {
            self.days.insert(i, Day::new(day));
        }
        self.days[i].add(of_day, second);
    }

    /// Events of the minutes that end after `edge` (see the module docs).
    ///
    /// It reads the days between the edge and the nearer end: the newest
    /// for a short window, the oldest for the longest, whose edge is close
    /// to the horizon.
    pub fn since(&self, edge: Seconds) -> u64 {
        let minute = edge / 60;
        let (day, of_day) = (minute / MINUTES_A_DAY, minute % MINUTES_A_DAY);
        let (Some(first), Some(last)) = (self.days.front(), self.days.back()) else {
            return 0;
        };
        if day.saturating_sub(first.day) < last.day.saturating_sub(day) {
            // From the oldest: everything, less what is before the edge.
            let mut before = 0;
            for d in &self.days {
                if d.day < day {
                    before += d.total;
                } else {
                    if d.day == day {
                        before += d.total - d.since(of_day);
                    }
                    break;
                }
            }
            return self.total - before;
        }
        let mut total = 0;
        for d in self.days.iter().rev() {
            if d.day > day {
                total += d.total;
            } else {
                if d.day == day {
                    total += d.since(of_day);
                }
                break;
            }
        }
        total
    }

    /// [`Self::since`] for each of `edges`, exactly, written to `out`: kept
    /// as events come in, so a report reads the days only when an edge
    /// moved to a later minute (the minutes it passed) or the edges are not
    /// the last call's (then it reads them all once). For the one report
    /// schedule that repeats, as [`SlidingHll::estimate_tracked`](super::SlidingHll::estimate_tracked).
    pub fn since_tracked(&mut self, edges: &[Seconds], out: &mut [u64]) {
        assert_eq!(edges.len(), out.len(), "one output per edge");
        if edges.len() > MOST_TRACKED {
            self.tracked.len = 0;
            for (o, e) in out.iter_mut().zip(edges) {
                *o = self.since(*e);
            }
            return;
        }
        let t = &self.tracked;
        let follows = t.len == edges.len()
            && t.minutes[..t.len]
                .iter()
                .zip(edges)
                .all(|(m, e)| e / 60 >= *m);
        for (i, e) in edges.iter().enumerate() {
            let minute = e / 60;
            if !follows {
                self.tracked.counts[i] = self.since(*e);
            } else if minute > self.tracked.minutes[i] {
                // The minutes the edge passed leave the count.
                let passed = self.since(self.tracked.minutes[i] * 60) - self.since(*e);
                self.tracked.counts[i] -= passed;
            }
            self.tracked.minutes[i] = minute;
            out[i] = self.tracked.counts[i];
        }
        self.tracked.len = edges.len();
    }

    /// The first second at or after `from` that saw usage, exactly.
    pub fn first_use_since(&self, from: Seconds) -> Option<Seconds> {
        let seconds_a_day = MINUTES_A_DAY * 60;
        let day = from / seconds_a_day;
        let i = self.days.partition_point(|d| d.day < day);
        self.days.iter().skip(i).find_map(|d| {
            let start = if d.day == day {
                from % seconds_a_day
            } else {
                0
            };
            d.first_use_since(start).map(|s| d.day * seconds_a_day + s)
        })
    }

    /// Drops the minutes that end at or before `horizon`: they can be in no
    /// window any more.
    pub fn prune(&mut self, horizon: Seconds) {
        let minute = horizon / 60;
        // Counts of edges at or after the horizon's minute stay true; one
        // before it would lose events, so tracking starts over.
        let t = &mut self.tracked;
        if t.minutes[..t.len].iter().any(|m| *m < minute) {
            t.len = 0;
        }
        let (day, of_day) = (minute / MINUTES_A_DAY, minute % MINUTES_A_DAY);
        while self.days.front().is_some_and(|d| d.day < day) {
            if let Some(d) = self.days.pop_front() {
                self.total -= d.total;
            }
        }
        if let Some(d) = self.days.front_mut()
            && d.day == day
        {
            let before = d.total;
            let empty = d.drop_before(of_day);
            self.total -= before - d.total;
            if empty {
                self.days.pop_front();
            }
        }
    }

    /// Whether no event is held.
    pub fn is_empty(&self) -> bool {
        self.days.is_empty()
    }

    /// Approximate heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        if self.days.capacity() == 0 {
            return 0;
        }
        super::MALLOC_OVERHEAD
            + self.days.capacity() * size_of::<Day>()
            + self.days.iter().map(Day::heap_bytes).sum::<usize>()
    }
}

#[cfg(test)]
mod tests;
