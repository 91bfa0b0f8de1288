//! The crate's one seeded random number generator, for everything that
//! makes synthetic data: the demo's story, the load generator's datasets,
//! unit tests and benches.
//!
//! SplitMix64 (Steele, Lea and Flood; the seeding generator of
//! xoshiro): one add and two multiply-xorshift steps per number, any seed
//! (zero included) is valid, and statistically fine for synthetic data.
//! `rand` is not a dependency, and a seed must give the same numbers on every
//! machine and with every version of the dependencies.
//!
//! It lives at the crate's root because its users share nothing else: the
//! domain's tests, `demo` and `loadgen` must not import one another.

use std::fmt::Write as _;

use crate::domain::Millis;

/// SplitMix64, with the draws synthetic data needs.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub const fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `0..n` (`n` > 0), by multiply-shift: the high bits of
    /// the product, no division, and no modulo bias worth caring about for
    /// `n` far below 2^64.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// [`Rng::below`] for a `usize`: an index into a slice of `n`, or a
    /// small count.
    pub fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    /// Uniform in `[lo, hi)`; `lo` when the range is empty.
    pub fn between(&mut self, lo: Millis, hi: Millis) -> Millis {
        if hi <= lo {
            return lo;
        }
        lo + self.below(hi.abs_diff(lo)) as Millis
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Log-uniform in `[lo, hi]` (`lo` > 0): durations spread over orders
    /// of magnitude (minutes to days) look like real lead and restore times.
    pub fn log_between(&mut self, (lo, hi): (Millis, Millis)) -> Millis {
        let (a, b) = ((lo as f64).ln(), (hi as f64).ln());
        ((a + self.unit() * (b - a)).exp() as Millis).clamp(lo, hi)
    }

    /// Exponentially distributed with `mean`: gaps between independent
    /// events.
    pub fn exponential(&mut self, mean: Millis) -> Millis {
        (-(1.0 - self.unit()).ln() * mean as f64) as Millis
    }

    /// `digits` lowercase hex digits.
    pub fn hex(&mut self, digits: usize) -> String {
        let mut s = String::with_capacity(digits + 16);
        while s.len() < digits {
            let _ = write!(s, "{:016x}", self.next_u64());
        }
        s.truncate(digits);
        s
    }
}

#[cfg(test)]
mod tests;
