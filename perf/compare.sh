#!/usr/bin/env bash
# Side-by-side: Apache Kafka and shardlog, one after the other on this machine, driven by the same client
# (`shardlog bench`) with the same workloads, plus Kafka's own ProducerPerformance as a cross-check, the
# machine's physical limits (loopback TCP, disk writes with fsync) measured in the same run, and each
# broker's CPU and RSS sampled around every workload. OMB-style workloads: 1 KiB records; 1, 16 and 100
# partitions; acks=1 and acks=all; none and lz4; max-throughput runs, then fixed-rate latency runs at 50%
# of Kafka's measured max for the same workload; a catch-up read of data already written (2 GB), then the
# same read over TLS: user-space TLS on both brokers, and kernel TLS (kTLS, sendfile kept) on shardlog where
# the kernel offers it (`tls` in /proc/sys/net/ipv4/tcp_available_ulp; otherwise recorded as not offered).
#
# Usage: bash perf/compare.sh            full run (~10 min on the 2-core machine, plus first-time installs)
#        bash perf/compare.sh --smoke    seconds-long runs, tiny volumes, both brokers, no chart (the test
#                                        suite runs this: tests/it/perf_smoke.rs)
#        --catchup-only                  only the catch-up reads (plaintext, TLS, kTLS where offered) at
#                                        full volume, both brokers (~4 min): the TLS cost on fetch
#        --out DIR                       where the result goes (default perf/results)
# Env:   SHARDLOG_BIN  a built shardlog binary (default: cargo build --release, then use it)
#        KAFKA_HEAP    Kafka's JVM heap flags (default: kafka.sh's -Xms256m -Xmx1g)
# Writes DIR/<date>-<HHMM>-compare.json and .png (smoke: DIR/<date>-<HHMM>-smoke.json only) and prints
# a table. Fairness settings are recorded in the JSON next to the numbers.
set -euo pipefail
cd "$(dirname "$0")/.."
source perf/lib.sh

SMOKE=0
CATCHUP_ONLY=0
OUT=perf/results
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) SMOKE=1 ;;
    --catchup-only) CATCHUP_ONLY=1 ;;
    --out) OUT="$2"; shift ;;
    *) echo "usage: bash perf/compare.sh [--smoke] [--catchup-only] [--out DIR]" >&2; exit 2 ;;
  esac
  shift
done

# Volumes. Full: ~10 min in all on 2 cores. Smoke: a few seconds per broker.
if [ "$SMOKE" = 1 ]; then
  NAME=smoke SL_PORT=19210 KAFKA_PORT=19310 IPERF_PORT=19410
  WARMUP_S=0.5 DURATION_S=1.5 CATCHUP_RECORDS=20000 PERF_RECORDS=5000
  MATRIX="p4-acks1-none:4:1:none p2-acksall-lz4:2:all:lz4"
else
  NAME=compare SL_PORT=19200 KAFKA_PORT=19300 IPERF_PORT=19400
  WARMUP_S=2 DURATION_S=8 CATCHUP_RECORDS=2000000 PERF_RECORDS=1000000
  MATRIX="p16-acks1-none:16:1:none p16-acksall-none:16:all:none p16-acks1-lz4:16:1:lz4
          p16-acksall-lz4:16:all:lz4 p1-acks1-none:1:1:none p1-acksall-none:1:all:none
          p100-acks1-none:100:1:none p100-acksall-none:100:all:none"
fi
# The producer settings every run shares (the Java client's names: batch.size, linger.ms, ...).
PRODUCER=(--record-size 1024 --batch-size 131072 --linger-ms 5 --max-in-flight 5 --producers 1)
WORK="$(mktemp -d /tmp/shardlog-compare.XXXX)"
[ "$CATCHUP_ONLY" = 1 ] && NAME=catchup
mkdir -p "$OUT"
# The time of day keeps two runs of one day apart.
RESULT="$OUT/$(date +%F-%H%M)-$NAME.json"
T0=$SECONDS
log() { printf '[%4ds] %s\n' $((SECONDS - T0)) "$*" >&2; }

# On failure the work directory (broker logs, bench log, partial results) stays for a post-mortem.
cleanup() {
  local status=$?
  { [ -n "${SL_PID:-}" ] && kill -TERM "$SL_PID" 2>/dev/null && wait "$SL_PID"; } 2>/dev/null || true
  bash perf/kafka/kafka.sh stop "$WORK/kafka" >/dev/null 2>&1 || true
  if [ "$status" = 0 ]; then rm -rf "$WORK"; else echo "compare.sh: failed; logs kept in $WORK" >&2; fi
}
trap cleanup EXIT

setup() {
  if [ -z "${SHARDLOG_BIN:-}" ]; then
    cargo build --release -q
    SHARDLOG_BIN="${CARGO_TARGET_DIR:-target}/release/shardlog"
  fi
  bash perf/kafka/kafka.sh install
  command -v openssl >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null; }
  tls_certificates
  if [ "$SMOKE" = 0 ]; then
    command -v iperf3 >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iperf3 >/dev/null; }
    [ -x perf/.venv/bin/python ] || python3 -m venv perf/.venv
    perf/.venv/bin/python -c 'import matplotlib' 2>/dev/null || perf/.venv/bin/pip install -q matplotlib
  fi
}

# Physical limits, measured where the brokers run: loopback TCP (one iperf3 stream) and disk writes into the
# directory the brokers' logs live in: 1 GiB then one fsync, and 128 KiB writes each fsynced (O_DSYNC), the
# per-batch-fsync ceiling of an acks=all run.
limits() {
  iperf3 -s -1 -p "$IPERF_PORT" >/dev/null 2>&1 &
  local server=$!
  sleep 0.5
  iperf3 -c 127.0.0.1 -p "$IPERF_PORT" -t 5 -J >"$WORK/iperf.json"
  wait "$server" || true
  dd_mb_per_s() { dd if=/dev/zero of="$WORK/dd.bin" "$@" 2>&1 | tail -1 |
    awk '{for (i = 1; i <= NF; i++) if ($i == "bytes") b = $1; for (i = 1; i <= NF; i++) if ($i ~ /^s,?$/) s = $(i-1); printf "%.1f", b / 1048576 / s}'; }
  local buffered dsync
  buffered=$(dd_mb_per_s bs=1M count=1024 conv=fdatasync)
  dsync=$(dd_mb_per_s bs=128k count=2000 oflag=dsync)
  rm -f "$WORK/dd.bin"
  python3 - "$WORK/iperf.json" "$buffered" "$dsync" >"$WORK/limits.json" <<'PY'
import json, sys
iperf = json.load(open(sys.argv[1]))
print(json.dumps({
    "loopback_tcp_mb_per_s": round(iperf["end"]["sum_received"]["bits_per_second"] / 8 / 1048576, 1),
    "loopback_tcp_tool": "iperf3 -t 5, one stream",
    "disk_write_then_fsync_mb_per_s": float(sys.argv[2]),
    "disk_write_then_fsync_tool": "dd bs=1M count=1024 conv=fdatasync",
    "disk_fsync_per_128k_write_mb_per_s": float(sys.argv[3]),
    "disk_fsync_per_128k_write_tool": "dd bs=128k count=2000 oflag=dsync",
}))
PY
}

# A CA and a server certificate for 127.0.0.1 (both brokers' SSL listeners; the client trusts the CA).
tls_certificates() {
  local d="$WORK/tls"
  mkdir -p "$d"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/ca.key" -out "$d/ca.pem" -days 2 -subj /CN=perf-ca 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout "$d/server.key" -out "$d/server.csr" -subj /CN=localhost 2>/dev/null
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 2 \
    -extfile <(printf 'subjectAltName=IP:127.0.0.1,DNS:localhost') -out "$d/server.pem" 2>/dev/null
  cat "$d/server.key" "$d/server.pem" >"$d/keystore.pem"
}

# Whether this kernel offers kTLS (the ULP is registered); shardlog then uses it unless told not to.
ktls_offered() { grep -qw tls /proc/sys/net/ipv4/tcp_available_ulp 2>/dev/null; }

# start_broker BROKER [KTLS]: each broker with a PLAINTEXT listener on its port and an SSL one on port+2;
# shardlog's SSL listener uses kTLS only when KTLS is "true" (default false: user-space TLS, as Kafka).
start_broker() {
  case "$1" in
    kafka)
      KAFKA_SSL_KEYSTORE="$WORK/tls/keystore.pem" bash perf/kafka/kafka.sh start "$KAFKA_PORT" "$WORK/kafka" >/dev/null
      BROKER_PID=$(cat "$WORK/kafka/kafka.pid") PORT=$KAFKA_PORT ;;
    shardlog)
      "$SHARDLOG_BIN" serve --listeners "PLAINTEXT://127.0.0.1:$SL_PORT,SSL://127.0.0.1:$((SL_PORT + 2))" \
        --ssl-keystore-location "$WORK/tls/keystore.pem" --ssl-ktls-enable "${2:-false}" \
        --admin-listen "127.0.0.1:$((SL_PORT + 3))" --data-dir "$WORK/shardlog" --shards "$(nproc)" \
        >>"$WORK/shardlog.log" 2>&1 &
      SL_PID=$! BROKER_PID=$! PORT=$SL_PORT ;;
  esac
  TLS_PORT=$((PORT + 2))
  wait_answers "$PORT" 300 || { echo "$1 does not answer on port $PORT" >&2; exit 1; }
}

stop_broker() {
  case "$1" in
    kafka) bash perf/kafka/kafka.sh stop "$WORK/kafka" >/dev/null ;;
    shardlog) kill -TERM "$SL_PID"; wait "$SL_PID" || true; SL_PID= ;;
  esac
}

# run BROKER NAME BENCH-ARGS...: one `shardlog bench` run with the broker's CPU seconds and peak RSS
# around it; the bench JSON, annotated, lands in $WORK/runs/BROKER/NAME.json. The topic is NAME unless the
# arguments name one. BOOTSTRAP overrides the broker's plaintext address.
run() {
  local broker=$1 name=$2; shift 2
  local out="$WORK/runs/$broker/$name.json" rss="$WORK/rss.samples"
  mkdir -p "$WORK/runs/$broker"
  : >"$rss"
  sample_rss "$BROKER_PID" "$rss" &
  local sampler=$! cpu0 t0=$EPOCHREALTIME topic=(--topic "$name")
  [[ " $* " == *" --topic "* ]] && topic=()
  cpu0=$(cpu_seconds "$BROKER_PID")
  "$SHARDLOG_BIN" bench --bootstrap "${BOOTSTRAP:-127.0.0.1:$PORT}" "${topic[@]}" --json "$out" "$@" 2>>"$WORK/bench.log" ||
    { tail -5 "$WORK/bench.log" >&2; echo "compare.sh: bench $name against $broker failed" >&2; exit 1; }
  local cpu1 t1=$EPOCHREALTIME
  cpu1=$(cpu_seconds "$BROKER_PID")
  kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
  python3 perf/report.py annotate "$out" "$cpu0" "$cpu1" "$t0" "$t1" "$(sort -n "$rss" | tail -1)" \
    "$(peak_rss_kib "$BROKER_PID")"
}

# Durability made equal: an acks=all run fsyncs every acknowledged batch on both brokers — Kafka through
# the topic's flush.messages=1, shardlog through its default flush policy (acks-all: group-committed fsync
# before answering acks=all). acks=1 runs fsync on neither (both flush in the background).
durability() { [ "$2" = all ] && [ "$1" = kafka ] && echo --topic-config flush.messages=1; true; }

workloads() {
  local broker=$1 spec name partitions acks compression rate
  for spec in $MATRIX; do
    IFS=: read -r name partitions acks compression <<<"$spec"
    log "$broker: max throughput $name"
    run "$broker" "max-$name" "${PRODUCER[@]}" --partitions "$partitions" --acks "$acks" \
      --compression "$compression" --warmup-s "$WARMUP_S" --duration-s "$DURATION_S" --delete-topic \
      $(durability "$broker" "$acks")
  done
  for spec in $MATRIX; do
    IFS=: read -r name partitions acks compression <<<"$spec"
    rate=$(python3 perf/report.py half-rate "$WORK/runs/kafka/max-$name.json")
    log "$broker: fixed rate $name at $rate records/s"
    run "$broker" "rate-$name" "${PRODUCER[@]}" --partitions "$partitions" --acks "$acks" \
      --compression "$compression" --rate "$rate" --warmup-s "$WARMUP_S" --duration-s "$DURATION_S" \
      --delete-topic $(durability "$broker" "$acks")
  done
}

# Catch-up: write CATCHUP_RECORDS × 1 KiB to 16 partitions, then one consumer reads it all from the start
# (page cache warm: the data was just written and fits in memory).
catchup() {
  local broker=$1
  log "$broker: catch-up, writing $CATCHUP_RECORDS records"
  run "$broker" catchup-write --topic catchup "${PRODUCER[@]}" --partitions 16 --consumers 0 --records "$CATCHUP_RECORDS" \
    --warmup-s 0 --duration-s 600
  log "$broker: catch-up, reading them back"
  catchup_read "$broker" catchup-read
  log "$broker: catch-up over TLS (user space)"
  BOOTSTRAP="127.0.0.1:$TLS_PORT" catchup_read "$broker" catchup-read-tls --tls-ca-file "$WORK/tls/ca.pem"
  [ "$broker" = shardlog ] && tls_paths >"$WORK/runs/$broker/tls-paths-catchup-read-tls.txt"
  if [ "$broker" = shardlog ] && ktls_offered; then
    log "$broker: catch-up over kTLS (restarted with --ssl-ktls-enable true)"
    stop_broker "$broker"
    start_broker "$broker" true
    BOOTSTRAP="127.0.0.1:$TLS_PORT" catchup_read "$broker" catchup-read-ktls --tls-ca-file "$WORK/tls/ca.pem"
    tls_paths >"$WORK/runs/$broker/tls-paths-catchup-read-ktls.txt"
  fi
  "$SHARDLOG_BIN" topic delete catchup --brokers "127.0.0.1:$PORT" >/dev/null
}

# catchup_read BROKER NAME [BENCH-ARGS...]: one consumer reads the whole catch-up topic from the start.
catchup_read() {
  local broker=$1 name=$2; shift 2
  run "$broker" "$name" --topic catchup --partitions 16 --producers 0 --consumers 1 --from earliest \
    --fetch-partition-bytes 8388608 --warmup-s 0 --duration-s 600 "$@"
}

# shardlog's count of TLS connections by path (ktls / userspace), from its metrics: proof of the path used.
tls_paths() {
  python3 - "127.0.0.1:$((SL_PORT + 3))" <<'PY'
import sys, urllib.request
counts = {}
for line in urllib.request.urlopen(f"http://{sys.argv[1]}/metrics").read().decode().splitlines():
    if line.startswith("shardlog_tls_connections_total{"):
        path = line.split('path="', 1)[1].split('"', 1)[0]
        counts[path] = counts.get(path, 0) + int(float(line.rsplit(" ", 1)[1]))
print(" ".join(f"{k}={v}" for k, v in sorted(counts.items())))
PY
}

# Kafka's own producer as a cross-check of the load generator: same topic shape and producer settings.
producer_performance() {
  local broker=$1 topic=perfcheck
  log "$broker: ProducerPerformance cross-check, $PERF_RECORDS records"
  java -Xmx512m -cp 'perf/kafka/lib/*' org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$PORT" \
    --create --topic "$topic" --partitions 16 --replication-factor 1 >/dev/null
  java -Xmx1g -cp 'perf/kafka/lib/*' org.apache.kafka.tools.ProducerPerformance --topic "$topic" \
    --num-records "$PERF_RECORDS" --record-size 1024 --throughput -1 \
    --command-property bootstrap.servers="127.0.0.1:$PORT" acks=1 linger.ms=5 batch.size=131072 \
    compression.type=none 2>/dev/null | tail -1 >"$WORK/runs/$broker/producer-performance.txt"
}

# The load generator's own ceiling: producing to its in-process null broker (no broker at all).
ceiling() {
  log "load generator ceiling (null broker)"
  mkdir -p "$WORK/runs/loadgen"
  local c
  for c in none lz4; do
    "$SHARDLOG_BIN" bench --null-broker --consumers 0 "${PRODUCER[@]}" --partitions 16 --compression "$c" \
      --warmup-s "$WARMUP_S" --duration-s "$DURATION_S" --json "$WORK/runs/loadgen/null-broker-$c.json" \
      2>>"$WORK/bench.log"
  done
}

setup
echo '{}' >"$WORK/limits.json"
full() { [ "$CATCHUP_ONLY" = 0 ]; }
if [ "$SMOKE" = 0 ] && full; then log "physical limits"; limits; fi
if full; then ceiling; fi
for broker in kafka shardlog; do
  log "starting $broker"
  start_broker "$broker"
  if full; then workloads "$broker"; fi
  catchup "$broker"
  if full; then producer_performance "$broker"; fi
  stop_broker "$broker"
done
python3 perf/report.py assemble "$WORK" "$RESULT" \
  "smoke=$SMOKE" "catchup_only=$CATCHUP_ONLY" "elapsed_s=$((SECONDS - T0))" "shardlog_shards=$(nproc)" \
  "kafka_heap=${KAFKA_HEAP:--Xms256m -Xmx1g}" "warmup_s=$WARMUP_S" "duration_s=$DURATION_S" \
  "catchup_records=$CATCHUP_RECORDS" "ktls=$(ktls_offered && echo offered ||
    echo "not offered by this kernel (tcp_available_ulp: $(cat /proc/sys/net/ipv4/tcp_available_ulp 2>/dev/null))")" "perf_records=$PERF_RECORDS" "producer=${PRODUCER[*]}"
if [ "$SMOKE" = 0 ] && full; then perf/.venv/bin/python perf/chart.py "$RESULT" "${RESULT%.json}.png"; fi
log "done: $RESULT"
