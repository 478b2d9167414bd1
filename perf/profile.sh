#!/usr/bin/env bash
# Where the CPU goes: runs one workload against one broker with `perf record` attached to the broker and to
# the load generator, and writes a flat profile of each (top symbols, kernel included) plus how many cores
# each process used while sampled. This is how the bottlenecks named in perf/README.md were found.
#
# Usage: bash perf/profile.sh shardlog|kafka acks1|catchup [--out DIR]
#   acks1    16 partitions, acks=1, 1 KiB records, max rate: sampled for 8 s after a 5 s warm-up
#   catchup  write 3 M × 1 KiB records to 16 partitions, then sample the first 2 s of one consumer reading
#            them back from the start (the read takes 3–5 s here)
# Env: SHARDLOG_BIN (default: cargo build --release, then use it). Needs `perf` (Debian: linux-perf) and
#      kernel.perf_event_paranoid ≤ 2 (the default) for a process you own.
# Writes DIR/<date>-profile-<broker>-<workload>.txt (default DIR: perf/results).
set -euo pipefail
cd "$(dirname "$0")/.."
source perf/lib.sh

[ $# -ge 2 ] || { echo "usage: bash perf/profile.sh shardlog|kafka acks1|catchup [--out DIR]" >&2; exit 2; }
BROKER=$1 WORKLOAD=$2 OUT=perf/results
[ "${3:-}" = --out ] && OUT=$4
case "$BROKER:$WORKLOAD" in shardlog:acks1 | shardlog:catchup | kafka:acks1 | kafka:catchup) ;;
  *) echo "profile.sh: unknown broker or workload: $BROKER $WORKLOAD" >&2; exit 2 ;; esac
command -v perf >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-perf >/dev/null; }
if [ -z "${SHARDLOG_BIN:-}" ]; then
  cargo build --release -q
  SHARDLOG_BIN="${CARGO_TARGET_DIR:-target}/release/shardlog"
fi
PORT=19500
WORK="$(mktemp -d /tmp/shardlog-profile.XXXX)"
RESULT="$OUT/$(date +%F)-profile-$BROKER-$WORKLOAD.txt"
mkdir -p "$OUT"
cleanup() {
  { [ -n "${SL_PID:-}" ] && kill -TERM "$SL_PID" && wait "$SL_PID"; } 2>/dev/null || true
  bash perf/kafka/kafka.sh stop "$WORK/kafka" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

case "$BROKER" in
  kafka)
    bash perf/kafka/kafka.sh install
    bash perf/kafka/kafka.sh start "$PORT" "$WORK/kafka" >/dev/null
    BROKER_PID=$(cat "$WORK/kafka/kafka.pid") ;;
  shardlog)
    "$SHARDLOG_BIN" serve --listen "127.0.0.1:$PORT" --data-dir "$WORK/shardlog" --shards "$(nproc)" \
      >"$WORK/shardlog.log" 2>&1 &
    SL_PID=$! BROKER_PID=$! ;;
esac
wait_answers "$PORT" 300 || { echo "$BROKER does not answer on port $PORT" >&2; exit 1; }

PRODUCER=(--record-size 1024 --batch-size 131072 --linger-ms 5 --max-in-flight 5 --producers 1)
bench() { "$SHARDLOG_BIN" bench --bootstrap "127.0.0.1:$PORT" "$@" >/dev/null 2>>"$WORK/bench.log"; }
# Run in the background as `bench_bg ... &`: exec makes $! the load generator itself, for perf and /proc.
bench_bg() { exec "$SHARDLOG_BIN" bench --bootstrap "127.0.0.1:$PORT" "$@" >/dev/null 2>>"$WORK/bench.log"; }
case "$WORKLOAD" in
  acks1)
    bench_bg --topic t "${PRODUCER[@]}" --partitions 16 --acks 1 --warmup-s 2 --duration-s 14 --json "$WORK/run.json" &
    DELAY=5 SAMPLE=8 ;;
  catchup)
    bench --topic c "${PRODUCER[@]}" --partitions 16 --consumers 0 --records 3000000 --warmup-s 0 --duration-s 600
    bench_bg --topic c --partitions 16 --producers 0 --consumers 1 --from earliest --fetch-partition-bytes 8388608 \
      --warmup-s 0 --duration-s 600 --json "$WORK/run.json" &
    DELAY=0.3 SAMPLE=2 ;;
esac
BENCH_PID=$!
sleep "$DELAY"
b0=$(cpu_seconds "$BROKER_PID") l0=$(cpu_seconds "$BENCH_PID") t0=$EPOCHREALTIME
perf record -F 999 -o "$WORK/broker.data" -p "$BROKER_PID" -- sleep "$SAMPLE" 2>/dev/null &
p1=$!
perf record -F 999 -o "$WORK/bench.data" -p "$BENCH_PID" -- sleep "$SAMPLE" 2>/dev/null &
wait $p1 $!
# A load generator that already finished reads as idle for the rest of the window.
b1=$(cpu_seconds "$BROKER_PID") l1=$(cpu_seconds "$BENCH_PID" 2>/dev/null || echo "$l0") t1=$EPOCHREALTIME
wait "$BENCH_PID"

top() { perf report -i "$1" --no-children --sort dso,sym --stdio 2>/dev/null | grep '%' | head -25 || true; }
{
  echo "# perf/profile.sh $BROKER $WORKLOAD — $(date -u '+%F %H:%M UTC'), $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  python3 - "$b0" "$b1" "$l0" "$l1" "$t0" "$t1" "$WORK/run.json" <<'PY'
import json, sys
b0, b1, l0, l1, t0, t1 = map(float, sys.argv[1:7])
run = json.load(open(sys.argv[7]))
side = run["produce"] if run["produce"]["records_acked"] else run["consume"]
print(f"# cores while sampled: broker {(b1 - b0) / (t1 - t0):.2f}, load generator {(l1 - l0) / (t1 - t0):.2f}")
print(f"# throughput over the whole run: {side['rate']['mb_per_s']} MB/s")
PY
  echo; echo "## broker: top symbols (self time)"; top "$WORK/broker.data"
  echo; echo "## load generator: top symbols (self time)"; top "$WORK/bench.data"
} >"$RESULT"
cat "$RESULT"
