//! The demo's feature usage: who uses which feature of the product, and when.
//!
//! The product has [`USERS`] users in [`ACCOUNTS`] accounts, and the features
//! of [`CATALOGUE`]:
//!
//! - *long-standing* features, used throughout the 30 days and shipped by no
//!   deploy of the history (so they have usage figures but no shipping ones);
//! - features a deploy of the backfill ships at a planned age: the generator
//!   schedules those deploys and hands their times to [`Usage::backfill`].
//!   Some were first shipped within the last day, some within 7 days, some
//!   within 30 days, and two are never used (`reach` 0), so features used and
//!   value realization are below features shipped.
//!
//! A share `reach` of the users adopt a feature. A shipped feature's adopter
//! first uses it at its ship time plus an exponential delay of mean `ramp`,
//! so adoption grows after shipping and nothing is used before its deploy; an
//! adopter then uses it again at exponential gaps, at `per_day` times their
//! own activity (log-uniform between 0.3 and 3, so some users are heavy).
//!
//! Live ([`Usage::live`]), a few hundred events a second with the event time
//! "now": a feature is drawn in proportion to its usage rate at the end of
//! the backfill, then usually one of its users, sometimes anyone (a new
//! adopter, so distinct users keep growing). A feature launched live
//! ([`Usage::launch`]) starts being used a few seconds after its deploy.
//!
//! Usage has its own random stream, so the deploys and incidents of a seed
//! do not depend on it.

use std::time::Duration;

use super::record::{Record, SECOND_MS, Topic, to_the_second};
use crate::domain::Millis;
use crate::domain::time::DAY_MS;
use crate::ingest::decode::UsageV1;
use crate::rng::Rng;

const HOUR_MS: Millis = 3_600 * SECOND_MS;

/// Users of the product.
pub const USERS: usize = 3_000;
/// Accounts (customer organisations) the users belong to.
pub const ACCOUNTS: usize = 120;
/// Live usage events per second, on average.
pub const LIVE_PER_SECOND: f64 = 300.0;
/// Live chance that an event of a catalogue feature comes from any user, who
/// may be using the feature for the first time.
const NEWCOMERS: f64 = 0.05;
/// The same for a feature launched live: most of its users are new to it.
const LAUNCH_NEWCOMERS: f64 = 0.5;
/// A feature launched live gets this share of the live usage.
const LAUNCH_SHARE: f64 = 0.05;
/// A feature launched live is first used this long after its deploy.
const LAUNCH_FIRST_USE: (Millis, Millis) = (2 * SECOND_MS, 6 * SECOND_MS);

/// One feature of the product and how it is adopted.
#[derive(Debug)]
pub struct FeatureSpec {
    /// Feature name, as in deploys' `features` and usage events.
    pub name: &'static str,
    /// The service whose deploy first ships it, and how long before "now" it
    /// ships; `None` for a long-standing feature.
    pub ship: Option<(&'static str, Millis)>,
    /// Share of the users who adopt it; 0 for a feature nobody uses.
    pub reach: f64,
    /// Mean delay from shipping to an adopter's first use.
    ramp: Millis,
    /// Uses per adopter per day, at activity 1.
    per_day: f64,
}

/// The product's features.
pub const CATALOGUE: [FeatureSpec; 12] = [
    // Long-standing.
    FeatureSpec {
        name: "order-tracking",
        ship: None,
        reach: 0.55,
        ramp: 0,
        per_day: 0.25,
    },
    FeatureSpec {
        name: "wishlist",
        ship: None,
        reach: 0.3,
        ramp: 0,
        per_day: 0.2,
    },
    FeatureSpec {
        name: "guest-checkout",
        ship: None,
        reach: 0.2,
        ramp: 0,
        per_day: 0.15,
    },
    // First shipped within 30 days.
    FeatureSpec {
        name: "passkeys",
        ship: Some(("auth", 26 * DAY_MS)),
        reach: 0.3,
        ramp: 8 * DAY_MS,
        per_day: 0.5,
    },
    FeatureSpec {
        name: "similar-items",
        ship: Some(("recommendations", 19 * DAY_MS)),
        reach: 0.4,
        ramp: 6 * DAY_MS,
        per_day: 0.7,
    },
    FeatureSpec {
        name: "gift-cards",
        ship: Some(("cart", 16 * DAY_MS)),
        reach: 0.0,
        ramp: DAY_MS,
        per_day: 0.0,
    },
    FeatureSpec {
        name: "save-for-later",
        ship: Some(("cart", 11 * DAY_MS)),
        reach: 0.3,
        ramp: 4 * DAY_MS,
        per_day: 0.8,
    },
    // Within 7 days.
    FeatureSpec {
        name: "typo-tolerance",
        ship: Some(("search", 5 * DAY_MS)),
        reach: 0.5,
        ramp: 2 * DAY_MS,
        per_day: 1.0,
    },
    FeatureSpec {
        name: "apple-pay",
        ship: Some(("checkout", 60 * HOUR_MS)),
        reach: 0.2,
        ramp: 36 * HOUR_MS,
        per_day: 1.5,
    },
    // Within the last day.
    FeatureSpec {
        name: "saml-sso",
        ship: Some(("auth", 14 * HOUR_MS)),
        reach: 0.0,
        ramp: DAY_MS,
        per_day: 0.0,
    },
    FeatureSpec {
        name: "one-click-checkout",
        ship: Some(("checkout", 9 * HOUR_MS)),
        reach: 0.4,
        ramp: 12 * HOUR_MS,
        per_day: 1.0,
    },
    FeatureSpec {
        name: "semantic-search",
        ship: Some(("search", 3 * HOUR_MS)),
        reach: 0.35,
        ramp: 8 * HOUR_MS,
        per_day: 1.5,
    },
];

/// A user of the product.
#[derive(Debug)]
struct User {
    id: String,
    account: String,
    /// Multiplies the usage rate of every feature the user adopted.
    activity: f64,
}

/// A feature's live state.
#[derive(Debug)]
struct Feature {
    name: String,
    /// Usage starts at this time; `None`: before the history.
    from: Option<Millis>,
    /// Relative share of live usage: its usage rate at the end of the
    /// backfill (events per day).
    weight: f64,
    /// Live chance that an event comes from any user.
    newcomers: f64,
    /// Users who used it, in order of first use.
    adopters: Vec<u32>,
    /// Whether each user used it.
    used: Vec<bool>,
}

impl Feature {
    fn new(name: String, from: Option<Millis>, newcomers: f64) -> Self {
        Self {
            name,
            from,
            weight: 0.0,
            newcomers,
            adopters: Vec::new(),
            used: vec![false; USERS],
        }
    }

    fn adopt(&mut self, user: usize) {
        if !self.used[user] {
            self.used[user] = true;
            self.adopters.push(user as u32);
        }
    }

    fn live_at(&self, now: Millis) -> bool {
        self.from.is_none_or(|from| from <= now)
    }
}

/// The usage side of the demo: users, features, and their own random stream.
#[derive(Debug)]
pub struct Usage {
    rng: Rng,
    users: Vec<User>,
    features: Vec<Feature>,
}

/// Draws an index from `weights` (not all zero) in proportion to them.
fn pick(rng: &mut Rng, weights: impl Iterator<Item = f64> + Clone) -> usize {
    let total: f64 = weights.clone().sum();
    let mut x = rng.unit() * total;
    let mut last = 0;
    for (i, w) in weights.enumerate() {
        if w <= 0.0 {
            continue;
        }
        last = i;
        if x < w {
            return i;
        }
        x -= w;
    }
    last
}

impl Usage {
    /// The users of `seed`'s story; features are added by
    /// [`Usage::backfill`] and [`Usage::launch`].
    pub fn new(seed: u64) -> Self {
        // Not the deploys' stream: usage must not shift the DORA story.
        let mut rng = Rng::new(seed ^ 0x5553_4147_4500_0000);
        let users = (0..USERS)
            .map(|i| {
                let account = rng.index(ACCOUNTS);
                let activity = (0.3f64.ln() + rng.unit() * 10f64.ln()).exp();
                User {
                    id: format!("u-{:05}", 10_001 + i),
                    account: format!("acct-{:03}", account + 1),
                    activity,
                }
            })
            .collect();
        Self {
            rng,
            users,
            features: Vec::new(),
        }
    }

    /// Usage from `start` to `now` (exclusive), sorted by time. `shipped`
    /// holds the first ship time of every feature a deploy shipped; a
    /// catalogue feature meant to be shipped that is not in it gets no usage.
    pub fn backfill(
        &mut self,
        start: Millis,
        now: Millis,
        shipped: &[(String, Millis)],
    ) -> Vec<Record> {
        let mut out = Vec::new();
        for spec in &CATALOGUE {
            let from = match spec.ship {
                None => None,
                Some(_) => match shipped.iter().find(|(name, _)| name == spec.name) {
                    Some(&(_, at)) => Some(at),
                    None => continue,
                },
            };
            let mut feature = Feature::new(spec.name.to_owned(), from, NEWCOMERS);
            let adopters = (spec.reach * USERS as f64).round() as usize;
            for user in self.sample_users(adopters) {
                let rate = spec.per_day * self.users[user].activity;
                let gap = (DAY_MS as f64 / rate) as Millis;
                let mut t = match from {
                    Some(ship) => ship + SECOND_MS + self.rng.exponential(spec.ramp),
                    None => start + self.rng.exponential(gap),
                };
                if t >= now {
                    // Adopts it later: not yet a user.
                    continue;
                }
                feature.adopt(user);
                feature.weight += rate;
                while t < now {
                    out.push(self.record(&feature.name, user, t));
                    t += self.rng.exponential(gap).max(SECOND_MS);
                }
            }
            self.features.push(feature);
        }
        // Stable: one user's uses of one feature stay in order.
        out.sort_by_key(|r| r.at);
        out
    }

    /// A feature first shipped live at `shipped_at`: it is first used a few
    /// seconds later, mostly by users new to it.
    pub fn launch(&mut self, name: String, shipped_at: Millis) {
        let total: f64 = self.features.iter().map(|f| f.weight).sum();
        let from = shipped_at + self.rng.between(LAUNCH_FIRST_USE.0, LAUNCH_FIRST_USE.1);
        let mut feature = Feature::new(name, Some(from), LAUNCH_NEWCOMERS);
        feature.weight = (total * LAUNCH_SHARE).max(1.0);
        self.features.push(feature);
    }

    /// Live usage for `period` ending at `now`: about [`LIVE_PER_SECOND`]
    /// events a second, all at `now`.
    pub fn live(&mut self, now: Millis, period: Duration) -> Vec<Record> {
        let expected = LIVE_PER_SECOND * period.as_secs_f64() * (0.8 + 0.4 * self.rng.unit());
        let eligible: Vec<usize> = (0..self.features.len())
            .filter(|&i| self.features[i].live_at(now) && self.features[i].weight > 0.0)
            .collect();
        if eligible.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::with_capacity(expected.round() as usize);
        for _ in 0..expected.round() as usize {
            let weights = eligible.iter().map(|&i| self.features[i].weight);
            let f = eligible[pick(&mut self.rng, weights)];
            let feature = &mut self.features[f];
            let user = if feature.adopters.is_empty() || self.rng.chance(feature.newcomers) {
                let user = self.rng.index(USERS);
                feature.adopt(user);
                user
            } else {
                feature.adopters[self.rng.index(feature.adopters.len())] as usize
            };
            out.push(self.record(&self.features[f].name, user, now));
        }
        out
    }

    /// `n` distinct users, at random.
    fn sample_users(&mut self, n: usize) -> Vec<usize> {
        let mut all: Vec<usize> = (0..USERS).collect();
        let n = n.min(USERS);
        for i in 0..n {
            let j = i + self.rng.index(USERS - i);
            all.swap(i, j);
        }
        all.truncate(n);
        all
    }

    /// A usage event, keyed by the user id as the contract asks.
    fn record(&self, feature: &str, user: usize, at: Millis) -> Record {
        let u = &self.users[user];
        let payload = UsageV1 {
            feature: feature.into(),
            user: u.id.as_str().into(),
            account: Some(u.account.as_str().into()),
            at: to_the_second(at).into(),
        };
        Record {
            at,
            topic: Topic::FeatureUsage,
            key: u.id.clone(),
            payload: serde_json::to_string(&payload).expect("strings always serialize"),
            headers: Vec::new(),
        }
    }
}
