//! The command line of `valuepulse emit`: one subcommand per event, its
//! flags, and where and how to publish (`Target`).

use std::path::PathBuf;
use std::time::Duration;

use super::{CdSpec, DEFAULT_SOURCE, Format, TicketEvent};
use crate::domain::FlowCategory;

/// `valuepulse emit <deploy|incident|work-item|satisfaction>`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum EmitCommand {
    /// Publish a deploy event (to `topics.deploys`).
    Deploy(DeployArgs),
    /// Publish an incident event (to `topics.incidents`): one id, opened then resolved.
    Incident(IncidentArgs),
    /// Publish a work-item state transition (to `work-items`), native or as a CDEvents ticket.
    WorkItem(WorkItemArgs),
    /// Publish a CSAT or NPS response (to `satisfaction`), native only.
    Satisfaction(SatisfactionArgs),
}

impl EmitCommand {
    /// Where and how to publish.
    pub(super) fn target(&self) -> &Target {
        match self {
            EmitCommand::Deploy(a) => &a.target,
            EmitCommand::Incident(a) => &a.target,
            EmitCommand::WorkItem(a) => &a.target,
            EmitCommand::Satisfaction(a) => &a.target,
        }
    }
}

/// Where and how to publish.
#[derive(Debug, Clone, clap::Args)]
pub struct Target {
    /// Wire format.
    #[arg(long, value_enum, default_value_t = Format::Native)]
    pub format: Format,
    /// CDEvents spec version, for the cdevents formats.
    #[arg(long, value_enum, default_value_t = CdSpec::V0_5)]
    pub cdevents_spec: CdSpec,
    /// CloudEvents/CDEvents `source` (a URI reference), for the cdevents formats.
    #[arg(long, default_value = DEFAULT_SOURCE)]
    pub source: String,
    /// TOML file layered over the embedded defaults (brokers, topics, `[kafka.properties]`), as for `run`.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Bootstrap servers; overrides `kafka.brokers`.
    #[arg(long)]
    pub brokers: Option<String>,
    /// Topic; overrides `topics.deploys`, `topics.incidents`, `topics.work_items` or `topics.satisfaction`.
    #[arg(long)]
    pub topic: Option<String>,
    /// Longest wait for the broker's acknowledgement.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

/// Final state of a deploy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DeployStatusArg {
    /// The change reached the environment and stayed.
    Succeeded,
    /// The deploy failed.
    Failed,
    /// The deploy was rolled back (a correction of an earlier event with the same id).
    #[value(name = "rolled_back")]
    RolledBack,
}

/// Whether the incident opened or was resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum IncidentStatusArg {
    /// The incident started.
    Opened,
    /// The incident is over (needs --id, --opened-at and --resolved-at).
    Resolved,
}

/// `valuepulse emit deploy`.
#[derive(Debug, Clone, clap::Args)]
pub struct DeployArgs {
    /// Deploy id, the de-duplication key [default: generated, printed].
    #[arg(long)]
    pub id: Option<String>,
    /// Service deployed (also the record key).
    #[arg(long)]
    pub service: String,
    /// Final state.
    #[arg(long, value_enum)]
    pub status: DeployStatusArg,
    /// Owning team.
    #[arg(long)]
    pub team: Option<String>,
    /// Environment [default: production].
    #[arg(long)]
    pub environment: Option<String>,
    /// When the deploy finished, RFC 3339 [default: now].
    #[arg(long)]
    pub finished_at: Option<String>,
    /// When the deploy started, RFC 3339.
    #[arg(long)]
    pub started_at: Option<String>,
    /// Version deployed.
    #[arg(long)]
    pub version: Option<String>,
    /// Artifact deployed, e.g. an image digest `sha256:…` (required by the cdevents formats).
    #[arg(long)]
    pub artifact: Option<String>,
    /// A change shipped, `SHA@COMMITTED_AT` (RFC 3339); repeat for each.
    #[arg(long = "commit", value_name = "SHA@TIME")]
    pub commits: Vec<String>,
    /// A feature shipped; repeat for each.
    #[arg(long = "feature", value_name = "NAME")]
    pub features: Vec<String>,
    /// Id of the earlier deploy this one rolls back.
    #[arg(long)]
    pub rollback_of: Option<String>,
    /// Id of the incident this deploy is an unplanned fix for.
    #[arg(long)]
    pub fixes_incident: Option<String>,
    /// Where and how to publish.
    #[command(flatten)]
    pub target: Target,
}

/// `valuepulse emit incident`.
#[derive(Debug, Clone, clap::Args)]
pub struct IncidentArgs {
    /// Incident id, shared by its opened and resolved events [default for opened: generated, printed].
    #[arg(long)]
    pub id: Option<String>,
    /// Affected service (also the record key).
    #[arg(long)]
    pub service: String,
    /// Which of the two events this is.
    #[arg(long, value_enum)]
    pub status: IncidentStatusArg,
    /// Owning team.
    #[arg(long)]
    pub team: Option<String>,
    /// Environment [default: production].
    #[arg(long)]
    pub environment: Option<String>,
    /// Severity, e.g. sev2.
    #[arg(long)]
    pub severity: Option<String>,
    /// When the incident started, RFC 3339 [default for opened: now].
    #[arg(long)]
    pub opened_at: Option<String>,
    /// When it was resolved, RFC 3339 (resolved only).
    #[arg(long)]
    pub resolved_at: Option<String>,
    /// Id of the deploy that caused it.
    #[arg(long)]
    pub caused_by_deploy: Option<String>,
    /// Artifact running when it began, e.g. an image digest (for attribution).
    #[arg(long)]
    pub artifact: Option<String>,
    /// Where and how to publish.
    #[command(flatten)]
    pub target: Target,
}

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
