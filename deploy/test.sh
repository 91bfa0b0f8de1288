#!/usr/bin/env bash
# The project's one test command (the README names it): starts a real
# single-node Apache Kafka broker on 127.0.0.1 (jars fetched from Maven
# Central into a cache on first use), runs every test against it, and stops
# the broker however the tests end. Extra arguments go to `cargo test`.
#
# Needs: cargo, Java 17+, Maven (first fetch only), promtool and the
# prometheus server (Debian package `prometheus`), Go and Python 3 (the
# manifest checks install kustomize, kubernetes-validate, yamllint and
# hadolint into a cache on first use). Nothing is skipped: a missing tool
# fails here, with the way to get it.
set -euo pipefail
cd "$(dirname "$0")/.."

need() {
  command -v "$1" >/dev/null 2>&1 || { echo "deploy/test.sh: $1 not found: $2" >&2; exit 1; }
}
need cargo "install Rust (rustup)"
need java "install a JDK 17 or newer"
need promtool "install Debian's prometheus package: apt-get install prometheus"
need prometheus "install Debian's prometheus package: apt-get install prometheus"
need go "install Go (deploy/check-manifests.sh builds kustomize with it)"
need python3 "install Python 3 (rule/dashboard checks, kubernetes-validate, yamllint)"

export VALUEPULSE_KAFKA_DIR="${VALUEPULSE_KAFKA_DIR:-/tmp/valuepulse-test-kafka}"
export VALUEPULSE_KAFKA_PORT="${VALUEPULSE_KAFKA_PORT:-19092}"
trap 'deploy/kafka-local.sh stop >/dev/null 2>&1 || true' EXIT
VALUEPULSE_TEST_BROKERS="$(deploy/kafka-local.sh start)"
export VALUEPULSE_TEST_BROKERS
echo "deploy/test.sh: Kafka broker at $VALUEPULSE_TEST_BROKERS" >&2

# Library, binary and integration tests (no doc tests: there are none), then
# one closing line that totals every test binary's result.
log="$(mktemp)"
set +e
cargo test --locked --lib --bins --tests "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
awk '/^test result:/ { p += $4; f += $6; i += $8 } END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, i }' "$log"
rm -f "$log"
exit "$status"
