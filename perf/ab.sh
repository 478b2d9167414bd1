#!/bin/bash
# Before/after check of two shardlog builds (a refactor must not cost throughput or memory):
#   bash perf/ab.sh BEFORE_BINARY AFTER_BINARY [ROUNDS]
# Each round runs BEFORE then AFTER on a fresh data dir, the broker pinned to core 0 (`--shards 1`) and
# `shardlog bench` pinned to core 1: 8 s of acks=1 produce (16 partitions, 1 KiB records, after 2 s of
# warm-up), then a catch-up read of everything from the earliest offset. Prints MB/s and the broker's
# peak RSS per run. Build a BEFORE binary with e.g.
#   git worktree add /tmp/before <commit> && (cd /tmp/before && cargo build --release) && cp /tmp/before/target/release/shardlog /tmp/shardlog-before
set -euo pipefail
before=${1:?before binary}
after=${2:?after binary}
rounds=${3:-2}
port=19092
work=$(mktemp -d /tmp/perf-ab.XXXXXX)

run() { # binary label round
  local bin=$1 label=$2 d=$work/$2-$3
  mkdir -p "$d"
  taskset -c 0 "$bin" serve --shards 1 --data-dir "$d/data" --listen 127.0.0.1:$port \
    --admin-listen 127.0.0.1:$((port + 552)) >"$d/broker.log" 2>&1 &
  local pid=$!
  for _ in $(seq 50); do (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.2; done
  taskset -c 1 "$bin" bench --bootstrap 127.0.0.1:$port --topic ab --partitions 16 --acks 1 \
    --consumers 0 --duration-s 8 --warmup-s 2 --json "$d/produce.json" >"$d/produce.out" 2>&1
  taskset -c 1 "$bin" bench --bootstrap 127.0.0.1:$port --topic ab --partitions 16 --producers 0 \
    --consumers 1 --from earliest --records 2000000 --json "$d/catchup.json" >"$d/catchup.out" 2>&1
  local rss_kib
  rss_kib=$(awk '/VmHWM/{print $2}' "/proc/$pid/status")
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  python3 - "$d" "$label" "$rss_kib" <<'PY'
import json, sys
d, label, rss = sys.argv[1], sys.argv[2], int(sys.argv[3])
produce = json.load(open(d + "/produce.json"))["produce"]["rate"]["mb_per_s"]
catchup = json.load(open(d + "/catchup.json"))["consume"]["rate"]["mb_per_s"]
print(f"{label:6} produce acks=1 {produce:8.1f} MB/s   catch-up {catchup:8.1f} MB/s   peak RSS {rss / 1024:5.1f} MiB")
PY
}

for round in $(seq "$rounds"); do
  run "$before" before "$round"
  run "$after" after "$round"
done
echo "runs kept in $work"
