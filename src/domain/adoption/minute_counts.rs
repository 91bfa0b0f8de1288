//! Usage events per minute of event time, for exact windowed event counts at
//! a resolution of one minute, in memory that grows with the minutes that
//! saw usage, never with the number of events.
//!
//! A window `[edge, now]` counts the events of every minute that *ends*
//! after its edge: minute `M` (seconds `[60 M, 60 M + 60)`) counts when
//! `M ≥ ⌊edge / 60⌋`. So a window may include up to 59 seconds of usage just
//! before its edge, never less than the window holds; the distinct-user
//! sketch's edge is exact to the second, so users never exceed events.
//!
//! Layout: one chunk per day that saw usage, each a sorted list of packed
//! `u32` entries (11-bit minute of the day, 21-bit count; a minute with more
//! than `2^21 − 1` events takes several entries) and the day's total. Four
//! bytes a busy minute; appending in time order is `O(1)`, an out-of-order
//! event costs a binary search within its day.

use std::collections::VecDeque;

use super::sliding_hll::Seconds;

const MINUTE_BITS: u32 = 11;
const COUNT_BITS: u32 = 32 - MINUTE_BITS;
const COUNT_MAX: u32 = (1 << COUNT_BITS) - 1;
const MINUTES_A_DAY: u32 = 1440;

#[derive(Debug, Clone)]
struct Day {
    /// Days since the Unix epoch.
    day: u32,
    /// Events of the whole day.
    total: u64,
    /// `minute << 21 | count`, ascending by minute.
    entries: Vec<u32>,
}

impl Day {
    #[inline]
    fn minute(e: u32) -> u32 {
        e >> COUNT_BITS
    }

    #[inline]
    fn count(e: u32) -> u32 {
        e & COUNT_MAX
    }

    #[inline]
    fn add(&mut self, minute: u32) {
        self.total += 1;
        // Time order: the last entry, or a new last one.
        if let Some(last) = self.entries.last_mut() {
            let m = Self::minute(*last);
            if m == minute && Self::count(*last) < COUNT_MAX {
                *last += 1;
                return;
            }
            if m <= minute {
                self.entries.push((minute << COUNT_BITS) | 1);
                return;
            }
        }
        self.add_out_of_order(minute);
    }

    #[cold]
    fn add_out_of_order(&mut self, minute: u32) {
        let i = self.entries.partition_point(|e| Self::minute(*e) < minute);
        if let Some(e) = self.entries.get_mut(i)
            && Self::minute(*e) == minute
            && Self::count(*e) < COUNT_MAX
        {
            *e += 1;
            return;
        }
        self.entries.insert(i, (minute << COUNT_BITS) | 1);
    }

    /// Events of minutes at or after `minute` of this day.
    fn since(&self, minute: u32) -> u64 {
        let i = self.entries.partition_point(|e| Self::minute(*e) < minute);
        self.entries[i..]
            .iter()
            .map(|e| u64::from(Self::count(*e)))
            .sum()
    }
}

/// Usage events per minute, for windowed counts.
#[derive(Debug, Clone, Default)]
pub struct MinuteCounts {
    /// Ascending by day, no two alike.
    days: VecDeque<Day>,
}

impl MinuteCounts {
    /// Empty.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one event at second `at`.
    #[inline]
    pub fn add(&mut self, at: Seconds) {
        let minute = at / 60;
        let (day, of_day) = (minute / MINUTES_A_DAY, minute % MINUTES_A_DAY);
        let n = self.days.len();
        if n > 0 && self.days[n - 1].day == day {
            self.days[n - 1].add(of_day);
            return;
        }
        self.add_to_other_day(day, of_day);
    }

    #[cold]
    fn add_to_other_day(&mut self, day: u32, of_day: u32) {
        let i = self.days.partition_point(|d| d.day < day);
        if i == self.days.len() || self.days[i].day != day {
            self.days.insert(
                i,
                Day {
                    day,
                    total: 0,
                    entries: Vec::new(),
                },
            );
        }
        self.days[i].add(of_day);
    }

    /// Events of the minutes that end after `edge` (see the module docs).
    pub fn since(&self, edge: Seconds) -> u64 {
        let minute = edge / 60;
        let (day, of_day) = (minute / MINUTES_A_DAY, minute % MINUTES_A_DAY);
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

    /// Drops the minutes that end at or before `horizon`: they can be in no
    /// window any more.
    pub fn prune(&mut self, horizon: Seconds) {
        let minute = horizon / 60;
        let (day, of_day) = (minute / MINUTES_A_DAY, minute % MINUTES_A_DAY);
        while self.days.front().is_some_and(|d| d.day < day) {
            self.days.pop_front();
        }
        if let Some(d) = self.days.front_mut()
            && d.day == day
        {
            let i = d.entries.partition_point(|e| Day::minute(*e) < of_day);
            if i > 0 {
                let dropped: u64 = d.entries[..i]
                    .iter()
                    .map(|e| u64::from(Day::count(*e)))
                    .sum();
                d.entries.drain(..i);
                d.total -= dropped;
            }
            if d.entries.is_empty() {
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
        let blocks = 1 + self.days.len();
        blocks * super::MALLOC_OVERHEAD
            + self.days.capacity() * std::mem::size_of::<Day>()
            + self
                .days
                .iter()
                .map(|d| d.entries.capacity() * 4)
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests;
