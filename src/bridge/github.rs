//! stub
use super::map::{Malformed, Mapped};
use crate::config::bridge::GithubSource;
/// stub
pub fn map(_e: &str, _b: &[u8], _c: &GithubSource) -> Result<Mapped, Malformed> {
    Ok(Mapped::ignored("other"))
}
