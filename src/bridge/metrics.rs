//! The bridge's own metrics (names and help in [`crate::views::names`]),
//! updated per delivery: the bridge keeps no state to report on, so a
//! scrape gathers these counters directly.

use std::sync::Arc;

use prometheus::{
    Encoder as _, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

use crate::telemetry::tls_reloads::TlsReloads;
use crate::views::metrics::insert_tls_reloads;
use crate::views::names::{
    BRIDGE_ACK_SECONDS, BRIDGE_DELIVERIES, BRIDGE_PUSH_TRUNCATED, BRIDGE_READY, MetricDef,
};

/// Buckets of the acknowledgement latency, in seconds: 1 ms to 10 s (the
/// longest budget).
const ACK_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How a delivery was answered: the `outcome` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx after Kafka acknowledged every event.
    Produced,
    /// 202: authentic, maps to nothing.
    Ignored,
    /// 401: bad or missing signature or token.
    Unauthorized,
    /// 400: not the payload the source sends.
    Malformed,
    /// 413: over `bridge.max_body_bytes`.
    TooLarge,
    /// 503: Kafka did not acknowledge within the source's budget.
    Unavailable,
    /// 404: the source is not enabled.
    Disabled,
}

impl Outcome {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Produced => "produced",
            Outcome::Ignored => "ignored",
            Outcome::Unauthorized => "unauthorized",
            Outcome::Malformed => "malformed",
            Outcome::TooLarge => "too_large",
            Outcome::Unavailable => "unavailable",
            Outcome::Disabled => "disabled",
        }
    }
}

/// The registry and its metrics.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    deliveries: IntCounterVec,
    ack: HistogramVec,
    truncated: IntCounterVec,
    ready: IntGauge,
    /// The bridge's certificate reloads, when it serves TLS (counted by
    /// its certificate watcher, not by this registry).
    tls_reloads: Option<Arc<TlsReloads>>,
}

fn opts(def: MetricDef) -> Opts {
    Opts::new(def.name, def.help)
}

impl Metrics {
    /// A fresh registry holding the bridge's metrics and the process's.
    pub fn new() -> Self {
        let registry = Registry::new();
        let deliveries =
            IntCounterVec::new(opts(BRIDGE_DELIVERIES), BRIDGE_DELIVERIES.labels).expect("valid");
        let ack = HistogramVec::new(
            HistogramOpts::new(BRIDGE_ACK_SECONDS.name, BRIDGE_ACK_SECONDS.help)
                .buckets(ACK_BUCKETS.to_vec()),
            BRIDGE_ACK_SECONDS.labels,
        )
        .expect("valid");
        let truncated =
            IntCounterVec::new(opts(BRIDGE_PUSH_TRUNCATED), BRIDGE_PUSH_TRUNCATED.labels)
                .expect("valid");
        let ready = IntGauge::with_opts(opts(BRIDGE_READY)).expect("valid");
        for c in [
            Box::new(deliveries.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(ack.clone()),
            Box::new(truncated.clone()),
            Box::new(ready.clone()),
        ] {
            registry.register(c).expect("names are unique");
        }
        #[cfg(target_os = "linux")]
        {
            let _ = registry.register(Box::new(
                prometheus::process_collector::ProcessCollector::for_self(),
            ));
        }
        Self {
            registry,
            deliveries,
            ack,
            truncated,
            ready,
            tls_reloads: None,
        }
    }

    /// Exports `reloads` (`valuepulse_tls_reloads_total`) with the rest.
    pub fn export_tls_reloads(&mut self, reloads: Arc<TlsReloads>) {
        self.tls_reloads = Some(reloads);
    }

    /// Counts one delivery.
    pub fn delivered(&self, source: &str, event: &str, outcome: Outcome) {
        self.deliveries
            .with_label_values(&[source, event, outcome.as_str()])
            .inc();
    }

    /// Records one acknowledgement latency.
    pub fn acked(&self, source: &str, seconds: f64) {
        self.ack.with_label_values(&[source]).observe(seconds);
    }

    /// Counts one push that listed fewer commits than it carried.
    pub fn truncated_push(&self, source: &str) {
        self.truncated.with_label_values(&[source]).inc();
    }

    /// The text exposition of every metric, with `ready` as it is now.
    pub fn encode(&self, ready: bool) -> Vec<u8> {
        self.ready.set(i64::from(ready));
        let mut out = Vec::with_capacity(8 * 1024);
        let mut families = self.registry.gather();
        if let Some(reloads) = &self.tls_reloads {
            insert_tls_reloads(&mut families, &reloads.by_outcome());
        }
        if let Err(e) = TextEncoder::new().encode(&families, &mut out) {
            tracing::error!(error = %e, "Could not encode the bridge's metrics.");
        }
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
