//! The bridge's HTTP side: `POST /hooks/<source>` (verify, map, produce),
//! `POST /events/<topic>` (native v1 or CDEvents, validated as `emit`
//! validates), `/livez`, `/readyz` and `/metrics`.
//!
//! Every answer is counted in `valuepulse_bridge_deliveries_total`:
//!
//! | answer | when |
//! |---|---|
//! | 200 | every event was acknowledged by Kafka (`acks=all`) |
//! | 202 | authentic, but maps to nothing (`ignored`): PagerDuty drops a hook on any 4xx and GitLab disables hooks that keep failing |
//! | 400 | not the payload the source sends (`malformed`) |
//! | 401 | a bad or missing signature or token (`unauthorized`) |
//! | 404 | the source is not enabled (`disabled`) |
//! | 413 | over `bridge.max_body_bytes` (`too_large`) |
//! | 503 + `Retry-After` | Kafka did not acknowledge within the source's budget (`unavailable`): the source redelivers |
//!
//! Refusals are counted every time and logged at most
//! [`LOG_LINES_PER_SECOND`](crate::ingest::outcome::LOG_LINES_PER_SECOND) lines a second per kind (the daemon's
//! [`LogBudget`]): a flood of bad signatures cannot flood the log, and the
//! next line says how many were `suppressed`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::deliver::{Kafka, Record};
use super::map::{Mapped, Out};
use super::metrics::{Metrics, Outcome};
use super::sources::{self, Source};
use super::verify::Refused;
use crate::config::Config;
use crate::domain::{Event, Stream};
use crate::http::auth::BasicAuth;
use crate::ingest::decode::{DecodeError, Headers, decode};
use crate::ingest::outcome::LogBudget;

static UNAUTHORIZED_LOGS: LogBudget = LogBudget::new();
static MALFORMED_LOGS: LogBudget = LogBudget::new();
static BODY_LOGS: LogBudget = LogBudget::new();
static UNAVAILABLE_LOGS: LogBudget = LogBudget::new();

/// What every handler reads.
#[derive(Clone)]
pub struct BridgeState {
    /// The validated configuration (sources, rules, topics).
    pub config: Arc<Config>,
    /// The producer and Kafka's health.
    pub kafka: Kafka,
    /// The bridge's metrics.
    pub metrics: Metrics,
    /// Basic auth for `/metrics`, when the web config names users.
    pub auth: Option<Arc<BasicAuth>>,
    /// Source of "now" in Unix seconds (Standard Webhooks' tolerance).
    pub now_secs: fn() -> i64,
}

/// The router.
pub fn router(state: BridgeState) -> Router {
    let limit = state.config.bridge.max_body_bytes;
    Router::new()
        .route("/hooks/{source}", post(hook))
        .route("/events/{topic}", post(events))
        .route("/livez", get(livez))
        .route("/readyz", get(readyz))
        .route(
            "/metrics",
            get(metrics).layer(middleware::from_fn_with_state(state.clone(), authorize)),
        )
        .layer(DefaultBodyLimit::max(limit))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            crate::http::REQUEST_TIMEOUT,
        ))
        .with_state(state)
}

/// How long Kafka may take to acknowledge before the source is told to
/// come back: within each source's own delivery timeout (PagerDuty waits
/// 5 s and Linear asks for an answer within about 5 s; GitHub and GitLab
/// wait 10 s, the others as long or longer), less a margin for the
/// network.
pub fn budget(source: Source) -> Duration {
    match source {
        Source::PagerDuty | Source::Linear => Duration::from_secs(4),
        Source::Github
        | Source::Gitlab
        | Source::Argocd
        | Source::Flux
        | Source::Jira
        | Source::Events => Duration::from_secs(8),
    }
}

/// `Retry-After` of a 503, in seconds.
const RETRY_AFTER: &str = "30";

/// `POST /hooks/<source>`.
async fn hook(
    State(s): State<BridgeState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let started = Instant::now();
    let Some(source) = Source::from_path(&name).filter(|s| *s != Source::Events) else {
        return (StatusCode::NOT_FOUND, "no such source\n").into_response();
    };
    let label = source.as_str();
    let body = match body {
        Ok(b) => b,
        Err(e) => return body_refused(&s, label, &e),
    };
    if !sources::enabled(&s.config.bridge, source) {
        s.metrics.delivered(label, "unverified", Outcome::Disabled);
        return (
            StatusCode::NOT_FOUND,
            format!("source {label} is not enabled: give bridge.{label}.secrets\n"),
        )
            .into_response();
    }
    if let Err(why) = sources::verify(&s.config.bridge, source, &headers, &body, (s.now_secs)()) {
        return unauthorized(&s, label, why);
    }
    let mapped = match sources::map(&s.config.bridge, source, &headers, &body) {
        Ok(m) => m,
        Err(e) => {
            if let Some(suppressed) = MALFORMED_LOGS.take() {
                tracing::warn!(source = label, reason = %e, suppressed, "Refused a malformed delivery.");
            }
            s.metrics.delivered(label, "unknown", Outcome::Malformed);
            return (StatusCode::BAD_REQUEST, format!("malformed: {e}\n")).into_response();
        }
    };
    if mapped.truncated_push {
        s.metrics.truncated_push(label);
        tracing::info!(
            source = label,
            "A push listed fewer commits than it carried; lead time misses the rest."
        );
    }
    produce(&s, source, &mapped, started).await
}

/// Produces what a delivery mapped to and answers accordingly.
async fn produce(s: &BridgeState, source: Source, mapped: &Mapped, started: Instant) -> Response {
    let label = source.as_str();
    if mapped.out.is_empty() {
        s.metrics.delivered(label, mapped.event, Outcome::Ignored);
        return (StatusCode::ACCEPTED, "ignored: maps to no event\n").into_response();
    }
    let topics = &s.config.topics;
    let records: Vec<Record> = mapped
        .out
        .iter()
        .map(|o| Record {
            topic: match o {
                Out::Deploy(_) => topics.deploys.clone(),
                Out::Incident(_) => topics.incidents.clone(),
                Out::Change(_) => topics.changes.clone(),
                Out::WorkItem(_) => topics.work_items.clone(),
            },
            key: o.key().to_owned(),
            value: o.to_json(),
        })
        .collect();
    send(s, label, mapped.event, &records, budget(source), started).await
}

/// Sends `records`; 200 once all are acknowledged, 503 when not in `budget`.
async fn send(
    s: &BridgeState,
    label: &str,
    event: &str,
    records: &[Record],
    budget: Duration,
    started: Instant,
) -> Response {
    match s.kafka.send(records, budget).await {
        Ok(()) => {
            s.metrics.acked(label, started.elapsed().as_secs_f64());
            s.metrics.delivered(label, event, Outcome::Produced);
            (StatusCode::OK, format!("ok: {} event(s)\n", records.len())).into_response()
        }
        Err(e) => {
            if let Some(suppressed) = UNAVAILABLE_LOGS.take() {
                tracing::warn!(source = label, event, error = %e, suppressed, "Kafka did not acknowledge; answered 503.");
            }
            s.metrics.delivered(label, event, Outcome::Unavailable);
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, RETRY_AFTER)],
                "Kafka is unavailable; deliver again later\n",
            )
                .into_response()
        }
    }
}

/// 401, counted and logged (never with the header's value).
fn unauthorized(s: &BridgeState, label: &str, why: Refused) -> Response {
    if let Some(suppressed) = UNAUTHORIZED_LOGS.take() {
        tracing::warn!(source = label, reason = %why, suppressed, "Refused an unauthenticated delivery.");
    }
    s.metrics
        .delivered(label, "unverified", Outcome::Unauthorized);
    (StatusCode::UNAUTHORIZED, format!("unauthorized: {why}\n")).into_response()
}

/// 413 for a body over the limit, 400 for one that could not be read.
fn body_refused(
    s: &BridgeState,
    label: &str,
    e: &axum::extract::rejection::BytesRejection,
) -> Response {
    let status = e.status();
    let outcome = if status == StatusCode::PAYLOAD_TOO_LARGE {
        Outcome::TooLarge
    } else {
        Outcome::Malformed
    };
    s.metrics.delivered(label, "unverified", outcome);
    if let Some(suppressed) = BODY_LOGS.take() {
        tracing::warn!(
            source = label,
            status = status.as_u16(),
            suppressed,
            "Refused a request body."
        );
    }
    (status, format!("{}\n", e.body_text())).into_response()
}

/// `POST /events/<topic>`: one native v1 event or a CDEvent in structured
/// mode, checked by the daemon's own decoder, produced as it came.
async fn events(
    State(s): State<BridgeState>,
    Path(topic): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let started = Instant::now();
    let label = Source::Events.as_str();
    let body = match body {
        Ok(b) => b,
        Err(e) => return body_refused(&s, label, &e),
    };
    if !sources::enabled(&s.config.bridge, Source::Events) {
        s.metrics.delivered(label, "unverified", Outcome::Disabled);
        return (
            StatusCode::NOT_FOUND,
            "POST /events is not enabled: give bridge.events.secrets\n",
        )
            .into_response();
    }
    if let Err(why) = sources::verify(&s.config.bridge, Source::Events, &headers, &body, 0) {
        return unauthorized(&s, label, why);
    }
    let Some(stream) = Stream::ALL
        .into_iter()
        .find(|st| s.config.topics.of(*st) == topic)
    else {
        s.metrics.delivered(label, "unknown", Outcome::Malformed);
        return (
            StatusCode::NOT_FOUND,
            "no such topic: use one of the daemon's topics\n",
        )
            .into_response();
    };
    let event = stream_label(stream);
    if body.len() > s.config.limits.max_event_bytes {
        s.metrics.delivered(label, event, Outcome::TooLarge);
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            "larger than limits.max_event_bytes: the daemon would refuse it\n",
        )
            .into_response();
    }
    let key = match decode(stream, &body, &Headers::default()) {
        Ok(e) => key_of(&e),
        Err(DecodeError::Invalid(reason)) => {
            s.metrics.delivered(label, event, Outcome::Malformed);
            return (
                StatusCode::BAD_REQUEST,
                format!(
                    "invalid: {} (the daemon would refuse it)\n",
                    reason.as_str()
                ),
            )
                .into_response();
        }
        Err(DecodeError::Unsupported) => {
            s.metrics.delivered(label, event, Outcome::Malformed);
            return (
                StatusCode::BAD_REQUEST,
                "unsupported: the daemon does not read this event type on this topic\n",
            )
                .into_response();
        }
    };
    let record = Record {
        topic: topic.clone(),
        key,
        value: body.to_vec(),
    };
    send(&s, label, event, &[record], budget(Source::Events), started).await
}

/// The `event` label of a `POST /events` request: its stream.
fn stream_label(stream: Stream) -> &'static str {
    match stream {
        Stream::Deploys => "deploy",
        Stream::Incidents => "incident",
        Stream::FeatureUsage => "usage",
        Stream::WorkItems => "work_item",
        Stream::Satisfaction => "satisfaction",
        Stream::Changes => "change",
    }
}

/// The record key the daemon's topics use: the service (work items: the
/// item; responses: service or feature; usage: the user).
fn key_of(e: &Event<'_>) -> String {
    match e {
        Event::Deploy(d) => d.service.to_string(),
        Event::Incident(i) => i.service.to_string(),
        Event::WorkItem(w) => w.id.to_string(),
        Event::Satisfaction(r) => r
            .service
            .as_deref()
            .or(r.feature.as_deref())
            .unwrap_or_default()
            .to_owned(),
        Event::Usage(u) => u.user.to_string(),
        Event::Push(c) => c.repository.to_string(),
    }
}

/// Always alive: the bridge holds no state that could wedge.
async fn livez() -> Response {
    (StatusCode::OK, "ok\n").into_response()
}

/// Ready while Kafka is reachable.
async fn readyz(State(s): State<BridgeState>) -> Response {
    if s.kafka.is_ready() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: Kafka is unreachable\n",
        )
            .into_response()
    }
}

/// The bridge's metrics.
async fn metrics(State(s): State<BridgeState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.metrics.encode(s.kafka.is_ready()),
    )
        .into_response()
}

/// Basic auth on `/metrics` when the web config names users.
async fn authorize(State(s): State<BridgeState>, request: Request, next: Next) -> Response {
    if let Some(auth) = &s.auth
        && let Some(refused) = crate::http::challenge(auth, request.headers()).await
    {
        return refused;
    }
    next.run(request).await
}
