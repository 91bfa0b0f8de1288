//! Task wiring and ordered shutdown.
//!
//! [`run`] is three steps: `start` builds the state and starts the reporter
//! thread, the admin server and the consumer loops; then it waits for the
//! shutdown future (SIGTERM/SIGINT in the binary, anything in tests) or for
//! a consumer loop to end early; `Running::drain` stops consuming first,
//! waits for the consumers to close up to `ingest.close_timeout`, and stops
//! HTTP and the reporter last, so probes and scrapes answer until the end.
//! Any critical task failing stops the rest and `run` errors.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::sync::oneshot;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::clock::{self, Clock};
use crate::config::Config;
use crate::http::tls::ReloadingTls;
use crate::http::{self, AdminState, PulseSource};
use crate::ingest::budget::StateBudget;
use crate::ingest::fold::SmallStates;
use crate::ingest::outcome::Counters;
use crate::ingest::progress::Progress;
use crate::ingest::shards::AdoptionShared;
use crate::ingest::small_topics::{self, SmallTopicsIngest};
use crate::ingest::usage::{self, UsageIngest};
use crate::pulse::compute::PulseSettings;
use crate::report::Sources;
use crate::telemetry::snapshot;

/// Handles a running daemon exposes to its embedder (the demo, tests).
#[derive(Clone)]
pub struct Handles {
    /// Readiness and replay progress.
    pub progress: Arc<Progress>,
}

/// The consumer loops: each returns its name and how it ended.
type Consumers = JoinSet<(&'static str, anyhow::Result<()>)>;

/// Runs the daemon until `shutdown` completes. `on_listen` receives the bound
/// HTTP address and the handles once the server is listening.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send,
    on_listen: Option<oneshot::Sender<(SocketAddr, Handles)>>,
) -> anyhow::Result<()> {
    let mut daemon = start(config)?;
    if let Some(tx) = on_listen {
        let _ = tx.send((daemon.address, daemon.handles.clone()));
    }
    // Any consumer loop ending before shutdown is a failure of the process.
    let failure = tokio::select! {
        () = shutdown => {
            tracing::info!("Shutting down: stopping consumers.");
            None
        }
        Some(done) = daemon.consumers.join_next() => Some(ended_early(done)),
    };
    daemon.drain(failure).await
}

/// A started daemon: what [`Running::drain`] stops, in order.
struct Running {
    /// Where the admin server listens.
    address: SocketAddr,
    /// What the embedder may watch.
    handles: Handles,
    /// How long the consumers get to close (`ingest.close_timeout`).
    close_timeout: std::time::Duration,
    /// The consumer loops, stopped first.
    consumers: Consumers,
    ingest_stop: CancellationToken,
    /// The admin server, stopped after the consumers so probes and scrapes
    /// answer until the end.
    http: tokio::task::JoinHandle<std::io::Result<()>>,
    http_stop: CancellationToken,
    /// The reporter thread, stopped last.
    reporter: std::thread::JoinHandle<()>,
    report_stop: CancellationToken,
}

/// Builds the state, then starts the reporter thread, the admin server and
/// the two consumer loops.
fn start(config: Config) -> anyhow::Result<Running> {
    let config = Arc::new(config);
    let clock: Clock = clock::now_millis;
    let progress = Arc::new(Progress::default());
    let counters = Arc::new(Counters::default());
    let states = SmallStates::from_config(&config);
    let budget = Arc::new(StateBudget::new(config.max_state_bytes()));
    let adoption = Arc::new(AdoptionShared::new(
        config.adoption_settings(),
        budget.clone(),
    ));

    let sources = Sources {
        dora: states.dora.clone(),
        counters: counters.clone(),
        progress: progress.clone(),
        adoption: adoption.clone(),
        budget: budget.clone(),
        topics: config.topics.all(),
        clock,
        flow: states.flow.clone(),
        satisfaction: states.satisfaction.clone(),
    };
    let pulse = PulseSource::new(
        sources.clone(),
        PulseSettings {
            max_items: config.pulse.max_items,
        },
        &config.pulse.prometheus_url,
    );
    let web = &config.http.web_config;
    let tls = web
        .tls
        .clone()
        .map(|t| Arc::new(ReloadingTls::new(t, "http.web_config")));
    let (mut reporter, snapshots) = snapshot::reporter(sources, config.report_interval());
    if let Some(tls) = &tls {
        reporter.export_tls_reloads(tls.reloads());
    }
    reporter.request_first();
    let report_stop = CancellationToken::new();
    let token = report_stop.clone();
    let reporter = std::thread::Builder::new()
        .name("valuepulse-report".into())
        .spawn(move || reporter.run_blocking(token))
        .context("starting the reporter thread")?;

    let addr = config.http.listen;
    let listener = crate::http::listen(addr)
        .with_context(|| format!("cannot listen on {addr} (http.listen)"))?;
    let address = listener.local_addr()?;
    tracing::info!(
        address = %address,
        tls = web.tls.is_some(),
        basic_auth = web.auth_required(),
        "Serving /, /metrics, /livez, /readyz and /pulse."
    );
    let http_stop = CancellationToken::new();
    let http = tokio::spawn(http::serve(
        listener,
        AdminState {
            snapshots,
            progress: progress.clone(),
            clock,
            auth: AdminState::auth_from(web),
            pulse,
        },
        tls,
        http_stop.clone().cancelled_owned(),
    ));

    let ingest_stop = CancellationToken::new();
    let mut consumers = Consumers::new();
    let small = SmallTopicsIngest {
        config: config.clone(),
        states,
        counters: counters.clone(),
        progress: progress.clone(),
        budget,
        clock,
    };
    let token = ingest_stop.clone();
    consumers.spawn_blocking(move || (small_topics::NAME, small.run_blocking(token)));
    let usage = UsageIngest {
        config: config.clone(),
        shared: adoption,
        counters,
        progress: progress.clone(),
        clock,
    };
    let token = ingest_stop.clone();
    consumers.spawn_blocking(move || (usage::NAME, usage.run_blocking(token)));

    Ok(Running {
        address,
        handles: Handles { progress },
        close_timeout: config.close_timeout(),
        consumers,
        ingest_stop,
        http,
        http_stop,
        reporter,
        report_stop,
    })
}

impl Running {
    /// Stops consuming first, waits for the consumers to close (up to
    /// `ingest.close_timeout`), then stops HTTP and the reporter. Errors
    /// with `failure`, the critical task that ended early, if any.
    async fn drain(mut self, failure: Option<anyhow::Error>) -> anyhow::Result<()> {
        self.ingest_stop.cancel();
        let closing = async {
            while let Some(done) = self.consumers.join_next().await {
                match done {
                    Ok((_, Ok(()))) => {}
                    Ok((name, Err(e))) => tracing::warn!(
                        consumer = name,
                        error = format!("{e:#}"),
                        "Consumer failed while closing."
                    ),
                    Err(e) => tracing::warn!(error = %e, "Consumer task failed while closing."),
                }
            }
        };
        match tokio::time::timeout(self.close_timeout, closing).await {
            Ok(()) => tracing::info!("Consumers closed."),
            Err(_) => {
                tracing::warn!(deadline = ?self.close_timeout, "Consumers did not close in time; leaving them.");
            }
        }
        self.http_stop.cancel();
        match self.http.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "HTTP server ended with an error."),
            Err(e) => tracing::warn!(error = %e, "HTTP server task failed."),
        }
        // The reporter checks for cancellation at least every 100 ms.
        self.report_stop.cancel();
        if self.reporter.join().is_err() {
            tracing::warn!("The reporter thread panicked.");
        }
        if let Some(e) = failure {
            tracing::error!(
                error = format!("{e:#}"),
                "valuepulse stopped because a critical task failed."
            );
            Err(e)
        } else {
            tracing::info!("valuepulse stopped.");
            Ok(())
        }
    }
}

/// The error for a consumer loop that ended before shutdown.
fn ended_early(
    done: Result<(&'static str, anyhow::Result<()>), tokio::task::JoinError>,
) -> anyhow::Error {
    match done {
        Ok((name, Ok(()))) => anyhow::anyhow!("the {name} consumer stopped unexpectedly"),
        Ok((name, Err(e))) => e.context(format!("the {name} consumer failed")),
        Err(e) => anyhow::Error::new(e).context("a consumer panicked"),
    }
}

/// Completes on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "Cannot listen for SIGTERM; only SIGINT stops the daemon.");
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

#[cfg(test)]
mod tests;
