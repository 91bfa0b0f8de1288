//! Incident attribution, failed deployment recovery and deployment rework:
//! the links between deploys and incidents, derived at report time from the
//! exact event lists of [`super::DoraState`].
//!
//! An incident is linked to a deploy by the first rule that applies:
//!
//! 1. **explicit**: its `caused_by_deploy` names the deploy. This always wins,
//!    even when the named deploy is not retained (older than the history, or
//!    in an untracked environment): the incident is then attributed, but no
//!    deploy in the windows becomes a failure through it;
//! 2. **artifact**: a deploy of the same service and environment shipped the
//!    incident's `artifact`. When several did, the latest one finished at or
//!    before the incident opened; when all finished after it, the earliest;
//! 3. **window** (loose mode only): the latest deploy of the same service and
//!    environment finished within `attribution.window` before the incident
//!    opened (`opened_at − window ≤ finished_at ≤ opened_at`).
//!
//! Rules 2 and 3 need the time the incident opened: a resolution whose
//! opening time is unknown (no `opened_at`, no retained opening to pair
//! with) can only be linked by rule 1.
//!
//! Rules 2 and 3 consider only deployments (deploys that reached their
//! environment): a `failed` deploy never ran, so nothing infers that it
//! caused an incident. Only an explicit link can name one; whether it then
//! counts as a change failure is `dora.failed_deploys`.
//!
//! *Strict* attribution uses rules 1 and 2, *loose* adds rule 3. An incident
//! that no rule links is *unattributed* in both modes. Ties between deploys
//! finished at the same millisecond go to the greater deploy id.

use std::collections::{HashMap, HashSet};

use super::{DeployRecord, IncidentRecord, IncidentSide, Key};
use crate::domain::event::DeployStatus;
use crate::domain::time::Millis;

/// Which incident links make a deploy a change failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Attribution {
    /// Explicit `caused_by_deploy` and same-artifact links only.
    Strict,
    /// Strict links plus the time-window inference.
    Loose,
}

impl Attribution {
    /// Both modes, in export order.
    pub const ALL: [Attribution; 2] = [Attribution::Strict, Attribution::Loose];

    /// The `attribution` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Attribution::Strict => "strict",
            Attribution::Loose => "loose",
        }
    }

    /// Dense index into [`Attribution::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// The rule that linked an incident to a deploy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// The incident's `caused_by_deploy`.
    Explicit,
    /// The deploy that shipped the incident's `artifact`.
    Artifact,
    /// The latest deploy within `attribution.window` before the incident
    /// opened (loose mode only).
    Window,
}

impl Rule {
    /// Whether strict attribution accepts this link.
    pub fn is_strict(self) -> bool {
        !matches!(self, Rule::Window)
    }

    /// A short name, for logs and audits.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Explicit => "explicit",
            Rule::Artifact => "artifact",
            Rule::Window => "window",
        }
    }
}

/// How one incident is attributed: the audit trail of the change failure
/// figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IncidentLink<'s> {
    /// Incident id.
    pub incident: &'s str,
    /// When the incident opened; `None` for a resolution whose opening is
    /// unknown (unpaired).
    pub opened_at: Option<Millis>,
    /// The deploy it is linked to and by which rule; `None` when it is
    /// unattributed in both modes.
    pub link: Option<(&'s str, Rule)>,
}

/// One incident as attribution sees it: per field, the resolution's value
/// when it has one, else the opening's (a resolution may name the cause that
/// the opening did not know). An opening and a resolution that do not
/// belong together (different sources) are not merged: the view is the
/// resolution's.
#[derive(Debug, Clone, Copy)]
pub(super) struct IncidentView<'s> {
    pub(super) key: Key,
    pub(super) service: &'s str,
    /// `None` for an unpaired resolution.
    pub(super) opened_at: Option<Millis>,
    pub(super) resolved_at: Option<Millis>,
    pub(super) caused_by: Option<&'s str>,
    pub(super) artifact: Option<&'s str>,
}

impl IncidentRecord {
    /// The merged view of both events, or `None` when neither is retained.
    pub(super) fn view(&self) -> Option<IncidentView<'_>> {
        let latest: &IncidentSide = self.resolved.as_ref().or(self.opened.as_ref())?;
        let opening = if self.resolved.is_none() || self.belongs() {
            self.opened.as_ref()
        } else {
            None
        };
        let field = |f: fn(&IncidentSide) -> Option<&str>| {
            self.resolved
                .as_ref()
                .and_then(f)
                .or_else(|| opening.and_then(f))
        };
        Some(IncidentView {
            key: latest.key,
            service: &latest.service,
            opened_at: self.opened_at(),
            resolved_at: self.resolved.as_ref().map(|r| r.at),
            caused_by: field(|s| s.caused_by_deploy.as_deref()),
            artifact: field(|s| s.artifact.as_deref()),
        })
    }
}

/// One retained deploy with its id.
#[derive(Debug, Clone, Copy)]
struct Entry<'s> {
    id: &'s str,
    finished_at: Millis,
    status: DeployStatus,
    artifact: Option<&'s str>,
}

/// Retained deployments (deploys that reached their environment) by
/// (service, environment), each list sorted by
/// `(finished_at, id)`. Artifacts are matched by scanning a list: only the
/// few incidents that name an artifact pay for it, where a map per artifact
/// would cost every report one allocation per deploy.
pub(super) struct DeployIndex<'s> {
    by_target: HashMap<(&'s str, u8), Vec<Entry<'s>>>,
}

impl<'s> DeployIndex<'s> {
    pub(super) fn new(deploys: &'s HashMap<Box<str>, DeployRecord>) -> Self {
        let mut by_target: HashMap<(&str, u8), Vec<Entry<'_>>> = HashMap::new();
        for (id, d) in deploys {
            // A failed deploy never ran in its environment: no artifact or
            // window rule can point at it (an explicit link still can).
            if !d.status.reached_environment() {
                continue;
            }
            let e = Entry {
                id,
                finished_at: d.finished_at,
                status: d.status,
                artifact: d.artifact.as_deref(),
            };
            by_target
                .entry((&d.service, d.key.environment))
                .or_default()
                .push(e);
        }
        for v in by_target.values_mut() {
            v.sort_unstable_by_key(|e| (e.finished_at, e.id));
        }
        Self { by_target }
    }

    /// Links an incident by the first rule that applies (see the module
    /// documentation). `window` is `attribution.window` in milliseconds.
    pub(super) fn attribute(
        &self,
        i: &IncidentView<'s>,
        window: Millis,
    ) -> Option<(&'s str, Rule)> {
        if let Some(id) = i.caused_by {
            return Some((id, Rule::Explicit));
        }
        let opened_at = i.opened_at?;
        let all = self.by_target.get(&(i.service, i.key.environment))?;
        let before = all.partition_point(|e| e.finished_at <= opened_at);
        if let Some(a) = i.artifact {
            let shipped = |e: &&Entry<'_>| e.artifact == Some(a);
            // The latest shipping at or before the opening, else the earliest after.
            if let Some(e) = all[..before]
                .iter()
                .rev()
                .find(shipped)
                .or_else(|| all[before..].iter().find(shipped))
            {
                return Some((e.id, Rule::Artifact));
            }
        }
        let latest = all[..before].last()?;
        (latest.finished_at >= opened_at.saturating_sub(window))
            .then_some((latest.id, Rule::Window))
    }

    /// `finished_at` of the first deploy of the same service and environment
    /// finished strictly after `d`, with status `succeeded`, that is not
    /// itself a change failure (`named` holds the deploys made failures by a
    /// rollback or a strict incident link).
    pub(super) fn next_success(&self, d: &DeployRecord, named: &HashSet<&str>) -> Option<Millis> {
        let all = self.by_target.get(&(&*d.service, d.key.environment))?;
        let after = all.partition_point(|e| e.finished_at <= d.finished_at);
        all[after..]
            .iter()
            .find(|e| e.status == DeployStatus::Succeeded && !named.contains(e.id))
            .map(|e| e.finished_at)
    }
}

/// One incident with its link.
pub(super) struct Linked<'s> {
    pub(super) id: &'s str,
    pub(super) view: IncidentView<'s>,
    /// The deploy and the rule, or `None` when unattributed.
    pub(super) link: Option<(&'s str, Rule)>,
}

/// Everything the report needs from the links, computed once per report.
pub(super) struct Links<'s> {
    /// Every incident with its link, in no particular order.
    pub(super) incidents: Vec<Linked<'s>>,
    /// Deploys that are change failures in strict mode for a reason other
    /// than their own status: named by a `rollback_of` or by a strict link.
    pub(super) named_strict: HashSet<&'s str>,
    /// Deploys linked only by the window rule (loose failures on top of the
    /// strict ones).
    pub(super) named_loose_only: HashSet<&'s str>,
    /// `resolved_at` of the resolved incidents strictly linked to each deploy.
    pub(super) resolutions: HashMap<&'s str, Vec<Millis>>,
    /// The deploy index, for recovery.
    pub(super) index: DeployIndex<'s>,
}

impl<'s> Links<'s> {
    /// Links every retained incident.
    pub(super) fn new(
        deploys: &'s HashMap<Box<str>, DeployRecord>,
        incidents: &'s HashMap<Box<str>, IncidentRecord>,
        window: Millis,
    ) -> Self {
        let index = DeployIndex::new(deploys);
        let mut named_strict: HashSet<&str> = deploys
            .values()
            .filter_map(|d| d.rollback_of.as_deref())
            .collect();
        let mut window_linked = HashSet::new();
        let mut resolutions: HashMap<&str, Vec<Millis>> = HashMap::new();
        let mut linked = Vec::with_capacity(incidents.len());
        for (id, r) in incidents {
            let Some(view) = r.view() else { continue };
            let link = index.attribute(&view, window);
            match link {
                Some((d, rule)) if rule.is_strict() => {
                    named_strict.insert(d);
                    if let Some(t) = view.resolved_at {
                        resolutions.entry(d).or_default().push(t);
                    }
                }
                Some((d, _)) => {
                    window_linked.insert(d);
                }
                None => {}
            }
            linked.push(Linked { id, view, link });
        }
        let named_loose_only = window_linked
            .into_iter()
            .filter(|d| !named_strict.contains(d))
            .collect();
        Self {
            incidents: linked,
            named_strict,
            named_loose_only,
            resolutions,
            index,
        }
    }

    /// Whether deploy `id` is a change failure in `mode`: by its own status
    /// (`rolled_back`, or `failed`: callers ask about a failed deploy only
    /// when `dora.failed_deploys` makes it one), by a `rollback_of` or by an
    /// incident link.
    pub(super) fn is_failure(&self, id: &str, d: &DeployRecord, mode: Attribution) -> bool {
        d.status != DeployStatus::Succeeded
            || self.named_strict.contains(id)
            || (mode == Attribution::Loose && self.named_loose_only.contains(id))
    }

    /// Failed deployment recovery time of a strict change failure: from its
    /// `finished_at` to the earlier of the next succeeded, non-failed deploy
    /// of the same service and environment, and the earliest resolution (at
    /// or after `finished_at`) of an incident strictly linked to it. `None`
    /// while neither has happened.
    pub(super) fn recovery(&self, id: &str, d: &DeployRecord) -> Option<Millis> {
        let by_deploy = self.index.next_success(d, &self.named_strict);
        let by_incident = self
            .resolutions
            .get(id)
            .and_then(|ts| ts.iter().copied().filter(|&t| t >= d.finished_at).min());
        let end = match (by_deploy, by_incident) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        Some(end - d.finished_at)
    }
}
