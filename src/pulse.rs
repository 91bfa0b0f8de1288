//! The Weekly Value Pulse: what value each team created this week, what
//! blocked it, where the opportunities and the risks are, compared with
//! the week before.
//!
//! | module | job |
//! |---|---|
//! | [`model`] | the pulse as data: the JSON schema `valuepulse.pulse/v1` |
//! | [`deliver`] | `valuepulse pulse send`: each team's pulse posted to Slack, Teams or a JSON webhook, once per ISO week |

pub mod deliver;
pub mod model;
