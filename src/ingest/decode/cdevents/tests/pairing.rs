//! Spec-shaped CDEvents incidents, as incident tools send them (the
//! resolution does not repeat when the incident opened), decoded and folded
//! into DORA state: the same time to restore as the native pair.

use super::{H, Inc, SPECS, T, T_MS, binary, incident_event, structured};
use crate::domain::dora::{DoraSettings, DoraState, FailedDeploys};
use crate::domain::time::{DAY_MS, TimePolicy, Window};
use crate::domain::{Event, Outcome};
use crate::ingest::Stream;
use crate::ingest::decode::{Headers, decode};

fn state() -> DoraState {
    DoraState::new(DoraSettings {
        windows: vec![Window::new("1d", DAY_MS), Window::new("7d", 7 * DAY_MS)].into(),
        time: TimePolicy {
            longest: 7 * DAY_MS,
            grace: 3_600_000,
            max_clock_skew: 300_000,
        },
        environments: vec!["production".into()],
        max_services: 10,
        max_teams: 10,
        attribution_window: DAY_MS,
        failed_deploys: FailedDeploys::Ignore,
        bands: crate::domain::tier::DoraBands::default(),
    })
}

/// (count, sum in seconds, unpaired) of time to restore in the 1d window.
fn restore(events: &[Event<'_>]) -> (u64, f64, Option<u64>) {
    let mut s = state();
    let now = T_MS + 3 * H * 1000;
    for e in events {
        assert_eq!(s.fold(e, now), Outcome::Accepted, "{e:?}");
    }
    let r = s.report(now);
    let k = &r.series[0];
    let q = k.windows[0].time_to_restore.as_ref();
    (
        q.map_or(0, |q| q.count),
        q.map_or(0.0, |q| q.sum_seconds),
        k.incidents_unpaired,
    )
}

#[test]
fn detected_then_resolved_without_opened_at_restores_like_native_in_either_order() {
    let native_open = format!(
        r#"{{"id":"inc-77","service":"checkout","status":"opened","opened_at":"{}"}}"#,
        super::rfc3339(T)
    );
    let native_resolved = format!(
        r#"{{"id":"inc-77","service":"checkout","status":"resolved","opened_at":"{}","resolved_at":"{}"}}"#,
        super::rfc3339(T),
        super::rfc3339(T + 2 * H)
    );
    let native = [
        decode(Stream::Incidents, native_open.as_bytes(), &Headers::NONE).unwrap(),
        decode(
            Stream::Incidents,
            native_resolved.as_bytes(),
            &Headers::NONE,
        )
        .unwrap(),
    ];
    // Opened at T, resolved 2 h later.
    assert_eq!(restore(&native), (1, 7200.0, Some(0)));
    for spec in SPECS {
        for opening in [Inc::Detected, Inc::Reported] {
            let detected = structured(incident_event(
                spec,
                opening,
                "inc-77",
                Some("checkout"),
                None,
                T,
                None,
            ));
            let resolved = binary(incident_event(
                spec,
                Inc::Resolved,
                "inc-77",
                Some("checkout"),
                None,
                T + 2 * H,
                None,
            ));
            let d = decode(Stream::Incidents, &detected, &Headers::NONE).unwrap();
            let r = decode(Stream::Incidents, &resolved.value, &resolved.headers()).unwrap();
            assert_eq!(
                restore(&[d.clone(), r.clone()]),
                restore(&native),
                "{spec:?}"
            );
            assert_eq!(restore(&[r.clone(), d]), restore(&native), "{spec:?}");
            // The resolution alone: counted unpaired, no time to restore.
            assert_eq!(restore(&[r]), (0, 0.0, Some(1)), "{spec:?}");
        }
    }
}
