//! `valuepulse emit work-item` and `valuepulse emit satisfaction`: the
//! value-stream events, built from flags as native v1 JSON (see the
//! README, "Value stream").

use serde_json::Value;

use super::{EmitError, TicketEvent};
use super::{Target, generated_id, invalid, time_flag, to_value};
use crate::domain::FlowCategory;
use crate::ingest::decode::{SatisfactionV1, WorkItemV1, format_time};

/// A work item's flow category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CategoryArg {
    /// Someone works on it.
    Active,
    /// It waits (queued, blocked, in review, waiting for deploy).
    Waiting,
    /// It is finished.
    Done,
}

impl From<CategoryArg> for FlowCategory {
    fn from(c: CategoryArg) -> Self {
        match c {
            CategoryArg::Active => FlowCategory::Active,
            CategoryArg::Waiting => FlowCategory::Waiting,
            CategoryArg::Done => FlowCategory::Done,
        }
    }
}

/// `valuepulse emit work-item`: one state transition.
#[derive(Debug, Clone, clap::Args)]
pub struct WorkItemArgs {
    /// Item id (ticket key), shared by all its transitions; also the record key.
    #[arg(long)]
    pub id: String,
    /// Service the item belongs to.
    #[arg(long)]
    pub service: String,
    /// State entered, as the tracker names it (e.g. "In Progress").
    #[arg(long)]
    pub state: String,
    /// Category, which wins over the daemon's state mapping.
    #[arg(long, value_enum)]
    pub category: Option<CategoryArg>,
    /// Owning team.
    #[arg(long)]
    pub team: Option<String>,
    /// Environment.
    #[arg(long)]
    pub environment: Option<String>,
    /// When the item entered the state, RFC 3339 [default: now].
    #[arg(long)]
    pub at: Option<String>,
    /// A change (commit id) implementing the item; repeat for each.
    #[arg(long = "change", value_name = "SHA")]
    pub changes: Vec<String>,
    /// A deploy that shipped the item; repeat for each.
    #[arg(long = "deploy", value_name = "ID")]
    pub deploys: Vec<String>,
    /// CDEvents ticket event for the cdevents formats [default: closed for a done category or state, created for the state "created", else updated].
    #[arg(long, value_enum)]
    pub ticket: Option<TicketEvent>,
    /// Ticket summary (cdevents formats; a created ticket needs one) [default: the id].
    #[arg(long)]
    pub summary: Option<String>,
    /// Where and how to publish.
    #[command(flatten)]
    pub target: Target,
}

/// `valuepulse emit satisfaction`: one CSAT or NPS response.
#[derive(Debug, Clone, clap::Args)]
#[command(group(clap::ArgGroup::new("answer").required(true).args(["csat", "nps"])))]
pub struct SatisfactionArgs {
    /// Response id, the de-duplication key [default: generated, printed].
    #[arg(long)]
    pub id: Option<String>,
    /// Service the response is about (also the record key).
    #[arg(long)]
    pub service: Option<String>,
    /// Owning team.
    #[arg(long)]
    pub team: Option<String>,
    /// Feature the response is about (the record key without --service).
    #[arg(long)]
    pub feature: Option<String>,
    /// A CSAT answer, 1-5.
    #[arg(long)]
    pub csat: Option<i64>,
    /// An NPS answer, 0-10.
    #[arg(long)]
    pub nps: Option<i64>,
    /// When it was given, RFC 3339 [default: now].
    #[arg(long)]
    pub at: Option<String>,
    /// Where and how to publish (native only: no CDEvents type carries a survey response).
    #[command(flatten)]
    pub target: Target,
}

/// The native v1 work item described by the flags.
pub(super) fn work_item_json(a: &WorkItemArgs, now_ms: i64) -> Result<(String, Value), EmitError> {
    let at = a.at.clone().unwrap_or_else(|| format_time(now_ms));
    time_flag("--at", &at)?;
    let wire = WorkItemV1 {
        id: a.id.as_str().into(),
        service: a.service.as_str().into(),
        team: a.team.as_deref().map(Into::into),
        environment: a.environment.as_deref().map(Into::into),
        state: a.state.as_str().into(),
        category: a.category.map(|c| FlowCategory::from(c).as_str().into()),
        at: at.into(),
        changes: a.changes.iter().map(|c| c.as_str().into()).collect(),
        deploys: a.deploys.iter().map(|d| d.as_str().into()).collect(),
        summary: a.summary.as_deref().map(Into::into),
        ..WorkItemV1::default()
    };
    Ok((a.id.clone(), to_value(&wire)))
}

/// The native v1 satisfaction response described by the flags, and its
/// record key (the service, else the feature).
pub(super) fn satisfaction_json(
    a: &SatisfactionArgs,
    now_ms: i64,
) -> Result<(String, String, Value), EmitError> {
    let key = a
        .service
        .clone()
        .or_else(|| a.feature.clone())
        .ok_or_else(|| invalid("a response needs --service or --feature"))?;
    let (kind, score) = match (a.csat, a.nps) {
        (Some(s), None) => ("csat", s),
        (None, Some(s)) => ("nps", s),
        _ => return Err(invalid("give one of --csat and --nps")),
    };
    let at = a.at.clone().unwrap_or_else(|| format_time(now_ms));
    time_flag("--at", &at)?;
    let id = a.id.clone().unwrap_or_else(|| generated_id("r", now_ms));
    let wire = SatisfactionV1 {
        id: id.as_str().into(),
        service: a.service.as_deref().map(Into::into),
        team: a.team.as_deref().map(Into::into),
        feature: a.feature.as_deref().map(Into::into),
        kind: kind.into(),
        score,
        at: at.into(),
        specversion: None,
    };
    let value = to_value(&wire);
    Ok((id, key, value))
}
