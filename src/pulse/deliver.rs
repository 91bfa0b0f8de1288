//! `valuepulse pulse send`: the Weekly Value Pulse delivered on a schedule.
//!
//! One run (a Kubernetes `CronJob`, every Friday) fetches the pulse of each
//! team that has destinations in `[pulse.delivery]` (and the
//! organisation's, when a destination names no team) from the daemon's
//! `GET /pulse?format=json`, renders it for each destination and posts it:
//!
//! ```text
//! daemon /pulse?format=json&team=T ─► Pulse ─┬─► slack::render    Block Kit  ─► Slack / Mattermost / Rocket.Chat
//!                                            ├─► teams::render    Adaptive Card in a message envelope ─► Teams workflow
//!                                            └─► the pulse JSON as is ─► generic webhook
//! ledger (topics.pulse_deliveries, compacted): read before posting, written after a 2xx
//! ```
//!
//! **At most once per (team, ISO week, destination).** Before posting, the
//! run reads the delivery record back from Kafka ([`ledger`]); a
//! destination whose key `<team>/<week>/<destination>` is there is
//! skipped, so a re-run of the same week's job posts nothing, on any
//! replica, after any restart. The record is written only after the
//! destination answered 2xx.
//!
//! **Failures are retried, then reported, never lost.** A 5xx, a 429 or a
//! failed connection is tried again with exponential backoff ([`backoff`])
//! until `pulse.delivery.attempts` tries are used; then one ERROR line names
//! the team and the destination (its name and host, never its URL's
//! secret part), nothing is recorded, and the exit code is non-zero
//! ([`Report::exit_code`]), so the next run tries again.
//!
//! | module | job |
//! |---|---|
//! | [`slack`] | pulse → Block Kit JSON (pure) |
//! | [`teams`] | pulse → Adaptive Card in the Teams workflow envelope (pure) |
//! | [`ledger`] | the delivery record in Kafka: read back, written after a 2xx |

pub mod ledger;
pub mod slack;
pub mod teams;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::config::Config;
use crate::config::pulse_delivery::{DeliveryConfig, Destination, DestinationKind, ORGANISATION};
use crate::pulse::model::{Pulse, SCHEMA, Section};

use crate::pulse::client::{Client, DaemonAccess, Posted};
use ledger::Ledger;

/// Exit code when the flags name nothing to send (sysexits' `EX_USAGE`).
pub const EXIT_USAGE: u8 = 64;
/// Exit code when the daemon or Kafka cannot be reached (`EX_UNAVAILABLE`).
pub const EXIT_UNAVAILABLE: u8 = 69;
/// Exit code when a destination refused or failed every try
/// (`EX_TEMPFAIL`: the next run tries again).
pub const EXIT_TEMPFAIL: u8 = 75;

/// Log directives `pulse send` always adds: the HTTP client logs each
/// request's URL at debug level, and a webhook URL is a secret.
pub const QUIET_LOGS: &[&str] = &["ureq=warn", "ureq_proto=warn"];

/// `valuepulse pulse send`.
#[derive(Debug, Clone, clap::Args)]
pub struct SendArgs {
    /// Base URL of the daemon's admin server, e.g. `http://valuepulse:9464`
    /// (`https://` when its `http.web_config` has TLS).
    #[arg(long)]
    pub url: String,
    /// Send only this team's pulse (`(organisation)` for the organisation's).
    #[arg(long)]
    pub team: Option<String>,
    /// TOML file layered over the embedded defaults ([pulse.delivery]).
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Basic auth and CA for the daemon's admin port.
    #[command(flatten)]
    pub access: DaemonAccess,
}

/// What a run did, destination by destination.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// `(team, destination)` posted and recorded by this run.
    pub delivered: Vec<(String, String)>,
    /// `(team, destination)` already delivered this week: not posted.
    pub already: Vec<(String, String)>,
    /// `(team, destination)` that failed every try or refused the post.
    pub failed: Vec<(String, String)>,
    /// Teams whose pulse the daemon did not give.
    pub unfetched: Vec<String>,
    /// `(team, destination)` posted but not recorded (Kafka refused the
    /// record): a re-run would post again.
    pub unrecorded: Vec<(String, String)>,
}

impl Report {
    /// 0 when every destination has this week's pulse; 69 when the daemon
    /// or Kafka could not be used; 75 when a destination failed.
    pub fn exit_code(&self) -> u8 {
        if !self.unfetched.is_empty() || !self.unrecorded.is_empty() {
            EXIT_UNAVAILABLE
        } else if !self.failed.is_empty() {
            EXIT_TEMPFAIL
        } else {
            0
        }
    }

    /// One line for the operator.
    pub fn summary(&self) -> String {
        format!(
            "{} delivered, {} already delivered this week, {} failed, {} teams not fetched, {} posted but not recorded",
            self.delivered.len(),
            self.already.len(),
            self.failed.len(),
            self.unfetched.len(),
            self.unrecorded.len()
        )
    }
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The flags select nothing (exit 64).
    #[error("{0}")]
    Usage(String),
    /// Kafka's delivery record cannot be read (exit 69): nothing was sent.
    #[error(transparent)]
    Ledger(#[from] ledger::LedgerError),
}

impl SendError {
    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) => EXIT_USAGE,
            Self::Ledger(_) => EXIT_UNAVAILABLE,
        }
    }
}

/// The four questions, in the ritual's order: (title, question, section).
pub fn sections(p: &Pulse) -> [(&'static str, &'static str, &Section); 4] {
    [
        (
            "Value created",
            "What customer problems did we solve this week?",
            &p.created,
        ),
        (
            "Value blocked",
            "What prevented us from creating more value?",
            &p.blocked,
        ),
        (
            "Value opportunities",
            "What customer pain points did we discover?",
            &p.opportunities,
        ),
        (
            "Value risks",
            "What might destroy value we've already created?",
            &p.risks,
        ),
    ]
}

/// The heading: `Weekly Value Pulse: payments, 2026-W49`.
pub fn title(p: &Pulse) -> String {
    let who = p.team.as_deref().unwrap_or("the organisation");
    format!("Weekly Value Pulse: {who}, {}", p.week)
}

/// The period line: `7 days from 2026-11-27 to 2026-12-04, compared with
/// the 7 days before.` (dates as the pulse gives them, UTC).
pub fn period(p: &Pulse) -> String {
    let day = |t: &str| t.get(..10).unwrap_or(t).to_owned();
    format!(
        "7 days from {} to {}, compared with the 7 days before.",
        day(&p.from),
        day(&p.to)
    )
}

/// The "and N more" line of a section, when items were left out.
pub fn more_line(section: &Section) -> Option<String> {
    (section.more > 0).then(|| format!("…and {} more", section.more))
}

/// What a section says when it has no item.
pub const NOTHING: &str = "Nothing this week.";

/// The body posted to a destination of `kind`.
pub fn payload(kind: DestinationKind, p: &Pulse) -> Vec<u8> {
    let value = match kind {
        DestinationKind::Slack => slack::render(p),
        DestinationKind::Teams => teams::render(p),
        DestinationKind::Webhook => serde_json::to_value(p).unwrap_or_default(),
    };
    serde_json::to_vec(&value).unwrap_or_default()
}

/// The delivery record's key: `<team>/<week>/<destination>`.
pub fn record_key(team: &str, week: &str, destination: &str) -> String {
    format!("{team}/{week}/{destination}")
}

/// The wait before try `next` (2 for the first retry): `backoff ×
/// 2^(next − 2)`, or the destination's `Retry-After` when it gave one,
/// never more than `max_backoff`.
pub fn backoff(settings: &DeliveryConfig, next: u32, retry_after: Option<Duration>) -> Duration {
    let doubled = settings
        .backoff
        .saturating_mul(1u32 << next.saturating_sub(2).min(20));
    retry_after.unwrap_or(doubled).min(settings.max_backoff)
}

/// Runs `pulse send` with `config`: fetch, skip what is recorded, post,
/// record; waits between tries ([`backoff`]) on this thread.
pub fn run(config: &Config, args: &SendArgs) -> Result<Report, SendError> {
    let delivery = &config.pulse.delivery;
    let chosen: Vec<&Destination> = delivery
        .destinations
        .iter()
        .filter(|d| args.team.as_deref().is_none_or(|t| d.team_label() == t))
        .collect();
    if chosen.is_empty() {
        if let Some(team) = &args.team {
            return Err(SendError::Usage(format!(
                "no destination in [pulse.delivery] is for team {team:?}"
            )));
        }
        tracing::warn!("No destination in [pulse.delivery]; nothing to send.");
        return Ok(Report::default());
    }
    let client = Client::with_daemon_access(delivery.timeout, &args.access)
        .map_err(|e| SendError::Usage(e.to_string()))?;
    let mut ledger = Ledger::open(config)?;
    let mut by_team: BTreeMap<Option<&str>, Vec<&Destination>> = BTreeMap::new();
    for d in chosen {
        by_team.entry(d.team.as_deref()).or_default().push(d);
    }
    let mut report = Report::default();
    for (team, destinations) in by_team {
        let label = team.unwrap_or(ORGANISATION);
        let pulse = match client.pulse(&args.url, team) {
            Ok(p) if p.schema == SCHEMA && p.team.as_deref() == team => p,
            Ok(p) => {
                tracing::error!(
                    team = label,
                    schema = %p.schema,
                    "The daemon's pulse is not the one asked for (schema or team differs); nothing posted for this team."
                );
                report.unfetched.push(label.to_owned());
                continue;
            }
            Err(e) => {
                tracing::error!(
                    team = label,
                    reason = %e,
                    "Cannot fetch the team's pulse from the daemon; nothing posted for this team."
                );
                report.unfetched.push(label.to_owned());
                continue;
            }
        };
        for d in destinations {
            deliver_one(&client, &mut ledger, delivery, d, &pulse, &mut report);
        }
    }
    Ok(report)
}

/// One destination: skip when recorded, else post with retries and record.
fn deliver_one(
    client: &Client,
    ledger: &mut Ledger,
    settings: &DeliveryConfig,
    d: &Destination,
    pulse: &Pulse,
    report: &mut Report,
) {
    let team = d.team_label();
    let pair = (team.to_owned(), d.name.clone());
    let key = record_key(team, &pulse.week, &d.name);
    if ledger.contains(&key) {
        tracing::info!(
            team,
            destination = %d.name,
            week = %pulse.week,
            "Already delivered this week; not posted again."
        );
        report.already.push(pair);
        return;
    }
    let body = payload(d.kind, pulse);
    let host = d.url.redacted();
    let mut attempt = 1;
    let outcome = loop {
        let posted = client.post(d.url.expose(), &body);
        match posted {
            Posted::Accepted(status) => break Ok(status),
            Posted::Retry {
                reason,
                retry_after,
            } if attempt < settings.attempts => {
                let wait = backoff(settings, attempt + 1, retry_after);
                tracing::warn!(
                    team,
                    destination = %d.name,
                    host = %host,
                    attempt,
                    reason = %reason,
                    wait_ms = wait.as_millis() as u64,
                    "Destination failed; trying again after backoff."
                );
                std::thread::sleep(wait);
                attempt += 1;
            }
            Posted::Retry { reason, .. } => break Err((reason, true)),
            Posted::Refused(reason) => break Err((reason, false)),
        }
    };
    match outcome {
        Ok(status) => {
            let record = ledger::DeliveryRecord {
                team: team.to_owned(),
                week: pulse.week.clone(),
                destination: d.name.clone(),
                kind: d.kind.as_str().to_owned(),
                status,
                attempts: attempt,
                delivered_at: crate::ingest::decode::format_time(crate::clock::now_millis()),
            };
            match ledger.record(&key, &record) {
                Ok(()) => {
                    tracing::info!(
                        team,
                        destination = %d.name,
                        week = %pulse.week,
                        status,
                        attempts = attempt,
                        "Pulse delivered and recorded."
                    );
                    report.delivered.push(pair);
                }
                Err(e) => {
                    tracing::error!(
                        team,
                        destination = %d.name,
                        week = %pulse.week,
                        reason = %e,
                        "Pulse posted but not recorded in Kafka: a re-run this week would post it again."
                    );
                    report.unrecorded.push(pair);
                }
            }
        }
        Err((reason, retried)) => {
            let message = if retried {
                "Pulse not delivered: the destination failed every try; nothing recorded, the next run tries again."
            } else {
                "Pulse not delivered: the destination refused it (not retried); nothing recorded."
            };
            tracing::error!(
                team,
                destination = %d.name,
                host = %host,
                attempts = attempt,
                reason = %reason,
                "{message}"
            );
            report.failed.push(pair);
        }
    }
}

#[cfg(test)]
mod tests;
