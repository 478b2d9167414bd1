#!/bin/bash
# Heap allocations per record on the produce and fetch paths, of two shardlog builds (a refactor must not
# allocate more on the hot path):
#   bash perf/alloc.sh BEFORE_BINARY AFTER_BINARY [RECORDS]
# Counts are exact, not timings: each broker runs under heaptrack (Debian's `heaptrack`), which counts
# every call to malloc and friends (shardlog's global allocator forwards to the system one). Three runs
# per build on a fresh data dir, `--shards 1`, 16 partitions, 1 KiB records, acks=1, the producer paced
# (20k records/s, one request in flight) so requests have the same shape in every run:
#   A: produce N records;  B: produce 2N;  C: produce 2N, then read all back from the earliest offset
#   (64 KiB fetches). Start-up and shutdown allocate the same in every run, so with the request counts
#   from the broker's /metrics, allocations = fixed + per_produce x Produce requests (+ per_fetch x Fetch
#   requests in C) gives the cost of one request of each kind.
set -euo pipefail
before=${1:?before binary}
after=${2:?after binary}
records=${3:-200000}
port=19192
work=$(mktemp -d /tmp/perf-alloc.XXXXXX)

allocations() { # binary dir produce_records consume_records -> "allocations produce_requests fetch_requests"
  local bin=$1 d=$2 produce=$3 consume=$4
  mkdir -p "$d"
  taskset -c 0 heaptrack -o "$d/heap" "$bin" serve --shards 1 --data-dir "$d/data" \
    --listen 127.0.0.1:$port --admin-listen 127.0.0.1:$((port + 552)) >"$d/broker.log" 2>&1 &
  local pid=$!
  for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.2; done
  taskset -c 1 "$bin" bench --bootstrap 127.0.0.1:$port --topic alloc --partitions 16 --acks 1 \
    --consumers 0 --records "$produce" --rate 20000 --max-in-flight 1 --linger-ms 0 --duration-s 600 \
    --warmup-s 0 >"$d/produce.out" 2>&1
  if [ "$consume" -gt 0 ]; then
    taskset -c 1 "$bin" bench --bootstrap 127.0.0.1:$port --topic alloc --partitions 16 --producers 0 \
      --consumers 1 --from earliest --records "$consume" --fetch-partition-bytes 16384 \
      --fetch-max-bytes 65536 >"$d/consume.out" 2>&1
  fi
  local produce_requests fetch_requests
  produce_requests=$(requests "$d" Produce)
  fetch_requests=$(requests "$d" Fetch)
  pkill -TERM -f -- "--data-dir $d/data" || true
  wait "$pid" 2>/dev/null || true
  # heaptrack prints its totals to the broker's stderr once the data file is complete.
  for _ in $(seq 100); do grep -q "^heaptrack stats" "$d/broker.log" && break; sleep 0.2; done
  echo "$(awk '$1 == "allocations:" {print $2}' "$d/broker.log") $produce_requests $fetch_requests"
}

requests() { # dir api -> requests of that API the broker has served
  curl -s "http://127.0.0.1:$((port + 552))/metrics" | tee "$1/metrics-$2.txt" |
    awk -v api="$2" 'index($0, "shardlog_requests_total{api=\"" api "\"}") == 1 {print $2}'
}

measure() { # binary label
  local a b c
  a=$(allocations "$1" "$work/$2-a" "$records" 0)
  b=$(allocations "$1" "$work/$2-b" $((2 * records)) 0)
  c=$(allocations "$1" "$work/$2-c" $((2 * records)) $((2 * records)))
  python3 - "$2" "$records" "$a" "$b" "$c" <<'PY'
import sys
label = sys.argv[1]
(a, pa, _), (b, pb, _), (c, pc, fc) = ([int(x) for x in run.split()] for run in sys.argv[3:6])
# allocations = fixed + per_produce * produce_requests (+ per_fetch * fetch_requests in run C)
per_produce = (b - a) / (pb - pa)
fixed = a - per_produce * pa
per_fetch = (c - fixed - per_produce * pc) / fc
print(f"{label:6} {per_produce:6.2f} allocations per Produce request ({pb} requests)   "
      f"{per_fetch:6.2f} per Fetch request ({fc} requests)")
PY
}

measure "$before" before
measure "$after" after
echo "runs kept in $work"
