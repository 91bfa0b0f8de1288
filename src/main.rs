//! `valuepulse`: parse the command line, load config, set up logging, run.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the CLI answers on stdout and reports errors on stderr"
)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use valuepulse::config::Config;

/// Exit code for a configuration error (EX_CONFIG-like, as sysexits' `EX_USAGE`).
const EXIT_CONFIG: u8 = 64;
/// Exit code when the daemon cannot be reached or refuses (sysexits' `EX_UNAVAILABLE`).
const EXIT_UNAVAILABLE: u8 = 69;

#[derive(Parser)]
#[command(
    name = "valuepulse",
    version,
    about = "Real-time DORA metrics from Kafka, served to Prometheus."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon.
    Run {
        /// TOML file layered over the embedded defaults.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Run the webhook bridge: GitHub, GitLab, PagerDuty, Argo CD, Flux, Jira and Linear webhooks (and native v1 or CDEvents over HTTP) verified, mapped to native v1 events and produced to the daemon's topics.
    Bridge {
        /// TOML file layered over the embedded defaults ([bridge] section).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Validate the configuration and print the effective values (secrets redacted).
    CheckConfig {
        /// TOML file layered over the embedded defaults.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Publish one validated deploy, incident, work-item or satisfaction event to Kafka (for pipelines, incident hooks and trackers); prints its id.
    ///
    /// Exit 64 when the flags or the event are invalid (nothing is sent), 69 when the broker does not acknowledge it.
    #[command(subcommand)]
    Emit(Box<valuepulse::emit::EmitCommand>),
    /// Publish a seeded benchmark dataset (usage, deploys, incidents) fast, or live load at a fixed rate.
    ///
    /// Exit 64 on bad flags, 69 when Kafka does not take the records.
    Loadgen(Box<valuepulse::loadgen::LoadgenArgs>),
    /// The Weekly Value Pulse of a running daemon: print it (GET /pulse on its admin port) as markdown or JSON, or `send` it to each team's destinations.
    ///
    /// Printing exits 69 when the daemon cannot be reached or answers with an error (an unknown team: 404 with the list of teams).
    Pulse(Box<PulseArgs>),
    /// Start an embedded Kafka, a realistic event generator and the daemon.
    Demo {
        /// Address of the value pulse page (/) and /metrics.
        #[arg(long, default_value = "127.0.0.1:9464")]
        listen: String,
    },
}

/// `valuepulse pulse [--url …]` prints; `valuepulse pulse send …` sends.
#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
struct PulseArgs {
    #[command(subcommand)]
    command: Option<PulseCommand>,
    /// The daemon's admin address, e.g. `http://valuepulse:9464`
    /// (`https://` when its `http.web_config` has TLS).
    #[arg(long, default_value = "http://127.0.0.1:9464")]
    url: String,
    /// The team; the organisation without one.
    #[arg(long)]
    team: Option<String>,
    /// `markdown` or `json`.
    #[arg(long, default_value = "markdown", value_parser = ["markdown", "json"])]
    format: String,
    /// Basic auth and CA for the daemon's admin port.
    #[command(flatten)]
    access: valuepulse::pulse::client::DaemonAccess,
}

/// `valuepulse pulse …`.
#[derive(Subcommand)]
enum PulseCommand {
    /// Post each team's pulse to its destinations in [pulse.delivery] (Slack, Teams, a JSON webhook), at most once per team, ISO week and destination.
    ///
    /// Exit 0 when every destination has this week's pulse, 64 on bad config or flags, 69 when the daemon or Kafka cannot be used, 75 when a destination failed every try (nothing recorded: the next run tries again).
    Send(Box<valuepulse::pulse::deliver::SendArgs>),
}

/// The one load step: layers, types, rules and the librdkafka property
/// check. On error, one line naming the key, and exit 64.
fn load(path: Option<&std::path::Path>) -> Result<Config, ExitCode> {
    Config::load(path).map_err(|e| {
        eprintln!("valuepulse: invalid configuration: {e}");
        ExitCode::from(EXIT_CONFIG)
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig { config } => match load(config.as_deref()) {
            Ok(c) => {
                print!("{}", c.to_redacted_toml());
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        Command::Run { config } => {
            let c = match load(config.as_deref()) {
                Ok(c) => c,
                Err(code) => return code,
            };
            valuepulse::telemetry::logging::init(c.log.format.as_str(), c.log.level.as_str());
            runtime_exit(valuepulse::app::run(
                c,
                valuepulse::app::shutdown_signal(),
                None,
            ))
        }
        Command::Bridge { config } => {
            let c = match load(config.as_deref()) {
                Ok(c) => c,
                Err(code) => return code,
            };
            valuepulse::telemetry::logging::init(c.log.format.as_str(), c.log.level.as_str());
            runtime_exit(valuepulse::bridge::run(
                c,
                valuepulse::app::shutdown_signal(),
                None,
            ))
        }
        Command::Emit(cmd) => match valuepulse::emit::run(&cmd) {
            Ok(e) => {
                println!("{}", e.id);
                eprintln!(
                    "valuepulse: {} acknowledged on {} (partition {}, offset {})",
                    e.id, e.topic, e.partition, e.offset
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("valuepulse emit: {e}");
                ExitCode::from(e.exit_code())
            }
        },
        Command::Loadgen(args) => match valuepulse::loadgen::run(&args) {
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("valuepulse loadgen: {e}");
                ExitCode::from(e.exit_code())
            }
        },
        Command::Pulse(p) => match &p.command {
            Some(PulseCommand::Send(args)) => pulse_send(args),
            None => print_pulse(&p),
        },
        Command::Demo { listen } => {
            valuepulse::telemetry::logging::init("text", "info,librdkafka=warn");
            runtime_exit(valuepulse::demo::run(listen))
        }
    }
}

/// `valuepulse pulse send`: load, log, run, summarise.
fn pulse_send(args: &valuepulse::pulse::deliver::SendArgs) -> ExitCode {
    let c = match load(args.config.as_deref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    valuepulse::telemetry::logging::init_quieting(
        c.log.format.as_str(),
        c.log.level.as_str(),
        valuepulse::pulse::deliver::QUIET_LOGS,
    );
    match valuepulse::pulse::deliver::run(&c, args) {
        Ok(report) => {
            eprintln!("valuepulse pulse send: {}", report.summary());
            ExitCode::from(report.exit_code())
        }
        Err(e) => {
            eprintln!("valuepulse pulse send: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// `valuepulse pulse`: the body of `/pulse` on stdout.
fn print_pulse(p: &PulseArgs) -> ExitCode {
    use valuepulse::pulse::client::{Client, TIMEOUT};
    let client = match Client::with_daemon_access(TIMEOUT, &p.access) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("valuepulse pulse: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    match client.pulse_text(&p.url, p.team.as_deref(), &p.format) {
        Ok(body) => {
            print!("{body}");
            if !body.ends_with('\n') {
                println!();
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("valuepulse pulse: {e}");
            ExitCode::from(EXIT_UNAVAILABLE)
        }
    }
}

fn runtime_exit(fut: impl std::future::Future<Output = anyhow::Result<()>>) -> ExitCode {
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("valuepulse: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(fut);
    // A consumer thread may still sit in a blocking Kafka call (bounded by
    // kafka.request_timeout); `run` has already given up on it, so do not
    // wait for it here either.
    rt.shutdown_timeout(std::time::Duration::from_millis(200));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("valuepulse: {e:#}");
            ExitCode::FAILURE
        }
    }
}
