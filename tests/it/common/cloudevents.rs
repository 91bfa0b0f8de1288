//! CDEvents as Kafka records, the way a producer using the official SDKs
//! writes them: `cloudevents-sdk` serializes the CloudEvent, in the JSON
//! event format for structured mode and through its `BinarySerializer` for
//! binary mode, with the header names of the CloudEvents Kafka binding
//! (`ce_<attribute>`, `content-type`). The SDK's own rdkafka binding is not
//! used: see the note in Cargo.toml.

use cdevents_sdk::CDEvent;
use cloudevents::event::SpecVersion;
use cloudevents::message::{BinaryDeserializer, BinarySerializer, MessageAttributeValue};

use super::HeaderedRecord;

/// How a record is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// Native v1 JSON.
    Native,
    /// Structured CloudEvent with `content-type: application/cloudevents+json`.
    Structured,
    /// Structured CloudEvent without any header (detected by `specversion`).
    Bare,
    /// Binary-mode CloudEvent.
    Binary,
}

/// A binary-mode Kafka record written by cloudevents-sdk's binary
/// serializer, with the CloudEvents Kafka binding's header names.
#[derive(Default)]
struct BinaryRecord {
    headers: Vec<(String, Vec<u8>)>,
    value: Vec<u8>,
}

impl BinarySerializer<BinaryRecord> for BinaryRecord {
    fn set_spec_version(mut self, v: SpecVersion) -> cloudevents::message::Result<Self> {
        self.headers
            .push(("ce_specversion".into(), v.to_string().into_bytes()));
        Ok(self)
    }
    fn set_attribute(
        mut self,
        name: &str,
        value: MessageAttributeValue,
    ) -> cloudevents::message::Result<Self> {
        let key = match name {
            "datacontenttype" => "content-type".to_owned(),
            _ => format!("ce_{name}"),
        };
        self.headers.push((key, value.to_string().into_bytes()));
        Ok(self)
    }
    fn set_extension(
        self,
        name: &str,
        value: MessageAttributeValue,
    ) -> cloudevents::message::Result<Self> {
        self.set_attribute(name, value)
    }
    fn end_with_data(mut self, bytes: Vec<u8>) -> cloudevents::message::Result<BinaryRecord> {
        self.value = bytes;
        Ok(self)
    }
    fn end(self) -> cloudevents::message::Result<BinaryRecord> {
        Ok(self)
    }
}

/// A CDEvent as a Kafka record in `wire` (not [`Wire::Native`]).
pub fn cloudevent_record(key: &str, wire: Wire, ev: CDEvent) -> HeaderedRecord {
    let ce: cloudevents::Event = ev.try_into().unwrap();
    let (payload, headers) = match wire {
        Wire::Structured => (
            serde_json::to_vec(&ce).unwrap(),
            vec![(
                "content-type".to_owned(),
                b"application/cloudevents+json".to_vec(),
            )],
        ),
        Wire::Bare => (serde_json::to_vec(&ce).unwrap(), Vec::new()),
        Wire::Binary => {
            let b = ce.deserialize_binary(BinaryRecord::default()).unwrap();
            (b.value, b.headers)
        }
        Wire::Native => unreachable!("a native record is no CloudEvent"),
    };
    HeaderedRecord {
        key: key.to_owned(),
        payload,
        headers,
    }
}

/// A native v1 record.
pub fn native_record(key: &str, payload: String) -> HeaderedRecord {
    HeaderedRecord {
        key: key.to_owned(),
        payload: payload.into_bytes(),
        headers: Vec::new(),
    }
}
