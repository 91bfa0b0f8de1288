//! A tiny seeded PRNG for the demo (`rand` is not a dependency): the demo
//! needs variety, not statistical quality, and a fixed seed makes its story
//! the same on every run.

use crate::domain::Millis;

/// xorshift64*: tiny and deterministic, enough to make a demo look organic.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed` (any value, zero included).
    pub fn new(seed: u64) -> Self {
        // xorshift's state must never be zero.
        Self((seed ^ 0x9E37_79B9_7F4A_7C15).max(1))
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Uniform index in `0..n`; `n` must be positive.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in `[lo, hi)`.
    pub fn between(&mut self, lo: Millis, hi: Millis) -> Millis {
        lo + (self.unit() * (hi - lo) as f64) as Millis
    }

    /// Log-uniform in `[lo, hi)`: durations spread over orders of magnitude
    /// (minutes to days) look like real lead and restore times.
    pub fn log_between(&mut self, (lo, hi): (Millis, Millis)) -> Millis {
        let (a, b) = ((lo as f64).ln(), (hi as f64).ln());
        ((a + self.unit() * (b - a)).exp() as Millis).clamp(lo, hi)
    }

    /// Exponentially distributed with `mean`: gaps between independent events.
    pub fn exponential(&mut self, mean: Millis) -> Millis {
        (-(1.0 - self.unit()).ln() * mean as f64) as Millis
    }

    /// `digits` lowercase hex digits.
    pub fn hex(&mut self, digits: usize) -> String {
        let mut s = String::with_capacity(digits + 16);
        while s.len() < digits {
            s.push_str(&format!("{:016x}", self.next_u64()));
        }
        s.truncate(digits);
        s
    }
}

#[cfg(test)]
mod tests;
