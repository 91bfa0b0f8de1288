//! Every valuepulse metric is rendered here, from the DORA and adoption
//! reports and the ingest counters, into Prometheus metric families. The
//! background reporter ([`super::snapshot`]) calls [`render`] and encodes
//! the result once; scrapes serve that snapshot. Nothing updates a gauge per
//! event.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus::proto::{self, LabelPair, MetricFamily, MetricType};

use super::names::{self, Kind, MetricDef};
use crate::domain::adoption::{AdoptionReport, Features, ReportBuilder};
use crate::domain::dora::{Attribution, DoraReport, DoraState, FirstShip};
use crate::domain::event::InvalidReason;
use crate::domain::flow::{FlowReport, FlowState};
use crate::domain::health::{HealthMetric, HealthTier};
use crate::domain::quantiles::{Quantiles, RatioQuantiles};
use crate::domain::satisfaction::{SatisfactionReport, SatisfactionState};
use crate::domain::time::Window;
use crate::domain::value::{self, ValueSeries};
use crate::domain::{DeployStatus, Millis, Outcome};
use crate::ingest::Stream;
use crate::ingest::budget::{Component, StateBudget};
use crate::ingest::outcome::Counters;
use crate::ingest::progress::Progress;
use crate::ingest::shards::{AdoptionShared, lock};

/// What the report reads.
#[derive(Clone)]
pub struct Sources {
    /// DORA state, copied on write: a report clones the `Arc` and computes
    /// without holding the lock.
    pub dora: Arc<Mutex<Arc<DoraState>>>,
    /// Ingest counters.
    pub counters: Arc<Counters>,
    /// Readiness and replay progress.
    pub progress: Arc<Progress>,
    /// Feature adoption state.
    pub adoption: Arc<AdoptionShared>,
    /// What state weighs.
    pub budget: Arc<StateBudget>,
    /// Topic name of each stream, indexed by [`Stream::index`].
    pub topics: [String; Stream::ALL.len()],
    /// The clock that sets "now" for the windows.
    pub clock: fn() -> Millis,
    /// Work-item (flow) state, copied on write like DORA state.
    pub flow: Arc<Mutex<Arc<FlowState>>>,
    /// Satisfaction state, copied on write like DORA state.
    pub satisfaction: Arc<Mutex<Arc<SatisfactionState>>>,
}

/// What the previous report cost, rendered into the next one.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReportCost {
    /// Wall time of the previous computation and encoding.
    pub duration: Duration,
}

/// The reports of one instant, computed once and shared by every view of
/// them (the metric families, the landing page).
pub struct Reports<'a> {
    /// When they were computed.
    pub now: Millis,
    /// DORA figures.
    pub dora: DoraReport<'a>,
    /// The DORA windows, in configured order.
    pub windows: &'a [Window],
    /// Adoption figures.
    pub adoption: AdoptionReport<'a>,
    /// Flow figures (work items), over the DORA windows.
    pub flow: FlowReport<'a>,
    /// Satisfaction figures, over the DORA windows.
    pub satisfaction: SatisfactionReport<'a>,
    /// The value delivery score of every DORA series with one.
    pub value: Vec<ValueSeries<'a>>,
    /// Value-stream health bands of adoption on the longest window
    /// (realization, feedback cycle), when they have data.
    pub value_stream: Vec<(HealthMetric, HealthTier)>,
}

/// Computes the reports at `now` and hands them to `view`. DORA state is
/// read through one consistent copy-on-write version, without its lock;
/// adoption state one feature at a time.
pub fn with_reports<T>(s: &Sources, now: Millis, view: impl FnOnce(&Reports<'_>) -> T) -> T {
    let dora: Arc<DoraState> = lock(&s.dora).clone();
    let flow: Arc<FlowState> = lock(&s.flow).clone();
    let satisfaction: Arc<SatisfactionState> = lock(&s.satisfaction).clone();
    let bytes = dora.heap_bytes();
    s.budget.set(&[
        (Component::Deploys, bytes.deploys),
        (Component::Incidents, bytes.incidents),
        (Component::DoraLabels, bytes.labels),
        (Component::WorkItems, flow.heap_bytes()),
        (Component::Satisfaction, satisfaction.heap_bytes()),
    ]);
    let ships = dora.first_ships();
    let features = lock(&s.adoption.features).clone();
    let adoption = adoption_report(s, &ships, &features, now);
    let windows = &dora.settings().windows;
    let dora_report = dora.report(now);
    let satisfaction = satisfaction.report(now, &ships);
    let value = value::value_scores(&dora_report, windows, &satisfaction);
    let value_stream = value_stream_tiers(&adoption, longest_window(windows));
    let reports = Reports {
        now,
        dora: dora_report,
        windows,
        adoption,
        flow: flow.report(now),
        satisfaction,
        value,
        value_stream,
    };
    view(&reports)
}

/// Every metric family at `now`, sorted by name, each family's series sorted
/// by label values (as a Prometheus registry would gather them).
pub fn render(s: &Sources, now: Millis, cost: ReportCost) -> Vec<MetricFamily> {
    with_reports(s, now, |r| families(s, r, cost))
}

/// The metric families of `r`, sorted as [`render`] says.
pub fn families(s: &Sources, r: &Reports<'_>, cost: ReportCost) -> Vec<MetricFamily> {
    let mut overflow = Family::new(names::LABEL_OVERFLOW);
    let mut families = dora_families(r, &mut overflow);
    families.extend(adoption_families(s, &r.adoption, &mut overflow));
    families.extend(value_stream_families(r, &mut overflow));
    families.extend(health_families(s, r.now, cost));
    families.push(overflow);
    families.push(window_complete(s, r));
    let mut out: Vec<MetricFamily> = families
        .into_iter()
        .filter(|f| !f.metrics.is_empty())
        .map(Family::finish)
        .collect();
    out.extend(super::process::families());
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

    /// Adds `v` to the counter with these label values, creating it when
    /// absent (label overflow is counted by several states).
    pub(crate) fn add_counter(&mut self, values: &[&str], v: f64) {
        let labels = self.labels(values);
        match self.metrics.iter_mut().find(|m| m.get_label() == labels) {
            Some(m) => {
                let mut c = proto::Counter::default();
                c.set_value(m.get_counter().get_value() + v);
                m.set_counter(c);
            }
            None => self.counter(values, v),
        }
    }

    pub(crate) fn finish(self) -> MetricFamily {
        let mut mf = MetricFamily::default();
        mf.set_name(self.def.name.into());
        mf.set_help(self.def.help.into());
        mf.set_field_type(match self.def.kind {
            Kind::Gauge => MetricType::GAUGE,
            Kind::Counter => MetricType::COUNTER,
            Kind::Summary => MetricType::SUMMARY,
        });
        mf.set_metric(self.metrics);
        mf
    }
}

/// DORA series.
fn dora_families(r: &Reports<'_>, overflow: &mut Family) -> Vec<Family> {
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
    let longest = &windows[longest_window(windows)].label;
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
                *t as u8 as f64,
            );
        }
    }
    overflow.counter(&["service"], report.service_overflow as f64);
    overflow.counter(&["team"], report.team_overflow as f64);
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

/// Index of the longest window.
fn longest_window(windows: &[Window]) -> usize {
    (0..windows.len())
        .max_by_key(|&i| windows[i].width)
        .unwrap_or(0)
}

/// The adoption report. Shards are read one feature at a time, each under
/// its shard's lock, yielding between features, so ingest never waits
/// longer than one feature's evaluation; the feature table is a copy (a few
/// microseconds to take), so its lock is not held at all.
fn adoption_report<'f>(
    s: &Sources,
    ships: &[FirstShip<'f>],
    features: &'f Features,
    now: Millis,
) -> AdoptionReport<'f> {
    let a = &s.adoption;
    let mut builder = ReportBuilder::new(&a.settings, ships, features, now);
    for (_, shard) in a.shards() {
        builder.add_active(lock(&shard).shard.active());
        let ids = lock(&shard).shard.feature_ids();
        for id in ids {
            // A feature interned after the copy is reported next time.
            if id as usize >= features.len() {
                continue;
            }
            let guard = lock(&shard);
            if let Some(f) = guard.shard.feature(id) {
                builder.add_feature(id, f);
            }
            drop(guard);
            // Let a fold waiting for this shard take the lock now. Without
            // the yield this thread retakes the lock at once for the next
            // feature (a std mutex is not fair), and a fold that needs the
            // shard waits out the whole shard's scan: at the cap, ingest
            // lost 6–17 % while reported instead of 1–6 % (BENCHMARKS.md).
            std::thread::yield_now();
        }
    }
    builder.finish(features, ships)
}

/// Adoption series.
fn adoption_families(
    s: &Sources,
    report: &AdoptionReport<'_>,
    overflow: &mut Family,
) -> Vec<Family> {
    let settings = &s.adoption.settings;
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
        for (w, window) in settings.windows.iter().enumerate() {
            let l = [f.feature, service, team, window.label.as_str()];
            users.gauge(&l, f.users[w] as f64);
            events.gauge(&l, f.events[w] as f64);
            if let Some(r) = f.adoption_ratio[w] {
                ratio.gauge(&l, r);
            }
        }
    }
    for (w, window) in settings.windows.iter().enumerate() {
        let l = [window.label.as_str()];
        active.gauge(&l, report.active_users[w] as f64);
        shipped.gauge(&l, report.shipped[w] as f64);
        used.gauge(&l, report.used[w] as f64);
        if report.shipped[w] > 0 {
            realization.gauge(&l, report.used[w] as f64 / report.shipped[w] as f64);
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
    overflow.counter(&["feature"], report.overflow as f64);
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
fn health_families(s: &Sources, now: Millis, cost: ReportCost) -> Vec<Family> {
    let mut events = Family::new(names::EVENTS);
    let mut invalid = Family::new(names::EVENTS_INVALID);
    for stream in Stream::ALL {
        let topic = s.topics[stream.index()].as_str();
        for o in Outcome::ALL {
            events.counter(&[topic, o.as_str()], s.counters.events(stream, o) as f64);
        }
        for r in InvalidReason::ALL {
            invalid.counter(&[topic, r.as_str()], s.counters.invalid(stream, r) as f64);
        }
    }
    let mut ready = Family::new(names::READY);
    ready.gauge(
        &[],
        if s.progress.readiness().is_ok() {
            1.0
        } else {
            0.0
        },
    );
    let mut remaining = Family::new(names::REPLAY_REMAINING);
    let mut lag = Family::new(names::CONSUMER_LAG);
    let partitions = s.progress.partitions();
    for topic in &s.topics {
        let left: i64 = partitions
            .iter()
            .filter(|((t, _), _)| t == topic)
            .map(|(_, p)| p.replay_remaining())
            .sum();
        remaining.gauge(&[topic], left as f64);
    }
    for ((topic, partition), p) in &partitions {
        lag.gauge(&[topic, &partition.to_string()], p.lag() as f64);
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
    for (component, bytes) in s.budget.by_label() {
        state.gauge(&[component], bytes as f64);
    }
    let mut budget = Family::new(names::STATE_BUDGET_BYTES);
    budget.gauge(&[], s.budget.limit() as f64);
    let mut level = Family::new(names::STATE_BUDGET_LEVEL);
    level.gauge(&[], f64::from(s.budget.level() as u8));
    let mut duration = Family::new(names::REPORT_DURATION);
    duration.gauge(&[], cost.duration.as_secs_f64());
    let mut at = Family::new(names::REPORT_TIMESTAMP);
    at.gauge(&[], now as f64 / 1000.0);
    vec![
        events, invalid, ready, remaining, lag, build, state, budget, level, duration, at,
    ]
}

/// The value-stream bands of adoption on the longest window `w`: value
/// realization (used / shipped, when something shipped) and the value
/// feedback cycle (its median, when a shipped feature was used).
fn value_stream_tiers(adoption: &AdoptionReport<'_>, w: usize) -> Vec<(HealthMetric, HealthTier)> {
    let mut out = Vec::new();
    if let (Some(&shipped), Some(&used)) = (adoption.shipped.get(w), adoption.used.get(w))
        && shipped > 0
    {
        let m = HealthMetric::ValueRealization;
        out.push((m, m.grade(used as f64 / shipped as f64)));
    }
    if let Some(Some(q)) = adoption.feedback_cycle.get(w) {
        let m = HealthMetric::ValueFeedbackCycle;
        out.push((m, m.grade(q.values[0].1)));
    }
    out
}

/// Work items, satisfaction, the value delivery score, the value-stream
/// bands, unpaired incident resolutions and the tier bands in force.
fn value_stream_families(r: &Reports<'_>, overflow: &mut Family) -> Vec<Family> {
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
    let longest = windows[longest_window(windows)].label.as_str();
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
            flow_tier.gauge(&[k.service, k.team, longest], t as u8 as f64);
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
        stream_tier.gauge(&[longest, metric.as_str()], *t as u8 as f64);
    }
    for k in &r.dora.series {
        if let Some(n) = k.incidents_unpaired {
            unpaired.gauge(&[k.service, k.team, k.environment], n as f64);
        }
    }
    bands.gauge(&[r.dora.bands], 1.0);
    for (label, n) in [
        (
            "service",
            r.flow.service_overflow + r.satisfaction.service_overflow,
        ),
        ("team", r.flow.team_overflow + r.satisfaction.team_overflow),
        ("feature", r.satisfaction.feature_overflow),
    ] {
        overflow.add_counter(&[label], n as f64);
    }
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

/// Whether each window of each topic holds all of its history here.
fn window_complete(s: &Sources, r: &Reports<'_>) -> Family {
    let mut complete = Family::new(names::WINDOW_COMPLETE);
    for topic in &s.topics {
        for w in r.windows {
            let holds = s.progress.window_complete(topic, r.now - w.width);
            complete.gauge(&[topic, &w.label], if holds { 1.0 } else { 0.0 });
        }
    }
    complete
}
