//! The report snapshot: computed off the ingest path by one background
//! thread, encoded once (plain and gzip, and as the value pulse page), and
//! shared by every scrape.
//!
//! - The reporter computes a snapshot every `report.interval` while someone
//!   scrapes, pausing at least [`PAUSE_FACTOR`] times its own duration
//!   between reports (so reporting never takes more than a fifth of a
//!   core), and sleeps when nobody has scraped for [`IDLE_AFTER`].
//! - A scrape takes the latest snapshot (an `Arc` clone under a watch
//!   channel's lock: microseconds) and writes its bytes. Concurrent scrapes
//!   share one snapshot; none ever computes.
//! - A scrape waits for a newer snapshot only when the latest is stale: older
//!   than twice the interval (the reporter was idle), or computed before the
//!   process became ready (so a scrape after `/readyz` says 200 never sees a
//!   half-replayed state). It waits at most [`MAX_WAIT`].
//!
//! The report reads DORA state through a copy-on-write `Arc` and adoption
//! state one feature at a time, so ingest never waits for it longer than one
//! feature's evaluation.

use std::io::Write as _;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use prometheus::{Encoder, TextEncoder};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::domain::Millis;
use crate::report::{Sources, with_reports};
use crate::telemetry::tls_reloads::TlsReloads;
use crate::views::metrics::{ReportCost, families, insert_tls_reloads};
use crate::views::page;

/// A reporter idles once nobody has scraped for this long.
pub const IDLE_AFTER: Duration = Duration::from_secs(120);
/// After a report that took `d`, the next starts no sooner than
/// `PAUSE_FACTOR × d` later (or `report.interval`, whichever is longer), so
/// reporting takes at most `1 / (PAUSE_FACTOR + 1)` of a core: a fifth. On a
/// large state this bounds what reporting costs ingest on the other core
/// (BENCHMARKS.md, "Adoption at the cap"), at the price of figures up to
/// about `(PAUSE_FACTOR + 1) × d` old.
pub const PAUSE_FACTOR: u32 = 4;

/// Longest a scrape waits for a fresh snapshot before serving a stale one.
pub const MAX_WAIT: Duration = Duration::from_secs(10);

/// One encoded report.
#[derive(Debug)]
pub struct Snapshot {
    /// Prometheus text exposition.
    pub text: Bytes,
    /// The same, gzip-compressed.
    pub gzip: Bytes,
    /// The value pulse page of the same report (HTML, [`page`]).
    pub page: Bytes,
    /// When it was computed (the report's "now").
    pub computed_at: Millis,
    /// Whether the process was ready when it was computed.
    pub ready: bool,
    /// How long computing and encoding took.
    pub took: Duration,
}

impl Snapshot {
    /// The placeholder before the first report: stale by construction.
    fn none() -> Self {
        Self {
            text: Bytes::new(),
            gzip: Bytes::new(),
            page: Bytes::new(),
            computed_at: Millis::MIN,
            ready: false,
            took: Duration::ZERO,
        }
    }
}

/// The scrape side: latest snapshot, and a way to ask for a fresh one.
#[derive(Clone)]
pub struct Snapshots {
    latest: watch::Receiver<Arc<Snapshot>>,
    wake: Arc<Wake>,
    interval: Duration,
    clock: fn() -> Millis,
}

/// Wakes the reporter: the last scrape time and an explicit request.
#[derive(Default)]
struct Wake {
    state: Mutex<WakeState>,
    cond: Condvar,
}

#[derive(Default)]
struct WakeState {
    last_scrape: Option<Instant>,
    requested: bool,
}

/// The reporter side, run on its own thread by [`Reporter::run_blocking`].
pub struct Reporter {
    sources: Sources,
    /// The admin server's certificate reloads, exported with the report
    /// when it serves TLS: the server's, not ingest's, so not a source.
    tls_reloads: Option<Arc<TlsReloads>>,
    publish: watch::Sender<Arc<Snapshot>>,
    wake: Arc<Wake>,
    interval: Duration,
}

/// A reporter and its scrape handle.
pub fn reporter(sources: Sources, interval: Duration) -> (Reporter, Snapshots) {
    let (publish, latest) = watch::channel(Arc::new(Snapshot::none()));
    let wake = Arc::new(Wake::default());
    let clock = sources.clock;
    (
        Reporter {
            sources,
            tls_reloads: None,
            publish,
            wake: wake.clone(),
            interval,
        },
        Snapshots {
            latest,
            wake,
            interval,
            clock,
        },
    )
}

impl Reporter {
    /// Exports `reloads` (`valuepulse_tls_reloads_total`) in every snapshot.
    pub fn export_tls_reloads(&mut self, reloads: Arc<TlsReloads>) {
        self.tls_reloads = Some(reloads);
    }

    /// Computes one snapshot now.
    pub fn compute(&self, cost: ReportCost) -> Snapshot {
        let started = Instant::now();
        let now = (self.sources.clock)();
        let (mut families, page, ready) = with_reports(&self.sources, now, |r| {
            (families(r, cost), page::render(r), r.health.ready)
        });
        if let Some(reloads) = &self.tls_reloads {
            insert_tls_reloads(&mut families, &reloads.by_outcome());
        }
        let encoder = TextEncoder::new();
        let mut text = Vec::with_capacity(64 * 1024);
        if let Err(e) = encoder.encode(&families, &mut text) {
            tracing::error!(error = %e, "Could not encode metrics.");
        }
        drop(families);
        let mut gz = GzEncoder::new(Vec::with_capacity(text.len() / 4), Compression::fast());
        let gzip = gz
            .write_all(&text)
            .and_then(|()| gz.finish())
            .unwrap_or_default();
        Snapshot {
            text: Bytes::from(text),
            gzip: Bytes::from(gzip),
            page: Bytes::from(page),
            computed_at: now,
            ready,
            took: started.elapsed(),
        }
    }

    /// Publishes snapshots until `cancel` fires: at once, then every
    /// interval while scraped, then on request.
    pub fn run_blocking(self, cancel: CancellationToken) {
        let mut cost = ReportCost::default();
        let mut next = Instant::now();
        loop {
            {
                let mut w = self
                    .wake
                    .state
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                loop {
                    if cancel.is_cancelled() {
                        return;
                    }
                    let scraped = w.last_scrape.is_some_and(|t| t.elapsed() < IDLE_AFTER);
                    if w.requested || (scraped && Instant::now() >= next) {
                        w.requested = false;
                        break;
                    }
                    // Poll cancellation at least every 100 ms.
                    let until = if scraped {
                        next.saturating_duration_since(Instant::now())
                    } else {
                        Duration::from_millis(100)
                    };
                    let step = until.clamp(Duration::from_millis(1), Duration::from_millis(100));
                    w = self
                        .wake
                        .cond
                        .wait_timeout(w, step)
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .0;
                }
            }
            let snapshot = self.compute(cost);
            cost = ReportCost {
                duration: snapshot.took,
            };
            let gap = self.interval.max(snapshot.took * PAUSE_FACTOR);
            next = Instant::now() + gap;
            self.publish.send_replace(Arc::new(snapshot));
        }
    }

    /// Asks for the first snapshot at once (at start, before any scrape).
    pub fn request_first(&self) {
        let mut w = self
            .wake
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        w.requested = true;
        self.wake.cond.notify_one();
    }
}

impl Snapshots {
    fn note_scrape(&self, fresh_needed: bool) {
        let mut w = self
            .wake
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        w.last_scrape = Some(Instant::now());
        if fresh_needed {
            w.requested = true;
            self.wake.cond.notify_one();
        }
    }

    /// Whether `s` may be served now.
    fn fresh(&self, s: &Snapshot, ready_now: bool) -> bool {
        let age = (self.clock)().saturating_sub(s.computed_at);
        let max_age = (self.interval * 2).max(s.took * (2 * PAUSE_FACTOR));
        age <= max_age.as_millis() as Millis && (s.ready || !ready_now)
    }

    /// The snapshot a scrape serves: the latest if fresh, else the next one
    /// (waiting at most [`MAX_WAIT`]).
    pub async fn current(&self, ready_now: bool) -> Arc<Snapshot> {
        let mut rx = self.latest.clone();
        let latest = rx.borrow_and_update().clone();
        if self.fresh(&latest, ready_now) {
            self.note_scrape(false);
            return latest;
        }
        self.note_scrape(true);
        let deadline = tokio::time::Instant::now() + MAX_WAIT;
        loop {
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => {
                    let s = rx.borrow_and_update().clone();
                    if self.fresh(&s, ready_now) {
                        return s;
                    }
                    self.note_scrape(true);
                }
                // The reporter stopped, or it is late: serve what there is.
                _ => return rx.borrow().clone(),
            }
        }
    }
}

#[cfg(test)]
mod tests;
