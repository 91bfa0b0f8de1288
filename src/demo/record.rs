//! One message the demo publishes, and the time helpers its payloads use:
//! shared by the deploy/incident generator, the usage generator and the
//! value-stream generator.

use crate::domain::Millis;
use crate::ingest::Stream;
use crate::ingest::decode::format_time;

/// One second in milliseconds.
pub const SECOND_MS: Millis = 1_000;

/// The topic a record goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// Deploy events.
    Deploys,
    /// Incident events.
    Incidents,
    /// Feature-usage events.
    FeatureUsage,
    /// Work-item transitions.
    WorkItems,
    /// Satisfaction responses.
    Satisfaction,
}

/// One message to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// When it is published in the story: its event time, or for an update
    /// (a deploy later marked `rolled_back`) the time of the update.
    pub at: Millis,
    /// Destination topic.
    pub topic: Topic,
    /// Message key, as the contract asks: the service for deploys and
    /// incidents, the user id for feature usage, the item id for work
    /// items, the service (or feature) for satisfaction responses.
    pub key: String,
    /// Native v1 JSON, or a CDEvent in a CloudEvent (see `headers`).
    pub payload: String,
    /// Record headers: `content-type` and the `ce_*` attributes of a
    /// CloudEvent; empty for native v1.
    pub headers: Vec<(String, String)>,
}

#[cfg(test)]
impl Record {
    /// The headers as the decoder reads them.
    pub fn decoder_headers(&self) -> crate::ingest::decode::Headers<'_> {
        crate::ingest::decode::Headers::from_pairs(
            self.headers.iter().map(|(k, v)| (k.as_str(), v.as_bytes())),
        )
    }
}

impl Topic {
    /// The stream the daemon reads this topic as.
    pub fn stream(self) -> Stream {
        match self {
            Topic::Deploys => Stream::Deploys,
            Topic::Incidents => Stream::Incidents,
            Topic::FeatureUsage => Stream::FeatureUsage,
            Topic::WorkItems => Stream::WorkItems,
            Topic::Satisfaction => Stream::Satisfaction,
        }
    }
}

/// RFC 3339 in UTC, to the second (the sub-second part is dropped, which
/// keeps payloads readable and never reorders two times).
pub fn to_the_second(ms: Millis) -> String {
    format_time(second_floor(ms))
}

/// `ms` rounded down to the second: the time a payload says.
pub fn second_floor(ms: Millis) -> Millis {
    ms.div_euclid(SECOND_MS) * SECOND_MS
}
