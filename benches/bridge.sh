#!/usr/bin/env bash
# benches/bridge.sh - the bridge's benchmarks (issue 18), side by side with a
# do-nothing HTTP server, on one local broker.
#
#   bash benches/bridge.sh --smoke   ~1 min: 1 round of 3 s, 10 s at 1,000/s with
#                                    ~15 probes; exit 1 on any error (CI)
#   bash benches/bridge.sh           3 interleaved rounds of 15 s, then 90 s at
#                                    1,000/s with ~150 probes (~6 min)
#   bash benches/bridge.sh --help    every option
#
# It starts its own Kafka broker with deploy/kafka-local.sh on 127.0.0.1:19392
# (state in /tmp/vp-kafka-bridge-bench; VALUEPULSE_BENCH_BRIDGE_KAFKA_PORT /
# _DIR change them) so it never meets the test broker or benches/e2e.sh's,
# builds valuepulse and the bench target benches/bridge.rs --release, and:
#
# 1. Throughput: a closed loop of signed GitHub `deployment_status` deliveries
#    (distinct deployments, N keep-alive connections) against `valuepulse
#    bridge` (verify + map + produce, acks=all, 200 after Kafka's ack) and
#    against a hyper hello-world that reads the body and answers 200, in
#    interleaved rounds: hello on core 0, bridge on core 0 (load generator
#    and broker on core 1: "per core" is literal), then hello and bridge
#    unpinned (everything shares the 2 cores). Medians of the rounds.
# 2. Latency: a fresh bridge and a `valuepulse run` daemon reading the topics
#    the bridge writes, all unpinned; an open loop at --rate deliveries/s
#    (latency from the scheduled send time: no coordinated omission) and, at
#    the same time, probes one after another: POST a new deployment, scrape
#    the daemon's /metrics every 5 ms until it counts it.
#
# Every answer must be 200: any other answer, a broken connection or a probe
# not visible within 10 s is an error, printed, and the run exits 1.
# Needs: cargo, Java 17+ (and Maven the first time, for the Kafka jars), curl,
# taskset (util-linux); perf only with --perf.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { printf 'benches/bridge.sh: %s\n' "$*" >&2; exit 2; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found: $2"; }
say() { printf 'benches/bridge.sh: %s\n' "$*" >&2; }

usage() {
  cat <<'EOF'
Usage: bash benches/bridge.sh [--smoke] [options]

  --smoke              1 round of 3 s and 10 s of latency: the CI check (~1 min)
  --rounds N           interleaved throughput rounds (default 3)
  --seconds S          seconds counted per throughput run, after a warm-up (default 15)
  --connections N      keep-alive connections of the closed loop (default 128)
  --rate R             deliveries/s of the open loop (default 1000)
  --latency-seconds S  seconds of the open loop and the probes (default 90)
  --perf DIR           also profile the pinned bridge in one extra run (perf record -g),
                       writing DIR/perf.data and DIR/perf.txt (not counted in the figures)
  --out FILE           raw result lines (default /tmp/vp-bridge-bench.txt)
  -h, --help           this text
EOF
}

ROUNDS=3 SECONDS_RUN=15 WARMUP=3 CONNECTIONS=128 RATE=1000 LAT_SECONDS=90 PERF_DIR="" OUT=/tmp/vp-bridge-bench.txt
while (($#)); do
  case $1 in
    --smoke) ROUNDS=1 SECONDS_RUN=3 WARMUP=1 LAT_SECONDS=10 ;;
    --rounds) ROUNDS=${2:?}; shift ;;
    --seconds) SECONDS_RUN=${2:?}; shift ;;
    --connections) CONNECTIONS=${2:?}; shift ;;
    --rate) RATE=${2:?}; shift ;;
    --latency-seconds) LAT_SECONDS=${2:?}; shift ;;
    --perf) PERF_DIR=${2:?}; shift ;;
    --out) OUT=${2:?}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option $1" ;;
  esac
  shift
done

need cargo "install Rust (rustup)"
need java "install a JDK 17 or newer (apt-get install openjdk-17-jdk-headless)"
need curl "install curl (apt-get install curl)"
need taskset "install util-linux (apt-get install util-linux)"
[[ -z $PERF_DIR ]] || need perf "install perf (apt-get install linux-perf)"
(($(nproc) >= 2)) || die "needs 2 cores (server on core 0, load generator on core 1)"

say "building valuepulse and benches/bridge.rs --release ..."
cargo build --release --locked --quiet --bin valuepulse
BENCH=$(cargo bench --locked --no-run --bench bridge 2>&1 | sed -n 's/.*Executable .*(\(.*\)).*/\1/p')
[[ -x $BENCH ]] || die "cannot find the bench executable (cargo bench --no-run --bench bridge)"
VP=target/release/valuepulse

export VALUEPULSE_KAFKA_PORT=${VALUEPULSE_BENCH_BRIDGE_KAFKA_PORT:-19392}
export VALUEPULSE_KAFKA_DIR=${VALUEPULSE_BENCH_BRIDGE_KAFKA_DIR:-/tmp/vp-kafka-bridge-bench}
export VALUEPULSE_KAFKA_NODES=1  # one broker: its kafka.pid is read below
BRIDGE_ADDR=127.0.0.1:$((VALUEPULSE_KAFKA_PORT + 10))
HELLO_ADDR=127.0.0.1:$((VALUEPULSE_KAFKA_PORT + 11))
DAEMON_ADDR=127.0.0.1:$((VALUEPULSE_KAFKA_PORT + 12))
SECRET=bench-secret
STAMP=$(date +%s)
LOGS=$(mktemp -d /tmp/vp-bridge-bench-logs.XXXXXX)

SERVER=""
stop_server() {
  if [[ -n $SERVER ]]; then
    kill "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
    SERVER=""
  fi
}
DAEMON=""
cleanup() {
  stop_server
  if [[ -n $DAEMON ]]; then kill "$DAEMON" 2>/dev/null || true; wait "$DAEMON" 2>/dev/null || true; fi
  deploy/kafka-local.sh stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

say "starting a broker on 127.0.0.1:$VALUEPULSE_KAFKA_PORT ..."
BROKERS=$(deploy/kafka-local.sh start)
KAFKA_PID=$(cat "$VALUEPULSE_KAFKA_DIR/kafka.pid")
"$BENCH" topics "$BROKERS" "thr-deploys-$STAMP" "lat-deploys-$STAMP" "lat-incidents-$STAMP" \
  "lat-usage-$STAMP" "lat-changes-$STAMP"

# wait_ok URL [curl args]: until it answers 200, at most 60 s.
wait_ok() {
  local url=$1 i
  shift
  for ((i = 0; i < 600; i++)); do
    if [[ $(curl -s -o /dev/null -w '%{http_code}' "$@" "$url" || true) == 200 ]]; then return 0; fi
    if [[ -n $SERVER ]] && ! kill -0 "$SERVER" 2>/dev/null; then return 1; fi
    sleep 0.1
  done
  return 1
}

# start_server hello|bridge PIN (PIN: "0" for core 0, "" for unpinned)
start_server() {
  local kind=$1 pin=$2 log
  local -a taskset_cmd=()
  [[ -z $pin ]] || taskset_cmd=(taskset -c "$pin")
  log=$LOGS/$kind-$((++RUN)).log
  if [[ $kind == hello ]]; then
    "${taskset_cmd[@]}" "$BENCH" hello --listen "$HELLO_ADDR" >"$log" 2>&1 &
    SERVER=$!
    wait_ok "http://$HELLO_ADDR/" -X POST -d x || { cat "$log" >&2; die "the hello-world server did not start"; }
  else
    VALUEPULSE__KAFKA__BROKERS=$BROKERS VALUEPULSE__BRIDGE__LISTEN=$BRIDGE_ADDR \
      VALUEPULSE__BRIDGE__GITHUB__SECRETS=$SECRET VALUEPULSE__TOPICS__DEPLOYS=${3:-thr-deploys-$STAMP} \
      VALUEPULSE__TOPICS__INCIDENTS=lat-incidents-$STAMP VALUEPULSE__TOPICS__CHANGES=lat-changes-$STAMP \
      "${taskset_cmd[@]}" "$VP" bridge >"$log" 2>&1 &
    SERVER=$!
    wait_ok "http://$BRIDGE_ADDR/readyz" || { cat "$log" >&2; die "the bridge did not become ready"; }
  fi
}

# run_load LABEL KIND PIN: one closed-loop run; appends its LOAD line to $OUT.
run_load() {
  local label=$1 kind=$2 pin=$3 addr line
  local -a taskset_cmd=()
  [[ $kind == hello ]] && addr=$HELLO_ADDR || addr=$BRIDGE_ADDR
  if [[ -n $pin ]]; then
    taskset -a -p -c 1 "$KAFKA_PID" >/dev/null
    taskset_cmd=(taskset -c 1)
  else
    taskset -a -p -c 0-1 "$KAFKA_PID" >/dev/null
  fi
  start_server "$kind" "$pin"
  line=$("${taskset_cmd[@]}" "$BENCH" load --target "$addr" --secret "$SECRET" --connections "$CONNECTIONS" \
    --seconds "$SECONDS_RUN" --warmup "$WARMUP" --server-pid "$SERVER" --broker-pid "$KAFKA_PID" --label "$label")
  stop_server
  printf '%s\n' "$line" | tee -a "$OUT" >&2
}

: >"$OUT"
RUN=0
say "throughput: $ROUNDS round(s) of ${SECONDS_RUN} s, $CONNECTIONS connections; raw lines in $OUT"
for ((round = 1; round <= ROUNDS; round++)); do
  run_load hello-core0 hello 0
  run_load bridge-core0 bridge 0
  run_load hello-2cores hello ""
  run_load bridge-2cores bridge ""
done

if [[ -n $PERF_DIR ]]; then
  mkdir -p "$PERF_DIR"
  say "profiling the bridge on core 0 (one extra run, not counted) into $PERF_DIR ..."
  taskset -a -p -c 1 "$KAFKA_PID" >/dev/null
  start_server bridge 0
  taskset -c 1 perf record -q -F 999 -g -p "$SERVER" -o "$PERF_DIR/perf.data" >/dev/null 2>&1 &
  perf_pid=$!
  taskset -c 1 "$BENCH" load --target "$BRIDGE_ADDR" --secret "$SECRET" --connections "$CONNECTIONS" \
    --seconds "$SECONDS_RUN" --warmup "$WARMUP" --server-pid "$SERVER" --broker-pid "$KAFKA_PID" --label bridge-core0-perf >&2
  kill -INT "$perf_pid"
  wait "$perf_pid" || true
  stop_server
  perf report -i "$PERF_DIR/perf.data" --no-children --sort dso,sym --percent-limit 0.7 --stdio \
    2>/dev/null | grep -v '^$' >"$PERF_DIR/perf.txt" || true
  perf report -i "$PERF_DIR/perf.data" --no-children --sort comm --stdio 2>/dev/null |
    grep -v '^$' >"$PERF_DIR/perf-threads.txt" || true
fi

say "latency: ${LAT_SECONDS} s at $RATE deliveries/s, with a daemon reading the topics and probes ..."
taskset -a -p -c 0-1 "$KAFKA_PID" >/dev/null
VALUEPULSE__KAFKA__BROKERS=$BROKERS VALUEPULSE__KAFKA__GROUP_ID=bridge-bench-$STAMP \
  VALUEPULSE__HTTP__LISTEN=$DAEMON_ADDR VALUEPULSE__TOPICS__DEPLOYS=lat-deploys-$STAMP \
  VALUEPULSE__TOPICS__INCIDENTS=lat-incidents-$STAMP VALUEPULSE__TOPICS__FEATURE_USAGE=lat-usage-$STAMP \
  VALUEPULSE__TOPICS__CHANGES=lat-changes-$STAMP "$VP" run >"$LOGS/daemon.log" 2>&1 &
DAEMON=$!
wait_ok "http://$DAEMON_ADDR/readyz" || { cat "$LOGS/daemon.log" >&2; die "the daemon did not become ready"; }
start_server bridge "" "lat-deploys-$STAMP"
"$BENCH" latency --target "$BRIDGE_ADDR" --secret "$SECRET" --rate "$RATE" --seconds "$LAT_SECONDS" \
  --daemon "$DAEMON_ADDR" | tee -a "$OUT" >&2

# ---- the table -------------------------------------------------------------
# field LINE KEY: the value of KEY=... in a result line.
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }
# median LABEL KEY: median of KEY over the LOAD lines of LABEL.
median() {
  grep "^LOAD label=$1 " "$OUT" | sed -n "s/.* $2=\([^ ]*\).*/\1/p" | sort -g |
    awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
errors=$(sed -n 's/.* errors=\([0-9]*\).*/\1/p' "$OUT" | awk '{ s += $1 } END { print s + 0 }')
lat=$(grep '^LATENCY' "$OUT")
vis=$(grep '^VISIBLE' "$OUT")
h1=$(median hello-core0 rate) b1=$(median bridge-core0 rate)
h2=$(median hello-2cores rate) b2=$(median bridge-2cores rate)
hc=$(median hello-core0 per_cpu_s) bc=$(median bridge-core0 per_cpu_s)
verdict() { awk -v a="$1" -v op="$2" -v b="$3" 'BEGIN { ok = (op == ">=") ? a >= b : a <= b; print ok ? "met" : "MISSED" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
rc=$(ratio "$bc" "$hc") r1=$(ratio "$b1" "$h1") r2=$(ratio "$b2" "$h2")
{
  printf '\nbridge bench (%s round(s) of %s s, %s connections; medians of the rounds)\n\n' "$ROUNDS" "$SECONDS_RUN" "$CONNECTIONS"
  printf '| figure | hello-world | bridge | bridge / hello | target | |\n|---|---|---|---|---|---|\n'
  printf '| per core: requests per CPU-second of the server (core 0) | %.0f | %.0f | %s | >= 0.5 | %s |\n' "$hc" "$bc" "$rc" "$(verdict "$rc" '>=' 0.5)"
  printf '| requests/s, server on core 0 (its CPU use) | %.0f (%s) | %.0f (%s) | %s | | |\n' \
    "$h1" "$(median hello-core0 server_cpu)" "$b1" "$(median bridge-core0 server_cpu)" "$r1"
  printf '| requests/s, 2 cores unpinned | %.0f | %.0f | %s | bridge >= 10000 | %s |\n' "$h2" "$b2" "$r2" "$(verdict "$b2" '>=' 10000)"
  printf '| CPU of other processes during the runs (cores; median, max) | %s, %s | %s, %s | | | |\n' \
    "$(median hello-core0 other_cpu)" "$(grep '^LOAD label=hello' "$OUT" | sed -n 's/.* other_cpu=\([^ ]*\).*/\1/p' | sort -g | tail -1)" \
    "$(median bridge-core0 other_cpu)" "$(grep '^LOAD label=bridge' "$OUT" | sed -n 's/.* other_cpu=\([^ ]*\).*/\1/p' | sort -g | tail -1)"
  printf '\n| figure | p50 | p99 | p99.9 | max | target | |\n|---|---|---|---|---|---|---|\n'
  printf '| POST -> 200 at %s/s (ms) | %s | %s | %s | %s | p99 <= 50 | %s |\n' "$RATE" \
    "$(field "$lat" p50_ms)" "$(field "$lat" p99_ms)" "$(field "$lat" p999_ms)" "$(field "$lat" max_ms)" \
    "$(verdict "$(field "$lat" p99_ms)" '<=' 50)"
  printf '| POST -> visible in the daemon'"'"'s /metrics (ms), %s probes | %s | %s | | %s | p99 <= 600 | %s |\n' \
    "$(field "$vis" probes)" "$(field "$vis" p50_ms)" "$(field "$vis" p99_ms)" "$(field "$vis" max_ms)" \
    "$(verdict "$(field "$vis" p99_ms)" '<=' 600)"
  printf '\nthe daemon'"'"'s last report took %s ms; errors (non-200, broken connections, probes not visible in 10 s): %s\n' \
    "$(field "$vis" report_ms)" "$((errors + $(field "$vis" timeouts)))"
}
[[ -n $PERF_DIR ]] && say "profile: $PERF_DIR/perf.txt (by symbol), $PERF_DIR/perf-threads.txt (by thread)"
if ((errors > 0)) || [[ $(field "$vis" timeouts) != 0 ]] || [[ $(field "$vis" probes) == 0 ]] ||
  [[ $(grep -c '^LOAD .* ok=0 ' "$OUT") != 0 ]]; then
  say "FAILED: errors above (logs in $LOGS); a run with errors is not a result"
  exit 1
fi
rm -rf "$LOGS"
