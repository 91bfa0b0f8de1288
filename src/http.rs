//! The admin HTTP server: `/metrics`, `/livez`, `/readyz`.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus::{Encoder, Registry, TextEncoder};
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;

use crate::domain::Millis;
use crate::ingest::progress::Progress;

/// A consumer loop whose heartbeat is older than this is considered stuck.
pub const LIVENESS_TIMEOUT_MS: Millis = 30_000;

/// What the handlers read.
#[derive(Clone)]
pub struct AdminState {
    /// Registry holding the valuepulse collector.
    pub registry: Registry,
    /// Readiness and heartbeats.
    pub progress: Arc<Progress>,
    /// Source of "now".
    pub clock: fn() -> Millis,
}

/// The router, with gzip when the client asks for it.
pub fn router(state: AdminState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/livez", get(livez))
        .route("/readyz", get(readyz))
        .layer(CompressionLayer::new())
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

async fn metrics(State(s): State<AdminState>) -> Response {
    let families = s.registry.gather();
    let encoder = TextEncoder::new();
    let mut body = Vec::with_capacity(64 * 1024);
    match encoder.encode(&families, &mut body) {
        Ok(()) => (
            [(header::CONTENT_TYPE, encoder.format_type().to_owned())],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "Could not encode metrics.");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "metrics encoding failed\n",
            )
                .into_response()
        }
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
