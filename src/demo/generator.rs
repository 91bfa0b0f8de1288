//! The demo's event generator: pure, seeded, with the clock passed in, so the
//! same seed and `now` always tell the same story and tests can check every
//! event it will ever publish.
//!
//! It plays a small engineering organisation: five services in three teams,
//! each with its own cadence and quality ([`PROFILES`]), so the DORA tiers
//! differ from one service to the next. A deploy may go wrong; a bad release
//! is followed, minutes later, by an incident naming it, a rollback deploy
//! naming it and an update of the original deploy to `rolled_back`. Those
//! follow-ups are *scheduled*: they wait in a queue until their event time has
//! come, so nothing is ever published with a time in the future.
//!
//! Formats: about 60 % of the deploy and incident events go out as CDEvents
//! in CloudEvents, half in structured and half in Kafka binary content mode,
//! spec v0.4 or v0.5 ([`crate::emit::encode`]); the rest, and every event
//! CDEvents cannot express (a failed deploy, the `rolled_back` mark), as
//! native v1. A quarter of the release pipelines also publish their own
//! `pipelinerun.finished` CDEvent on the deploys topic, which the daemon
//! counts as `unsupported`. Besides the incidents that name their cause, a few incidents
//! name neither a deploy nor an artifact (an outage of a dependency, say):
//! one or two per service in the history, now and then one live.
//!
//! Features: the deploys of the backfill that first ship the features of
//! [`CATALOGUE`] come at the ages it plans (some within the last day, some
//! within 7 and within 30 days), and a later release of the same service may
//! list a feature again. Live, every 20–40 s a release launches a brand-new
//! feature (from its service's [`Profile`] list). Usage of every feature comes
//! from [`Usage`], which is told when each feature shipped.
//!
//! This file tells the story; the organisation is in `profiles.rs`, and how
//! each event becomes a record (wire type, drawn format) in `records.rs`.

use std::time::Duration;

use serde::Serialize;

use super::record::{Record, SECOND_MS, Topic, second_floor, to_the_second};
use super::usage::{CATALOGUE, Usage};
use crate::domain::Millis;
use crate::domain::time::DAY_MS;
use crate::ingest::decode::IncidentV1;
use crate::rng::Rng;
use records::{DeployFacts, PIPELINE_RUN_SHARE, deploy_wire};

mod profiles;
mod records;

pub use profiles::{PROFILES, Profile};
pub use records::{CDEVENTS_SOURCE, INVALID_DEPLOY};

const MINUTE_MS: Millis = 60 * SECOND_MS;
const HOUR_MS: Millis = 60 * MINUTE_MS;

/// History covered by the backfill: the longest default window.
pub const HISTORY: Millis = 30 * DAY_MS;
/// The backfill starts this far inside [`HISTORY`], so that staging deploys
/// (up to an hour before their production deploy) are inside it too.
const HISTORY_MARGIN: Millis = 2 * HOUR_MS;

/// Whether an event is part of the history or happens live: live follow-ups
/// come seconds, not minutes or hours, after their deploy so that they show
/// up while someone is watching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pace {
    History,
    Live,
}

/// What a deploy ships: the version and the image behind it.
#[derive(Debug, Clone)]
struct Release {
    version: String,
    artifact: String,
}

/// A service's running state.
#[derive(Debug)]
struct Service {
    profile: &'static Profile,
    /// Minor version of the next release.
    minor: u32,
    /// What runs in production now, which a rollback goes back to.
    running: Option<Release>,
    /// Features this service launched live.
    launched: usize,
}

/// A feature's first shipping.
#[derive(Debug, Clone)]
struct Shipped {
    feature: String,
    /// Index of the service that shipped it.
    service: usize,
    /// `finished_at` of its first production deploy, to the second.
    at: Millis,
}

/// The generator: the organisation's state, the queue of scheduled
/// follow-ups, the features shipped so far and the product's usage.
#[derive(Debug)]
pub struct Generator {
    rng: Rng,
    /// Draws of the releases that first ship a feature.
    launch_rng: Rng,
    services: Vec<Service>,
    next_deploy: u64,
    next_incident: u64,
    /// Events whose time has not come yet (follow-ups of recent deploys).
    pending: Vec<Record>,
    /// Every feature shipped, in order of shipping.
    shipped: Vec<Shipped>,
    /// When the next live release launches a new feature (set by the first
    /// live step).
    next_launch: Option<Millis>,
    /// Live features named `experiment-<n>` so far, once every service's
    /// list is used up.
    experiments: usize,
    usage: Usage,
    /// Draws of the wire format of each event, on their own stream so that
    /// formats do not reshuffle the story.
    wire_rng: Rng,
    /// Draws of the unattributed incidents, likewise.
    outage_rng: Rng,
}

impl Generator {
    /// A generator for `seed`; nothing is generated until asked.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: Rng::new(seed),
            launch_rng: Rng::new(seed ^ 0x4C41_554E_4348_0000),
            services: PROFILES
                .iter()
                .enumerate()
                .map(|(i, profile)| Service {
                    profile,
                    minor: 20 + 7 * i as u32,
                    running: None,
                    launched: 0,
                })
                .collect(),
            next_deploy: 1,
            next_incident: 1,
            pending: Vec::new(),
            shipped: Vec::new(),
            next_launch: None,
            experiments: 0,
            usage: Usage::new(seed),
            wire_rng: Rng::new(seed ^ 0x5749_5245_0000_0000),
            outage_rng: Rng::new(seed ^ 0x4F55_5441_4745_0000),
        }
    }

    /// About 30 days of history ending at `now`, in publication order, with a
    /// few identical redeliveries and one invalid record mixed in, followed
    /// by the usage of the same 30 days (it is all consumed before the first
    /// scrape that matters, and the daemon does not care about the order).
    /// Follow-ups due after `now` stay queued for [`Generator::tick`].
    pub fn backfill(&mut self, now: Millis) -> Vec<Record> {
        let start = now - HISTORY + HISTORY_MARGIN;
        for s in 0..self.services.len() {
            let service = self.services[s].profile.service;
            // The releases that first ship catalogue features, at their
            // planned ages, in time order among the service's other releases.
            let mut plan: Vec<(Millis, &'static str)> = CATALOGUE
                .iter()
                .filter_map(|f| match f.ship {
                    Some((owner, age)) if owner == service => {
                        Some((second_floor(now - age), f.name))
                    }
                    _ => None,
                })
                .collect();
            plan.sort_unstable();
            let mut plan = plan.into_iter().peekable();
            let mean_gap = (DAY_MS as f64 / self.services[s].profile.deploys_per_day) as Millis;
            let mut t = start + self.rng.exponential(mean_gap);
            while t < now - MINUTE_MS {
                while let Some((at, feature)) = plan.next_if(|(at, _)| *at <= t) {
                    self.launch(s, at, Pace::History, feature.to_owned());
                }
                self.release(s, t, Pace::History, None);
                t += self.rng.exponential(mean_gap).max(MINUTE_MS);
            }
            for (at, feature) in plan {
                self.launch(s, at, Pace::History, feature.to_owned());
            }
        }
        // An incident still under investigation: opened recently, no cause
        // named yet, resolved long after the demo is likely to end.
        let auth = self.services.len() - 1;
        self.incident(auth, now - 100 * MINUTE_MS, 2 * DAY_MS, None);
        // Outages nobody links to a deploy: one or two per service.
        for s in 0..self.services.len() {
            for _ in 0..=self.outage_rng.index(2) {
                let opened_at = self.outage_rng.between(start, now - 2 * HOUR_MS);
                self.outage(s, opened_at, Pace::History);
            }
        }

        let mut out = self.due(now);
        if !out.is_empty() {
            // A producer retrying after a lost acknowledgement.
            for _ in 0..3 {
                let i = self.rng.index(out.len());
                out.insert(i + 1, out[i].clone());
            }
            let i = self.rng.index(out.len());
            let invalid = Record {
                at: out[i].at,
                topic: Topic::Deploys,
                key: "checkout".to_owned(),
                payload: INVALID_DEPLOY.to_owned(),
                headers: Vec::new(),
            };
            out.insert(i, invalid);
        }
        let shipped: Vec<(String, Millis)> = self
            .shipped
            .iter()
            .map(|f| (f.feature.clone(), f.at))
            .collect();
        out.extend(self.usage.backfill(start, now, &shipped));
        out
    }

    /// One live step at `now`: a new production deploy of a random service
    /// (every 20–40 s one that launches a brand-new feature), plus every
    /// scheduled follow-up that is now due, and now and then a redelivery.
    pub fn tick(&mut self, now: Millis) -> Vec<Record> {
        let s = self.rng.index(self.services.len());
        let launch = match self.next_launch {
            None => {
                self.next_launch = Some(now + self.rng.between(5 * SECOND_MS, 10 * SECOND_MS));
                false
            }
            Some(at) => now >= at,
        };
        if launch {
            let feature = self.new_feature(s);
            self.launch(s, now, Pace::Live, feature.clone());
            self.usage.launch(feature, second_floor(now));
            self.next_launch = Some(now + self.rng.between(20 * SECOND_MS, 40 * SECOND_MS));
        } else {
            self.release(s, now, Pace::Live, None);
        }
        if self.outage_rng.chance(0.03) {
            let s = self.outage_rng.index(self.services.len());
            self.outage(s, now, Pace::Live);
        }
        let mut out = self.due(now);
        if self.rng.chance(0.03)
            && let Some(again) = out.last().cloned()
        {
            out.push(again);
        }
        out
    }

    /// How long to wait before the next live step: 1–2 s.
    pub fn pause(&mut self) -> Duration {
        Duration::from_millis(self.rng.between(1_000, 2_000) as u64)
    }

    /// Live feature usage for `period` ending at `now` (a few hundred events
    /// a second, all at `now`), keyed by user id.
    pub fn usage(&mut self, now: Millis, period: Duration) -> Vec<Record> {
        self.usage.live(now, period)
    }

    /// Name of the next feature service `s` launches live.
    fn new_feature(&mut self, s: usize) -> String {
        let service = &mut self.services[s];
        let name = if let Some(name) = service.profile.features.get(service.launched) {
            (*name).to_owned()
        } else {
            self.experiments += 1;
            format!("experiment-{}", self.experiments)
        };
        service.launched += 1;
        name
    }

    /// Takes the scheduled records due at `now`, oldest first.
    fn due(&mut self, now: Millis) -> Vec<Record> {
        // Stable: records with the same time keep the order they were made in.
        self.pending.sort_by_key(|r| r.at);
        let split = self.pending.partition_point(|r| r.at <= now);
        let later = self.pending.split_off(split);
        std::mem::replace(&mut self.pending, later)
    }

    /// Queues an event of service `s`, written in a wire format drawn for it.
    fn schedule(&mut self, at: Millis, topic: Topic, s: usize, event: &impl Serialize) {
        let key = self.services[s].profile.service;
        let record = records::encode_drawn(&mut self.wire_rng, at, topic, key, event);
        self.pending.push(record);
    }

    /// Queues the `pipelinerun.finished` CDEvent of service `s`'s release.
    fn pipeline_run(&mut self, s: usize, at: Millis, deploy_id: &str, status: &str) {
        let service = self.services[s].profile.service;
        let record = records::pipeline_run(service, at, deploy_id, status);
        self.pending.push(record);
    }

    /// An incident of service `s` opened at `opened_at` that names neither
    /// a deploy nor an artifact (an outage of a dependency, say). Its draws
    /// come from their own stream.
    fn outage(&mut self, s: usize, opened_at: Millis, pace: Pace) {
        std::mem::swap(&mut self.rng, &mut self.outage_rng);
        let restore = match pace {
            Pace::History => self.rng.log_between(self.services[s].profile.restore),
            Pace::Live => self.rng.between(20 * SECOND_MS, 120 * SECOND_MS),
        };
        self.incident(s, opened_at, restore, None);
        std::mem::swap(&mut self.rng, &mut self.outage_rng);
    }

    fn deploy_id(&mut self) -> String {
        let id = format!("d-{:05}", self.next_deploy);
        self.next_deploy += 1;
        id
    }

    /// A release of service `s` at `at` that first ships `feature`. It draws
    /// from its own random stream, so the features of the catalogue do not
    /// reshuffle the rest of the story (the DORA tiers of a seed).
    fn launch(&mut self, s: usize, at: Millis, pace: Pace, feature: String) {
        std::mem::swap(&mut self.rng, &mut self.launch_rng);
        self.release(s, at, pace, Some(feature));
        std::mem::swap(&mut self.rng, &mut self.launch_rng);
    }

    /// One release of service `s` reaching production at `at`: an optional
    /// staging deploy before it, the production deploy, and if the change
    /// goes wrong, its follow-ups. A release that first ships `launch` never
    /// goes wrong, so the feature's first shipping is this deploy.
    fn release(&mut self, s: usize, at: Millis, pace: Pace, launch: Option<String>) {
        let p = self.services[s].profile;
        let staging_ahead = self.rng.chance(p.staging_share).then(|| match pace {
            Pace::History => self.rng.between(10 * MINUTE_MS, 60 * MINUTE_MS),
            Pace::Live => self.rng.between(SECOND_MS, 5 * SECOND_MS),
        });
        // Commits precede the staging deploy too, so both carry them.
        let ahead = staging_ahead.unwrap_or(0);
        let mut changes: Vec<(String, Millis)> = (0..=self.rng.index(4))
            .map(|_| (self.rng.hex(7), at - ahead - self.rng.log_between(p.lead)))
            .collect();
        changes.sort_by_key(|c| c.1);
        // Now and then a release lists again a feature its service shipped
        // earlier, which leaves the feature's first shipping as it was.
        let mut features: Vec<String> = launch.iter().cloned().collect();
        if self.rng.chance(0.15) {
            // One draw whether or not there is a feature to list, so the
            // rest of the story does not depend on it.
            let draw = self.rng.next_u64();
            let earlier: Vec<&Shipped> = self
                .shipped
                .iter()
                .filter(|f| f.service == s && f.at < at)
                .collect();
            if !earlier.is_empty() {
                let again = earlier[(draw % earlier.len() as u64) as usize]
                    .feature
                    .clone();
                if !features.contains(&again) {
                    features.push(again);
                }
            }
        }
        let minor = self.services[s].minor;
        self.services[s].minor += 1;
        let release = Release {
            version: format!("1.{minor}.0"),
            artifact: format!("sha256:{}", self.rng.hex(64)),
        };

        if let Some(ahead) = staging_ahead {
            let id = self.deploy_id();
            let finished_at = at - ahead;
            let staging = deploy_wire(
                p,
                &DeployFacts {
                    id: &id,
                    environment: "staging",
                    status: "succeeded",
                    started_at: finished_at - self.rng.between(MINUTE_MS, 8 * MINUTE_MS),
                    finished_at,
                    release: &release,
                    changes: &changes,
                    features: &features,
                    rollback_of: None,
                },
            );
            self.schedule(finished_at, Topic::Deploys, s, &staging);
        }

        let id = self.deploy_id();
        let mut roll = self.rng.unit();
        if let Some(feature) = launch {
            roll = roll.max(p.failure_ratio);
            self.shipped.push(Shipped {
                feature,
                service: s,
                at: second_floor(at),
            });
        }
        let status = if roll < p.failure_ratio * 0.35 {
            "failed"
        } else {
            "succeeded"
        };
        let mut deploy = deploy_wire(
            p,
            &DeployFacts {
                id: &id,
                environment: "production",
                status,
                started_at: at - self.rng.between(2 * MINUTE_MS, 12 * MINUTE_MS),
                finished_at: at,
                release: &release,
                changes: &changes,
                features: &features,
                rollback_of: None,
            },
        );
        self.schedule(at, Topic::Deploys, s, &deploy);
        if self.wire_rng.chance(PIPELINE_RUN_SHARE) {
            self.pipeline_run(s, at, &id, status);
        }
        if status == "failed" {
            return;
        }
        let previous = self.services[s].running.replace(release);
        if roll >= p.failure_ratio {
            return;
        }

        // A bad release: it went out, then something broke.
        let mut incident = self.rng.chance(0.8);
        let rollback = previous.is_some() && (self.rng.chance(0.6) || !incident);
        incident |= !rollback;
        if let Some(previous) = previous.filter(|_| rollback) {
            let back_at = at + self.after(pace, (5 * MINUTE_MS, 40 * MINUTE_MS));
            let back_id = self.deploy_id();
            let back = deploy_wire(
                p,
                &DeployFacts {
                    id: &back_id,
                    environment: "production",
                    status: "succeeded",
                    started_at: back_at - self.rng.between(MINUTE_MS, 4 * MINUTE_MS),
                    finished_at: back_at,
                    release: &previous,
                    changes: &[],
                    features: &[],
                    rollback_of: Some(&id),
                },
            );
            self.schedule(back_at, Topic::Deploys, s, &back);
            // The pipeline then marks the original deploy: same id, new
            // content, which the daemon counts as `updated`.
            deploy.status = "rolled_back".into();
            self.schedule(back_at, Topic::Deploys, s, &deploy);
            self.services[s].running = Some(previous);
        }
        if incident {
            let opened_at = at + self.after(pace, (3 * MINUTE_MS, 45 * MINUTE_MS));
            let restore = match pace {
                Pace::History => self.rng.log_between(p.restore),
                Pace::Live => self.rng.between(15 * SECOND_MS, 90 * SECOND_MS),
            };
            self.incident(s, opened_at, restore, Some(&id));
        }
    }

    /// Delay of a follow-up: `history` for the backfill, seconds when live.
    fn after(&mut self, pace: Pace, history: (Millis, Millis)) -> Millis {
        match pace {
            Pace::History => self.rng.between(history.0, history.1),
            Pace::Live => self.rng.between(2 * SECOND_MS, 12 * SECOND_MS),
        }
    }

    /// Schedules an incident of service `s`: opened at `opened_at`, resolved
    /// `restore` later.
    fn incident(&mut self, s: usize, opened_at: Millis, restore: Millis, cause: Option<&str>) {
        let p = self.services[s].profile;
        let id = format!("inc-{}", self.next_incident);
        self.next_incident += 1;
        let severity = if self.rng.chance(0.3) { "sev2" } else { "sev3" };
        let mut event = IncidentV1 {
            id: id.as_str().into(),
            service: p.service.into(),
            team: Some(p.team.into()),
            environment: Some("production".into()),
            status: "opened".into(),
            severity: Some(severity.into()),
            opened_at: to_the_second(opened_at).into(),
            caused_by_deploy: cause.map(Into::into),
            ..IncidentV1::default()
        };
        self.schedule(opened_at, Topic::Incidents, s, &event);
        let resolved_at = opened_at + restore;
        event.status = "resolved".into();
        event.resolved_at = Some(to_the_second(resolved_at).into());
        self.schedule(resolved_at, Topic::Incidents, s, &event);
    }
}

#[cfg(test)]
mod tests;
