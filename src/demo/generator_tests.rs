use std::collections::{HashMap, HashSet};

use super::*;
use crate::config::Config;
use crate::domain::dora::DoraState;
use crate::domain::tier::{Tier, TierMetric};
use crate::domain::{DeployStatus, Event, IncidentStatus};
use crate::ingest::decode::{Stream, decode};

/// A fixed "now" (2027-01-15T08:00:00Z), so failures are reproducible.
const NOW: Millis = 1_800_000_000_000;

fn stream(topic: Topic) -> Stream {
    match topic {
        Topic::Deploys => Stream::Deploys,
        Topic::Incidents => Stream::Incidents,
    }
}

/// The backfill, then `ticks` live steps; every record with the `now` it was
/// published at.
fn story(seed: u64, ticks: usize) -> Vec<(Millis, Record)> {
    let mut g = Generator::new(seed);
    let mut out: Vec<(Millis, Record)> = g.backfill(NOW).into_iter().map(|r| (NOW, r)).collect();
    let mut now = NOW;
    for _ in 0..ticks {
        now += g.pause().as_millis() as Millis;
        out.extend(g.tick(now).into_iter().map(|r| (now, r)));
    }
    out
}

#[test]
fn every_event_decodes_and_keeps_the_contract_and_the_time_limits() {
    for seed in [0, 1, 7, 42, 1234, crate::demo::SEED] {
        let records = story(seed, 300);
        let mut invalid = 0;
        // Deploy id → the first payload seen with it.
        let mut deploys: HashMap<String, (String, DeployStatus)> = HashMap::new();
        for (published, r) in &records {
            assert!(
                r.at <= *published,
                "seed {seed}: scheduled after publication: {r:?}"
            );
            let event = match decode(stream(r.topic), r.payload.as_bytes()) {
                Ok(e) => e,
                Err(_) => {
                    assert_eq!(r.payload, INVALID_DEPLOY, "seed {seed}");
                    invalid += 1;
                    continue;
                }
            };
            let (service, time) = match &event {
                Event::Deploy(d) => (d.service.as_ref(), d.finished_at),
                Event::Incident(i) => (i.service.as_ref(), i.event_time()),
                Event::Usage(_) => unreachable!("no usage events yet"),
            };
            assert_eq!(service, r.key, "seed {seed}: key is the service");
            // Inside the 30 days, never in the future of its publication.
            assert!(time >= NOW - HISTORY, "seed {seed}: too old: {r:?}");
            assert!(time <= *published, "seed {seed}: from the future: {r:?}");
            match event {
                Event::Deploy(d) => {
                    assert!(d.team.is_some());
                    assert!(
                        d.artifact
                            .as_deref()
                            .is_some_and(|a| a.starts_with("sha256:"))
                    );
                    if d.rollback_of.is_none() {
                        assert!((1..=4).contains(&d.commit_times.len()), "{r:?}");
                    }
                    match deploys.get(d.id.as_ref()) {
                        None => {
                            deploys.insert(d.id.to_string(), (r.payload.clone(), d.status));
                        }
                        // An identical redelivery, or the later rolled_back mark.
                        Some((first, status)) => assert!(
                            *first == r.payload
                                || (*status == DeployStatus::Succeeded
                                    && d.status == DeployStatus::RolledBack),
                            "seed {seed}: id reused: {r:?}"
                        ),
                    }
                }
                Event::Incident(i) => {
                    if i.status == IncidentStatus::Resolved {
                        assert!(i.resolved_at >= Some(i.opened_at));
                    }
                }
                Event::Usage(_) => unreachable!("no usage events yet"),
            }
        }
        assert_eq!(invalid, 1, "seed {seed}: exactly one invalid record");
    }
}

#[test]
fn the_backfill_tells_the_whole_story() {
    let backfill = Generator::new(crate::demo::SEED).backfill(NOW);
    let mut statuses = HashSet::new();
    let (mut staging, mut rollbacks, mut features, mut duplicates) = (0, 0, 0, 0);
    let mut opened = HashSet::new();
    let mut resolved = HashSet::new();
    for (i, r) in backfill.iter().enumerate() {
        if i > 0 && backfill[i - 1] == *r {
            duplicates += 1;
        }
        match decode(stream(r.topic), r.payload.as_bytes()) {
            Ok(Event::Deploy(d)) => {
                statuses.insert(d.status);
                staging += usize::from(d.environment == "staging");
                rollbacks += usize::from(d.rollback_of.is_some());
                features += usize::from(!d.features.is_empty());
            }
            Ok(Event::Incident(i)) => {
                let set = match i.status {
                    IncidentStatus::Opened => &mut opened,
                    IncidentStatus::Resolved => &mut resolved,
                };
                set.insert(i.id.to_string());
            }
            Ok(Event::Usage(_)) | Err(_) => {}
        }
    }
    assert_eq!(statuses.len(), 3, "succeeded, failed and rolled_back");
    assert!(staging > 10 && rollbacks > 0 && features > 0);
    assert!(duplicates >= 1);
    assert!(
        resolved.len() >= 3,
        "resolved incidents: {}",
        resolved.len()
    );
    assert!(resolved.is_subset(&opened));
    assert!(
        opened.len() > resolved.len(),
        "at least one incident left open"
    );
}

/// Folds the demo's own backfill into the real DORA state: every service has
/// data in every key on 30 days and the tiers differ between services.
#[test]
fn the_backfill_gives_every_service_data_and_different_tiers() {
    let config = Config::load_with_env(None, Vec::<(String, String)>::new()).unwrap();
    let mut state = DoraState::new(config.dora_settings());
    for r in Generator::new(crate::demo::SEED).backfill(NOW) {
        if let Ok(e) = decode(stream(r.topic), r.payload.as_bytes()) {
            state.fold(&e, NOW);
        }
    }
    let report = state.report(NOW);
    let tier = |service: &str, metric: TierMetric| {
        report
            .series
            .iter()
            .find(|s| s.service == service && s.environment == "production")
            .and_then(|s| s.tiers.iter().find(|t| t.0 == metric))
            .map(|t| t.1)
    };
    let with_one_day_deploys = report
        .series
        .iter()
        .filter(|s| s.windows[0].deployments > 0);
    assert!(with_one_day_deploys.count() >= 3);
    for p in &PROFILES {
        let s = report
            .series
            .iter()
            .find(|s| s.service == p.service)
            .unwrap_or_else(|| panic!("no series for {}", p.service));
        assert_eq!(s.team, p.team);
        assert!(
            s.windows[2].deployments >= 3,
            "{}: {:?}",
            p.service,
            s.windows[2]
        );
        assert!(s.windows[2].lead_time.is_some(), "{}", p.service);
    }
    assert!(
        report
            .series
            .iter()
            .all(|s| s.windows[2].time_to_restore.is_some())
    );
    assert!(report.series.iter().any(|s| s.incidents_open > Some(0)));

    // The story of the demo's seed: one service per tier, roughly.
    let checkout = report.series.iter().find(|s| s.service == "checkout");
    assert!(
        checkout.is_some_and(|s| s.tiers.len() == 4 && s.tiers.iter().all(|t| t.1 == Tier::Elite))
    );
    assert_eq!(
        tier("search", TierMetric::ChangeFailureRate),
        Some(Tier::High)
    );
    assert_eq!(tier("cart", TierMetric::LeadTime), Some(Tier::High));
    assert_eq!(
        tier("recommendations", TierMetric::ChangeFailureRate),
        Some(Tier::Medium)
    );
    assert_eq!(tier("auth", TierMetric::LeadTime), Some(Tier::Medium));
    assert_eq!(tier("auth", TierMetric::ChangeFailureRate), Some(Tier::Low));
}

#[test]
fn live_ticks_deploy_now_and_follow_ups_arrive_later() {
    let mut g = Generator::new(3);
    g.backfill(NOW);
    let mut now = NOW;
    let mut incidents = 0;
    for _ in 0..200 {
        now += g.pause().as_millis() as Millis;
        let records = g.tick(now);
        let fresh = records
            .iter()
            .filter(|r| r.at == now && r.topic == Topic::Deploys);
        assert!(fresh.count() >= 1, "a production deploy every tick");
        incidents += records
            .iter()
            .filter(|r| r.topic == Topic::Incidents)
            .count();
    }
    assert!(incidents >= 4, "live incidents: {incidents}");
}

#[test]
fn timestamps_are_rfc3339_utc_to_the_second() {
    assert_eq!(rfc3339(NOW + 999), "2027-01-15T08:00:00Z");
    assert_eq!(crate::ingest::decode::parse_time(&rfc3339(NOW)), Ok(NOW));
}
