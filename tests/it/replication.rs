//! Replication across real broker processes: a five-node cluster (so that the metadata quorum keeps a
//! majority with two nodes down) holding topics with replication factor 3 and min.insync.replicas=2.
//! The Java client produces with acks=all and reads everything back; every replica's log holds the
//! leader's bytes; a dead follower leaves the ISR after replica.lag.time.max.ms and acks=all goes on
//! with two; consumers never read past the high watermark; with one replica left acks=all is refused
//! with NOT_ENOUGH_REPLICAS; restarted followers catch up and rejoin the ISR. An old leader that
//! returns after a failover truncates the tail its successor never had, and rejoins. The Java client,
//! librdkafka and franz-go keep producing through a leader's death and its return without an error
//! reaching the application.

use crate::common;

use common::api::{fetch, fetch_all, fetch_at_epoch, list_offset, produce};
use common::cluster::{create_topic_with, eventually, leaders_seen_by, metadata, Cluster};
use common::{batch_of, decode_values, driver_command, temp_dir, Broker, Conn};
use kafka_protocol::ResponseError;
use std::collections::BTreeSet;
use std::fs::File;
use std::path::PathBuf;
use std::process::Child;

/// A dead follower leaves the ISR after this long without catching up.
const LAG_MAX_MS: &str = "4000";

/// (leader, replicas, ISR) of a partition as `node` sees it.
fn partition_state(
    node: &Broker,
    topic: &str,
    partition: i32,
) -> Option<(i32, Vec<i32>, Vec<i32>)> {
    let m = metadata(node, Some(&[topic]))?;
    let t = m.topics.first().filter(|t| t.error_code == 0)?;
    let p = t
        .partitions
        .iter()
        .find(|p| p.partition_index == partition)?;
    let ids = |v: &[kafka_protocol::messages::BrokerId]| v.iter().map(|b| b.0).collect();
    Some((p.leader_id.0, ids(&p.replica_nodes), ids(&p.isr_nodes)))
}

/// The ISR of a partition, as a set, as `node` sees it.
fn isr_seen_by(node: &Broker, topic: &str, partition: i32) -> Option<BTreeSet<i32>> {
    partition_state(node, topic, partition).map(|(_, _, isr)| isr.into_iter().collect())
}

/// `shardlog_under_replicated_partitions` from a node's /metrics.
fn under_replicated(node: &Broker) -> Option<u64> {
    let (_, body) = node.admin_get("/metrics");
    body.lines()
        .find_map(|l| l.strip_prefix("shardlog_under_replicated_partitions "))
        .and_then(|v| v.trim().parse().ok())
}

/// Every segment file of a partition's replica on `node`, concatenated in offset order.
fn replica_bytes(node: &Broker, topic: &str, partition: i32) -> Vec<u8> {
    let dir = node.data_dir.join(format!("{topic}-{partition}"));
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut segments: Vec<_> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    segments.sort();
    segments
        .iter()
        .flat_map(|p| std::fs::read(p).unwrap_or_default())
        .collect()
}

/// Waits until every replica of the partition holds exactly the leader's (non-empty) log.
fn replicas_converge(cluster: &Cluster, topic: &str, partition: i32) {
    let logs = cluster.logs();
    let (leader, replicas, _) = partition_state(cluster.node(1), topic, partition).unwrap();
    eventually(
        &format!("every replica of {topic}-{partition} holds the leader's log"),
        &logs,
        || {
            let want = replica_bytes(cluster.node(leader), topic, partition);
            let same = replicas
                .iter()
                .all(|&r| replica_bytes(cluster.node(r), topic, partition) == want);
            (!want.is_empty() && same).then_some(())
        },
    );
}

/// Creates `topic` with one partition, `replication_factor` replicas and min.insync.replicas=2, and
/// waits until every replica is in its ISR; returns (leader, replicas).
fn replicated_partition(
    cluster: &Cluster,
    topic: &str,
    replication_factor: i16,
    logs: &str,
) -> (i32, Vec<i32>) {
    let (code, message) = create_topic_with(
        cluster.node(1),
        topic,
        1,
        replication_factor,
        &[("min.insync.replicas", "2")],
    );
    assert_eq!(code, 0, "{message:?}");
    let (leader, replicas, _) = eventually(&format!("{topic}-0 with its full ISR"), logs, || {
        partition_state(cluster.node(1), topic, 0)
            .filter(|(_, _, isr)| isr.len() == replication_factor as usize)
    });
    (leader, replicas)
}

#[test]
fn replicated_topics_survive_followers_dying_and_rejoining() {
    let mut cluster =
        Cluster::start_with("replication", 5, &["--replica-lag-time-max-ms", LAG_MAX_MS]);
    let logs = cluster.logs();
    cluster.agreed_controller(&logs);

    // More replicas than brokers is refused, with a reason.
    let (code, message) = create_topic_with(cluster.node(1), "too-many", 1, 6, &[]);
    assert_eq!(code, ResponseError::InvalidReplicationFactor.code());
    assert!(
        message
            .as_deref()
            .unwrap_or("")
            .contains("registered brokers (5)"),
        "{message:?}"
    );

    // The Java client creates an RF=3 topic, produces with acks=all (its default) and reads it all.
    let out = driver_command("java")
        .args(["--bootstrap", &cluster.bootstrap(), "--topic", "java-rf3"])
        .args(["--partitions", "3", "--records", "3000"])
        .args(["--replication-factor", "3"])
        .args(["--topic-config", "min.insync.replicas=2"])
        .output()
        .expect("run the Java client driver");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("java-rf3 3000 records"),
        "java client failed ({}):\n{stdout}\n{}\n(logs: {logs})",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    for p in 0..3 {
        let (leader, replicas, isr) = partition_state(cluster.node(1), "java-rf3", p).unwrap();
        assert_eq!(replicas.len(), 3, "java-rf3-{p}: {replicas:?}");
        assert_eq!(replicas[0], leader);
        let (isr, replicas): (BTreeSet<_>, BTreeSet<_>) =
            (isr.into_iter().collect(), replicas.into_iter().collect());
        assert_eq!(isr, replicas, "java-rf3-{p}: everyone in sync");
        replicas_converge(&cluster, "java-rf3", p);
    }

    // A raw RF=3 topic to control each step.
    let (leader, replicas) = replicated_partition(&cluster, "raw", 3, &logs);
    let followers: Vec<i32> = replicas.iter().copied().filter(|&r| r != leader).collect();
    let mut conn = cluster.node(leader).conn();
    let first = eventually("the leader takes acks=all writes", &logs, || {
        let (code, base) = produce(&mut conn, "raw", 0, -1, batch_of(0..10, 1_000));
        (code == 0).then_some(base)
    });
    assert_eq!(first, 0);

    // One follower dies: acks=all waits for it to leave the ISR, then succeeds with two replicas.
    cluster.node_mut(followers[0]).kill9();
    let (code, base) = produce(&mut conn, "raw", 0, -1, batch_of(10..20, 1_000));
    assert_eq!((code, base), (0, 10), "acks=all with one follower down");
    let two: BTreeSet<i32> = [leader, followers[1]].into();
    eventually("the dead follower leaves the ISR", &logs, || {
        (isr_seen_by(cluster.node(leader), "raw", 0)? == two).then_some(())
    });
    eventually(
        "the leader counts an under-replicated partition",
        &logs,
        || (under_replicated(cluster.node(leader))? >= 1).then_some(()),
    );

    // The second follower dies. Until it leaves the ISR the high watermark stays put: an acks=1
    // write is on the leader only, and consumers (fetch, ListOffsets) do not see it.
    cluster.node_mut(followers[1]).kill9();
    let (code, base) = produce(&mut conn, "raw", 0, 1, batch_of(20..25, 1_000));
    assert_eq!((code, base), (0, 20), "acks=1 needs only the leader");
    let f = fetch(&mut conn, "raw", 0, 0, 0);
    assert_eq!((f.error_code, f.high_watermark), (0, 20));
    let seen: Vec<i64> = decode_values(f.records).iter().map(|(o, _)| *o).collect();
    assert_eq!(
        seen,
        (0..20).collect::<Vec<i64>>(),
        "a consumer reads up to the HW only"
    );
    let past = fetch(&mut conn, "raw", 0, 20, 0);
    assert_eq!((past.error_code, past.records.len()), (0, 0));
    assert_eq!(list_offset(&mut conn, "raw", 0, -1), (0, 20));

    // Alone in the ISR, the leader refuses acks=all and appends nothing.
    let alone: BTreeSet<i32> = [leader].into();
    eventually("the second follower leaves the ISR", &logs, || {
        (isr_seen_by(cluster.node(leader), "raw", 0)? == alone).then_some(())
    });
    assert_eq!(list_offset(&mut conn, "raw", 0, -1), (0, 25));
    let (code, _) = produce(&mut conn, "raw", 0, -1, batch_of(25..30, 1_000));
    assert_eq!(code, ResponseError::NotEnoughReplicas.code());
    assert_eq!(
        list_offset(&mut conn, "raw", 0, -1),
        (0, 25),
        "nothing appended"
    );

    // Both come back, catch up, and rejoin the ISR; acks=all works again.
    for &f in &followers {
        cluster.node_mut(f).start_again();
    }
    let all: BTreeSet<i32> = replicas.iter().copied().collect();
    eventually("the restarted followers rejoin the ISR", &logs, || {
        (isr_seen_by(cluster.node(leader), "raw", 0)? == all).then_some(())
    });
    let (code, base) = produce(&mut conn, "raw", 0, -1, batch_of(25..30, 1_000));
    assert_eq!((code, base), (0, 25));
    replicas_converge(&cluster, "raw", 0);
    eventually(
        "nothing the leader leads is under-replicated",
        &logs,
        || (under_replicated(cluster.node(leader))? == 0).then_some(()),
    );
}

#[test]
fn a_returning_old_leader_truncates_its_divergent_tail() {
    let mut cluster = Cluster::start_proxied(
        "replication-truncation",
        &[
            "--broker-session-timeout-ms",
            "2000",
            "--replica-lag-time-max-ms",
            "10000",
        ],
    );
    let logs = cluster.logs();
    cluster.agreed_controller(&logs);
    let (old_leader, replicas) = replicated_partition(&cluster, "diverge", 3, &logs);
    let mut conn = cluster.node(old_leader).conn();
    eventually("the leader takes acks=all writes", &logs, || {
        let (code, base) = produce(&mut conn, "diverge", 0, -1, batch_of(0..10, 1_000));
        (code == 0).then_some(base)
    });

    // The followers reach the leader through its advertised (proxied) address: with that link cut
    // they fetch nothing, so an acks=1 write stays on the leader, above the high watermark.
    cluster.proxies[old_leader as usize - 1].cut();
    let (code, base) = produce(&mut conn, "diverge", 0, 1, batch_of(1000..1005, 1_000));
    assert_eq!((code, base), (0, 10), "acks=1 needs only the leader");
    cluster.node_mut(old_leader).kill9();
    cluster.proxies[old_leader as usize - 1].restore();

    // Fencing hands the partition to an in-sync follower, which takes acks=all writes at the same
    // offsets the dead leader used for its divergent tail.
    let survivor = replicas.iter().copied().find(|&r| r != old_leader).unwrap();
    let new_leader = eventually("a follower leads", &logs, || {
        let (leader, _, _) = partition_state(cluster.node(survivor), "diverge", 0)?;
        (leader > 0 && leader != old_leader).then_some(leader)
    });
    let mut conn = cluster.node(new_leader).conn();
    let base = eventually("the new leader takes acks=all writes", &logs, || {
        let (code, base) = produce(&mut conn, "diverge", 0, -1, batch_of(10..20, 1_000));
        (code == 0).then_some(base)
    });
    assert_eq!(base, 10);
    // KIP-320: a fetch made at the dead leader's epoch is fenced, one from an epoch not yet seen
    // is refused as unknown; the current one (or none) reads.
    let error_at =
        |conn: &mut Conn, epoch| fetch_at_epoch(conn, "diverge", 0, 0, 0, epoch).error_code;
    assert_eq!(
        error_at(&mut conn, 0),
        ResponseError::FencedLeaderEpoch.code()
    );
    assert_eq!(
        error_at(&mut conn, 1_000),
        ResponseError::UnknownLeaderEpoch.code()
    );
    assert_eq!(error_at(&mut conn, -1), 0);

    // Back as a follower, the old leader cuts its tail to the new leader's log, fetches, rejoins.
    cluster.node_mut(old_leader).start_again();
    let all: BTreeSet<i32> = replicas.iter().copied().collect();
    eventually("the old leader rejoins the ISR", &logs, || {
        (isr_seen_by(cluster.node(survivor), "diverge", 0)? == all).then_some(())
    });
    let said = cluster.node(old_leader).log_text();
    assert!(
        said.contains("divergent tail removed") && said.contains("from=15 to=10"),
        "the old leader's log tells of its truncation (logs: {logs})"
    );
    replicas_converge(&cluster, "diverge", 0);
    // Read from whichever replica leads now (preferred election may hand it back to the old one).
    let read = eventually("the partition reads to offset 20", &logs, || {
        let (leader, _, _) = partition_state(cluster.node(survivor), "diverge", 0)?;
        let f = fetch(&mut cluster.node(leader).conn(), "diverge", 0, 0, 0);
        (f.error_code == 0 && f.high_watermark == 20).then(|| decode_values(f.records))
    });
    let values: Vec<String> = read.into_iter().map(|(_, v)| v).collect();
    let acknowledged: Vec<String> = (0..20).map(|n| format!("value-{n}")).collect();
    assert_eq!(
        values, acknowledged,
        "every acks=all record, nothing of the lost tail"
    );
}

/// The real clients whose drivers produce through the leader changes, with their extra arguments:
/// librdkafka is not idempotent by default, and without idempotence a retried batch may be written
/// twice (Kafka's contract too); Java and franz-go are idempotent by default.
const FOLLOWERS: [(&str, &[&str]); 3] = [
    ("java", &[]),
    ("python", &["--property", "enable.idempotence=true"]),
    ("go", &[]),
];
const FOLLOW_PARTITIONS: usize = 3;

/// Records `topic`'s partitions hold below their high watermarks, asked of each partition's leader.
fn records_in(cluster: &Cluster, topic: &str, leaders: &[i32]) -> i64 {
    (0..FOLLOW_PARTITIONS)
        .map(|p| list_offset(&mut cluster.node(leaders[p]).conn(), topic, p as i32, -1).1)
        .sum()
}

/// A client driver producing in the background; its stdout and stderr go to one file (a pipe nobody
/// reads while it runs could fill and block the client).
struct Driver {
    topic: String,
    child: Child,
    output: PathBuf,
}

impl Driver {
    fn output(&self) -> String {
        std::fs::read_to_string(&self.output).unwrap_or_default()
    }

    /// Panics, with its output, if the driver has ended before `step`.
    fn assert_running(&mut self, step: &str) {
        if let Some(status) = self.child.try_wait().expect("poll a client driver") {
            panic!(
                "{}: the driver ended ({status}) before {step}:\n{}",
                self.topic,
                self.output()
            );
        }
    }
}

#[test]
fn clients_follow_leader_changes_without_errors() {
    // Preferred leaders are restored within seconds of the old leader's return (300 s by default).
    let mut cluster = Cluster::start_with(
        "follow",
        3,
        &["--leader-imbalance-check-interval-seconds", "1"],
    );
    let logs = cluster.logs();
    cluster.agreed_controller(&logs);

    // Every client writes 6000 acks=all records at 200 a second (30 s) to its own RF=3 topic.
    let dir = temp_dir("follow-drivers");
    let mut clients: Vec<Driver> = FOLLOWERS
        .iter()
        .map(|(client, extra)| {
            let topic = format!("follow-{client}");
            let output = dir.join(format!("{client}.log"));
            let file = File::create(&output).unwrap();
            let child = driver_command(client)
                .args(["--bootstrap", &cluster.bootstrap(), "--topic", &topic])
                .args(["--partitions", &FOLLOW_PARTITIONS.to_string()])
                .args(["--records", "6000", "--compression", "lz4"])
                .args(["--replication-factor", "3", "--records-per-second", "200"])
                .args(["--topic-config", "min.insync.replicas=2"])
                .args(*extra)
                .stdout(file.try_clone().unwrap())
                .stderr(file)
                .spawn()
                .expect("start a client driver");
            Driver {
                topic,
                child,
                output,
            }
        })
        .collect();

    // Once every client has records acknowledged, the node leading partition 0 of the first topic
    // dies. Each topic's leaders are spread over the three nodes, so it leads a partition of each.
    let preferred: Vec<Vec<i32>> = clients
        .iter_mut()
        .map(|driver| {
            let leaders = eventually("the client's topic and its leaders", &logs, || {
                driver.assert_running("its topic had leaders");
                leaders_seen_by(cluster.node(1), &driver.topic, FOLLOW_PARTITIONS)
            });
            eventually("the client's first acknowledged records", &logs, || {
                (records_in(&cluster, &driver.topic, &leaders) > 0).then_some(())
            });
            leaders
        })
        .collect();
    let victim = preferred[0][0];
    for leaders in &preferred {
        assert!(leaders.contains(&victim), "leaders {leaders:?} spread");
    }
    for driver in clients.iter_mut() {
        driver.assert_running("the leader's death");
    }
    cluster.node_mut(victim).kill9();
    let survivor = if victim == 1 { 2 } else { 1 };
    for driver in &clients {
        eventually("new leaders for the dead node's partitions", &logs, || {
            let leaders =
                leaders_seen_by(cluster.node(survivor), &driver.topic, FOLLOW_PARTITIONS)?;
            leaders.iter().all(|&l| l > 0 && l != victim).then_some(())
        });
    }

    // It returns, catches up and takes its preferred leaderships back: a second leader change.
    cluster.node_mut(victim).start_again();
    for (driver, leaders) in clients.iter().zip(&preferred) {
        eventually("the preferred leaders back", &logs, || {
            (leaders_seen_by(cluster.node(survivor), &driver.topic, FOLLOW_PARTITIONS)? == *leaders)
                .then_some(())
        });
    }
    for driver in clients.iter_mut() {
        driver.assert_running("the preferred leaders' return");
    }

    // Every driver got every record acknowledged without an error and read them all back in order.
    for mut driver in clients {
        let status = driver.child.wait().expect("wait for a client driver");
        let output = driver.output();
        let topic = &driver.topic;
        assert!(
            status.success() && output.contains(&format!("{topic} 6000 records")),
            "{topic} failed ({status}):\n{output}\n(logs: {logs})"
        );
        let ok = output
            .lines()
            .find(|l| l.starts_with("OK "))
            .unwrap_or_default();
        println!("{ok} (through two leader changes)");
    }
}

#[test]
fn a_new_replica_of_a_trimmed_log_starts_at_the_leaders_log_start() {
    let mut cluster = Cluster::start("trimmed");
    let logs = cluster.logs();
    cluster.agreed_controller(&logs);
    let (leader, replicas) = replicated_partition(&cluster, "trimmed", 2, &logs);
    let newcomer = (1..=3).find(|n| !replicas.contains(n)).unwrap();
    let follower = replicas.iter().copied().find(|&r| r != leader).unwrap();
    let mut conn = cluster.node(leader).conn();
    for i in 0..3 {
        let (code, _) = produce(
            &mut conn,
            "trimmed",
            0,
            -1,
            batch_of(i * 10..i * 10 + 10, 1_000),
        );
        assert_eq!(code, 0);
    }
    // The leader's log now starts at 20: offsets below are gone from it, as after retention.
    assert_eq!(
        common::api::delete_records(&mut conn, "trimmed", 0, 20),
        (0, 20)
    );

    // A replica on the third node replaces the leader's: it has nothing, and what it would fetch
    // first (offset 0) the leader no longer has, so it must start at 20 — or never catch up.
    let target = format!("trimmed:0={newcomer},{follower}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_shardlog"))
        .args([
            "reassign",
            "start",
            &target,
            "--wait",
            "--wait-timeout",
            "60",
        ])
        .args(["--brokers", &cluster.bootstrap()])
        .output()
        .expect("run shardlog reassign");
    assert!(
        out.status.success(),
        "reassign: {}\n{}\n(logs: {logs})",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eventually("the new replica leads", &logs, || {
        let (l, _, _) = partition_state(cluster.node(newcomer), "trimmed", 0)?;
        (l == newcomer).then_some(())
    });
    let mut conn = cluster.node(newcomer).conn();
    assert_eq!(list_offset(&mut conn, "trimmed", 0, -2), (0, 20));
    let read: Vec<i64> = fetch_all(&mut conn, "trimmed", 0, 20)
        .iter()
        .map(|(o, _)| *o)
        .collect();
    assert_eq!(read, (20..30).collect::<Vec<i64>>());
    assert!(
        cluster
            .node(newcomer)
            .log_text()
            .contains("log restarted empty at the leader's log start"),
        "the newcomer's log tells of its restart (logs: {logs})"
    );

    // The other replica followed the log start too: the deleted records stay deleted when it
    // takes over from a dead leader.
    cluster.node_mut(newcomer).kill9();
    eventually("the other replica leads", &logs, || {
        let (l, _, _) = partition_state(cluster.node(follower), "trimmed", 0)?;
        (l == follower).then_some(())
    });
    let mut conn = cluster.node(follower).conn();
    assert_eq!(list_offset(&mut conn, "trimmed", 0, -2), (0, 20));
    assert_eq!(list_offset(&mut conn, "trimmed", 0, -1), (0, 30));
}
