//! Every valuepulse metric is encoded here, from one [`Reports`], into
//! Prometheus metric families: a pure encoder that computes no figure. The
//! background reporter ([`crate::telemetry::snapshot`]) calls [`families`]
//! and encodes the result once; scrapes serve that snapshot. Nothing
//! updates a gauge per event.

use std::time::Duration;

use prometheus::proto::{self, LabelPair, MetricFamily, MetricType};

use super::names::{self, Kind, MetricDef};
use crate::domain::adoption::AdoptionReport;
use crate::domain::dora::Attribution;
use crate::domain::event::InvalidReason;
use crate::domain::quantiles::{Quantiles, RatioQuantiles};
use crate::domain::{DeployStatus, Millis, Outcome, Stream, Windows};
use crate::ingest::progress::Recreation;
use crate::report::{Health, Reports};

/// What the previous report cost, rendered into the next one.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReportCost {
    /// Wall time of the previous computation and encoding.
    pub duration: Duration,
}

/// Every metric family of `r`, sorted by name, each family's series sorted
/// by label values (as a Prometheus registry would gather them).
/// `cost` is what the previous report took.
pub fn families(r: &Reports<'_>, cost: ReportCost) -> Vec<MetricFamily> {
    let mut families = dora_families(r);
    families.extend(adoption_families(&r.adoption, r.windows));
    families.extend(value_stream_families(r));
    families.extend(health_families(&r.health, r.now, cost));
    families.push(label_overflow(r));
    families.push(window_complete(r));
    let mut out: Vec<MetricFamily> = families
        .into_iter()
        .filter(|f| !f.metrics.is_empty())
        .map(Family::finish)
        .collect();
    out.extend(r.health.process.iter().cloned());
    out.sort_by(|a, b| a.name().cmp(b.name()));
    for mf in &mut out {
        mf.mut_metric().sort_by(|m1, m2| {
            let (a, b) = (m1.get_label(), m2.get_label());
            a.len().cmp(&b.len()).then_with(|| {
                a.iter()
                    .zip(b)
                    .map(|(x, y)| x.value().cmp(y.value()))
                    .find(|o| o.is_ne())
                    .unwrap_or(std::cmp::Ordering::Equal)
            })
        });
    }
    out
}

/// Adds `valuepulse_tls_reloads_total` of `(outcome, reloads)` pairs (the
/// admin server's certificate reloads, or the bridge's) to `families`,
/// which are sorted by name, where a registry would put it.
pub fn insert_tls_reloads(families: &mut Vec<MetricFamily>, by_outcome: &[(&str, u64)]) {
    let mut reloads = Family::new(names::TLS_RELOADS);
    for (outcome, n) in by_outcome {
        reloads.counter(&[outcome], *n as f64);
    }
    let at = families.partition_point(|f| f.name() < names::TLS_RELOADS.name);
    families.insert(at, reloads.finish());
}

/// Builds one family.
pub(crate) struct Family {
    def: MetricDef,
    metrics: Vec<proto::Metric>,
}

impl Family {
    pub(crate) fn new(def: MetricDef) -> Self {
        Self {
            def,
            metrics: Vec::new(),
        }
    }

    fn labels(&self, values: &[&str]) -> Vec<LabelPair> {
        debug_assert_eq!(values.len(), self.def.labels.len(), "{}", self.def.name);
        self.def
            .labels
            .iter()
            .zip(values)
            .map(|(n, v)| {
                let mut l = LabelPair::default();
                l.set_name((*n).to_owned());
                l.set_value((*v).to_owned());
                l
            })
            .collect()
    }

    pub(crate) fn gauge(&mut self, values: &[&str], v: f64) {
        let mut g = proto::Gauge::default();
        g.set_value(v);
        let mut m = proto::Metric::from_label(self.labels(values));
        m.set_gauge(g);
        self.metrics.push(m);
    }

    pub(crate) fn counter(&mut self, values: &[&str], v: f64) {
        let mut c = proto::Counter::default();
        c.set_value(v);
        let mut m = proto::Metric::from_label(self.labels(values));
        m.set_counter(c);
        self.metrics.push(m);
    }

    pub(crate) fn summary(&mut self, values: &[&str], q: &Quantiles) {
        self.push_summary(values, q.count, q.sum_seconds, &q.values);
    }

    /// A summary of ratios (no unit): per-item flow efficiency.
    pub(crate) fn ratio_summary(&mut self, values: &[&str], q: &RatioQuantiles) {
        self.push_summary(values, q.count, q.sum, &q.values);
    }

    /// One summary sample: count, sum and `(quantile, value)` pairs.
    fn push_summary(&mut self, values: &[&str], count: u64, sum: f64, quantiles: &[(f64, f64)]) {
        let mut s = proto::Summary::default();
        s.set_sample_count(count);
        s.set_sample_sum(sum);
        s.set_quantile(
            quantiles
                .iter()
                .map(|&(quantile, value)| {
                    let mut pq = proto::Quantile::default();
                    pq.set_quantile(quantile);
                    pq.set_value(value);
                    pq
                })
                .collect(),
        );
        let mut m = proto::Metric::from_label(self.labels(values));
        m.set_summary(s);
        self.metrics.push(m);
    }

    pub(crate) fn finish(self) -> MetricFamily {
        let mut mf = MetricFamily::default();
        mf.set_name(self.def.name.into());
        mf.set_help(self.def.help.into());
        mf.set_field_type(match self.def.kind {
            Kind::Gauge => MetricType::GAUGE,
            Kind::Counter => MetricType::COUNTER,
            Kind::Summary => MetricType::SUMMARY,
            Kind::Histogram => MetricType::HISTOGRAM,
        });
        mf.set_metric(self.metrics);
        mf
    }
}

/// DORA series.
fn dora_families(r: &Reports<'_>) -> Vec<Family> {
    let mut deployments = Family::new(names::DEPLOYMENTS);
    let mut attempts = Family::new(names::DEPLOY_ATTEMPTS);
    let mut assessed = Family::new(names::DEPLOYMENTS_ASSESSED);
    let mut failed = Family::new(names::DEPLOYMENTS_FAILED);
    let mut cfr = Family::new(names::CHANGE_FAILURE_RATIO);
    let mut rework = Family::new(names::DEPLOYMENTS_REWORK);
    let mut rework_ratio = Family::new(names::DEPLOYMENT_REWORK_RATIO);
    let mut lead = Family::new(names::LEAD_TIME);
    let mut restore = Family::new(names::TIME_TO_RESTORE);
    let mut recovery = Family::new(names::FAILED_DEPLOYMENT_RECOVERY);
    let mut open = Family::new(names::INCIDENTS_OPEN);
    let mut unattributed = Family::new(names::INCIDENTS_UNATTRIBUTED);
    let mut tier = Family::new(names::DORA_TIER);

    let windows = r.windows;
    let longest = &windows.longest_window().label;
    let report = &r.dora;
    for k in &report.series {
        let key = [k.service, k.team, k.environment];
        for (w, f) in windows.iter().zip(&k.windows) {
            let l = [k.service, k.team, k.environment, w.label.as_str()];
            if k.has_deploys {
                deployments.gauge(&l, f.deployments as f64);
                assessed.gauge(&l, f.assessed as f64);
                rework.gauge(&l, f.rework as f64);
                for status in DeployStatus::ALL {
                    attempts.gauge(
                        &[k.service, k.team, k.environment, &w.label, status.as_str()],
                        f.attempts[status.index()] as f64,
                    );
                }
            }
            for mode in Attribution::ALL {
                let la = [k.service, k.team, k.environment, &w.label, mode.as_str()];
                if k.has_deploys {
                    failed.gauge(&la, f.failed(mode) as f64);
                }
                if let Some(r) = f.change_failure_ratio(mode) {
                    cfr.gauge(&la, r);
                }
            }
            if let Some(r) = f.rework_ratio() {
                rework_ratio.gauge(&l, r);
            }
            if let Some(q) = &f.lead_time {
                lead.summary(&l, q);
            }
            if let Some(q) = &f.time_to_restore {
                restore.summary(&l, q);
            }
            if let Some(q) = &f.recovery {
                recovery.summary(&l, q);
            }
            if k.has_opened_incidents {
                unattributed.gauge(&l, f.unattributed as f64);
            }
        }
        if let Some(n) = k.incidents_open {
            open.gauge(&key, n as f64);
        }
        for (metric, t) in &k.tiers {
            tier.gauge(
                &[k.service, k.team, k.environment, longest, metric.as_str()],
                f64::from(*t as u8),
            );
        }
    }
    vec![
        deployments,
        attempts,
        assessed,
        failed,
        cfr,
        rework,
        rework_ratio,
        lead,
        restore,
        recovery,
        open,
        unattributed,
        tier,
    ]
}

/// Adoption series.
fn adoption_families(report: &AdoptionReport<'_>, windows: &Windows) -> Vec<Family> {
    let mut users = Family::new(names::FEATURE_USERS);
    let mut events = Family::new(names::FEATURE_USAGE_EVENTS);
    let mut ratio = Family::new(names::FEATURE_ADOPTION_RATIO);
    let mut active = Family::new(names::ACTIVE_USERS);
    let mut shipped = Family::new(names::FEATURES_SHIPPED);
    let mut used = Family::new(names::FEATURES_USED);
    let mut realization = Family::new(names::VALUE_REALIZATION_RATIO);
    let mut first_use = Family::new(names::FEATURE_TIME_TO_FIRST_USE);
    let mut cycle = Family::new(names::VALUE_FEEDBACK_CYCLE);
    let mut since = Family::new(names::FEATURE_USERS_SINCE_SHIP);
    let mut shipped_at = Family::new(names::FEATURE_FIRST_SHIPPED);
    for f in &report.features {
        let (service, team) = (f.service.unwrap_or(""), f.team.unwrap_or(""));
        for (w, window) in windows.iter().enumerate() {
            let l = [f.feature, service, team, window.label.as_str()];
            users.gauge(&l, f.users[w] as f64);
            events.gauge(&l, f.events[w] as f64);
            if let Some(r) = f.adoption_ratio[w] {
                ratio.gauge(&l, r);
            }
        }
    }
    for (w, window) in windows.iter().enumerate() {
        let l = [window.label.as_str()];
        active.gauge(&l, report.active_users[w] as f64);
        shipped.gauge(&l, report.shipped[w] as f64);
        used.gauge(&l, report.used[w] as f64);
        if let Some(v) = report.realization(w) {
            realization.gauge(&l, v);
        }
        if let Some(q) = &report.feedback_cycle[w] {
            cycle.summary(&l, q);
        }
    }
    for s in &report.shipped_features {
        let l = [s.feature, s.service, s.team];
        since.gauge(&l, s.users_since_ship as f64);
        shipped_at.gauge(&l, s.shipped_at as f64 / 1000.0);
        if let Some(t) = s.time_to_first_use {
            first_use.gauge(&l, t as f64 / 1000.0);
        }
    }
    vec![
        users,
        events,
        ratio,
        active,
        shipped,
        used,
        realization,
        first_use,
        cycle,
        since,
        shipped_at,
    ]
}

/// Ingest counters, readiness, replay and lag, state size, report cost,
/// build info.
fn health_families(h: &Health<'_>, now: Millis, cost: ReportCost) -> Vec<Family> {
    let mut events = Family::new(names::EVENTS);
    let mut invalid = Family::new(names::EVENTS_INVALID);
    for stream in Stream::ALL {
        let topic = h.topics[stream.index()].as_str();
        for o in Outcome::ALL {
            events.counter(&[topic, o.as_str()], h.events(stream, o) as f64);
        }
        for r in InvalidReason::ALL {
            invalid.counter(&[topic, r.as_str()], h.invalid(stream, r) as f64);
        }
    }
    let mut ready = Family::new(names::READY);
    ready.gauge(&[], if h.ready { 1.0 } else { 0.0 });
    let mut remaining = Family::new(names::REPLAY_REMAINING);
    for (topic, left) in h.topics.iter().zip(h.replay_remaining) {
        remaining.gauge(&[topic], left as f64);
    }
    let mut lag = Family::new(names::CONSUMER_LAG);
    for (topic, partition, n) in &h.lag {
        lag.gauge(&[topic, &partition.to_string()], *n as f64);
    }
    let mut build = Family::new(names::BUILD_INFO);
    build.gauge(
        &[
            env!("CARGO_PKG_VERSION"),
            env!("VALUEPULSE_REVISION"),
            env!("VALUEPULSE_RUSTC_VERSION"),
        ],
        1.0,
    );
    let mut state = Family::new(names::STATE_BYTES);
    for (component, bytes) in &h.state_bytes {
        state.gauge(&[component], *bytes as f64);
    }
    let mut budget = Family::new(names::STATE_BUDGET_BYTES);
    budget.gauge(&[], h.budget_limit as f64);
    let mut level = Family::new(names::STATE_BUDGET_LEVEL);
    level.gauge(&[], f64::from(h.budget_level as u8));
    let mut duration = Family::new(names::REPORT_DURATION);
    duration.gauge(&[], cost.duration.as_secs_f64());
    let mut at = Family::new(names::REPORT_TIMESTAMP);
    at.gauge(&[], now as f64 / 1000.0);
    let mut recreated = Family::new(names::USAGE_CONSUMER_RECREATIONS);
    for (why, n) in Recreation::ALL.iter().zip(h.recreations) {
        recreated.counter(&[why.as_str()], n as f64);
    }
    vec![
        events, invalid, ready, remaining, lag, build, state, budget, level, duration, at,
        recreated,
    ]
}

/// Work items, satisfaction, the value delivery score, the value-stream
/// bands, unpaired incident resolutions and the tier bands in force.
fn value_stream_families(r: &Reports<'_>) -> Vec<Family> {
    let mut finished = Family::new(names::WORK_ITEMS_FINISHED);
    let mut time = Family::new(names::WORK_ITEM_TIME);
    let mut efficiency = Family::new(names::FLOW_EFFICIENCY);
    let mut item_efficiency = Family::new(names::WORK_ITEM_FLOW_EFFICIENCY);
    let mut unmapped = Family::new(names::WORK_ITEM_UNMAPPED);
    let mut flow_tier = Family::new(names::FLOW_EFFICIENCY_TIER);
    let mut score = Family::new(names::SATISFACTION_SCORE);
    let mut responses = Family::new(names::SATISFACTION_RESPONSES);
    let mut promoter = Family::new(names::NET_PROMOTER);
    let mut unattributed = Family::new(names::SATISFACTION_UNATTRIBUTED);
    let mut delivery = Family::new(names::VALUE_DELIVERY_SCORE);
    let mut stream_tier = Family::new(names::VALUE_STREAM_TIER);
    let mut unpaired = Family::new(names::INCIDENTS_UNPAIRED);
    let mut bands = Family::new(names::TIER_BANDS_INFO);

    let windows = r.windows;
    let longest = windows.longest_window().label.as_str();
    for k in &r.flow.series {
        for (w, f) in windows.iter().zip(&k.windows) {
            let l = [k.service, k.team, w.label.as_str()];
            finished.gauge(&l, f.items_finished as f64);
            time.gauge(&[k.service, k.team, &w.label, "active"], f.active_seconds);
            time.gauge(&[k.service, k.team, &w.label, "waiting"], f.waiting_seconds);
            if let Some(e) = f.efficiency {
                efficiency.gauge(&l, e);
            }
            if let Some(q) = &f.item_efficiency {
                item_efficiency.ratio_summary(&l, q);
            }
        }
        if let Some(t) = k.tier {
            flow_tier.gauge(&[k.service, k.team, longest], f64::from(t as u8));
        }
    }
    unmapped.gauge(&[], r.flow.unmapped_transitions as f64);
    for k in &r.satisfaction.series {
        for (w, f) in windows.iter().zip(&k.windows) {
            let l = [k.service, k.team, w.label.as_str()];
            responses.gauge(
                &[k.service, k.team, &w.label, "csat"],
                f.csat_responses as f64,
            );
            responses.gauge(
                &[k.service, k.team, &w.label, "nps"],
                f.nps_responses as f64,
            );
            if let Some(v) = f.score {
                score.gauge(&l, v);
            }
            if let Some(v) = f.net_promoter {
                promoter.gauge(&l, v);
            }
        }
    }
    for (w, n) in windows.iter().zip(&r.satisfaction.unattributed) {
        unattributed.gauge(&[&w.label], *n as f64);
    }
    for v in &r.value {
        for (w, v2) in windows.iter().zip(&v.windows) {
            if let Some(x) = v2 {
                delivery.gauge(&[v.service, v.team, v.environment, &w.label], *x);
            }
        }
    }
    for (metric, t) in &r.value_stream {
        stream_tier.gauge(&[longest, metric.as_str()], f64::from(*t as u8));
    }
    for k in &r.dora.series {
        if let Some(n) = k.incidents_unpaired {
            unpaired.gauge(&[k.service, k.team, k.environment], n as f64);
        }
    }
    bands.gauge(&[r.dora.bands], 1.0);
    vec![
        finished,
        time,
        efficiency,
        item_efficiency,
        unmapped,
        flow_tier,
        score,
        responses,
        promoter,
        unattributed,
        delivery,
        stream_tier,
        unpaired,
        bands,
    ]
}

/// Label values capped to `__other__`, by label.
fn label_overflow(r: &Reports<'_>) -> Family {
    let mut overflow = Family::new(names::LABEL_OVERFLOW);
    for (label, n) in r.overflow.by_label() {
        overflow.counter(&[label], n as f64);
    }
    overflow
}

/// Whether each window of each topic holds all of its history here.
fn window_complete(r: &Reports<'_>) -> Family {
    let mut complete = Family::new(names::WINDOW_COMPLETE);
    for (topic, holds) in r.health.topics.iter().zip(&r.health.window_complete) {
        for (w, holds) in r.windows.iter().zip(holds) {
            complete.gauge(&[topic, &w.label], if *holds { 1.0 } else { 0.0 });
        }
    }
    complete
}
