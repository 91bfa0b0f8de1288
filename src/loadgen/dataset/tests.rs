use super::*;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// 2026-11-30T12:30:00Z.
const END: Millis = 1_796_041_800_000;

fn spec(order: Order) -> Spec {
    Spec {
        events: 20_000,
        features: 50,
        users: 200_000,
        days: 28,
        seed: 11,
        end: END,
        order,
        feature_skew: 1.0,
        user_skew: 0.7,
        deploys_per_day: 40.0,
    }
}

fn parse(s: &str) -> Millis {
    (OffsetDateTime::parse(s, &Rfc3339)
        .unwrap()
        .unix_timestamp_nanos()
        / 1_000_000) as Millis
}

/// Every usage event of a spec: (key, payload, time).
fn all(spec: Spec) -> Vec<(String, String, Millis)> {
    let mut d = Dataset::new(spec).unwrap();
    let (mut k, mut p) = (Vec::new(), Vec::new());
    let mut out = Vec::new();
    while let Some(t) = d.next_usage(&mut k, &mut p) {
        out.push((
            String::from_utf8(k.clone()).unwrap(),
            String::from_utf8(p.clone()).unwrap(),
            t,
        ));
    }
    out
}

#[test]
fn usage_events_are_200_to_350_bytes_valid_json_keyed_by_their_user() {
    let events = all(spec(Order::Shuffled));
    assert_eq!(events.len(), 20_000);
    let mut total = 0;
    for (key, payload, t) in &events {
        assert!(
            (200..=350).contains(&payload.len()),
            "{} bytes: {payload}",
            payload.len()
        );
        total += payload.len();
        let v: Value = serde_json::from_str(payload).unwrap();
        assert_eq!(v["user"].as_str(), Some(key.as_str()));
        assert_eq!(parse(v["at"].as_str().unwrap()), *t);
        assert!(v["feature"].as_str().is_some_and(|f| !f.is_empty()));
        for field in [
            "account",
            "session",
            "platform",
            "region",
            "app_version",
            "plan",
        ] {
            assert!(v[field].is_string(), "{field} in {payload}");
        }
    }
    let mean = total / events.len();
    assert!((240..=310).contains(&mean), "mean {mean} bytes");
}

#[test]
fn same_seed_and_end_give_the_same_bytes_and_another_seed_does_not() {
    let a = all(spec(Order::Shuffled));
    assert_eq!(a, all(spec(Order::Shuffled)));
    let mut other = spec(Order::Shuffled);
    other.seed = 12;
    assert_ne!(a[..100], all(other)[..100]);
    let d1 = Dataset::new(spec(Order::Time)).unwrap();
    let d2 = Dataset::new(spec(Order::Time)).unwrap();
    assert_eq!(d1.small_records(), d2.small_records());
}

#[test]
fn times_cover_the_days_before_end_in_order_or_shuffled() {
    let start = END - 28 * DAY_MS;
    let ordered = all(spec(Order::Time));
    assert!(ordered.windows(2).all(|w| w[0].2 <= w[1].2));
    assert_eq!(ordered[0].2, start);
    assert!(ordered.last().unwrap().2 > END - DAY_MS && ordered.last().unwrap().2 < END);
    let shuffled = all(spec(Order::Shuffled));
    assert!(shuffled.iter().all(|e| (start..END).contains(&e.2)));
    assert!(shuffled.windows(2).any(|w| w[0].2 > w[1].2));
    // About a quarter of the events fall in the last 7 of 28 days.
    let last_week = shuffled.iter().filter(|e| e.2 >= END - 7 * DAY_MS).count();
    assert!((4_500..5_500).contains(&last_week), "{last_week}");
}

#[test]
fn feature_usage_follows_popularity_and_new_features_wait_for_their_deploy() {
    let d = Dataset::new(spec(Order::Shuffled)).unwrap();
    let names = d.feature_names().to_vec();
    let shipped = d.ship_times().to_vec();
    let distinct: std::collections::HashSet<_> = names.iter().collect();
    assert_eq!(distinct.len(), 50, "feature names are unique");
    assert_eq!(shipped.iter().filter(|s| s.is_some()).count(), 16);
    let events = all(spec(Order::Shuffled));
    let mut count = vec![0usize; names.len()];
    for (_, payload, t) in &events {
        let v: Value = serde_json::from_str(payload).unwrap();
        let f = names
            .iter()
            .position(|n| v["feature"] == n.as_str())
            .unwrap();
        count[f] += 1;
        if let Some(ship) = shipped[f] {
            assert!(*t >= ship, "{} used before it shipped", names[f]);
        }
    }
    // Rank 1 (long-standing) gets about 1/H(50) = 22 % of the draws, plus
    // the fallbacks; rank 2 about half that.
    assert!((4_000..5_200).contains(&count[0]), "{}", count[0]);
    assert!(count[0] > count[1] && count[1] > count[3]);
}

#[test]
fn deploys_ship_the_new_features_and_change_failures_get_incidents() {
    let d = Dataset::new(spec(Order::Time)).unwrap();
    let small = d.small_records();
    let deploys: Vec<Value> = small
        .iter()
        .filter(|r| r.is_deploy)
        .map(|r| serde_json::from_str(&r.payload).unwrap())
        .collect();
    assert_eq!(deploys.len(), 1_120);
    assert!(small.windows(2).all(|w| w[0].at <= w[1].at));
    for (f, ship) in d.ship_times().iter().enumerate() {
        let Some(ship) = ship else { continue };
        let by: Vec<&Value> = deploys
            .iter()
            .filter(|v| {
                // A deploy that ships no feature leaves `features` out.
                v["features"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|x| x == d.feature_names()[f].as_str())
            })
            .collect();
        assert_eq!(by.len(), 1);
        assert_eq!(parse(by[0]["finished_at"].as_str().unwrap()), *ship);
        assert_eq!(by[0]["status"], "succeeded");
        assert_eq!(by[0]["environment"], "production");
    }
    for v in &deploys {
        let finished = parse(v["finished_at"].as_str().unwrap());
        for c in v["changes"].as_array().unwrap() {
            assert!(parse(c["committed_at"].as_str().unwrap()) < finished);
        }
    }
    let failures: std::collections::HashSet<&str> = deploys
        .iter()
        .filter(|v| v["environment"] == "production" && v["status"] != "succeeded")
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    let incidents: Vec<Value> = small
        .iter()
        .filter(|r| !r.is_deploy)
        .map(|r| serde_json::from_str(&r.payload).unwrap())
        .collect();
    let opened = incidents.iter().filter(|v| v["status"] == "opened").count();
    assert_eq!(opened, failures.len());
    assert!(opened > 50, "{opened} incidents");
    for v in &incidents {
        assert!(failures.contains(v["caused_by_deploy"].as_str().unwrap()));
        if v["status"] == "resolved" {
            assert!(
                parse(v["resolved_at"].as_str().unwrap()) > parse(v["opened_at"].as_str().unwrap())
            );
        }
    }
}

#[test]
fn markers_have_the_asked_feature_user_and_time() {
    let d = Dataset::new(spec(Order::Time)).unwrap();
    let (mut k, mut p) = (Vec::new(), Vec::new());
    d.marker("bench-marker", "marker-7", END, &mut k, &mut p);
    assert_eq!(k, b"marker-7");
    let v: Value = serde_json::from_slice(&p).unwrap();
    assert_eq!(v["feature"], "bench-marker");
    assert_eq!(v["user"], "marker-7");
    assert_eq!(parse(v["at"].as_str().unwrap()), END);
}

#[test]
fn zero_counts_are_refused_with_the_flag_name() {
    let mut s = spec(Order::Time);
    s.users = 0;
    assert_eq!(
        Dataset::new(s).unwrap_err().to_string(),
        "--users must be at least 1"
    );
}

#[test]
fn the_daemons_decoder_accepts_every_generated_event() {
    use crate::ingest::Stream;
    use crate::ingest::decode::{Headers, decode};
    let mut d = Dataset::new(spec(Order::Shuffled)).unwrap();
    for r in d.small_records() {
        let stream = if r.is_deploy {
            Stream::Deploys
        } else {
            Stream::Incidents
        };
        assert!(
            decode(stream, r.payload.as_bytes(), &Headers::default()).is_ok(),
            "{}",
            r.payload
        );
    }
    let (mut k, mut p) = (Vec::new(), Vec::new());
    for _ in 0..2_000 {
        d.next_usage(&mut k, &mut p).unwrap();
        assert!(
            decode(Stream::FeatureUsage, &p, &Headers::default()).is_ok(),
            "{}",
            String::from_utf8_lossy(&p)
        );
    }
}
