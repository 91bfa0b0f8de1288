//! `emit`: the CDEvents encoder checked against the official SDKs (what it
//! writes must parse with cdevents-sdk and cloudevents-sdk, which refuse
//! unknown fields), round trips through the decoder, and flag validation.

use cdevents_sdk::CDEvent;
use clap::Parser;
use cloudevents::event::SpecVersion;
use cloudevents::message::{
    BinaryDeserializer, BinarySerializer, MessageAttributeValue, Result as CeResult,
};
use cloudevents::{AttributesReader, Event as CloudEvent};

use super::*;
use crate::domain::Event;
use crate::ingest::decode::cdevents::CLOUDEVENTS_JSON;
use crate::testkit::NOW;
use serde_json::{Value, json};

mod value;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: EmitCommand,
}

fn parse(args: &[&str]) -> EmitCommand {
    Cli::try_parse_from(std::iter::once("emit").chain(args.iter().copied()))
        .unwrap_or_else(|e| panic!("{e}"))
        .cmd
}

fn config() -> Config {
    Config::load_with_env(None, Vec::<(String, String)>::new()).unwrap()
}

fn native_deploy() -> Value {
    json!({
        "id": "d-1842", "service": "checkout", "team": "payments",
        "environment": "production", "status": "succeeded",
        "finished_at": "2027-01-15T08:00:00Z", "started_at": "2027-01-15T07:55:00Z",
        "version": "1.42.0",
        "artifact": "sha256:9f2c4e1b8a7d",
        "changes": [{"id": "4be1c0d", "committed_at": "2027-01-14T16:20:00Z"}],
        "features": ["one-click-checkout"],
        "fixes_incident": "inc-76"
    })
}

fn native_incident(resolved: bool) -> Value {
    let mut v = json!({
        "id": "inc-77", "service": "checkout", "team": "payments",
        "environment": "production", "status": "opened", "severity": "sev2",
        "opened_at": "2027-01-15T08:30:00Z",
        "caused_by_deploy": "d-1842", "artifact": "sha256:9f2c4e1b8a7d"
    });
    if resolved {
        v["status"] = json!("resolved");
        v["resolved_at"] = json!("2027-01-15T09:10:00Z");
    }
    v
}

/// A binary-mode record read back into a CloudEvent by cloudevents-sdk's
/// own binary serializer (the reverse of the Kafka binding's header names).
struct BinaryMessage<'a>(&'a WireRecord);

impl BinaryDeserializer for BinaryMessage<'_> {
    fn deserialize_binary<R: Sized, V: BinarySerializer<R>>(self, mut v: V) -> CeResult<R> {
        let header = |k: &str| {
            self.0
                .headers
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
        };
        v = v.set_spec_version(SpecVersion::try_from(
            header("ce_specversion").unwrap().as_str(),
        )?)?;
        for (k, value) in &self.0.headers {
            let name = match k.strip_prefix("ce_") {
                Some("specversion") => continue,
                Some(name) => name,
                None if k == "content-type" => "datacontenttype",
                None => continue,
            };
            v = v.set_attribute(name, MessageAttributeValue::String(value.clone()))?;
        }
        v.end_with_data(self.0.payload.clone().into_bytes())
    }
}

/// Parses what `encode` wrote with the SDKs: the CloudEvent, then the
/// CDEvent in it.
fn sdk_read(format: Format, r: &WireRecord) -> (CloudEvent, CDEvent) {
    let ce: CloudEvent = match format {
        Format::CdeventsStructured => {
            assert_eq!(
                r.headers,
                vec![("content-type".to_owned(), CLOUDEVENTS_JSON.to_owned())]
            );
            serde_json::from_str(&r.payload).unwrap_or_else(|e| panic!("{e}: {}", r.payload))
        }
        Format::CdeventsBinary => BinaryMessage(r)
            .into_event()
            .unwrap_or_else(|e| panic!("{e}: {r:?}")),
        Format::Native => unreachable!(),
    };
    let cd = CDEvent::try_from(ce.clone()).unwrap_or_else(|e| panic!("{e}: {r:?}"));
    (ce, cd)
}

fn decoded(stream: Stream, r: &WireRecord) -> Event<'_> {
    decode(stream, r.payload.as_bytes(), &r.decoder_headers())
        .unwrap_or_else(|e| panic!("{e:?}: {r:?}"))
}

#[test]
fn cdevents_written_parse_with_the_sdks_and_decode_like_the_native_event() {
    let cases = [
        (Stream::Deploys, native_deploy(), false, "service.deployed"),
        (Stream::Deploys, native_deploy(), true, "service.upgraded"),
        (
            Stream::Deploys,
            {
                let mut d = native_deploy();
                d["rollback_of"] = json!("d-1841");
                d
            },
            false,
            "service.rolledback",
        ),
        (
            Stream::Incidents,
            native_incident(false),
            false,
            "incident.detected",
        ),
        (
            Stream::Incidents,
            native_incident(true),
            false,
            "incident.resolved",
        ),
    ];
    for (stream, native, upgraded, ty) in cases {
        let plain = encode(stream, &native, Format::Native, CdSpec::V0_5, "/ci", false).unwrap();
        assert!(plain.headers.is_empty());
        let want = decoded(stream, &plain);
        for format in [Format::CdeventsStructured, Format::CdeventsBinary] {
            for (spec, type_version) in [(CdSpec::V0_4, "0.2.0"), (CdSpec::V0_5, "0.3.0")] {
                let r = encode(stream, &native, format, spec, "/ci/release", upgraded).unwrap();
                let (ce, cd) = sdk_read(format, &r);
                let full_type = format!("dev.cdevents.{ty}.{type_version}");
                assert_eq!(ce.ty(), full_type);
                assert_eq!(cd.ty(), full_type);
                assert_eq!(ce.id(), cd.id().as_str());
                assert_eq!(ce.source().as_str(), "/ci/release");
                assert_eq!(
                    cd.version(),
                    if spec == CdSpec::V0_4 {
                        "0.4.1"
                    } else {
                        "0.5.0"
                    }
                );
                // CDEvents name who reports an incident (the subject's
                // source, for pairing); native events do not.
                let mut got = decoded(stream, &r);
                if let Event::Incident(i) = &mut got {
                    assert_eq!(i.source.as_deref(), Some("/ci/release"));
                    i.source = None;
                }
                assert_eq!(got, want, "{format:?} {spec:?} {ty}");
            }
        }
    }
}

#[test]
fn what_cdevents_cannot_say_is_refused_by_the_encoder() {
    for status in ["failed", "rolled_back"] {
        let mut d = native_deploy();
        d["status"] = json!(status);
        assert_eq!(
            encode(
                Stream::Deploys,
                &d,
                Format::CdeventsBinary,
                CdSpec::V0_5,
                "/ci",
                false
            ),
            Err(EncodeError::Status(status.into()))
        );
    }
    let mut d = native_deploy();
    d.as_object_mut().unwrap().remove("artifact");
    assert_eq!(
        encode(
            Stream::Deploys,
            &d,
            Format::CdeventsStructured,
            CdSpec::V0_4,
            "/ci",
            false
        ),
        Err(EncodeError::NoArtifact)
    );
    // Natively, both are fine.
    assert!(
        encode(
            Stream::Deploys,
            &d,
            Format::Native,
            CdSpec::V0_4,
            "/ci",
            false
        )
        .is_ok()
    );
}

#[test]
fn artifacts_become_purls_the_decoder_normalises_back() {
    assert_eq!(
        purl("sha256:9f2c4e1b", "checkout"),
        "pkg:oci/checkout@sha256%3A9f2c4e1b"
    );
    assert_eq!(
        purl("sha256:9f2c", "Check Out"),
        "pkg:oci/check%20out@sha256%3A9f2c"
    );
    assert_eq!(
        purl("pkg:npm/left-pad@1.3.0", "x"),
        "pkg:npm/left-pad@1.3.0"
    );
    assert_eq!(
        purl("checkout-1.42.0.tar.gz", "x"),
        "checkout-1.42.0.tar.gz"
    );
    for a in [
        "sha256:9f2c4e1b",
        "sha512:abc",
        "pkg:npm/left-pad@1.3.0",
        "build-42",
    ] {
        let back = crate::ingest::decode::cdevents::normalize_artifact(purl(a, "svc").into());
        assert_eq!(back, a);
    }
}

#[test]
fn flags_become_a_validated_native_deploy() {
    let cmd = parse(&[
        "deploy",
        "--service",
        "checkout",
        "--status",
        "succeeded",
        "--commit",
        "4be1c0d@2027-01-14T16:20:00Z",
        "--commit",
        "9a1f00e@2027-01-15T07:00:00Z",
        "--feature",
        "one-click-checkout",
        "--team",
        "payments",
    ]);
    let p = prepare(&cmd, &config(), NOW).unwrap();
    assert!(p.id.starts_with("d-1800000000000-"), "{}", p.id);
    assert_eq!((p.topic.as_str(), p.key.as_str()), ("deploys", "checkout"));
    let Event::Deploy(d) = decoded(Stream::Deploys, &p.record) else {
        panic!()
    };
    assert_eq!(d.id, p.id);
    assert_eq!(d.finished_at, NOW, "--finished-at defaults to now");
    assert_eq!(d.changes.len(), 2);
    assert_eq!(d.environment, "production");
    assert_eq!(d.features, vec!["one-click-checkout"]);

    // Two runs generate two ids.
    let again = prepare(&cmd, &config(), NOW).unwrap();
    assert_ne!(again.id, p.id);

    let cmd = parse(&[
        "deploy",
        "--id",
        "d-9",
        "--service",
        "checkout",
        "--status",
        "rolled_back",
        "--finished-at",
        "2027-01-15T07:00:00+01:00",
        "--topic",
        "other-deploys",
    ]);
    let p = prepare(&cmd, &config(), NOW).unwrap();
    assert_eq!((p.id.as_str(), p.topic.as_str()), ("d-9", "other-deploys"));
    let Event::Deploy(d) = decoded(Stream::Deploys, &p.record) else {
        panic!()
    };
    assert_eq!(d.status, crate::domain::DeployStatus::RolledBack);
    assert_eq!(d.finished_at, NOW - 2 * 3_600_000);
}

#[test]
fn flags_become_cdevents_in_either_mode() {
    for format in ["cdevents-structured", "cdevents-binary"] {
        let cmd = parse(&[
            "incident",
            "--id",
            "inc-77",
            "--service",
            "checkout",
            "--status",
            "resolved",
            "--opened-at",
            "2027-01-15T07:00:00Z",
            "--resolved-at",
            "2027-01-15T07:40:00Z",
            "--format",
            format,
            "--cdevents-spec",
            "0.4",
            "--source",
            "/pagerduty",
        ]);
        let p = prepare(&cmd, &config(), NOW).unwrap();
        assert_eq!((p.id.as_str(), p.topic.as_str()), ("inc-77", "incidents"));
        assert!(!p.record.headers.is_empty());
        let Event::Incident(i) = decoded(Stream::Incidents, &p.record) else {
            panic!()
        };
        assert_eq!(i.resolved_at.unwrap() - i.opened_at.unwrap(), 40 * 60_000);
    }
}

/// Every refusal happens in `prepare`, before any producer exists.
#[test]
fn bad_flag_combinations_and_invalid_events_are_refused_with_a_clear_message() {
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "incident",
                "--id",
                "inc-1",
                "--service",
                "s",
                "--status",
                "resolved",
                "--opened-at",
                "2027-01-15T07:00:00Z",
            ],
            "--status resolved needs --resolved-at",
        ),
        (
            &["incident", "--service", "s", "--status", "resolved"],
            "--status resolved needs --id (the id of the opened incident), --opened-at, --resolved-at",
        ),
        (
            &[
                "incident",
                "--service",
                "s",
                "--status",
                "opened",
                "--resolved-at",
                "2027-01-15T07:00:00Z",
            ],
            "--resolved-at belongs to --status resolved",
        ),
        (
            &[
                "incident",
                "--id",
                "i",
                "--service",
                "s",
                "--status",
                "resolved",
                "--opened-at",
                "2027-01-15T08:00:00Z",
                "--resolved-at",
                "2027-01-15T07:00:00Z",
            ],
            "--resolved-at is before --opened-at",
        ),
        (
            &[
                "deploy",
                "--service",
                "s",
                "--status",
                "succeeded",
                "--commit",
                "4be1c0d",
            ],
            "--commit \"4be1c0d\" is not SHA@COMMITTED_AT",
        ),
        (
            &[
                "deploy",
                "--service",
                "s",
                "--status",
                "succeeded",
                "--commit",
                "4be1c0d@yesterday",
            ],
            "--commit 4be1c0d@ \"yesterday\" is not an RFC 3339 timestamp",
        ),
        (
            &[
                "deploy",
                "--service",
                "s",
                "--status",
                "succeeded",
                "--finished-at",
                "2027-01-15T08:00:00Z",
                "--commit",
                "4be1c0d@2027-01-15T09:00:00Z",
            ],
            "a --commit time is not before the deploy's --finished-at",
        ),
        (
            &[
                "deploy",
                "--service",
                "s",
                "--status",
                "succeeded",
                "--finished-at",
                "now",
            ],
            "--finished-at \"now\" is not an RFC 3339 timestamp",
        ),
        (
            &["deploy", "--service", "", "--status", "succeeded"],
            "an id, --service or --environment is empty",
        ),
        (
            &[
                "deploy",
                "--service",
                "s",
                "--status",
                "failed",
                "--artifact",
                "sha256:ab",
                "--format",
                "cdevents-binary",
            ],
            "CDEvents has no event for a failed deploy",
        ),
        (
            &[
                "deploy",
                "--service",
                "s",
                "--status",
                "succeeded",
                "--format",
                "cdevents-structured",
            ],
            "needs the artifact deployed (--artifact)",
        ),
    ];
    for (args, message) in cases {
        let err = prepare(&parse(args), &config(), NOW).unwrap_err();
        assert_eq!(err.exit_code(), EXIT_USAGE, "{args:?}");
        let text = err.to_string();
        assert!(text.starts_with("invalid event: "), "{text}");
        assert!(text.contains(message), "{args:?}: {text}");
    }
    // Larger than the daemon accepts.
    let mut small = config();
    small.limits.max_event_bytes = 100;
    let err = prepare(
        &parse(&["deploy", "--service", "checkout", "--status", "succeeded"]),
        &small,
        NOW,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("limits.max_event_bytes (100)"),
        "{err}"
    );
    assert_eq!(
        EmitError::Delivery("x".into()).exit_code(),
        EXIT_UNAVAILABLE
    );
}
