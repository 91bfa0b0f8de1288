//! The demo's organisation: five services in three teams, each with its own
//! cadence and quality, so that their DORA tiers differ.

use crate::domain::Millis;
use crate::domain::time::DAY_MS;

use super::{HOUR_MS, MINUTE_MS};

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
    pub(super) deploys_per_day: f64,
    /// Commit-to-production time, drawn log-uniformly from this range.
    pub(super) lead: (Millis, Millis),
    /// Share of production deploys that are change failures.
    pub(super) failure_ratio: f64,
    /// Incident duration, drawn log-uniformly from this range.
    pub(super) restore: (Millis, Millis),
    /// Share of releases that go through staging first.
    pub(super) staging_share: f64,
    /// Brand-new features a live release may launch, in this order.
    pub(super) features: &'static [&'static str],
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
        features: &["express-checkout", "split-payments", "gift-messages"],
    },
    Profile {
        service: "cart",
        team: "payments",
        deploys_per_day: 1.5,
        lead: (6 * HOUR_MS, 6 * DAY_MS),
        failure_ratio: 0.1,
        restore: (30 * MINUTE_MS, 8 * HOUR_MS),
        staging_share: 0.5,
        features: &["price-alerts", "bundle-deals"],
    },
    Profile {
        service: "search",
        team: "discovery",
        deploys_per_day: 3.0,
        lead: (30 * MINUTE_MS, DAY_MS),
        failure_ratio: 0.08,
        restore: (20 * MINUTE_MS, 4 * HOUR_MS),
        staging_share: 0.6,
        features: &["voice-search", "visual-search"],
    },
    Profile {
        service: "recommendations",
        team: "discovery",
        deploys_per_day: 0.5,
        lead: (DAY_MS, 12 * DAY_MS),
        failure_ratio: 0.13,
        restore: (2 * HOUR_MS, 2 * DAY_MS),
        staging_share: 0.3,
        features: &["trending-now", "recently-viewed"],
    },
    Profile {
        service: "auth",
        team: "platform",
        deploys_per_day: 0.3,
        lead: (5 * DAY_MS, 25 * DAY_MS),
        failure_ratio: 0.35,
        restore: (6 * HOUR_MS, 5 * DAY_MS),
        staging_share: 0.9,
        features: &["magic-links", "push-2fa"],
    },
];
