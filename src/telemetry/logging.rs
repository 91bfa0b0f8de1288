//! Logging setup: human text or JSON lines, filtered by `log.level` or
//! `RUST_LOG`, on stderr. Text is coloured only when stderr is a terminal
//! and `NO_COLOR` is unset or empty (<https://no-color.org>): a log file, a
//! pipe or a container runtime's log collector gets plain text.

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::Directive;

/// Installs the global subscriber. Call once, before the runtime starts work.
pub fn init(format: &str, level: &str) {
    init_quieting(format, level, &[]);
}

/// As [`init`], with `quiet` directives (`target=level`) added after
/// `log.level` or `RUST_LOG`, whichever is used: for libraries whose
/// verbose logs would print a secret (`pulse send`'s HTTP client logs
/// each request's URL, and a webhook URL is a credential).
pub fn init_quieting(format: &str, level: &str, quiet: &[&str]) {
    let mut filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    for q in quiet {
        if let Ok(d) = q.parse::<Directive>() {
            filter = filter.add_directive(d);
        }
    }
    let ansi = colour(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    );
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let result = if format == "json" {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
    // A second init (tests, demo) keeps the first subscriber.
    let _ = result;
}

/// Whether text logs carry ANSI colours: only on a terminal, and not when
/// `NO_COLOR` holds anything.
fn colour(terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    terminal && no_color.is_none_or(std::ffi::OsStr::is_empty)
}

#[cfg(test)]
mod tests;
