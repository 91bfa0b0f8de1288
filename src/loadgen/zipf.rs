//! Seeded randomness for the load generator: a small fast PRNG and a Zipf
//! sampler (`rand` is not a dependency, and the stream must be the same for
//! a seed on every machine and every version of this crate's dependencies).

/// SplitMix64: one multiply-xorshift step per number, statistically fine for
/// synthetic data, and any seed (zero included) is valid.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
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

    /// Uniform in `0..n` (`n` > 0), by multiply-shift (no modulo bias worth
    /// caring about for `n` far below 2^64).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

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
mod tests {
    use super::*;

    #[test]
    fn rng_is_deterministic_for_a_seed_and_differs_between_seeds() {
        let (mut a, mut b, mut c) = (Rng::new(7), Rng::new(7), Rng::new(8));
        let xs: Vec<u64> = (0..64).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..64).map(|_| b.next_u64()).collect();
        let zs: Vec<u64> = (0..64).map(|_| c.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
        for _ in 0..10_000 {
            assert!((0.0..1.0).contains(&a.unit()));
            assert!(a.below(3) < 3);
        }
    }

    /// Draws `draws` ranks and returns the share of each rank `1..=n`.
    fn shares(n: u64, s: f64, draws: usize, seed: u64) -> Vec<f64> {
        let z = Zipf::new(n, s).unwrap();
        let mut rng = Rng::new(seed);
        let mut counts = vec![0usize; n as usize];
        for _ in 0..draws {
            let k = z.sample(&mut rng);
            assert!((1..=n).contains(&k), "rank {k} outside 1..={n}");
            counts[k as usize - 1] += 1;
        }
        counts.iter().map(|&c| c as f64 / draws as f64).collect()
    }

    /// The exact law, computed directly: k^-s / sum_j j^-s.
    fn law(n: u64, s: f64) -> Vec<f64> {
        let w: Vec<f64> = (1..=n).map(|k| (k as f64).powf(-s)).collect();
        let total: f64 = w.iter().sum();
        w.iter().map(|x| x / total).collect()
    }

    #[test]
    fn zipf_shares_match_the_exact_law_for_several_exponents() {
        // 400 000 draws: the standard error of a share p is sqrt(p(1-p)/N)
        // <= 0.0008, so 0.004 is five standard errors.
        for (n, s) in [(10, 1.0), (50, 1.0), (20, 0.7), (8, 1.5), (5, 0.0)] {
            let got = shares(n, s, 400_000, 42);
            for (k, (g, want)) in got.iter().zip(law(n, s)).enumerate() {
                assert!(
                    (g - want).abs() < 0.004,
                    "n={n} s={s}: rank {} share {g:.4}, law {want:.4}",
                    k + 1
                );
            }
        }
    }

    #[test]
    fn zipf_top_rank_of_fifty_features_takes_about_a_fifth() {
        // H(50) = 4.499, so rank 1 has 1/4.499 = 22.2 % of the mass.
        let got = shares(50, 1.0, 200_000, 3);
        assert!((got[0] - 0.2222).abs() < 0.005, "top share {}", got[0]);
        assert!(got[49] > 0.0, "the last rank is drawn too");
    }

    #[test]
    fn zipf_handles_one_rank_and_huge_n_and_rejects_bad_parameters() {
        let mut rng = Rng::new(1);
        let one = Zipf::new(1, 1.0).unwrap();
        assert!((0..100).all(|_| one.sample(&mut rng) == 1));
        let big = Zipf::new(50_000_000, 0.8).unwrap();
        assert!((0..10_000).all(|_| (1..=50_000_000).contains(&big.sample(&mut rng))));
        assert_eq!(Zipf::new(0, 1.0).unwrap_err(), ZipfError::NoRanks);
        assert!(matches!(Zipf::new(5, -1.0), Err(ZipfError::BadExponent(_))));
        assert!(matches!(
            Zipf::new(5, f64::NAN),
            Err(ZipfError::BadExponent(_))
        ));
    }
}
