#!/usr/bin/env bash
# Supply-chain gate: cargo-deny (deny.toml) over Cargo.lock.
#
#   licenses  every dependency under an allowed licence
#   bans      no banned crate, no wildcard version
#   sources   crates.io only
#   advisories  RustSec advisories, unmaintained and yanked crates: only when
#             the advisory database is on this machine already or can be
#             fetched (GitHub is not reachable from this project's machines);
#             otherwise it says so and checks the rest.
#
# cargo-deny itself is installed by deploy/tools.sh (cargo install --locked,
# cached); if it cannot be installed, this fails. Exit 0 clean, 1 findings,
# 2 tool missing.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "check-supply-chain: $*" >&2; }

# shellcheck source=deploy/tools.sh
source deploy/tools.sh
tools_cargo_deny || { say "cargo-deny could not be installed (see above): supply-chain checks cannot run"; exit 2; }

db="${CARGO_HOME:-$HOME/.cargo}/advisory-dbs"
checks=(licenses bans sources)
if timeout 60 "$CARGO_DENY" fetch db >/dev/null 2>&1; then
  checks+=(advisories)
  say "advisory database fetched: checking advisories too"
elif compgen -G "$db/*/crates" >/dev/null; then
  checks+=(advisories)
  offline=(--offline)
  say "advisory database not reachable: checking advisories against the local copy in $db (may be stale)"
else
  say "advisory database not reachable and no local copy in $db: advisories NOT checked (licenses, bans, sources are)"
fi
"$CARGO_DENY" ${offline[@]+"${offline[@]}"} --locked check --hide-inclusion-graph "${checks[@]}"
say "cargo deny check ${checks[*]}: clean"
