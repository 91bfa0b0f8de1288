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
}

impl Stream {
    /// Every stream the daemon consumes today, in export order. The outcome
    /// counters and the collector's topic names are sized by it.
    /// [`Stream::WorkItems`] and [`Stream::Satisfaction`] join it when their
    /// consumers are wired (with `topics.work_items` and
    /// `topics.satisfaction` in the collector's topic list); until then
    /// nothing counts records of theirs.
    pub const ALL: [Stream; 3] = [Stream::Deploys, Stream::Incidents, Stream::FeatureUsage];

    /// Every stream, the two not yet consumed included.
    pub const EVERY: [Stream; 5] = [
        Stream::Deploys,
        Stream::Incidents,
        Stream::FeatureUsage,
        Stream::WorkItems,
        Stream::Satisfaction,
    ];

    /// Dense index into [`Stream::EVERY`] (and into [`Stream::ALL`] for the
    /// streams it lists).
    pub fn index(self) -> usize {
        self as usize
    }
}
