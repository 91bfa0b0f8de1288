//! Feature-adoption tests. Figures of the hand-checked dataset were worked out
//! on paper from the events listed, not from the code under test.

#![allow(
    clippy::print_stdout,
    reason = "the sketch-error tests print their figures"
)]

use std::fmt::Write as _;
use std::time::Instant;

use super::*;
use crate::domain::dora::FirstShip;
use crate::domain::labels::OTHER;
use crate::domain::time::DAY_MS;
use crate::domain::time::Window;

const M: Millis = 60_000;
const H: Millis = 3_600_000;
const D: Millis = DAY_MS;
/// A whole minute (and so a whole second): every window edge is too.
const NOW: Millis = 1_800_000_000_000 + 30 * M;

fn settings(max_features: usize) -> AdoptionSettings {
    AdoptionSettings {
        windows: vec![
            Window::new("1d", D),
            Window::new("7d", 7 * D),
            Window::new("30d", 30 * D),
        ]
        .into(),
        time: TimePolicy {
            longest: 30 * D,
            grace: H,
            max_clock_skew: 5 * M,
        },
        max_features,
        min_users: 2,
    }
}

/// One usage event of the hand-checked dataset: (shard, feature, user, at).
type Ev = (usize, &'static str, &'static str, Millis);

/// Users `a*` live on shard 0, users `b*` on shard 1.
fn dataset() -> Vec<Ev> {
    vec![
        (0, "search", "a1", NOW - 10 * M),
        (0, "search", "a1", NOW - 20 * M),
        (0, "search", "a2", NOW - 2 * H),
        // 20 and 31 minutes before the 1d edge: in 7d and 30d only.
        (0, "search", "a3", NOW - D - 20 * M),
        (0, "search", "a4", NOW - D - 31 * M),
        (0, "export", "a1", NOW - 5 * D),
        (0, "export", "a2", NOW - 4 * D),
        (1, "search", "b1", NOW - H),
        (1, "search", "b1", NOW - 8 * D),
        (1, "billing", "b2", NOW - 20 * D),
        (1, "billing", "b3", NOW - 6 * D),
        (1, "export", "b3", NOW - 3 * D),
    ]
}

fn ships() -> Vec<FirstShip<'static>> {
    let ship = |feature, at, service, team| FirstShip {
        feature,
        at,
        service,
        team,
    };
    vec![
        ship("billing", NOW - 20 * D - 30 * M, "api", "data"),
        ship("dark-mode", NOW - 2 * D, "web", "ui"),
        ship("export", NOW - 5 * D - H, "api", "data"),
        ship("search", NOW - 10 * D, "web", "core"),
    ]
}

/// Folds `events` into `shards` (all into shard 0 when there is one shard).
fn fold_all(s: &AdoptionSettings, features: &mut Features, shards: &mut [Shard], events: &[Ev]) {
    for &(shard, feature, user, at) in events {
        let id = features.intern(feature);
        let shard = &mut shards[shard % shards.len()];
        assert_eq!(
            shard.fold(s, id, hash_user(user), at, NOW),
            Outcome::Accepted
        );
    }
}

/// Adds every feature of every shard at `NOW`, as the report path does.
fn report<'f>(
    s: &AdoptionSettings,
    features: &'f Features,
    ships: &[FirstShip<'f>],
    shards: &[Shard],
) -> AdoptionReport<'f> {
    report_at(s, features, ships, shards, NOW)
}

fn report_at<'f>(
    s: &AdoptionSettings,
    features: &'f Features,
    ships: &[FirstShip<'f>],
    shards: &[Shard],
    now: Millis,
) -> AdoptionReport<'f> {
    let mut b = ReportBuilder::new(s, ships, features, now);
    for shard in shards {
        b.add_active(shard.active());
        for id in shard.feature_ids() {
            b.add_feature(id, shard.feature(id).expect("listed feature exists"));
        }
    }
    b.finish(features, ships)
}

fn feature<'r, 'a>(r: &'r AdoptionReport<'a>, name: &str) -> &'r FeatureReport<'a> {
    r.features
        .iter()
        .find(|f| f.feature == name)
        .unwrap_or_else(|| panic!("feature {name} in report"))
}

fn assert_ratio(got: Option<f64>, num: u64, den: u64) {
    let got = got.expect("a ratio");
    let want = num as f64 / den as f64;
    assert!((got - want).abs() < 1e-12, "ratio {got}, expected {want}");
}

/// Asserts an hdrhistogram quantile is the expected sample within the stated
/// precision (never below, at most 0.1 % above).
fn assert_quantile(got: f64, expected_ms: Millis) {
    let want = expected_ms as f64 / 1000.0;
    assert!(
        got >= want && got <= want * 1.001,
        "quantile {got} s, expected {want} s"
    );
}

#[test]
fn hand_checked_dataset_gives_exact_users_events_ratios_and_shipping_figures() {
    let s = settings(10);
    let mut features = Features::new(s.max_features);
    let mut shards = [Shard::new(), Shard::new()];
    fold_all(&s, &mut features, &mut shards, &dataset());
    let ships = ships();
    let r = report(&s, &features, &ships, &shards);

    // Only used features are reported; dark-mode was shipped, never used.
    let names: Vec<&str> = r.features.iter().map(|f| f.feature).collect();
    assert_eq!(names, ["billing", "export", "search"]);

    // 1d: a1, a2, b1. 7d: + a3, a4 (search), b3 (billing, export). 30d: + b2.
    assert_eq!(r.active_users, [3, 6, 7]);

    let search = feature(&r, "search");
    assert_eq!((search.service, search.team), (Some("web"), Some("core")));
    // 1d: a1 (twice), a2, b1. 7d: + a3, a4. 30d: + b1 eight days ago.
    assert_eq!(search.users, [3, 5, 5]);
    assert_eq!(search.events, [4, 6, 7]);
    assert_ratio(search.adoption_ratio[0], 3, 3);
    assert_ratio(search.adoption_ratio[1], 5, 6);
    assert_ratio(search.adoption_ratio[2], 5, 7);

    let export = feature(&r, "export");
    assert_eq!((export.service, export.team), (Some("api"), Some("data")));
    assert_eq!(export.users, [0, 3, 3]);
    assert_eq!(export.events, [0, 3, 3]);
    assert_ratio(export.adoption_ratio[0], 0, 3);
    assert_ratio(export.adoption_ratio[1], 3, 6);
    assert_ratio(export.adoption_ratio[2], 3, 7);

    let billing = feature(&r, "billing");
    assert_eq!(billing.users, [0, 1, 2]);
    assert_eq!(billing.events, [0, 1, 2]);
    assert_ratio(billing.adoption_ratio[1], 1, 6);
    assert_ratio(billing.adoption_ratio[2], 2, 7);

    // Shipped in 1d: none; 7d: dark-mode, export; 30d: all four.
    assert_eq!(r.shipped, [0, 2, 4]);
    // Used (>= 2 users since ship): billing 2, export 3, search 5; not dark-mode.
    assert_eq!(r.used, [0, 1, 3]);
    assert_eq!(r.overflow, 0);

    let shipped: Vec<_> = r
        .shipped_features
        .iter()
        .map(|f| {
            (
                f.feature,
                f.service,
                f.team,
                f.shipped_at,
                f.users_since_ship,
                f.time_to_first_use,
            )
        })
        .collect();
    assert_eq!(
        shipped,
        [
            (
                "billing",
                "api",
                "data",
                NOW - 20 * D - 30 * M,
                2,
                Some(30 * M)
            ),
            ("dark-mode", "web", "ui", NOW - 2 * D, 0, None),
            ("export", "api", "data", NOW - 5 * D - H, 3, Some(H)),
            ("search", "web", "core", NOW - 10 * D, 5, Some(2 * D)),
        ]
    );

    // Feedback cycle: 1d no sample; 7d export (1 h); 30d 30 m, 1 h, 2 d.
    assert_eq!(r.feedback_cycle[0], None);
    let f7 = r.feedback_cycle[1].as_ref().expect("7d sample");
    assert_eq!(f7.count, 1);
    assert_eq!(f7.sum_seconds, 3600.0);
    for (_, v) in f7.values {
        assert_quantile(v, H);
    }
    let f30 = r.feedback_cycle[2].as_ref().expect("30d samples");
    assert_eq!(f30.count, 3);
    assert_eq!(f30.sum_seconds, 1800.0 + 3600.0 + 172_800.0);
    assert_eq!(f30.values.map(|(q, _)| q), QUANTILES_EXPECTED);
    assert_quantile(f30.values[0].1, H); // rank ceil(1.5) = 2
    assert_quantile(f30.values[1].1, 2 * D); // rank ceil(2.7) = 3
    assert_quantile(f30.values[2].1, 2 * D);
}

const QUANTILES_EXPECTED: [f64; 3] = [0.5, 0.9, 0.95];

#[test]
fn a_use_exactly_at_the_edge_counts_and_one_second_before_does_not() {
    let s = settings(10);
    let mut features = Features::new(10);
    let mut shards = [Shard::new()];
    // NOW - 1d is a whole minute.
    let edge = NOW - D;
    fold_all(
        &s,
        &mut features,
        &mut shards,
        &[
            (0, "f", "at-edge", edge),
            (0, "f", "one-second-inside", edge + 1000),
            (0, "f", "one-second-before", edge - 1000),
        ],
    );
    let r = report(&s, &features, &[], &shards);
    let f = feature(&r, "f");
    assert_eq!(f.users, [2, 3, 3]);
    assert_eq!(f.events, [2, 3, 3]);
    assert_eq!(r.active_users, [2, 3, 3]);
}

#[test]
fn events_count_whole_minutes_that_end_after_the_edge_users_count_to_the_second() {
    let s = settings(10);
    let mut features = Features::new(10);
    let mut shards = [Shard::new()];
    // Evaluated 30 s after NOW, the 1d edge is half a minute into a minute.
    let now = NOW + 30_000;
    let edge = now - D;
    fold_all(
        &s,
        &mut features,
        &mut shards,
        &[(0, "f", "u1", edge - 20_000), (0, "f", "u2", edge + 20_000)],
    );
    let r = report_at(&s, &features, &[], &shards, now);
    let f = feature(&r, "f");
    // u1 used it 20 s before the edge, in the edge's minute: its event counts
    // (the minute ends after the edge), u1 does not.
    assert_eq!(f.users, [1, 2, 2]);
    assert_eq!(f.events, [2, 2, 2]);
}

#[test]
fn late_and_future_events_are_rejected_at_the_horizon_and_skew_edges() {
    let s = settings(10);
    let mut shard = Shard::new();
    let horizon = NOW - 30 * D - H;
    assert_eq!(shard.fold(&s, 1, 7, horizon - 1, NOW), Outcome::Late);
    assert_eq!(shard.fold(&s, 1, 7, NOW + 5 * M + 1, NOW), Outcome::Future);
    assert!(shard.feature_ids().is_empty());
    assert_eq!(shard.fold(&s, 1, 7, horizon, NOW), Outcome::Accepted);
    assert_eq!(shard.fold(&s, 1, 7, NOW + 5 * M, NOW), Outcome::Accepted);
    let f = shard.feature(1).expect("folded");
    assert_eq!(f.events.since(0), 2);
    assert_eq!(f.first_use_since(0), Some(second_of(horizon)));
}

#[test]
fn prune_drops_what_no_window_can_hold_and_empty_features() {
    let s = settings(10);
    let mut features = Features::new(10);
    let (one, two) = (features.intern("one"), features.intern("two"));
    assert_eq!((one, two), (1, 2));
    let mut shard = Shard::new();
    let old = NOW - 30 * D - 30 * M;
    assert_eq!(shard.fold(&s, 1, 1, old, NOW), Outcome::Accepted);
    assert_eq!(shard.fold(&s, 2, 2, NOW, NOW), Outcome::Accepted);
    // Horizon NOW - 30d - 1h: nothing expires.
    shard.prune(&s, NOW);
    assert_eq!(shard.feature_ids(), [1, 2]);
    // An hour later the horizon passed `old`: feature 1 is gone.
    shard.prune(&s, NOW + H);
    assert_eq!(shard.feature_ids(), [2]);
    let r = report_at(&s, &features, &[], &[shard], NOW + H);
    assert_eq!(r.active_users, [1, 1, 1]);
    let names: Vec<&str> = r.features.iter().map(|f| f.feature).collect();
    assert_eq!(names, ["two"]);
}

#[test]
fn features_found_by_id_come_and_go_in_any_id_order() {
    // Features are kept in an array indexed by id: ids arrive out of order,
    // leave from the end and from the middle, and come back.
    let s = settings(10);
    let mut shard = Shard::new();
    let old = NOW - 30 * D - 30 * M;
    for (id, at) in [(7, NOW), (3, old), (5, old), (0, NOW)] {
        assert_eq!(
            shard.fold(&s, id, u64::from(id), at, NOW),
            Outcome::Accepted
        );
    }
    assert_eq!(shard.feature_ids(), [0, 3, 5, 7]);
    assert!(shard.feature(4).is_none() && shard.feature(99).is_none());
    shard.prune(&s, NOW + H);
    assert_eq!(shard.feature_ids(), [0, 7]);
    // The last two leave the horizon too, the highest id among them.
    shard.prune(&s, NOW + 30 * D + 2 * H);
    assert!(shard.feature_ids().is_empty());
    let at = NOW + 30 * D + 2 * H;
    assert_eq!(shard.fold(&s, 5, 1, at, at), Outcome::Accepted);
    assert_eq!(shard.feature_ids(), [5]);
    assert_eq!(shard.feature(5).map(|f| f.events.since(0)), Some(1));
    assert!(shard.heap_bytes().index > 0);
}

#[test]
fn out_of_order_events_give_the_same_report_as_ordered_ones() {
    let s = settings(10);
    let ships = ships();
    let mut ordered = dataset();
    ordered.sort_by_key(|e| e.3);
    let mut reversed = ordered.clone();
    reversed.reverse();
    let mut features = Features::new(10);
    let mut a = [Shard::new(), Shard::new()];
    fold_all(&s, &mut features, &mut a, &ordered);
    let mut b = [Shard::new(), Shard::new()];
    fold_all(&s, &mut features, &mut b, &reversed);
    assert_eq!(
        report(&s, &features, &ships, &a),
        report(&s, &features, &ships, &b)
    );
}

#[test]
fn shards_add_up_to_one_shard_holding_everything() {
    let s = settings(10);
    let ships = ships();
    let mut features = Features::new(10);
    let mut two = [Shard::new(), Shard::new()];
    fold_all(&s, &mut features, &mut two, &dataset());
    let mut one = [Shard::new()];
    fold_all(&s, &mut features, &mut one, &dataset());
    assert_eq!(
        report(&s, &features, &ships, &two),
        report(&s, &features, &ships, &one)
    );
}

#[test]
fn features_beyond_the_cap_become_other_and_overflow_counts_their_events() {
    let s = settings(3);
    let mut features = Features::new(s.max_features);
    let mut shards = [Shard::new(), Shard::new()];
    let mut events = Vec::new();
    let names: Vec<&'static str> = (0..30).map(|i| &*format!("f{i:02}").leak()).collect();
    let users: Vec<&'static str> = (0..30).map(|i| &*format!("u{i}").leak()).collect();
    for i in 0..30 {
        // Two events per feature, by the same user.
        events.push((i, names[i], users[i], NOW - M));
        events.push((i, names[i], users[i], NOW - 2 * M));
    }
    fold_all(&s, &mut features, &mut shards, &events);

    assert_eq!(features.len(), 4);
    assert_eq!(features.get("f00"), Some(1));
    assert_eq!(features.get("f02"), Some(3));
    assert_eq!(features.get("f03"), None);
    assert_eq!(features.intern("f29"), Features::OTHER_ID);
    assert_eq!(features.name(Features::OTHER_ID), OTHER);
    assert_eq!(features.overflow(), 27 * 2 + 1);

    let r = report(&s, &features, &[], &shards);
    assert!(r.features.len() <= 4);
    let names: Vec<&str> = r.features.iter().map(|f| f.feature).collect();
    assert_eq!(names, [OTHER, "f00", "f01", "f02"]);
    let other = feature(&r, OTHER);
    assert_eq!(other.users, [27, 27, 27]);
    assert_eq!(other.events, [54, 54, 54]);
    assert_eq!(r.overflow, 55);
    assert_eq!(r.active_users, [30, 30, 30]);
}

#[test]
fn a_shipped_feature_beyond_the_cap_has_no_users_and_no_first_use() {
    let s = settings(1);
    let mut features = Features::new(1);
    let mut shards = [Shard::new()];
    fold_all(
        &s,
        &mut features,
        &mut shards,
        &[(0, "kept", "u1", NOW - H), (0, "dropped", "u2", NOW - H)],
    );
    let ships = [
        FirstShip {
            feature: "dropped",
            at: NOW - 2 * D,
            service: "svc",
            team: "t",
        },
        FirstShip {
            feature: "kept",
            at: NOW - D,
            service: "svc",
            team: "t",
        },
    ];
    let r = report(&s, &features, &ships, &shards);
    assert_eq!(r.shipped, [1, 2, 2]);
    assert_eq!(r.shipped_features[0].feature, "dropped");
    assert_eq!(r.shipped_features[0].users_since_ship, 0);
    assert_eq!(r.shipped_features[0].time_to_first_use, None);
    assert_eq!(r.shipped_features[1].users_since_ship, 1);
    assert_eq!(r.shipped_features[1].time_to_first_use, Some(D - H));
    // The overflowed usage is reported under __other__, with no ship labels.
    let other = feature(&r, OTHER);
    assert_eq!((other.service, other.users[0]), (None, 1));
}

fn beta_ship(at: Millis) -> [FirstShip<'static>; 1] {
    [FirstShip {
        feature: "beta",
        at,
        service: "svc",
        team: "t",
    }]
}

#[test]
fn a_use_before_shipping_never_hides_the_first_use_after_it() {
    // Dark launch: u1 tried the feature ten minutes before the shipping
    // deploy, then again ten minutes after; u2 a day later.
    let s = settings(10);
    let mut features = Features::new(10);
    let mut shards = [Shard::new()];
    let shipped_at = NOW - 3 * D + 7 * 1000;
    fold_all(
        &s,
        &mut features,
        &mut shards,
        &[
            (0, "beta", "u1", shipped_at - 10 * M),
            (0, "beta", "u1", shipped_at + 10 * M),
            (0, "beta", "u2", shipped_at + D),
        ],
    );
    let r = report(&s, &features, &beta_ship(shipped_at), &shards);
    assert_eq!(r.shipped_features[0].users_since_ship, 2);
    assert_eq!(r.shipped_features[0].time_to_first_use, Some(10 * M));
}

#[test]
fn first_use_is_exact_to_the_second_across_shards_and_any_ship_time() {
    // Usage first, the ship learned afterwards (replay order): every ship
    // time gets its exact first use, the minimum over shards.
    let s = settings(10);
    let mut features = Features::new(10);
    let mut shards = [Shard::new(), Shard::new()];
    let base = NOW - 4 * D;
    fold_all(
        &s,
        &mut features,
        &mut shards,
        &[
            (0, "beta", "a", base + 25_000),
            (1, "beta", "b", base + 17_000),
            (0, "beta", "c", base + 90_000),
            (1, "beta", "d", base + 3 * H),
        ],
    );
    for (ship, first) in [
        (base, Some(17_000)),
        (base + 17_000, Some(0)),
        // Usage is kept to the second: a use in the ship's own second (1 ms
        // before it, here) counts as at the ship.
        (base + 17_001, Some(0)),
        (base + 18_000, Some(25_000 - 18_000)),
        (base + 26_000, Some(90_000 - 26_000)),
        (base + 2 * H, Some(H)),
        (base + 3 * H + 1000, None),
    ] {
        let r = report(&s, &features, &beta_ship(ship), &shards);
        assert_eq!(
            r.shipped_features[0].time_to_first_use,
            first,
            "ship at base + {} ms",
            ship - base
        );
    }
}

#[test]
fn an_empty_state_reports_zeros_and_no_quantiles() {
    let s = settings(10);
    let features = Features::new(10);
    let r = report(&s, &features, &[], &[Shard::new()]);
    assert!(r.features.is_empty());
    assert_eq!(r.active_users, [0, 0, 0]);
    assert_eq!(r.shipped, [0, 0, 0]);
    assert_eq!(r.used, [0, 0, 0]);
    assert_eq!(r.feedback_cycle, [None, None, None]);
}

#[test]
fn hash_user_is_xxh3_64_with_seed_0() {
    // Reference values of XXH3_64bits (seed 0), which must never change: the
    // hash is what sketches of different processes and versions agree on.
    assert_eq!(hash_user(""), 0x2D06_8005_38D3_94C2);
    assert_eq!(
        hash_user("u-5521"),
        xxhash_rust::xxh3::xxh3_64_with_seed(b"u-5521", 0)
    );
    assert_ne!(hash_user("u-1"), hash_user("u-2"));
}

/// Folds `n` distinct users ("u-{i}") over 4 shards across 30 days, each
/// user twice, into feature "a"; every third user also into "b". Returns the
/// worst relative error over windows of "a", "b" and active users, after
/// asserting each is within 2 %, and that events are exact.
fn assert_estimates_within_2_percent(n: usize) -> f64 {
    let s = settings(10);
    let mut features = Features::new(10);
    let a = features.intern("a");
    let b = features.intern("b");
    let mut shards = [Shard::new(), Shard::new(), Shard::new(), Shard::new()];
    let nw = s.windows.len();
    let (mut truth_a, mut truth_b) = (vec![0u64; nw], vec![0u64; nw]);
    let mut events_a = vec![0u64; nw];
    let in_window = |w: &Window, at: Millis| at >= NOW - w.width;
    let minute_in = |w: &Window, at: Millis| at.div_euclid(M) >= (NOW - w.width).div_euclid(M);
    let mut user = String::with_capacity(16);
    let started = Instant::now();
    for i in 0..n {
        user.clear();
        let _ = write!(user, "u-{i}");
        let h = hash_user(&user);
        let shard = &mut shards[i % 4];
        let at1 = NOW - (i as Millis * 7919 % (30 * D / 1000)) * 1000;
        let at2 = NOW - ((i as Millis * 104_729 + 3) % (30 * D / 1000)) * 1000;
        for at in [at1, at2] {
            shard.fold(&s, a, h, at, NOW);
        }
        if i % 3 == 0 {
            shard.fold(&s, b, h, at1, NOW);
        }
        for (w, window) in s.windows.iter().enumerate() {
            let seen = in_window(window, at1) || in_window(window, at2);
            truth_a[w] += u64::from(seen);
            events_a[w] += u64::from(minute_in(window, at1)) + u64::from(minute_in(window, at2));
            truth_b[w] += u64::from(i % 3 == 0 && in_window(window, at1));
        }
    }
    let folded = started.elapsed();
    let started = Instant::now();
    let r = report(&s, &features, &[], &shards);
    let reported = started.elapsed();

    let mut worst: f64 = 0.0;
    let mut check = |what: &str, got: &[u64], truth: &[u64]| {
        for w in 0..nw {
            let err = (got[w] as f64 - truth[w] as f64) / truth[w] as f64;
            println!(
                "n={n} {what} {}: estimate {} true {} error {:+.3} %",
                s.windows[w].label,
                got[w],
                truth[w],
                err * 100.0
            );
            assert!(err.abs() <= 0.02, "{what} error {err} over 2 %");
            worst = worst.max(err.abs());
        }
    };
    check("users(a)", &feature(&r, "a").users, &truth_a);
    check("users(b)", &feature(&r, "b").users, &truth_b);
    check("active", &r.active_users, &truth_a);
    assert_eq!(feature(&r, "a").events, events_a);
    println!(
        "n={n}: fold {folded:?}, report {reported:?}, worst error {:.3} %",
        worst * 100.0
    );
    worst
}

#[test]
fn distinct_user_estimates_are_within_2_percent_at_100k_users() {
    assert_estimates_within_2_percent(100_000);
}

#[test]
fn distinct_user_estimates_are_within_2_percent_at_1m_users() {
    assert_estimates_within_2_percent(1_000_000);
}

#[test]
fn memory_per_feature_follows_users_and_busy_seconds_and_is_bounded() {
    let s = settings(10);
    let mut last = 0;
    for users in [1u64, 100, 10_000, 200_000] {
        let mut shard = Shard::new();
        for u in 0..users {
            // One use a user, spread over the last 30 days.
            let at = NOW - (u as Millis * 7919 % (30 * D / 1000)) * 1000;
            shard.fold(&s, 1, hash_user(&format!("u-{u}")), at, NOW);
        }
        let (sketch, counts) = shard.feature(1).expect("folded").heap_bytes();
        let total = sketch + counts;
        println!("{users} users: sketch {sketch} B, counts and seconds {counts} B");
        assert!(total >= last);
        last = total;
        // A sparse sketch costs at most ~20 bytes a user; a dense one is
        // bounded whatever the users.
        assert!(sketch <= (users as usize * 20).max(64) || sketch <= sliding_hll::DENSE_BYTES + 64);
        // Counts and seconds: at most 24 bytes a busy minute (12, and a
        // list's spare room), never more than a dense day (17.5 KiB) a day.
        assert!(counts <= (users as usize * 24).min(31 * 17_488) + 31 * 64 + 1024);
        if users == 200_000 {
            assert!(sketch <= sliding_hll::DENSE_BYTES + 64, "dense and bounded");
        }
    }
}

mod realization;
