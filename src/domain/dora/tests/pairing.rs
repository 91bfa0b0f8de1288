//! Hand-checked pairing of resolutions without an opening time (CDEvents
//! `incident.resolved` without `customData.opened_at`) with their openings.

use std::borrow::Cow;

use super::{D, H, NOW, assert_quantile, deploy, incident, settings};
use crate::domain::dora::*;
use crate::domain::{DeployStatus, Event, Incident, IncidentStatus, Millis, Outcome};

const M: Millis = 60_000;

/// A resolution that does not know when the incident opened.
fn bare_resolution(
    id: &'static str,
    resolved_at: Millis,
    source: Option<&'static str>,
) -> Event<'static> {
    Event::Incident(Incident {
        id: Cow::Borrowed(id),
        service: Cow::Borrowed("checkout"),
        team: Some(Cow::Borrowed("payments")),
        environment: Cow::Borrowed("production"),
        status: IncidentStatus::Resolved,
        opened_at: None,
        resolved_at: Some(resolved_at),
        source: source.map(Cow::Borrowed),
        caused_by_deploy: None,
        artifact: None,
    })
}

fn with_source(mut e: Event<'static>, source: &'static str) -> Event<'static> {
    if let Event::Incident(i) = &mut e {
        i.source = Some(Cow::Borrowed(source));
    }
    e
}

fn fold_all(s: &mut DoraState, events: &[Event<'static>]) {
    for e in events {
        assert_eq!(s.fold(e, NOW), Outcome::Accepted, "{e:?}");
    }
}

/// (restore samples in the 7d window, their sum in seconds, unpaired, open)
/// of the checkout series.
fn restore_view(s: &DoraState) -> (u64, f64, Option<u64>, Option<u64>) {
    let r = s.report(NOW);
    let k = &r.series[0];
    let ttr = k.windows[1].time_to_restore.as_ref();
    (
        ttr.map_or(0, |q| q.count),
        ttr.map_or(0.0, |q| q.sum_seconds),
        k.incidents_unpaired,
        k.incidents_open,
    )
}

#[test]
fn a_bare_resolution_pairs_with_its_opening_in_either_order() {
    // i1 opened 3 h ago, resolved 1 h ago: 2 h to restore, as natively.
    let opened = incident("i1", NOW - 3 * H, None, None);
    let resolved = bare_resolution("i1", NOW - H, None);
    let native = incident("i1", NOW - 3 * H, Some(NOW - H), None);

    let mut a = DoraState::new(settings());
    fold_all(&mut a, &[opened.clone(), resolved.clone()]);
    let mut b = DoraState::new(settings());
    fold_all(&mut b, &[resolved.clone(), opened.clone()]);
    let mut n = DoraState::new(settings());
    fold_all(&mut n, &[opened, native]);

    for s in [&a, &b, &n] {
        assert_eq!(restore_view(s), (1, 2.0 * 3600.0, Some(0), Some(0)));
        assert_quantile(
            s.report(NOW).series[0].windows[1]
                .time_to_restore
                .as_ref()
                .unwrap()
                .values[0]
                .1,
            2 * H,
        );
    }
    assert_eq!(a.report(NOW), n.report(NOW));
    assert_eq!(b.report(NOW), n.report(NOW));
}

#[test]
fn an_unpaired_resolution_is_counted_then_paired_when_the_detection_arrives() {
    let mut s = DoraState::new(settings());
    fold_all(
        &mut s,
        &[bare_resolution("i1", NOW - 30 * M, Some("/pager"))],
    );
    // No opening: no time to restore, one unpaired, nothing open.
    assert_eq!(restore_view(&s), (0, 0.0, Some(1), Some(0)));
    assert_eq!(s.incident_links()[0].opened_at, None);
    // The detection arrives later (replayed, or delayed): 90 min.
    fold_all(
        &mut s,
        &[with_source(
            incident("i1", NOW - 2 * H, None, None),
            "/pager",
        )],
    );
    assert_eq!(restore_view(&s), (1, 5400.0, Some(0), Some(0)));
    assert_eq!(s.incident_links()[0].opened_at, Some(NOW - 2 * H));
}

#[test]
fn openings_and_resolutions_pair_only_within_one_source() {
    let mut s = DoraState::new(settings());
    fold_all(
        &mut s,
        &[
            with_source(incident("i1", NOW - 2 * H, None, None), "/pager"),
            bare_resolution("i1", NOW - H, Some("/other-tool")),
        ],
    );
    // Two incidents that share an id: the resolution is unpaired, the
    // opening is still open.
    assert_eq!(restore_view(&s), (0, 0.0, Some(1), Some(1)));

    // A source on one side only pairs.
    let mut s = DoraState::new(settings());
    fold_all(
        &mut s,
        &[
            incident("i2", NOW - 2 * H, None, None),
            bare_resolution("i2", NOW - H, Some("/pager")),
        ],
    );
    assert_eq!(restore_view(&s), (1, 3600.0, Some(0), Some(0)));
}

#[test]
fn an_opening_after_the_resolution_does_not_pair() {
    let mut s = DoraState::new(settings());
    fold_all(
        &mut s,
        &[
            bare_resolution("i1", NOW - 2 * H, None),
            incident("i1", NOW - H, None, None),
        ],
    );
    assert_eq!(restore_view(&s), (0, 0.0, Some(1), Some(0)));
}

#[test]
fn an_opening_outside_the_retained_history_leaves_the_resolution_unpaired() {
    let mut s = DoraState::new(settings());
    // Opened 31 days ago (inside the horizon: 30 d + 1 h), resolved 29 days
    // ago: paired, 2 days, in the 30d window.
    fold_all(
        &mut s,
        &[
            incident("i1", NOW - 30 * D - 30 * M, None, None),
            bare_resolution("i1", NOW - 28 * D - 30 * M, None),
        ],
    );
    let r = s.report(NOW);
    let q = r.series[0].windows[2].time_to_restore.as_ref().unwrap();
    assert_eq!((q.count, q.sum_seconds), (1, 2.0 * 86_400.0));
    // An hour later the opening leaves the horizon: the resolution is still
    // in the window but unpaired.
    let later = NOW + H;
    s.prune(later);
    let r = s.report(later);
    assert_eq!(r.series[0].windows[2].time_to_restore, None);
    assert_eq!(r.series[0].incidents_unpaired, Some(1));
}

#[test]
fn an_unpaired_resolution_is_attributed_only_explicitly() {
    let mut s = DoraState::new(settings());
    let mut named = bare_resolution("i1", NOW - H, None);
    if let Event::Incident(i) = &mut named {
        i.caused_by_deploy = Some(Cow::Borrowed("d1"));
    }
    fold_all(
        &mut s,
        &[
            deploy("d1", DeployStatus::Succeeded, NOW - 3 * H, &[]),
            named,
            // No opening time: neither the window nor an artifact can link it.
            bare_resolution("i2", NOW - H, None),
        ],
    );
    let links: Vec<_> = s
        .incident_links()
        .into_iter()
        .map(|l| (l.incident, l.link))
        .collect();
    assert_eq!(links, [("i1", Some(("d1", Rule::Explicit))), ("i2", None)]);
    let r = s.report(NOW);
    let w = &r.series[0].windows[0];
    // d1 failed through i1; i2 has no opening to window by, so it is not in
    // `unattributed` (it is in `incidents_unpaired`).
    assert_eq!((w.deployments, w.failed), (1, [1, 1]));
    assert_eq!(w.unattributed, 0);
    assert_eq!(r.series[0].incidents_unpaired, Some(2));
}
