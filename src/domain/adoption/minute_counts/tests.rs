//! Windowed event counts against a plain list of event times.

use super::*;

const NOW: Seconds = 1_800_000_000;
const DAY: Seconds = 86_400;

/// The reference: events whose minute ends after `edge`.
fn reference(times: &[Seconds], edge: Seconds) -> u64 {
    times.iter().filter(|t| **t / 60 >= edge / 60).count() as u64
}

fn counts_of(times: &[Seconds]) -> MinuteCounts {
    let mut c = MinuteCounts::new();
    for t in times {
        c.add(*t);
    }
    c
}

#[test]
fn a_minute_counts_when_it_ends_after_the_edge() {
    // NOW is a multiple of 60.
    assert_eq!(NOW % 60, 0);
    let edge = NOW - DAY;
    let c = counts_of(&[edge - 1, edge, edge + 59, edge + 60, NOW]);
    // edge - 1 is in the minute before the edge's: excluded. edge and
    // edge + 59 share the edge's minute; edge + 60 is the next one.
    assert_eq!(c.since(edge), 4);
    assert_eq!(
        c.since(edge + 1),
        4,
        "the edge's minute still ends after edge + 1"
    );
    assert_eq!(c.since(edge + 60), 2);
    assert_eq!(c.since(NOW), 1);
    assert_eq!(c.since(NOW + 60), 0);
}

#[test]
fn counts_are_exact_at_minute_edges_whatever_the_order() {
    let mut times: Vec<Seconds> = Vec::new();
    let mut x: u64 = 42;
    for _ in 0..200_000 {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        times.push(NOW - ((x >> 33) % u64::from(30 * DAY)) as Seconds);
    }
    let shuffled = counts_of(&times);
    let mut sorted_times = times.clone();
    sorted_times.sort_unstable();
    let sorted = counts_of(&sorted_times);
    for edge in [
        NOW - DAY,
        NOW - 7 * DAY,
        NOW - 30 * DAY,
        NOW - 12 * 3600 - 17,
        NOW,
    ] {
        let want = reference(&times, edge);
        assert_eq!(shuffled.since(edge), want, "edge now-{}", NOW - edge);
        assert_eq!(sorted.since(edge), want, "edge now-{}", NOW - edge);
    }
    // Memory follows busy minutes, not events: 200 k events over 43 200
    // minutes make every day busy: 31 dense days of 17 472 bytes at most
    // (1 440 minutes and 24 hour totals).
    assert!(
        sorted.heap_bytes() < 31 * (17_472 + 64) + 1024,
        "{}",
        sorted.heap_bytes()
    );
}

#[test]
fn a_minute_with_more_events_than_an_entry_holds_keeps_counting() {
    let mut c = MinuteCounts::new();
    let n = u64::from(COUNT_MAX) + 10;
    for _ in 0..n {
        c.add(NOW);
    }
    c.add(NOW - 60);
    assert_eq!(c.since(NOW), n);
    assert_eq!(c.since(NOW - 60), n + 1);
}

#[test]
fn a_busy_day_counts_exactly_from_every_minute_before_and_after_a_prune() {
    // Every 13 s for two days: both days dense, every minute and hour busy.
    let times: Vec<Seconds> = (0..2 * DAY / 13).map(|i| NOW - 2 * DAY + i * 13).collect();
    let mut c = counts_of(&times);
    let check = |c: &MinuteCounts, from: Seconds| {
        for edge in (from..NOW).step_by(60) {
            assert_eq!(
                c.since(edge),
                reference(&times, edge),
                "edge now-{}",
                NOW - edge
            );
        }
    };
    check(&c, NOW - 2 * DAY);
    // A horizon in the middle of an hour of the first day.
    let horizon = NOW - 2 * DAY + 5 * 3600 + 17 * 60;
    c.prune(horizon);
    check(&c, horizon);
}

#[test]
fn pruning_drops_only_minutes_no_window_can_hold() {
    let times: Vec<Seconds> = (0..10 * 1440).map(|m| NOW - m * 60).collect();
    let mut c = counts_of(&times);
    let horizon = NOW - 3 * DAY - 30;
    c.prune(horizon);
    for edge in [horizon, horizon + 30, NOW - DAY] {
        assert_eq!(c.since(edge), reference(&times, edge), "edge {edge}");
    }
    c.prune(NOW + 60);
    assert!(c.is_empty());
    assert_eq!(c.since(0), 0);
}

#[test]
fn first_use_since_any_second_is_exact_in_sparse_and_dense_days() {
    // Sparse: a few uses; dense: a busy day before them.
    let busy_day = NOW - 3 * DAY;
    let mut times: Vec<Seconds> = (0..1000).map(|i| busy_day + i * 61).collect();
    times.extend([NOW - DAY + 5, NOW - DAY + 59, NOW - DAY + 61, NOW - 7]);
    let mut c = MinuteCounts::new();
    // Out of order on purpose.
    for t in times.iter().rev() {
        c.add(*t);
    }
    let reference = |from: Seconds| times.iter().copied().filter(|t| *t >= from).min();
    for from in [
        0,
        busy_day,
        busy_day + 1,
        busy_day + 60,
        busy_day + 61,
        busy_day + 62,
        busy_day + 999 * 61,
        busy_day + 999 * 61 + 1,
        NOW - DAY,
        NOW - DAY + 5,
        NOW - DAY + 6,
        NOW - DAY + 59,
        NOW - DAY + 60,
        NOW - DAY + 62,
        NOW - 8,
        NOW - 7,
        NOW - 6,
    ] {
        assert_eq!(c.first_use_since(from), reference(from), "from {from}");
    }
}

/// Tracked counts against [`MinuteCounts::since`] through events in and out
/// of order, prunes, and edges that move by seconds, by minutes, back, and
/// come in another number.
#[test]
fn tracked_counts_equal_since_through_adds_prunes_and_moving_edges() {
    let mut c = MinuteCounts::new();
    let mut x: u64 = 9;
    let mut next = |n: u64| {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (x >> 33) % n
    };
    let mut now = NOW;
    for step in 0..400u32 {
        for _ in 0..200 {
            let back = match next(4) {
                0 => next(120),
                _ => next(u64::from(9 * DAY)),
            } as Seconds;
            c.add(now - back);
        }
        now += match next(10) {
            0 => 3_600,
            _ => next(50) as Seconds,
        };
        if step % 50 == 49 {
            c.prune(now - 8 * DAY - 600);
        }
        let mut edges = vec![now - 3_600, now - DAY, now - 8 * DAY];
        match step % 97 {
            // Another number of edges, then back.
            10 => edges.push(now - 2 * DAY),
            // An edge moved back.
            20 => edges[0] = now - 7_200,
            // More edges than are tracked.
            30 => edges.extend([now - 60, now - 120]),
            _ => {}
        }
        let mut got = vec![0; edges.len()];
        c.since_tracked(&edges, &mut got);
        let want: Vec<u64> = edges.iter().map(|e| c.since(*e)).collect();
        assert_eq!(got, want, "step {step}");
    }
}

#[test]
fn the_search_from_the_guess_finds_what_bisection_finds() {
    // Lists spread over the day, bunched in one hour, at its two ends, and
    // with repeated minutes (a minute past the count limit takes several
    // entries), each searched for every minute of the day.
    let mut rng = crate::rng::Rng::new(7);
    let mut lists: Vec<Vec<u32>> = vec![Vec::new(), vec![0], vec![1439], vec![700; 5]];
    for n in [1, 2, 3, 10, 57, 200, 359] {
        lists.push((0..n).map(|_| (rng.next_u64() % 1440) as u32).collect());
        lists.push((0..n).map(|_| 540 + (rng.next_u64() % 60) as u32).collect());
        lists.push((0..n).map(|_| (rng.next_u64() % 20) as u32).collect());
        lists.push(
            (0..n)
                .map(|_| 1420 + (rng.next_u64() % 20) as u32)
                .collect(),
        );
    }
    for mut minutes in lists {
        minutes.sort_unstable();
        let entries: Vec<Entry> = minutes
            .iter()
            .map(|m| [m << COUNT_BITS | 1, 0, 0])
            .collect();
        for minute in 0..MINUTES_A_DAY + 2 {
            assert_eq!(
                Day::lower_bound(&entries, minute),
                entries.partition_point(|e| Day::minute(e) < minute),
                "minute {minute} in {minutes:?}"
            );
        }
    }
}
