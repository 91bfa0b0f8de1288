#!/usr/bin/env bash
# benches/e2e.sh - end-to-end benchmark: valuepulse against what users would
# run instead, side by side, on one local broker and one dataset.
#
#   bash benches/e2e.sh --smoke      ~2 min: 20 000 events, 1 round; exit 1 if any
#                                    contender does not read all of them (CI)
#   bash benches/e2e.sh              4 000 000 events, 2 rounds, + live latency (~5 min)
#   bash benches/e2e.sh --help       every option (events, rounds, contenders, perf, ...)
#
# It starts its own Kafka broker with deploy/kafka-local.sh on 127.0.0.1:19292
# (state in /tmp/vp-kafka-bench; VALUEPULSE_BENCH_KAFKA_PORT / _DIR change
# them) so it never meets the test broker, builds valuepulse --release, loads
# the dataset once with `valuepulse loadgen`, then runs the contenders in
# interleaved rounds, each reading everything from the beginning:
# valuepulse run (start -> /readyz 200), kcat -C (librdkafka, do-nothing),
# Kafka's ConsumerPerformance (Java, do-nothing), a Kafka Streams application
# (benches/peers/kafka-streams) and a Python confluent-kafka consumer
# (benches/peers/python_agg.py) doing the same aggregation. The driver is
# benches/e2e.py (its docstring says how each figure is measured).
#
# Needs: cargo, Java 17+, Maven (Kafka jars, the Streams app), kcat
# (apt-get install kcat), python3 with venv. confluent-kafka and
# prometheus-client are pip-installed, pinned, into a cached venv
# ($VALUEPULSE_BENCH_TOOLS, default ~/.cache/valuepulse-bench-tools).
# A missing tool fails here, saying how to get it.
set -euo pipefail
cd "$(dirname "$0")/.."

CONFLUENT_KAFKA_VERSION=2.16.1
PROMETHEUS_CLIENT_VERSION=0.26.0

die() { printf 'benches/e2e.sh: %s\n' "$*" >&2; exit 2; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found: $2"; }

need cargo "install Rust (rustup)"
need java "install a JDK 17 or newer (apt-get install openjdk-17-jdk-headless)"
need mvn "install Maven (apt-get install maven)"
need kcat "install kcat (apt-get install kcat)"
need python3 "install Python 3 with venv (apt-get install python3 python3-venv)"
need curl "install curl (apt-get install curl)"

TOOLS=${VALUEPULSE_BENCH_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/valuepulse-bench-tools}
VENV=$TOOLS/venv
want="confluent-kafka==$CONFLUENT_KAFKA_VERSION prometheus-client==$PROMETHEUS_CLIENT_VERSION"
if [[ ! -f $VENV/.installed ]] || [[ $(cat "$VENV/.installed") != "$want" ]]; then
  echo "benches/e2e.sh: installing $want (pip) into $VENV ..." >&2
  rm -rf "$VENV"
  mkdir -p "$TOOLS"
  log=$(mktemp)
  python3 -m venv "$VENV" >"$log" 2>&1 || { cat "$log" >&2; die "python3 -m venv failed (Debian: apt-get install python3-venv)"; }
  # shellcheck disable=SC2086 # $want is a list of requirements
  "$VENV/bin/pip" install --quiet --disable-pip-version-check $want >"$log" 2>&1 ||
    { cat "$log" >&2; die "pip install $want failed (see above)"; }
  rm -f "$log"
  printf '%s' "$want" >"$VENV/.installed"
fi

exec "$VENV/bin/python" benches/e2e.py "$@"
