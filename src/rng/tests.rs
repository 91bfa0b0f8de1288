//! The generator's numbers: SplitMix64's published sequence, and every
//! draw in its range.

use super::*;

#[test]
fn the_sequence_is_splitmix64s() {
    // The first outputs for seed 0 of the reference implementation
    // (Vigna, splitmix64.c).
    let mut r = Rng::new(0);
    assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
    assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    assert_eq!(r.next_u64(), 0x06C4_5D18_8009_454F);
}

#[test]
fn the_same_seed_gives_the_same_numbers_and_another_seed_others() {
    let (mut a, mut b, mut c) = (Rng::new(7), Rng::new(7), Rng::new(8));
    let xs: Vec<u64> = (0..64).map(|_| a.next_u64()).collect();
    let ys: Vec<u64> = (0..64).map(|_| b.next_u64()).collect();
    let zs: Vec<u64> = (0..64).map(|_| c.next_u64()).collect();
    assert_eq!(xs, ys);
    assert_ne!(xs, zs);
}

#[test]
fn every_draw_stays_in_its_range() {
    let mut a = Rng::new(9);
    for _ in 0..10_000 {
        assert!((0.0..1.0).contains(&a.unit()));
        assert!(a.below(3) < 3);
        assert!(a.index(3) < 3);
        assert!((5..10).contains(&a.between(5, 10)));
        assert!((60..=7200).contains(&a.log_between((60, 7200))));
        assert!(a.exponential(1000) >= 0);
    }
    assert_eq!(a.between(5, 5), 5);
    assert_eq!(a.hex(64).len(), 64);
    assert!(a.hex(7).bytes().all(|c| c.is_ascii_hexdigit()));
}
