#!/usr/bin/env bash
# Replicated side-by-side (#6): three Apache Kafka KRaft nodes, then three shardlog nodes, one cluster at a
# time on this machine. For acks=1 and acks=all, each gets a fresh topic (16 partitions, replication
# factor 3, min.insync.replicas=2) and Kafka's own ProducerPerformance (the Java client, which sends each
# partition's batches to its leader) writes 1 KiB records to it: first at max throughput, then at a fixed
# rate of half Kafka's max for the same acks, whose latency percentiles are the tail-latency numbers.
# Durability is the same on both: replication, no fsync on the produce path (Kafka's default; shardlog
# --flush-policy interval) — an RF=3 cluster's usual setting, recorded in the result.
#
# Usage: bash perf/cluster.sh            full run (~10 min on the 2-core machine)
#        bash perf/cluster.sh --smoke    tiny volumes, to check the harness (~2 min)
#        --out DIR                       where the result goes (default perf/results)
# Env:   SHARDLOG_BIN  a built shardlog binary (default: cargo build --release, then use it)
#        KAFKA_HEAP    each Kafka node's JVM heap flags (default: kafka.sh's -Xms256m -Xmx1g)
#        SHARDS        shards per shardlog node (default 1: three nodes share this machine's cores)
# Writes DIR/<date>-<HHMM>-cluster.json and prints a table.
set -euo pipefail
cd "$(dirname "$0")/.."
source perf/lib.sh

SMOKE=0
OUT=perf/results
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) SMOKE=1 ;;
    --out) OUT="$2"; shift ;;
    *) echo "usage: bash perf/cluster.sh [--smoke] [--out DIR]" >&2; exit 2 ;;
  esac
  shift
done
if [ "$SMOKE" = 1 ]; then
  NAME=cluster-smoke MAX_RECORDS=20000 RATE_SECONDS=3 SL_BASE=19630 KAFKA_BASE=19950
else
  NAME=cluster MAX_RECORDS=1000000 RATE_SECONDS=20 SL_BASE=19600 KAFKA_BASE=19900
fi
PARTITIONS=16
SHARDS=${SHARDS:-1}
# The producer settings of both brokers' runs (the same as perf/compare.sh's load generator).
PRODUCER_PROPS=(linger.ms=5 batch.size=131072 max.in.flight.requests.per.connection=5 compression.type=none)
WORK="$(mktemp -d /tmp/shardlog-cluster.XXXX)"
mkdir -p "$OUT"
RESULT="$OUT/$(date +%F-%H%M)-$NAME.json"
T0=$SECONDS
log() { printf '[%4ds] %s\n' $((SECONDS - T0)) "$*" >&2; }
tool() { java -Xmx1g -cp 'perf/kafka/lib/*' "org.apache.kafka.tools.$1" "${@:2}"; }
# CPU seconds the running cluster's nodes have used so far.
cluster_cpu_seconds() {
  local pid; for pid in $PIDS; do cpu_seconds "$pid"; echo; done | awk '{t += $1} END {printf "%.2f", t}'
}

# On failure the work directory (node logs, tool output) stays for a post-mortem.
cleanup() {
  local status=$?
  bash perf/kafka/kafka.sh stop-cluster "$WORK/kafka" >/dev/null 2>&1 || true
  SHARDLOG="${SHARDLOG_BIN:-}" bash scripts/cluster-up.sh down "$WORK/shardlog" >/dev/null 2>&1 || true
  if [ "$status" = 0 ]; then rm -rf "$WORK"; else echo "cluster.sh: failed; logs kept in $WORK" >&2; fi
}
trap cleanup EXIT

if [ -z "${SHARDLOG_BIN:-}" ]; then
  cargo build --release -q
  SHARDLOG_BIN="${CARGO_TARGET_DIR:-target}/release/shardlog"
fi
bash perf/kafka/kafka.sh install

# The three nodes' pids and bootstrap list of BROKER's running cluster.
start_cluster() {
  case "$1" in
    kafka)
      KAFKA_START_TIMEOUT=180 bash perf/kafka/kafka.sh start-cluster "$KAFKA_BASE" "$WORK/kafka" >&2
      PIDS=$(cat "$WORK"/kafka/node*/kafka.pid)
      BOOTSTRAP="127.0.0.1:$KAFKA_BASE,127.0.0.1:$((KAFKA_BASE + 10)),127.0.0.1:$((KAFKA_BASE + 20))" ;;
    shardlog)
      SHARDLOG="$SHARDLOG_BIN" SHARDS="$SHARDS" SHARDLOG_FLUSH_POLICY=interval BASE_PORT="$SL_BASE" \
        bash scripts/cluster-up.sh "$WORK/shardlog" >&2
      PIDS=$(cat "$WORK"/shardlog/node*.pid)
      BOOTSTRAP="127.0.0.1:$SL_BASE,127.0.0.1:$((SL_BASE + 1)),127.0.0.1:$((SL_BASE + 2))" ;;
  esac
}

stop_cluster() {
  case "$1" in
    kafka) bash perf/kafka/kafka.sh stop-cluster "$WORK/kafka" >&2 ;;
    shardlog) SHARDLOG="$SHARDLOG_BIN" bash scripts/cluster-up.sh down "$WORK/shardlog" >&2 ;;
  esac
}

# produce BROKER RUN ACKS RECORDS THROUGHPUT: one ProducerPerformance run into a fresh replicated topic;
# its summary line and the nodes' CPU seconds used go to $WORK/runs/BROKER-RUN.txt.
produce() {
  local broker=$1 run=$2 acks=$3 records=$4 throughput=$5 topic="perf-$2" cpu0 cpu1
  tool TopicCommand --bootstrap-server "$BOOTSTRAP" --create --topic "$topic" --partitions "$PARTITIONS" \
    --replication-factor 3 --config min.insync.replicas=2 >/dev/null
  cpu0=$(cluster_cpu_seconds)
  tool ProducerPerformance --topic "$topic" --num-records "$records" --record-size 1024 \
    --throughput "$throughput" --command-property bootstrap.servers="$BOOTSTRAP" acks="$acks" \
    "${PRODUCER_PROPS[@]}" 2>>"$WORK/tool.log" | tail -1 >"$WORK/runs/$broker-$run.txt"
  cpu1=$(cluster_cpu_seconds)
  echo "cpu_seconds $(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN {printf "%.2f", b - a}')" >>"$WORK/runs/$broker-$run.txt"
  tool TopicCommand --bootstrap-server "$BOOTSTRAP" --delete --topic "$topic" >/dev/null
}

# Records/s of a finished run (ProducerPerformance's summary line).
records_per_s() { sed -n 's/^[0-9]* records sent, \([0-9.]*\) records\/sec.*/\1/p' "$WORK/runs/$1-$2.txt"; }

mkdir -p "$WORK/runs"
for broker in kafka shardlog; do
  log "starting three $broker nodes"
  start_cluster "$broker"
  for acks in 1 all; do
    log "$broker: max throughput, acks=$acks"
    produce "$broker" "max-acks$acks" "$acks" "$MAX_RECORDS" -1
  done
  for acks in 1 all; do
    rate=$(records_per_s kafka "max-acks$acks" | awk '{printf "%d", $1 / 2}')
    log "$broker: fixed rate $rate records/s, acks=$acks"
    produce "$broker" "rate-acks$acks" "$acks" $((rate * RATE_SECONDS)) "$rate"
  done
  peak=0; for pid in $PIDS; do peak=$((peak + $(peak_rss_kib "$pid"))); done
  echo "$peak" >"$WORK/runs/$broker-peak-rss-kib.txt"
  stop_cluster "$broker"
done

python3 - "$WORK/runs" "$RESULT" "$SMOKE" "$((SECONDS - T0))" "$SHARDS" "${KAFKA_HEAP:--Xms256m -Xmx1g}" \
  "${PRODUCER_PROPS[*]}" "$MAX_RECORDS" "$RATE_SECONDS" <<'PY'
import json, os, re, sys, time
runs, result, smoke, elapsed, shards, heap, props, max_records, rate_seconds = sys.argv[1:]
SUMMARY = re.compile(
    r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg latency, "
    r"([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99.9th")

def run(broker, name):
    lines = open(os.path.join(runs, f"{broker}-{name}.txt")).read().splitlines()
    m = SUMMARY.search(lines[0])
    if not m:
        sys.exit(f"cluster.sh: no ProducerPerformance summary for {broker} {name}: {lines[0]!r}")
    n, rps, mbps, avg, mx, p50, p95, p99, p999 = m.groups()
    return {"records": int(n), "records_per_s": float(rps), "mb_per_s": float(mbps),
            "latency_ms": {"avg": float(avg), "p50": int(p50), "p95": int(p95), "p99": int(p99),
                           "p99.9": int(p999), "max": float(mx)},
            "broker_cpu_seconds": float(lines[1].split()[1])}

brokers = {}
for b in ("kafka", "shardlog"):
    brokers[b] = {name: run(b, name) for name in ("max-acks1", "max-acksall", "rate-acks1", "rate-acksall")}
    brokers[b]["peak_rss_mib_three_nodes"] = round(int(open(os.path.join(runs, f"{b}-peak-rss-kib.txt")).read()) / 1024, 1)
ratios = {}
for acks in ("acks1", "acksall"):
    k, s = brokers["kafka"], brokers["shardlog"]
    ratios[acks] = {
        "throughput_x": round(s[f"max-{acks}"]["records_per_s"] / k[f"max-{acks}"]["records_per_s"], 2),
        "p99_fraction_at_fixed_rate": round(
            s[f"rate-{acks}"]["latency_ms"]["p99"] / max(k[f"rate-{acks}"]["latency_ms"]["p99"], 1), 3),
    }
kafka_version = sorted(f for f in os.listdir("perf/kafka/lib") if f.startswith("kafka-clients-"))
doc = {
    "when": time.strftime("%Y-%m-%d %H:%M"), "smoke": smoke == "1", "elapsed_s": int(elapsed),
    "machine": {"cpus": os.cpu_count(), "kernel": os.uname().release},
    "command": "bash perf/cluster.sh" + (" --smoke" if smoke == "1" else ""),
    "settings": {
        "nodes": 3, "topic": "16 partitions, replication factor 3, min.insync.replicas=2, one per run",
        "client": "Kafka's ProducerPerformance (Java client), 1 KiB records, one producer, " + props,
        "kafka": "4.4.0 KRaft, three broker+controller nodes (static voters), JVM " + heap + " G1, defaults",
        "shardlog": f"three broker+controller nodes, {shards} shard(s) each, --flush-policy interval",
        "durability": "replication only on both: no fsync on the produce path (Kafka's default)",
        "fixed_rate": "half of Kafka's max throughput for the same acks, on both brokers",
        "max_records": int(max_records), "fixed_rate_seconds": int(rate_seconds),
        "kafka_jar": kafka_version[0] if kafka_version else None,
    },
    "results": brokers,
    "shardlog_vs_kafka": ratios,
    "goals": {"throughput_x_at_least": 2.0, "p99_fraction_at_most": 0.2},
}
json.dump(doc, open(result, "w"), indent=2)
print(f"{'broker':9} {'acks':5} {'max rec/s':>10} {'MB/s':>7} {'rate':>8} {'p50 ms':>7} {'p99 ms':>7} {'p99.9 ms':>9}")
for b, r in brokers.items():
    for acks in ("acks1", "acksall"):
        mx, rt = r[f"max-{acks}"], r[f"rate-{acks}"]
        print(f"{b:9} {acks[4:]:5} {mx['records_per_s']:>10.0f} {mx['mb_per_s']:>7.1f} {rt['records_per_s']:>8.0f} "
              f"{rt['latency_ms']['p50']:>7} {rt['latency_ms']['p99']:>7} {rt['latency_ms']['p99.9']:>9}")
print("shardlog vs kafka:", json.dumps(ratios))
PY
log "done: $RESULT"
