//! Both folds over hand-made batches: what each record becomes, what is
//! counted, and the next offsets. Every expected figure is read off the
//! records listed, not from the code.

use std::sync::{Arc, Mutex};

use super::*;
use crate::config::Config;
use crate::domain::adoption::Shard;
use crate::domain::event::InvalidReason;
use crate::ingest::budget::{Component, StateBudget};
use crate::ingest::decode::DeployV1;
use crate::ingest::shards::PartitionShard;
use crate::testkit::{self, HOUR, NOW, json};

/// Small enough that a padded payload is oversized.
const MAX_BYTES: usize = 400;

fn config() -> Config {
    Config::load_with_env(None, Vec::<(String, String)>::new()).unwrap()
}

fn deploy(id: &str, environment: &str, finished_at: Millis) -> String {
    json(&DeployV1 {
        environment: Some(environment.into()),
        ..testkit::deploy(id, finished_at)
    })
}

fn usage(feature: &str, user: &str, at: Millis) -> String {
    json(&testkit::usage(feature, user, at))
}

fn counted(c: &Counters, stream: Stream) -> Vec<(Outcome, u64)> {
    Outcome::ALL
        .into_iter()
        .map(|o| (o, c.events(stream, o)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

fn sorted(mut v: Vec<NextOffset<'_>>) -> Vec<(&str, i32, i64)> {
    v.sort_by_key(|n| (n.topic, n.partition));
    v.into_iter()
        .map(|n| (n.topic, n.partition, n.offset))
        .collect()
}

fn dora_record<'a>(
    topic: &'a str,
    stream: Stream,
    partition: i32,
    offset: i64,
    payload: &'a str,
) -> SmallRecord<'a> {
    SmallRecord {
        topic,
        stream,
        partition,
        offset,
        payload: payload.as_bytes(),
        headers: Headers::NONE,
    }
}

fn usage_record(partition: i32, offset: i64, generation: u64, payload: &str) -> UsageRecord<'_> {
    UsageRecord {
        partition,
        offset,
        generation,
        payload: payload.as_bytes(),
    }
}

#[test]
fn dora_batch_folds_under_one_lock_counts_each_outcome_and_returns_next_offsets() {
    let c = config();
    let states = SmallStates::from_config(&c);
    let counters = Counters::default();
    let hour_ago = NOW - HOUR;
    let d1 = deploy("d-1", "production", hour_ago);
    let staging = deploy("d-2", "staging", hour_ago);
    let late = deploy("d-3", "production", NOW - 45 * 24 * HOUR);
    let big = format!(r#"{{"pad":"{}"}}"#, "x".repeat(MAX_BYTES));
    let opened =
        r#"{"id":"i-1","service":"checkout","status":"opened","opened_at":"2027-01-15T07:30:00Z"}"#;
    let future =
        r#"{"id":"i-2","service":"checkout","status":"opened","opened_at":"2027-01-15T09:00:00Z"}"#;
    let pipeline = r#"{"specversion":"1.0","id":"p-1","source":"/ci","type":"dev.cdevents.pipelinerun.finished.0.2.0","data":{}}"#;
    let structured = Headers {
        content_type: Some(b"application/cloudevents+json"),
        ..Headers::NONE
    };
    let rec = dora_record;
    let (dep, inc) = (Stream::Deploys, Stream::Incidents);
    let records = [
        rec("deploys", dep, 0, 10, &d1),        // accepted
        rec("deploys", dep, 0, 11, &d1),        // identical redelivery: duplicate
        rec("deploys", dep, 1, 3, &staging),    // untracked environment: ignored
        rec("deploys", dep, 1, 4, "{not json"), // invalid (malformed_json)
        rec("deploys", dep, 0, 12, &big),       // oversized, never decoded
        rec("incidents", inc, 0, 7, opened),    // accepted
        SmallRecord {
            headers: structured,
            ..rec("deploys", dep, 1, 5, pipeline) // unsupported CDEvents type
        },
        rec("deploys", dep, 0, 13, &late),   // 45 days old: late
        rec("incidents", inc, 0, 8, future), // an hour ahead: future
    ];
    let next = fold_small_records(&states, &records, MAX_BYTES, NOW, &counters);

    assert_eq!(
        sorted(next),
        vec![("deploys", 0, 14), ("deploys", 1, 6), ("incidents", 0, 9)]
    );
    assert_eq!(
        counted(&counters, dep),
        vec![
            (Outcome::Accepted, 1),
            (Outcome::Duplicate, 1),
            (Outcome::Invalid, 1),
            (Outcome::Late, 1),
            (Outcome::Oversized, 1),
            (Outcome::Ignored, 1),
            (Outcome::Unsupported, 1),
        ]
    );
    assert_eq!(counters.invalid(dep, InvalidReason::MalformedJson), 1);
    assert_eq!(
        counted(&counters, inc),
        vec![(Outcome::Accepted, 1), (Outcome::Future, 1)]
    );
    assert!(counted(&counters, Stream::FeatureUsage).is_empty());
    assert_eq!(lock(&states.dora).deploy_count(), 1);
}

#[test]
fn small_batch_folds_work_items_and_responses_into_their_own_states_and_copies_only_those() {
    let c = config();
    let states = SmallStates::from_config(&c);
    // A report holds every state: a batch must copy the ones it changes
    // and leave the others shared.
    let (dora, flow, satisfaction) = (
        lock(&states.dora).clone(),
        lock(&states.flow).clone(),
        lock(&states.satisfaction).clone(),
    );
    let counters = Counters::default();
    let item = |state, at| json(&testkit::work_item("PAY-1", state, at));
    let (started, done) = (
        item("In Progress", NOW - 3 * HOUR),
        item("Done", NOW - HOUR),
    );
    let csat = &json(&testkit::satisfaction("r-1", "csat", 4, NOW - HOUR));
    let nps11 = &json(&testkit::satisfaction("r-2", "nps", 11, NOW - HOUR));
    let (wi, sat) = (Stream::WorkItems, Stream::Satisfaction);
    let records = [
        dora_record("work-items", wi, 0, 0, &started), // accepted
        dora_record("work-items", wi, 0, 1, &done),    // accepted
        dora_record("work-items", wi, 0, 2, &done),    // duplicate
        dora_record("satisfaction", sat, 0, 5, csat),  // accepted
        dora_record("satisfaction", sat, 0, 6, nps11), // invalid (out_of_range)
    ];
    let next = fold_small_records(&states, &records, MAX_BYTES, NOW, &counters);

    assert_eq!(
        sorted(next),
        vec![("satisfaction", 0, 7), ("work-items", 0, 3)]
    );
    assert_eq!(
        counted(&counters, wi),
        vec![(Outcome::Accepted, 2), (Outcome::Duplicate, 1)]
    );
    assert_eq!(
        counted(&counters, sat),
        vec![(Outcome::Accepted, 1), (Outcome::Invalid, 1)]
    );
    assert_eq!(counters.invalid(sat, InvalidReason::OutOfRange), 1);
    assert!(counted(&counters, Stream::Deploys).is_empty());
    // 2 h in progress, then done: one item, all active.
    let times = lock(&states.flow).item("PAY-1").unwrap();
    assert_eq!((times.active, times.waiting), (2 * 3_600_000, 0));
    assert_eq!(lock(&states.satisfaction).response_count(), 1);
    assert!(Arc::ptr_eq(&dora, &lock(&states.dora)), "DORA state copied");
    assert!(!Arc::ptr_eq(&flow, &lock(&states.flow)));
    assert!(!Arc::ptr_eq(&satisfaction, &lock(&states.satisfaction)));
    assert_eq!(flow.item_count(), 0, "the report's copy changed");
}

#[test]
fn usage_batch_guards_offsets_and_generations_and_skips_unowned_partitions() {
    let c = config();
    let shared = AdoptionShared::new(c.adoption_settings(), Arc::new(StateBudget::new(1 << 30)));
    lock(&shared.shards).insert(
        0,
        Arc::new(Mutex::new(PartitionShard {
            shard: Shard::new(),
            next_offset: 100,
            generation: 2,
        })),
    );
    let counters = Counters::default();
    let hour_ago = NOW - HOUR;
    let a = usage("f-a", "u-1", hour_ago);
    let b = usage("f-b", "u-2", hour_ago);
    let late = usage("f-c", "u-3", NOW - 45 * 24 * HOUR);
    let big = usage("f-d", &"u".repeat(MAX_BYTES), hour_ago);
    let rec = usage_record;
    let records = [
        rec(0, 100, 2, &a),     // accepted
        rec(0, 101, 2, &b),     // accepted
        rec(1, 50, 2, &a),      // partition not owned: skipped, not counted
        rec(0, 101, 2, &b),     // at an offset already folded: duplicate
        rec(0, 102, 1, &a),     // polled before the shard existed: skipped
        rec(0, 102, 2, "{bad"), // invalid (malformed_json)
        rec(0, 103, 2, &big),   // oversized
        rec(0, 104, 2, &late),  // 45 days old: late
        rec(0, 99, 2, "{bad"),  // already folded offset: duplicate, not invalid
    ];
    let next = fold_usage_records(
        &shared,
        "feature-usage",
        &records,
        MAX_BYTES,
        NOW,
        &counters,
    );

    assert_eq!(sorted(next), vec![("feature-usage", 0, 105)]);
    assert_eq!(
        counted(&counters, Stream::FeatureUsage),
        vec![
            (Outcome::Accepted, 2),
            (Outcome::Duplicate, 2),
            (Outcome::Invalid, 1),
            (Outcome::Late, 1),
            (Outcome::Oversized, 1),
        ]
    );
    assert_eq!(
        counters.invalid(Stream::FeatureUsage, InvalidReason::MalformedJson),
        1
    );
    let features = lock(&shared.features);
    let shards = shared.shards();
    let ps = lock(&shards[0].1);
    assert_eq!(ps.next_offset, 105);
    let events = |f: &str| {
        ps.shard
            .feature(features.get(f).unwrap())
            .map_or(0, |u| u.events.since(0))
    };
    assert_eq!((events("f-a"), events("f-b")), (1, 1));
}

#[test]
fn a_full_budget_refuses_usage_and_a_near_one_admits_no_new_feature() {
    let c = config();
    let budget = Arc::new(StateBudget::new(1000));
    let shared = AdoptionShared::new(c.adoption_settings(), budget.clone());
    lock(&shared.shards).insert(0, Arc::new(Mutex::new(PartitionShard::default())));
    let counters = Counters::default();
    let hour_ago = NOW - HOUR;
    let (a, b) = (
        usage("known", "u-1", hour_ago),
        usage("new", "u-2", hour_ago),
    );
    let fold = |records: &[UsageRecord<'_>]| {
        fold_usage_records(&shared, "feature-usage", records, MAX_BYTES, NOW, &counters)
            .into_iter()
            .map(|n| ("feature-usage", n.partition, n.offset))
            .collect::<Vec<_>>()
    };
    fold(&[usage_record(0, 0, 0, &a)]);
    // At 90 %: "new" folds into __other__, "known" still counts.
    budget.set(&[(Component::AdoptionSketches, 950)]);
    fold(&[usage_record(0, 1, 0, &b), usage_record(0, 2, 0, &a)]);
    {
        let features = lock(&shared.features);
        assert_eq!(features.get("new"), None);
        assert_eq!(features.overflow(), 1);
    }
    // At 100 %: valid usage is refused, counted, and its offset passed.
    budget.set(&[(Component::AdoptionSketches, 1000)]);
    let next = fold(&[usage_record(0, 3, 0, &a), usage_record(0, 4, 0, "{bad")]);
    assert_eq!(next, vec![("feature-usage", 0, 5)]);
    assert_eq!(
        counted(&counters, Stream::FeatureUsage),
        vec![
            (Outcome::Accepted, 3),
            (Outcome::Invalid, 1),
            (Outcome::OverBudget, 1),
        ]
    );
}
