//! The load generator's dataset: pure and seeded, with the end of the
//! history passed in, so a seed and an end time always give the same bytes.
//!
//! - **Features**: `features` names, usage drawn Zipf(`feature_skew`) over
//!   them (rank 1 is the most used). Every third feature from rank 3 on is
//!   *new*: a production deploy inside the history first ships it, and it is
//!   used only from then on; the others are long-standing (no deploy ships
//!   them, they are used all along).
//! - **Users**: `users` ids `u-0000001…`, drawn Zipf(`user_skew`) so a few
//!   users are heavy, scattered over the id space by a fixed permutation;
//!   each belongs to one of `users / 40` accounts. Usage events are keyed by
//!   user id, as the contract asks.
//! - **Time**: event times cover `days` days ending at `end`: evenly spread
//!   in increasing order ([`Order::Time`], a replay of a log written as it
//!   happened), or uniform at random ([`Order::Shuffled`], late producers and
//!   mixed sources). Nothing is held in memory: event `i` is computed when
//!   asked for, so 50 M events cost the same memory as 50.
//! - **Payloads**: native v1 usage JSON with the three fields the daemon reads
//!   and the kind of context real product analytics carry (session, platform,
//!   region, app version, locale, plan, screen, duration): 200–350 bytes.
//! - **Deploys and incidents**: `deploys_per_day` deploys of 12 services in
//!   5 teams (90 % production), 88 % succeeded, 7 % failed, 5 % later
//!   rolled back, with 1–4 changes each; every change failure is followed by
//!   an incident naming it (opened, then resolved when that is before `end`).

use std::io::Write as _;

use super::zipf::{Zipf, ZipfError};
use crate::domain::Millis;
use crate::ingest::decode::{ChangeV1, DeployV1, IncidentV1, format_time, write_time};
use crate::rng::Rng;

/// Milliseconds in a day.
pub const DAY_MS: Millis = 86_400_000;
const MINUTE_MS: Millis = 60_000;

/// In which order usage event times are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Order {
    /// Increasing event time, evenly spread: a log written as things happened.
    Time,
    /// Uniform random times over the whole span.
    Shuffled,
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Usage events in the history.
    pub events: u64,
    /// Distinct features.
    pub features: u32,
    /// Distinct users.
    pub users: u32,
    /// Days of event time, ending at `end`.
    pub days: u32,
    /// Seed of every random choice.
    pub seed: u64,
    /// End of the history (exclusive), Unix milliseconds.
    pub end: Millis,
    /// Order of usage event times.
    pub order: Order,
    /// Zipf exponent of feature popularity.
    pub feature_skew: f64,
    /// Zipf exponent of user activity.
    pub user_skew: f64,
    /// Deploys per day, over all services.
    pub deploys_per_day: f64,
}

/// A small record (deploy or incident) ready to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmallRecord {
    /// Deploy (true) or incident (false).
    pub is_deploy: bool,
    /// Record key: the service.
    pub key: String,
    /// Native v1 JSON.
    pub payload: String,
    /// Record timestamp: the event time.
    pub at: Millis,
}

/// Services, their teams, as in a mid-size product organisation.
const SERVICES: [(&str, &str); 12] = [
    ("checkout", "payments"),
    ("cart", "payments"),
    ("billing", "payments"),
    ("search", "discovery"),
    ("recommendations", "discovery"),
    ("catalog", "discovery"),
    ("auth", "platform"),
    ("gateway", "platform"),
    ("notifications", "engagement"),
    ("profile", "engagement"),
    ("reporting", "insights"),
    ("exports", "insights"),
];

const ADJECTIVES: [&str; 16] = [
    "bulk",
    "smart",
    "quick",
    "saved",
    "shared",
    "scheduled",
    "custom",
    "team",
    "instant",
    "guided",
    "dark",
    "offline",
    "multi",
    "inline",
    "live",
    "secure",
];
const NOUNS: [&str; 16] = [
    "export",
    "search",
    "filters",
    "reports",
    "checkout",
    "invites",
    "dashboards",
    "alerts",
    "comments",
    "templates",
    "mode",
    "sync",
    "currency",
    "editing",
    "preview",
    "login",
];
const PLATFORMS: [&str; 5] = ["web", "ios", "android", "desktop", "web"];
const REGIONS: [&str; 6] = [
    "eu-west-1",
    "us-east-1",
    "us-west-2",
    "ap-southeast-2",
    "eu-central-1",
    "sa-east-1",
];
const LOCALES: [&str; 8] = [
    "en-US", "en-GB", "de-DE", "fr-FR", "es-ES", "pt-BR", "ja-JP", "nl-NL",
];
const PLANS: [&str; 4] = ["free", "team", "business", "enterprise"];
const SCREENS: [&str; 12] = [
    "/",
    "/home",
    "/search",
    "/cart",
    "/checkout/payment",
    "/settings/billing",
    "/settings/notifications/email",
    "/reports/weekly",
    "/projects/overview",
    "/account/security/two-factor",
    "/dashboards/shared-with-me",
    "/admin/organisation/members/invitations",
];

/// Mixes bits (SplitMix64's finaliser): stable per-user and per-session
/// attributes without storing them.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The dataset of a [`Spec`]: features, their first ship times, the deploys
/// and incidents, and a cursor over the usage events.
#[derive(Debug)]
pub struct Dataset {
    spec: Spec,
    start: Millis,
    names: Vec<String>,
    /// First ship time per feature rank; `None` for long-standing ones.
    shipped: Vec<Option<Millis>>,
    small: Vec<SmallRecord>,
    feature_zipf: Zipf,
    user_zipf: Zipf,
    /// Odd multiplier coprime with `users`: user rank → user index.
    scatter: u64,
    rng: Rng,
    next: u64,
}

/// Why a spec cannot be generated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SpecError {
    /// A count that must be positive is zero.
    #[error("--{0} must be at least 1")]
    Zero(&'static str),
    /// A skew is not a valid Zipf exponent.
    #[error(transparent)]
    Zipf(#[from] ZipfError),
}

impl Dataset {
    /// Plans the dataset: names, deploys, incidents, ship times.
    pub fn new(spec: Spec) -> Result<Self, SpecError> {
        for (name, v) in [
            ("features", u64::from(spec.features)),
            ("users", u64::from(spec.users)),
            ("days", u64::from(spec.days)),
        ] {
            if v == 0 {
                return Err(SpecError::Zero(name));
            }
        }
        let feature_zipf = Zipf::new(u64::from(spec.features), spec.feature_skew)?;
        let user_zipf = Zipf::new(u64::from(spec.users), spec.user_skew)?;
        let start = spec.end - Millis::from(spec.days) * DAY_MS;
        let mut plan = Rng::new(spec.seed ^ 0x6465_706c_6f79);
        let salt = plan.next_u64();
        let names = (0..spec.features)
            .map(|i| feature_name(i, salt))
            .collect::<Vec<_>>();
        let mut shipped = vec![None; spec.features as usize];
        let small = small_records(&spec, start, &names, &mut shipped, &mut plan);
        let users = u64::from(spec.users);
        let scatter = (0..u64::from(u32::MAX))
            .map(|k| 2_654_435_761u64 + 2 * k)
            .find(|m| gcd(*m, users) == 1)
            .unwrap_or(1);
        Ok(Self {
            rng: Rng::new(spec.seed),
            spec,
            start,
            names,
            shipped,
            small,
            feature_zipf,
            user_zipf,
            scatter,
            next: 0,
        })
    }

    /// Deploy and incident events, in event-time order.
    pub fn small_records(&self) -> &[SmallRecord] {
        &self.small
    }

    /// Feature names by popularity rank (index 0 is rank 1).
    pub fn feature_names(&self) -> &[String] {
        &self.names
    }

    /// First ship time of each feature by rank; `None` when long-standing.
    pub fn ship_times(&self) -> &[Option<Millis>] {
        &self.shipped
    }

    /// Usage events written so far.
    pub fn written(&self) -> u64 {
        self.next
    }

    /// The next usage event of the history: key and payload replace the
    /// buffers' contents; returns its event time, or `None` when all
    /// `spec.events` are out.
    pub fn next_usage(&mut self, key: &mut Vec<u8>, payload: &mut Vec<u8>) -> Option<Millis> {
        if self.next >= self.spec.events {
            return None;
        }
        let span = Millis::from(self.spec.days) * DAY_MS;
        let t = match self.spec.order {
            Order::Time => {
                self.start
                    + (i128::from(self.next) * i128::from(span) / i128::from(self.spec.events))
                        as Millis
            }
            Order::Shuffled => self.start + self.rng.below(span as u64) as Millis,
        };
        self.next += 1;
        self.usage_at(t, key, payload);
        Some(t)
    }

    /// One usage event at time `t` (for live load: the current time).
    pub fn usage_at(&mut self, t: Millis, key: &mut Vec<u8>, payload: &mut Vec<u8>) {
        let feature = self.feature_at(t);
        let rank = self.user_zipf.sample(&mut self.rng) - 1;
        let user = (rank * self.scatter) % u64::from(self.spec.users);
        let r = self.rng.next_u64();
        key.clear();
        write!(key, "u-{:07}", user + 1).expect("writing to a Vec cannot fail");
        self.write_usage(payload, &self.names[feature], key, user, t, r);
    }

    /// A marker usage event: feature `feature`, user `user`, at `t`, with the
    /// same shape and size as the rest.
    pub fn marker(
        &self,
        feature: &str,
        user: &str,
        t: Millis,
        key: &mut Vec<u8>,
        payload: &mut Vec<u8>,
    ) {
        key.clear();
        key.extend_from_slice(user.as_bytes());
        self.write_usage(payload, feature, user.as_bytes(), 0, t, 0);
    }

    /// A feature rank that has shipped by `t`: drawn by popularity, redrawn
    /// (a few times) while the draw is a feature not yet shipped.
    fn feature_at(&mut self, t: Millis) -> usize {
        for _ in 0..8 {
            let f = (self.feature_zipf.sample(&mut self.rng) - 1) as usize;
            if self.shipped[f].is_none_or(|s| s <= t) {
                return f;
            }
        }
        0 // rank 1 is always long-standing
    }

    fn write_usage(
        &self,
        out: &mut Vec<u8>,
        feature: &str,
        user: &[u8],
        user_index: u64,
        t: Millis,
        r: u64,
    ) {
        let u = mix(user_index ^ self.spec.seed.rotate_left(17));
        let accounts = u64::from(self.spec.users / 40).max(1);
        let account = u % accounts;
        let a = mix(account);
        // A session lasts about half an hour.
        let session = mix(u ^ (t / (30 * MINUTE_MS)) as u64);
        let day = (t - self.start).div_euclid(DAY_MS);
        out.clear();
        out.extend_from_slice(b"{\"feature\":\"");
        out.extend_from_slice(feature.as_bytes());
        out.extend_from_slice(b"\",\"user\":\"");
        out.extend_from_slice(user);
        write!(out, "\",\"account\":\"acct-{:05}\",\"at\":\"", account + 1).expect("Vec write");
        write_time(out, t);
        write!(
            out,
            "\",\"session\":\"s-{session:016x}\",\"platform\":\"{}\",\"region\":\"{}\",\
             \"app_version\":\"{}.{}.{}\",\"locale\":\"{}\",\"plan\":\"{}\",\"screen\":\"{}\",\
             \"duration_ms\":{}}}",
            PLATFORMS[(u >> 8) as usize % PLATFORMS.len()],
            REGIONS[(a >> 8) as usize % REGIONS.len()],
            5 + day / 60,
            (day % 60) / 3,
            (r >> 40) % 4,
            LOCALES[(u >> 16) as usize % LOCALES.len()],
            PLANS[(a >> 16) as usize % PLANS.len()],
            SCREENS[(r >> 8) as usize % SCREENS.len()],
            40 + (r >> 20) % 30_000,
        )
        .expect("writing to a Vec cannot fail");
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// `adjective-noun`, unique for the first 256 ranks and numbered beyond.
/// Rank `i` takes pair `(7i + salt) mod 256` (7 is coprime with 256, so
/// this is a bijection): names do not reveal rank, and differ by seed.
fn feature_name(i: u32, salt: u64) -> String {
    let pairs = (ADJECTIVES.len() * NOUNS.len()) as u64;
    let pair = ((u64::from(i) * 7 + salt) % pairs) as usize;
    let adj = ADJECTIVES[pair / NOUNS.len()];
    let noun = NOUNS[pair % NOUNS.len()];
    match u64::from(i) / pairs {
        0 => format!("{adj}-{noun}"),
        n => format!("{adj}-{noun}-{n}"),
    }
}

/// Deploys and incidents of the history, and the first ship time of every
/// new feature (written into `shipped`).
fn small_records(
    spec: &Spec,
    start: Millis,
    names: &[String],
    shipped: &mut [Option<Millis>],
    rng: &mut Rng,
) -> Vec<SmallRecord> {
    /// One deploy of the history, before it is written.
    struct Deploy {
        id: String,
        svc: usize,
        production: bool,
        status: &'static str,
        finished: Millis,
        features: Vec<usize>,
    }
    let span = spec.end - start;
    let count = (spec.deploys_per_day * f64::from(spec.days))
        .round()
        .max(0.0) as u64;
    // Deploy times, sorted; the last hour is left out so that follow-ups
    // (incidents) have room before `end`.
    let mut times: Vec<Millis> = (0..count)
        .map(|_| start + 2 * MINUTE_MS + rng.below((span - 4 * MINUTE_MS).max(1) as u64) as Millis)
        .collect();
    times.sort_unstable();
    let mut deploys: Vec<Deploy> = times
        .iter()
        .enumerate()
        .map(|(i, &finished)| {
            let roll = rng.unit();
            Deploy {
                id: format!("d-{}-{}", spec.seed, i + 1),
                svc: rng.below(SERVICES.len() as u64) as usize,
                production: rng.unit() < 0.9,
                status: if roll < 0.88 {
                    "succeeded"
                } else if roll < 0.95 {
                    "failed"
                } else {
                    "rolled_back"
                },
                finished,
                features: Vec::new(),
            }
        })
        .collect();
    let shippers: Vec<usize> = (0..deploys.len())
        .filter(|&i| deploys[i].production && deploys[i].status == "succeeded")
        .collect();
    if !shippers.is_empty() {
        for f in (2..names.len()).step_by(3) {
            let d = shippers[rng.below(shippers.len() as u64) as usize];
            deploys[d].features.push(f);
            shipped[f] = Some(deploys[d].finished);
        }
    }
    let mut out = Vec::with_capacity(deploys.len() * 5 / 4);
    let mut incidents = 0;
    for d in &deploys {
        let (service, team) = SERVICES[d.svc];
        let changes: Vec<_> = (0..=rng.below(4))
            .map(|_| {
                let age = MINUTE_MS * 10 + rng.below(5 * DAY_MS as u64) as Millis;
                ChangeV1 {
                    id: Some(format!("{:07x}", rng.next_u64() >> 36).into()),
                    committed_at: format_time(d.finished - age).into(),
                }
            })
            .collect();
        // Fields in draw order: a struct literal evaluates in the order written.
        let deploy = DeployV1 {
            id: d.id.as_str().into(),
            service: service.into(),
            team: Some(team.into()),
            environment: Some(
                if d.production {
                    "production"
                } else {
                    "staging"
                }
                .into(),
            ),
            status: d.status.into(),
            finished_at: format_time(d.finished).into(),
            started_at: Some(
                format_time(d.finished - (2 + rng.below(18) as Millis) * MINUTE_MS).into(),
            ),
            version: Some(format!("1.{}.{}", rng.below(80), rng.below(20)).into()),
            artifact: Some(
                format!(
                    "sha256:{:016x}{:016x}{:016x}{:016x}",
                    rng.next_u64(),
                    rng.next_u64(),
                    rng.next_u64(),
                    rng.next_u64()
                )
                .into(),
            ),
            changes,
            features: d
                .features
                .iter()
                .map(|&f| names[f].as_str().into())
                .collect(),
            ..DeployV1::default()
        };
        out.push(SmallRecord {
            is_deploy: true,
            key: service.to_owned(),
            payload: json(&deploy),
            at: d.finished,
        });
        if d.production && d.status != "succeeded" {
            incidents += 1;
            let opened = d.finished + MINUTE_MS + rng.below(30 * MINUTE_MS as u64) as Millis;
            let resolved = opened
                + 10 * MINUTE_MS
                + rng.below(DAY_MS as u64 - 10 * MINUTE_MS as u64) as Millis;
            let mut incident = IncidentV1 {
                id: format!("inc-{}-{incidents}", spec.seed).into(),
                service: service.into(),
                team: Some(team.into()),
                environment: Some("production".into()),
                status: "opened".into(),
                severity: Some(format!("sev{}", 1 + rng.below(3)).into()),
                opened_at: format_time(opened).into(),
                caused_by_deploy: Some(d.id.as_str().into()),
                ..IncidentV1::default()
            };
            if opened < spec.end {
                out.push(SmallRecord {
                    is_deploy: false,
                    key: service.to_owned(),
                    payload: json(&incident),
                    at: opened,
                });
            }
            if resolved < spec.end {
                incident.status = "resolved".into();
                incident.resolved_at = Some(format_time(resolved).into());
                out.push(SmallRecord {
                    is_deploy: false,
                    key: service.to_owned(),
                    payload: json(&incident),
                    at: resolved,
                });
            }
        }
    }
    out.sort_by_key(|r| r.at);
    out
}

/// A wire event's JSON.
fn json(event: &impl serde::Serialize) -> String {
    serde_json::to_string(event).expect("a wire event always serializes")
}

#[cfg(test)]
mod tests;
