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
    /// The work-items topic (work-item transitions: native v1 or CDEvents
    /// tickets).
    WorkItems,
    /// The satisfaction topic (CSAT and NPS responses, native v1).
    Satisfaction,
    /// The changes topic (pushed commits, native v1, written by the bridge).
    Changes,
}

impl Stream {
    /// Every stream the daemon consumes, in export order. The outcome
    /// counters and the report's topic names are sized by it.
    pub const ALL: [Stream; 6] = [
        Stream::Deploys,
        Stream::Incidents,
        Stream::FeatureUsage,
        Stream::WorkItems,
        Stream::Satisfaction,
        Stream::Changes,
    ];

    /// The same list, under the name the decoders' fuzz test and benches
    /// use (every stream a record can be decoded for).
    pub const EVERY: [Stream; 6] = Stream::ALL;

    /// Dense index into [`Stream::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Whether the stream is read by the small-topics loop (every replica,
    /// every partition): all but feature usage.
    pub fn is_small(self) -> bool {
        self != Stream::FeatureUsage
    }

    /// Whether the topic is optional: a replica is ready without it while
    /// it does not exist (the value-stream inputs), and reads it once it is
    /// created.
    pub fn is_optional(self) -> bool {
        matches!(
            self,
            Stream::WorkItems | Stream::Satisfaction | Stream::Changes
        )
    }
}
