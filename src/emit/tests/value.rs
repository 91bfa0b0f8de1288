//! `emit work-item` and `emit satisfaction`: flags to native events, work
//! items as CDEvents tickets the official SDKs parse and the decoder reads
//! like the native event.

use clap::Parser as _;
use cloudevents::AttributesReader;

use super::{NOW, config, decoded, parse, sdk_read};
use crate::domain::{Event, FlowCategory, SatisfactionScore};
use crate::emit::{CdSpec, EmitError, Format, TicketEvent, prepare};
use crate::ingest::Stream;

fn work_item_args<'a>(state: &'a str, category: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "work-item",
        "--id",
        "PAY-311",
        "--service",
        "checkout",
        "--team",
        "payments",
        "--state",
        state,
        "--category",
        category,
        "--at",
        "2027-01-15T07:00:00Z",
        "--change",
        "4be1c0d",
        "--deploy",
        "d-1842",
    ];
    v.extend_from_slice(extra);
    v
}

#[test]
fn flags_become_a_native_work_item_keyed_by_its_id() {
    let p = prepare(
        &parse(&work_item_args("In Review", "waiting", &[])),
        &config(),
        NOW,
    )
    .unwrap();
    assert_eq!(
        (p.id.as_str(), p.topic.as_str(), p.key.as_str()),
        ("PAY-311", "work-items", "PAY-311")
    );
    assert!(p.record.headers.is_empty());
    let Event::WorkItem(w) = decoded(Stream::WorkItems, &p.record) else {
        panic!()
    };
    assert_eq!(
        (w.state.as_ref(), w.category),
        ("In Review", Some(FlowCategory::Waiting))
    );
    assert_eq!(w.at, NOW - 3_600_000);
    assert_eq!((w.changes.len(), w.deploys.len()), (1, 1));
    assert_eq!(w.team.as_deref(), Some("payments"));

    // --at defaults to now; --category is optional.
    let p = prepare(
        &parse(&[
            "work-item",
            "--id",
            "A-1",
            "--service",
            "s",
            "--state",
            "doing",
            "--topic",
            "wi",
        ]),
        &config(),
        NOW,
    )
    .unwrap();
    let Event::WorkItem(w) = decoded(Stream::WorkItems, &p.record) else {
        panic!()
    };
    assert_eq!((w.at, w.category, p.topic.as_str()), (NOW, None, "wi"));
}

#[test]
fn work_items_become_ticket_events_the_sdks_parse_and_decode_like_native() {
    for (state, category, ticket) in [
        ("created", "waiting", "created"),
        ("In Progress", "active", "updated"),
        ("Done", "done", "closed"),
    ] {
        let native = prepare(
            &parse(&work_item_args(state, category, &[])),
            &config(),
            NOW,
        )
        .unwrap();
        let want = decoded(Stream::WorkItems, &native.record);
        for (format, flag) in [
            (Format::CdeventsStructured, "cdevents-structured"),
            (Format::CdeventsBinary, "cdevents-binary"),
        ] {
            for (spec, spec_flag, version) in [
                (CdSpec::V0_4, "0.4", "0.1.0"),
                (CdSpec::V0_5, "0.5", "0.2.0"),
            ] {
                let args = work_item_args(
                    state,
                    category,
                    &[
                        "--format",
                        flag,
                        "--cdevents-spec",
                        spec_flag,
                        "--summary",
                        "Pay in one click",
                    ],
                );
                let p = prepare(&parse(&args), &config(), NOW).unwrap();
                let (ce, cd) = sdk_read(format, &p.record);
                let ty = format!("dev.cdevents.ticket.{ticket}.{version}");
                assert_eq!((ce.ty(), cd.ty()), (ty.as_str(), ty.as_str()), "{spec:?}");
                assert_eq!(
                    decoded(Stream::WorkItems, &p.record),
                    want,
                    "{format:?} {spec:?} {state}"
                );
                assert_eq!(p.key, "PAY-311");
            }
        }
    }
}

#[test]
fn the_ticket_event_is_inferred_from_category_then_state_or_chosen() {
    let infer = |state: &str, category: Option<&str>| {
        let mut v = serde_json::json!({"state": state});
        if let Some(c) = category {
            v["category"] = serde_json::json!(c);
        }
        TicketEvent::infer(&v)
    };
    assert_eq!(infer("Closed", None), TicketEvent::Closed);
    assert_eq!(infer("Shipped", Some("active")), TicketEvent::Updated);
    assert_eq!(infer("Limbo", Some("done")), TicketEvent::Closed);
    assert_eq!(infer("Created", None), TicketEvent::Created);
    assert_eq!(infer("In Review", None), TicketEvent::Updated);
    // --ticket wins: a closing written as an update keeps its category.
    let p = prepare(
        &parse(&work_item_args(
            "Done",
            "done",
            &["--format", "cdevents-binary", "--ticket", "updated"],
        )),
        &config(),
        NOW,
    )
    .unwrap();
    let (ce, _) = sdk_read(Format::CdeventsBinary, &p.record);
    assert!(ce.ty().starts_with("dev.cdevents.ticket.updated."));
    let Event::WorkItem(w) = decoded(Stream::WorkItems, &p.record) else {
        panic!()
    };
    assert_eq!(w.category, Some(FlowCategory::Done));
}

#[test]
fn flags_become_a_native_satisfaction_response() {
    let p = prepare(
        &parse(&[
            "satisfaction",
            "--service",
            "checkout",
            "--team",
            "payments",
            "--csat",
            "4",
        ]),
        &config(),
        NOW,
    )
    .unwrap();
    assert!(p.id.starts_with("r-1800000000000-"), "{}", p.id);
    assert_eq!(
        (p.topic.as_str(), p.key.as_str()),
        ("satisfaction", "checkout")
    );
    let Event::Satisfaction(s) = decoded(Stream::Satisfaction, &p.record) else {
        panic!()
    };
    assert_eq!(
        (s.score, s.at, s.id.as_ref()),
        (SatisfactionScore::Csat(4), NOW, p.id.as_str())
    );

    let p = prepare(
        &parse(&[
            "satisfaction",
            "--id",
            "r-9",
            "--feature",
            "voice-search",
            "--nps",
            "10",
            "--at",
            "2027-01-15T07:00:00Z",
        ]),
        &config(),
        NOW,
    )
    .unwrap();
    assert_eq!((p.id.as_str(), p.key.as_str()), ("r-9", "voice-search"));
    let Event::Satisfaction(s) = decoded(Stream::Satisfaction, &p.record) else {
        panic!()
    };
    assert_eq!((s.score, s.service), (SatisfactionScore::Nps(10), None));
}

#[test]
fn bad_satisfaction_flags_are_refused_before_any_connection() {
    let refused = |args: &[&str]| match prepare(&parse(args), &config(), NOW) {
        Err(e @ EmitError::Invalid(_)) => {
            assert_eq!(e.exit_code(), 64);
            e.to_string()
        }
        other => panic!("{args:?}: {other:?}"),
    };
    assert_eq!(
        refused(&["satisfaction", "--service", "s", "--csat", "6"]),
        "invalid event: --csat must be 1-5, --nps 0-10"
    );
    assert_eq!(
        refused(&["satisfaction", "--team", "t", "--nps", "6"]),
        "invalid event: a response needs --service or --feature"
    );
    assert!(
        refused(&[
            "satisfaction",
            "--service",
            "s",
            "--nps",
            "6",
            "--format",
            "cdevents-structured"
        ])
        .contains("CDEvents has no event for a satisfaction response")
    );
    assert!(
        refused(&[
            "satisfaction",
            "--service",
            "s",
            "--nps",
            "6",
            "--at",
            "noon"
        ])
        .contains("--at \"noon\" is not an RFC 3339 timestamp")
    );
    // One answer, exactly: clap refuses none or both.
    for args in [
        &["emit", "satisfaction", "--service", "s"][..],
        &[
            "emit",
            "satisfaction",
            "--service",
            "s",
            "--csat",
            "3",
            "--nps",
            "9",
        ],
    ] {
        assert!(super::Cli::try_parse_from(args).is_err(), "{args:?}");
    }
}
