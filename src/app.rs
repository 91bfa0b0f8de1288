//! Task wiring and ordered shutdown.
//!
//! `run` starts the consumer loops and the admin server, then waits for the
//! shutdown future (SIGTERM/SIGINT in the binary, anything in tests). On
//! shutdown it stops consuming first, waits for the consumers to close up to
//! `ingest.close_timeout`, and stops HTTP last, so probes and scrapes answer
//! until the end. Any critical task failing stops the rest and `run` errors.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::domain::Millis;
use crate::http::{self, AdminState};
use crate::ingest::budget::StateBudget;
use crate::ingest::fold::SmallStates;
use crate::ingest::outcome::Counters;
use crate::ingest::progress::Progress;
use crate::ingest::shards::AdoptionShared;
use crate::ingest::small_topics::{self, SmallTopicsIngest};
use crate::ingest::usage::{self, UsageIngest};
use crate::report::Sources;
use crate::telemetry::snapshot;

/// Wall-clock "now" in epoch milliseconds: the daemon's clock. Kept for
/// the modules that still name it here; it is [`crate::clock::now_millis`].
pub use crate::clock::now_millis as system_clock;

/// Handles a running daemon exposes to its embedder (the demo, tests).
#[derive(Clone)]
pub struct Handles {
    /// Readiness and replay progress.
    pub progress: Arc<Progress>,
}

/// Runs the daemon until `shutdown` completes. `on_listen` receives the bound
/// HTTP address and the handles once the server is listening.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send,
    on_listen: Option<oneshot::Sender<(SocketAddr, Handles)>>,
) -> anyhow::Result<()> {
    let config = Arc::new(config);
    let clock: fn() -> Millis = system_clock;
    let progress = Arc::new(Progress::default());
    let counters = Arc::new(Counters::default());
    let states = SmallStates::from_config(&config);
    let budget = Arc::new(StateBudget::new(config.max_state_bytes()));
    let adoption = Arc::new(AdoptionShared::new(
        config.adoption_settings(),
        budget.clone(),
    ));

    let (reporter, snapshots) = snapshot::reporter(
        Sources {
            dora: states.dora.clone(),
            counters: counters.clone(),
            progress: progress.clone(),
            adoption: adoption.clone(),
            budget: budget.clone(),
            topics: config.topics.all(),
            clock,
            flow: states.flow.clone(),
            satisfaction: states.satisfaction.clone(),
        },
        config.report_interval(),
    );
    reporter.request_first();
    let report_stop = CancellationToken::new();
    let token = report_stop.clone();
    let report_thread = std::thread::Builder::new()
        .name("valuepulse-report".into())
        .spawn(move || reporter.run_blocking(token))
        .context("starting the reporter thread")?;

    let addr = config.http.listen;
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (http.listen)"))?;
    let bound = listener.local_addr()?;
    let web = &config.http.web_config;
    tracing::info!(
        address = %bound,
        tls = web.tls.is_some(),
        basic_auth = web.auth_required(),
        "Serving /, /metrics, /livez and /readyz."
    );

    let ingest_stop = CancellationToken::new();
    let http_stop = CancellationToken::new();
    let http_task = tokio::spawn(http::serve(
        listener,
        AdminState {
            snapshots,
            progress: progress.clone(),
            clock,
            auth: AdminState::auth_from(web),
        },
        web.tls.clone(),
        http_stop.clone().cancelled_owned(),
    ));

    let mut ingest: JoinSet<(&'static str, anyhow::Result<()>)> = JoinSet::new();
    let small_ingest = SmallTopicsIngest {
        config: config.clone(),
        states,
        counters: counters.clone(),
        progress: progress.clone(),
        budget,
        clock,
    };
    let token = ingest_stop.clone();
    ingest.spawn_blocking(move || (small_topics::NAME, small_ingest.run_blocking(token)));
    let usage_ingest = UsageIngest {
        config: config.clone(),
        shared: adoption,
        counters,
        progress: progress.clone(),
        clock,
    };
    let token = ingest_stop.clone();
    ingest.spawn_blocking(move || (usage::NAME, usage_ingest.run_blocking(token)));

    if let Some(tx) = on_listen {
        let _ = tx.send((bound, Handles { progress }));
    }

    // Any consumer loop ending before shutdown is a failure of the process.
    let mut failure: Option<anyhow::Error> = None;
    tokio::select! {
        () = shutdown => tracing::info!("Shutting down: stopping consumers."),
        Some(done) = ingest.join_next() => failure = Some(ended_early(done)),
    }
    ingest_stop.cancel();
    let closing = async {
        while let Some(done) = ingest.join_next().await {
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
    match tokio::time::timeout(config.close_timeout(), closing).await {
        Ok(()) => tracing::info!("Consumers closed."),
        Err(_) => {
            tracing::warn!(deadline = ?config.close_timeout(), "Consumers did not close in time; leaving them.")
        }
    }
    http_stop.cancel();
    match http_task.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "HTTP server ended with an error."),
        Err(e) => tracing::warn!(error = %e, "HTTP server task failed."),
    }
    // The reporter checks for cancellation at least every 100 ms.
    report_stop.cancel();
    if report_thread.join().is_err() {
        tracing::warn!("The reporter thread panicked.");
    }
    match failure {
        Some(e) => {
            tracing::error!(
                error = format!("{e:#}"),
                "valuepulse stopped because a critical task failed."
            );
            Err(e)
        }
        None => {
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
