//! Label interning and its cap.

use super::*;

#[test]
fn values_beyond_the_cap_become_other_and_are_counted() {
    let mut l = Labels::new(2);
    let a = l.intern("a");
    let b = l.intern("b");
    assert_ne!(a, b);
    assert_eq!(l.intern("a"), a);
    assert_eq!(l.intern("c"), Labels::OTHER_ID);
    assert_eq!(l.intern("d"), Labels::OTHER_ID);
    assert_eq!(l.name(Labels::OTHER_ID), OTHER);
    assert_eq!(l.name(b), "b");
    assert_eq!(l.overflow(), 2);
    assert_eq!(l.intern(OTHER), Labels::OTHER_ID);
    assert_eq!(l.overflow(), 2);
    assert_eq!((l.get("b"), l.get("c"), l.len()), (Some(b), None, 3));
}
