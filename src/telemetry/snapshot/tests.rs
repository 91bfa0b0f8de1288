//! The snapshot's freshness rules and the reporter's single computation per
//! interval, with a fake clock and empty state.

use std::sync::atomic::{AtomicI64, Ordering};

use super::*;
use crate::config::Config;
use crate::domain::dora::DoraState;
use crate::domain::flow::FlowState;
use crate::domain::satisfaction::SatisfactionState;
use crate::ingest::budget::StateBudget;
use crate::ingest::outcome::Counters;
use crate::ingest::progress::Progress;
use crate::ingest::shards::AdoptionShared;

static NOW: AtomicI64 = AtomicI64::new(1_800_000_000_000);

fn clock() -> Millis {
    NOW.load(Ordering::Relaxed)
}

fn sources() -> Sources {
    let config = Config::load(None).expect("defaults load");
    let budget = Arc::new(StateBudget::new(1 << 30));
    Sources {
        dora: Arc::new(Mutex::new(Arc::new(DoraState::new(config.dora_settings())))),
        counters: Arc::new(Counters::default()),
        progress: Arc::new(Progress::default()),
        adoption: Arc::new(AdoptionShared::new(
            config.adoption_settings(),
            budget.clone(),
        )),
        budget,
        topics: config.topics.all(),
        clock,
        flow: Arc::new(Mutex::new(Arc::new(FlowState::new(config.flow_settings())))),
        satisfaction: Arc::new(Mutex::new(Arc::new(SatisfactionState::new(
            config.satisfaction_settings(),
        )))),
    }
}

#[test]
fn a_snapshot_holds_the_text_and_its_gzip_and_the_report_metrics() {
    let (reporter, _) = reporter(sources(), Duration::from_secs(1));
    let s = reporter.compute(ReportCost::default());
    let text = String::from_utf8(s.text.to_vec()).unwrap();
    // The other test moves the shared clock: read the instant used.
    assert!(
        text.contains(&format!(
            "valuepulse_report_timestamp_seconds {}\n",
            s.computed_at / 1000
        )),
        "{text}"
    );
    assert!(text.contains("valuepulse_state_budget_bytes 1073741824\n"));
    let mut plain = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&s.gzip[..]), &mut plain)
        .unwrap();
    assert_eq!(plain, text);
    assert!(s.computed_at >= 1_800_000_000_000);
    let page = String::from_utf8(s.page.to_vec()).unwrap();
    assert!(page.starts_with("<!doctype html>"), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrapes_share_a_fresh_snapshot_and_wait_only_when_it_is_stale() {
    let sources = sources();
    let progress = sources.progress.clone();
    let (reporter, snapshots) = reporter(sources, Duration::from_secs(1));
    let cancel = CancellationToken::new();
    let token = cancel.clone();
    reporter.request_first();
    let thread = std::thread::spawn(move || reporter.run_blocking(token));

    // The first scrape waits for the first snapshot.
    let first = snapshots.current(false).await;
    assert_eq!(first.computed_at, clock());
    // Concurrent scrapes get the same snapshot without computing.
    let (a, b) = tokio::join!(snapshots.current(false), snapshots.current(false));
    assert!(Arc::ptr_eq(&a, &first) && Arc::ptr_eq(&b, &first));
    // Ten seconds later it is stale: the next scrape waits for a new one.
    NOW.fetch_add(10_000, Ordering::Relaxed);
    let next = snapshots.current(false).await;
    assert_eq!(next.computed_at, clock());
    // Ready now, but the snapshot was computed before: stale too.
    assert!(!next.ready);
    progress.heartbeat("test", clock());
    assert!(progress.readiness().is_ok());
    let after_ready = snapshots.current(true).await;
    assert!(!Arc::ptr_eq(&after_ready, &next));
    assert!(after_ready.ready);
    cancel.cancel();
    thread.join().unwrap();
}

#[test]
fn tls_reloads_are_exported_once_told_and_in_name_order() {
    use crate::telemetry::tls_reloads::{ReloadOutcome, TlsReloads};
    let (mut reporter, _) = reporter(sources(), Duration::from_secs(1));
    let text =
        |r: &Reporter| String::from_utf8(r.compute(ReportCost::default()).text.to_vec()).unwrap();
    let plain = text(&reporter);
    assert!(
        !plain.contains("valuepulse_tls_reloads_total"),
        "absent without TLS: {plain}"
    );
    let reloads = Arc::new(TlsReloads::default());
    reloads.count(ReloadOutcome::Ok);
    reloads.count(ReloadOutcome::Ok);
    reloads.count(ReloadOutcome::Failed);
    reporter.export_tls_reloads(reloads);
    let t = text(&reporter);
    assert!(
        t.contains("# TYPE valuepulse_tls_reloads_total counter\n"),
        "{t}"
    );
    assert!(
        t.contains("valuepulse_tls_reloads_total{outcome=\"ok\"} 2\n"),
        "{t}"
    );
    assert!(
        t.contains("valuepulse_tls_reloads_total{outcome=\"failed\"} 1\n"),
        "{t}"
    );
    let names: Vec<&str> = t
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    assert!(names.is_sorted(), "{names:?}");
}
