//! The state mapping: normalised names, defaults, conflicts.

use crate::domain::FlowCategory::{Active, Done, Waiting};
use crate::domain::flow::{StateMap, StateMapError, normalize};

#[test]
fn names_are_compared_normalised() {
    assert_eq!(normalize("In Progress"), "in_progress");
    assert_eq!(normalize("  in--progress "), "in_progress");
    assert_eq!(normalize("IN_PROGRESS"), "in_progress");
    assert_eq!(normalize("Ready for Deploy"), "ready_for_deploy");
    assert_eq!(normalize(" - "), "");
}

#[test]
fn the_defaults_follow_the_framework() {
    let m = StateMap::default();
    for (state, want) in [
        ("In Progress", Some(Active)),
        ("Testing", Some(Active)),
        ("In Review", Some(Waiting)),
        ("Code Review", Some(Waiting)),
        ("Blocked", Some(Waiting)),
        ("Queued", Some(Waiting)),
        ("Waiting for Deploy", Some(Waiting)),
        ("Backlog", Some(Waiting)),
        ("To Do", Some(Waiting)),
        ("Done", Some(Done)),
        ("Closed", Some(Done)),
        ("Released", Some(Done)),
        ("Cancelled", None),
        ("Triage", None),
    ] {
        assert_eq!(m.category(state), want, "{state}");
    }
    assert!(m.states(Done).contains(&"resolved"));
}

#[test]
fn custom_lists_replace_the_defaults_and_conflicts_are_named() {
    let m = StateMap::new(["Doing", "Review"], ["Queue"], ["Live"]).unwrap();
    assert_eq!(m.category("review"), Some(Active));
    assert_eq!(m.category("In Progress"), None);
    assert_eq!(m.states(Active), ["doing", "review"]);
    assert_eq!(
        StateMap::new(["In Review"], ["in_review"], []),
        Err(StateMapError::Conflict {
            state: "in_review".into(),
            first: "active",
            second: "waiting",
        })
    );
    assert_eq!(
        StateMap::new([], [], ["  "]),
        Err(StateMapError::Empty { category: "done" })
    );
    // A name listed twice in one list is fine.
    assert!(StateMap::new(["doing", "Doing"], [], []).is_ok());
}
