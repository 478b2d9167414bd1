#!/usr/bin/env python3
"""End-to-end check of a Kafka-compatible broker with librdkafka (confluent-kafka).

Creates a topic, produces N records with keys, headers and explicit timestamps,
reads them back without consumer-group membership (explicit assign from the
beginning, no commits) and verifies every record against its delivery report.

Exit 0 and prints "OK librdkafka <topic> <N> records" on success; exit 1 with a
one-line "FAIL librdkafka: <reason>" on the first mismatch.
"""
import argparse
import logging
import os
import re
import sys
import time

from confluent_kafka import (OFFSET_BEGINNING, TIMESTAMP_CREATE_TIME, Consumer,
                             KafkaError, KafkaException, Producer, TopicPartition)
from confluent_kafka.admin import AdminClient, NewTopic, OffsetSpec

CLIENT = "librdkafka"
SRC = CLIENT.encode()
BASE_TS = 1_700_000_000_000
VALUE_SIZE = 100
ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
CYCLE = ALPHABET * 4
CONSUME_TIMEOUT_S = 60.0
METADATA_TIMEOUT_S = 30.0
FLUSH_TIMEOUT_S = 120.0


class Fail(Exception):
    pass


class _Dedup(logging.Filter):
    """Passes each distinct librdkafka log line once (digits ignored), so an
    unreachable broker yields one "Connection refused" line, not one per retry."""

    def __init__(self):
        super().__init__()
        self.seen = set()

    def filter(self, record):
        key = re.sub(r"\d+", "#", record.getMessage())
        if key in self.seen:
            return False
        self.seen.add(key)
        return True


def make_logger():
    log = logging.getLogger("librdkafka")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    log.addHandler(handler)
    log.addFilter(_Dedup())
    log.setLevel(logging.INFO)
    log.propagate = False
    return log


# Clients whose queued log lines are served on the way out (with a logger set,
# librdkafka logs are delivered by poll()).
CLIENTS = []


def flush_logs():
    for c in CLIENTS:
        try:
            c.poll(0)
        except Exception:
            pass


def wait_future(admin, fut, timeout, what):
    """Result of an admin future, serving admin logs while waiting."""
    deadline = time.monotonic() + timeout
    while not fut.done():
        if time.monotonic() > deadline:
            raise Fail("%s: no answer after %.0fs" % (what, timeout))
        admin.poll(0.05)
    try:
        return fut.result()
    except KafkaException as e:
        raise Fail("%s: %s" % (what, e.args[0]))


def key_of(i):
    return b"key-%d" % (i % 1000)


def value_of(i):
    # "value-<i>-" followed by a deterministic filler up to VALUE_SIZE bytes.
    prefix = "value-%d-" % i
    n = max(0, VALUE_SIZE - len(prefix))
    start = i % len(ALPHABET)
    return (prefix + CYCLE[start:start + n]).encode()


def key_values(pairs, flag):
    out = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key:
            raise Fail("%s wants KEY=VALUE, got %r" % (flag, pair))
        out[key] = value
    return out


def pace(start, i, per_second):
    """Sleeps until record i is due when sending per_second records a second from start."""
    if per_second > 0:
        delay = start + i / per_second - time.monotonic()
        if delay > 0:
            time.sleep(delay)


def create_topic(admin, bootstrap, topic, partitions, replication_factor, configs):
    # Fail fast and clearly when the broker is not there at all.
    try:
        admin.list_topics(timeout=10)
    except KafkaException as e:
        raise Fail("cannot get metadata from %s: %s" % (bootstrap, e.args[0]))
    futures = admin.create_topics(
        [NewTopic(topic, num_partitions=partitions, replication_factor=replication_factor,
                  config=configs)],
        operation_timeout=METADATA_TIMEOUT_S, request_timeout=METADATA_TIMEOUT_S)
    wait_future(admin, futures[topic], METADATA_TIMEOUT_S + 5, "create topic %s" % topic)

    # Wait until metadata shows the topic with P partitions, each with a leader.
    deadline = time.monotonic() + METADATA_TIMEOUT_S
    last = "no metadata"
    while time.monotonic() < deadline:
        try:
            md = admin.list_topics(topic=topic, timeout=5)
        except KafkaException as e:
            last = "metadata request failed: %s" % e.args[0]
            admin.poll(0.2)
            continue
        t = md.topics.get(topic)
        if t is None:
            last = "topic missing from metadata"
        elif t.error is not None:
            last = "topic error in metadata: %s" % t.error
        elif len(t.partitions) != partitions:
            last = "metadata shows %d partitions, want %d" % (len(t.partitions), partitions)
        elif sorted(t.partitions) != list(range(partitions)):
            last = "metadata partition ids %s, want 0..%d" % (sorted(t.partitions), partitions - 1)
        else:
            bad = [p for p, pm in t.partitions.items() if pm.error is not None or pm.leader < 0]
            if not bad:
                return
            last = "partitions without leader or with error: %s" % bad
        admin.poll(0.2)
    raise Fail("topic %s not ready after %.0fs: %s" % (topic, METADATA_TIMEOUT_S, last))


def produce(common, topic, n, compression, per_second):
    dr_part = [-1] * n
    dr_off = [-1] * n
    errors = []
    key_part = {}

    def report(i, err, msg):
        if err is not None:
            errors.append("delivery of record %d failed: %s" % (i, err))
            return
        p = msg.partition()
        dr_part[i] = p
        dr_off[i] = msg.offset()
        k = i % 1000
        kp = key_part.setdefault(k, p)
        if kp != p:
            errors.append("key-%d delivered to partition %d and %d" % (k, kp, p))

    producer = Producer(dict(common, **{
        "compression.type": compression,
        "linger.ms": 5,
    }))
    CLIENTS.append(producer)
    src_hdr = ("src", SRC)
    start = time.monotonic()
    for i in range(n):
        pace(start, i, per_second)
        headers = [("idx", str(i).encode()), src_hdr]
        while True:
            try:
                producer.produce(topic, value=value_of(i), key=key_of(i), headers=headers,
                                 timestamp=BASE_TS + i,
                                 on_delivery=lambda err, msg, i=i: report(i, err, msg))
                break
            except BufferError:  # local queue full: serve delivery reports and retry
                producer.poll(0.05)
        if i % 1000 == 999 or per_second:
            producer.poll(0)
            if errors:
                raise Fail(errors[0])
    left = producer.flush(FLUSH_TIMEOUT_S)
    if errors:
        raise Fail(errors[0])
    if left:
        raise Fail("%d records still undelivered after flush(%.0fs)" % (left, FLUSH_TIMEOUT_S))
    missing = sum(1 for x in dr_off if x < 0)
    if missing:
        raise Fail("%d records without delivery report" % missing)
    return dr_part, dr_off


def list_offsets(admin, topic, partitions, spec, what):
    futures = admin.list_offsets({TopicPartition(topic, p): spec for p in range(partitions)},
                                 request_timeout=10)
    out = [None] * partitions
    for tp, fut in futures.items():
        out[tp.partition] = wait_future(
            admin, fut, 15, "list %s offset of partition %d" % (what, tp.partition)).offset
    return out


def consume_and_check(common, admin, topic, partitions, n, dr_part, dr_off):
    # No group membership: explicit assign(), no auto commit, no offset store.
    # confluent-kafka's Consumer refuses to start without group.id ("group.id
    # must be set"), so a throw-away id is set, but the group is never joined
    # (no subscribe()) and nothing is committed. With a group.id librdkafka
    # still looks up the coordinator (FindCoordinator) in the background;
    # fetching does not wait for it, and it is not sent at all when the broker
    # does not list FindCoordinator in its ApiVersions response.
    consumer = Consumer(dict(common, **{
        "group.id": "client-check-" + topic,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
    }))
    CLIENTS.append(consumer)
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])

    next_off = [0] * partitions
    seen = bytearray(n)
    key_part = {}
    count = 0
    deadline = time.monotonic() + CONSUME_TIMEOUT_S
    src_hdr = ("src", SRC)
    want_ts_type = TIMESTAMP_CREATE_TIME
    while count < n:
        if time.monotonic() > deadline:
            raise Fail("timeout after %.0fs: consumed %d of %d records, per partition %s"
                       % (CONSUME_TIMEOUT_S, count, n,
                          ", ".join("p%d=%d" % (p, c) for p, c in enumerate(next_off))))
        for msg in consumer.consume(num_messages=5000, timeout=0.1):
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    continue
                raise Fail("consume error on partition %s: %s" % (msg.partition(), err))
            p = msg.partition()
            o = msg.offset()
            if p is None or not 0 <= p < partitions:
                raise Fail("record from unexpected partition %r" % p)
            where = "partition %d offset %d" % (p, o)
            if o != next_off[p]:
                raise Fail("%s: expected offset %d (offsets must be contiguous from 0 and in order)"
                           % (where, next_off[p]))
            next_off[p] = o + 1
            h = msg.headers()
            if not h or len(h) != 2 or h[0][0] != "idx":
                raise Fail("%s: unexpected headers %r" % (where, h))
            try:
                i = int(h[0][1])
            except (TypeError, ValueError):
                raise Fail("%s: bad idx header %r" % (where, h[0][1]))
            if not 0 <= i < n:
                raise Fail("%s: idx %d out of range" % (where, i))
            if seen[i]:
                raise Fail("%s: duplicate record idx %d" % (where, i))
            seen[i] = 1
            if h[1] != src_hdr:
                raise Fail("%s idx %d: header %r, want %r" % (where, i, h[1], src_hdr))
            if msg.key() != key_of(i):
                raise Fail("%s idx %d: key %r, want %r" % (where, i, msg.key(), key_of(i)))
            if msg.value() != value_of(i):
                raise Fail("%s idx %d: value %r, want %r" % (where, i, msg.value(), value_of(i)))
            ts = msg.timestamp()
            if ts[1] != BASE_TS + i or ts[0] != want_ts_type:
                raise Fail("%s idx %d: timestamp %r, want (CreateTime, %d)"
                           % (where, i, ts, BASE_TS + i))
            if dr_part[i] != p or dr_off[i] != o:
                raise Fail("%s idx %d: delivery report said partition %d offset %d"
                           % (where, i, dr_part[i], dr_off[i]))
            k = i % 1000
            kp = key_part.setdefault(k, p)
            if kp != p:
                raise Fail("%s: key-%d seen in partition %d and %d" % (where, k, kp, p))
            count += 1

    CLIENTS.remove(consumer)
    consumer.close()

    # Exactly N: nothing beyond what was consumed may exist in the log. (Asked
    # through the admin client: the consumer's own connection is busy with
    # long-polling fetches, which would delay each query by fetch.wait.max.ms.)
    lows = list_offsets(admin, topic, partitions, OffsetSpec.earliest(), "earliest")
    highs = list_offsets(admin, topic, partitions, OffsetSpec.latest(), "latest")
    for p in range(partitions):
        if lows[p] != 0 or highs[p] != next_off[p]:
            raise Fail("partition %d watermarks low=%d high=%d, consumed offsets 0..%d"
                       % (p, lows[p], highs[p], next_off[p] - 1))
    return next_off


class ArgParser(argparse.ArgumentParser):
    def error(self, message):  # exit 1 with the one-line FAIL, not argparse's exit 2
        raise Fail("bad arguments: %s" % message)


def main():
    ap = ArgParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bootstrap", required=True, help="HOST:PORT")
    ap.add_argument("--topic", required=True)
    ap.add_argument("--partitions", type=int, required=True)
    ap.add_argument("--records", type=int, required=True)
    ap.add_argument("--compression", required=True,
                    choices=["none", "gzip", "snappy", "lz4", "zstd"])
    ap.add_argument("--replication-factor", type=int, default=1)
    ap.add_argument("--topic-config", action="append", default=[], metavar="KEY=VALUE",
                    help="config of the new topic, e.g. min.insync.replicas=2")
    ap.add_argument("--records-per-second", type=int, default=0,
                    help="pace the producer so a run can span broker faults (0: unpaced)")
    ap.add_argument("--property", action="append", default=[], metavar="KEY=VALUE",
                    help="extra librdkafka config for every client, e.g. security.protocol=SASL_PLAINTEXT")
    ap.add_argument("--debug", default="",
                    help="librdkafka debug contexts, e.g. protocol,broker (logged to stderr)")
    a = ap.parse_args()
    if a.partitions < 1 or a.records < 1:
        raise Fail("--partitions and --records must be >= 1")

    common = {"bootstrap.servers": a.bootstrap}
    common.update(key_values(a.property, "--property"))
    topic_configs = key_values(a.topic_config, "--topic-config")
    if a.debug:
        common["debug"] = a.debug  # straight to stderr, every line
    else:
        common["logger"] = make_logger()

    t0 = time.monotonic()
    admin = AdminClient(dict(common))
    CLIENTS.append(admin)
    create_topic(admin, a.bootstrap, a.topic, a.partitions, a.replication_factor, topic_configs)
    t1 = time.monotonic()
    dr_part, dr_off = produce(common, a.topic, a.records, a.compression, a.records_per_second)
    t2 = time.monotonic()
    per_part = consume_and_check(common, admin, a.topic, a.partitions, a.records, dr_part, dr_off)
    t3 = time.monotonic()
    print("%s: create %.2fs, produce %.2fs, consume+check %.2fs, per partition %s"
          % (CLIENT, t1 - t0, t2 - t1, t3 - t2, per_part), file=sys.stderr)
    print("OK %s %s %d records" % (CLIENT, a.topic, a.records))


def die(reason):
    flush_logs()  # queued librdkafka log lines first, the FAIL line last
    print("FAIL %s: %s" % (CLIENT, reason), file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1)  # don't block in librdkafka teardown with undelivered messages


if __name__ == "__main__":
    try:
        main()
    except Fail as e:
        die(e)
    except KafkaException as e:
        die(e.args[0])
    except Exception as e:
        die("%s: %s" % (type(e).__name__, e))
