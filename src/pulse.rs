//! The Weekly Value Pulse: what value each team created this week, what
//! blocked it, where the opportunities and the risks are, compared with
//! the week before.
//!
//! | module | job |
//! |---|---|
//! | [`model`] | the pulse as data: the JSON schema `valuepulse.pulse/v1` |
//! | [`compute`] | the pulse of each team and of the organisation, from the state the daemon holds |
//! | [`client`] | the one HTTP client: a daemon's pulse (TLS, basic auth), webhook posts, Prometheus queries |
//! | [`history`] | last week's distinct users from Prometheus (`pulse.prometheus_url`) |
//! | [`deliver`] | `valuepulse pulse send`: each team's pulse posted to Slack, Teams or a JSON webhook, once per ISO week |
//!
//! `/pulse` and `/pulse/teams` are served by [`crate::http`], rendered by
//! [`crate::views::pulse`].

pub mod client;
pub mod compute;
pub mod deliver;
pub mod history;
pub mod model;
