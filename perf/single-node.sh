#!/usr/bin/env bash
# Single-node throughput with real clients, shardlog and Apache Kafka one after the other on this machine:
#   produce: Kafka's own ProducerPerformance (kafka-tools), 1 KiB records, 16 partitions, acks=1,
#            batch.size 128 KiB, linger.ms 5, no compression;
#   catch-up consume: perf/catchup (franz-go, no group) reads everything back from the start;
#   zero-copy A/B: shardlog's catch-up read again with --fetch-zero-copy false (copying through user space).
# Usage: bash perf/single-node.sh [RECORDS]   (default 2000000 = ~2 GB, the catch-up size issue #3 asks for)
# Writes perf/results/<date>-single-node.json and prints a table. Not part of the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
source perf/lib.sh
RECORDS="${1:-2000000}"
SL_PORT=19200 KAFKA_PORT=19300
WORK="$(mktemp -d /tmp/shardlog-perf.XXXX)"
JAVA_OPTS=(-Xmx1g -cp 'perf/kafka/lib/*')

cargo build --release -q
bash perf/kafka/kafka.sh install
(cd perf/catchup && go build -o catchup .)

create_topic() { java "${JAVA_OPTS[@]}" org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$1" \
  --create --topic perf-16 --partitions 16 --replication-factor 1 >/dev/null; }
produce() {
  java "${JAVA_OPTS[@]}" org.apache.kafka.tools.ProducerPerformance --topic perf-16 --num-records "$RECORDS" \
    --record-size 1024 --throughput -1 --command-property bootstrap.servers="127.0.0.1:$1" acks=1 \
    linger.ms=5 batch.size=131072 compression.type=none 2>/dev/null | tail -1
}
# "N records sent, R records/sec (M MB/sec), ..." -> "R M"
rate_of() { sed -E 's/.* ([0-9.]+) records\/sec \(([0-9.]+) MB\/sec\).*/\1 \2/'; }
catchup() { perf/catchup/catchup --bootstrap "127.0.0.1:$1" --topic perf-16; }
# Runs the catch-up read and adds the broker's CPU seconds for it to the JSON line.
catchup_with_cpu() {
  local before after
  before=$(cpu_seconds "$2")
  local result; result=$(catchup "$1")
  after=$(cpu_seconds "$2")
  python3 -c "import json,sys; r=json.loads(sys.argv[1]); r['broker_cpu_s']=round($after-$before,2); print(json.dumps(r))" "$result"
}
json_field() { python3 -c "import json,sys; print(round(json.load(sys.stdin)['$1'],1))"; }

start_shardlog() {
  ./target/release/shardlog serve --listen "127.0.0.1:$SL_PORT" --data-dir "$WORK/shardlog" "$@" \
    >>"$WORK/shardlog.log" 2>&1 &
  SL_PID=$!
  wait_answers $SL_PORT || { echo "shardlog did not start" >&2; exit 1; }
}
stop_shardlog() { kill -TERM "$SL_PID"; wait "$SL_PID" || true; }

echo "== shardlog"
start_shardlog
create_topic $SL_PORT
sl_produce=$(produce $SL_PORT | rate_of)
sl_rss_kib=$(peak_rss_kib "$SL_PID")
sl_consume=$(catchup_with_cpu $SL_PORT "$SL_PID")
stop_shardlog
start_shardlog --fetch-zero-copy false
sl_consume_copy=$(catchup_with_cpu $SL_PORT "$SL_PID")
stop_shardlog

echo "== Apache Kafka"
bash perf/kafka/kafka.sh start $KAFKA_PORT "$WORK/kafka" >/dev/null
create_topic $KAFKA_PORT
k_produce=$(produce $KAFKA_PORT | rate_of)
k_pid=$(cat "$WORK/kafka/kafka.pid")
k_rss_kib=$(peak_rss_kib "$k_pid")
k_consume=$(catchup_with_cpu $KAFKA_PORT "$k_pid")
bash perf/kafka/kafka.sh stop "$WORK/kafka" >/dev/null

read -r sl_rps sl_mbs <<<"$sl_produce"
read -r k_rps k_mbs <<<"$k_produce"
out="perf/results/$(date +%F)-single-node.json"
cat >"$out" <<JSON
{
  "date": "$(date -Is)", "machine": "$(nproc) cores, $(awk '/MemTotal/ {print int($2/1048576)}' /proc/meminfo) GiB, $(uname -r)",
  "workload": {"records": $RECORDS, "record_bytes": 1024, "partitions": 16, "acks": 1, "batch_size": 131072,
               "linger_ms": 5, "compression": "none", "producer": "kafka-tools ProducerPerformance 4.4.0",
               "consumer": "perf/catchup (franz-go, no group, from the start)"},
  "fairness": {"shardlog": "2 shards, flush-policy acks-all (acks=1 is not fsynced on the produce path)",
               "kafka": "4.4.0 KRaft single node, -Xmx1g, default flush (no fsync on the produce path)",
               "page_cache": "warm: data just written is read back"},
  "shardlog": {"produce_records_per_s": $sl_rps, "produce_mb_per_s": $sl_mbs, "peak_rss_kib": $sl_rss_kib,
               "catchup": $sl_consume, "catchup_copying_fetch": $sl_consume_copy},
  "kafka": {"produce_records_per_s": $k_rps, "produce_mb_per_s": $k_mbs, "peak_rss_kib": $k_rss_kib,
            "catchup": $k_consume}
}
JSON
printf '\n%-34s %14s %14s\n' "" shardlog kafka
printf '%-34s %14s %14s\n' "produce MB/s" "$sl_mbs" "$k_mbs"
printf '%-34s %14s %14s\n' "produce records/s" "$sl_rps" "$k_rps"
printf '%-34s %14s %14s\n' "catch-up consume MB/s" "$(json_field mb_per_s <<<"$sl_consume")" "$(json_field mb_per_s <<<"$k_consume")"
printf '%-34s %14s %14s\n' "catch-up, copying fetch MB/s" "$(json_field mb_per_s <<<"$sl_consume_copy")" "-"
printf '%-34s %14s %14s\n' "catch-up broker CPU s" "$(json_field broker_cpu_s <<<"$sl_consume")" "$(json_field broker_cpu_s <<<"$k_consume")"
printf '%-34s %14s %14s\n' "catch-up, copying: broker CPU s" "$(json_field broker_cpu_s <<<"$sl_consume_copy")" "-"
printf '%-34s %14s %14s\n' "peak RSS MiB" "$((sl_rss_kib / 1024))" "$((k_rss_kib / 1024))"
echo "written: $out"
rm -rf "$WORK"
