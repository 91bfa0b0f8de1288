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

const M: Millis = 60_000;
const H: Millis = 3_600_000;
const D: Millis = DAY_MS;
/// Half past an hour, so that every window edge falls inside a bucket.
const NOW: Millis = 1_800_000_000_000 + 30 * M;
/// Start of the hour holding `NOW`.
const T: Millis = NOW - 30 * M;

fn settings(max_features: usize) -> AdoptionSettings {
    AdoptionSettings {
        windows: vec![
            Window::new("1d", D),
            Window::new("7d", 7 * D),
            Window::new("30d", 30 * D),
        ],
        time: TimePolicy {
            longest: 30 * D,
            grace: H,
            max_clock_skew: 5 * M,
        },
        bucket: H,
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
        // Bucket [T-1d, T-1d+1h) overlaps the 1d edge (NOW-1d = T-1d+30m): in 1d.
        (0, "search", "a3", NOW - D - 20 * M),
        // Bucket [T-1d-1h, T-1d) ends before the 1d edge: not in 1d.
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

/// Merges every bucket of every shard at `NOW`, as the scrape path does.
fn report<'f>(
    s: &AdoptionSettings,
    features: &'f Features,
    ships: &[FirstShip<'f>],
    shards: &[Shard],
) -> AdoptionReport<'f> {
    let mut merger = Merger::new(s, ships, features, NOW);
    for shard in shards {
        for start in shard.bucket_starts() {
            merger.add(start, shard.bucket(start).expect("listed bucket exists"));
        }
    }
    merger.finish(features, ships)
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

    assert_eq!(r.active_users, [4, 6, 7]);

    let search = feature(&r, "search");
    assert_eq!((search.service, search.team), (Some("web"), Some("core")));
    assert_eq!(search.users, [4, 5, 5]);
    assert_eq!(search.events, [5, 6, 7]);
    assert_ratio(search.adoption_ratio[0], 4, 4);
    assert_ratio(search.adoption_ratio[1], 5, 6);
    assert_ratio(search.adoption_ratio[2], 5, 7);

    let export = feature(&r, "export");
    assert_eq!((export.service, export.team), (Some("api"), Some("data")));
    assert_eq!(export.users, [0, 3, 3]);
    assert_eq!(export.events, [0, 3, 3]);
    assert_ratio(export.adoption_ratio[0], 0, 4);
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
fn an_event_in_the_bucket_overlapping_the_window_edge_counts_and_one_in_the_bucket_before_does_not()
{
    let s = settings(10);
    let mut features = Features::new(10);
    let mut shards = [Shard::new()];
    // The 1d edge is NOW - 1d = T - 1d + 30 m: bucket [T-1d, T-1d+1h) overlaps it.
    fold_all(
        &s,
        &mut features,
        &mut shards,
        &[
            (0, "f", "inside-edge-bucket", T - D),
            (0, "f", "before-edge-bucket", T - D - 1),
        ],
    );
    let r = report(&s, &features, &[], &shards);
    let f = feature(&r, "f");
    assert_eq!(f.users, [1, 2, 2]);
    assert_eq!(f.events, [1, 2, 2]);
    assert_eq!(r.active_users, [1, 2, 2]);
}

#[test]
fn late_and_future_events_are_rejected_at_the_horizon_and_skew_edges() {
    let s = settings(10);
    let mut shard = Shard::new();
    let horizon = NOW - 30 * D - H;
    assert_eq!(shard.fold(&s, 1, 7, horizon - 1, NOW), Outcome::Late);
    assert_eq!(shard.fold(&s, 1, 7, NOW + 5 * M + 1, NOW), Outcome::Future);
    assert!(shard.bucket_starts().is_empty());
    assert_eq!(shard.fold(&s, 1, 7, horizon, NOW), Outcome::Accepted);
    assert_eq!(shard.fold(&s, 1, 7, NOW + 5 * M, NOW), Outcome::Accepted);
    assert_eq!(
        shard.bucket_starts(),
        [s.bucket_floor(horizon), s.bucket_floor(NOW + 5 * M)]
    );
}

#[test]
fn prune_drops_buckets_that_ended_at_or_before_the_horizon() {
    let s = settings(10);
    let mut shard = Shard::new();
    // NOW - 30d - 30m = T - 30d: bucket [T-30d, T-30d+1h).
    let old = NOW - 30 * D - 30 * M;
    assert_eq!(shard.fold(&s, 1, 1, old, NOW), Outcome::Accepted);
    assert_eq!(shard.fold(&s, 1, 2, NOW, NOW), Outcome::Accepted);
    assert_eq!(shard.bucket_starts(), [T - 30 * D, T]);

    // Horizon T-30d+59m: the old bucket has not ended yet.
    shard.prune(&s, NOW + H - M + 30 * M);
    assert_eq!(shard.bucket_starts(), [T - 30 * D, T]);
    // Horizon T-30d+1h: it ended exactly at the horizon.
    shard.prune(&s, NOW + H + 30 * M);
    assert_eq!(shard.bucket_starts(), [T]);
    assert!(shard.bucket(T - 30 * D).is_none());
    assert_eq!(shard.bucket(T).map(|b| b.events(1)), Some(1));
}

#[test]
fn a_new_newest_bucket_prunes_expired_buckets_by_itself() {
    let s = settings(10);
    let mut shard = Shard::new();
    shard.fold(&s, 1, 1, NOW - 30 * D - 30 * M, NOW);
    let later = NOW + 2 * H;
    assert_eq!(shard.fold(&s, 1, 1, later, later), Outcome::Accepted);
    assert_eq!(shard.bucket_starts(), [T + 2 * H]);
}

#[test]
fn out_of_order_events_land_in_their_buckets_which_stay_sorted() {
    let s = settings(10);
    let mut shard = Shard::new();
    for at in [NOW, NOW - 5 * H, NOW - 2 * H, NOW - 5 * H + 1, NOW - H, NOW] {
        assert_eq!(shard.fold(&s, 3, 9, at, NOW), Outcome::Accepted);
    }
    assert_eq!(shard.bucket_starts(), [T - 5 * H, T - 2 * H, T - H, T]);
    let events: Vec<u64> = shard
        .bucket_starts()
        .into_iter()
        .map(|b| shard.bucket(b).unwrap().events(3))
        .collect();
    assert_eq!(events, [2, 1, 1, 2]);
    assert_eq!(shard.bucket(T).unwrap().users(3), 1);
    assert_eq!(shard.bucket(T).unwrap().active_users(), 1);
}

#[test]
fn merging_shards_equals_folding_everything_into_one_shard() {
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

    // Large enough for dense sketches: HLL registers merge exactly (max), so
    // only the float rounding of the running harmonic sum may differ.
    let mut events = Vec::new();
    let mut users = String::new();
    for i in 0..20_000usize {
        let _ = write!(users, "u-{i} ");
    }
    let users: Vec<&'static str> = users.leak().split_whitespace().collect();
    let names = ["search", "export", "billing"];
    for (i, user) in users.iter().enumerate() {
        let at = NOW - (i as Millis % 200) * H - 7 * M;
        events.push((i % 4, names[i % 3], *user, at));
        events.push((i % 4, names[(i + 1) % 3], *user, at - 3 * D));
    }
    let mut features = Features::new(10);
    let mut four = [Shard::new(), Shard::new(), Shard::new(), Shard::new()];
    fold_all(&s, &mut features, &mut four, &events);
    let mut one = [Shard::new()];
    fold_all(&s, &mut features, &mut one, &events);
    let a = report(&s, &features, &ships, &four);
    let b = report(&s, &features, &ships, &one);
    let close = |x: &[u64], y: &[u64]| {
        x.iter()
            .zip(y)
            .all(|(&x, &y)| x.abs_diff(y) as f64 <= 1e-4 * y as f64)
    };
    assert!(close(&a.active_users, &b.active_users));
    assert_eq!(a.features.len(), b.features.len());
    for (fa, fb) in a.features.iter().zip(&b.features) {
        assert_eq!(fa.feature, fb.feature);
        assert_eq!(fa.events, fb.events);
        assert!(close(&fa.users, &fb.users), "{fa:?} vs {fb:?}");
    }
    assert_eq!(a.shipped, b.shipped);
    assert_eq!(a.used, b.used);
    assert_eq!(a.feedback_cycle, b.feedback_cycle);
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

#[test]
fn a_use_before_shipping_in_the_shipping_bucket_hides_a_later_use_in_that_bucket() {
    // Documented limit: first use is read from each bucket's earliest usage.
    let s = settings(10);
    let mut features = Features::new(10);
    let mut shards = [Shard::new()];
    let shipped_at = T - 3 * D + 30 * M;
    fold_all(
        &s,
        &mut features,
        &mut shards,
        &[
            (0, "beta", "u1", shipped_at - 10 * M), // before shipping, same bucket
            (0, "beta", "u1", shipped_at + 10 * M), // true first use, same bucket
            (0, "beta", "u2", shipped_at + D),      // next bucket with usage
        ],
    );
    let ships = [FirstShip {
        feature: "beta",
        at: shipped_at,
        service: "svc",
        team: "t",
    }];
    let r = report(&s, &features, &ships, &shards);
    assert_eq!(r.shipped_features[0].users_since_ship, 2);
    assert_eq!(r.shipped_features[0].time_to_first_use, Some(D));
}

#[test]
fn usage_before_shipping_in_an_earlier_bucket_is_not_a_first_use() {
    let s = settings(10);
    let mut features = Features::new(10);
    let mut shards = [Shard::new()];
    let shipped_at = T - 3 * D + 30 * M;
    fold_all(
        &s,
        &mut features,
        &mut shards,
        &[
            (0, "beta", "early", shipped_at - 2 * H),
            (0, "beta", "u1", shipped_at + 10 * M),
        ],
    );
    let ships = [FirstShip {
        feature: "beta",
        at: shipped_at,
        service: "svc",
        team: "t",
    }];
    let r = report(&s, &features, &ships, &shards);
    assert_eq!(r.shipped_features[0].users_since_ship, 1);
    assert_eq!(r.shipped_features[0].time_to_first_use, Some(10 * M));
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

/// Folds `n` distinct users ("u-{i}") over 2 shards and 72 hourly buckets,
/// each user twice (two buckets), into feature "a"; every third user also into
/// "b". Returns the worst relative error over windows of "a", "b" and active
/// users, after asserting each is within 2 %.
fn assert_estimates_within_2_percent(n: usize) -> f64 {
    let s = settings(10);
    let mut features = Features::new(10);
    let a = features.intern("a");
    let b = features.intern("b");
    let mut shards = [Shard::new(), Shard::new()];
    let nw = s.windows.len();
    let (mut truth_a, mut truth_b) = (vec![0u64; nw], vec![0u64; nw]);
    let mut events_a = vec![0u64; nw];
    let in_window = |w: &Window, at: Millis| s.bucket_floor(at) + s.bucket > NOW - w.width;
    let mut user = String::with_capacity(16);
    let started = Instant::now();
    for i in 0..n {
        user.clear();
        let _ = write!(user, "u-{i}");
        let h = hash_user(&user);
        let shard = &mut shards[i % 2];
        let at1 = NOW - (i as Millis % 72) * H - M;
        let at2 = NOW - ((i as Millis * 7 + 3) % 72) * H - M;
        for at in [at1, at2] {
            shard.fold(&s, a, h, at, NOW);
        }
        if i % 3 == 0 {
            shard.fold(&s, b, h, at1, NOW);
        }
        for (w, window) in s.windows.iter().enumerate() {
            let seen = in_window(window, at1) || in_window(window, at2);
            truth_a[w] += u64::from(seen);
            events_a[w] += u64::from(in_window(window, at1)) + u64::from(in_window(window, at2));
            truth_b[w] += u64::from(i % 3 == 0 && in_window(window, at1));
        }
    }
    let folded = started.elapsed();
    let started = Instant::now();
    let r = report(&s, &features, &[], &shards);
    let merged = started.elapsed();

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
        "n={n}: fold {folded:?}, merge+report {merged:?}, worst error {:.3} %",
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
fn memory_per_feature_bucket_stays_small_sparse_and_bounded_dense() {
    let s = settings(10);
    let mut last = 0;
    for users in [1u64, 100, 10_000] {
        let mut shard = Shard::new();
        for u in 0..users {
            shard.fold(&s, 1, hash_user(&format!("u-{u}")), NOW, NOW);
        }
        let bucket = shard.bucket(T).expect("one bucket");
        let usage = &bucket.features[&1];
        let per_feature_bucket = FEATURE_ENTRY_BYTES + usage.memory_bytes();
        println!(
            "{users} users: {per_feature_bucket} B per (feature, bucket) \
             (sketch heap {} B); whole shard {} B",
            usage.memory_bytes(),
            shard.memory_bytes()
        );
        assert!(per_feature_bucket <= 16 * 1024);
        assert!(per_feature_bucket >= last);
        last = per_feature_bucket;
        if users == 1 {
            assert_eq!(usage.memory_bytes(), 0, "one user needs no sketch heap");
        }
        if users == 100 {
            assert!(per_feature_bucket <= 1024);
        }
    }
}
