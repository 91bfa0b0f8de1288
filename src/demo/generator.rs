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

use std::time::Duration;

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::rng::Rng;
use crate::domain::Millis;
use crate::domain::time::DAY_MS;

const SECOND_MS: Millis = 1_000;
const MINUTE_MS: Millis = 60 * SECOND_MS;
const HOUR_MS: Millis = 60 * MINUTE_MS;

/// History covered by the backfill: the longest default window.
pub const HISTORY: Millis = 30 * DAY_MS;
/// The backfill starts this far inside [`HISTORY`], so that staging deploys
/// (up to an hour before their production deploy) are inside it too.
const HISTORY_MARGIN: Millis = 2 * HOUR_MS;

/// A deploy from a pipeline that sends local dates: the one invalid record of
/// the backfill, so `valuepulse_events_invalid_total` has something to show.
pub const INVALID_DEPLOY: &str = r#"{"id":"d-legacy-7","service":"checkout","team":"payments","status":"succeeded","finished_at":"25/11/2026 10:04"}"#;

/// The topic a record goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// Deploy events.
    Deploys,
    /// Incident events.
    Incidents,
}

/// One message to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// When it is published in the story: its event time, or for an update
    /// (a deploy later marked `rolled_back`) the time of the update.
    pub at: Millis,
    /// Destination topic.
    pub topic: Topic,
    /// Message key: the service, as the contract asks.
    pub key: &'static str,
    /// Native v1 JSON.
    pub payload: String,
}

/// One service's habits: how often it ships, how old its changes are when
/// they reach production, how often a change goes wrong and how long
/// recovering takes.
#[derive(Debug)]
pub struct Profile {
    /// `service` of every event.
    pub service: &'static str,
    /// `team` of every event.
    pub team: &'static str,
    /// Mean production deploys per day.
    deploys_per_day: f64,
    /// Commit-to-production time, drawn log-uniformly from this range.
    lead: (Millis, Millis),
    /// Share of production deploys that are change failures.
    failure_ratio: f64,
    /// Incident duration, drawn log-uniformly from this range.
    restore: (Millis, Millis),
    /// Share of releases that go through staging first.
    staging_share: f64,
    /// Features a release may ship.
    features: &'static [&'static str],
}

/// The organisation: one service per tier, roughly (elite checkout, low auth),
/// and two teams owning two services each.
pub const PROFILES: [Profile; 5] = [
    Profile {
        service: "checkout",
        team: "payments",
        deploys_per_day: 6.0,
        lead: (15 * MINUTE_MS, 8 * HOUR_MS),
        failure_ratio: 0.03,
        restore: (10 * MINUTE_MS, 50 * MINUTE_MS),
        staging_share: 0.8,
        features: &["one-click-checkout", "apple-pay"],
    },
    Profile {
        service: "cart",
        team: "payments",
        deploys_per_day: 1.5,
        lead: (6 * HOUR_MS, 6 * DAY_MS),
        failure_ratio: 0.1,
        restore: (30 * MINUTE_MS, 8 * HOUR_MS),
        staging_share: 0.5,
        features: &["save-for-later"],
    },
    Profile {
        service: "search",
        team: "discovery",
        deploys_per_day: 3.0,
        lead: (30 * MINUTE_MS, DAY_MS),
        failure_ratio: 0.08,
        restore: (20 * MINUTE_MS, 4 * HOUR_MS),
        staging_share: 0.6,
        features: &["typo-tolerance", "semantic-search"],
    },
    Profile {
        service: "recommendations",
        team: "discovery",
        deploys_per_day: 0.5,
        lead: (DAY_MS, 12 * DAY_MS),
        failure_ratio: 0.13,
        restore: (2 * HOUR_MS, 2 * DAY_MS),
        staging_share: 0.3,
        features: &["similar-items"],
    },
    Profile {
        service: "auth",
        team: "platform",
        deploys_per_day: 0.3,
        lead: (5 * DAY_MS, 25 * DAY_MS),
        failure_ratio: 0.35,
        restore: (6 * HOUR_MS, 5 * DAY_MS),
        staging_share: 0.9,
        features: &["passkeys"],
    },
];

/// RFC 3339 in UTC, to the second (the sub-second part is dropped, which
/// keeps payloads readable and never reorders two times).
pub fn rfc3339(ms: Millis) -> String {
    OffsetDateTime::from_unix_timestamp(ms.div_euclid(SECOND_MS))
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .expect("demo event times are within weeks of now, far inside time's range")
}

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
}

/// The facts of one deploy event, before they become JSON.
struct DeployFacts<'a> {
    id: &'a str,
    environment: &'a str,
    status: &'a str,
    started_at: Millis,
    finished_at: Millis,
    release: &'a Release,
    changes: &'a [(String, Millis)],
    features: &'a [&'static str],
    rollback_of: Option<&'a str>,
}

fn deploy_json(p: &Profile, f: &DeployFacts<'_>) -> Value {
    let changes: Vec<Value> = f
        .changes
        .iter()
        .map(|(id, at)| json!({"id": id, "committed_at": rfc3339(*at)}))
        .collect();
    json!({
        "id": f.id,
        "service": p.service,
        "team": p.team,
        "environment": f.environment,
        "status": f.status,
        "started_at": rfc3339(f.started_at),
        "finished_at": rfc3339(f.finished_at),
        "version": f.release.version,
        "artifact": f.release.artifact,
        "changes": changes,
        "features": f.features,
        "rollback_of": f.rollback_of,
    })
}

/// The generator: the organisation's state plus the queue of scheduled
/// follow-ups.
#[derive(Debug)]
pub struct Generator {
    rng: Rng,
    services: Vec<Service>,
    next_deploy: u64,
    next_incident: u64,
    /// Events whose time has not come yet (follow-ups of recent deploys).
    pending: Vec<Record>,
}

impl Generator {
    /// A generator for `seed`; nothing is generated until asked.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: Rng::new(seed),
            services: PROFILES
                .iter()
                .enumerate()
                .map(|(i, profile)| Service {
                    profile,
                    minor: 20 + 7 * i as u32,
                    running: None,
                })
                .collect(),
            next_deploy: 1,
            next_incident: 1,
            pending: Vec::new(),
        }
    }

    /// About 30 days of history ending at `now`, in publication order, with a
    /// few identical redeliveries and one invalid record mixed in. Follow-ups
    /// due after `now` stay queued for [`Generator::tick`].
    pub fn backfill(&mut self, now: Millis) -> Vec<Record> {
        let start = now - HISTORY + HISTORY_MARGIN;
        for s in 0..self.services.len() {
            let mean_gap = (DAY_MS as f64 / self.services[s].profile.deploys_per_day) as Millis;
            let mut t = start + self.rng.exponential(mean_gap);
            while t < now - MINUTE_MS {
                self.release(s, t, Pace::History);
                t += self.rng.exponential(mean_gap).max(MINUTE_MS);
            }
        }
        // An incident still under investigation: opened recently, no cause
        // named yet, resolved long after the demo is likely to end.
        let auth = self.services.len() - 1;
        self.incident(auth, now - 100 * MINUTE_MS, 2 * DAY_MS, None);

        let mut out = self.due(now);
        if out.is_empty() {
            return out;
        }
        // A producer retrying after a lost acknowledgement.
        for _ in 0..3 {
            let i = self.rng.below(out.len());
            out.insert(i + 1, out[i].clone());
        }
        let i = self.rng.below(out.len());
        let invalid = Record {
            at: out[i].at,
            topic: Topic::Deploys,
            key: "checkout",
            payload: INVALID_DEPLOY.to_owned(),
        };
        out.insert(i, invalid);
        out
    }

    /// One live step at `now`: a new production deploy of a random service,
    /// plus every scheduled follow-up that is now due, and now and then a
    /// redelivery.
    pub fn tick(&mut self, now: Millis) -> Vec<Record> {
        let s = self.rng.below(self.services.len());
        self.release(s, now, Pace::Live);
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

    /// Takes the scheduled records due at `now`, oldest first.
    fn due(&mut self, now: Millis) -> Vec<Record> {
        // Stable: records with the same time keep the order they were made in.
        self.pending.sort_by_key(|r| r.at);
        let split = self.pending.partition_point(|r| r.at <= now);
        let later = self.pending.split_off(split);
        std::mem::replace(&mut self.pending, later)
    }

    fn schedule(&mut self, at: Millis, topic: Topic, s: usize, payload: &Value) {
        self.pending.push(Record {
            at,
            topic,
            key: self.services[s].profile.service,
            payload: payload.to_string(),
        });
    }

    fn deploy_id(&mut self) -> String {
        let id = format!("d-{:05}", self.next_deploy);
        self.next_deploy += 1;
        id
    }

    /// One release of service `s` reaching production at `at`: an optional
    /// staging deploy before it, the production deploy, and if the change
    /// goes wrong, its follow-ups.
    fn release(&mut self, s: usize, at: Millis, pace: Pace) {
        let p = self.services[s].profile;
        let staging_ahead = self.rng.chance(p.staging_share).then(|| match pace {
            Pace::History => self.rng.between(10 * MINUTE_MS, 60 * MINUTE_MS),
            Pace::Live => self.rng.between(SECOND_MS, 5 * SECOND_MS),
        });
        // Commits precede the staging deploy too, so both carry them.
        let ahead = staging_ahead.unwrap_or(0);
        let mut changes: Vec<(String, Millis)> = (0..1 + self.rng.below(4))
            .map(|_| (self.rng.hex(7), at - ahead - self.rng.log_between(p.lead)))
            .collect();
        changes.sort_by_key(|c| c.1);
        let features: Vec<&'static str> = if self.rng.chance(0.15) {
            vec![p.features[self.rng.below(p.features.len())]]
        } else {
            Vec::new()
        };
        let minor = self.services[s].minor;
        self.services[s].minor += 1;
        let release = Release {
            version: format!("1.{minor}.0"),
            artifact: format!("sha256:{}", self.rng.hex(64)),
        };

        if let Some(ahead) = staging_ahead {
            let id = self.deploy_id();
            let finished_at = at - ahead;
            let staging = deploy_json(
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
        let roll = self.rng.unit();
        let status = if roll < p.failure_ratio * 0.35 {
            "failed"
        } else {
            "succeeded"
        };
        let mut deploy = deploy_json(
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
            let back = deploy_json(
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
            deploy["status"] = json!("rolled_back");
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
        let mut event = json!({
            "id": id,
            "service": p.service,
            "team": p.team,
            "environment": "production",
            "status": "opened",
            "severity": severity,
            "opened_at": rfc3339(opened_at),
            "caused_by_deploy": cause,
        });
        self.schedule(opened_at, Topic::Incidents, s, &event);
        let resolved_at = opened_at + restore;
        event["status"] = json!("resolved");
        event["resolved_at"] = json!(rfc3339(resolved_at));
        self.schedule(resolved_at, Topic::Incidents, s, &event);
    }
}

#[cfg(test)]
#[path = "generator_tests.rs"]
mod tests;
