//! The pure core: domain events, event-time windows, label interning, DORA
//! state and its report (with incident attribution), feature-adoption shards
//! and their scrape-time merge, quantiles and the tier bands. Nothing here
//! performs I/O or reads a clock: callers pass `now`, so every figure can be
//! checked by a unit test with a fixed time.

pub mod adoption;
pub mod dora;
pub mod event;
pub mod labels;
pub mod quantiles;
pub mod tier;
pub mod time;

pub use event::{Change, Deploy, DeployStatus, Event, Incident, IncidentStatus, Outcome, Usage};
pub use time::{Millis, Window};
