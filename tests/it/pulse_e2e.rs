//! The Weekly Value Pulse, end to end: a two-week dataset through a real
//! Kafka broker into the daemon, `/pulse?format=json&team=payments` equal
//! to the pulse worked out by hand below, the page's figures (read from the
//! DOM headless Chromium built) equal to the JSON's, markdown, `valuepulse
//! pulse`, `/pulse/teams`, 404 for an unknown team (with the teams) and 400
//! for a malformed format. It leaves a screenshot at
//! `target/tmp/weekly-value-pulse.png` (and at
//! `$VALUEPULSE_PULSE_SCREENSHOT` when set: that is how
//! `docs/weekly-value-pulse.png` is made).
//!
//! Dataset (offsets from the start of the test; every event is at least
//! 5 hours from the week boundary at −7 d):
//!
//! | record | what |
//! |---|---|
//! | d1 checkout/payments | succeeded −1 d, change committed 2 h before, ships `one-click` |
//! | d2 checkout/payments | `rolled_back` −2 d, change committed 4 h before |
//! | d3 checkout/payments | succeeded −10 d, change committed 8 h before |
//! | d4 checkout/payments | succeeded −12 d, no change |
//! | s1 search/discovery | succeeded −3 d, no change |
//! | inc-1 ledger/payments | opened −9 d, resolved −8 d |
//! | inc-2 ledger/payments | opened −5 h, open |
//! | usage `one-click` | u1 −12 h, u2 −6 h |
//!
//! Worked out by hand, for payments:
//! - created: `one-click` shipped −1 d, first used 12 h later, 2 users
//!   since; 2 distinct users this week (no comparison); 2 deployments this
//!   week (d1, d2: a rollback reached production), 2 last week (d3, d4);
//!   median lead time {2 h, 4 h} → 2 h, last week {8 h} → 8 h.
//! - blocked: 1 change failure (d2) of 2, last week 0 of 2.
//! - opportunities: nothing (one-click is used; no usage last week).
//! - risks: change failure rate 1/2 (low) against 0 (elite); inc-2 open
//!   5 h; the change failure rate tier dropped from elite (4) to low (1)
//!   (deployment frequency 2/7 a day is high both weeks, lead time elite
//!   both); inc-2 opened this week and inc-1 last week, both of `ledger`,
//!   which has no deploy: 1 unattributed incident, last week 1.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::events::{self, DeployExt, Event};
use crate::common::{self, Daemon, create_topics, produce, scrape_after, unique};
use crate::page_e2e::chromium;
use valuepulse::ingest::decode::format_time;
use valuepulse::pulse::model::{Comparison, Item, Pulse, Teams};

const H: i64 = 3600;
const D: i64 = 24 * H;

/// One expected fact: kind, subject, text, value, previous, unit, comparison.
fn fact(
    kind: &str,
    subject: Option<&str>,
    text: &str,
    value: Option<f64>,
    previous: Option<f64>,
    unit: &str,
    comparison: Comparison,
) -> Item {
    Item {
        kind: kind.into(),
        text: text.into(),
        subject: subject.map(Into::into),
        value,
        previous,
        unit: unit.into(),
        comparison,
    }
}

/// Equal but for figures measured in time that moves (an open incident's
/// age, up to `slack` seconds more) or read from a histogram (a quantile,
/// never below the sample and at most 0.1 % above).
fn assert_items(got: &[Item], expected: &[Item], slack: f64) {
    let close = |g: Option<f64>, e: Option<f64>| match (g, e) {
        (Some(g), Some(e)) => g >= e && g <= (e * 1.001).max(e + slack),
        (None, None) => true,
        _ => false,
    };
    assert_eq!(got.len(), expected.len(), "{got:#?}");
    for (g, e) in got.iter().zip(expected) {
        assert_eq!(
            (&g.kind, &g.subject, &g.text, &g.unit, g.comparison),
            (&e.kind, &e.subject, &e.text, &e.unit, e.comparison),
            "{g:#?}"
        );
        assert!(
            close(g.value, e.value) && close(g.previous, e.previous),
            "{g:#?} against {e:#?}"
        );
    }
}

/// Value of attribute `name` in one start tag.
fn attribute(tag: &str, name: &str) -> Option<f64> {
    let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = tag[at..].find('"')?;
    tag[at..at + end].parse().ok()
}

#[test]
fn the_pulse_of_a_team_is_the_hand_computed_one_in_json_html_and_markdown() {
    let _isolation = common::shared();
    let (deploys, incidents, usage) = (
        unique("pu-deploys"),
        unique("pu-incidents"),
        unique("pu-usage"),
    );
    create_topics(&[(&deploys, 1), (&incidents, 1), (&usage, 1)]);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let deploy = |id: &str, service: &str, team: &str, status: &str, at: i64, lead: Option<i64>| {
        let change = format!("{id}-c");
        let changes: Vec<(&str, i64)> = lead
            .map(|l| (change.as_str(), at - l))
            .into_iter()
            .collect();
        let features: &[&str] = if id == "d1" { &["one-click"] } else { &[] };
        events::deploy(now, id, service, team, status, at)
            .with_changes(now, &changes)
            .with_features(features)
            .record()
    };
    produce(
        &deploys,
        &[
            deploy("d1", "checkout", "payments", "succeeded", -D, Some(2 * H)),
            deploy(
                "d2",
                "checkout",
                "payments",
                "rolled_back",
                -2 * D,
                Some(4 * H),
            ),
            deploy(
                "d3",
                "checkout",
                "payments",
                "succeeded",
                -10 * D,
                Some(8 * H),
            ),
            deploy("d4", "checkout", "payments", "succeeded", -12 * D, None),
            deploy("s1", "search", "discovery", "succeeded", -3 * D, None),
        ],
    );
    let incident = |id: &str, opened: i64, resolved: Option<i64>| {
        events::incident(now, id, "ledger", "payments", opened, resolved).record()
    };
    produce(
        &incidents,
        &[
            incident("inc-1", -9 * D, None),
            incident("inc-1", -9 * D, Some(-8 * D)),
            incident("inc-2", -5 * H, None),
        ],
    );
    produce(
        &usage,
        &[
            events::usage(now, "one-click", "u1", -12 * H).record(),
            events::usage(now, "one-click", "u2", -6 * H).record(),
        ],
    );
    let daemon = Daemon::start(&[
        ("VALUEPULSE__TOPICS__DEPLOYS", &deploys),
        ("VALUEPULSE__TOPICS__INCIDENTS", &incidents),
        ("VALUEPULSE__TOPICS__FEATURE_USAGE", &usage),
    ]);
    daemon.wait_ready(Duration::from_secs(60));
    scrape_after(&daemon, 10, Duration::from_secs(30));

    let (status, head, body) = daemon.get("/pulse?format=json&team=payments").unwrap();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    let p: Pulse = serde_json::from_slice(&body).unwrap();
    assert_eq!(p.schema, "valuepulse.pulse/v1");
    assert_eq!(p.team.as_deref(), Some("payments"));
    let shipped_on = &format_time((now - D) * 1000)[..10];
    let state = Comparison::State;
    assert_items(
        &p.created.items,
        &[
            fact(
                "feature_shipped",
                Some("one-click"),
                &format!(
                    "one-click shipped by checkout on {shipped_on}: first used 12.0 h later, 2 users since"
                ),
                Some(12.0 * 3600.0),
                None,
                "seconds",
                Comparison::None,
            ),
            fact(
                "feature_gaining_users",
                Some("one-click"),
                "one-click: 2 distinct users this week (no comparison: distinct users of an earlier week are not kept)",
                Some(2.0),
                None,
                "users",
                Comparison::None,
            ),
            fact(
                "deploys",
                None,
                "2 deployments (last week 2)",
                Some(2.0),
                Some(2.0),
                "count",
                state,
            ),
            fact(
                "lead_time",
                Some("checkout"),
                "checkout: median lead time 2.0 h (last week 8.0 h)",
                Some(2.0 * 3600.0),
                Some(8.0 * 3600.0),
                "seconds",
                state,
            ),
        ],
        0.0,
    );
    assert_items(
        &p.blocked.items,
        &[fact(
            "failed_deploys",
            Some("checkout"),
            "checkout: 1 change failures of 2 deploys (last week 0 of 2)",
            Some(1.0),
            Some(0.0),
            "count",
            state,
        )],
        0.0,
    );
    assert!(p.opportunities.items.is_empty(), "{:#?}", p.opportunities);
    assert_items(
        &p.risks.items,
        &[
            fact(
                "change_failure_rate",
                Some("checkout"),
                "checkout: change failure rate 50 % (low), last week 0 % (elite)",
                Some(0.5),
                Some(0.0),
                "ratio",
                state,
            ),
            fact(
                "open_incident",
                Some("inc-2"),
                "inc-2 (ledger) open for 5.0 h",
                Some(5.0 * 3600.0),
                None,
                "seconds",
                Comparison::None,
            ),
            fact(
                "tier_dropped",
                Some("checkout"),
                "checkout: change_failure_rate tier dropped from elite to low",
                Some(1.0),
                Some(4.0),
                "tier",
                state,
            ),
            fact(
                "untrusted_data",
                None,
                "1 incidents opened this week are linked to no deploy (last week 1)",
                Some(1.0),
                Some(1.0),
                "count",
                state,
            ),
        ],
        // The open incident ages while the test runs.
        180.0,
    );
    for s in [&p.created, &p.blocked, &p.opportunities, &p.risks] {
        assert_eq!(s.more, 0);
    }

    // Every figure on the page, as headless Chromium built it, is its
    // fact's in the JSON, in order.
    let (status, _, _) = daemon.get("/pulse?team=payments").unwrap();
    assert_eq!(status, 200);
    let url = format!("http://{}/pulse?team=payments", daemon.addr);
    let html = chromium(&url, &["--dump-dom".to_owned()]);
    let json_figures: Vec<(&str, Option<f64>, Option<f64>)> =
        [&p.created, &p.blocked, &p.opportunities, &p.risks]
            .iter()
            .flat_map(|s| {
                s.items
                    .iter()
                    .map(|i| (i.kind.as_str(), i.value, i.previous))
            })
            .collect();
    let page_figures: Vec<(String, Option<f64>, Option<f64>)> = html
        .split("<li data-kind=\"")
        .skip(1)
        .map(|li| {
            let kind = li[..li.find('"').unwrap()].to_owned();
            let tag = &li[..li.find('>').unwrap()];
            (
                kind,
                attribute(tag, "data-value"),
                attribute(tag, "data-previous"),
            )
        })
        .collect();
    assert_eq!(page_figures.len(), json_figures.len());
    for (page, json) in page_figures.iter().zip(&json_figures) {
        assert_eq!(page.0, json.0);
        // The open incident's age moved between the two requests.
        if json.0 != "open_incident" {
            assert_eq!((page.1, page.2), (json.1, json.2), "{}", json.0);
        }
    }
    assert!(html.contains("<svg class=\"bars\""));
    // The screenshot (`docs/weekly-value-pulse.png` is made with
    // VALUEPULSE_PULSE_SCREENSHOT).
    let png = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("weekly-value-pulse.png");
    let _ = std::fs::remove_file(&png);
    chromium(
        &url,
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=1280,900".to_owned(),
        ],
    );
    let bytes = std::fs::read(&png).expect("chromium wrote no screenshot");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    if let Ok(copy) = std::env::var("VALUEPULSE_PULSE_SCREENSHOT") {
        std::fs::copy(&png, Path::new(&copy)).unwrap();
    }

    let (status, head, md) = daemon.get("/pulse?format=markdown&team=payments").unwrap();
    assert_eq!(status, 200);
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/markdown"),
        "{head}"
    );
    let md = String::from_utf8(md).unwrap();
    assert!(
        md.starts_with(&format!("# Weekly Value Pulse: payments ({})\n", p.week)),
        "{md}"
    );
    assert!(md.contains("\n- 2 deployments (last week 2)\n"), "{md}");

    // `valuepulse pulse` prints the same markdown; an unknown team exits 69
    // with the teams on stderr.
    let cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_valuepulse"))
            .arg("pulse")
            .arg("--url")
            .arg(format!("http://{}", daemon.addr))
            .args(args)
            .output()
            .unwrap()
    };
    let out = cli(&["--team", "payments"]);
    assert!(out.status.success(), "{out:?}");
    // The same but for the instant in its third line (computed again).
    let sections = |m: &str| m.split_once("## Value created").unwrap().1.to_owned();
    let printed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(printed.lines().next(), md.lines().next());
    assert_eq!(sections(&printed), sections(&md));
    let out = cli(&["--team", "payments", "--format", "json"]);
    let printed: Pulse = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed.created, p.created);
    let out = cli(&["--team", "nobody"]);
    assert_eq!(out.status.code(), Some(69));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("\"teams\":[\"discovery\",\"payments\"]"),
        "{out:?}"
    );

    let (status, _, teams) = daemon.get("/pulse/teams").unwrap();
    assert_eq!(status, 200);
    let teams: Teams = serde_json::from_slice(&teams).unwrap();
    assert_eq!(teams.teams, ["discovery", "payments"]);

    let (status, _, body) = daemon.get("/pulse?team=nobody").unwrap();
    assert_eq!(status, 404);
    let refused: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        refused["teams"],
        serde_json::json!(["discovery", "payments"])
    );
    let (status, _, _) = daemon.get("/pulse?format=xml").unwrap();
    assert_eq!(status, 400);

    let (status, _, org) = daemon.get("/pulse?format=json").unwrap();
    assert_eq!(status, 200);
    let org: Pulse = serde_json::from_slice(&org).unwrap();
    assert_eq!(org.team, None);
    let deploys = org
        .created
        .items
        .iter()
        .find(|i| i.kind == "deploys")
        .unwrap();
    assert_eq!(deploys.text, "3 deployments (last week 2)");
}
