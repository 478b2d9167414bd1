#!/usr/bin/env bash
# A 3-node shardlog cluster on this machine, for local use: every node is a broker and a controller
# (a Raft voter of the metadata quorum) on 127.0.0.1 with its own Kafka, Raft and admin ports and its
# own data directory. Prints the bootstrap string once all three brokers have registered.
#
#   scripts/cluster-up.sh [DIR]        start (default DIR: ./cluster); logs in DIR/nodeN.log
#   scripts/cluster-up.sh down [DIR]   stop the nodes started there (SIGTERM, clean shutdown)
#
# Ports: Kafka BASE_PORT..+2 (default 9092), Raft BASE_PORT+100.., admin BASE_PORT+200...
# SHARDS (default 1) shards per node; SHARDLOG: the binary (default target/release/shardlog).
set -euo pipefail
BIN=${SHARDLOG:-target/release/shardlog}
BASE=${BASE_PORT:-9092}

if [[ "${1:-}" == down ]]; then
    DIR=${2:-cluster}
    for id in 1 2 3; do
        pidfile="$DIR/node$id.pid"
        [[ -f "$pidfile" ]] || continue
        kill "$(cat "$pidfile")" 2>/dev/null || true
        rm -f "$pidfile"
    done
    echo "stopped the nodes in $DIR"
    exit 0
fi

DIR=${1:-cluster}
[[ -x "$BIN" ]] || { echo "no $BIN: run cargo build --release (or set SHARDLOG)" >&2; exit 2; }
mkdir -p "$DIR"
voters=$(for id in 1 2 3; do printf '%s@127.0.0.1:%s,' "$id" $((BASE + 100 + id - 1)); done)
voters=${voters%,}
bootstrap=$(for id in 1 2 3; do printf '127.0.0.1:%s,' $((BASE + id - 1)); done)
bootstrap=${bootstrap%,}

for id in 1 2 3; do
    nohup "$BIN" serve \
        --node-id "$id" \
        --controller-quorum-voters "$voters" \
        --listen "127.0.0.1:$((BASE + id - 1))" \
        --admin-listen "127.0.0.1:$((BASE + 200 + id - 1))" \
        --data-dir "$DIR/node$id" \
        --shards "${SHARDS:-1}" \
        >"$DIR/node$id.log" 2>&1 &
    echo $! >"$DIR/node$id.pid"
done

for _ in $(seq 1 150); do
    brokers=$("$BIN" cluster info --brokers "$bootstrap" --format json 2>/dev/null | grep -o '"id"' | wc -l || true)
    if [[ "$brokers" -eq 3 ]]; then
        echo "3-node cluster up (data and logs in $DIR)"
        echo "bootstrap: $bootstrap"
        exit 0
    fi
    sleep 0.2
done
echo "the cluster did not come up within 30 s; see $DIR/node*.log" >&2
exit 1
