//! The demo's value stream: every record is one the daemon reads, and
//! folded into the real flow and satisfaction state it tells the story the
//! profiles promise.

use std::collections::HashSet;

use super::*;
use crate::domain::dora::FirstShip;
use crate::domain::flow::{FlowSettings, FlowState};
use crate::domain::health::HealthTier;
use crate::domain::satisfaction::{SatisfactionSettings, SatisfactionState};
use crate::domain::{Event, Outcome};
use crate::ingest::decode::decode;
use crate::testkit::NOW;

fn backfill() -> Vec<Record> {
    ValueStream::new(crate::demo::SEED).backfill(NOW)
}

#[test]
fn every_record_decodes_with_its_key_and_time_inside_the_history() {
    let records = backfill();
    let (mut items, mut responses, mut tickets, mut reopened) = (0, 0, 0, 0);
    for r in &records {
        assert!(r.at <= NOW && r.at >= NOW - HISTORY, "{r:?}");
        match decode(r.topic.stream(), r.payload.as_bytes(), &r.decoder_headers()) {
            Ok(Event::WorkItem(w)) => {
                assert_eq!(r.topic, Topic::WorkItems);
                assert_eq!(w.id, r.key);
                assert_eq!(w.at, r.at);
                items += 1;
                tickets += usize::from(!r.headers.is_empty() || r.payload.contains("specversion"));
                reopened += usize::from(w.state == "Reopened");
            }
            Ok(Event::Satisfaction(s)) => {
                assert_eq!(r.topic, Topic::Satisfaction);
                let key = s.service.as_deref().or(s.feature.as_deref());
                assert_eq!(key, Some(r.key.as_str()));
                responses += 1;
            }
            other => panic!("{other:?}: {r:?}"),
        }
    }
    assert!(items > 500, "{items} transitions");
    assert!(responses > 400, "{responses} responses");
    // About half the transitions are CDEvents tickets.
    let share = tickets as f64 / f64::from(items);
    assert!((0.4..0.6).contains(&share), "ticket share {share}");
    assert!(reopened > 0, "some items are reopened");
    // The same seed tells the same story.
    assert_eq!(backfill(), records);
}

/// Who first shipped each catalogue feature, as DORA state would say.
fn owners() -> Vec<FirstShip<'static>> {
    CATALOGUE
        .iter()
        .filter_map(|f| {
            let (service, age) = f.ship?;
            let p = FLOW.iter().find(|p| p.service == service)?;
            Some(FirstShip {
                feature: f.name,
                at: NOW - age,
                service,
                team: p.team,
            })
        })
        .collect()
}

#[test]
fn folded_into_real_state_the_services_land_in_different_flow_bands() {
    let mut flow = FlowState::new(FlowSettings::default());
    let mut sat = SatisfactionState::new(SatisfactionSettings::default());
    for r in backfill() {
        let e = decode(r.topic.stream(), r.payload.as_bytes(), &r.decoder_headers()).unwrap();
        let o = match r.topic {
            Topic::WorkItems => flow.fold(&e, NOW),
            _ => sat.fold(&e, NOW),
        };
        assert_eq!(o, Outcome::Accepted, "{r:?}");
    }
    let f = flow.report(NOW);
    // Every transition's state is in the default mapping.
    assert_eq!(f.unmapped_transitions, 0);
    let series = |service: &str| {
        f.series
            .iter()
            .find(|s| s.service == service)
            .unwrap_or_else(|| panic!("no flow series for {service}"))
    };
    for p in &FLOW {
        let s = series(p.service);
        assert_eq!(s.team, p.team);
        assert!(
            s.windows[2].items_finished >= 5,
            "{}: {:?}",
            p.service,
            s.windows[2]
        );
    }
    let eff = |service: &str| series(service).windows[2].efficiency.unwrap();
    assert_eq!(
        series("checkout").tier,
        Some(HealthTier::Elite),
        "{}",
        eff("checkout")
    );
    assert_eq!(
        series("auth").tier,
        Some(HealthTier::Below),
        "{}",
        eff("auth")
    );
    assert!(eff("checkout") > eff("cart") && eff("cart") > eff("auth"));

    let owners = owners();
    let s = sat.report(NOW, &owners);
    assert_eq!(s.unattributed, [0, 0, 0], "every feature has a first ship");
    let team_score = |p: &FlowProfile| s.score(p.service, p.team, 2).unwrap();
    assert!(
        team_score(&FLOW[0]) > 0.75,
        "checkout {}",
        team_score(&FLOW[0])
    );
    assert!(team_score(&FLOW[4]) < 0.6, "auth {}", team_score(&FLOW[4]));
    // Every response names its team (or gets it from the feature's ship):
    // no (service, unknown) series.
    assert!(s.series.iter().all(|x| x.team != "unknown"));
    assert_eq!(s.series.len(), FLOW.len());
}

#[test]
fn live_ticks_make_finished_items_and_responses_in_the_past() {
    let mut v = ValueStream::new(7);
    let mut items = HashSet::new();
    let mut responses = 0;
    for i in 0..300 {
        let now = NOW + i * 2 * SECOND_MS;
        for r in v.tick(now) {
            assert!(r.at <= now, "{r:?}");
            match decode(r.topic.stream(), r.payload.as_bytes(), &r.decoder_headers()) {
                Ok(Event::WorkItem(w)) => {
                    items.insert(w.id.into_owned());
                }
                Ok(Event::Satisfaction(_)) => responses += 1,
                other => panic!("{other:?}: {r:?}"),
            }
        }
    }
    assert!(items.len() > 20, "{} items", items.len());
    assert!(responses > 30, "{responses} responses");
}
