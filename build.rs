//! Captures what `valuepulse_build_info` reports about the build: the git
//! revision (`VALUEPULSE_REVISION` when set, e.g. by a container build
//! without `.git`; else `git rev-parse`; else `unknown`) and the compiler
//! version. Never fails: a build from a tarball says `unknown`.

#![allow(
    clippy::print_stdout,
    reason = "a build script talks to Cargo on stdout"
)]

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=VALUEPULSE_REVISION");
    let revision = std::env::var("VALUEPULSE_REVISION")
        .ok()
        .filter(|r| !r.trim().is_empty())
        .or_else(git_revision)
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=VALUEPULSE_REVISION={}", revision.trim());

    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let version = run(&rustc, &["--version"])
        .and_then(|v| v.split_whitespace().nth(1).map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=VALUEPULSE_RUSTC_VERSION={version}");
}

/// The checked-out commit (12 hex digits), and a rerun when it moves.
fn git_revision() -> Option<String> {
    let git_dir = run("git", &["rev-parse", "--absolute-git-dir"])?;
    let git_dir = Path::new(git_dir.trim());
    // HEAD names the branch; the branch's ref file (or packed-refs) moves on
    // commit. Only files that exist are watched: a missing one would make
    // Cargo rerun this script on every build.
    let head = git_dir.join("HEAD");
    let mut watch = vec![head.clone()];
    if let Some(reference) = std::fs::read_to_string(&head)
        .ok()
        .and_then(|h| h.strip_prefix("ref: ").map(|r| r.trim().to_owned()))
    {
        // A worktree keeps its branches in the main repository's git dir.
        let common = run(
            "git",
            &["rev-parse", "--path-format=absolute", "--git-common-dir"],
        )
        .map_or_else(
            || git_dir.to_path_buf(),
            |d| Path::new(d.trim()).to_path_buf(),
        );
        watch.push(common.join(&reference));
        watch.push(common.join("packed-refs"));
    }
    for path in watch.iter().filter(|p| p.exists()) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    run("git", &["rev-parse", "--short=12", "HEAD"])
}

/// stdout of a command that succeeded, if any.
fn run(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?;
    (!s.trim().is_empty()).then_some(s)
}
