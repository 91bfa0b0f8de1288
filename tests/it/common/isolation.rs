//! What keeps tests of one process apart.
//!
//! The integration tests are one crate (`tests/it`), so libtest runs the
//! tests of every module in one process, on `--test-threads` threads (the
//! number of cores by default). When each file was a test binary of its
//! own, cargo ran the binaries one after the other: a test overlapped only
//! with tests of its own file. Two tools keep that isolation where it
//! matters:
//!
//! - [`exclusive`] and [`shared`]: one process-wide lock. Every test takes
//!   one of the two guards first thing and holds it to its end. A test that
//!   measures timing, CPU or pace, or loads the machine on purpose (the
//!   fault suite's SIGTERM, restart-speed, proxy and new-partition tests,
//!   `rollout`, `http_abuse`, `bridge_abuse`, the bridge's Kafka outage,
//!   `scrape_under_load`), takes [`exclusive`]: it runs alone, as it did in
//!   its own binary. Every other test takes [`shared`] and may overlap with
//!   any other shared test. That
//!   includes the fault tests that break a broker, cluster or topics of
//!   their own and whose assertions only wait against generous deadlines
//!   and then compare with the oracle (the broker outages, the group churn,
//!   the daemon SIGKILLs, retention truncation, the transactional producer,
//!   the four cluster faults): their fixed waits, 60 s pauses and 20 s
//!   outages, overlap instead of adding up. Two at a time is what 2 cores
//!   carry: at `--test-threads=4` the load average passed 30 and the
//!   rolling restart alone took 476 s (210 s at 2). `std`'s `RwLock` on
//!   Linux makes new readers wait while a writer waits, so an exclusive
//!   test is not starved.
//! - [`in_own_process`]: a test that measures this process itself (the
//!   resident memory of `memory`) runs its body in a fresh child process of
//!   the test binary, where no other test has allocated.

use std::process::{Command, Stdio};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

static ISOLATION: RwLock<()> = RwLock::new(());

/// Runs the calling test alone: no other test of this process runs until
/// the guard is dropped. A panicking test does not poison it for the rest.
pub fn exclusive() -> RwLockWriteGuard<'static, ()> {
    ISOLATION
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Lets the calling test run beside any other shared test, never beside an
/// [`exclusive`] one.
pub fn shared() -> RwLockReadGuard<'static, ()> {
    ISOLATION
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Set in the child process [`in_own_process`] starts, to the test's name.
const CHILD: &str = "VALUEPULSE_IT_OWN_PROCESS";

/// Runs the test named `test` (its libtest name, `module::function`) in a
/// process of its own: in the test process, starts this test binary again
/// with only that test selected, waits for it, fails if it failed (with its
/// output), prints what the test printed, and returns false: the caller
/// returns. In that child process, returns true: the caller runs its body.
#[allow(
    clippy::print_stdout,
    reason = "what the test printed in its own process, shown as it printed it"
)]
pub fn in_own_process(test: &str) -> bool {
    if std::env::var(CHILD).is_ok_and(|t| t == test) {
        return true;
    }
    let out = Command::new(std::env::current_exe().expect("the test binary's path"))
        .args([
            test,
            "--exact",
            "--nocapture",
            "--test-threads=1",
            "--format=terse",
        ])
        .env(CHILD, test)
        .stdin(Stdio::null())
        .output()
        .expect("start the test binary again");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("test result: ok. 1 passed"),
        "{test} in its own process: {}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
        out.status
    );
    // What the test printed, without the child's libtest lines (its
    // `test result:` would count twice in deploy/test.sh's total).
    let printed: Vec<&str> = stdout
        .lines()
        .filter(|l| {
            !(l.is_empty()
                || l.starts_with("running ")
                || l.starts_with("test result:")
                || l.chars().all(|c| c == '.'))
        })
        .collect();
    println!("{}", printed.join("\n"));
    false
}
