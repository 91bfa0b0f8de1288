//! The admin HTTP server: `/metrics`, `/livez`, `/readyz`.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;

use crate::domain::Millis;
use crate::ingest::progress::Progress;
use crate::telemetry::snapshot::Snapshots;

/// A consumer loop whose heartbeat is older than this is considered stuck.
pub const LIVENESS_TIMEOUT_MS: Millis = 30_000;

/// What the handlers read.
#[derive(Clone)]
pub struct AdminState {
    /// The latest report snapshot.
    pub snapshots: Snapshots,
    /// Readiness and heartbeats.
    pub progress: Arc<Progress>,
    /// Source of "now".
    pub clock: fn() -> Millis,
}

/// The router.
pub fn router(state: AdminState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/livez", get(livez))
        .route("/readyz", get(readyz))
        .with_state(state)
}

/// Serves until `shutdown` completes, then drains open requests.
pub async fn serve(
    listener: TcpListener,
    state: AdminState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// The Prometheus text exposition format's content type.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Serves the latest report snapshot, gzip-compressed when the scraper
/// accepts it (compressed once by the reporter, not per scrape).
async fn metrics(State(s): State<AdminState>, headers: HeaderMap) -> Response {
    let ready = s.progress.readiness().is_ok();
    let snapshot = s.snapshots.current(ready).await;
    let gzip = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|e| {
            let mut parts = e.split(';');
            let coding = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .is_some_and(|q| q.trim().parse::<f32>().is_ok_and(|q| q == 0.0))
            });
            coding.eq_ignore_ascii_case("gzip") && !refused
        });
    if gzip && !snapshot.gzip.is_empty() {
        (
            [
                (header::CONTENT_TYPE, TEXT_FORMAT),
                (header::CONTENT_ENCODING, "gzip"),
                (header::VARY, "accept-encoding"),
            ],
            snapshot.gzip.clone(),
        )
            .into_response()
    } else {
        (
            [
                (header::CONTENT_TYPE, TEXT_FORMAT),
                (header::VARY, "accept-encoding"),
            ],
            snapshot.text.clone(),
        )
            .into_response()
    }
}

/// Alive while every consumer loop has beaten recently. Never asks Kafka.
async fn livez(State(s): State<AdminState>) -> Response {
    match s.progress.oldest_heartbeat() {
        Some((name, at)) if (s.clock)() - at > LIVENESS_TIMEOUT_MS => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{name} loop has not run for {} ms\n", (s.clock)() - at),
        )
            .into_response(),
        _ => (StatusCode::OK, "ok\n").into_response(),
    }
}

/// Ready once replay has reached the high watermarks captured at assignment.
async fn readyz(State(s): State<AdminState>) -> Response {
    match s.progress.readiness() {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(r) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {}\n", r.0),
        )
            .into_response(),
    }
}
