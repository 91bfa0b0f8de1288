//! The admin HTTP server: `/` (the value pulse page), `/metrics`, `/livez`,
//! `/readyz`, `/pulse` and `/pulse/teams` (the Weekly Value Pulse); over TLS and behind basic auth when `http.web_config` says so
//! ([`crate::config::web`], [`auth`]: the probes stay open).
//!
//! It holds under abuse: at most [`MAX_CONNECTIONS`] connections at once
//! (more wait in the kernel's accept queue), a client has
//! [`HEADER_READ_TIMEOUT`] to send its request head (slowloris), a request
//! gets [`REQUEST_TIMEOUT`] to be answered (408 after), a connection lives
//! at most [`CONNECTION_LIFETIME`] (a client that never reads its response
//! is dropped), and on shutdown open connections get [`SHUTDOWN_GRACE`] to
//! finish. Every handler is cheap: `/metrics` and `/` write a snapshot
//! computed elsewhere, so 200 scrapes at once cost 200 memory copies. A TLS
//! handshake must complete within [`HEADER_READ_TIMEOUT`]; its certificate
//! is the one its files hold now ([`tls`]: renewed files are picked up
//! without a restart).

pub mod auth;
pub mod tls;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tower::Service;
use tower_http::timeout::TimeoutLayer;

use crate::config::pulse_delivery::WebhookUrl;
use crate::config::web::WebConfig;
use crate::domain::Millis;
use crate::ingest::progress::Progress;
use crate::pulse::client::Client;
use crate::pulse::compute::{PulseSettings, with_pulses};
use crate::pulse::history::{self, History};
use crate::pulse::model::{Pulse, Teams};
use crate::report::Sources;
use crate::telemetry::snapshot::Snapshots;
use crate::views::{page, pulse as pulse_view};
use auth::BasicAuth;
use tls::ReloadingTls;

/// A consumer loop whose heartbeat is older than this is considered stuck.
pub const LIVENESS_TIMEOUT_MS: Millis = 30_000;

/// What `/pulse` computes from, on request (a weekly read is rare; it is
/// computed off the async runtime, never on the scrape path, one request
/// at a time: more wait, up to [`REQUEST_TIMEOUT`]).
#[derive(Clone)]
pub struct PulseSource {
    /// The state and ingest's bookkeeping, as the reporter reads them.
    pub sources: Sources,
    /// `[pulse]`.
    pub settings: PulseSettings,
    /// One pulse computed at a time, so a burst of requests cannot take a
    /// thread and a copy of the state each.
    gate: Arc<Semaphore>,
    /// `pulse.prometheus_url` and a client for it, when set.
    prometheus: Option<(Arc<WebhookUrl>, Arc<Client>)>,
}

impl PulseSource {
    /// The pulse's source; last week's distinct users from the Prometheus
    /// at `prometheus_url` unless it is empty.
    pub fn new(sources: Sources, settings: PulseSettings, prometheus_url: &WebhookUrl) -> Self {
        Self {
            sources,
            settings,
            gate: Arc::new(Semaphore::new(1)),
            prometheus: (!prometheus_url.is_empty()).then(|| {
                (
                    Arc::new(prometheus_url.clone()),
                    Arc::new(Client::new(history::QUERY_TIMEOUT)),
                )
            }),
        }
    }
}

/// What the handlers read.
#[derive(Clone)]
pub struct AdminState {
    /// The latest report snapshot.
    pub snapshots: Snapshots,
    /// Readiness and heartbeats.
    pub progress: Arc<Progress>,
    /// Source of "now".
    pub clock: fn() -> Millis,
    /// Basic auth, when `http.web_config` names users.
    pub auth: Option<Arc<BasicAuth>>,
    /// The Weekly Value Pulse's source.
    pub pulse: PulseSource,
}

impl AdminState {
    /// Basic auth as `web` says (none without users).
    pub fn auth_from(web: &WebConfig) -> Option<Arc<BasicAuth>> {
        web.auth_required()
            .then(|| Arc::new(BasicAuth::new(web.users.clone())))
    }
}

/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 512;
/// Backlog of the listening socket (tokio's `bind` asks for 1024; the
/// kernel caps it at `net.core.somaxconn`, 4096 by default since Linux
/// 5.4). A burst of new connections while the accept loop waits for a
/// core (a webhook retry storm on a busy node) then queues instead of
/// overflowing: an overflowed handshake is retried by the client only
/// after a second (seen in CI as 1 s stalls of valid deliveries).
pub const LISTEN_BACKLOG: u32 = 4096;

/// Listens on `addr` with [`LISTEN_BACKLOG`] and `SO_REUSEADDR` (as
/// tokio's `bind` sets it).
pub fn listen(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}
/// Time a client has to send its request line and headers.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Time a request has to be answered (a scrape may wait up to 10 s for a
/// fresh snapshot).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Longest life of one connection, however busy.
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);
/// Time open connections get to finish once shutdown starts.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// The router.
pub fn router(state: AdminState) -> Router {
    Router::new()
        .route("/", get(landing))
        .route("/metrics", get(metrics))
        .route("/livez", get(livez))
        .route("/readyz", get(readyz))
        .route("/pulse", get(pulse))
        .route("/pulse/teams", get(pulse_teams))
        .layer(middleware::from_fn_with_state(state.clone(), authorize))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .with_state(state)
}

/// Serves the admin router until `shutdown` completes (see
/// [`serve_router`]).
pub async fn serve(
    listener: TcpListener,
    state: AdminState,
    tls: Option<Arc<ReloadingTls>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_router(listener, router(state), tls, shutdown).await
}

/// Serves `app` with this module's limits (connections, header and request
/// timeouts, connection lifetime) until `shutdown` completes; then stops
/// accepting, lets open connections finish for up to [`SHUTDOWN_GRACE`] and
/// drops the rest. With `tls`, every connection is a TLS connection, and
/// its files are watched while the server runs: each handshake gets the
/// config they hold now ([`ReloadingTls`]). The daemon's admin server and
/// the bridge both serve through it.
pub async fn serve_router(
    listener: TcpListener,
    app: Router,
    tls: Option<Arc<ReloadingTls>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let stop = CancellationToken::new();
    let watcher = tls.clone().map(|t| tokio::spawn(t.watch(stop.clone())));
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = slots.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (socket, _) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: back off, go on.
                    tracing::warn!(error = %e, "Could not accept an admin connection.");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let app = app.clone();
        let stop = stop.clone();
        let tls = tls.as_ref().map(|t| TlsAcceptor::from(t.current()));
        connections.spawn(async move {
            let _permit = permit;
            let deadline = tokio::time::Instant::now() + CONNECTION_LIFETIME;
            match tls {
                None => serve_connection(socket, app, stop, deadline).await,
                Some(acceptor) => {
                    match tokio::time::timeout(HEADER_READ_TIMEOUT, acceptor.accept(socket)).await {
                        Ok(Ok(stream)) => serve_connection(stream, app, stop, deadline).await,
                        // A client that is not speaking TLS, or a failed
                        // handshake: nothing to answer.
                        Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed."),
                        Err(_) => tracing::debug!("TLS handshake timed out."),
                    }
                }
            }
        });
        // Reap finished connections as we go.
        while connections.try_join_next().is_some() {}
    }
    stop.cancel();
    let drained = tokio::time::timeout(SHUTDOWN_GRACE + Duration::from_millis(500), async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        connections.abort_all();
    }
    if let Some(watcher) = watcher {
        // Stopped with `stop`; at most one poll (two small file reads) away.
        let _ = watcher.await;
    }
    Ok(())
}

/// Serves one HTTP/1.1 connection until it ends, `deadline` passes, or
/// `stop` asks it to finish (then it gets [`SHUTDOWN_GRACE`]).
async fn serve_connection<I>(
    io: I,
    app: Router,
    stop: CancellationToken,
    deadline: tokio::time::Instant,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        app.clone().call(request)
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        () = tokio::time::sleep_until(deadline) => {}
        () = stop.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(SHUTDOWN_GRACE, conn.as_mut()).await;
        }
    }
}

/// Lets a request through when no auth is configured, when it asks for a
/// probe ([`auth::OPEN_PATHS`]), or when its credentials pass; else 401
/// with a Basic challenge.
async fn authorize(State(s): State<AdminState>, request: Request, next: Next) -> Response {
    if let Some(auth) = &s.auth
        && !auth::OPEN_PATHS.contains(&request.uri().path())
        && let Some(refused) = challenge(auth, request.headers()).await
    {
        return refused;
    }
    next.run(request).await
}

/// `None` when the request's credentials pass `auth`, else the 401 with a
/// Basic challenge to answer (the daemon's admin server and the bridge's
/// `/metrics` alike).
pub async fn challenge(auth: &BasicAuth, headers: &HeaderMap) -> Option<Response> {
    let header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if auth.allows(header).await {
        return None;
    }
    Some(
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Basic realm=\"valuepulse\"")],
            "Unauthorized\n",
        )
            .into_response(),
    )
}

/// The value pulse page of the latest snapshot (see [`page`]): the same
/// report `/metrics` serves, as HTML.
async fn landing(State(s): State<AdminState>) -> Response {
    let ready = s.progress.readiness().is_ok();
    let snapshot = s.snapshots.current(ready).await;
    let body = if snapshot.page.is_empty() {
        bytes::Bytes::from_static(page::STARTING.as_bytes())
    } else {
        snapshot.page.clone()
    };
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
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

/// What `/pulse` answers in (`format=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PulseFormat {
    /// The page (default).
    Html,
    /// The model, schema `valuepulse.pulse/v1`.
    Json,
    /// Markdown.
    Markdown,
}

impl PulseFormat {
    /// The value of `format=`; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "html" => Some(Self::Html),
            "json" => Some(Self::Json),
            "markdown" | "md" => Some(Self::Markdown),
            _ => None,
        }
    }
}

/// `team` and `format` of a `/pulse` query (an empty `team` is the
/// organisation), or why the query is refused (answered 400).
fn pulse_query(query: Option<&str>) -> Result<(Option<String>, PulseFormat), String> {
    let (mut team, mut format) = (None, PulseFormat::Html);
    for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match &*k {
            "team" => team = (!v.is_empty()).then(|| v.into_owned()),
            "format" => {
                format = PulseFormat::parse(&v)
                    .ok_or_else(|| format!("unknown format {v:?}: html, json or markdown\n"))?;
            }
            _ => {}
        }
    }
    Ok((team, format))
}

/// The pulse of `team` (the organisation without one) and the teams, at
/// the clock's now, computed on a blocking thread.
async fn compute_pulse(s: &AdminState, team: Option<String>) -> Option<(Option<Pulse>, Teams)> {
    let source = s.pulse.clone();
    // Held by the computation itself: a request that times out while it
    // runs does not let the next one start a second.
    let turn = source.gate.clone().acquire_owned().await.ok()?;
    let now = (s.clock)();
    tokio::task::spawn_blocking(move || {
        let _turn = turn;
        let history = source
            .prometheus
            .as_ref()
            .map_or(History::Off, |(url, client)| {
                History::fetch(client, url.expose(), now)
            });
        with_pulses(&source.sources, now, source.settings, &history, |cx| {
            (cx.pulse(team.as_deref()), cx.teams())
        })
    })
    .await
    .ok()
}

/// `GET /pulse?team=&format=`: the Weekly Value Pulse of a team (or the
/// organisation) as a page, JSON or markdown. An unknown team gets 404 with
/// the list of teams, a malformed `format` 400.
async fn pulse(State(s): State<AdminState>, request: Request) -> Response {
    let (team, format) = match pulse_query(request.uri().query()) {
        Ok(q) => q,
        Err(why) => return (StatusCode::BAD_REQUEST, why).into_response(),
    };
    let Some((found, teams)) = compute_pulse(&s, team.clone()).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "pulse failed\n").into_response();
    };
    let Some(p) = found else {
        let body = serde_json::json!({
            "error": format!("unknown team {:?}", team.unwrap_or_default()),
            "teams": teams.teams,
        });
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response();
    };
    let (content_type, body) = match format {
        PulseFormat::Html => ("text/html; charset=utf-8", pulse_view::html(&p, &teams)),
        PulseFormat::Markdown => ("text/markdown; charset=utf-8", pulse_view::markdown(&p)),
        PulseFormat::Json => (
            "application/json",
            serde_json::to_string(&p).expect("a pulse always serializes"),
        ),
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

/// `GET /pulse/teams`: the teams a pulse can be asked for, as JSON.
async fn pulse_teams(State(s): State<AdminState>) -> Response {
    match compute_teams(&s).await {
        Some(teams) => (
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::to_string(&teams).expect("teams always serialize"),
        )
            .into_response(),
        None => (StatusCode::INTERNAL_SERVER_ERROR, "pulse failed\n").into_response(),
    }
}

async fn compute_teams(s: &AdminState) -> Option<Teams> {
    compute_pulse(s, None).await.map(|(_, teams)| teams)
}

#[cfg(test)]
mod tests;
