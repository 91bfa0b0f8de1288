//! `valuepulse bridge`: webhooks from the tools teams already run, verified
//! and mapped to native v1 events (issue 18, in progress).
//!
//! | module | job |
//! |---|---|
//! | [`verify`] | each source's signature scheme, on the raw bytes, in constant time |
//! | [`map`] | what a delivery becomes: native v1 events, the rules' lookups, forge timestamps |

pub mod map;
pub mod verify;
