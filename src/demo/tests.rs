//! The demo's wiring.

use super::*;

#[test]
fn banner_names_the_urls_and_replaces_an_unspecified_host() {
    let b = banner("0.0.0.0:9464".parse().unwrap());
    let first_url = b.lines().find(|l| l.contains("http://")).unwrap();
    assert!(
        first_url.contains("http://127.0.0.1:9464/ "),
        "the page's URL comes first: {b}"
    );
    assert!(b.contains("http://127.0.0.1:9464/metrics"));
    assert!(b.contains("http://127.0.0.1:9464/readyz"));
    assert!(b.contains("grep valuepulse_change_failure_ratio"));
    assert!(b.contains("grep valuepulse_feature_time_to_first_use_seconds"));
    let b = banner("127.0.0.1:19465".parse().unwrap());
    assert!(b.contains("http://127.0.0.1:19465/metrics"));
}
