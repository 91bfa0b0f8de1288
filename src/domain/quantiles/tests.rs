//! Nearest-rank quantiles of ratios, checked by hand.

use super::*;

#[test]
fn ratio_quantiles_are_nearest_rank_over_sorted_samples() {
    // Sorted: 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9 1.0 (n = 10).
    // q 0.5: rank ceil(5) = 5 → 0.5; q 0.9: rank 9 → 0.9; q 0.95: rank
    // ceil(9.5) = 10 → 1.0.
    let mut s = vec![1.0, 0.3, 0.5, 0.1, 0.9, 0.7, 0.2, 0.8, 0.4, 0.6];
    let q = ratio_quantiles(&mut s).unwrap();
    assert_eq!(q.count, 10);
    assert!((q.sum - 5.5).abs() < 1e-12);
    assert_eq!(q.values, [(0.5, 0.5), (0.9, 0.9), (0.95, 1.0)]);
}

#[test]
fn one_sample_is_every_quantile_and_none_is_no_distribution() {
    let q = ratio_quantiles(&mut vec![0.25]).unwrap();
    assert_eq!(q.values, [(0.5, 0.25), (0.9, 0.25), (0.95, 0.25)]);
    assert_eq!(ratio_quantiles(&mut Vec::new()), None);
    assert_eq!(ratio_quantiles(&mut vec![f64::NAN]), None);
}

#[test]
fn three_samples_take_ranks_two_three_three() {
    // n = 3: ceil(1.5) = 2, ceil(2.7) = 3, ceil(2.85) = 3.
    let q = ratio_quantiles(&mut vec![0.0, 1.0, 0.5]).unwrap();
    assert_eq!(q.values, [(0.5, 0.5), (0.9, 1.0), (0.95, 1.0)]);
}
