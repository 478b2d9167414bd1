#!/usr/bin/env bash
# Run a real single-node Apache Kafka (KRaft, broker+controller in one JVM),
# resolved from Maven Central by pom.xml, as a reference broker for tests and
# benchmarks.
#
#   kafka.sh install              fetch the jars into lib/ (skipped when complete)
#   kafka.sh start PORT DATADIR   format DATADIR and start Kafka on 127.0.0.1:PORT
#                                 (controller on PORT+1); waits until it serves
#                                 With KAFKA_SSL_KEYSTORE (a PEM file: private key and
#                                 certificate chain) also an SSL listener on PORT+2.
#   kafka.sh stop DATADIR         stop the Kafka started with that DATADIR
#
# Env: JAVA (default: $JAVA_HOME/bin/java or java), KAFKA_HEAP (default -Xmx1g),
#      KAFKA_START_TIMEOUT seconds (default 60).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LIB="$HERE/lib"
STAMP="$LIB/.complete"
if [[ -n "${JAVA:-}" ]]; then :; elif [[ -n "${JAVA_HOME:-}" ]]; then JAVA="$JAVA_HOME/bin/java"; else JAVA=java; fi
# Any fixed base64 UUID will do: the cluster only ever has this one node.
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

cmd_start() {
    [[ $# -eq 2 ]] || die "usage: kafka.sh start PORT DATADIR"
    local port="$1" data ctrl
    [[ "$port" =~ ^[0-9]+$ ]] || die "start: PORT must be a number"
    ctrl=$((port + 1))
    mkdir -p "$2"
    data="$(cd "$2" && pwd)"
    pid_alive "$data/kafka.pid" && die "start: already running (pid $(cat "$data/kafka.pid"))"
    port_open "$port" && die "start: port $port is already in use"
    port_open "$ctrl" && die "start: controller port $ctrl is already in use"
    cmd_install

    local listeners="PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$ctrl" ssl_settings=""
    if [[ -n "${KAFKA_SSL_KEYSTORE:-}" ]]; then
        listeners+=",SSL://127.0.0.1:$((port + 2))"
        ssl_settings="ssl.keystore.type=PEM
ssl.keystore.location=$KAFKA_SSL_KEYSTORE"
    fi
    cat >"$data/server.properties" <<EOF
process.roles=broker,controller
node.id=1
listeners=$listeners
advertised.listeners=$listeners
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SSL:SSL
$ssl_settings
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
controller.quorum.bootstrap.servers=127.0.0.1:$ctrl
log.dirs=$data/logs
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
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

    local jvm=(${KAFKA_HEAP:--Xms256m -Xmx1g} -XX:+UseG1GC -Djava.awt.headless=true
               "-Dlog4j2.configurationFile=$data/log4j2.properties" -cp "$LIB/*")

    # Kafka 4.x: KRaft only; a single combined node formats with --standalone
    # (dynamic quorum), which needs controller.quorum.bootstrap.servers rather
    # than controller.quorum.voters. --ignore-formatted makes restarts reuse data.
    "$JAVA" "${jvm[@]}" kafka.tools.StorageTool format --standalone --ignore-formatted \
        --config "$data/server.properties" --cluster-id "$CLUSTER_ID" >"$data/format.log" 2>&1 \
        || { cat "$data/format.log" >&2; die "start: storage format failed"; }

    nohup "$JAVA" "${jvm[@]}" kafka.Kafka "$data/server.properties" >"$data/kafka.log" 2>&1 </dev/null &
    echo $! >"$data/kafka.pid"

    # Ready = the port accepts connections and the server logged that it started
    # (the listener binds a little before the broker is unfenced).
    local timeout="${KAFKA_START_TIMEOUT:-60}" t0=$SECONDS
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
    *) die "usage: kafka.sh install | start PORT DATADIR | stop DATADIR" ;;
esac
