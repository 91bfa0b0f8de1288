//! The kind of topic a record came from.

/// Which stream a record came from, which fixes the event type it must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    /// The deploys topic.
    Deploys,
    /// The incidents topic.
    Incidents,
    /// The feature-usage topic.
    FeatureUsage,
}

impl Stream {
    /// Every stream, in export order.
    pub const ALL: [Stream; 3] = [Stream::Deploys, Stream::Incidents, Stream::FeatureUsage];

    /// Dense index into [`Stream::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}
