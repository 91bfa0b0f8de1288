//! An incident that names no team takes the team of its service's latest
//! deploy in the same environment, in any arrival order.

use super::*;

/// An incident of `service` naming no team.
fn teamless(
    id: &'static str,
    service: &'static str,
    opened_at: Millis,
    resolved_at: Option<Millis>,
) -> Event<'static> {
    let mut e = with_service(incident(id, opened_at, resolved_at, None), service);
    if let Event::Incident(i) = &mut e {
        i.team = None;
    }
    e
}

/// A deploy of `service` by `team`.
fn deploy_by(
    id: &'static str,
    service: &'static str,
    team: &'static str,
    finished_at: Millis,
) -> Event<'static> {
    let mut e = with_service(
        deploy(id, DeployStatus::Succeeded, finished_at, &[]),
        service,
    );
    if let Event::Deploy(d) = &mut e {
        d.team = Some(Cow::Borrowed(team));
    }
    e
}

/// The (team, median restore in 1d) of every series of `service`.
fn restore_by_team(s: &DoraState, service: &str) -> Vec<(String, Option<f64>)> {
    s.report(NOW)
        .series
        .iter()
        .filter(|k| k.service == service)
        .map(|k| {
            (
                k.team.to_owned(),
                k.windows[0].time_to_restore.as_ref().map(|q| q.values[0].1),
            )
        })
        .collect()
}

fn events() -> Vec<Event<'static>> {
    vec![
        // billing moved from "money" to "ledger": the latest deploy says ledger.
        deploy_by("b1", "billing", "money", NOW - 5 * H),
        deploy_by("b2", "billing", "ledger", NOW - 3 * H),
        // 30 min to restore, no team named.
        teamless("inc-b", "billing", NOW - 2 * H, None),
        teamless(
            "inc-b",
            "billing",
            NOW - 2 * H,
            Some(NOW - 2 * H + 30 * 60_000),
        ),
        // notify has no deploy: its incident stays unknown.
        teamless("inc-n", "notify", NOW - 2 * H, Some(NOW - H)),
    ]
}

#[test]
fn a_teamless_incident_takes_the_team_of_its_services_latest_deploy() {
    let mut s = DoraState::new(settings());
    for e in &events() {
        s.fold(e, NOW);
    }
    let billing = restore_by_team(&s, "billing");
    let teams: Vec<&str> = billing.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(teams, ["ledger", "money"]);
    assert_quantile(billing[0].1.expect("ledger restores"), 30 * 60_000);
    assert_eq!(billing[1].1, None, "money's series has only its deploy");
    let notify = restore_by_team(&s, "notify");
    assert_eq!(notify.len(), 1);
    assert_eq!(notify[0].0, "unknown");
    assert_quantile(notify[0].1.expect("notify restores"), H);
}

#[test]
fn the_team_does_not_depend_on_arrival_order() {
    let mut forward = DoraState::new(settings());
    let mut backward = DoraState::new(settings());
    let all = events();
    for e in &all {
        forward.fold(e, NOW);
    }
    for e in all.iter().rev() {
        backward.fold(e, NOW);
    }
    assert_eq!(forward.report(NOW), backward.report(NOW));
}

#[test]
fn an_incident_naming_its_team_keeps_it() {
    let mut s = DoraState::new(settings());
    s.fold(&deploy_by("b2", "billing", "ledger", NOW - 3 * H), NOW);
    // incident() names team "payments".
    s.fold(
        &with_service(incident("inc", NOW - 2 * H, Some(NOW - H), None), "billing"),
        NOW,
    );
    let teams: Vec<String> = restore_by_team(&s, "billing")
        .into_iter()
        .filter(|(_, r)| r.is_some())
        .map(|(t, _)| t)
        .collect();
    assert_eq!(teams, ["payments"]);
}
