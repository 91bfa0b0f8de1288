//! The demo's value stream: work items moving through a tracker and
//! customer-satisfaction responses, for the five services of the DORA
//! story. Pure and seeded like the deploy generator: the same seed and
//! `now` always give the same records.
//!
//! Each service works at its own pace and with its own queues
//! ([`FLOW`]), so flow efficiency lands in different bands: checkout works
//! most of an item's life (world-class), auth mostly waits for reviews and
//! releases (below target). An item is created into the backlog, started,
//! goes through one to three rounds of work and waiting (review, blocked,
//! queued), waits for deploy, and is done; one in ten is reopened after it
//! was done and worked on again. About half of the transitions go out as
//! CDEvents tickets (`ticket.created` / `updated` / `closed`, spec v0.4 or
//! v0.5, structured or binary), the rest as native v1.
//!
//! Satisfaction: a few responses a day per service, CSAT or NPS around the
//! service's own mean; some name only a feature (one shipped by the
//! service), which the daemon attributes through the feature's first ship.

use super::record::{Record, SECOND_MS, Topic, second_floor, to_the_second};
use super::usage::CATALOGUE;
use crate::domain::Millis;
use crate::domain::time::DAY_MS;
use crate::emit::{CdSpec, Format, TicketEvent, encode, encode_work_item};
use crate::ingest::decode::{SatisfactionV1, WorkItemV1};
use crate::rng::Rng;

const MINUTE_MS: Millis = 60 * SECOND_MS;
const HOUR_MS: Millis = 60 * MINUTE_MS;

/// History covered by the backfill.
pub const HISTORY: Millis = 30 * DAY_MS;

/// Share of work-item transitions written as CDEvents tickets.
const TICKET_SHARE: f64 = 0.5;
/// Share of finished items reopened later.
const REOPEN_SHARE: f64 = 0.1;
/// Satisfaction responses per service per day.
const RESPONSES_PER_DAY: f64 = 4.0;

/// One service's way of working.
#[derive(Debug)]
pub struct FlowProfile {
    /// `service` of its items and responses.
    pub service: &'static str,
    /// `team`.
    pub team: &'static str,
    /// Items started per day.
    items_per_day: f64,
    /// One stint of work, drawn log-uniformly.
    active: (Millis, Millis),
    /// One wait (review, blocked, queued, deploy), drawn log-uniformly.
    waiting: (Millis, Millis),
    /// Mean satisfaction, 0–1.
    pub satisfaction: f64,
}

/// The services' flow: efficiency from world-class (checkout) to below
/// target (auth).
pub const FLOW: [FlowProfile; 5] = [
    FlowProfile {
        service: "checkout",
        team: "payments",
        items_per_day: 3.0,
        active: (2 * HOUR_MS, 8 * HOUR_MS),
        waiting: (20 * MINUTE_MS, 3 * HOUR_MS),
        satisfaction: 0.85,
    },
    FlowProfile {
        service: "cart",
        team: "payments",
        items_per_day: 1.5,
        active: (2 * HOUR_MS, 6 * HOUR_MS),
        waiting: (2 * HOUR_MS, 12 * HOUR_MS),
        satisfaction: 0.7,
    },
    FlowProfile {
        service: "search",
        team: "discovery",
        items_per_day: 2.0,
        active: (2 * HOUR_MS, 8 * HOUR_MS),
        waiting: (HOUR_MS, 10 * HOUR_MS),
        satisfaction: 0.75,
    },
    FlowProfile {
        service: "recommendations",
        team: "discovery",
        items_per_day: 0.7,
        active: (3 * HOUR_MS, 10 * HOUR_MS),
        waiting: (6 * HOUR_MS, 40 * HOUR_MS),
        satisfaction: 0.6,
    },
    FlowProfile {
        service: "auth",
        team: "platform",
        items_per_day: 0.5,
        active: (2 * HOUR_MS, 6 * HOUR_MS),
        waiting: (DAY_MS, 4 * DAY_MS),
        satisfaction: 0.5,
    },
];

/// States an item waits in between two stints of work.
const WAITS: [&str; 3] = ["In Review", "Blocked", "Queued"];

/// The value-stream generator.
#[derive(Debug)]
pub struct ValueStream {
    rng: Rng,
    /// Draws the wire format, apart from the story.
    wire_rng: Rng,
    next_item: u64,
    next_response: u64,
}

impl ValueStream {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: Rng::new(seed ^ 0x5EED_F10E),
            wire_rng: Rng::new(seed ^ 0x00C0_FFEE),
            next_item: 1,
            next_response: 1,
        }
    }

    /// Every record of the last [`HISTORY`], oldest first: items created in
    /// it (transitions after `now` are not yet made) and responses.
    pub fn backfill(&mut self, now: Millis) -> Vec<Record> {
        let mut out = Vec::new();
        for p in &FLOW {
            let mut t = now - HISTORY;
            loop {
                t += self
                    .rng
                    .exponential((DAY_MS as f64 / p.items_per_day) as Millis);
                if t >= now {
                    break;
                }
                self.item(p, t, now, &mut out);
            }
            let mut t = now - HISTORY;
            loop {
                t += self
                    .rng
                    .exponential((DAY_MS as f64 / RESPONSES_PER_DAY) as Millis);
                if t >= now {
                    break;
                }
                self.response(p, t, now, &mut out);
            }
        }
        out.sort_by_key(|r| r.at);
        out
    }

    /// Live records at `now`: now and then an item finished within the
    /// last hour (all its transitions in the past), and a response.
    pub fn tick(&mut self, now: Millis) -> Vec<Record> {
        let mut out = Vec::new();
        let p = &FLOW[self.rng.index(FLOW.len())];
        if self.rng.chance(0.2) {
            self.quick_item(p, now, &mut out);
        }
        if self.rng.chance(0.3) {
            self.response(p, now, now, &mut out);
        }
        out
    }

    fn item_id(&mut self, p: &FlowProfile) -> String {
        let prefix: String = p.service[..3].to_ascii_uppercase();
        let id = format!("{prefix}-{}", self.next_item);
        self.next_item += 1;
        id
    }

    /// One item created at `created`: its transitions up to `now`.
    fn item(&mut self, p: &FlowProfile, created: Millis, now: Millis, out: &mut Vec<Record>) {
        let id = self.item_id(p);
        let mut steps: Vec<(Millis, &'static str)> = vec![(created, "created")];
        let mut t = created + self.rng.exponential(DAY_MS / 2);
        let rounds = 1 + self.rng.index(3);
        for round in 0..rounds {
            steps.push((t, "In Progress"));
            t += self.rng.log_between(p.active);
            if round + 1 < rounds {
                steps.push((t, WAITS[self.rng.index(WAITS.len())]));
                t += self.rng.log_between(p.waiting);
            }
        }
        steps.push((t, "Ready for Deploy"));
        t += self.rng.log_between(p.waiting);
        steps.push((t, "Done"));
        if self.rng.chance(REOPEN_SHARE) {
            t += self.rng.between(2 * HOUR_MS, 2 * DAY_MS);
            steps.push((t, "Reopened"));
            t += self.rng.log_between(p.waiting);
            steps.push((t, "In Progress"));
            t += self.rng.log_between(p.active);
            steps.push((t, "Done"));
        }
        for (at, state) in steps {
            if at <= now {
                self.transition(p, &id, state, at, out);
            }
        }
    }

    /// A small item that went from start to done within the hour before
    /// `now`.
    fn quick_item(&mut self, p: &FlowProfile, now: Millis, out: &mut Vec<Record>) {
        let id = self.item_id(p);
        let start = now - self.rng.between(30 * MINUTE_MS, HOUR_MS);
        let review = start + self.rng.between(5 * MINUTE_MS, 20 * MINUTE_MS);
        let resume = review + self.rng.between(MINUTE_MS, 5 * MINUTE_MS);
        for (at, state) in [
            (start - MINUTE_MS, "created"),
            (start, "In Progress"),
            (review, "In Review"),
            (resume, "In Progress"),
            (now - SECOND_MS, "Done"),
        ] {
            self.transition(p, &id, state, at, out);
        }
    }

    /// One transition, native or as a CDEvents ticket.
    fn transition(
        &mut self,
        p: &FlowProfile,
        id: &str,
        state: &str,
        at: Millis,
        out: &mut Vec<Record>,
    ) {
        let at = second_floor(at);
        let native = serde_json::to_value(WorkItemV1 {
            id: id.into(),
            service: p.service.into(),
            team: Some(p.team.into()),
            state: state.into(),
            at: to_the_second(at).into(),
            ..WorkItemV1::default()
        })
        .expect("a wire event always serializes");
        let format = if self.wire_rng.chance(TICKET_SHARE) {
            if self.wire_rng.chance(0.5) {
                Format::CdeventsStructured
            } else {
                Format::CdeventsBinary
            }
        } else {
            Format::Native
        };
        let spec = if self.wire_rng.chance(0.5) {
            CdSpec::V0_4
        } else {
            CdSpec::V0_5
        };
        let record = encode_work_item(
            &native,
            format,
            spec,
            super::generator::CDEVENTS_SOURCE,
            TicketEvent::infer(&native),
        )
        .expect("a complete work item always encodes");
        out.push(Record {
            at,
            topic: Topic::WorkItems,
            key: id.to_owned(),
            payload: record.payload,
            headers: record.headers,
        });
    }

    /// One response about `p` at `at`: CSAT or NPS around the service's
    /// mean; one in four names only a feature the service had shipped by
    /// then (as of `now`'s story).
    fn response(&mut self, p: &FlowProfile, at: Millis, now: Millis, out: &mut Vec<Record>) {
        let at = second_floor(at);
        let id = format!("r-{}", self.next_response);
        self.next_response += 1;
        // Around the mean, ±0.25.
        let level = (p.satisfaction + (self.rng.unit() - 0.5) * 0.5).clamp(0.0, 1.0);
        let (kind, score) = if self.rng.chance(0.5) {
            ("csat", 1 + (level * 4.0).round() as i64)
        } else {
            ("nps", (level * 10.0).round() as i64)
        };
        let feature = CATALOGUE
            .iter()
            .find(|f| {
                f.ship
                    .is_some_and(|(s, age)| s == p.service && now - age <= at)
            })
            .map(|f| f.name);
        let mut v = SatisfactionV1 {
            id: id.into(),
            kind: kind.into(),
            score,
            at: to_the_second(at).into(),
            ..SatisfactionV1::default()
        };
        let key = match feature {
            Some(f) if self.rng.chance(0.25) => {
                v.feature = Some(f.into());
                f
            }
            _ => {
                v.service = Some(p.service.into());
                v.team = Some(p.team.into());
                p.service
            }
        };
        let v = serde_json::to_value(v).expect("a wire event always serializes");
        let record = encode(
            crate::ingest::Stream::Satisfaction,
            &v,
            Format::Native,
            CdSpec::V0_5,
            super::generator::CDEVENTS_SOURCE,
            false,
        )
        .expect("native encoding never fails");
        out.push(Record {
            at,
            topic: Topic::Satisfaction,
            key: key.to_owned(),
            payload: record.payload,
            headers: record.headers,
        });
    }
}

#[cfg(test)]
mod tests;
