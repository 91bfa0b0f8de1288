//! The table against a `BTreeMap` under inserts, updates and pruning.

use std::collections::BTreeMap;

use super::*;

#[test]
fn matches_a_map_through_inserts_updates_and_pruning() {
    let mut t = SparseTable::default();
    let mut reference: BTreeMap<u32, u32> = BTreeMap::new();
    let mut x: u64 = 7;
    let mut next = || {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (x >> 33) as u32
    };
    for round in 0..5u32 {
        for _ in 0..20_000 {
            // Few distinct keys, so many updates; keys are nonzero.
            let key = next() % 30_000 + 1;
            let at = next() % 1_000_000;
            t.insert(key, at);
            let e = reference.entry(key).or_insert(at);
            *e = (*e).max(at);
        }
        let horizon = 200_000 * (round + 1);
        t.retain_since(horizon);
        reference.retain(|_, at| *at >= horizon);
        let mut got: Vec<(u32, u32)> = t.iter().collect();
        got.sort_unstable();
        let want: Vec<(u32, u32)> = reference.iter().map(|(k, v)| (*k, *v)).collect();
        assert_eq!(got, want, "round {round}");
        assert_eq!(t.len(), reference.len());
    }
    t.retain_since(u32::MAX);
    assert!(t.is_empty());
    assert_eq!(t.heap_bytes(), 0);
}
