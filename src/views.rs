//! Views: [`Reports`](crate::report::Reports) → bytes. Pure encoders: they
//! read a report and compute no figure of their own (every number comes
//! from [`crate::report`] or the domain function it calls).
//!
//! | module | job |
//! |---|---|
//! | [`names`] | every metric's name, type, labels and help text |
//! | [`metrics`] | a report as Prometheus metric families |
//! | [`page`] | a report as the value pulse page (HTML) served at `/` |
//! | [`pulse`] | a Weekly Value Pulse as its page (`/pulse`) and as markdown |

pub mod metrics;
pub mod names;
pub mod page;
pub mod pulse;
