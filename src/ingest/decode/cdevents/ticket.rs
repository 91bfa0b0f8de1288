//! CDEvents tickets (spec v0.4+) as work-item transitions. A ticket has
//! no service, no team (only a free-form `group`) and no workflow state:
//! `customData` carries them (see the parent module's table).

use std::borrow::Cow;

use super::custom_data::{ChangeEntry, CustomData};
use crate::domain::event::{FlowCategory, InvalidReason, WorkItem};
use crate::domain::{Event, Millis};
use crate::ingest::decode::json::{Text, cow};
use crate::ingest::decode::types::DecodeError;

/// The three ticket events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ticket {
    Created,
    Updated,
    Closed,
}

/// The transition a ticket event stands for: ticket `id` (the subject id),
/// at `at` (the context timestamp), with its `customData` and its
/// `subject.content.group`.
pub(super) fn work_item<'a>(
    ticket: Ticket,
    id: Text<'a>,
    custom: CustomData<'a>,
    group: Option<Text<'a>>,
    at: Millis,
) -> Result<Event<'a>, DecodeError> {
    let service = cow(custom.service).ok_or(InvalidReason::MissingField)?;
    let category = match custom.category {
        Some(c) => Some(FlowCategory::from_name(&c.0).ok_or(InvalidReason::BadStatus)?),
        None => (ticket == Ticket::Closed).then_some(FlowCategory::Done),
    };
    let state = match (cow(custom.state), ticket) {
        (Some(s), _) => s,
        (None, Ticket::Created) => Cow::Borrowed("created"),
        (None, Ticket::Closed) => Cow::Borrowed("closed"),
        // An update that names neither a state nor a category is no
        // transition (a new assignee, a relabel).
        (None, Ticket::Updated) => {
            Cow::Borrowed(category.ok_or(DecodeError::Unsupported)?.as_str())
        }
    };
    let changes = custom
        .changes
        .into_iter()
        .filter_map(|e| match e {
            ChangeEntry::Id(t) => Some(t.0),
            ChangeEntry::Change(c) => c.id,
        })
        .collect();
    let w = WorkItem {
        id: id.0,
        service,
        team: cow(custom.team).or_else(|| cow(group)),
        environment: cow(custom.environment),
        state,
        category,
        at,
        changes,
        deploys: custom.deploys.into_iter().map(|t| t.0).collect(),
    };
    w.validate()?;
    Ok(Event::WorkItem(w))
}
