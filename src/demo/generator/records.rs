//! How the story's events become records: the wire types of the native
//! events, a wire format drawn for each (native v1, or a CDEvent in a
//! structured or binary-mode CloudEvent, spec v0.4 or v0.5), the release
//! pipelines' own `pipelinerun.finished` CDEvent and the one invalid deploy.

use serde::Serialize;
use serde_json::json;

use super::Release;
use super::profiles::Profile;
use crate::demo::record::{Record, Topic, to_the_second};
use crate::domain::Millis;
use crate::emit::{CdSpec, Format, encode};
use crate::ingest::decode::{ChangeV1, DeployV1};
use crate::rng::Rng;

/// CloudEvents/CDEvents `source` of the demo's CDEvents.
pub const CDEVENTS_SOURCE: &str = "/valuepulse/demo";

/// Share of deploy and incident events written as CDEvents (when CDEvents
/// can express them).
const CDEVENTS_SHARE: f64 = 0.6;
/// Share of production releases whose pipeline also publishes its own
/// `pipelinerun.finished` CDEvent on the deploys topic (`unsupported`).
pub(super) const PIPELINE_RUN_SHARE: f64 = 0.25;

/// A deploy from a pipeline that sends local dates: the one invalid record of
/// the backfill, so `valuepulse_events_invalid_total` has something to show.
pub const INVALID_DEPLOY: &str = r#"{"id":"d-legacy-7","service":"checkout","team":"payments","status":"succeeded","finished_at":"25/11/2026 10:04"}"#;

/// The facts of one deploy event, before they go on the wire.
pub(super) struct DeployFacts<'a, 'r> {
    pub(super) id: &'a str,
    pub(super) environment: &'a str,
    pub(super) status: &'a str,
    pub(super) started_at: Millis,
    pub(super) finished_at: Millis,
    pub(super) release: &'r Release,
    pub(super) changes: &'a [(String, Millis)],
    pub(super) features: &'a [String],
    pub(super) rollback_of: Option<&'a str>,
}

/// The deploy event of service `p` the facts describe.
pub(super) fn deploy_wire<'a>(p: &'a Profile, f: &DeployFacts<'a, '_>) -> DeployV1<'a> {
    DeployV1 {
        id: f.id.into(),
        service: p.service.into(),
        team: Some(p.team.into()),
        environment: Some(f.environment.into()),
        status: f.status.into(),
        started_at: Some(to_the_second(f.started_at).into()),
        finished_at: to_the_second(f.finished_at).into(),
        version: Some(f.release.version.clone().into()),
        artifact: Some(f.release.artifact.clone().into()),
        changes: f
            .changes
            .iter()
            .map(|(id, at)| ChangeV1 {
                id: Some(id.as_str().into()),
                committed_at: to_the_second(*at).into(),
            })
            .collect(),
        features: f.features.iter().map(|f| f.as_str().into()).collect(),
        rollback_of: f.rollback_of.map(Into::into),
        ..DeployV1::default()
    }
}

/// The record of `event` (keyed by `key`) at `at`, written in a wire format
/// drawn from `wire_rng`: native v1, or a CDEvent in a structured or
/// binary-mode CloudEvent.
pub(super) fn encode_drawn(
    wire_rng: &mut Rng,
    at: Millis,
    topic: Topic,
    key: &str,
    event: &impl Serialize,
) -> Record {
    let stream = topic.stream();
    let payload = &serde_json::to_value(event).expect("a wire event always serializes");
    let cdevents = topic != Topic::FeatureUsage && wire_rng.chance(CDEVENTS_SHARE);
    let format = match (cdevents, wire_rng.chance(0.5)) {
        (false, _) => Format::Native,
        (true, true) => Format::CdeventsStructured,
        (true, false) => Format::CdeventsBinary,
    };
    let spec = if wire_rng.chance(0.5) {
        CdSpec::V0_4
    } else {
        CdSpec::V0_5
    };
    let upgraded = wire_rng.chance(0.3);
    // What CDEvents cannot express (a failed deploy, the rolled_back
    // mark) stays native.
    let record = encode(stream, payload, format, spec, CDEVENTS_SOURCE, upgraded)
        .or_else(|_| {
            encode(
                stream,
                payload,
                Format::Native,
                spec,
                CDEVENTS_SOURCE,
                false,
            )
        })
        .expect("native encoding never fails");
    Record {
        at,
        topic,
        key: key.to_owned(),
        payload: record.payload,
        headers: record.headers,
    }
}

/// The release pipeline's own `pipelinerun.finished` CDEvent, on the
/// deploys topic like in many CDEvents set-ups: valuepulse does not read
/// it and counts it as `unsupported`.
pub(super) fn pipeline_run(service: &str, at: Millis, deploy_id: &str, status: &str) -> Record {
    let run = format!("{deploy_id}-pipeline");
    let time = to_the_second(at);
    let ty = "dev.cdevents.pipelinerun.finished.0.2.0";
    let outcome = if status == "failed" {
        "failure"
    } else {
        "success"
    };
    let data = json!({
        "context": {"version": "0.4.1", "id": run, "source": CDEVENTS_SOURCE, "type": ty, "timestamp": time},
        "subject": {"id": format!("release/{service}/{run}"), "source": CDEVENTS_SOURCE, "content": {
            "pipelineName": format!("release-{service}"), "outcome": outcome,
            "url": format!("https://ci.example.com/release-{service}/{run}"),
        }},
    });
    Record {
        at,
        topic: Topic::Deploys,
        key: service.to_owned(),
        payload: json!({
            "specversion": "1.0", "id": run, "source": CDEVENTS_SOURCE, "type": ty,
            "subject": format!("release/{service}/{run}"), "time": time,
            "datacontenttype": "application/json", "data": data,
        })
        .to_string(),
        headers: vec![(
            "content-type".to_owned(),
            crate::ingest::decode::cdevents::CLOUDEVENTS_JSON.to_owned(),
        )],
    }
}
