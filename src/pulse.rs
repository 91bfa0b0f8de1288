//! The Weekly Value Pulse: what value each team created this week, what
//! blocked it, where the opportunities and the risks are, compared with
//! the week before.
//!
//! | module | job |
//! |---|---|
//! | [`model`] | the pulse as data: the JSON schema `valuepulse.pulse/v1` |

pub mod model;
