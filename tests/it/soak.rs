//! A soak run (issue 22): the daemon under steady load for
//! `VALUEPULSE_SOAK_S` seconds (180 in CI; RELIABILITY.md reports a longer
//! run): deploys and feature usage (the oracle's load producer), work-item
//! transitions, a scrape every second, the page every 5 s and the pulse
//! every 30 s. Every 10 s (`VALUEPULSE_SOAK_SAMPLE_S`) it samples the
//! daemon's resident memory, open file descriptors, threads and CPU from
//! `/proc`. After the first third (warm-up: replay, first reports, the
//! sketches filling with a bounded user population) each must be flat:
//! a least-squares slope within a bound, and descriptors and threads never
//! above their first warm sample by more than a few (connections being
//! served, the blocking pool's threads for `/pulse`). The samples are written
//! as CSV and an SVG plot to `target/tmp/soak.{csv,svg}` (and the plot to
//! `$VALUEPULSE_SOAK_PLOT` when set: that is how `docs/soak.svg` is made).

#![allow(clippy::print_stderr, reason = "the test reports its figures")]

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::common::{self, Daemon, create_topics, produce, unique};
use crate::fault::{Load, knob};
use valuepulse::ingest::decode::WorkItemV1;

/// One sample of the daemon's process.
#[derive(Debug, Clone, Copy)]
struct Sample {
    /// Seconds since the load started.
    at: f64,
    rss_mib: f64,
    /// The state's own accounting (`valuepulse_state_bytes`, summed): the
    /// retained history grows under a steady load until its longest
    /// window is full, so RSS may grow as much, and no more.
    state_mib: f64,
    fds: f64,
    threads: f64,
    /// Share of one core over the last interval, in percent.
    cpu_pct: f64,
}

/// (RSS in bytes, threads, open descriptors, CPU seconds) of `pid`.
fn read_proc(pid: u32) -> (f64, f64, f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| -> f64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count() as f64;
    let cpu = crate::fault::cpu_time(pid).as_secs_f64();
    (field("VmRSS:") * 1024.0, field("Threads:"), fds, cpu)
}

/// Least-squares slope of `y` over `x`, per unit of `x`.
fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    let (sx, sy) = points
        .iter()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
    let (mx, my) = (sx / n, sy / n);
    let (num, den) = points.iter().fold((0.0, 0.0), |(a, b), (x, y)| {
        (a + (x - mx) * (y - my), b + (x - mx) * (x - mx))
    });
    if den == 0.0 { 0.0 } else { num / den }
}

/// One measure of a sample.
type Measure = fn(&Sample) -> f64;

/// A small SVG: one panel per measure, this run's samples as a line, the
/// warm-up shaded.
fn plot(samples: &[Sample], warm: f64) -> String {
    let panels: [(&str, Measure); 5] = [
        ("RSS (MiB)", |s| s.rss_mib),
        ("state (MiB, valuepulse_state_bytes)", |s| s.state_mib),
        ("open file descriptors", |s| s.fds),
        ("threads", |s| s.threads),
        ("CPU (% of a core)", |s| s.cpu_pct),
    ];
    let (w, h, pad) = (640.0, 120.0, 30.0);
    let end = samples.last().map_or(1.0, |s| s.at).max(1.0);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{}\" font-family=\"sans-serif\" font-size=\"11\">\n",
        panels.len() as f64 * (h + pad) + pad
    );
    for (i, (title, get)) in panels.iter().enumerate() {
        let top = pad + i as f64 * (h + pad);
        let max = samples.iter().map(get).fold(0.0_f64, f64::max).max(1.0) * 1.1;
        let x = |t: f64| 40.0 + t / end * (w - 60.0);
        let y = |v: f64| top + h - v / max * h;
        let _ = writeln!(
            svg,
            "<rect x=\"40\" y=\"{top}\" width=\"{:.1}\" height=\"{h}\" fill=\"#eee\"/>",
            x(warm) - 40.0
        );
        let _ = writeln!(
            svg,
            "<text x=\"40\" y=\"{:.1}\">{title}: max {:.1}, end {:.1} (t = {:.0} s)</text>",
            top - 4.0,
            samples.iter().map(get).fold(0.0_f64, f64::max),
            samples.last().map_or(0.0, get),
            end
        );
        let points: Vec<String> = samples
            .iter()
            .map(|s| format!("{:.1},{:.1}", x(s.at), y(get(s))))
            .collect();
        let _ = writeln!(
            svg,
            "<polyline fill=\"none\" stroke=\"#1f6feb\" stroke-width=\"1.5\" points=\"{}\"/>",
            points.join(" ")
        );
        let _ = writeln!(
            svg,
            "<line x1=\"40\" y1=\"{0:.1}\" x2=\"{1:.1}\" y2=\"{0:.1}\" stroke=\"#999\"/>",
            top + h,
            w - 20.0
        );
    }
    svg.push_str("</svg>\n");
    svg
}

#[test]
fn a_steady_load_leaves_memory_descriptors_threads_and_cpu_flat() {
    let _isolation = common::shared();
    let length = Duration::from_secs(knob("VALUEPULSE_SOAK_S", 180));
    let every = Duration::from_secs(knob("VALUEPULSE_SOAK_SAMPLE_S", 10));
    let (deploys, incidents, usage, work) = (
        unique("soak-deploys"),
        unique("soak-incidents"),
        unique("soak-usage"),
        unique("soak-work"),
    );
    create_topics(&[(&deploys, 2), (&incidents, 1), (&usage, 4), (&work, 1)]);
    let mut daemon = Daemon::start(&[
        ("VALUEPULSE__TOPICS__DEPLOYS", &deploys),
        ("VALUEPULSE__TOPICS__INCIDENTS", &incidents),
        ("VALUEPULSE__TOPICS__FEATURE_USAGE", &usage),
        ("VALUEPULSE__TOPICS__WORK_ITEMS", &work),
    ]);
    daemon.wait_ready(Duration::from_secs(60));
    let pid = daemon.pid();

    // Deploys 2/s and usage 1,000/s from 2,000 users (the sketches fill,
    // then stay), as the oracle's load producer writes them.
    let load = Load::start(
        &common::brokers(),
        "soak",
        (&deploys, &usage),
        (2, 1000),
        2_000,
        0,
    );
    let stop = Arc::new(AtomicBool::new(false));
    // Work items: 200 items cycling through their states, 4 transitions a
    // second.
    let items = {
        let (stop, work) = (stop.clone(), work.clone());
        std::thread::spawn(move || {
            const STATES: [&str; 4] = ["To Do", "In Progress", "In Review", "Done"];
            let mut n = 0_u64;
            while !stop.load(Ordering::Relaxed) {
                let now = time::OffsetDateTime::now_utc().unix_timestamp();
                let batch: Vec<(String, String)> = (0..4)
                    .map(|k| {
                        let i = n + k;
                        let item = WorkItemV1 {
                            id: format!("SOAK-{}", i % 200).into(),
                            service: "checkout".into(),
                            team: Some("payments".into()),
                            state: STATES[((i / 200) % 4) as usize].into(),
                            at: common::at(now, 0).into(),
                            ..WorkItemV1::default()
                        };
                        (
                            format!("SOAK-{}", i % 200),
                            serde_json::to_string(&item).unwrap(),
                        )
                    })
                    .collect();
                produce(&work, &batch);
                n += 4;
                std::thread::sleep(Duration::from_secs(1));
            }
        })
    };
    // Readers: a scrape every second, the page every 5 s, the pulse every 30 s.
    let readers = {
        let (stop, addr) = (stop.clone(), daemon.addr.clone());
        std::thread::spawn(move || {
            let mut tick = 0_u64;
            let mut failures = 0_u64;
            while !stop.load(Ordering::Relaxed) {
                let mut get = |path: &str| {
                    if !matches!(common::http_get(&addr, path, &[]), Some((200, _, _))) {
                        failures += 1;
                    }
                };
                get("/metrics");
                if tick.is_multiple_of(5) {
                    get("/");
                }
                if tick.is_multiple_of(30) {
                    get("/pulse?format=json");
                }
                tick += 1;
                std::thread::sleep(Duration::from_secs(1));
            }
            failures
        })
    };

    let start = Instant::now();
    let mut samples = Vec::new();
    let (_, _, _, mut cpu_before) = read_proc(pid);
    let mut before = Instant::now();
    while start.elapsed() < length {
        std::thread::sleep(every);
        assert!(daemon.alive(), "the daemon died during the soak");
        let (rss, threads, fds, cpu) = read_proc(pid);
        let took = before.elapsed().as_secs_f64();
        let state: f64 = common::parse(&daemon.scrape())
            .iter()
            .filter(|(k, _)| k.starts_with("valuepulse_state_bytes{"))
            .map(|(_, v)| v)
            .sum();
        samples.push(Sample {
            at: start.elapsed().as_secs_f64(),
            rss_mib: rss / (1024.0 * 1024.0),
            state_mib: state / (1024.0 * 1024.0),
            fds,
            threads,
            cpu_pct: (cpu - cpu_before) / took * 100.0,
        });
        (cpu_before, before) = (cpu, Instant::now());
    }
    stop.store(true, Ordering::Relaxed);
    let p = load.finish();
    items.join().unwrap();
    let failures = readers.join().unwrap();

    let warm = length.as_secs_f64() / 3.0;
    let after: Vec<&Sample> = samples.iter().filter(|s| s.at >= warm).collect();
    let fit = |get: Measure| {
        slope(
            &after
                .iter()
                .map(|s| (s.at / 60.0, get(s)))
                .collect::<Vec<_>>(),
        )
    };
    let (rss_slope, state_slope, fd_slope, thread_slope, cpu_slope) = (
        fit(|s| s.rss_mib),
        fit(|s| s.state_mib),
        fit(|s| s.fds),
        fit(|s| s.threads),
        fit(|s| s.cpu_pct),
    );
    let mut csv = String::from("seconds,rss_mib,state_mib,fds,threads,cpu_pct\n");
    for s in &samples {
        let _ = writeln!(
            csv,
            "{:.1},{:.2},{:.3},{},{},{:.1}",
            s.at, s.rss_mib, s.state_mib, s.fds, s.threads, s.cpu_pct
        );
    }
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    std::fs::write(dir.join("soak.csv"), &csv).unwrap();
    let svg = plot(&samples, warm);
    std::fs::write(dir.join("soak.svg"), &svg).unwrap();
    if let Ok(path) = std::env::var("VALUEPULSE_SOAK_PLOT") {
        std::fs::write(path, &svg).unwrap();
    }
    let first = after.first().copied().copied().unwrap();
    let peak = |get: Measure| after.iter().map(|s| get(s)).fold(0.0_f64, f64::max);
    eprintln!(
        "soak: {:.0} s, {} records acknowledged, {failures} failed reads; after warm-up ({:.0} s): RSS {:.1} → {:.1} MiB (slope {rss_slope:+.3} MiB/min; state {state_slope:+.3} MiB/min), fds {} → {} (slope {fd_slope:+.3}/min), threads {} → {} (slope {thread_slope:+.3}/min), CPU {:.1} → {:.1} % (slope {cpu_slope:+.3} %/min)\n{csv}",
        start.elapsed().as_secs_f64(),
        p.acked(),
        warm,
        first.rss_mib,
        samples.last().unwrap().rss_mib,
        first.fds,
        samples.last().unwrap().fds,
        first.threads,
        samples.last().unwrap().threads,
        first.cpu_pct,
        samples.last().unwrap().cpu_pct,
    );
    assert_eq!(p.failed(), 0, "the load producer saw failed deliveries");
    assert_eq!(failures, 0, "scrapes, page or pulse reads failed");
    assert!(
        after.len() >= 6,
        "too few samples after warm-up: {}",
        after.len()
    );
    // Bounds: 1 MiB a minute is 60 MiB an hour, far below the state
    // budget's headroom, and far above the noise of a flat process.
    assert!(
        rss_slope <= 1.0,
        "RSS grows {rss_slope:.3} MiB/min after warm-up"
    );
    // Beyond what the retained state itself adds.
    assert!(
        rss_slope - state_slope <= 0.5,
        "RSS grows {rss_slope:.3} MiB/min after warm-up, {:.3} beyond the state's {state_slope:.3}",
        rss_slope - state_slope
    );
    assert!(
        peak(|s| s.fds) <= first.fds + 8.0 && fd_slope <= 0.5,
        "descriptors grow: {fd_slope:.3}/min, peak {} from {}",
        peak(|s| s.fds),
        first.fds
    );
    assert!(
        peak(|s| s.threads) <= first.threads + 4.0 && thread_slope <= 0.5,
        "threads grow: {thread_slope:.3}/min, peak {} from {}",
        peak(|s| s.threads),
        first.threads
    );
    assert!(
        cpu_slope.abs() <= 5.0,
        "CPU drifts {cpu_slope:.3} %-points a minute under a steady load"
    );
}
