//! What one authentic delivery becomes: native v1 events for the daemon's
//! topics, or nothing (an event the bridge does not map: answered 202 and
//! counted `ignored`). Each source maps in its own module; this one holds
//! what they share: the output, the errors, the mapping rules' lookups and
//! the lenient timestamp reading that forges need.

use std::borrow::Cow;

use regex::Regex;
use serde::Serialize;

use crate::config::bridge::ServiceRule;
use crate::domain::Millis;
use crate::ingest::decode::{
    DeployV1, IncidentV1, PushedChangeV1, WorkItemV1, format_time, parse_time,
};

/// One native v1 event to produce.
#[derive(Debug, Clone, PartialEq)]
pub enum Out {
    /// To `topics.deploys`, keyed by service.
    Deploy(DeployV1<'static>),
    /// To `topics.incidents`, keyed by service.
    Incident(IncidentV1<'static>),
    /// To `topics.changes`, keyed by repository.
    Change(PushedChangeV1<'static>),
    /// To `topics.work_items`, keyed by the item.
    WorkItem(WorkItemV1<'static>),
}

impl Out {
    /// The record key: the service, or the repository of a change.
    pub fn key(&self) -> &str {
        match self {
            Out::Deploy(d) => &d.service,
            Out::Incident(i) => &i.service,
            Out::Change(c) => &c.repository,
            Out::WorkItem(w) => &w.id,
        }
    }

    /// The record value: the event's JSON.
    pub fn to_json(&self) -> Vec<u8> {
        fn json<T: Serialize>(v: &T) -> Vec<u8> {
            serde_json::to_vec(v).expect("wire types always serialize")
        }
        match self {
            Out::Deploy(d) => json(d),
            Out::Incident(i) => json(i),
            Out::Change(c) => json(c),
            Out::WorkItem(w) => json(w),
        }
    }
}

/// One commit of a push, as GitHub and GitLab both list it.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct PushedCommit {
    id: Field<String>,
    timestamp: Field<String>,
}

/// Where a push went: the repository, the branch and the push's `before`
/// and `after`.
pub struct Push<'p> {
    /// `owner/name` (GitLab: `path_with_namespace`).
    pub repository: &'p str,
    /// Without `refs/heads/`.
    pub branch: &'p str,
    /// The branch's head before the push.
    pub before: &'p str,
    /// The branch's head after it.
    pub after: &'p str,
}

/// One change per commit of a push, each linked to the commit before it in
/// the push (the push's `before` for the first): forges list a push's
/// commits oldest first, the last being `after`.
pub fn pushed_changes(
    commits: Vec<Field<PushedCommit>>,
    push: &Push<'_>,
) -> Result<Vec<Out>, Malformed> {
    let mut parent = push.before.to_owned();
    let mut out = Vec::with_capacity(commits.len());
    for (i, c) in commits.into_iter().enumerate() {
        let c = c.required(&format!("commits[{i}]"))?;
        let id = c.id.text(&format!("commits[{i}].id"))?;
        out.push(Out::Change(PushedChangeV1 {
            id: owned(id.as_str()),
            committed_at: owned(c.timestamp.time(&format!("commits[{i}].timestamp"))?),
            repository: owned(push.repository),
            branch: owned(push.branch),
            before: owned(push.before),
            after: owned(push.after),
            parent: Some(owned(std::mem::replace(&mut parent, id))),
        }));
    }
    Ok(out)
}

/// A delivery mapped: the event name (the `event` label of
/// `valuepulse_bridge_deliveries_total`, from a fixed list per source) and
/// the events it becomes (none: ignored).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Mapped {
    /// Bounded label: the source's event name (`deployment_status`,
    /// `push`, `incident.triggered`, …) or `other`.
    pub event: &'static str,
    /// Native v1 events, in the order to produce them.
    pub out: Vec<Out>,
    /// A push whose payload lists fewer commits than it carried (GitLab
    /// sends at most 20): lead time misses the rest.
    pub truncated_push: bool,
}

impl Mapped {
    /// An event that maps to exactly one native event.
    pub fn one(event: &'static str, out: Out) -> Self {
        Self {
            event,
            out: vec![out],
            truncated_push: false,
        }
    }

    /// An authentic event that maps to nothing.
    pub fn ignored(event: &'static str) -> Self {
        Self {
            event,
            ..Self::default()
        }
    }
}

/// Why an authentic delivery cannot be mapped: answered 400, counted
/// `malformed`. The text names the field, never its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub String);

/// The service and team of `name` (a repository, project or PagerDuty
/// service): the first rule whose `match` takes the whole name, else
/// `default` and no team (the daemon reports `unknown`).
pub fn service_of(rules: &[ServiceRule], name: &str, default: &str) -> (String, Option<String>) {
    match rules.iter().find(|r| r.matches.is_match(name)) {
        Some(r) => (
            if r.service.is_empty() {
                default.to_owned()
            } else {
                r.service.clone()
            },
            (!r.team.is_empty()).then(|| r.team.clone()),
        ),
        None => (default.to_owned(), None),
    }
}

/// `production` when `production` takes the whole name, else the name as
/// it came.
pub fn environment(production: Option<&Regex>, name: &str) -> String {
    if production.is_some_and(|p| p.is_match(name)) {
        "production".to_owned()
    } else {
        name.to_owned()
    }
}

/// A forge's timestamp as RFC 3339 in UTC, or `None` when it is none of
/// the forms forges send: RFC 3339 (`2021-04-28T19:50:00Z`, with an
/// offset or fractions), GitLab's `2021-04-28 21:50:00 +0200` and
/// `2021-04-28 19:50:00 UTC`.
pub fn timestamp(text: &str) -> Option<String> {
    millis(text).map(format_time)
}

/// As [`timestamp`], in epoch milliseconds.
pub fn millis(text: &str) -> Option<Millis> {
    use time::format_description::FormatItem;
    use time::macros::format_description;
    const OFFSET: &[FormatItem<'_>] = format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second] [offset_hour sign:mandatory][offset_minute]"
    );
    const UTC: &[FormatItem<'_>] =
        format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    let t = text.trim();
    if let Ok(ms) = parse_time(t) {
        return Some(ms);
    }
    let at = time::OffsetDateTime::parse(t, OFFSET).ok().or_else(|| {
        time::PrimitiveDateTime::parse(t, UTC)
            .ok()
            .map(time::PrimitiveDateTime::assume_utc)
    })?;
    Millis::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()
}

/// Text as an owned `Cow` for the wire types.
pub fn owned(s: impl Into<String>) -> Cow<'static, str> {
    Cow::Owned(s.into())
}

/// One payload field as it came: absent (or `null`), present but not of the
/// expected type, or read. Payload structs wrap every field they read in it,
/// so that a wrong type never fails the whole parse with serde's message
/// (which quotes the value) and the mapping names the field itself.
#[derive(Debug, Clone, Default)]
pub enum Field<T> {
    /// Not in the payload, or `null`.
    #[default]
    Absent,
    /// In the payload with another type.
    Wrong,
    /// Read.
    Ok(T),
}

impl<'de, T: serde::de::DeserializeOwned> serde::Deserialize<'de> for Field<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // The field's JSON text, borrowed from the body unparsed, then read
        // as `T` on its own: a mistyped field fails only this second parse.
        // (Through a `serde_json::Value` instead, every object the payload
        // nests was built as a tree of maps and strings first: a fifth of
        // the bridge's CPU per GitHub deployment.)
        let raw = <&'de serde_json::value::RawValue as serde::Deserialize>::deserialize(d)?;
        if raw.get() == "null" {
            return Ok(Field::Absent);
        }
        Ok(serde_json::from_str::<T>(raw.get()).map_or(Field::Wrong, Field::Ok))
    }
}

impl<T> Field<T> {
    /// The value, or `Malformed(name)` when it is absent or mistyped.
    pub fn required(self, name: &str) -> Result<T, Malformed> {
        match self {
            Field::Ok(v) => Ok(v),
            _ => Err(Malformed(name.to_owned())),
        }
    }

    /// The value if present; `Malformed(name)` when it is mistyped.
    pub fn optional(self, name: &str) -> Result<Option<T>, Malformed> {
        match self {
            Field::Ok(v) => Ok(Some(v)),
            Field::Absent => Ok(None),
            Field::Wrong => Err(Malformed(name.to_owned())),
        }
    }

    /// The value if present and of its type, else `None`: for fields that
    /// only decide whether an event is mapped at all.
    pub fn ok(self) -> Option<T> {
        match self {
            Field::Ok(v) => Some(v),
            _ => None,
        }
    }
}

impl Field<String> {
    /// Required text that is not empty (an id, a name, a SHA).
    pub fn text(self, name: &str) -> Result<String, Malformed> {
        let text = self.required(name)?;
        if text.trim().is_empty() {
            return Err(Malformed(name.to_owned()));
        }
        Ok(text)
    }

    /// A required forge timestamp as RFC 3339 UTC ([`timestamp`]).
    pub fn time(self, name: &str) -> Result<String, Malformed> {
        timestamp(&self.required(name)?).ok_or_else(|| Malformed(name.to_owned()))
    }

    /// An optional forge timestamp; present but unreadable is malformed.
    pub fn opt_time(self, name: &str) -> Result<Option<String>, Malformed> {
        self.optional(name)?
            .map(|t| timestamp(&t).ok_or_else(|| Malformed(name.to_owned())))
            .transpose()
    }
}

/// A delivery's body as the payload struct `T` (whose fields are
/// [`Field`]s); `Malformed("body")` when it is not a JSON object.
pub fn json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Malformed> {
    let malformed = || Malformed("body".to_owned());
    // A struct would also read a JSON array, field by position.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(malformed());
    }
    serde_json::from_slice(body).map_err(|_| malformed())
}

/// Whether two label names are the same, ignoring case (`Incident` is
/// `incident`).
pub fn same_label(a: &str, b: &str) -> bool {
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

#[cfg(test)]
mod tests;
