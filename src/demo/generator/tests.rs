use std::collections::{BTreeMap, HashMap, HashSet};

use super::*;
use crate::config::Config;
use crate::demo::usage::{CATALOGUE, USERS};
use crate::domain::adoption::{Features, ReportBuilder, Shard, hash_user};
use crate::domain::dora::DoraState;
use crate::domain::tier::{Tier, TierMetric};
use crate::domain::{DeployStatus, Event, IncidentStatus};
use crate::ingest::Stream;
use crate::ingest::decode::{DecodeError, decode};
use crate::testkit::NOW;

/// Live usage is published every this long in the tests (as in the demo).
const USAGE_EVERY: Duration = Duration::from_millis(200);

/// Live usage of [`story`] between two deploys: about 30 events.
const STORY_USAGE: Duration = Duration::from_millis(100);

/// The backfill, then `ticks` live steps with some usage between them; every
/// record with the `now` it was published at.
fn story(seed: u64, ticks: usize) -> Vec<(Millis, Record)> {
    let mut g = Generator::new(seed);
    let mut out: Vec<(Millis, Record)> = g.backfill(NOW).into_iter().map(|r| (NOW, r)).collect();
    let mut now = NOW;
    for _ in 0..ticks {
        let next = now + g.pause().as_millis() as Millis;
        // Some usage between two deploys (fewer events than live, enough
        // to check them).
        let between = i64::midpoint(now, next);
        out.extend(
            g.usage(between, STORY_USAGE)
                .into_iter()
                .map(|r| (between, r)),
        );
        now = next;
        out.extend(g.tick(now).into_iter().map(|r| (now, r)));
    }
    out
}

/// Features first shipped, with the time: the earliest production deploy
/// that lists them and did not fail (what the daemon calls a first ship).
fn first_ships<'a>(records: impl Iterator<Item = &'a Record>) -> BTreeMap<String, Millis> {
    let mut ships = BTreeMap::new();
    for r in records.filter(|r| r.topic == Topic::Deploys) {
        if let Ok(Event::Deploy(d)) =
            decode(Stream::Deploys, r.payload.as_bytes(), &r.decoder_headers())
            && d.environment == "production"
            && d.status != DeployStatus::Failed
        {
            for f in &d.features {
                let at = ships.entry(f.to_string()).or_insert(d.finished_at);
                *at = (*at).min(d.finished_at);
            }
        }
    }
    ships
}

#[test]
fn every_event_decodes_and_keeps_the_contract_and_the_time_limits() {
    for seed in [0, 1, 7, 42, 1234, crate::demo::SEED] {
        let records = story(seed, 300);
        let ships = first_ships(records.iter().map(|(_, r)| r));
        let mut invalid = 0;
        let mut unsupported = 0;
        let mut usage = 0;
        // Deploy id → the first payload seen with it.
        let mut deploys: HashMap<String, (String, DeployStatus)> = HashMap::new();
        for (published, r) in &records {
            assert!(
                r.at <= *published,
                "seed {seed}: scheduled after publication: {r:?}"
            );
            let event = match decode(r.topic.stream(), r.payload.as_bytes(), &r.decoder_headers()) {
                Ok(e) => e,
                Err(DecodeError::Unsupported) => {
                    assert!(r.payload.contains("dev.cdevents.pipelinerun.finished"));
                    unsupported += 1;
                    continue;
                }
                Err(_) => {
                    assert_eq!(r.payload, INVALID_DEPLOY, "seed {seed}");
                    invalid += 1;
                    continue;
                }
            };
            // Deploys and incidents are keyed by service, usage by user id.
            let (key, time) = match &event {
                Event::Deploy(d) => (d.service.as_ref(), d.finished_at),
                Event::Incident(i) => (i.service.as_ref(), i.event_time()),
                Event::Usage(u) => (u.user.as_ref(), u.at),
                // Not made by this generator (see `value.rs`).
                Event::WorkItem(w) => (w.id.as_ref(), w.at),
                Event::Satisfaction(s) => (s.service.as_deref().unwrap_or_default(), s.at),
                Event::Push(c) => (c.repository.as_ref(), c.committed_at),
            };
            assert_eq!(key, r.key, "seed {seed}: wrong key: {r:?}");
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
                        assert!((1..=4).contains(&d.changes.len()), "{r:?}");
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
                        assert!(i.resolved_at >= i.opened_at && i.opened_at.is_some());
                    }
                }
                Event::Usage(u) => {
                    usage += 1;
                    assert_eq!(r.topic, Topic::FeatureUsage);
                    assert!(
                        r.payload.contains(r#","account":"acct-"#),
                        "seed {seed}: no account: {r:?}"
                    );
                    // A shipped feature is used only once shipped.
                    if let Some(&shipped) = ships.get(u.feature.as_ref()) {
                        assert!(u.at >= shipped, "seed {seed}: used before shipping: {r:?}");
                    }
                }
                Event::WorkItem(_) | Event::Satisfaction(_) | Event::Push(_) => {
                    panic!("seed {seed}: the DORA generator made a value-stream event: {r:?}")
                }
            }
        }
        assert_eq!(invalid, 1, "seed {seed}: exactly one invalid record");
        assert!(
            unsupported > 10,
            "seed {seed}: {unsupported} pipelinerun CDEvents"
        );
        assert!(usage > 20_000, "seed {seed}: {usage} usage events");
    }
}

#[test]
fn the_backfill_tells_the_whole_story() {
    let backfill = Generator::new(crate::demo::SEED).backfill(NOW);
    let mut statuses = HashSet::new();
    let (mut staging, mut rollbacks, mut features, mut duplicates) = (0, 0, 0, 0);
    let mut usage = 0;
    let mut opened = HashSet::new();
    let mut resolved = HashSet::new();
    for (i, r) in backfill.iter().enumerate() {
        if i > 0 && backfill[i - 1] == *r {
            duplicates += 1;
        }
        match decode(r.topic.stream(), r.payload.as_bytes(), &r.decoder_headers()) {
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
            Ok(Event::Usage(_)) => usage += 1,
            Ok(Event::WorkItem(_) | Event::Satisfaction(_) | Event::Push(_)) | Err(_) => {}
        }
    }
    // Modest enough to publish in seconds.
    assert!((20_000..=100_000).contains(&usage), "usage events: {usage}");
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
        if let Ok(e) = decode(r.topic.stream(), r.payload.as_bytes(), &r.decoder_headers()) {
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
    assert_eq!(to_the_second(NOW + 999), "2027-01-15T08:00:00Z");
    assert_eq!(
        crate::ingest::decode::parse_time(&to_the_second(NOW)),
        Ok(NOW)
    );
}

/// Folds the demo's own backfill into the real DORA and adoption state (four
/// partitions, users spread by hash as a keyed producer would): every
/// adoption figure has data, on each window as planned.
#[test]
fn the_backfill_gives_every_adoption_metric_data() {
    let config = Config::load_with_env(None, Vec::<(String, String)>::new()).unwrap();
    let settings = config.adoption_settings();
    let mut dora = DoraState::new(config.dora_settings());
    let mut features = Features::new(settings.max_features);
    let mut shards: Vec<Shard> = (0..4).map(|_| Shard::new()).collect();
    for r in Generator::new(crate::demo::SEED).backfill(NOW) {
        match decode(r.topic.stream(), r.payload.as_bytes(), &r.decoder_headers()) {
            Ok(Event::Usage(u)) => {
                let hash = hash_user(&u.user);
                let id = features.intern(&u.feature);
                let shard = &mut shards[(hash % 4) as usize];
                shard.fold(&settings, id, hash, u.at, NOW);
            }
            Ok(e) => {
                dora.fold(&e, NOW);
            }
            Err(_) => {}
        }
    }
    let ships = dora.first_ships();
    let mut builder = ReportBuilder::new(&settings, &ships, &features, NOW);
    for shard in &shards {
        builder.add_active(shard.active());
        for id in shard.feature_ids() {
            builder.add_feature(id, shard.feature(id).unwrap());
        }
    }
    let report = builder.finish(&features, &ships);

    // 1d: saml-sso (never used), one-click-checkout, semantic-search;
    // 7d: + typo-tolerance, apple-pay; 30d: + passkeys, similar-items,
    // gift-cards (never used), save-for-later.
    assert_eq!(report.shipped, [3, 5, 9]);
    assert_eq!(report.used, [2, 4, 7]);
    assert!(report.feedback_cycle.iter().all(Option::is_some));
    for spec in CATALOGUE.iter().filter(|f| f.ship.is_some()) {
        let s = report
            .shipped_features
            .iter()
            .find(|s| s.feature == spec.name)
            .unwrap_or_else(|| panic!("{} not shipped", spec.name));
        let (service, age) = spec.ship.unwrap();
        assert_eq!(s.service, service);
        assert_eq!(s.shipped_at, second_floor(NOW - age), "{}", spec.name);
        if spec.reach > 0.0 {
            let ttfu = s.time_to_first_use.expect("used");
            assert!(
                (SECOND_MS..6 * HOUR_MS).contains(&ttfu),
                "{}: {ttfu}",
                spec.name
            );
            assert!(
                s.users_since_ship >= 50,
                "{}: {}",
                spec.name,
                s.users_since_ship
            );
        } else {
            assert_eq!((s.users_since_ship, s.time_to_first_use), (0, None));
        }
    }
    // Every used feature, long-standing ones included, has usage figures;
    // popularity differs.
    let used: Vec<_> = CATALOGUE.iter().filter(|f| f.reach > 0.0).collect();
    assert_eq!(report.features.len(), used.len());
    for f in &report.features {
        assert!(f.users.iter().all(|&n| n > 0), "{f:?}");
        assert!(f.events[0] <= f.events[1] && f.events[1] <= f.events[2]);
        assert!(f.adoption_ratio.iter().all(|r| r.is_some_and(|r| r > 0.0)));
        let shipped = CATALOGUE
            .iter()
            .any(|c| c.name == f.feature && c.ship.is_some());
        assert_eq!(f.service.is_some(), shipped, "{f:?}");
    }
    let users_30d: Vec<u64> = report.features.iter().map(|f| f.users[2]).collect();
    let (min, max) = (
        users_30d.iter().min().unwrap(),
        users_30d.iter().max().unwrap(),
    );
    assert!(*max > 3 * *min, "popularity: {users_30d:?}");
    assert!(report.active_users[0] > 300, "{:?}", report.active_users);
    assert!(
        (1_000..=USERS as u64 + USERS as u64 / 50).contains(&report.active_users[2]),
        "{:?}",
        report.active_users
    );
}

/// Adoption grows after shipping: more distinct users in the last day than
/// in the first day after the deploy, for every used feature shipped at
/// least four days ago.
#[test]
fn adoption_grows_after_shipping() {
    let backfill = Generator::new(crate::demo::SEED).backfill(NOW);
    let mut checked = 0;
    for spec in &CATALOGUE {
        let Some((_, age)) = spec.ship.filter(|s| s.1 >= 4 * DAY_MS && spec.reach > 0.0) else {
            continue;
        };
        let shipped = second_floor(NOW - age);
        let users_between = |from: Millis, to: Millis| {
            backfill
                .iter()
                .filter(|r| r.topic == Topic::FeatureUsage && (from..to).contains(&r.at))
                .filter(|r| r.payload.contains(&format!(r#""feature":"{}""#, spec.name)))
                .map(|r| r.key.as_str())
                .collect::<HashSet<_>>()
                .len()
        };
        let first_day = users_between(shipped, shipped + DAY_MS);
        let last_day = users_between(NOW - DAY_MS, NOW);
        assert!(
            last_day > first_day,
            "{}: {first_day} → {last_day}",
            spec.name
        );
        checked += 1;
    }
    assert!(checked >= 4);
}

/// Live: usage at `now`, a few hundred events a second; every 20–40 s a
/// deploy launches a brand-new feature, first used seconds later.
#[test]
fn live_usage_flows_and_launched_features_are_used_within_seconds() {
    let mut g = Generator::new(crate::demo::SEED);
    let backfill = g.backfill(NOW);
    let known: HashSet<&str> = CATALOGUE.iter().map(|f| f.name).collect();
    let unused: HashSet<&str> = CATALOGUE
        .iter()
        .filter(|f| f.reach == 0.0)
        .map(|f| f.name)
        .collect();
    let mut now = NOW;
    let step = USAGE_EVERY.as_millis() as Millis;
    let mut next_tick = now + g.pause().as_millis() as Millis;
    let mut usage = 0;
    // Launched feature → (its deploy's time, its first use).
    let mut launched: BTreeMap<String, (Millis, Option<Millis>)> = BTreeMap::new();
    // Two minutes of live steps.
    while now < NOW + 120_000 {
        now += step;
        let mut records = g.usage(now, USAGE_EVERY);
        if now >= next_tick {
            records.extend(g.tick(now));
            next_tick = now + g.pause().as_millis() as Millis;
        }
        for r in &records {
            let event = decode(r.topic.stream(), r.payload.as_bytes(), &r.decoder_headers());
            if event == Err(DecodeError::Unsupported) {
                continue;
            }
            match event.unwrap() {
                Event::Deploy(d) if d.environment == "production" => {
                    for f in d.features.iter().filter(|f| !known.contains(f.as_ref())) {
                        assert_ne!(d.status, DeployStatus::Failed);
                        launched
                            .entry(f.to_string())
                            .or_insert((d.finished_at, None));
                    }
                }
                Event::Usage(u) => {
                    usage += 1;
                    assert_eq!(u.at, second_floor(now));
                    assert_eq!(u.user, r.key);
                    if let Some((_, first)) = launched.get_mut(u.feature.as_ref()) {
                        first.get_or_insert(u.at);
                    }
                    assert!(
                        known.contains(u.feature.as_ref())
                            || launched.contains_key(u.feature.as_ref()),
                        "{r:?}"
                    );
                    // Shipped, never used, live or not.
                    assert!(!unused.contains(u.feature.as_ref()), "{r:?}");
                }
                _ => {}
            }
        }
    }
    // 300 a second, give or take.
    assert!(
        (27_000..=45_000).contains(&usage),
        "live usage events: {usage}"
    );
    assert!((3..=5).contains(&launched.len()), "{launched:?}");
    for (feature, (shipped, first)) in &launched {
        let first = first.unwrap_or_else(|| panic!("{feature} never used"));
        assert!(
            (2 * SECOND_MS..=8 * SECOND_MS).contains(&(first - shipped)),
            "{feature}: first used {} ms after shipping",
            first - shipped
        );
    }
    assert!(backfill.iter().all(|r| {
        r.topic != Topic::FeatureUsage
            || unused
                .iter()
                .all(|f| !r.payload.contains(&format!(r#""feature":"{f}""#)))
    }));
}

/// The demo speaks both formats: native v1 and CDEvents in structured and
/// binary CloudEvents of spec v0.4 and v0.5, every listed CDEvents type
/// included, and every record decodes (but the one invalid record). Some
/// incidents name neither a deploy nor an artifact.
#[test]
fn the_backfill_mixes_native_and_cdevents_and_has_unattributed_incidents() {
    let mut g = Generator::new(crate::demo::SEED);
    let mut records = g.backfill(NOW);
    let mut now = NOW;
    for _ in 0..300 {
        now += g.pause().as_millis() as Millis;
        records.extend(g.tick(now));
    }
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    let mut types: HashSet<String> = HashSet::new();
    let mut unattributed: HashSet<String> = HashSet::new();
    for r in records.iter().filter(|r| r.topic != Topic::FeatureUsage) {
        let header = |k: &str| r.headers.iter().find(|(key, _)| key == k).map(|(_, v)| v);
        let kind = match (header("content-type"), header("ce_specversion")) {
            (_, Some(_)) => "binary",
            (Some(ct), None) if ct == "application/cloudevents+json" => "structured",
            _ => "native",
        };
        *kinds.entry(kind).or_default() += 1;
        if kind != "native" {
            let cdevent: serde_json::Value = serde_json::from_str(&r.payload).unwrap();
            let cdevent = if kind == "structured" {
                &cdevent["data"]
            } else {
                &cdevent
            };
            let context = &cdevent["context"];
            let spec = if context["version"] == "0.4.1" {
                "v0.4"
            } else {
                assert_eq!(context["specversion"], "0.5.0", "{r:?}");
                "v0.5"
            };
            *kinds.entry(spec).or_default() += 1;
            let ty = context["type"].as_str().unwrap();
            types.insert(ty.rsplitn(4, '.').nth(3).unwrap().to_owned());
        }
        match decode(r.topic.stream(), r.payload.as_bytes(), &r.decoder_headers()) {
            Ok(Event::Incident(i)) => {
                if i.caused_by_deploy.is_none() && i.artifact.is_none() {
                    unattributed.insert(i.id.to_string());
                }
            }
            Ok(_) | Err(DecodeError::Unsupported) => {}
            Err(e) => assert_eq!(r.payload, INVALID_DEPLOY, "{e:?}"),
        }
    }
    for kind in ["native", "structured", "binary", "v0.4", "v0.5"] {
        assert!(kinds.get(kind).is_some_and(|&n| n >= 20), "{kinds:?}");
    }
    for ty in [
        "dev.cdevents.service.deployed",
        "dev.cdevents.service.upgraded",
        "dev.cdevents.service.rolledback",
        "dev.cdevents.incident.detected",
        "dev.cdevents.incident.resolved",
    ] {
        assert!(types.contains(ty), "{ty} missing: {types:?}");
    }
    // One or two per service in the history, the auth investigation, and
    // some live ones.
    assert!(unattributed.len() >= 8, "{unattributed:?}");
}
