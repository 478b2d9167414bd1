//! Three real broker processes forming a metadata quorum (`controller.quorum.voters`), each a broker
//! and a controller on its own free ports and data directory: leader election, broker registration,
//! partition leaders spread over the nodes, NOT_LEADER_OR_FOLLOWER from a node that does not lead a
//! partition, the Java client producing and consuming across all of them, failover of the Raft
//! leader, catch-up of a restarted node from a snapshot, and a lone node that cannot commit.

mod common;

use common::api::{produce, topic_name};
use common::cluster::{
    controller_seen_by, create_topic, eventually, leaders_seen_by, metadata, Cluster,
};
use common::{batch_of, repo_root, Broker, Conn};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::*;
use kafka_protocol::ResponseError;
use std::collections::BTreeSet;
use std::process::Command;

fn list_offsets_code(node: &Broker, topic: &str, partition: i32) -> i16 {
    let mut p = ListOffsetsPartition::default();
    p.partition_index = partition;
    p.timestamp = -1;
    let mut t = ListOffsetsTopic::default();
    t.name = topic_name(topic);
    t.partitions = vec![p];
    let mut req = ListOffsetsRequest::default();
    req.replica_id = BrokerId(-1);
    req.topics = vec![t];
    let resp: ListOffsetsResponse =
        Conn::connect(&node.addr()).request(ApiKey::ListOffsets, 6, &req);
    resp.topics[0].partitions[0].error_code
}

#[test]
fn leaders_spread_over_the_quorum_and_clients_follow_them() {
    let cluster = Cluster::start("cluster-spread");
    let logs = cluster.logs();
    let controller = eventually("a controller and 3 registered brokers", &logs, || {
        let seen: BTreeSet<i32> = cluster
            .nodes
            .iter()
            .map(|n| controller_seen_by(n, 3))
            .collect::<Option<_>>()?;
        (seen.len() == 1).then(|| *seen.iter().next().unwrap())
    });
    assert!((1..=3).contains(&controller));
    let cluster_ids: BTreeSet<String> = cluster
        .nodes
        .iter()
        .map(|n| {
            metadata(n, Some(&[]))
                .unwrap()
                .cluster_id
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(cluster_ids.len(), 1, "one cluster id: {cluster_ids:?}");

    // Created through node 1, visible with the same leaders from every node.
    assert_eq!(create_topic(cluster.node(1), "spread", 6), 0);
    let leaders = eventually("topic 'spread' on node 1", &logs, || {
        leaders_seen_by(cluster.node(1), "spread", 6)
    });
    for node in &cluster.nodes[1..] {
        let seen = eventually("topic 'spread' on every node", &logs, || {
            leaders_seen_by(node, "spread", 6)
        });
        assert_eq!(seen, leaders);
    }
    let distinct: BTreeSet<i32> = leaders.iter().copied().collect();
    assert_eq!(distinct, BTreeSet::from([1, 2, 3]), "leaders {leaders:?}");

    // A node answers NOT_LEADER_OR_FOLLOWER for a partition it does not lead; the leader takes it.
    let (partition, leader) = (0, leaders[0]);
    let other = (1..=3).find(|&n| n != leader).unwrap();
    let not_leader = ResponseError::NotLeaderOrFollower.code();
    let mut to_other = Conn::connect(&cluster.node(other).addr());
    let (code, _) = produce(&mut to_other, "spread", partition, 1, batch_of(0..3, 1_000));
    assert_eq!(code, not_leader, "produce to a non-leader");
    assert_eq!(
        list_offsets_code(cluster.node(other), "spread", partition),
        not_leader
    );
    let mut to_leader = Conn::connect(&cluster.node(leader).addr());
    let (code, base) = produce(
        &mut to_leader,
        "spread",
        partition,
        1,
        batch_of(0..3, 1_000),
    );
    assert_eq!((code, base), (0, 0), "produce to the leader");
    assert_eq!(
        list_offsets_code(cluster.node(leader), "spread", partition),
        0
    );

    // Only the leader has a log directory for the partition.
    for node in &cluster.nodes {
        let has = node.data_dir.join("spread-0").exists();
        assert_eq!(
            has,
            node.port == cluster.node(leader).port,
            "{}",
            node.data_dir.display()
        );
    }

    // The Java client, bootstrapped with all three, creates a topic and produces to and consumes from
    // every partition, wherever its leader is.
    let out = Command::new("bash")
        .arg(repo_root().join("tests/clients/java/run.sh"))
        .args([
            "--bootstrap",
            &cluster.bootstrap(),
            "--topic",
            "java-cluster",
        ])
        .args(["--partitions", "6", "--records", "20000"])
        .output()
        .expect("run the Java client driver");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("java-cluster 20000 records"),
        "java client failed ({}):\n{stdout}\n{}\n(logs: {logs})",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let leaders = leaders_seen_by(cluster.node(2), "java-cluster", 6).unwrap();
    assert_eq!(leaders.iter().copied().collect::<BTreeSet<_>>().len(), 3);
}

#[test]
fn a_killed_leader_is_replaced_and_catches_up_and_a_lone_node_cannot_commit() {
    let mut cluster = Cluster::start("cluster-failover");
    let logs = cluster.logs();
    let first = eventually("a controller and 3 registered brokers", &logs, || {
        controller_seen_by(cluster.node(1), 3)
    });
    cluster.nodes[first as usize - 1].kill9();
    let survivors: Vec<i32> = (1..=3).filter(|&n| n != first).collect();
    let second = eventually("a new controller among the survivors", &logs, || {
        let seen: BTreeSet<i32> = survivors
            .iter()
            .map(|&n| controller_seen_by(cluster.node(n), 3).filter(|&c| c != first))
            .collect::<Option<_>>()?;
        (seen.len() == 1).then(|| *seen.iter().next().unwrap())
    });
    assert!(survivors.contains(&second));

    // Topics can be created through either survivor, the new controller or not.
    for &n in &survivors {
        let name = format!("after-{n}");
        assert_eq!(
            create_topic(cluster.node(n), &name, 2),
            0,
            "create via node {n}"
        );
    }

    // Enough further changes that the leader compacts its Raft log into a snapshot: the killed node's
    // log now ends before the leader's, so it can only catch up from that snapshot.
    for i in 0..70 {
        let via = cluster.node(survivors[i % 2]);
        assert_eq!(create_topic(via, &format!("bulk-{i}"), 1), 0, "bulk-{i}");
    }

    // The killed node comes back and learns what it missed.
    cluster.nodes[first as usize - 1].start_again();
    let expected: Vec<(String, usize)> = survivors
        .iter()
        .map(|n| (format!("after-{n}"), 2))
        .chain([("bulk-69".to_string(), 1)])
        .collect();
    for (name, partitions) in &expected {
        eventually(
            "the restarted node sees topics created while it was down",
            &logs,
            || leaders_seen_by(cluster.node(first), name, *partitions),
        );
    }
    let log = std::fs::read_to_string(cluster.node(first).log_path()).unwrap();
    assert!(
        log.contains("installed a metadata snapshot from the leader"),
        "the restarted node should have caught up from a snapshot (log: {})",
        cluster.node(first).log_path().display()
    );

    // Alone, a node cannot commit: CreateTopics fails (no leader, or no majority) instead of hanging.
    for &n in &survivors {
        cluster.nodes[n as usize - 1].kill9();
    }
    let code = create_topic(cluster.node(first), "lonely", 1);
    let expected = [
        ResponseError::NotController.code(),
        ResponseError::RequestTimedOut.code(),
    ];
    assert!(expected.contains(&code), "a lone node answered {code}");
    let m = metadata(cluster.node(first), Some(&["lonely"])).unwrap();
    assert_eq!(
        m.topics[0].error_code,
        ResponseError::UnknownTopicOrPartition.code()
    );
}
