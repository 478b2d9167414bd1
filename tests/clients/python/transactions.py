"""librdkafka's (confluent-kafka) transactions, for tests/it/transactional_clients.rs; the same modes,
arguments and output as tests/clients/java Transactions.java:

  produce --bootstrap B --id ID --topics A,B --transactions N --records R
      N transactions of R records ("txn-I-J") over every partition of the topics in order; I % 3 == 2
      aborted. Prints "committed I" / "aborted I".
  copy --bootstrap B --id ID --group G --input T --output U --expect N
      consume-transform-produce: read_committed consumer in group G on T; each poll's records go
      upper-cased to U with the consumer's positions (send_offsets_to_transaction) in one committed
      transaction, until N records were copied. Prints "copied N".
"""

import argparse
import sys
import time

from confluent_kafka import Consumer, Producer


def producer(bootstrap, txn_id):
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id,
                  "transaction.timeout.ms": 30000})
    p.init_transactions(60)
    return p


def partitions_of(client, topics):
    meta = client.list_topics(timeout=30)
    return [(t, p) for t in topics for p in sorted(meta.topics[t].partitions)]


def produce(args):
    p = producer(args.bootstrap, args.id)
    targets = partitions_of(p, args.topics.split(","))
    sent = 0
    for i in range(args.transactions):
        p.begin_transaction()
        for j in range(args.records):
            topic, partition = targets[sent % len(targets)]
            sent += 1
            p.produce(topic, value=f"txn-{i}-{j}".encode(), partition=partition)
        if i % 3 == 2:
            # Written first, so the abort has data to undo.
            p.flush(30)
            p.abort_transaction(60)
            print(f"aborted {i}", flush=True)
        else:
            p.commit_transaction(60)
            print(f"committed {i}", flush=True)


def copy(args):
    c = Consumer({"bootstrap.servers": args.bootstrap, "group.id": args.group,
                  "isolation.level": "read_committed", "enable.auto.commit": False,
                  "auto.offset.reset": "earliest"})
    c.subscribe([args.input])
    p = producer(args.bootstrap, args.id)
    copied = 0
    idle_since = time.time()
    while copied < args.expect:
        records = [m for m in c.consume(500, 0.5) if m.error() is None]
        if not records:
            if time.time() - idle_since > 60:
                sys.exit(f"nothing to copy for 60 s after {copied}")
            continue
        idle_since = time.time()
        p.begin_transaction()
        for m in records:
            p.produce(args.output, value=m.value().decode().upper().encode(), key=m.key())
            copied += 1
        p.send_offsets_to_transaction(c.position(c.assignment()), c.consumer_group_metadata(), 60)
        p.commit_transaction(60)
    c.close()
    print(f"copied {copied}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["produce", "copy"])
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--id", required=True)
    ap.add_argument("--topics")
    ap.add_argument("--transactions", type=int)
    ap.add_argument("--records", type=int)
    ap.add_argument("--group")
    ap.add_argument("--input")
    ap.add_argument("--output")
    ap.add_argument("--expect", type=int)
    args = ap.parse_args()
    if args.mode == "produce":
        produce(args)
    else:
        copy(args)


if __name__ == "__main__":
    main()
