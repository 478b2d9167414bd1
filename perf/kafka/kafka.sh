#!/usr/bin/env bash
# Run a real Apache Kafka (KRaft, broker+controller in one JVM per node; one node or three),
# resolved from Maven Central by pom.xml, as a reference broker for tests and
# benchmarks.
#
#   kafka.sh install              fetch the jars into lib/ (skipped when complete)
#   kafka.sh start PORT DATADIR   format DATADIR and start Kafka on 127.0.0.1:PORT
#                                 (controller on PORT+1); waits until it serves
#                                 With KAFKA_SSL_KEYSTORE (a PEM file: private key and
#                                 certificate chain) also an SSL listener on PORT+2.
#   kafka.sh stop DATADIR         stop the Kafka started with that DATADIR
#   kafka.sh start-cluster BASE_PORT DATADIR
#                                 three KRaft nodes, each broker+controller (static voters),
#                                 PLAINTEXT on BASE_PORT, +10, +20, data in DATADIR/node1..3
#   kafka.sh stop-cluster DATADIR stop them
#
# Env: JAVA (default: $JAVA_HOME/bin/java or java), KAFKA_HEAP (default -Xmx1g),
#      KAFKA_START_TIMEOUT seconds (default 60).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LIB="$HERE/lib"
STAMP="$LIB/.complete"
if [[ -n "${JAVA:-}" ]]; then :; elif [[ -n "${JAVA_HOME:-}" ]]; then JAVA="$JAVA_HOME/bin/java"; else JAVA=java; fi
# Any fixed base64 UUID will do: each data directory belongs to one cluster only.
CLUSTER_ID="hNybi2MuTjyGqKCCfIykMg"

die() { echo "kafka.sh: $*" >&2; exit 1; }

pom_hash() { sha256sum "$HERE/pom.xml" | cut -d' ' -f1; }

cmd_install() {
    # The stamp holds the pom's hash, so editing pom.xml forces a fresh copy.
    if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$(pom_hash)" ]]; then
        return 0
    fi
    rm -rf "$LIB"
    (cd "$HERE" && mvn -q -B dependency:copy-dependencies -DoutputDirectory=lib)
    ls "$LIB"/kafka_2.13-*.jar >/dev/null 2>&1 || die "install: no kafka jar in $LIB"
    pom_hash >"$STAMP"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Alive = exists and is not a zombie (a Kafka that dies during `start` stays a
# zombie child of this script, and kill -0 would still succeed on it).
pid_alive() {
    [[ -f "$1" ]] || return 1
    local st
    st="$(sed -n 's/^.*) \(.\).*$/\1/p' "/proc/$(cat "$1")/stat" 2>/dev/null)" || return 1
    [[ -n "$st" && "$st" != Z ]]
}

# write_config DATA NODE_ID PORT CTRL QUORUM [RF]: server.properties and log4j2.properties in DATA for a
# broker+controller node with its PLAINTEXT listener on PORT and its controller on CTRL. QUORUM is
# either "bootstrap" (a single standalone node) or the static controller.quorum.voters; RF is the
# replication factor of Kafka's internal topics (1 for a single node).
write_config() {
    local data="$1" node="$2" port="$3" ctrl="$4" quorum="$5" rf="${6:-1}"
    local listeners="PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$ctrl" ssl_settings="" quorum_setting
    if [[ -n "${KAFKA_SSL_KEYSTORE:-}" ]]; then
        listeners+=",SSL://127.0.0.1:$((port + 2))"
        ssl_settings="ssl.keystore.type=PEM
ssl.keystore.location=$KAFKA_SSL_KEYSTORE"
    fi
    if [[ "$quorum" == bootstrap ]]; then
        quorum_setting="controller.quorum.bootstrap.servers=127.0.0.1:$ctrl"
    else
        quorum_setting="controller.quorum.voters=$quorum"
    fi
    cat >"$data/server.properties" <<EOF
process.roles=broker,controller
node.id=$node
listeners=$listeners
advertised.listeners=$listeners
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SSL:SSL
$ssl_settings
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
$quorum_setting
log.dirs=$data/logs
num.partitions=1
offsets.topic.replication.factor=$rf
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
EOF

    # Plain log4j2 config: everything at INFO to stdout, which goes to kafka.log.
    cat >"$data/log4j2.properties" <<'EOF'
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
EOF
}

# format_and_launch DATA [FORMAT-FLAGS...]: formats DATA's log dir (kept when already formatted, so
# restarts reuse data) and starts the JVM in the background, its pid in DATA/kafka.pid.
format_and_launch() {
    local data="$1"; shift
    local jvm=(${KAFKA_HEAP:--Xms256m -Xmx1g} -XX:+UseG1GC -Djava.awt.headless=true
               "-Dlog4j2.configurationFile=$data/log4j2.properties" -cp "$LIB/*")
    "$JAVA" "${jvm[@]}" kafka.tools.StorageTool format "$@" --ignore-formatted \
        --config "$data/server.properties" --cluster-id "$CLUSTER_ID" >"$data/format.log" 2>&1 \
        || { cat "$data/format.log" >&2; die "start: storage format failed"; }
    nohup "$JAVA" "${jvm[@]}" kafka.Kafka "$data/server.properties" >"$data/kafka.log" 2>&1 </dev/null &
    echo $! >"$data/kafka.pid"
}

# wait_ready DATA PORT: until the port accepts connections and the server logged that it started (the
# listener binds a little before the broker is unfenced).
wait_ready() {
    local data="$1" port="$2" timeout="${KAFKA_START_TIMEOUT:-60}" t0=$SECONDS
    while :; do
        if ! pid_alive "$data/kafka.pid"; then
            tail -n 40 "$data/kafka.log" >&2
            die "start: kafka exited during startup (log: $data/kafka.log)"
        fi
        if port_open "$port" && grep -q "Kafka Server started" "$data/kafka.log"; then
            echo "kafka started on 127.0.0.1:$port (pid $(cat "$data/kafka.pid"), $((SECONDS - t0))s)"
            return 0
        fi
        if ((SECONDS - t0 >= timeout)); then
            tail -n 40 "$data/kafka.log" >&2
            cmd_stop "$data" >&2
            die "start: not serving on port $port after ${timeout}s (log: $data/kafka.log)"
        fi
        sleep 0.5
    done
}

# prepare_node PORT CTRL DIR: creates DIR, checks nothing runs there or on the ports; prints its
# absolute path.
prepare_node() {
    local port="$1" ctrl="$2" data
    [[ "$port" =~ ^[0-9]+$ ]] || die "start: PORT must be a number"
    mkdir -p "$3"
    data="$(cd "$3" && pwd)"
    pid_alive "$data/kafka.pid" && die "start: already running (pid $(cat "$data/kafka.pid"))"
    port_open "$port" && die "start: port $port is already in use"
    port_open "$ctrl" && die "start: controller port $ctrl is already in use"
    echo "$data"
}

cmd_start() {
    [[ $# -eq 2 ]] || die "usage: kafka.sh start PORT DATADIR"
    local port="$1" data
    data="$(prepare_node "$port" $((port + 1)) "$2")"
    cmd_install
    write_config "$data" 1 "$port" $((port + 1)) bootstrap
    # Kafka 4.x: KRaft only; a single combined node formats with --standalone (dynamic quorum), which
    # needs controller.quorum.bootstrap.servers rather than controller.quorum.voters.
    format_and_launch "$data" --standalone
    wait_ready "$data" "$port"
}

# Node i (1-3) of a cluster: PLAINTEXT on BASE+10*(i-1), its controller one above, data in DATADIR/nodeI.
cmd_start_cluster() {
    [[ $# -eq 2 ]] || die "usage: kafka.sh start-cluster BASE_PORT DATADIR"
    local base="$1" i port voters="" data
    [[ "$base" =~ ^[0-9]+$ ]] || die "start-cluster: BASE_PORT must be a number"
    cmd_install
    for i in 1 2 3; do voters+="$i@127.0.0.1:$((base + 10 * (i - 1) + 1)),"; done
    voters="${voters%,}"
    # All three start at once: none finishes starting before the controllers have a quorum.
    for i in 1 2 3; do
        port=$((base + 10 * (i - 1)))
        data="$(prepare_node "$port" $((port + 1)) "$2/node$i")"
        write_config "$data" "$i" "$port" $((port + 1)) "$voters" 3
        format_and_launch "$data"
    done
    for i in 1 2 3; do wait_ready "$2/node$i" $((base + 10 * (i - 1))); done
}

cmd_stop_cluster() {
    [[ $# -eq 1 ]] || die "usage: kafka.sh stop-cluster DATADIR"
    local i
    for i in 1 2 3; do cmd_stop "$1/node$i"; done
}

cmd_stop() {
    [[ $# -eq 1 ]] || die "usage: kafka.sh stop DATADIR"
    local pidfile="$1/kafka.pid" pid i
    if ! pid_alive "$pidfile"; then
        rm -f "$pidfile"
        echo "kafka not running"
        return 0
    fi
    pid="$(cat "$pidfile")"
    kill "$pid"
    # SIGTERM runs a controlled shutdown; give it 30 s before SIGKILL.
    for ((i = 0; i < 60; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "kafka.sh: pid $pid still alive after 30s, sending SIGKILL" >&2
        kill -9 "$pid" 2>/dev/null || true
        while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
    fi
    rm -f "$pidfile"
    echo "kafka stopped (pid $pid)"
}

case "${1:-}" in
    install) shift; cmd_install "$@" ;;
    start) shift; cmd_start "$@" ;;
    stop) shift; cmd_stop "$@" ;;
    start-cluster) shift; cmd_start_cluster "$@" ;;
    stop-cluster) shift; cmd_stop_cluster "$@" ;;
    *) die "usage: kafka.sh install | start PORT DATADIR | stop DATADIR | start-cluster BASE_PORT DATADIR | stop-cluster DATADIR" ;;
esac
