//! The load generator's Zipf sampler, drawing from the crate's seeded
//! [`Rng`] (`rand` is not a dependency, and the stream must be the same for a
//! seed on every machine and every version of this crate's dependencies).

use crate::rng::Rng;

/// Zipf distribution over ranks `1..=n` with exponent `s`: P(k) ∝ k^-s.
///
/// Rejection-inversion from a continuous envelope (the method of
/// `rand_distr::Zipf`, after Hörmann and Derflinger): O(1) time and memory per
/// draw whatever `n`, so 200 000 users cost no table.
#[derive(Debug, Clone)]
pub struct Zipf {
    s: f64,
    /// Total mass of the envelope.
    t: f64,
    /// 1 / (1 - s), or 0 when s = 1.
    q: f64,
}

/// Why a Zipf distribution cannot be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ZipfError {
    /// `n` must be at least 1.
    #[error("a Zipf distribution needs at least one rank")]
    NoRanks,
    /// `s` must be a finite number ≥ 0.
    #[error("the Zipf exponent must be a finite number >= 0, got {0}")]
    BadExponent(f64),
}

impl Zipf {
    /// Ranks `1..=n`, exponent `s` (0 is uniform, 1 the classic Zipf law).
    pub fn new(n: u64, s: f64) -> Result<Self, ZipfError> {
        if n == 0 {
            return Err(ZipfError::NoRanks);
        }
        if !s.is_finite() || s < 0.0 {
            return Err(ZipfError::BadExponent(s));
        }
        let n = n as f64;
        let (t, q) = if s == 1.0 {
            (1.0 + n.ln(), 0.0)
        } else {
            let q = 1.0 / (1.0 - s);
            ((n.powf(1.0 - s) - s) * q, q)
        };
        Ok(Self { s, t, q })
    }

    /// Inverse of the envelope's cumulative mass.
    fn inv_cdf(&self, p: f64) -> f64 {
        let pt = p * self.t;
        if pt <= 1.0 {
            pt
        } else if self.s == 1.0 {
            (pt - 1.0).exp()
        } else {
            (pt * (1.0 - self.s) + self.s).powf(self.q)
        }
    }

    /// One rank in `1..=n`.
    pub fn sample(&self, rng: &mut Rng) -> u64 {
        loop {
            let inv_b = self.inv_cdf(rng.unit());
            let x = (inv_b + 1.0).floor();
            let mut ratio = x.powf(-self.s);
            if x > 1.0 {
                ratio *= inv_b.powf(self.s);
            }
            if rng.unit() < ratio {
                return x as u64;
            }
        }
    }
}

#[cfg(test)]
mod tests;
