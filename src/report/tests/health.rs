//! Ingest's side of a report and the label overflow sums.

use std::sync::{Arc, Mutex};

use crate::config::Config;
use crate::domain::dora::DoraState;
use crate::domain::flow::FlowState;
use crate::domain::satisfaction::SatisfactionState;
use crate::domain::{Millis, Outcome, Stream};
use crate::ingest::budget::{Component, StateBudget};
use crate::ingest::outcome::{BatchCounts, Counters};
use crate::ingest::progress::Progress;
use crate::ingest::shards::AdoptionShared;
use crate::report::{LabelOverflow, Sources, with_reports};

const NOW: Millis = 1_800_000_000_000;

fn clock() -> Millis {
    NOW
}

fn sources() -> Sources {
    let config = Config::load(None).expect("defaults load");
    let budget = Arc::new(StateBudget::new(1000));
    Sources {
        dora: Arc::new(Mutex::new(Arc::new(DoraState::new(config.dora_settings())))),
        counters: Arc::new(Counters::default()),
        progress: Arc::new(Progress::default()),
        adoption: Arc::new(AdoptionShared::new(
            config.adoption_settings(),
            budget.clone(),
        )),
        budget,
        topics: [
            "d".into(),
            "i".into(),
            "u".into(),
            "w".into(),
            "s".into(),
            "c".into(),
        ],
        clock,
        flow: Arc::new(Mutex::new(Arc::new(FlowState::new(config.flow_settings())))),
        satisfaction: Arc::new(Mutex::new(Arc::new(SatisfactionState::new(
            config.satisfaction_settings(),
        )))),
    }
}

#[test]
fn health_reads_counters_budget_and_windows_once() {
    let s = sources();
    let mut batch = BatchCounts::default();
    batch.outcome(Stream::Deploys, Outcome::Accepted);
    batch.outcome(Stream::Deploys, Outcome::Accepted);
    batch.outcome(Stream::Incidents, Outcome::Late);
    s.counters.add(&batch);
    // 950 of 1000 bytes: 95 %, at or above 90 %.
    s.budget
        .set(&[(Component::Deploys, 900), (Component::WorkItems, 50)]);
    with_reports(&s, NOW, |r| {
        let h = &r.health;
        assert_eq!(h.events(Stream::Deploys, Outcome::Accepted), 2);
        assert_eq!(h.events(Stream::Incidents, Outcome::Late), 1);
        assert_eq!(h.events(Stream::FeatureUsage, Outcome::Accepted), 0);
        assert_eq!(h.budget_limit, 1000);
        assert_eq!(
            h.budget_level,
            crate::ingest::budget::BudgetLevel::NoNewFeatures
        );
        let bytes: usize = h.state_bytes.iter().map(|(_, b)| b).sum();
        assert_eq!(bytes, 950);
        // One flag per topic and per configured window (1d, 7d, 30d).
        assert!(h.window_complete.iter().all(|w| w.len() == 3));
        assert_eq!(r.windows.len(), 3);
        // Nothing assigned: nothing to replay, no lag.
        assert_eq!(h.replay_remaining, [0; 6]);
        assert!(h.lag.is_empty());
        assert_eq!(r.overflow, LabelOverflow::default());
    });
}

#[test]
fn label_overflow_lists_labels_in_name_order() {
    let o = LabelOverflow {
        service: 3,
        team: 2,
        feature: 7,
    };
    assert_eq!(o.by_label(), [("feature", 7), ("service", 3), ("team", 2)]);
}
