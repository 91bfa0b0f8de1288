use super::*;

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

/// The exact law, computed directly: k^-s / `sum_j` j^-s.
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
