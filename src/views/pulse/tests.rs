//! The pulse's renderers on a hand-made pulse: every fact's text and
//! figures appear, escaped, and nothing else is invented.

use super::*;
use crate::pulse::model::SCHEMA;

const HOSTILE: &str = "<b>\"x\"&'y'</b>";

fn fact(kind: &str, text: &str, value: Option<f64>, previous: Option<f64>, c: Comparison) -> Item {
    Item {
        kind: kind.into(),
        text: text.into(),
        subject: Some("checkout".into()),
        value,
        previous,
        unit: "count".into(),
        comparison: c,
    }
}

fn pulse(team: Option<&str>) -> Pulse {
    Pulse {
        schema: SCHEMA.into(),
        team: team.map(Into::into),
        week: "2027-W02".into(),
        from: "2027-01-08T08:00:00Z".into(),
        to: "2027-01-15T08:00:00Z".into(),
        previous_from: "2027-01-01T08:00:00Z".into(),
        created: Section {
            items: vec![fact(
                "deploys",
                "5 deployments (last week 2)",
                Some(5.0),
                Some(2.0),
                Comparison::State,
            )],
            more: 3,
        },
        blocked: Section::default(),
        opportunities: Section {
            items: vec![fact(
                "feature_gaining_users",
                HOSTILE,
                Some(7.0),
                None,
                Comparison::None,
            )],
            more: 0,
        },
        risks: Section {
            items: vec![fact(
                "change_failure_rate",
                "checkout: 25 %",
                Some(0.25),
                Some(0.1),
                Comparison::Prometheus,
            )],
            more: 0,
        },
    }
}

#[test]
fn markdown_lists_every_fact_under_its_question() {
    assert_eq!(
        markdown(&pulse(Some("payments"))),
        "# Weekly Value Pulse: payments (2027-W02)\n\
         \n\
         The 7 days from 2027-01-08T08:00:00Z to 2027-01-15T08:00:00Z, compared with the 7 days from 2027-01-01T08:00:00Z.\n\
         \n\
         ## Value created\n\
         \n\
         - 5 deployments (last week 2)\n\
         - and 3 more\n\
         \n\
         ## Value blocked\n\
         \n\
         - nothing this week\n\
         \n\
         ## Value opportunities\n\
         \n\
         - <b>\"x\"&'y'</b>\n\
         \n\
         ## Value risks\n\
         \n\
         - checkout: 25 % (last week from Prometheus)\n"
    );
    assert!(markdown(&pulse(None)).starts_with("# Weekly Value Pulse: organisation (2027-W02)\n"));
}

#[test]
fn the_page_carries_each_facts_figures_and_escapes_every_text() {
    let teams = Teams {
        teams: vec!["payments".into(), "a&b".into()],
    };
    let page = html(&pulse(Some("a&b")), &teams);
    assert!(!page.contains(HOSTILE), "raw text on the page");
    assert!(page.contains("&lt;b&gt;&quot;x&quot;&amp;&#39;y&#39;&lt;/b&gt;"));
    assert!(page.contains(
        "<li data-kind=\"deploys\" data-subject=\"checkout\" data-value=\"5\" data-previous=\"2\" data-unit=\"count\" data-comparison=\"state\">"
    ));
    assert!(page.contains("data-value=\"0.25\" data-previous=\"0.1\""));
    assert!(page.contains("data-value=\"7\" data-unit=\"count\" data-comparison=\"none\""));
    assert!(page.contains("data-more=\"3\""));
    assert!(page.contains("<a href=\"/pulse?team=a%26b\">a&amp;b</a>"));
    assert!(page.contains("href=\"/pulse?team=a%26b&amp;format=json\""));
    assert!(page.contains("Weekly Value Pulse: a&amp;b"));
    // Bars only where both weeks have a figure: deploys and the CFR.
    assert_eq!(page.matches("<svg class=\"bars\"").count(), 2);
    assert!(!page.contains("<script"));
}

#[test]
fn bars_scale_to_the_larger_week() {
    let svg = bars(Some(5.0), Some(2.0)).unwrap();
    assert!(
        svg.contains("width=\"100.0\" height=\"7\" fill=\"var(--bar)\""),
        "{svg}"
    );
    assert!(
        svg.contains("width=\"40.0\" height=\"7\" fill=\"#aab3c5\""),
        "{svg}"
    );
    let zero = bars(Some(0.0), Some(0.0)).unwrap();
    assert_eq!(zero.matches("width=\"0.0\"").count(), 2);
    assert_eq!(bars(Some(1.0), None), None);
    assert_eq!(bars(None, Some(1.0)), None);
    assert_eq!(bars(Some(-1.0), Some(1.0)), None);
}
