//! Transactions as real clients use them, through the transaction coordinator: the Java client's
//! transactional producer commits and aborts across three topics (tests/clients/java Transactions),
//! a read_committed consumer sees exactly the committed records, in order, and a read_uncommitted one
//! sees all; a consume-transform-produce loop commits its group's offsets with its output
//! (`sendOffsetsToTransaction`); a second producer with the same transactional.id fences the first and
//! aborts its open transaction; on the 3-node cluster the markers reach leaders on other nodes and a
//! new coordinator, after the old one is killed, carries on from what it persisted.

use crate::common;

use common::api::create_topic;
use common::cluster::{create_topic_with, eventually, metadata, Cluster};
use common::txn_clients::{java, read_all, read_with_offsets, run};
use common::{heavy_test, temp_dir, Broker};
use std::collections::BTreeMap;

/// What `produce` wrote where: transaction i's record j went to partition (i*records + j) % total of
/// the topics' partitions in order, value "txn-i-j"; per partition in send order.
fn expected(
    topics: &[&str],
    partitions: i32,
    transactions: usize,
    records: usize,
    committed_only: bool,
) -> BTreeMap<(String, i32), Vec<String>> {
    let targets: Vec<(String, i32)> = topics
        .iter()
        .flat_map(|t| (0..partitions).map(move |p| (t.to_string(), p)))
        .collect();
    let mut out: BTreeMap<(String, i32), Vec<String>> = BTreeMap::new();
    let mut next = 0;
    for i in 0..transactions {
        for j in 0..records {
            let target = targets[next % targets.len()].clone();
            next += 1;
            if committed_only && i % 3 == 2 {
                continue;
            }
            out.entry(target).or_default().push(format!("txn-{i}-{j}"));
        }
    }
    out
}

/// `client` produces 9 transactions (every third aborted) over the topics `<prefix>a,b,c` (3
/// partitions each) and both isolation levels read exactly what they should.
fn commit_and_abort_across_topics(client: &str, prefix: &str, bootstrap: &str, logs: &str) {
    let topics: Vec<String> = ["a", "b", "c"]
        .iter()
        .map(|t| format!("{prefix}{t}"))
        .collect();
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    let list = topics.join(",");
    let id = format!("{prefix}producer");
    let args = [
        "--id",
        &id,
        "--topics",
        &list,
        "--transactions",
        "9",
        "--records",
        "12",
    ];
    let lines = run(client, "produce", bootstrap, &args, logs);
    let count = |what: &str| lines.iter().filter(|l| l.starts_with(what)).count();
    assert_eq!((count("committed"), count("aborted")), (6, 3), "{lines:?}");
    let committed = read_all(bootstrap, &list, "read_committed", logs);
    assert_eq!(
        committed,
        expected(&names, 3, 9, 12, true),
        "{client}: read_committed"
    );
    let everything = read_all(bootstrap, &list, "read_uncommitted", logs);
    assert_eq!(
        everything,
        expected(&names, 3, 9, 12, false),
        "{client}: read_uncommitted"
    );
}

/// `client` copies the committed records of `<prefix>a` upper-cased into `<prefix>copied` in
/// transactions that also commit its group's offsets (consume-transform-produce). Every record is
/// copied exactly once, and the group's committed offsets are just past each partition's last
/// record; returns those offsets per partition.
fn copy_exactly_once(
    client: &str,
    prefix: &str,
    bootstrap: &str,
    logs: &str,
) -> BTreeMap<i32, i64> {
    let (input_topic, output, group, id) = (
        format!("{prefix}a"),
        format!("{prefix}copied"),
        format!("{prefix}copiers"),
        format!("{prefix}copier"),
    );
    let names = [
        format!("{prefix}a"),
        format!("{prefix}b"),
        format!("{prefix}c"),
    ];
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let input: Vec<String> = expected(&names, 3, 9, 12, true)
        .into_iter()
        .filter(|((t, _), _)| *t == input_topic)
        .flat_map(|(_, v)| v)
        .collect();
    let n = input.len().to_string();
    let args = [
        "--id",
        &id,
        "--group",
        &group,
        "--input",
        &input_topic,
        "--output",
        &output,
        "--expect",
        &n,
    ];
    let lines = run(client, "copy", bootstrap, &args, logs);
    assert_eq!(lines, vec![format!("copied {n}")]);
    let mut copied: Vec<String> = read_all(bootstrap, &output, "read_committed", logs)
        .into_values()
        .flatten()
        .collect();
    let mut want: Vec<String> = input.iter().map(|v| v.to_uppercase()).collect();
    copied.sort();
    want.sort();
    assert_eq!(
        copied, want,
        "{client}: every committed input record copied exactly once"
    );
    let last_committed: BTreeMap<i32, i64> =
        read_with_offsets(bootstrap, &input_topic, "read_committed", logs)
            .into_iter()
            .map(|((_, p), v)| (p, v.last().expect("records").0))
            .collect();
    check_group_offsets(bootstrap, &group, &last_committed);
    last_committed
}

/// The group's committed offsets (kafka-consumer-groups --describe) are each past the partition's
/// last committed record and at most the log end: a client commits the offset after its last record
/// (Java) or its position, which has skipped the markers after it (librdkafka).
fn check_group_offsets(bootstrap: &str, group: &str, last_committed: &BTreeMap<i32, i64>) {
    let (ok, out, err) = common::kafka_tool(
        bootstrap,
        "consumer.group.ConsumerGroupCommand",
        &["--describe", "--group", group],
    );
    assert!(ok, "{out}\n{err}");
    let rows: Vec<&str> = out.lines().filter(|l| l.starts_with(group)).collect();
    assert_eq!(rows.len(), last_committed.len(), "{out}");
    for row in rows {
        // GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET ...
        let cols: Vec<&str> = row.split_whitespace().collect();
        let number = |i: usize| -> i64 { cols[i].parse().unwrap() };
        let (partition, current, end) = (number(2) as i32, number(3), number(4));
        assert!(
            (last_committed[&partition] + 1..=end).contains(&current),
            "offsets not committed with the output (last committed record {}): {row}\n{out}",
            last_committed[&partition]
        );
    }
}

fn create_topics(broker: &Broker, prefix: &str) {
    let mut conn = broker.conn();
    for t in ["a", "b", "c"] {
        assert_eq!(create_topic(&mut conn, &format!("{prefix}{t}"), 3, &[]), 0);
    }
    assert_eq!(
        create_topic(&mut conn, &format!("{prefix}copied"), 2, &[]),
        0
    );
}

#[test]
fn java_transactions_commit_abort_copy_and_fence_on_one_node() {
    let _heavy = heavy_test();
    let mut broker = Broker::start(&temp_dir("txn-clients"), &[]);
    let logs = format!("broker log: {}", broker.log_path().display());
    create_topics(&broker, "t");
    let bootstrap = broker.addr();
    commit_and_abort_across_topics("java", "t", &bootstrap, &logs);
    let last_committed = copy_exactly_once("java", "t", &bootstrap, &logs);
    // After a restart (kill -9) the transactional offset commits are replayed, not lost.
    broker.restart();
    check_group_offsets(&bootstrap, "tcopiers", &last_committed);
    // Zombie fencing: the second producer of an id fences the first and aborts its transaction.
    let lines = java(
        "fence",
        &bootstrap,
        &["--id", "zombie", "--topic", "tcopied"],
        &logs,
    );
    assert_eq!(lines, vec!["fenced".to_string()]);
    let fenced: Vec<String> = read_all(&bootstrap, "tcopied", "read_committed", &logs)
        .into_values()
        .flatten()
        .filter(|v| !v.starts_with("TXN-"))
        .collect();
    assert_eq!(fenced, vec!["successor".to_string()]);

    // kafka-transactions shows the coordinator's state.
    let (ok, listed, err) = common::kafka_tool(&bootstrap, "TransactionsCommand", &["list"]);
    assert!(ok, "{listed}\n{err}");
    for (id, state) in [
        ("tproducer", "CompleteAbort"),
        ("tcopier", "CompleteCommit"),
        ("zombie", "CompleteCommit"),
    ] {
        assert!(
            listed
                .lines()
                .any(|l| l.starts_with(id) && l.contains(state)),
            "{id} {state} missing from kafka-transactions list:\n{listed}"
        );
    }
    let describe = ["describe", "--transactional-id", "tproducer"];
    let (ok, described, err) = common::kafka_tool(&bootstrap, "TransactionsCommand", &describe);
    assert!(ok, "{described}\n{err}");
    // CoordinatorId TransactionalId ProducerId ProducerEpoch TransactionState ...
    let row: Vec<&str> = described
        .lines()
        .nth(1)
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(row.get(1), Some(&"tproducer"), "{described}");
    assert_eq!(row.get(4), Some(&"CompleteAbort"), "{described}");
}

#[test]
fn librdkafka_and_franz_go_transactions_commit_abort_and_copy_exactly_once() {
    let _heavy = heavy_test();
    let broker = Broker::start(&temp_dir("txn-clients-rdkafka-franz"), &[]);
    let logs = format!("broker log: {}", broker.log_path().display());
    for (client, prefix) in [("python", "r"), ("go", "f")] {
        create_topics(&broker, prefix);
        commit_and_abort_across_topics(client, prefix, &broker.addr(), &logs);
        copy_exactly_once(client, prefix, &broker.addr(), &logs);
    }
}

#[test]
fn java_transactions_on_the_cluster_survive_the_coordinators_death() {
    let _heavy = heavy_test();
    let mut cluster = Cluster::start("txn-clients-cluster");
    let logs = cluster.logs();
    cluster.agreed_controller(&logs);
    for t in ["ta", "tb", "tc"] {
        assert_eq!(create_topic_with(&cluster.nodes[0], t, 3, 3, &[]).0, 0);
    }
    let bootstrap = cluster.bootstrap();
    commit_and_abort_across_topics("java", "t", &bootstrap, &logs);

    // Kill the node leading tproducer's __transaction_state partition, then go on with the same
    // transactional id: the new coordinator starts from what the old one replicated.
    let state = metadata(&cluster.nodes[0], Some(&["__transaction_state"])).expect("metadata");
    let partition = java_hash_partition("tproducer", 50);
    let coordinator = state.topics[0]
        .partitions
        .iter()
        .find(|p| p.partition_index == partition)
        .map(|p| p.leader_id.0)
        .expect("the id's partition");
    cluster.node_mut(coordinator).kill9();
    let survivors: Vec<i32> = (1..=3).filter(|&id| id != coordinator).collect();
    let survivor = cluster.node(survivors[0]);
    eventually("a new __transaction_state leader", &logs, || {
        let m = metadata(survivor, Some(&["__transaction_state"]))?;
        let p = m.topics[0]
            .partitions
            .iter()
            .find(|p| p.partition_index == partition)?;
        (p.leader_id.0 != coordinator && p.leader_id.0 >= 0).then_some(())
    });
    let bootstrap = survivors
        .iter()
        .map(|&id| cluster.node(id).addr())
        .collect::<Vec<_>>()
        .join(",");
    let lines = java(
        "produce",
        &bootstrap,
        &[
            "--id",
            "tproducer",
            "--topics",
            "tb",
            "--transactions",
            "3",
            "--records",
            "4",
        ],
        &logs,
    );
    assert_eq!(lines.len(), 3, "{lines:?}");
    let tb = read_all(&bootstrap, "tb", "read_committed", &logs);
    let mut want = expected(&["ta", "tb", "tc"], 3, 9, 12, true);
    want.retain(|(t, _), _| t == "tb");
    for (key, values) in expected(&["tb"], 3, 3, 4, true) {
        want.entry(key).or_default().extend(values);
    }
    assert_eq!(tb, want);
}

/// Kafka's `abs(javaHashCode(id)) % partitions`, the coordinator partition of an id.
fn java_hash_partition(id: &str, partitions: i32) -> i32 {
    let hash = id
        .encode_utf16()
        .fold(0i32, |h, u| h.wrapping_mul(31).wrapping_add(i32::from(u)));
    if hash == i32::MIN {
        0
    } else {
        hash.abs() % partitions
    }
}
