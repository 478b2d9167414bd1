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
use common::{heavy_test, repo_root, temp_dir, Broker};
use std::collections::BTreeMap;
use std::process::Command;

/// Runs the Java transactional client in `mode`; its stdout lines. Fails with its output if it fails.
fn java(mode: &str, bootstrap: &str, args: &[&str], logs: &str) -> Vec<String> {
    let out = Command::new("timeout")
        .arg("240")
        .arg(repo_root().join("tests/clients/java/transactions.sh"))
        .args([mode, "--bootstrap", bootstrap])
        .args(args)
        .output()
        .expect("run tests/clients/java/transactions.sh");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "Java {mode} failed:\n{stdout}\n{}\n({logs})",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout.lines().map(str::to_string).collect()
}

/// (topic, partition) → values in offset order, as the Java consumer read them at `isolation`.
fn read_all(
    bootstrap: &str,
    topics: &str,
    isolation: &str,
    logs: &str,
) -> BTreeMap<(String, i32), Vec<String>> {
    read_with_offsets(bootstrap, topics, isolation, logs)
        .into_iter()
        .map(|(k, v)| (k, v.into_iter().map(|(_, value)| value).collect()))
        .collect()
}

/// (topic, partition) → (offset, value) in offset order.
fn read_with_offsets(
    bootstrap: &str,
    topics: &str,
    isolation: &str,
    logs: &str,
) -> BTreeMap<(String, i32), Vec<(i64, String)>> {
    let lines = java(
        "read",
        bootstrap,
        &["--topics", topics, "--isolation", isolation],
        logs,
    );
    assert_eq!(lines.last().map(String::as_str), Some("end"), "{lines:?}");
    let mut by_partition: BTreeMap<(String, i32), Vec<(i64, String)>> = BTreeMap::new();
    for l in lines.iter().filter_map(|l| l.strip_prefix("record ")) {
        let f: Vec<&str> = l.splitn(4, ' ').collect();
        by_partition
            .entry((f[0].to_string(), f[1].parse().unwrap()))
            .or_default()
            .push((f[2].parse().unwrap(), f[3].to_string()));
    }
    by_partition
        .into_iter()
        .map(|(k, v)| {
            assert!(
                v.windows(2).all(|w| w[0].0 < w[1].0),
                "offsets out of order in {k:?}: {v:?}"
            );
            (k, v)
        })
        .collect()
}

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

/// Produces 9 transactions (every third aborted) over three topics and checks both isolation levels.
fn commit_and_abort_across_topics(bootstrap: &str, logs: &str) {
    let lines = java(
        "produce",
        bootstrap,
        &[
            "--id",
            "producer-1",
            "--topics",
            "ta,tb,tc",
            "--transactions",
            "9",
            "--records",
            "12",
        ],
        logs,
    );
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("committed")).count(),
        6,
        "{lines:?}"
    );
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("aborted")).count(),
        3,
        "{lines:?}"
    );
    let committed = read_all(bootstrap, "ta,tb,tc", "read_committed", logs);
    assert_eq!(
        committed,
        expected(&["ta", "tb", "tc"], 3, 9, 12, true),
        "read_committed"
    );
    let everything = read_all(bootstrap, "ta,tb,tc", "read_uncommitted", logs);
    assert_eq!(
        everything,
        expected(&["ta", "tb", "tc"], 3, 9, 12, false),
        "read_uncommitted"
    );
}

#[test]
fn java_transactions_commit_abort_copy_and_fence_on_one_node() {
    let _heavy = heavy_test();
    let broker = Broker::start(&temp_dir("txn-clients"), &[]);
    let logs = format!("broker log: {}", broker.log_path().display());
    let mut conn = broker.conn();
    for t in ["ta", "tb", "tc"] {
        assert_eq!(create_topic(&mut conn, t, 3, &[]), 0);
    }
    assert_eq!(create_topic(&mut conn, "copied", 2, &[]), 0);
    let bootstrap = broker.addr();
    commit_and_abort_across_topics(&bootstrap, &logs);

    // Consume-transform-produce: the committed records of ta, upper-cased into `copied`, with the
    // group's offsets in the same transactions.
    let input: Vec<String> = expected(&["ta", "tb", "tc"], 3, 9, 12, true)
        .into_iter()
        .filter(|((t, _), _)| t == "ta")
        .flat_map(|(_, v)| v)
        .collect();
    let n = input.len().to_string();
    let args = [
        "--id", "copier", "--group", "copiers", "--input", "ta", "--output", "copied",
    ];
    let lines = java(
        "copy",
        &bootstrap,
        &[&args[..], &["--expect", &n]].concat(),
        &logs,
    );
    assert_eq!(lines, vec![format!("copied {n}")]);
    let mut copied: Vec<String> = read_all(&bootstrap, "copied", "read_committed", &logs)
        .into_values()
        .flatten()
        .collect();
    let mut want: Vec<String> = input.iter().map(|v| v.to_uppercase()).collect();
    copied.sort();
    want.sort();
    assert_eq!(
        copied, want,
        "every committed input record copied exactly once"
    );
    // The group's offsets were committed with the output: each is just past the partition's last
    // committed record, and after a restart (kill -9) the transactional commits are replayed, not lost.
    let last_committed: BTreeMap<i32, i64> =
        read_with_offsets(&bootstrap, "ta", "read_committed", &logs)
            .into_iter()
            .map(|((_, p), v)| (p, v.last().expect("records").0))
            .collect();
    let lag = || {
        let (ok, out, err) = common::kafka_tool(
            &bootstrap,
            "consumer.group.ConsumerGroupCommand",
            &["--describe", "--group", "copiers"],
        );
        assert!(ok, "{out}\n{err}");
        out
    };
    let before = lag();
    let mut broker = broker;
    broker.restart();
    let after = lag();
    for out in [&before, &after] {
        let rows: Vec<&str> = out.lines().filter(|l| l.starts_with("copiers")).collect();
        assert_eq!(rows.len(), 3, "{out}");
        for row in rows {
            let cols: Vec<&str> = row.split_whitespace().collect();
            // GROUP TOPIC PARTITION CURRENT-OFFSET ...
            let (partition, current): (i32, i64) =
                (cols[2].parse().unwrap(), cols[3].parse().unwrap());
            assert_eq!(
                current,
                last_committed[&partition] + 1,
                "offsets not committed with the output: {row}\n{out}"
            );
        }
    }

    // Zombie fencing: the second producer of an id fences the first and aborts its transaction.
    let lines = java(
        "fence",
        &bootstrap,
        &["--id", "zombie", "--topic", "copied"],
        &logs,
    );
    assert_eq!(lines, vec!["fenced".to_string()]);
    let fenced: Vec<String> = read_all(&bootstrap, "copied", "read_committed", &logs)
        .into_values()
        .flatten()
        .filter(|v| !v.starts_with("TXN-"))
        .collect();
    assert_eq!(fenced, vec!["successor".to_string()]);
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
    commit_and_abort_across_topics(&bootstrap, &logs);

    // Kill the node leading producer-1's __transaction_state partition, then go on with the same
    // transactional id: the new coordinator starts from what the old one replicated.
    let state = metadata(&cluster.nodes[0], Some(&["__transaction_state"])).expect("metadata");
    let partition = java_hash_partition("producer-1", 50);
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
            "producer-1",
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
