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
            let want = match reference.get(&key) {
                None => Inserted::New,
                Some(&held) if held < at => Inserted::Later(held),
                Some(_) => Inserted::Unchanged,
            };
            assert_eq!(t.insert(key, at), want, "key {key} at {at}");
            let e = reference.entry(key).or_insert(at);
            *e = (*e).max(at);
            assert_eq!(t.get(key), Some(*e));
        }
        let horizon = 200_000 * (round + 1);
        let mut removed = Vec::new();
        t.retain_since(horizon, |at| removed.push(at));
        let mut want_removed: Vec<u32> = reference
            .values()
            .copied()
            .filter(|at| *at < horizon)
            .collect();
        removed.sort_unstable();
        want_removed.sort_unstable();
        assert_eq!(removed, want_removed, "round {round}: removed seconds");
        reference.retain(|_, at| *at >= horizon);
        let mut got: Vec<(u32, u32)> = t.iter().collect();
        got.sort_unstable();
        let want: Vec<(u32, u32)> = reference.iter().map(|(k, v)| (*k, *v)).collect();
        assert_eq!(got, want, "round {round}");
        assert_eq!(t.len(), reference.len());
    }
    t.retain_since(u32::MAX, |_| {});
    assert_eq!(t.get(1), None);
    assert!(t.is_empty());
    assert_eq!(t.heap_bytes(), 0);
}
