//! `valuepulse bridge`: webhooks from the tools teams already run (GitHub,
//! GitLab, PagerDuty, Argo CD, Flux, Jira, Linear), and native v1 or CDEvents over plain HTTP, verified,
//! mapped to native v1 events and produced to the daemon's topics.
//!
//! Stateless: every delivery is verified on its raw bytes, mapped by a pure
//! function and answered 2xx only once Kafka acknowledged it (`acks=all`,
//! idempotent producer), so replicas behind one Service need nothing from
//! each other. Event ids are deterministic (a deployment's id, an
//! incident's id), so a redelivery is the daemon's `duplicate` and a later
//! status its `updated`.
//!
//! | module | job |
//! |---|---|
//! | [`verify`] | each source's signature scheme, on the raw bytes, in constant time |
//! | [`sources`] | which headers carry each source's signature and event, and who maps it |
//! | [`map`] | what a delivery becomes: native v1 events, the rules' lookups, forge timestamps |
//! | [`github`] | GitHub's `deployment_status`, `workflow_run` (deploys), `push` (changes) and labelled `issues` (incidents) as native v1 |
//! | [`gitlab`] | GitLab's Deployment, Push and Issue hooks (issues of type Incident or labelled) as native v1 |
//! | [`pagerduty`] | PagerDuty v3 `incident.triggered`, `.resolved` and `.reopened` as native v1 incidents |
//! | [`argocd`] | Argo CD notifications (the template shipped in `deploy/argocd/`) as native v1 deploys |
//! | [`flux`] | Flux notification-controller events (Kustomization, HelmRelease) as native v1 deploys |
//! | [`jira`] | Jira Cloud `jira:issue_updated` status changes as work items; matching issues as incidents |
//! | [`linear`] | Linear `Issue` state changes as work items |
//! | [`routes`] | the HTTP routes and their answers |
//! | [`deliver`] | the producer, the source's acknowledgement budget, Kafka's reachability |
//! | [`metrics`] | `valuepulse_bridge_*` |

pub mod argocd;
pub mod deliver;
pub mod flux;
pub mod github;
pub mod gitlab;
pub mod jira;
pub mod linear;
pub mod map;
pub mod metrics;
pub mod pagerduty;
pub mod routes;
pub mod sources;
pub mod verify;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::http::AdminState;
use crate::http::tls::ReloadingTls;

/// Runs the bridge until `shutdown` completes. `on_listen` receives the
/// bound address once the server listens (tests).
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send,
    on_listen: Option<oneshot::Sender<SocketAddr>>,
) -> anyhow::Result<()> {
    let config = Arc::new(config);
    for a in config.bridge.access() {
        if a.is_enabled() && a.insecure {
            tracing::warn!(
                source = a.key,
                "INSECURE: this source accepts deliveries without a signature or token; anyone who reaches the bridge can write events."
            );
        }
    }
    let enabled: Vec<&str> = sources::Source::ALL
        .into_iter()
        .filter(|s| sources::enabled(&config.bridge, *s))
        .map(sources::Source::as_str)
        .collect();
    if enabled.is_empty() {
        tracing::warn!(
            "No source is enabled: give bridge.<source>.secrets (github, gitlab, pagerduty, argocd, flux, jira, linear, events)."
        );
    }
    let kafka = deliver::Kafka::new(&config).context("creating the Kafka producer")?;
    let stop = CancellationToken::new();
    let probe = {
        let kafka = kafka.clone();
        let stop = stop.clone();
        tokio::task::spawn_blocking(move || {
            while !stop.is_cancelled() {
                kafka.probe();
                let mut waited = Duration::ZERO;
                while waited < deliver::PROBE_EVERY && !stop.is_cancelled() {
                    std::thread::sleep(Duration::from_millis(100));
                    waited += Duration::from_millis(100);
                }
            }
        })
    };
    let web = &config.bridge.web_config;
    let tls = web
        .tls
        .clone()
        .map(|t| Arc::new(ReloadingTls::new(t, "bridge.web_config")));
    let mut metrics = metrics::Metrics::new();
    if let Some(tls) = &tls {
        metrics.export_tls_reloads(tls.reloads());
    }
    let state = routes::BridgeState {
        config: config.clone(),
        kafka: kafka.clone(),
        metrics,
        auth: AdminState::auth_from(web),
        now_secs: || crate::clock::now_millis() / 1000,
    };
    let addr = config.bridge.listen;
    let listener = crate::http::listen(addr)
        .with_context(|| format!("cannot listen on {addr} (bridge.listen)"))?;
    let bound = listener.local_addr()?;
    tracing::info!(
        address = %bound,
        sources = ?enabled,
        tls = web.tls.is_some(),
        "Bridge serving /hooks/<source>, /events/<topic>, /livez, /readyz and /metrics."
    );
    let http_stop = CancellationToken::new();
    let http = tokio::spawn(crate::http::serve_router(
        listener,
        routes::router(state),
        tls,
        http_stop.clone().cancelled_owned(),
    ));
    if let Some(tx) = on_listen {
        let _ = tx.send(bound);
    }
    shutdown.await;
    tracing::info!("Shutting down the bridge: finishing open requests.");
    http_stop.cancel();
    match http.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "HTTP server ended with an error."),
        Err(e) => tracing::warn!(error = %e, "HTTP server task failed."),
    }
    stop.cancel();
    let _ = probe.await;
    kafka.flush(Duration::from_secs(5));
    tracing::info!("Bridge stopped.");
    Ok(())
}
