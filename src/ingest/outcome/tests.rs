//! Each fate is counted under its one outcome (invalid records by reason
//! too), per stream, and batches add up in the shared counters.

use super::*;

const AT: Position<'static> = Position {
    topic: "deploys",
    partition: 0,
    offset: 0,
};

#[test]
fn each_fate_counts_once_under_its_outcome_and_batches_add_up() {
    let fates = [
        Ok(Outcome::Accepted),
        Ok(Outcome::Updated),
        Ok(Outcome::Ignored),
        Ok(Outcome::Duplicate),
        Ok(Outcome::Late),
        Ok(Outcome::Future),
        Err(Rejected::Invalid(InvalidReason::BadStatus)),
        Err(Rejected::Oversized { bytes: 2_000_000 }),
        Err(Rejected::Unsupported),
        Ok(Outcome::OverBudget),
    ];
    let mut batch = BatchCounts::default();
    for fate in fates {
        emit(fate, Stream::Incidents, AT, &mut batch);
    }
    let counters = Counters::default();
    counters.add(&batch);
    counters.add(&batch);
    for o in Outcome::ALL {
        assert_eq!(counters.events(Stream::Incidents, o), 2, "{o:?}");
        assert_eq!(counters.events(Stream::Deploys, o), 0, "{o:?}");
    }
    for r in InvalidReason::ALL {
        let want = if r == InvalidReason::BadStatus { 2 } else { 0 };
        assert_eq!(counters.invalid(Stream::Incidents, r), want, "{r:?}");
    }
}

#[test]
fn decode_errors_map_to_rejections() {
    assert_eq!(
        Rejected::from(DecodeError::Invalid(InvalidReason::WrongType)),
        Rejected::Invalid(InvalidReason::WrongType)
    );
    assert_eq!(
        Rejected::from(DecodeError::Unsupported),
        Rejected::Unsupported
    );
}

#[test]
fn log_budget_allows_ten_lines_a_second_and_reports_what_it_skipped() {
    let budget = LogBudget::new();
    for _ in 0..LOG_LINES_PER_SECOND {
        assert_eq!(budget.take_at(100), Some(0));
    }
    for _ in 0..25 {
        assert_eq!(budget.take_at(100), None);
    }
    assert_eq!(
        budget.take_at(101),
        Some(25),
        "the next second's first line says 25 were skipped"
    );
    assert_eq!(budget.take_at(101), Some(0));
}

#[test]
fn a_windowed_log_budget_allows_its_lines_per_window_only() {
    // 3 lines per 10 s, as the Kafka client's outage lines get.
    let budget = LogBudget::per(3, 10);
    for _ in 0..3 {
        assert_eq!(budget.take_at(100), Some(0));
    }
    assert_eq!(budget.take_at(101), None, "same window: 100..110");
    assert_eq!(budget.take_at(109), None);
    assert_eq!(budget.take_at(110), Some(2), "a new window, 2 skipped");
    assert_eq!(budget.take_at(111), Some(0));
    assert_eq!(budget.take_at(115), Some(0));
    assert_eq!(budget.take_at(119), None);
}
