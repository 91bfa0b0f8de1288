//! The value pulse page, end to end: a hand-checked dataset through a real
//! Kafka broker into the daemon, `/` opened in headless Chromium (Debian's
//! `chromium`, installed by deploy/test.sh), the numbers read from the DOM
//! Chromium built, and compared with the same series in `/metrics` — every
//! one of them — and with the figures worked out by hand below. The test
//! leaves a screenshot at `target/tmp/value-pulse.png` (and at
//! `$VALUEPULSE_PAGE_SCREENSHOT` when set: that is how
//! `docs/value-pulse.png` is made).
//!
//! Dataset (times are offsets from the start of the test; every event is at
//! least 20 minutes from any window edge):
//!
//! | record | what |
//! |---|---|
//! | d1 checkout/payments | succeeded at −5 h, change committed 2 h before, ships `one-click` |
//! | d2 checkout/payments | succeeded at −3 h, change committed 4 h before, ships `saved-carts` |
//! | d3 checkout/payments | `rolled_back` at −2 h |
//! | s1 search/discovery | succeeded at −10 h, change committed 30 min before |
//! | s2 search/discovery | succeeded at −26 h (in 7d, not in 1d) |
//! | d1 again | an identical redelivery: `duplicate` |
//! | two broken deploy records | `invalid` |
//! | inc-1 checkout | opened −90 min, resolved −30 min, `caused_by_deploy` d2 |
//! | inc-2 search | opened −9 h, not resolved, no cause |
//! | usage | `one-click`: u1 −4 h, u2 −1 h, u3 −30 min; `search-filters`: u1 −2 h, u4 −20 min |
//!
//! Worked out by hand:
//! - checkout 1d: 3 deployments (`rolled_back` reached the environment);
//!   change failures strict = {d2 (inc-1's cause), d3 (rolled back)} → 2/3,
//!   loose the same 2/3; lead time p50 of {2 h, 4 h} = 2 h (nearest rank);
//!   time to restore p50 = 1 h; change failure rate tier low (2/3 > 15 %).
//! - search 1d: 1 deployment, strict 0 → 0, loose links inc-2 to s1 (the
//!   latest deploy within a day before it) → 1; 7d: 2 deployments, loose
//!   1/2; one open incident.
//! - adoption 1d: 4 active users; `one-click` 3 users, 3/4 adopted;
//!   `search-filters` 2 users; shipped 2 (one-click, saved-carts), used 1
//!   (`min_users` 1) → realization 1/2; feedback cycle p50 = first use −4 h
//!   minus ship −5 h = 1 h.
//! - deploys topic: 5 accepted, 1 duplicate, 2 invalid; 16 records in all.

#![allow(
    clippy::too_many_arguments,
    reason = "the event builders take every field positionally so the dataset reads as a table"
)]
#![allow(
    clippy::print_stderr,
    reason = "the test says where it left the screenshot"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::events::{self, DeployExt, Event, IncidentExt};
use crate::common::{self, Daemon, create_topics, parse, produce, scrape_after, unique};
use valuepulse::ingest::decode::UsageV1;

const M: i64 = 60;
const H: i64 = 3600;

/// A production deploy; `lead` adds one change `<id>-c` committed that
/// long before it finished.
fn deploy(
    now: i64,
    id: &str,
    service: &str,
    team: &str,
    status: &str,
    finished: i64,
    lead: Option<i64>,
    features: &[&str],
) -> String {
    let change = format!("{id}-c");
    let changes: Vec<(&str, i64)> = lead
        .map(|l| (change.as_str(), finished - l))
        .into_iter()
        .collect();
    events::deploy(now, id, service, team, status, finished)
        .with_changes(now, &changes)
        .with_features(features)
        .json()
}

fn incident(
    now: i64,
    id: &str,
    service: &str,
    team: &str,
    opened: i64,
    resolved: Option<i64>,
    cause: Option<&str>,
) -> String {
    events::incident(now, id, service, team, opened, resolved)
        .with_cause(cause)
        .json()
}

/// A usage event of account `acme`.
fn usage(now: i64, feature: &str, user: &str, offset: i64) -> (String, String) {
    UsageV1 {
        account: Some("acme".into()),
        ..events::usage(now, feature, user, offset)
    }
    .record()
}

/// Runs Debian's chromium headless on `url` with `args`; its stdout (the
/// pulse test uses it too).
pub(crate) fn chromium(url: &str, args: &[String]) -> String {
    let profile = std::env::temp_dir().join(unique("vp-chromium"));
    let mut cmd = Command::new("chromium");
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .args(args)
    .arg(url)
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| {
        panic!(
            "chromium not found ({e}): this test opens the page in headless Chromium; \
             run `apt-get install chromium` (deploy/test.sh installs it)"
        )
    });
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            panic!("chromium did not finish within 90 s on {url}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    let _ = std::fs::remove_dir_all(&profile);
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// Value of attribute `name` in one start tag.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = tag[at..].find('"')?;
    Some(unescape(&tag[at..at + end]))
}

/// Every number on the page: series → (value, text shown, the last one).
fn numbers(dom: &str) -> BTreeMap<String, (f64, String)> {
    let mut out = BTreeMap::new();
    for piece in dom.split('<').skip(1) {
        let Some((tag, rest)) = piece.split_once('>') else {
            continue;
        };
        let Some(series) = attribute(tag, "data-series") else {
            continue;
        };
        let value: f64 = attribute(tag, "data-value")
            .expect("data-value beside data-series")
            .parse()
            .unwrap();
        let shown = unescape(rest).trim().to_owned();
        // A number may be shown twice (a headline and its table), never
        // with two values.
        if let Some((before, _)) = out.insert(series.clone(), (value, shown)) {
            assert_eq!(before, value, "{series} twice on the page, with two values");
        }
    }
    out
}

#[test]
fn the_page_in_chromium_shows_the_numbers_of_metrics_and_the_hand_checked_figures() {
    let _isolation = common::shared();
    let (deploys, incidents, usage_topic) = (
        unique("pg-deploys"),
        unique("pg-incidents"),
        unique("pg-usage"),
    );
    create_topics(&[(&deploys, 1), (&incidents, 1), (&usage_topic, 2)]);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let d1 = deploy(
        now,
        "d1",
        "checkout",
        "payments",
        "succeeded",
        -5 * H,
        Some(2 * H),
        &["one-click"],
    );
    let records = vec![
        ("checkout".to_owned(), d1.clone()),
        (
            "checkout".to_owned(),
            deploy(
                now,
                "d2",
                "checkout",
                "payments",
                "succeeded",
                -3 * H,
                Some(4 * H),
                &["saved-carts"],
            ),
        ),
        (
            "checkout".to_owned(),
            deploy(
                now,
                "d3",
                "checkout",
                "payments",
                "rolled_back",
                -2 * H,
                None,
                &[],
            ),
        ),
        (
            "search".to_owned(),
            deploy(
                now,
                "s1",
                "search",
                "discovery",
                "succeeded",
                -10 * H,
                Some(30 * M),
                &[],
            ),
        ),
        (
            "search".to_owned(),
            deploy(
                now,
                "s2",
                "search",
                "discovery",
                "succeeded",
                -26 * H,
                None,
                &[],
            ),
        ),
        ("checkout".to_owned(), d1),
        (
            "checkout".to_owned(),
            r#"{"id":"broken","service":"checkout"}"#.to_owned(),
        ),
        ("checkout".to_owned(), "not json at all".to_owned()),
    ];
    produce(&deploys, &records);
    produce(
        &incidents,
        &[
            (
                "checkout",
                incident(
                    now,
                    "inc-1",
                    "checkout",
                    "payments",
                    -90 * M,
                    None,
                    Some("d2"),
                ),
            ),
            (
                "checkout",
                incident(
                    now,
                    "inc-1",
                    "checkout",
                    "payments",
                    -90 * M,
                    Some(-30 * M),
                    Some("d2"),
                ),
            ),
            (
                "search",
                incident(now, "inc-2", "search", "discovery", -9 * H, None, None),
            ),
        ],
    );
    produce(
        &usage_topic,
        &[
            usage(now, "one-click", "u1", -4 * H),
            usage(now, "one-click", "u2", -H),
            usage(now, "one-click", "u3", -30 * M),
            usage(now, "search-filters", "u1", -2 * H),
            usage(now, "search-filters", "u4", -20 * M),
        ],
    );
    let daemon = Daemon::start(&[
        ("VALUEPULSE__TOPICS__DEPLOYS", &deploys),
        ("VALUEPULSE__TOPICS__INCIDENTS", &incidents),
        ("VALUEPULSE__TOPICS__FEATURE_USAGE", &usage_topic),
    ]);
    daemon.wait_ready(Duration::from_secs(60));
    scrape_after(&daemon, 16, Duration::from_secs(30));
    let metrics = parse(&daemon.scrape());

    let url = format!("http://{}/", daemon.addr);
    let dom = chromium(&url, &["--dump-dom".to_owned()]);
    for link in ["href=\"/metrics\"", "href=\"/livez\"", "href=\"/readyz\""] {
        assert!(dom.contains(link), "{link} not on the page");
    }
    let shown = numbers(&dom);
    assert!(
        shown.len() >= 40,
        "only {} numbers on the page",
        shown.len()
    );

    // Every number on the page is the number in /metrics.
    let mut errors = Vec::new();
    for (series, (value, _)) in &shown {
        match metrics.get(series) {
            Some(m) if m == value => {}
            other => errors.push(format!("{series}: page {value}, /metrics {other:?}")),
        }
    }
    assert!(
        errors.is_empty(),
        "page vs /metrics:\n{}",
        errors.join("\n")
    );

    // And the hand-worked figures, read from the page.
    let key = |service: &str, team: &str, window: &str| {
        format!(r#"environment="production",service="{service}",team="{team}",window="{window}""#)
    };
    let get = |series: String| -> f64 {
        shown
            .get(&series)
            .unwrap_or_else(|| panic!("{series} is not on the page"))
            .0
    };
    let cfr = |service, team, window, mode: &str| {
        get(format!(
            "valuepulse_change_failure_ratio{{attribution=\"{mode}\",{}}}",
            key(service, team, window)
        ))
    };
    let checkout_1d = key("checkout", "payments", "1d");
    assert_eq!(get(format!("valuepulse_deployments{{{checkout_1d}}}")), 3.0);
    assert_eq!(
        shown[&format!("valuepulse_deployments{{{checkout_1d}}}")].1,
        "3",
        "the text shown is the number"
    );
    assert_eq!(cfr("checkout", "payments", "1d", "strict"), 2.0 / 3.0);
    assert_eq!(cfr("checkout", "payments", "1d", "loose"), 2.0 / 3.0);
    assert_eq!(cfr("search", "discovery", "1d", "strict"), 0.0);
    assert_eq!(cfr("search", "discovery", "1d", "loose"), 1.0);
    assert_eq!(cfr("search", "discovery", "7d", "loose"), 0.5);
    assert_eq!(
        get(format!(
            "valuepulse_deployments{{{}}}",
            key("search", "discovery", "7d")
        )),
        2.0
    );
    let within = |got: f64, want: f64| got >= want && got <= want * 1.001;
    let lead = get(format!(
        "valuepulse_lead_time_seconds{{{},quantile=\"0.5\",{}}}",
        r#"environment="production""#, r#"service="checkout",team="payments",window="1d""#
    ));
    assert!(within(lead, 7200.0), "lead time p50 {lead}");
    let restore = get(format!(
        "valuepulse_time_to_restore_seconds{{{},quantile=\"0.5\",{}}}",
        r#"environment="production""#, r#"service="checkout",team="payments",window="1d""#
    ));
    assert!(within(restore, 3600.0), "time to restore p50 {restore}");
    assert_eq!(
        get(r#"valuepulse_dora_tier{environment="production",metric="change_failure_rate",service="checkout",team="payments",window="30d"}"#.to_owned()),
        1.0
    );
    assert_eq!(
        get(r#"valuepulse_incidents_open{environment="production",service="search",team="discovery"}"#.to_owned()),
        1.0
    );
    assert_eq!(
        get(r#"valuepulse_active_users{window="1d"}"#.to_owned()),
        4.0
    );
    assert_eq!(
        get(r#"valuepulse_feature_users{feature="one-click",service="checkout",team="payments",window="1d"}"#.to_owned()),
        3.0
    );
    assert_eq!(
        get(r#"valuepulse_feature_adoption_ratio{feature="one-click",service="checkout",team="payments",window="30d"}"#.to_owned()),
        0.75
    );
    assert_eq!(
        get(
            r#"valuepulse_feature_users{feature="search-filters",service="",team="",window="1d"}"#
                .to_owned()
        ),
        2.0
    );
    assert_eq!(
        get(r#"valuepulse_features_shipped{window="1d"}"#.to_owned()),
        2.0
    );
    assert_eq!(
        get(r#"valuepulse_features_used{window="1d"}"#.to_owned()),
        1.0
    );
    assert_eq!(
        get(r#"valuepulse_value_realization_ratio{window="1d"}"#.to_owned()),
        0.5
    );
    let cycle =
        get(r#"valuepulse_value_feedback_cycle_seconds{quantile="0.5",window="1d"}"#.to_owned());
    assert!(within(cycle, 3600.0), "feedback cycle p50 {cycle}");
    let events = |outcome: &str| {
        get(format!(
            "valuepulse_events_total{{outcome=\"{outcome}\",topic=\"{deploys}\"}}"
        ))
    };
    assert_eq!(events("accepted"), 5.0);
    assert_eq!(events("duplicate"), 1.0);
    assert_eq!(events("invalid"), 2.0);
    assert_eq!(
        get(format!(
            "valuepulse_window_complete{{topic=\"{deploys}\",window=\"30d\"}}"
        )),
        1.0
    );

    // The screenshot.
    let png = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("value-pulse.png");
    let _ = std::fs::remove_file(&png);
    chromium(
        &url,
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=1280,1600".to_owned(),
        ],
    );
    let bytes = std::fs::read(&png).expect("chromium wrote no screenshot");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(bytes.len() > 20_000, "a suspiciously small screenshot");
    if let Ok(copy) = std::env::var("VALUEPULSE_PAGE_SCREENSHOT") {
        std::fs::copy(&png, Path::new(&copy)).unwrap();
    }
    eprintln!(
        "value pulse page: {} numbers equal to /metrics; screenshot {}",
        shown.len(),
        png.display()
    );
}
