//! stub
use super::map::{Malformed, Mapped};
use crate::config::bridge::GitlabSource;
/// stub
pub fn map(_e: &str, _b: &[u8], _c: &GitlabSource) -> Result<Mapped, Malformed> {
    Ok(Mapped::ignored("other"))
}
