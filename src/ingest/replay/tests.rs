//! Where a partition's replay starts and whether its log may be truncated.

use super::*;

#[test]
fn a_log_reaching_back_past_the_horizon_starts_at_the_lookup_and_is_complete() {
    let a = place("t", 0, Some(Offset::Offset(120)), Some((100, 200)));
    assert_eq!((a.start, a.target, a.may_be_truncated), (120, 200, false));
}

#[test]
fn a_log_starting_at_the_horizon_after_deletions_may_be_truncated() {
    // The first record at or after the horizon is the first record left,
    // and records were deleted before it: it may be the retention edge.
    let a = place("t", 0, Some(Offset::Offset(100)), Some((100, 200)));
    assert_eq!((a.start, a.may_be_truncated), (100, true));
    // Never deleted anything (low 0): complete.
    let a = place("t", 0, Some(Offset::Offset(0)), Some((0, 200)));
    assert!(!a.may_be_truncated);
    // A lookup failure replays from the low watermark: may be truncated.
    let a = place("t", 0, None, Some((100, 200)));
    assert_eq!((a.start, a.may_be_truncated), (100, true));
}

#[test]
fn no_record_after_the_horizon_starts_at_the_end() {
    let a = place("t", 0, Some(Offset::End), Some((100, 200)));
    assert_eq!((a.start, a.target, a.may_be_truncated), (200, 200, false));
}

#[test]
fn unknown_watermarks_leave_the_target_unknown() {
    let a = place("t", 0, Some(Offset::Offset(120)), None);
    assert_eq!((a.start, a.target), (120, UNKNOWN_TARGET));
    let a = place("t", 0, Some(Offset::End), None);
    assert_eq!(a.start, -1);
}
