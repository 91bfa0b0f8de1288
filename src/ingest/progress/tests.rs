//! Readiness from replay progress.

use super::*;

fn assignment(topic: &str, partition: i32, start: i64, target: i64) -> Assignment {
    Assignment {
        topic: topic.into(),
        partition,
        start,
        target,
        may_be_truncated: false,
    }
}

#[test]
fn ready_only_after_every_partition_reaches_its_target() {
    let p = Progress::default();
    p.set_pending("dora", "connecting to Kafka");
    p.heartbeat("dora", 0);
    assert!(p.readiness().unwrap_err().0.contains("connecting"));
    p.assign(
        "dora",
        &["deploys"],
        &[
            assignment("deploys", 0, 5, 10),
            assignment("deploys", 1, 3, 3),
        ],
    );
    assert!(p.readiness().unwrap_err().0.contains("5 messages left"));
    p.advance_one("deploys", 0, 9);
    assert!(p.readiness().is_err());
    p.advance_one("deploys", 0, 10);
    assert_eq!(p.readiness(), Ok(()));
    // Stays ready while live traffic moves the high watermark.
    p.set_high("deploys", 0, 50);
    assert_eq!(p.readiness(), Ok(()));
    assert_eq!(p.partitions()[0].1.lag(), 40);
    // A new assignment starts a new replay.
    p.set_pending("dora", "rebalancing");
    assert!(p.readiness().is_err());
}

#[test]
fn an_unknown_watermark_keeps_the_process_unready_until_it_is_known() {
    let p = Progress::default();
    p.heartbeat("usage", 0);
    p.add("usage", &[assignment("u", 0, 5, UNKNOWN_TARGET)]);
    assert!(p.readiness().unwrap_err().0.contains("not known"));
    assert_eq!(p.unknown_targets("u"), [0]);
    p.set_target("u", 0, 7);
    assert!(p.readiness().unwrap_err().0.contains("2 messages left"));
    p.advance_one("u", 0, 7);
    assert_eq!(p.readiness(), Ok(()));
}

#[test]
fn a_truncated_log_is_complete_only_for_windows_it_reaches_back_to() {
    let p = Progress::default();
    let mut truncated = assignment("d", 0, 40, 50);
    truncated.may_be_truncated = true;
    p.assign("dora", &["d"], &[truncated, assignment("d", 1, 0, 10)]);
    // Until its first record is read, nothing is known to be complete.
    assert!(!p.window_complete("d", 1_000));
    assert_eq!(p.awaiting_earliest("d"), [0]);
    // A record after the start is not the first one.
    assert!(!p.note_earliest("d", 0, 41, 500));
    assert!(p.note_earliest("d", 0, 40, 500));
    assert!(
        p.window_complete("d", 500),
        "an edge at the earliest record"
    );
    assert!(p.window_complete("d", 900));
    assert!(!p.window_complete("d", 499), "an edge before it");
    assert!(
        p.window_complete("other", 0),
        "no partition assigned: nothing missing"
    );
}
