//! The "cap" workload of issue 10, through the daemon's own code: 2 000
//! features (Zipf 1), 1 000 000 users keyed to 4 partitions, 50 M usage
//! events over 30 days of event time, folded with `fold_usage_records` from
//! pre-encoded records (decode included), then:
//!
//! 1. `state_bytes` against the process's resident memory;
//! 2. the report snapshot (compute + encode + gzip: the background
//!    reporter's work, `snapshot::Reporter::compute`): the first, which reads
//!    every sketch whole and sets up their tracking, then the median of 5
//!    with nothing changed;
//! 3. live: 10 000 events/s stamped with a clock that moves, a report every
//!    500 ms of it (40 reports): the snapshot, and the adoption report alone
//!    with tracked and with full reads, side by side, median and max;
//! 4. serving it: the bytes a scrape writes (`Snapshots::current`), p50/p99
//!    of 1 000 calls;
//! 5. ingest alone, with the reporter's schedule on the other core (a
//!    report, then a pause of max(500 ms, `PAUSE_FACTOR` × its duration), as
//!    the daemon with `report.interval = "500ms"`), and with a control
//!    thread that reads unrelated memory on the same schedule without a
//!    lock: fresh events of random times per phase, five interleaved rounds,
//!    medians;
//! 6. a state of ~100 000 series (2 500 services with deploys, plus the
//!    cap's features): snapshot time and size.
//!
//! Run: `cargo bench --bench cap` (about 2 minutes; `VALUEPULSE_BENCH_CAP_EVENTS`
//! scales the 50 M down, and `VALUEPULSE_BENCH_CAP_FOLD_ONLY=1` stops after
//! the fold and its memory). Prints a table; no criterion. The daemon's image
//! sets `GLIBC_TUNABLES=glibc.malloc.hugetlb=1` (deploy/Dockerfile): prefix
//! the command with it to measure the state on huge pages, as deployed.

#![allow(clippy::print_stdout, reason = "a benchmark that prints its table")]

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use valuepulse::config::Config;
use valuepulse::domain::adoption::Features;
use valuepulse::domain::dora::DoraState;
use valuepulse::domain::flow::{FlowSettings, FlowState};
use valuepulse::domain::satisfaction::{SatisfactionSettings, SatisfactionState};
use valuepulse::domain::time::{DAY_MS, Millis};
use valuepulse::domain::{Deploy, DeployStatus, Event};
use valuepulse::ingest::budget::StateBudget;
use valuepulse::ingest::decode::format_time;
use valuepulse::ingest::fold::{UsageRecord, fold_usage_records};
use valuepulse::ingest::outcome::Counters;
use valuepulse::ingest::progress::Progress;
use valuepulse::ingest::shards::{AdoptionShared, PartitionShard, lock};
use valuepulse::report::{Read, Sources, adoption_report, with_reports};
use valuepulse::rng::Rng;
use valuepulse::telemetry::snapshot::{self, Reporter, Snapshots};
use valuepulse::views::metrics::{ReportCost, families};
use valuepulse::views::page;

/// 2026-11-30T12:30:00Z.
const NOW: Millis = 1_796_041_800_000;
const FEATURES: usize = 2000;
const USERS: u64 = 1_000_000;
const PARTITIONS: i32 = 4;
const BATCH: usize = 1024;

/// The reporter's clock: [`NOW`] until the live phase moves it.
static CLOCK: AtomicI64 = AtomicI64::new(NOW);

fn now() -> Millis {
    CLOCK.load(Ordering::Relaxed)
}

/// Live events a second, and the report interval, of the live phase.
const LIVE_RATE: usize = 10_000;
const REPORT_EVERY_MS: Millis = 500;

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

fn mib(b: usize) -> f64 {
    b as f64 / 1_048_576.0
}

/// Usage payloads of one partition, generated in batches on the fly (no 50 M
/// payloads in memory): (partition, offset, payload).
struct Gen {
    rng: Rng,
    cdf: Vec<f64>,
    next_offset: [i64; PARTITIONS as usize],
}

impl Gen {
    fn new(seed: u64) -> Self {
        let mut acc = 0.0;
        let cdf = (0..FEATURES)
            .map(|k| {
                acc += 1.0 / (k + 1) as f64;
                acc
            })
            .collect();
        Self {
            rng: Rng::new(seed),
            cdf,
            next_offset: [0; PARTITIONS as usize],
        }
    }

    /// One batch per partition, `n` events in all, times uniform over 30 d,
    /// or every event at `at` when given (live events).
    fn batch_at(&mut self, n: usize, at: Option<Millis>, out: &mut [Vec<(i64, String)>]) {
        for o in out.iter_mut() {
            o.clear();
        }
        let total = *self.cdf.last().unwrap();
        for _ in 0..n {
            let x = self.rng.unit() * total;
            let f = self.cdf.partition_point(|&c| c < x).min(FEATURES - 1);
            let user = self.rng.next_u64() % USERS;
            let p = (user % PARTITIONS as u64) as usize;
            let at_ms =
                at.unwrap_or_else(|| NOW - (self.rng.next_u64() % (30 * DAY_MS as u64)) as Millis);
            let at = format_time(at_ms);
            let payload = format!(
                r#"{{"feature":"feature-{f:04}","user":"u-{user}","account":"acme","at":"{at}","session":"{:016x}","platform":"web"}}"#,
                self.rng.next_u64()
            );
            out[p].push((self.next_offset[p], payload));
            self.next_offset[p] += 1;
        }
    }
}

fn shared_state(budget: Arc<StateBudget>) -> Arc<AdoptionShared> {
    let config = Config::load(None).expect("defaults");
    let shared = Arc::new(AdoptionShared::new(config.adoption_settings(), budget));
    for p in 0..PARTITIONS {
        lock(&shared.shards).insert(p, Arc::new(Mutex::new(PartitionShard::default())));
    }
    shared
}

/// Folds `events` fresh events through `fold_usage_records`; returns the
/// seconds spent folding (generation excluded).
fn fold(shared: &AdoptionShared, counters: &Counters, source: &mut Gen, events: usize) -> f64 {
    fold_at(shared, counters, source, events, None)
}

/// [`fold`], every event stamped `at` when given, folded at that "now".
fn fold_at(
    shared: &AdoptionShared,
    counters: &Counters,
    source: &mut Gen,
    events: usize,
    at: Option<Millis>,
) -> f64 {
    let mut per_partition: Vec<Vec<(i64, String)>> = vec![Vec::new(); PARTITIONS as usize];
    let mut spent = 0.0;
    let mut left = events;
    while left > 0 {
        let n = left.min(BATCH * PARTITIONS as usize);
        source.batch_at(n, at, &mut per_partition);
        let started = Instant::now();
        for (p, batch) in per_partition.iter().enumerate() {
            let records: Vec<UsageRecord<'_>> = batch
                .iter()
                .map(|(offset, payload)| UsageRecord {
                    partition: p as i32,
                    offset: *offset,
                    generation: 0,
                    payload: payload.as_bytes(),
                })
                .collect();
            let now = at.unwrap_or(NOW);
            fold_usage_records(shared, "feature-usage", &records, 65_536, now, counters);
        }
        spent += started.elapsed().as_secs_f64();
        left -= n;
    }
    spent
}

fn reporter(
    dora: DoraState,
    shared: Arc<AdoptionShared>,
    budget: Arc<StateBudget>,
) -> (Reporter, Snapshots) {
    snapshot::reporter(sources(dora, shared, budget), Duration::from_secs(1))
}

fn sources(dora: DoraState, shared: Arc<AdoptionShared>, budget: Arc<StateBudget>) -> Sources {
    Sources {
        dora: Arc::new(Mutex::new(Arc::new(dora))),
        counters: Arc::new(Counters::default()),
        progress: Arc::new(Progress::default()),
        adoption: shared,
        budget,
        topics: [
            "deploys".into(),
            "incidents".into(),
            "feature-usage".into(),
            "work-items".into(),
            "satisfaction".into(),
            "changes".into(),
        ],
        clock: now,
        flow: Arc::new(Mutex::new(Arc::new(
            FlowState::new(FlowSettings::default()),
        ))),
        satisfaction: Arc::new(Mutex::new(Arc::new(SatisfactionState::new(
            SatisfactionSettings::default(),
        )))),
    }
}

/// Runs `work` on another thread until `busy` clears, pausing after each
/// run for max(500 ms, `PAUSE_FACTOR` × its duration): the reporter's
/// schedule at the default `report.interval`.
fn spawn_duty(
    busy: Arc<AtomicBool>,
    work: impl Fn() -> Duration + Send + 'static,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        while busy.load(Ordering::Relaxed) {
            let took = work();
            let until =
                Instant::now() + Duration::from_millis(500).max(took * snapshot::PAUSE_FACTOR);
            while busy.load(Ordering::Relaxed) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    })
}

/// Median and max of `v` (sorted here).
fn median_max(v: &mut [f64]) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[v.len() - 1])
}

/// The live phase: [`LIVE_RATE`] events a second, stamped with the moving
/// clock, a report every [`REPORT_EVERY_MS`] of it. Times the snapshot,
/// then the adoption report alone with tracked and with full reads.
/// Report work runs here, on one thread of its own started before the
/// state, as the daemon's reporter thread: its allocations come from its own
/// malloc arena. Run on the thread that folded the state, glibc's malloc
/// searched the arena the state fragmented, and the same snapshots took
/// 2.4–2.6× as long (BENCHMARKS.md).
struct ReportThread {
    jobs: std::sync::mpsc::Sender<Box<dyn FnOnce() + Send>>,
}

impl ReportThread {
    fn start() -> Self {
        let (jobs, rx) = std::sync::mpsc::channel::<Box<dyn FnOnce() + Send>>();
        std::thread::spawn(move || {
            while let Ok(job) = rx.recv() {
                job();
            }
        });
        Self { jobs }
    }

    /// Runs `f` there and waits for its result.
    fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        self.jobs
            .send(Box::new(move || {
                let _ = tx.send(f());
            }))
            .expect("report thread runs");
        rx.recv().expect("report job finished")
    }

    /// Milliseconds `f` took there.
    fn time(&self, f: impl FnOnce() + Send + 'static) -> f64 {
        self.run(move || {
            let started = Instant::now();
            f();
            started.elapsed().as_secs_f64() * 1000.0
        })
    }
}

fn live(
    rt: &ReportThread,
    rep: &Arc<Reporter>,
    src: &Sources,
    counters: &Counters,
    source: &mut Gen,
) {
    let shared = &*src.adoption;
    let features: Arc<Features> = Arc::new(lock(&shared.features).clone());
    let (mut snap, mut tracked, mut full) = (Vec::new(), Vec::new(), Vec::new());
    let (mut compute, mut views) = (Vec::new(), Vec::new());
    let per_report = LIVE_RATE * REPORT_EVERY_MS as usize / 1000;
    for _ in 0..40 {
        let at = CLOCK.fetch_add(REPORT_EVERY_MS, Ordering::Relaxed) + REPORT_EVERY_MS;
        fold_at(shared, counters, source, per_report, Some(at));
        let r = rep.clone();
        snap.push(rt.run(move || r.compute(ReportCost::default()).took.as_secs_f64() * 1000.0));
        // The snapshot just brought the tracking to these edges; a second
        // tracked read at the same instant costs what a report costs with
        // nothing changed, so the tracked figure is taken on the next
        // report's state instead: fold, then time both reads.
        let at = CLOCK.fetch_add(REPORT_EVERY_MS, Ordering::Relaxed) + REPORT_EVERY_MS;
        fold_at(shared, counters, source, per_report, Some(at));
        for (read, out) in [(Read::Tracked, &mut tracked), (Read::Full, &mut full)] {
            let (a, f) = (src.adoption.clone(), features.clone());
            out.push(rt.time(move || {
                let r = adoption_report(&a, &a.settings, &[], &f, at, read);
                std::hint::black_box(r.features.len());
            }));
        }
        // The rest of a snapshot, with the tracking already at these edges.
        let s = src.clone();
        compute.push(rt.time(move || {
            with_reports(&s, at, |r| std::hint::black_box(r.adoption.features.len()));
        }));
        let s = src.clone();
        views.push(rt.time(move || {
            with_reports(&s, at, |r| {
                let f = families(r, ReportCost::default());
                std::hint::black_box((f.len(), page::render(r).len()));
            });
        }));
    }
    let (snap_p50, snap_max) = median_max(&mut snap);
    let (tracked_p50, tracked_max) = median_max(&mut tracked);
    let (full_p50, full_max) = median_max(&mut full);
    let (compute_p50, _) = median_max(&mut compute);
    let (views_p50, _) = median_max(&mut views);
    println!(
        "| live, {LIVE_RATE} events/s, a report every {REPORT_EVERY_MS} ms (40 each): snapshot (compute + encode + gzip) | median {snap_p50:.1} ms, max {snap_max:.1} ms |"
    );
    println!(
        "| live: the adoption report alone, tracked / full reads, same states | median {tracked_p50:.1} / {full_p50:.1} ms ({:.1}×), max {tracked_max:.1} / {full_max:.1} ms |",
        full_p50 / tracked_p50
    );
    println!(
        "| live: where a snapshot's time goes (medians) | all reports with tracking already current {compute_p50:.1} ms; with the metric families and the page built {views_p50:.1} ms; the rest of a snapshot is encode + gzip |"
    );
}

fn median_compute(rt: &ReportThread, r: &Arc<Reporter>, runs: usize) -> (f64, usize, usize) {
    let mut t = Vec::new();
    let mut sizes = (0, 0);
    for _ in 0..runs {
        let r = r.clone();
        let s = rt.run(move || r.compute(ReportCost::default()));
        t.push(s.took.as_secs_f64() * 1000.0);
        sizes = (s.text.len(), s.gzip.len());
    }
    t.sort_by(f64::total_cmp);
    (t[runs / 2], sizes.0, sizes.1)
}

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return;
    }
    let events: usize = std::env::var("VALUEPULSE_BENCH_CAP_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000_000);
    let config = Config::load(None).expect("defaults");
    println!(
        "## cap: {events} events, {FEATURES} features (Zipf 1), {USERS} users, {PARTITIONS} partitions, 30 d"
    );
    // The container image runs the daemon with glibc's huge-page malloc
    // (deploy/Dockerfile); run the bench with the same to see what it does.
    println!(
        "malloc: GLIBC_TUNABLES={:?} (the image sets \"glibc.malloc.hugetlb=1\"); transparent huge pages: {}",
        std::env::var("GLIBC_TUNABLES").unwrap_or_default(),
        std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
            .map_or_else(|_| "unknown".to_owned(), |s| s.trim().to_owned())
    );
    let rss_start = rss_mib();
    let report_thread = ReportThread::start();
    let budget = Arc::new(StateBudget::new(usize::MAX));
    let shared = shared_state(budget.clone());
    let counters = Counters::default();
    let mut source = Gen::new(0x5EED_0601);
    let spent = fold(&shared, &counters, &mut source, events);
    let bytes = shared.measure();
    let rss = rss_mib();
    println!(
        "| decode + fold (daemon's fold_usage_records, random event times, 1 thread) | {:.2} M events/s |",
        events as f64 / spent / 1e6
    );
    println!(
        "| state_bytes | {:.0} MiB (sketches {:.0}, counts and seconds {:.0}, index {:.1}) |",
        mib(bytes.total()),
        mib(bytes.sketches),
        mib(bytes.counts),
        mib(bytes.index)
    );
    println!(
        "| RSS | {rss:.0} MiB ({rss_start:.0} MiB before the state; state_bytes is {:+.1} % of the growth) |",
        100.0 * (mib(bytes.total()) / (rss - rss_start) - 1.0)
    );
    if std::env::var_os("VALUEPULSE_BENCH_CAP_FOLD_ONLY").is_some() {
        // The fold alone: for interleaved runs of it, and for cachegrind,
        // which writes its counts when the process exits.
        return;
    }

    let dora = DoraState::new(config.dora_settings());
    let (rep, snaps) = reporter(dora, shared.clone(), budget.clone());
    let tracking = Arc::new(
        reporter(
            DoraState::new(config.dora_settings()),
            shared.clone(),
            budget.clone(),
        )
        .0,
    );
    let r = tracking.clone();
    let first = report_thread.run(move || r.compute(ReportCost::default()).took);
    println!(
        "| first report snapshot (compute + encode + gzip; reads every sketch whole and sets up its tracking) | {:.1} ms |",
        first.as_secs_f64() * 1000.0
    );
    let (ms, text, gz) = median_compute(&report_thread, &tracking, 5);
    println!(
        "| report snapshot with nothing changed, median of 5 | {ms:.1} ms; {text} B text, {gz} B gzip |"
    );
    let bytes = shared.measure();
    println!(
        "| state_bytes once tracked | {:.0} MiB; RSS {:.0} MiB |",
        mib(bytes.total()),
        rss_mib()
    );
    let src = sources(
        DoraState::new(config.dora_settings()),
        shared.clone(),
        budget.clone(),
    );
    live(&report_thread, &tracking, &src, &counters, &mut source);

    // Serving: what a scrape does once a snapshot exists.
    rep.request_first();
    let cancel = tokio_util::sync::CancellationToken::new();
    let token = cancel.clone();
    let thread = std::thread::spawn(move || rep.run_blocking(token));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut serve: Vec<f64> = (0..1000)
        .map(|_| {
            let t = Instant::now();
            let s = rt.block_on(snaps.current(false));
            std::hint::black_box(s.gzip.len());
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    serve.sort_by(f64::total_cmp);
    println!(
        "| a scrape (latest snapshot, served as is) | p50 {:.1} µs, p99 {:.1} µs (the first waited for the first snapshot) |",
        serve[500], serve[990]
    );

    // Ingest alone, with the reporter's duty cycle on the other core (as
    // the daemon schedules it while scraped: a report, then a pause of
    // max(interval, PAUSE_FACTOR × its duration)), and with a control thread
    // that reads 1 GiB of unrelated memory on the same duty cycle and takes no
    // lock. Interleaved rounds; medians.
    cancel.cancel();
    thread.join().unwrap();
    let ingest_reporter = Arc::new(
        reporter(
            DoraState::new(config.dora_settings()),
            shared.clone(),
            budget.clone(),
        )
        .0,
    );
    let took = Duration::from_secs_f64(ms / 1000.0);
    let more = (events / 25).clamp(1_000_000, 2_000_000);
    let mut rates: [Vec<f64>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    let reports: Arc<Mutex<Vec<f64>>> = Arc::default();
    for _round in 0..5 {
        for (phase, rate) in rates.iter_mut().enumerate() {
            let busy = Arc::new(AtomicBool::new(true));
            let other = match phase {
                1 => Some(spawn_duty(busy.clone(), {
                    let rep = ingest_reporter.clone();
                    let reports = reports.clone();
                    move || {
                        let s = rep.compute(ReportCost::default());
                        lock(&reports).push(s.took.as_secs_f64() * 1000.0);
                        s.took
                    }
                })),
                2 => Some(spawn_duty(busy.clone(), {
                    let memory: Arc<Vec<u64>> = Arc::new(vec![1; 128 << 20]);
                    move || {
                        let started = Instant::now();
                        let mut sum = 0u64;
                        'read: loop {
                            for chunk in memory.chunks(1 << 16) {
                                sum = sum.wrapping_add(chunk.iter().sum::<u64>());
                                if started.elapsed() >= took {
                                    break 'read;
                                }
                            }
                        }
                        std::hint::black_box(sum);
                        started.elapsed()
                    }
                })),
                _ => None,
            };
            // The same generator: its offsets go on, so nothing is a duplicate.
            rate.push(more as f64 / fold(&shared, &counters, &mut source, more));
            busy.store(false, Ordering::Relaxed);
            if let Some(t) = other {
                t.join().unwrap();
            }
        }
    }
    let [alone, with, control] = rates.map(|mut r| {
        r.sort_by(f64::total_cmp);
        r[r.len() / 2]
    });
    let mut reports = std::mem::take(&mut *lock(&reports));
    reports.sort_by(f64::total_cmp);
    println!(
        "| ingest while reported every 500 ms / not scraped (median of 5 interleaved rounds) | {:.2} / {:.2} M events/s ({:+.1} %); {} reports, median {:.1} ms, max {:.1} ms |",
        with / 1e6,
        alone / 1e6,
        100.0 * (with / alone - 1.0),
        reports.len(),
        reports.get(reports.len() / 2).copied().unwrap_or(f64::NAN),
        reports.last().copied().unwrap_or(f64::NAN),
    );
    println!(
        "| control: a thread reading 1 GiB of other memory on the reporter's duty cycle, no lock | {:.2} M events/s ({:+.1} %) |",
        control / 1e6,
        100.0 * (control / alone - 1.0)
    );

    // ~100 000 series: 2 500 services with deploys and incidents beside the
    // cap's features.
    let mut dora_settings = config.dora_settings();
    dora_settings.max_services = 5000;
    let mut dora = DoraState::new(dora_settings);
    let mut rng = Rng::new(0x5EED_0604);
    for s in 0..2500 {
        let service = format!("service-{s:04}");
        for d in 0..4 {
            let finished_at = NOW - (rng.next_u64() % (29 * DAY_MS as u64)) as Millis;
            dora.fold(
                &Event::Deploy(Deploy {
                    id: format!("{service}-{d}").into(),
                    service: service.as_str().into(),
                    team: Some(format!("team-{}", s % 150).into()),
                    environment: "production".into(),
                    status: if d == 0 {
                        DeployStatus::RolledBack
                    } else {
                        DeployStatus::Succeeded
                    },
                    finished_at,
                    artifact: None,
                    changes: vec![valuepulse::domain::Change {
                        id: Some(format!("c-{s}-{d}").into()),
                        committed_at: finished_at - 3_600_000,
                    }],
                    features: vec![],
                    rollback_of: None,
                    fixes_incident: None,
                    repository: None,
                    revision: None,
                }),
                NOW,
            );
        }
    }
    let rep = Arc::new(reporter(dora, shared, budget).0);
    let r = rep.clone();
    let s = report_thread.run(move || r.compute(ReportCost::default()));
    let series = std::str::from_utf8(&s.text)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .count();
    let (ms, text, gz) = median_compute(&report_thread, &rep, 3);
    println!(
        "| {series} series: report snapshot, median of 3 | {ms:.1} ms; {text} B text, {gz} B gzip (a scrape serves it as is) |"
    );
}
