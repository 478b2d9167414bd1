#!/usr/bin/env python3
"""Kafka-behaviour checks with librdkafka (confluent-kafka), one per subcommand.

Usage: compat_check.py SUBCOMMAND --bootstrap HOST:PORT --topic T [more]
  null-key                       (creates T, compacted)
  timestamps                     (creates T with message.timestamp.{after,before}.max.ms=60000)
  disk-full                      (T exists; the broker's data dir is a tiny filesystem)
  produce --records N --prefix P [--compression none|gzip|snappy|lz4|zstd]   (T exists)
  consume --expect N             (T exists)

stdout carries exactly one line: "OK SUBCOMMAND details" (exit 0) or
"FAIL SUBCOMMAND: reason" (exit 1). Pass/fail is decided on what the client saw
(delivery-report error codes, values), never on elapsed time.
"""
import argparse
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

ADMIN_TIMEOUT_S = 30.0
CONSUME_TIMEOUT_S = 60.0
FLUSH_TIMEOUT_S = 90.0
TIMEOUT_ERRORS = {KafkaError._MSG_TIMED_OUT, KafkaError._TIMED_OUT, KafkaError.REQUEST_TIMED_OUT}


class Fail(Exception):
    pass


def err_name(err):
    return "%s(%d)" % (err.name(), err.code())


def create_topic(args, configs, partitions=1):
    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    fut = admin.create_topics([NewTopic(args.topic, num_partitions=partitions, replication_factor=1,
                                        config=configs)],
                              operation_timeout=ADMIN_TIMEOUT_S, request_timeout=ADMIN_TIMEOUT_S)[args.topic]
    try:
        fut.result(timeout=ADMIN_TIMEOUT_S + 5)
    except KafkaException as e:
        raise Fail("create topic %s %s: %s" % (args.topic, configs, e.args[0]))
    # Until the topic has a leader in metadata, produce would only wait for it.
    deadline = time.monotonic() + ADMIN_TIMEOUT_S
    while time.monotonic() < deadline:
        t = admin.list_topics(topic=args.topic, timeout=5).topics.get(args.topic)
        if t is not None and t.error is None and t.partitions and all(p.leader >= 0 for p in t.partitions.values()):
            return
        time.sleep(0.1)
    raise Fail("topic %s has no leader in metadata" % args.topic)


def producer(args, **extra):
    conf = {"bootstrap.servers": args.bootstrap, "client.id": "shardlog-compat-python", "acks": "all"}
    conf.update(extra)
    return Producer(conf)


def produce_one(p, topic, key, value, **kw):
    """Produces one record in a batch of its own; returns its delivery-report error (None: ok)."""
    result = []
    p.produce(topic, value=value, key=key, partition=0, on_delivery=lambda err, msg: result.append(err), **kw)
    left = p.flush(FLUSH_TIMEOUT_S)
    if left or not result:
        raise Fail("no delivery report for %r after %.0fs" % (key, FLUSH_TIMEOUT_S))
    return result[0]


# --------------------------------------------------------------------------------------------------
# null-key: a compacted topic refuses a record without a key: Kafka answers the produce with
# INVALID_RECORD (87), which is not retriable, so the delivery report carries it at once. A keyed
# record to the same topic still succeeds.
def null_key(args):
    create_topic(args, {"cleanup.policy": "compact"})
    # INVALID_RECORD is a permanent error in librdkafka (no retry); retries=0 and a bounded
    # message.timeout.ms only keep a broker that answers something retriable from stalling us.
    p = producer(args, **{"retries": 0, "message.timeout.ms": 30000})
    err = produce_one(p, args.topic, None, b"no key")
    if err is None:
        raise Fail("record without key accepted by a compacted topic")
    if err.code() != KafkaError.INVALID_RECORD:
        raise Fail("record without key: %s %r, want INVALID_RECORD(87)" % (err_name(err), err.str()))
    ok = produce_one(p, args.topic, b"k", b"with key")
    if ok is not None:
        raise Fail("keyed record after the refused one: %s %r" % (err_name(ok), ok.str()))
    return "null key -> %s %r; keyed record ok" % (err_name(err), err.str())


# --------------------------------------------------------------------------------------------------
# timestamps: with message.timestamp.after.max.ms / before.max.ms (KIP-937) = 60 s, a CreateTime an
# hour in the future or an hour in the past is refused with INVALID_TIMESTAMP (32); one at "now" is
# accepted. Each record goes in its own batch (linger.ms=0, flush after each).
def timestamps(args):
    create_topic(args, {"message.timestamp.after.max.ms": "60000",
                        "message.timestamp.before.max.ms": "60000"})
    p = producer(args, **{"linger.ms": 0, "retries": 0, "message.timeout.ms": 30000})
    now = int(time.time() * 1000)
    seen = []
    for label, ts, want in (("future", now + 3_600_000, KafkaError.INVALID_TIMESTAMP),
                            ("past", now - 3_600_000, KafkaError.INVALID_TIMESTAMP),
                            ("now", int(time.time() * 1000), None)):
        err = produce_one(p, args.topic, label.encode(), b"ts", timestamp=ts)
        got = None if err is None else err.code()
        seen.append("%s=%s" % (label, "ok" if err is None else err_name(err)))
        if got != want:
            raise Fail("%s timestamp: %s, want %s (seen %s)" % (
                label, "ok" if err is None else "%s %r" % (err_name(err), err.str()),
                "ok" if want is None else "INVALID_TIMESTAMP(32)", " ".join(seen)))
    return " ".join(seen)


# --------------------------------------------------------------------------------------------------
# disk-full: when the broker's disk fills, a produce must be answered with KAFKA_STORAGE_ERROR (56)
# rather than left unanswered until the client times out. Produces 4 KiB records (acks=1, no
# retries, no idempotence) until the first delivery error or 5000 records, then flushes: every
# record must get a delivery report, at least one KAFKA_STORAGE_ERROR, none a timeout.
# Against a real Kafka with free disk this FAILs with "no storage error after 5000 records"; that
# is expected (it is meant for a broker on a tiny tmpfs).
def disk_full(args):
    p = producer(args, **{"acks": 1, "retries": 0, "enable.idempotence": False,
                          "request.timeout.ms": 30000, "message.timeout.ms": 60000, "linger.ms": 5})
    counts = {}  # error code (0: delivered) -> delivery reports
    names = {0: "ok"}

    def on_delivery(err, msg):
        code = 0 if err is None else err.code()
        if err is not None:
            names[code] = err_name(err)
        counts[code] = counts.get(code, 0) + 1

    value = b"x" * 4096
    produced = 0
    while produced < 5000 and not (counts.keys() - {0}):
        try:
            p.produce(args.topic, value=value, key=b"k%d" % produced, partition=0, on_delivery=on_delivery)
            produced += 1
        except BufferError:  # local queue full: serve delivery reports, then try again
            p.poll(0.1)
            continue
        p.poll(0)
    left = p.flush(FLUSH_TIMEOUT_S)
    reports = sum(counts.values())
    summary = "produced %d, reports %d: %s" % (produced, reports,
                                               " ".join("%s=%d" % (names[c], n) for c, n in sorted(counts.items())))
    if left or reports != produced:
        raise Fail("%d records without a delivery report after flush(%.0f); %s" % (left, FLUSH_TIMEOUT_S, summary))
    if counts.keys() & TIMEOUT_ERRORS:
        raise Fail("timeout errors instead of an answer; %s" % summary)
    if KafkaError.KAFKA_STORAGE_ERROR not in counts:
        if counts.keys() == {0}:
            raise Fail("no storage error after %d records; %s" % (produced, summary))
        raise Fail("no KAFKA_STORAGE_ERROR; %s" % summary)
    return summary


# --------------------------------------------------------------------------------------------------
# produce: N records (key = value = P-i) to partition 0 of an existing topic with the given
# compression, acks=all; every delivery report must be a success.
def produce(args):
    if args.records is None or args.prefix is None:
        raise Fail("produce needs --records N --prefix P")
    p = producer(args, **{"compression.type": args.compression, "linger.ms": 5})
    errors = []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(err)

    for i in range(args.records):
        kv = ("%s-%d" % (args.prefix, i)).encode()
        while True:
            try:
                p.produce(args.topic, value=kv, key=kv, partition=0, on_delivery=on_delivery)
                break
            except BufferError:
                p.poll(0.1)
        p.poll(0)
    left = p.flush(FLUSH_TIMEOUT_S)
    if errors:
        raise Fail("%d sends failed, first %s %r" % (len(errors), err_name(errors[0]), errors[0].str()))
    if left:
        raise Fail("%d records without a delivery report after flush(%.0f)" % (left, FLUSH_TIMEOUT_S))
    return "%d records %s-* compression %s" % (args.records, args.prefix, args.compression)


# --------------------------------------------------------------------------------------------------
# consume: reading partition 0 from the beginning (assign, no group commits) yields exactly N
# records with N distinct values: nothing lost, nothing duplicated, whatever codec each batch used.
def consume(args):
    if args.expect is None:
        raise Fail("consume needs --expect N")
    # confluent-kafka insists on a group.id; the group is never joined and nothing is committed.
    c = Consumer({"bootstrap.servers": args.bootstrap, "client.id": "shardlog-compat-python",
                  "group.id": "compat-" + args.topic, "enable.auto.commit": False,
                  "enable.auto.offset.store": False})
    c.assign([TopicPartition(args.topic, 0, OFFSET_BEGINNING)])
    values = []
    deadline = time.monotonic() + CONSUME_TIMEOUT_S
    while len(values) < args.expect and time.monotonic() < deadline:
        for m in c.consume(num_messages=1000, timeout=0.5):
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise Fail("consume error: %s %r" % (err_name(m.error()), m.error().str()))
            values.append(m.value())
    c.close()
    dups = len(values) - len(set(values))
    if dups:
        raise Fail("read %d records, %d duplicate values" % (len(values), dups))
    if len(values) != args.expect:
        raise Fail("read %d records, want %d" % (len(values), args.expect))
    return "%d records, %d distinct" % (len(values), len(set(values)))


SUBCOMMANDS = {"null-key": null_key, "timestamps": timestamps, "disk-full": disk_full,
               "produce": produce, "consume": consume}


class ArgParser(argparse.ArgumentParser):
    def error(self, message):  # exit 1 with the one-line FAIL, not argparse's exit 2
        print("FAIL compat: %s" % message)
        sys.exit(1)


def main():
    ap = ArgParser(description=__doc__.splitlines()[0])
    ap.add_argument("subcommand", choices=sorted(SUBCOMMANDS))
    ap.add_argument("--bootstrap", required=True, help="HOST:PORT")
    ap.add_argument("--topic", required=True)
    ap.add_argument("--records", type=int)
    ap.add_argument("--prefix")
    ap.add_argument("--compression", default="none", choices=["none", "gzip", "snappy", "lz4", "zstd"])
    ap.add_argument("--expect", type=int)
    args = ap.parse_args()
    try:
        details = SUBCOMMANDS[args.subcommand](args)
    except Fail as e:
        print("FAIL %s: %s" % (args.subcommand, e))
        sys.exit(1)
    except KafkaException as e:
        print("FAIL %s: %s" % (args.subcommand, e.args[0]))
        sys.exit(1)
    print("OK %s %s" % (args.subcommand, details))


if __name__ == "__main__":
    main()
