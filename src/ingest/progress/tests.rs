//! Readiness from replay progress.

use super::*;

fn assignment(topic: &str, partition: i32, start: i64, target: i64) -> Assignment {
    Assignment {
        topic: topic.into(),
        partition,
        start,
        target,
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
