//! The pure core: domain events, event-time windows, label interning, DORA
//! state and its report (with incident attribution), feature-adoption shards
//! and their scrape-time merge, work-item flow, customer satisfaction, the
//! value delivery score, quantiles, the DORA tiers and the value-stream
//! health bands. Nothing here performs I/O or reads a clock: callers pass
//! `now`, so every figure can be checked by a unit test with a fixed time.

pub mod adoption;
pub mod dora;
pub mod event;
pub mod flow;
pub mod health;
pub mod labels;
pub mod quantiles;
pub mod satisfaction;
mod stream;
pub mod tier;
pub mod time;
pub mod value;

pub use event::{
    Change, Deploy, DeployStatus, Event, FlowCategory, Incident, IncidentStatus, Outcome,
    PushedChange, Satisfaction, SatisfactionScore, Usage, WorkItem,
};
pub use stream::Stream;
pub use time::{Millis, Window, Windows};
