//! Logging setup: human text or JSON lines, filtered by `log.level` or
//! `RUST_LOG`.

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
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = if format == "json" {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
    // A second init (tests, demo) keeps the first subscriber.
    let _ = result;
}
