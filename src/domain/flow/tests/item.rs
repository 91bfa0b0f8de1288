//! Per-item active and waiting time, worked out by hand from the
//! transitions listed.

use crate::domain::FlowCategory::{Active, Done, Waiting};
use crate::domain::flow::{ItemTimes, measure, waits_sorted};
use crate::domain::{FlowCategory, Millis};

const H: Millis = 3_600_000;

fn times(t: &[(Millis, FlowCategory)]) -> ItemTimes {
    measure(&mut t.to_vec())
}

#[test]
fn backlog_before_the_first_active_state_is_not_counted() {
    // created 0 (backlog), in progress 2 h, in review 5 h, in progress 7 h,
    // done 8 h. Active 2→5 and 7→8 = 4 h; waiting 5→7 = 2 h; the backlog
    // 0→2 is before work started.
    let t = times(&[
        (0, Waiting),
        (2 * H, Active),
        (5 * H, Waiting),
        (7 * H, Active),
        (8 * H, Done),
    ]);
    assert_eq!(
        t,
        ItemTimes {
            active: 4 * H,
            waiting: 2 * H,
            finished_at: Some(8 * H),
        }
    );
    assert_eq!(t.efficiency(), Some(4.0 / 6.0));
}

#[test]
fn arrival_order_does_not_change_the_measure() {
    let in_order = [
        (0, Waiting),
        (2 * H, Active),
        (5 * H, Waiting),
        (7 * H, Active),
        (8 * H, Done),
    ];
    let shuffled = [
        (8 * H, Done),
        (2 * H, Active),
        (7 * H, Active),
        (0, Waiting),
        (5 * H, Waiting),
    ];
    assert_eq!(times(&shuffled), times(&in_order));
}

#[test]
fn the_gap_between_done_and_a_reopen_counts_as_neither() {
    // Active 0→4 h, done at 4 h, reopened (waiting) at 10 h, active at
    // 12 h, done at 13 h. Active 4 + 1 = 5 h; waiting 10→12 = 2 h; the
    // 4→10 h gap while done is neither. Finished at the last done, 13 h.
    let t = times(&[
        (0, Active),
        (4 * H, Done),
        (10 * H, Waiting),
        (12 * H, Active),
        (13 * H, Done),
    ]);
    assert_eq!(
        t,
        ItemTimes {
            active: 5 * H,
            waiting: 2 * H,
            finished_at: Some(13 * H),
        }
    );
    assert_eq!(t.efficiency(), Some(5.0 / 7.0));
}

#[test]
fn a_reopened_item_is_unfinished_until_done_again() {
    let t = times(&[(0, Active), (4 * H, Done), (10 * H, Active)]);
    assert_eq!(
        t,
        ItemTimes {
            active: 4 * H,
            waiting: 0,
            finished_at: None,
        }
    );
}

#[test]
fn a_final_run_of_done_states_finishes_at_its_first() {
    // resolved at 1 h, closed at 5 h: finished at 1 h, the 4 h between
    // count as neither.
    let t = times(&[(0, Active), (H, Done), (5 * H, Done)]);
    assert_eq!(
        t,
        ItemTimes {
            active: H,
            waiting: 0,
            finished_at: Some(H),
        }
    );
}

#[test]
fn an_item_never_started_has_no_time_and_no_efficiency() {
    // Created, then closed as a duplicate.
    let t = times(&[(0, Waiting), (3 * H, Done)]);
    assert_eq!(
        t,
        ItemTimes {
            active: 0,
            waiting: 0,
            finished_at: Some(3 * H),
        }
    );
    assert_eq!(t.efficiency(), None);
    assert_eq!(times(&[]), ItemTimes::default());
}

#[test]
fn an_unfinished_item_counts_its_time_so_far_but_is_not_finished() {
    let t = times(&[(0, Active), (2 * H, Waiting)]);
    assert_eq!(
        t,
        ItemTimes {
            active: 2 * H,
            waiting: 0,
            finished_at: None,
        }
    );
}

#[test]
fn waits_are_summed_per_state_after_work_started_longest_first() {
    // backlog 0 (not counted: before work), in progress 1 h, blocked 2 h,
    // in review 5 h, blocked 6 h, done 7 h, reopened in review 9 h (the
    // done gap 7→9 is neither), in progress 10 h. Blocked 2→5 and 6→7 = 4 h,
    // in review 5→6 and 9→10 = 2 h: the 6 h measure_sorted counts.
    let t = [
        (0, Waiting, "backlog"),
        (H, Active, "in_progress"),
        (2 * H, Waiting, "blocked"),
        (5 * H, Waiting, "in_review"),
        (6 * H, Waiting, "blocked"),
        (7 * H, Done, "done"),
        (9 * H, Waiting, "in_review"),
        (10 * H, Active, "in_progress"),
    ];
    assert_eq!(
        waits_sorted(t.iter().copied()),
        vec![("blocked", 4 * H), ("in_review", 2 * H)]
    );
    let measured = times(&t.map(|(at, c, _)| (at, c)));
    assert_eq!(measured.waiting, 6 * H);
    assert_eq!(
        waits_sorted([(0, Waiting, "backlog"), (H, Done, "done")]),
        vec![]
    );
}
