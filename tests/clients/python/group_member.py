#!/usr/bin/env python3
"""A long-running consumer-group member for the group tests (tests/it/groups.rs), using librdkafka
(confluent-kafka): subscribe() to one topic in one group, auto-commit off, a synchronous commit of
what each consume() returned, auto.offset.reset=earliest.

stdout carries one JSON object per line, flushed at once; every line has "ts" (epoch ms) and "event":
  {"event":"started"}
  {"event":"assigned","partitions":[..],"owned":[..]}   (owned = assignment after the change)
  {"event":"revoked","partitions":[..],"owned":[..]}
  {"event":"lost","partitions":[..],"owned":[..]}
  {"event":"records","records":[[partition,offset,"value"],..]}   (one line per non-empty consume)
  {"event":"committed","offsets":{"partition":next_offset,..}}
  {"event":"commit_failed","error":"..."}
  {"event":"error","error":"..."}
  {"event":"closed"}                                   (after close() on SIGTERM)
librdkafka logs go to stderr. SIGTERM: close() (LeaveGroup) and exit 0; SIGKILL simulates a crash.
"""
import argparse
import json
import logging
import signal
import sys
import time

from confluent_kafka import Consumer, KafkaException, TopicPartition


def emit(event, **fields):
    line = {"ts": int(time.time() * 1000), "event": event}
    line.update(fields)
    sys.stdout.write(json.dumps(line, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--group", required=True)
    ap.add_argument("--session-timeout-ms", type=int, default=10000)
    ap.add_argument("--heartbeat-interval-ms", type=int, default=1000)
    ap.add_argument("--group-protocol", default="classic", choices=["classic", "consumer"])
    ap.add_argument("--assignor", help="range | roundrobin | cooperative-sticky (classic); uniform | range (consumer)")
    ap.add_argument("--group-instance-id")
    ap.add_argument("--client-id", default="group-member-librdkafka")
    ap.add_argument("--max-poll-records", type=int, default=500)
    ap.add_argument("--debug", help="librdkafka debug contexts, e.g. cgrp")
    a = ap.parse_args()

    log = logging.getLogger("librdkafka")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.DEBUG if a.debug else logging.INFO)
    log.propagate = False

    conf = {
        "bootstrap.servers": a.bootstrap,
        "group.id": a.group,
        "client.id": a.client_id,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "group.protocol": a.group_protocol,
    }
    if a.group_protocol == "classic":
        # With group.protocol=consumer these are broker-side settings.
        conf["session.timeout.ms"] = a.session_timeout_ms
        conf["heartbeat.interval.ms"] = a.heartbeat_interval_ms
        if a.assignor:
            conf["partition.assignment.strategy"] = a.assignor
    elif a.assignor:
        conf["group.remote.assignor"] = a.assignor
    if a.group_instance_id:
        conf["group.instance.id"] = a.group_instance_id
    if a.debug:
        conf["debug"] = a.debug

    owned = set()

    def on_assign(consumer, tps):
        owned.update(tp.partition for tp in tps)
        emit("assigned", partitions=sorted(tp.partition for tp in tps), owned=sorted(owned))

    def on_revoke(consumer, tps):
        owned.difference_update(tp.partition for tp in tps)
        emit("revoked", partitions=sorted(tp.partition for tp in tps), owned=sorted(owned))

    def on_lost(consumer, tps):
        owned.difference_update(tp.partition for tp in tps)
        emit("lost", partitions=sorted(tp.partition for tp in tps), owned=sorted(owned))

    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(1))

    consumer = Consumer(conf, logger=log)
    consumer.subscribe([a.topic], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_lost)
    emit("started")
    try:
        while not stopping:
            try:
                msgs = consumer.consume(num_messages=a.max_poll_records, timeout=0.2)
            except KafkaException as e:
                emit("error", error=str(e))
                continue
            recs = []
            commit = {}
            for m in msgs:
                if m.error():
                    emit("error", error=str(m.error()))
                    continue
                v = m.value()
                recs.append([m.partition(), m.offset(), v.decode("utf-8", "replace") if v is not None else ""])
                commit[m.partition()] = m.offset() + 1
            if not recs:
                continue
            emit("records", records=recs)
            try:
                res = consumer.commit(offsets=[TopicPartition(a.topic, p, o) for p, o in commit.items()],
                                      asynchronous=False)
                failed = [tp for tp in res or [] if tp.error]
                if failed:
                    emit("commit_failed", error="; ".join(f"{tp.partition}: {tp.error}" for tp in failed))
                done = {str(tp.partition): tp.offset for tp in res or [] if not tp.error}
                if done:
                    emit("committed", offsets=dict(sorted(done.items(), key=lambda kv: int(kv[0]))))
            except KafkaException as e:
                emit("commit_failed", error=str(e))
    finally:
        try:
            consumer.close()
        except Exception as e:  # noqa: BLE001 - reported, then exit
            emit("error", error=f"close: {e}")
        emit("closed")


if __name__ == "__main__":
    main()
