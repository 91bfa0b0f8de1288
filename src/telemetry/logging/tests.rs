//! When text logs are coloured.

use std::ffi::OsStr;

use super::colour;

#[test]
fn colour_only_on_a_terminal_without_no_color() {
    assert!(colour(true, None));
    assert!(
        colour(true, Some(OsStr::new(""))),
        "an empty NO_COLOR counts as unset"
    );
    assert!(!colour(true, Some(OsStr::new("1"))));
    assert!(!colour(false, None), "a file or a pipe gets no colour");
    assert!(!colour(false, Some(OsStr::new("1"))));
}
