//! The demo's random numbers.

use super::*;

#[test]
fn rng_helpers_stay_in_range_and_are_deterministic() {
    let (mut a, mut b) = (Rng::new(9), Rng::new(9));
    for _ in 0..100 {
        assert_eq!(a.next_u64(), b.next_u64());
    }
    assert_ne!(Rng::new(0).next_u64(), 0, "a zero seed still makes numbers");
    for _ in 0..1000 {
        assert!((0.0..1.0).contains(&a.unit()));
        assert!((5..10).contains(&a.between(5, 10)));
        assert!((60..=7200).contains(&a.log_between((60, 7200))));
        assert!(a.below(3) < 3);
        assert!(a.exponential(1000) >= 0);
    }
    assert_eq!(a.hex(64).len(), 64);
    assert!(a.hex(7).bytes().all(|c| c.is_ascii_hexdigit()));
}
