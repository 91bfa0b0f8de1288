//! Argo CD notifications to native v1 events. A pure function: no I/O, no clock.
//! (Not mapped yet: every authentic delivery is answered 202, `ignored`.)

use super::map::{Malformed, Mapped};
use crate::config::bridge::ArgocdSource;

/// The delivery as native v1 events, or nothing (ignored).
pub fn map(_body: &[u8], _cfg: &ArgocdSource) -> Result<Mapped, Malformed> {
    Ok(Mapped::ignored("other"))
}
