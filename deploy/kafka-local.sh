#!/usr/bin/env bash
# kafka-local.sh - run a real Apache Kafka broker (or a 3-node cluster) on
# loopback for valuepulse development and integration tests.
#
# The broker runs in KRaft mode (one JVM that is both broker and controller),
# listens on 127.0.0.1 only, and is started from plain jars fetched from Maven
# Central with the machine's Maven (deploy/kafka/pom.xml), so no Kafka tarball
# and no download outside Maven is needed. Every `start` is a fresh, empty
# cluster.
#
# Besides the PLAINTEXT listener it always opens, on 127.0.0.1 too:
#   - a SASL_PLAINTEXT listener with SCRAM-SHA-512 (port + 2) and one SCRAM
#     user, created when the storage is formatted: clients use
#       security.protocol=SASL_PLAINTEXT  sasl.mechanism=SCRAM-SHA-512
#       sasl.username=$VALUEPULSE_KAFKA_SASL_USER  sasl.password=$VALUEPULSE_KAFKA_SASL_PASSWORD
#   - a PLAINTEXT listener for network-fault tests (port + 3) that advertises
#     another port (port + 4) as its address: a TCP proxy on that port,
#     forwarding to port + 3, then carries every byte between a client that
#     bootstraps through the proxy and the broker.
#
# Usage:
#   deploy/kafka-local.sh fetch                 fetch the Kafka jars into the cache (idempotent)
#   deploy/kafka-local.sh start                 (re)start a fresh broker; prints the bootstrap address
#   deploy/kafka-local.sh stop                  stop the broker (idempotent)
#   deploy/kafka-local.sh status                exit 0 and print the bootstrap address if it is up
#   deploy/kafka-local.sh env                   print the addresses as VAR=value lines (tests read them)
#   deploy/kafka-local.sh kill                  SIGKILL the broker (fault tests); its data stays
#   deploy/kafka-local.sh pause | resume        SIGSTOP / SIGCONT the broker (fault tests)
#   deploy/kafka-local.sh restart               start the broker again on its existing data (after kill/stop)
#   deploy/kafka-local.sh create-topic NAME PARTITIONS [TopicCommand args, e.g. --config k=v]
#   deploy/kafka-local.sh list-topics
#   deploy/kafka-local.sh tool CLASS [ARGS...]  run a Kafka tools main class with the cached jars,
#                                               e.g. tool org.apache.kafka.tools.ConsoleProducer ...
#
# Cluster mode (VALUEPULSE_KAFKA_NODES=3): three KRaft nodes on loopback, each
# broker and controller (a combined quorum of three voters), in
# $VALUEPULSE_KAFKA_DIR/node-<id>; node <id> (1, 2, 3) uses the five ports
# from VALUEPULSE_KAFKA_PORT + 10 * (id - 1) (the *_PORT overrides apply to a
# single node only). Every topic, internal ones included, has replication
# factor 3 and min.insync.replicas=2, as production clusters do. `start`,
# `stop`, `status` and `env` act on the cluster (the bootstrap address lists
# the three nodes); the fault commands take the node:
#   deploy/kafka-local.sh kill N | pause N | resume [N] | restart N | stop-node N
#   deploy/kafka-local.sh leader TOPIC PARTITION   print the node id leading that partition
#   deploy/kafka-local.sh controller               print the node id of the active controller
#   deploy/kafka-local.sh isr TOPIC PARTITION      print the in-sync replicas (comma-separated ids)
#
# Only the bootstrap address (e.g. 127.0.0.1:19092) is printed on stdout by
# start/status; progress and errors go to stderr, so
#   BOOTSTRAP=$(deploy/kafka-local.sh start)
# works in scripts.
#
# Environment variables honoured:
#   VALUEPULSE_KAFKA_VERSION          Kafka version to fetch/run (default below, the tested one)
#   VALUEPULSE_KAFKA_NODES            1 (default): one broker; 3: a replicated cluster (see above)
#   VALUEPULSE_KAFKA_CACHE            jar cache dir (default $HOME/.cache/valuepulse/kafka-<version>)
#   VALUEPULSE_KAFKA_DIR              state dir: config, data, log, pid (default /tmp/valuepulse-kafka)
#   VALUEPULSE_KAFKA_PORT             broker port on 127.0.0.1 (default 19092)
#   VALUEPULSE_KAFKA_CONTROLLER_PORT  KRaft controller port on 127.0.0.1 (default broker port + 1)
#   VALUEPULSE_KAFKA_SASL_PORT        SASL_PLAINTEXT (SCRAM-SHA-512) listener (default broker port + 2)
#   VALUEPULSE_KAFKA_PROXIED_PORT     listener reached through a proxy (default broker port + 3)
#   VALUEPULSE_KAFKA_PROXY_PORT       address that listener advertises: the proxy's (default broker port + 4)
#   VALUEPULSE_KAFKA_SASL_USER        SCRAM user created at start (default valuepulse)
#   VALUEPULSE_KAFKA_SASL_PASSWORD    its password (default valuepulse-local-secret; loopback tests only)
#   VALUEPULSE_KAFKA_HEAP             broker JVM heap options (default "-Xms256m -Xmx512m")
#   VALUEPULSE_KAFKA_START_TIMEOUT    seconds to wait for the broker to be ready (default 120)
#   JAVA_HOME                         JDK to use (Java 17 or newer); otherwise `java` on PATH
#
# Requirements: bash, Java 17+, Maven (only for fetch, when the cache is empty).

set -euo pipefail

# Kafka version: 4.3.1 resolves from Maven Central, its jars are Java 17 class
# files (major 61) and the broker was verified to start on Java 17.
KAFKA_VERSION="${VALUEPULSE_KAFKA_VERSION:-4.3.1}"
# log4j2 version that kafka-server 4.3.1 depends on (for the slf4j binding).
LOG4J_VERSION="2.25.4"
SCALA_VERSION="2.13"

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
POM="$SCRIPT_DIR/kafka/pom.xml"
CACHE_DIR="${VALUEPULSE_KAFKA_CACHE:-$HOME/.cache/valuepulse/kafka-$KAFKA_VERSION}"
LIB_DIR="$CACHE_DIR/libs"
CACHE_MARKER="$CACHE_DIR/.complete"
STATE_DIR="${VALUEPULSE_KAFKA_DIR:-/tmp/valuepulse-kafka}"
HOST="127.0.0.1"
PORT="${VALUEPULSE_KAFKA_PORT:-19092}"
if [[ "$PORT" =~ ^[0-9]+$ ]]; then DEFAULT_CONTROLLER_PORT=$((10#$PORT + 1)); else DEFAULT_CONTROLLER_PORT=""; fi
CONTROLLER_PORT="${VALUEPULSE_KAFKA_CONTROLLER_PORT:-$DEFAULT_CONTROLLER_PORT}"
port_plus() { if [[ "$PORT" =~ ^[0-9]+$ ]]; then printf '%s' $((10#$PORT + $1)); fi; }
SASL_PORT="${VALUEPULSE_KAFKA_SASL_PORT:-$(port_plus 2)}"
PROXIED_PORT="${VALUEPULSE_KAFKA_PROXIED_PORT:-$(port_plus 3)}"
PROXY_PORT="${VALUEPULSE_KAFKA_PROXY_PORT:-$(port_plus 4)}"
SASL_USER="${VALUEPULSE_KAFKA_SASL_USER:-valuepulse}"
SASL_PASSWORD="${VALUEPULSE_KAFKA_SASL_PASSWORD:-valuepulse-local-secret}"
HEAP_OPTS="${VALUEPULSE_KAFKA_HEAP:--Xms256m -Xmx512m}"
START_TIMEOUT="${VALUEPULSE_KAFKA_START_TIMEOUT:-120}"
NODES="${VALUEPULSE_KAFKA_NODES:-1}"
[[ "$NODES" == 1 || "$NODES" == 3 ]] ||
  { printf 'kafka-local: error: VALUEPULSE_KAFKA_NODES=%s: use 1 (one broker) or 3 (a replicated cluster)\n' "$NODES" >&2; exit 1; }
BASE_PORT="$PORT"

TOOLS_LOG4J="$STATE_DIR/tools-log4j2.properties"
ADMIN_CONFIG="$STATE_DIR/admin.properties"

# Points the per-node globals (ports, files, node id) at node $1. One node
# keeps the layout of the state dir itself; a cluster's nodes live in
# node-<id>/ with ports from the base port + 10 * (id - 1).
select_node() {
  NODE_ID="$1"
  if ((NODES == 1)); then
    NODE_DIR="$STATE_DIR"
  else
    NODE_DIR="$STATE_DIR/node-$NODE_ID"
    if [[ "$BASE_PORT" =~ ^[0-9]+$ ]]; then
      local base=$((10#$BASE_PORT + 10 * (NODE_ID - 1)))
      PORT=$base CONTROLLER_PORT=$((base + 1)) SASL_PORT=$((base + 2))
      PROXIED_PORT=$((base + 3)) PROXY_PORT=$((base + 4))
    fi
  fi
  DATA_DIR="$NODE_DIR/data"
  CONFIG="$NODE_DIR/server.properties"
  BROKER_LOG4J="$NODE_DIR/log4j2.properties"
  BROKER_LOG="$NODE_DIR/kafka.log"
  PID_FILE="$NODE_DIR/kafka.pid"
}

# host:port of every node's PLAINTEXT listener, comma-separated
all_bootstrap() {
  local i list=()
  for ((i = 1; i <= NODES; i++)); do
    if ((NODES == 1)); then list+=("$HOST:$PORT"); else list+=("$HOST:$((10#$BASE_PORT + 10 * (i - 1)))"); fi
  done
  local IFS=,
  printf '%s' "${list[*]}"
}

# the KRaft voters of a cluster: 1@host:controller1,2@...
quorum_voters() {
  local i list=()
  for ((i = 1; i <= NODES; i++)); do list+=("$i@$HOST:$((10#$BASE_PORT + 10 * (i - 1) + 1))"); done
  local IFS=,
  printf '%s' "${list[*]}"
}

select_node 1
BOOTSTRAP="$(all_bootstrap 2>/dev/null || printf '%s:%s' "$HOST" "$PORT")"

if [[ -n "${JAVA_HOME:-}" ]]; then JAVA="$JAVA_HOME/bin/java"; else JAVA="java"; fi

# ---------------------------------------------------------------- helpers

log() { printf 'kafka-local: %s\n' "$*" >&2; }
die() { printf 'kafka-local: error: %s\n' "$*" >&2; exit 1; }

show_log_tail() {
  if [[ -f "$BROKER_LOG" ]]; then
    printf -- '---- last 40 lines of %s ----\n' "$BROKER_LOG" >&2
    tail -n 40 "$BROKER_LOG" >&2 || true
    printf -- '---- end of broker log ----\n' >&2
  fi
}

check_port_number() {
  local name="$1" value="$2"
  if ! [[ "$value" =~ ^[0-9]+$ ]] || ((10#$value < 1 || 10#$value > 65535)); then
    die "$name='$value' is not a valid TCP port: set it to a number between 1 and 65535"
  fi
}

require_java() {
  command -v "$JAVA" >/dev/null 2>&1 ||
    die "java not found ($JAVA): install a JDK 17 or newer (apt-get install openjdk-17-jdk-headless) or set JAVA_HOME"
  local spec
  spec="$("$JAVA" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2; exit}')"
  spec="${spec#1.}"
  [[ "$spec" =~ ^[0-9]+$ ]] || die "cannot tell the version of $JAVA: check that it is a working JDK 17 or newer"
  ((spec >= 17)) || die "$JAVA is Java $spec but the Kafka $KAFKA_VERSION broker needs Java 17 or newer: set JAVA_HOME to a JDK 17+"
}

# true if something accepts TCP connections on HOST:$1
port_open() {
  (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

# pid of our broker if it is running, else empty (and returns 1)
broker_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # guard against pid reuse: it must be our kafka.Kafka JVM
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka' || return 1
  printf '%s\n' "$pid"
}

classpath() { printf '%s/*' "$LIB_DIR"; }

write_tools_config() {
  mkdir -p "$STATE_DIR"
  cat >"$TOOLS_LOG4J" <<'EOF'
# log4j2 config for the command line tools: warnings only, to stderr
status = warn
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.err.ref = STDERR
EOF
  cat >"$ADMIN_CONFIG" <<'EOF'
# admin client settings for the tools: fail fast instead of retrying for a minute
request.timeout.ms=5000
default.api.timeout.ms=10000
EOF
}

# run a Kafka tools main class with the cached jars
run_tool() {
  local class="$1"
  shift
  [[ -f "$TOOLS_LOG4J" ]] || write_tools_config
  "$JAVA" -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Dlog4j2.configurationFile="$TOOLS_LOG4J" \
    -cp "$(classpath)" "$class" "$@"
}

# ---------------------------------------------------------------- fetch

cmd_fetch() {
  if [[ -f "$CACHE_MARKER" ]]; then
    return 0
  fi
  command -v mvn >/dev/null 2>&1 ||
    die "mvn not found: install Maven (apt-get install maven) to fetch Kafka $KAFKA_VERSION from Maven Central"
  [[ -f "$POM" ]] || die "$POM is missing: run this script from a complete valuepulse checkout"
  mkdir -p "$(dirname "$CACHE_DIR")" || die "cannot create $(dirname "$CACHE_DIR"): set VALUEPULSE_KAFKA_CACHE to a writable dir"
  mkdir -p "$CACHE_DIR"

  # serialise concurrent fetches into the same cache
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$CACHE_DIR/.lock"
    flock 9
    if [[ -f "$CACHE_MARKER" ]]; then
      exec 9>&-
      return 0
    fi
  fi

  log "fetching Kafka $KAFKA_VERSION jars from Maven Central into $CACHE_DIR (one time) ..."
  local tmp started
  tmp="$(mktemp -d "$CACHE_DIR/.fetch.XXXXXX")"
  started=$SECONDS
  # run maven on a copy of the pom so that nothing is written into the checkout
  cp "$POM" "$tmp/pom.xml"
  # (maven's output is kept in a file and shown only when it fails)
  if ! (cd "$tmp" && mvn -B -Dstyle.color=never -f pom.xml \
    -Dkafka.version="$KAFKA_VERSION" -Dlog4j.version="$LOG4J_VERSION" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp/libs" \
    >"$tmp/mvn.log" 2>&1); then
    sed 's/\x1b\[[0-9;]*m//g' "$tmp/mvn.log" | grep -v -e 'Download' -e '^\[INFO\] *$' | tail -n 30 >&2 || true
    rm -rf "$tmp"
    die "maven could not fetch Kafka $KAFKA_VERSION (see the maven output above): check the version and that Maven Central is reachable with the machine's maven settings"
  fi
  local jar
  for jar in "kafka_$SCALA_VERSION-$KAFKA_VERSION.jar" "kafka-tools-$KAFKA_VERSION.jar" "kafka-clients-$KAFKA_VERSION.jar"; do
    [[ -f "$tmp/libs/$jar" ]] || { rm -rf "$tmp"; die "maven finished but $jar is missing from the fetched jars: check deploy/kafka/pom.xml"; }
  done
  rm -rf "$LIB_DIR"
  mv "$tmp/libs" "$LIB_DIR"
  rm -rf "$tmp"
  # marker last: its presence means the cache is complete
  printf 'kafka %s fetched %s\n' "$KAFKA_VERSION" "$(date -u +%FT%TZ)" >"$CACHE_MARKER"
  log "fetched $(find "$LIB_DIR" -name '*.jar' | wc -l) jars in $((SECONDS - started)) s"
  # release the lock; the fd must not leak into the broker JVM started later
  { exec 9>&-; } 2>/dev/null || true
}

# ---------------------------------------------------------------- start

random_cluster_id() {
  # a Kafka Uuid: 16 random bytes, base64url without padding (22 chars);
  # avoid a leading '-' (it would look like a command line option)
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    [[ "$id" != -* ]] && break
  done
  printf '%s\n' "$id"
}

write_broker_config() {
  # one node: replication factor 1; a cluster: 3 replicas, 2 must acknowledge
  local quorum rf=1 isr=1
  if ((NODES == 1)); then
    quorum="controller.quorum.bootstrap.servers=$HOST:$CONTROLLER_PORT"
  else
    quorum="controller.quorum.voters=$(quorum_voters)"
    rf=3 isr=2
  fi
  mkdir -p "$NODE_DIR"
  cat >"$CONFIG" <<EOF
# generated by deploy/kafka-local.sh: KRaft broker+controller $NODE_ID of $NODES for tests
process.roles=broker,controller
node.id=$NODE_ID
$quorum
listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CONTROLLER_PORT,SASL_PLAINTEXT://$HOST:$SASL_PORT,PROXIED://$HOST:$PROXIED_PORT
# PROXIED advertises the port of a TCP proxy (run by the fault tests) that
# forwards to it, so clients that bootstrap through the proxy stay behind it
advertised.listeners=PLAINTEXT://$HOST:$PORT,SASL_PLAINTEXT://$HOST:$SASL_PORT,PROXIED://$HOST:$PROXY_PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,PROXIED:PLAINTEXT
# SCRAM-SHA-512 on the SASL listener; its user is created by StorageTool format --add-scram
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_plaintext.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
log.dirs=$DATA_DIR

# replication: 1 on one node; 3 with min.insync.replicas=2 on a cluster
num.partitions=1
default.replication.factor=$rf
min.insync.replicas=$isr
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$isr
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
delete.topic.enable=true

# keep everything: time retention compares against the record timestamps, so
# test data with an old CreateTime would otherwise be deleted at the next check
log.retention.ms=-1
log.retention.bytes=-1
log.retention.hours=2160
# accept records whose CreateTime is far in the past or in the future
log.message.timestamp.type=CreateTime
log.message.timestamp.before.max.ms=9223372036854775807
log.message.timestamp.after.max.ms=9223372036854775807

# a test run opens many connections at once (every test its clients): the
# default accept queue of 50 overflows, and each overflowed client retries
# its handshake only after a second
socket.listen.backlog.size=1024

# small machine
num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
background.threads=2
EOF
  cat >"$BROKER_LOG4J" <<'EOF'
# log4j2 config for the broker: everything to stdout, which goes to kafka.log
status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.out.ref = STDOUT
logger.request.name = kafka.request.logger
logger.request.level = warn
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = warn
EOF
}

# wait until the broker answers a metadata request; dies on timeout or crash
wait_ready() {
  local pid="$1" deadline=$((SECONDS + START_TIMEOUT))
  # 1) the listener accepts TCP connections
  until port_open "$PORT"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      show_log_tail
      die "the Kafka broker exited during startup: see $BROKER_LOG (tail above)"
    fi
    if ((SECONDS >= deadline)); then
      show_log_tail
      stop_pid "$pid" >/dev/null 2>&1 || true
      die "the Kafka broker did not open $BOOTSTRAP within ${START_TIMEOUT}s: see $BROKER_LOG (tail above)"
    fi
    sleep 0.3
  done
  # 2) a real metadata round trip through the admin client (on a cluster:
  # through any node, so the bootstrap list)
  local out
  until out="$(run_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" \
    --command-config "$ADMIN_CONFIG" --list 2>&1)"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      show_log_tail
      die "the Kafka broker exited during startup: see $BROKER_LOG (tail above)"
    fi
    if ((SECONDS >= deadline)); then
      printf '%s\n' "$out" >&2
      show_log_tail
      stop_pid "$pid" >/dev/null 2>&1 || true
      die "the Kafka broker on $BOOTSTRAP did not answer metadata requests within ${START_TIMEOUT}s: see $BROKER_LOG (tail above)"
    fi
    sleep 1
  done
}

check_node_ports() {
  check_port_number VALUEPULSE_KAFKA_PORT "$PORT"
  check_port_number VALUEPULSE_KAFKA_CONTROLLER_PORT "$CONTROLLER_PORT"
  check_port_number VALUEPULSE_KAFKA_SASL_PORT "$SASL_PORT"
  check_port_number VALUEPULSE_KAFKA_PROXIED_PORT "$PROXIED_PORT"
  check_port_number VALUEPULSE_KAFKA_PROXY_PORT "$PROXY_PORT"
  local distinct
  distinct="$(printf '%s\n' "$PORT" "$CONTROLLER_PORT" "$SASL_PORT" "$PROXIED_PORT" "$PROXY_PORT" | sort -u | wc -l)"
  ((distinct == 5)) || die "ports $PORT $CONTROLLER_PORT $SASL_PORT $PROXIED_PORT $PROXY_PORT (broker, controller, SASL, proxied, proxy) must all differ: set VALUEPULSE_KAFKA_*_PORT"
}

# true if any node of ours is running
any_node_running() {
  local i
  for ((i = 1; i <= NODES; i++)); do
    select_node "$i"
    if broker_pid >/dev/null; then select_node 1; return 0; fi
  done
  select_node 1
  return 1
}

cmd_start() {
  check_port_number VALUEPULSE_KAFKA_PORT "$BASE_PORT"
  ((NODES == 1 || 10#$BASE_PORT + 10 * (NODES - 1) + 4 <= 65535)) ||
    die "VALUEPULSE_KAFKA_PORT=$BASE_PORT leaves no room for $NODES nodes (each takes 5 ports, 10 apart): choose a lower port"
  [[ "$START_TIMEOUT" =~ ^[0-9]+$ ]] || die "VALUEPULSE_KAFKA_START_TIMEOUT='$START_TIMEOUT' is not a number of seconds"
  require_java
  cmd_fetch

  # each start is a fresh cluster: stop a previous broker of ours first
  if any_node_running; then
    log "a broker is already running from $STATE_DIR: stopping it for a fresh start"
    cmd_stop
  fi
  mkdir -p "$STATE_DIR" || die "cannot create $STATE_DIR: set VALUEPULSE_KAFKA_DIR to a writable dir"
  write_tools_config

  local cluster_id started i p format_mode=()
  cluster_id="$(random_cluster_id)"
  started=$SECONDS
  # one node bootstraps its own quorum; a cluster's voters are in its config
  ((NODES == 1)) && format_mode=(--standalone)
  for ((i = 1; i <= NODES; i++)); do
    select_node "$i"
    check_node_ports
    for p in "$PORT" "$CONTROLLER_PORT" "$SASL_PORT" "$PROXIED_PORT"; do
      ! port_open "$p" ||
        die "port $HOST:$p is already in use by another process: stop it or choose other ports with VALUEPULSE_KAFKA_PORT / VALUEPULSE_KAFKA_CONTROLLER_PORT"
    done
    # wipe only what this script creates (never rm -rf the state dir itself)
    rm -rf "$DATA_DIR" "$BROKER_LOG" "$PID_FILE" "$NODE_DIR/logs"
    mkdir -p "$DATA_DIR" "$NODE_DIR/logs"
    write_broker_config
    log "formatting KRaft storage in $DATA_DIR (cluster id $cluster_id, node $NODE_ID of $NODES)"
    if ! "$JAVA" -Xmx256m -Dlog4j2.configurationFile="$TOOLS_LOG4J" -cp "$(classpath)" \
      kafka.tools.StorageTool format "${format_mode[@]}" --cluster-id "$cluster_id" --config "$CONFIG" \
      --add-scram "SCRAM-SHA-512=[name=$SASL_USER,password=\"$SASL_PASSWORD\"]" \
      >>"$BROKER_LOG" 2>&1; then
      show_log_tail
      die "formatting the KRaft storage failed (kafka.tools.StorageTool format): see $BROKER_LOG (tail above)"
    fi
  done

  for ((i = 1; i <= NODES; i++)); do
    select_node "$i"
    log "starting Kafka $KAFKA_VERSION node $NODE_ID on $HOST:$PORT (controller $HOST:$CONTROLLER_PORT, SASL $HOST:$SASL_PORT, proxied $HOST:$PROXIED_PORT via $HOST:$PROXY_PORT), log $BROKER_LOG"
    launch_broker
  done
  for ((i = 1; i <= NODES; i++)); do
    select_node "$i"
    wait_ready "$(cat "$PID_FILE")"
  done
  ((NODES == 1)) || wait_registered
  select_node 1
  log "$( ((NODES == 1)) && echo broker || echo "cluster of $NODES nodes") ready in $((SECONDS - started)) s"
  printf '%s\n' "$BOOTSTRAP"
}

# the node ids the cluster's metadata lists as live (unfenced) brokers, one per line
live_brokers() {
  run_tool org.apache.kafka.tools.BrokerApiVersionsCommand --bootstrap-server "$BOOTSTRAP" \
    --command-config "$ADMIN_CONFIG" 2>/dev/null |
    grep -v "isFenced: true" | sed -n 's/^[^ ]* (id: \([0-9]*\) .*-> (.*/\1/p' | sort -u
}

# waits until the metadata lists the node ids given (default: every node)
wait_registered() {
  local want=("$@") deadline=$((SECONDS + START_TIMEOUT)) live id missing
  ((${#want[@]})) || for ((id = 1; id <= NODES; id++)); do want+=("$id"); done
  while :; do
    live="$(live_brokers || true)"
    missing=()
    for id in "${want[@]}"; do grep -qx "$id" <<<"$live" || missing+=("$id"); done
    ((${#missing[@]} == 0)) && return 0
    if ((SECONDS >= deadline)); then
      die "node(s) ${missing[*]} did not register with the cluster within ${START_TIMEOUT}s (live: $(tr '\n' ' ' <<<"$live")): see $STATE_DIR/node-*/kafka.log"
    fi
    sleep 1
  done
}

# start the JVM on the existing config and data; records its pid
launch_broker() {
  local detach=()
  if command -v setsid >/dev/null 2>&1; then detach=(setsid); fi
  # shellcheck disable=SC2086  # HEAP_OPTS is a list of JVM options
  "${detach[@]}" "$JAVA" $HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$BROKER_LOG4J" -Dkafka.logs.dir="$NODE_DIR/logs" \
    -cp "$(classpath)" kafka.Kafka "$CONFIG" \
    >>"$BROKER_LOG" 2>&1 </dev/null &
  printf '%s\n' "$!" >"$PID_FILE"
}

# start again on the data of the last start (after kill or stop): no format
cmd_restart() {
  local node
  node="$(node_arg restart "$@")" || exit 1
  select_node "$node"
  [[ -f "$CONFIG" && -d "$DATA_DIR" ]] || die "nothing to restart in $NODE_DIR: run deploy/kafka-local.sh start first"
  require_java
  if broker_pid >/dev/null; then die "the broker of $NODE_DIR is still running: kill or stop it first"; fi
  local p started=$SECONDS
  for p in "$PORT" "$CONTROLLER_PORT" "$SASL_PORT" "$PROXIED_PORT"; do
    ! port_open "$p" || die "port $HOST:$p is still in use: wait for the old broker to go"
  done
  log "restarting Kafka on the data in $DATA_DIR"
  launch_broker
  local pid
  pid="$(cat "$PID_FILE")"
  wait_ready "$pid"
  ((NODES == 1)) || wait_registered "$NODE_ID"
  log "broker $NODE_ID ready again in $((SECONDS - started)) s (pid $pid)"
  printf '%s\n' "$BOOTSTRAP"
}

# the node a fault command acts on: its argument, required on a cluster
node_arg() {
  local cmd="$1" n="${2:-}"
  if ((NODES == 1)); then
    [[ -z "$n" || "$n" == 1 ]] || die "$cmd: this is a single broker (VALUEPULSE_KAFKA_NODES=1): give no node, or 1"
    printf '1'
    return 0
  fi
  [[ "$n" =~ ^[1-9]$ ]] && ((n <= NODES)) || die "$cmd: give the node (1 to $NODES), e.g. deploy/kafka-local.sh $cmd 2"
  printf '%s' "$n"
}

# SIGTERM one node of a cluster and wait for it to go (a clean shutdown:
# it hands its leadership over first)
cmd_stop_node() {
  local node
  node="$(node_arg stop-node "$@")" || exit 1
  select_node "$node"
  local pid
  pid="$(broker_pid)" || die "node $NODE_ID is not running"
  stop_pid "$pid"
  rm -f "$PID_FILE"
  log "stopped node $NODE_ID (pid $pid)"
}

# one field of TOPIC's PARTITION as TopicCommand --describe prints it:
# partition_field Leader|Isr CMD TOPIC PARTITION
partition_field() {
  local field="$1" cmd="$2"
  shift 2
  (($# == 2)) || die "usage: $0 $cmd TOPIC PARTITION"
  require_running
  run_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" \
    --command-config "$ADMIN_CONFIG" --describe --topic "$1" |
    awk -v p="$2" -v f="$field:" '{ for (i = 1; i < NF; i++) { if ($i == "Partition:") part = $(i + 1); if ($i == f && part == p) { print $(i + 1); exit } } }' |
    grep . || die "no $field found for $1 partition $2"
}

# the node id leading TOPIC's PARTITION (-1 when it has none)
cmd_leader() { partition_field Leader leader "$@"; }

# in-sync replicas of TOPIC's PARTITION, comma-separated
cmd_isr() { partition_field Isr isr "$@"; }

# the node id of the active controller (the KRaft quorum's leader)
cmd_controller() {
  require_running
  run_tool org.apache.kafka.tools.MetadataQuorumCommand --bootstrap-server "$BOOTSTRAP" \
    --command-config "$ADMIN_CONFIG" describe --status |
    sed -n 's/^LeaderId: *\([0-9]*\).*/\1/p' | grep . || die "cannot tell the active controller"
}

# send a signal to the running broker: KILL, STOP or CONT
cmd_signal() {
  local sig="$1" pid
  shift
  # resume without a node resumes every node (nothing may stay stopped)
  if [[ "$sig" == CONT && $# == 0 && NODES -gt 1 ]]; then
    local i
    for ((i = 1; i <= NODES; i++)); do
      select_node "$i"
      if pid="$(broker_pid)"; then kill -CONT "$pid" || true; fi
    done
    log "sent SIGCONT to every running node"
    return 0
  fi
  local node verb
  case "$sig" in KILL) verb=kill ;; STOP) verb=pause ;; *) verb=resume ;; esac
  node="$(node_arg "$verb" "$@")" || exit 1
  select_node "$node"
  pid="$(broker_pid)" || die "no broker of $NODE_DIR is running"
  kill "-$sig" "$pid" || die "kill -$sig $pid failed"
  if [[ "$sig" == KILL ]]; then
    local i
    for ((i = 0; i < 100; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    rm -f "$PID_FILE"
  fi
  log "sent SIG$sig to broker $NODE_ID (pid $pid)"
}

cmd_env() {
  printf 'VALUEPULSE_TEST_BROKERS=%s\n' "$BOOTSTRAP"
  printf 'VALUEPULSE_TEST_SASL_BROKERS=%s:%s\n' "$HOST" "$SASL_PORT"
  printf 'VALUEPULSE_TEST_SASL_USER=%s\n' "$SASL_USER"
  printf 'VALUEPULSE_TEST_SASL_PASSWORD=%s\n' "$SASL_PASSWORD"
  printf 'VALUEPULSE_TEST_PROXIED_BROKER=%s:%s\n' "$HOST" "$PROXIED_PORT"
  printf 'VALUEPULSE_TEST_PROXY_ADDR=%s:%s\n' "$HOST" "$PROXY_PORT"
  printf 'VALUEPULSE_TEST_KAFKA_DIR=%s\n' "$STATE_DIR"
  printf 'VALUEPULSE_TEST_KAFKA_NODES=%s\n' "$NODES"
}

# ---------------------------------------------------------------- stop / status

# SIGTERM, wait up to $2 seconds (default 30), then SIGKILL
stop_pid() {
  local pid="$1" grace="${2:-30}" i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < grace * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  log "broker pid $pid did not stop within $grace s after SIGTERM: sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  die "broker pid $pid is still alive after SIGKILL: check it with ps"
}

cmd_stop() {
  local pid i grace=30
  if ((NODES > 1)); then
    # The last nodes of a quorum cannot finish a controlled shutdown once
    # the others are gone (it waits for a controller): stop them together
    # and give each 15 s before SIGKILL, which Kafka recovers from.
    grace=15
    for ((i = 1; i <= NODES; i++)); do
      select_node "$i"
      if pid="$(broker_pid)"; then kill -CONT "$pid" 2>/dev/null || true; kill -TERM "$pid" 2>/dev/null || true; fi
    done
  fi
  for ((i = 1; i <= NODES; i++)); do
    select_node "$i"
    if ! pid="$(broker_pid)"; then
      rm -f "$PID_FILE"
      log "broker $NODE_ID: not running (or stopped)"
      continue
    fi
    # a stopped JVM cannot act on SIGTERM
    kill -CONT "$pid" 2>/dev/null || true
    log "stopping broker $NODE_ID (pid $pid)"
    stop_pid "$pid" "$grace"
    rm -f "$PID_FILE"
    log "stopped broker $NODE_ID"
  done
  select_node 1
}

cmd_status() {
  local pid i
  for ((i = 1; i <= NODES; i++)); do
    select_node "$i"
    if ! pid="$(broker_pid)"; then
      log "broker $NODE_ID not running (no live broker for $NODE_DIR): run deploy/kafka-local.sh start"
      exit 1
    fi
    if ! port_open "$PORT"; then
      log "broker $NODE_ID (pid $pid) is running but $HOST:$PORT does not accept connections (starting or broken): see $BROKER_LOG"
      exit 1
    fi
  done
  printf '%s\n' "$BOOTSTRAP"
}

# ---------------------------------------------------------------- topics

require_running() {
  [[ -f "$CACHE_MARKER" ]] || die "Kafka jars are not fetched: run deploy/kafka-local.sh start"
  # one live node that accepts connections is enough to answer
  local i up=0
  for ((i = 1; i <= NODES; i++)); do
    select_node "$i"
    if broker_pid >/dev/null && port_open "$PORT"; then up=1; fi
  done
  select_node 1
  ((up)) || die "the broker is not running on $BOOTSTRAP: run deploy/kafka-local.sh start"
  [[ -f "$ADMIN_CONFIG" && -f "$TOOLS_LOG4J" ]] || write_tools_config
}

cmd_create_topic() {
  (($# >= 2)) || die "usage: $0 create-topic NAME PARTITIONS [extra TopicCommand args]"
  local name="$1" partitions="$2"
  shift 2
  [[ "$partitions" =~ ^[1-9][0-9]*$ ]] || die "PARTITIONS must be a positive number, got '$partitions'"
  require_java
  require_running
  run_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" \
    --command-config "$ADMIN_CONFIG" --create --topic "$name" \
    --partitions "$partitions" --replication-factor "$( ((NODES == 1)) && echo 1 || echo 3)" "$@" >&2 ||
    die "creating topic '$name' failed (see the message above)"
}

cmd_list_topics() {
  require_java
  require_running
  run_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" \
    --command-config "$ADMIN_CONFIG" --list ||
    die "listing topics on $BOOTSTRAP failed (see the message above)"
}

cmd_tool() {
  (($# >= 1)) || die "usage: $0 tool CLASS [ARGS...], e.g. tool org.apache.kafka.tools.ConsoleProducer --bootstrap-server $BOOTSTRAP --topic T"
  require_java
  [[ -f "$CACHE_MARKER" ]] || cmd_fetch
  run_tool "$@"
}

usage() {
  sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//' >&2
}

main() {
  local cmd="${1:-}"
  (($#)) && shift
  case "$cmd" in
    fetch) require_java; cmd_fetch ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    create-topic) cmd_create_topic "$@" ;;
    list-topics) cmd_list_topics ;;
    tool) cmd_tool "$@" ;;
    env) cmd_env ;;
    kill) cmd_signal KILL "$@" ;;
    pause) cmd_signal STOP "$@" ;;
    resume) cmd_signal CONT "$@" ;;
    restart) cmd_restart "$@" ;;
    stop-node) cmd_stop_node "$@" ;;
    leader) cmd_leader "$@" ;;
    isr) cmd_isr "$@" ;;
    controller) cmd_controller ;;
    -h | --help | help) usage ;;
    "") usage; die "no command given: use fetch, start, stop, status, env, create-topic, list-topics, tool, kill, pause, resume, restart, stop-node, leader, isr or controller" ;;
    *) die "unknown command '$cmd': use fetch, start, stop, status, env, create-topic, list-topics, tool, kill, pause, resume, restart, stop-node, leader, isr or controller" ;;
  esac
}

main "$@"
