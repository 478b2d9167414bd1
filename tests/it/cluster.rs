//! Three real broker processes forming a metadata quorum (`controller.quorum.voters`), each a broker
//! and a controller on its own free ports and data directory: leader election, broker registration,
//! partition leaders spread over the nodes, NOT_LEADER_OR_FOLLOWER from a node that does not lead a
//! partition, the Java client producing and consuming across all of them, failover of the Raft
//! leader, catch-up of a restarted node from a snapshot, a lone node that cannot commit, fencing of a
//! dead broker, and the no-loss checker: an idempotent acks=all producer writing to a topic with
//! replication factor 3 and min.insync.replicas=2 through kill -9, SIGSTOP and cut links.

use crate::common;

use common::ack_checker::AckChecker;
use common::api::{fetch_all, list_offset, produce};
use common::cluster::{
    create_topic, create_topic_with, eventually, leaders_seen_by, metadata, partitions_seen_by,
    Cluster,
};
use common::{batch_of, kafka_tool, repo_root, temp_dir, Broker, Conn};
use kafka_protocol::ResponseError;
use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn list_offsets_code(node: &Broker, topic: &str, partition: i32) -> i16 {
    list_offset(&mut node.conn(), topic, partition, -1).0
}

#[test]
fn leaders_spread_over_the_quorum_and_clients_follow_them() {
    let cluster = Cluster::start("cluster-spread");
    let logs = cluster.logs();
    let controller = cluster.agreed_controller(&logs);
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
    let first = cluster.agreed_controller(&logs);
    cluster.nodes[first as usize - 1].kill9();
    let survivors: Vec<i32> = (1..=3).filter(|&n| n != first).collect();
    let second = eventually("a new controller among the survivors", &logs, || {
        let seen: BTreeSet<i32> = survivors
            .iter()
            .map(|&n| {
                let m = metadata(cluster.node(n), Some(&[]))?;
                (m.controller_id.0 > 0 && m.controller_id.0 != first).then_some(m.controller_id.0)
            })
            .collect::<Option<_>>()?;
        (seen.len() == 1).then(|| *seen.iter().next().unwrap())
    });
    assert!(survivors.contains(&second));
    // The new controller never heard from the dead one: it fences it after a session timeout.
    eventually("the dead controller fenced", &logs, || {
        let m = metadata(cluster.node(second), Some(&[]))?;
        let brokers: BTreeSet<i32> = m.brokers.iter().map(|b| b.node_id.0).collect();
        (brokers == survivors.iter().copied().collect()).then_some(())
    });

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

#[test]
fn a_dead_broker_is_fenced_and_its_partitions_come_back_with_it() {
    let mut cluster = Cluster::start_with(
        "cluster-fencing",
        3,
        &["--broker-session-timeout-ms", "2000"],
    );
    let logs = cluster.logs();
    let controller = cluster.agreed_controller(&logs);
    assert_eq!(create_topic(cluster.node(1), "fenced", 6), 0);
    let leaders = eventually("topic 'fenced' everywhere", &logs, || {
        let seen: BTreeSet<Vec<i32>> = cluster
            .nodes
            .iter()
            .map(|n| leaders_seen_by(n, "fenced", 6))
            .collect::<Option<_>>()?;
        (seen.len() == 1).then(|| seen.into_iter().next().unwrap())
    });
    // A node that is not the controller dies: the controller notices its silence.
    let victim = (1..=3).find(|&n| n != controller).unwrap();
    let victims: Vec<usize> = (0..6).filter(|&p| leaders[p] == victim).collect();
    assert!(!victims.is_empty(), "leaders {leaders:?}");
    let mut to_victim = Conn::connect(&cluster.node(victim).addr());
    let (code, _) = produce(
        &mut to_victim,
        "fenced",
        victims[0] as i32,
        1,
        batch_of(0..3, 1_000),
    );
    assert_eq!(code, 0);

    cluster.nodes[victim as usize - 1].kill9();
    let killed = Instant::now();
    let leader_not_available = ResponseError::LeaderNotAvailable.code();
    eventually("the dead broker fenced", &logs, || {
        let (parts, brokers) = partitions_seen_by(cluster.node(controller), "fenced")?;
        let offline = victims
            .iter()
            .all(|&p| parts[p] == (-1, leader_not_available));
        (offline && !brokers.contains(&victim)).then_some(())
    });
    println!(
        "broker {victim} fenced {:?} after kill -9",
        killed.elapsed()
    );
    let (parts, _) = partitions_seen_by(cluster.node(controller), "fenced").unwrap();
    for (p, &(leader, code)) in parts.iter().enumerate() {
        if !victims.contains(&p) {
            assert_eq!(
                (leader, code),
                (leaders[p], 0),
                "partition {p} kept its leader"
            );
        }
    }

    // Back, it is unfenced and leads its partitions again, with the records it had.
    cluster.nodes[victim as usize - 1].start_again();
    eventually("the returning broker leads again", &logs, || {
        let (parts, brokers) = partitions_seen_by(cluster.node(controller), "fenced")?;
        let back = victims.iter().all(|&p| parts[p] == (victim, 0));
        (back && brokers.contains(&victim)).then_some(())
    });
    let m = metadata(cluster.node(controller), Some(&["fenced"])).unwrap();
    let p = &m.topics[0].partitions[victims[0]];
    assert!(p.leader_epoch >= 2, "fenced and back: two new epochs");
    eventually("the returning broker serves", &logs, || {
        (list_offsets_code(cluster.node(victim), "fenced", victims[0] as i32) == 0).then_some(())
    });
    let mut to_victim = Conn::connect(&cluster.node(victim).addr());
    let records = fetch_all(&mut to_victim, "fenced", victims[0] as i32, 0);
    assert_eq!(records.len(), 3, "{records:?}");
}

#[test]
fn a_dead_leader_fails_over_to_an_in_sync_follower() {
    let mut cluster = Cluster::start("cluster-failover-rf3");
    let logs = cluster.logs();
    cluster.agreed_controller(&logs);
    let (code, message) = create_topic_with(
        cluster.node(1),
        "rf3",
        1,
        3,
        &[("min.insync.replicas", "2")],
    );
    assert_eq!(code, 0, "{message:?}");
    let old_leader = eventually("an in-sync RF=3 partition", &logs, || {
        let m = metadata(cluster.node(1), Some(&["rf3"]))?;
        let p = m.topics.first()?.partitions.first()?;
        (p.error_code == 0 && p.isr_nodes.len() == 3).then_some(p.leader_id.0)
    });
    let mut conn = Conn::connect(&cluster.node(old_leader).addr());
    for i in 0..10u64 {
        let (code, base) = produce(
            &mut conn,
            "rf3",
            0,
            -1,
            batch_of(i * 10..i * 10 + 10, 1_000),
        );
        assert_eq!(
            (code, base),
            (0, i as i64 * 10),
            "acks=all before the failure"
        );
    }

    // The leader dies; the first acks=all write any survivor accepts marks the end of the failover.
    cluster.nodes[old_leader as usize - 1].kill9();
    let died = Instant::now();
    let survivors: Vec<i32> = (1..=3).filter(|&n| n != old_leader).collect();
    let new_leader = eventually(
        "an acks=all write accepted after the leader died",
        &logs,
        || {
            survivors.iter().copied().find(|&n| {
                let mut conn = Conn::connect(&cluster.node(n).addr());
                produce(&mut conn, "rf3", 0, -1, batch_of(100..110, 1_000)) == (0, 100)
            })
        },
    );
    println!(
        "failover: leader {old_leader} killed, first acks=all write on node {new_leader} after {:?}",
        died.elapsed()
    );

    // Every record acknowledged before and after is on the new leader, in order.
    let mut conn = Conn::connect(&cluster.node(new_leader).addr());
    let records = fetch_all(&mut conn, "rf3", 0, 0);
    let offsets: Vec<i64> = records.iter().map(|(o, _)| *o).collect();
    assert_eq!(offsets, (0..110).collect::<Vec<_>>());
}

/// Runs `shardlog` with `args` against `bootstrap`; returns (success, stdout, stderr).
fn shardlog_cli(bootstrap: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_shardlog"))
        .args(args)
        .args(["--brokers", bootstrap])
        .output()
        .expect("run the shardlog CLI");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn a_fourth_node_joins_and_takes_partitions_by_reassignment_under_load() {
    let mut cluster = Cluster::start("cluster-reassign");
    cluster.agreed_controller(&cluster.logs());
    const PARTITIONS: i32 = 3;
    let (code, message) = create_topic_with(
        cluster.node(1),
        "moving",
        PARTITIONS,
        3,
        &[("min.insync.replicas", "2")],
    );
    assert_eq!(code, 0, "{message:?}");
    let fourth = cluster.add_broker_only();
    let logs = cluster.logs();
    cluster.agreed_controller(&logs);

    // An idempotent acks=all producer keeps writing while the partitions move.
    let checker = AckChecker::start(
        "cluster-reassign-checker",
        &cluster.bootstrap(),
        "moving",
        PARTITIONS as usize,
    );
    let dir = temp_dir("cluster-reassign");
    // A franz-go consumer-group member reads along (its event stream goes to a file: it is long).
    let consumed_file = dir.join("consumer.jsonl");
    let mut consumer = Command::new("bash")
        .arg(repo_root().join("tests/clients/go/group-member.sh"))
        .args(["--bootstrap", &cluster.bootstrap(), "--topic", "moving"])
        .args(["--group", "movers"])
        .stdout(std::fs::File::create(&consumed_file).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the franz-go group member");
    std::thread::sleep(Duration::from_secs(3));

    // Each partition swaps its leader's replica for one on the new node: data must be copied to it
    // before the old replica may leave, and leadership must move. Partition 1 moves with Kafka's own
    // kafka-reassign-partitions tool and a plan file, 0 and 2 with `shardlog reassign start --wait`.
    let m = metadata(cluster.node(1), Some(&["moving"])).unwrap();
    let targets: Vec<(i32, Vec<i32>)> = (0..PARTITIONS as usize)
        .map(|p| {
            let part = &m.topics[0].partitions[p];
            let leader = part.leader_id.0;
            let mut target: Vec<i32> = part.replica_nodes.iter().map(|b| b.0).collect();
            target.retain(|&r| r != leader);
            target.insert(0, fourth);
            (leader, target)
        })
        .collect();
    let ids = |t: &[i32]| t.iter().map(i32::to_string).collect::<Vec<_>>().join(",");
    let plan = dir.join("plan.json");
    std::fs::write(
        &plan,
        format!(
            r#"{{"version":1,"partitions":[{{"topic":"moving","partition":1,"replicas":[{}]}}]}}"#,
            ids(&targets[1].1)
        ),
    )
    .unwrap();
    let tool = "reassign.ReassignPartitionsCommand";
    let plan_arg = ["--reassignment-json-file", plan.to_str().unwrap()];
    let (ok, stdout, stderr) = kafka_tool(
        &cluster.bootstrap(),
        tool,
        &[&plan_arg[..], &["--execute"]].concat(),
    );
    assert!(
        ok && stdout.contains("Successfully started partition reassignment"),
        "kafka-reassign-partitions --execute:\n{stdout}\n{stderr}\n(logs: {logs})"
    );
    let moves = [0, 2].map(|p| format!("moving:{p}={}", ids(&targets[p].1)));
    let (ok, stdout, stderr) = shardlog_cli(
        &cluster.bootstrap(),
        &["reassign", "start", &moves[0], &moves[1], "--wait"],
    );
    assert!(
        ok && stdout.contains("all moves completed"),
        "shardlog reassign start --wait:\n{stdout}\n{stderr}\n(logs: {logs})"
    );
    eventually(
        "kafka-reassign-partitions --verify: completed",
        &logs,
        || {
            let (ok, stdout, _) = kafka_tool(
                &cluster.bootstrap(),
                tool,
                &[&plan_arg[..], &["--verify"]].concat(),
            );
            (ok && stdout.contains("Reassignment of partition moving-1 is completed")).then_some(())
        },
    );
    eventually(
        "every partition on its new replicas, all in sync",
        &logs,
        || {
            let m = metadata(cluster.node(1), Some(&["moving"]))?;
            targets
                .iter()
                .enumerate()
                .all(|(p, (_, target))| {
                    let part = &m.topics[0].partitions[p];
                    let replicas: Vec<i32> = part.replica_nodes.iter().map(|b| b.0).collect();
                    let isr: BTreeSet<i32> = part.isr_nodes.iter().map(|b| b.0).collect();
                    &replicas == target && isr == target.iter().copied().collect()
                })
                .then_some(())
        },
    );
    let (ok, stdout, _) = shardlog_cli(
        &cluster.bootstrap(),
        &["reassign", "list", "--format", "json"],
    );
    assert!(
        ok && stdout.trim() == "[]",
        "nothing left in progress: {stdout}"
    );
    // Cancelling a move that is over is refused with the broker's reason (exit 5).
    let (ok, _, stderr) = shardlog_cli(&cluster.bootstrap(), &["reassign", "cancel", "moving:0"]);
    assert!(
        !ok && stderr.contains("NoReassignmentInProgress"),
        "cancel of a finished move: {stderr}"
    );
    for (p, (old_leader, _)) in targets.iter().enumerate() {
        let gone = cluster
            .node(*old_leader)
            .data_dir
            .join(format!("moving-{p}"));
        eventually("the moved-away replica deleted", &logs, || {
            (!gone.exists()).then_some(())
        });
        assert!(cluster
            .node(fourth)
            .data_dir
            .join(format!("moving-{p}"))
            .exists());
    }

    std::thread::sleep(Duration::from_secs(2));
    let summary = checker.finish(&logs);
    // The consumer, which kept running through the moves, reads every offset of every partition
    // up to its end, from the new leaders.
    let leaders = leaders_seen_by(cluster.node(1), "moving", PARTITIONS as usize).unwrap();
    let ends: Vec<i64> = (0..PARTITIONS)
        .map(|p| {
            let (code, end) = list_offset(
                &mut cluster.node(leaders[p as usize]).conn(),
                "moving",
                p,
                -1,
            );
            assert_eq!(code, 0, "moving-{p}: ListOffsets at its leader");
            end
        })
        .collect();
    eventually(
        "the consumer read every partition to its end",
        &logs,
        || {
            let text = std::fs::read_to_string(&consumed_file).unwrap();
            let (offsets, errors) = consumed_offsets(&text);
            assert!(
                errors.is_empty(),
                "the consumer reported errors: {errors:?}"
            );
            (0..PARTITIONS as usize)
                .all(|p| {
                    offsets[p].len() as i64 == ends[p] && offsets[p].last() == Some(&(ends[p] - 1))
                })
                .then_some(())
        },
    );
    consumer.kill().ok();
    consumer.wait().ok();
    println!(
        "reassigned {PARTITIONS} partitions onto node {fourth}; {summary}; consumer read {ends:?}"
    );
}

/// The distinct offsets per partition (of 3) that a group member's event stream (JSON lines, see
/// tests/clients/go/groupmember) says it consumed, and its error events.
fn consumed_offsets(events: &str) -> (Vec<BTreeSet<i64>>, Vec<String>) {
    let mut offsets = vec![BTreeSet::new(); 3];
    let mut errors = Vec::new();
    for line in events.lines() {
        let Ok(e) = serde_json::from_str::<serde_json::Value>(line) else {
            continue; // a line being written right now
        };
        match e["event"].as_str() {
            Some("records") => {
                for r in e["records"].as_array().into_iter().flatten() {
                    let (p, o) = (r[0].as_u64().unwrap() as usize, r[1].as_i64().unwrap());
                    offsets[p].insert(o);
                }
            }
            Some("error") => errors.push(line.to_string()),
            _ => {}
        }
    }
    (offsets, errors)
}

/// Faults injected in CI; `SHARDLOG_FAULTS=100 cargo test --release --test it cluster::acknowledged`
/// runs the long version by hand.
fn fault_count() -> usize {
    std::env::var("SHARDLOG_FAULTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
}

#[derive(Clone, Copy, Debug)]
enum Fault {
    /// kill -9 the node, leave it down a moment, start it again on the same data.
    Kill,
    /// SIGSTOP for longer than the session timeout, then SIGCONT.
    Pause,
    /// Sever every client connection to the node and refuse new ones for a while.
    CutLink,
}

#[test]
fn acknowledged_records_survive_kills_pauses_and_cut_links() {
    let _heavy = common::heavy_test();
    let mut cluster =
        Cluster::start_proxied("cluster-faults", &["--broker-session-timeout-ms", "1500"]);
    let logs = cluster.logs();
    cluster.agreed_controller(&logs);
    const PARTITIONS: usize = 6;
    let (code, message) = create_topic_with(
        cluster.node(1),
        "faults",
        PARTITIONS as i32,
        3,
        &[("min.insync.replicas", "2")],
    );
    assert_eq!(code, 0, "{message:?}");
    // Each fault starts from a whole cluster: every replica back in sync, so a kill never finds a
    // partition whose only in-sync replica is the victim.
    let healthy = |cluster: &Cluster| {
        eventually(
            "every node up and every partition led and fully in sync",
            &logs,
            || {
                cluster
                    .nodes
                    .iter()
                    .all(|n| {
                        metadata(n, Some(&["faults"])).is_some_and(|m| {
                            m.brokers.len() == 3
                                && m.topics.first().is_some_and(|t| {
                                    t.partitions.len() == PARTITIONS
                                        && t.partitions
                                            .iter()
                                            .all(|p| p.error_code == 0 && p.isr_nodes.len() == 3)
                                })
                        })
                    })
                    .then_some(())
            },
        )
    };
    healthy(&cluster);

    let checker = AckChecker::start(
        "cluster-faults-checker",
        &cluster.bootstrap(),
        "faults",
        PARTITIONS,
    );
    std::thread::sleep(Duration::from_secs(3));

    let faults = fault_count();
    let kinds = [Fault::Kill, Fault::Pause, Fault::CutLink];
    for i in 0..faults {
        let fault = kinds[i % kinds.len()];
        // The node leading a partition the checker writes to, so every fault hits live traffic; the
        // partition shifts every round so each node meets every kind of fault.
        let (parts, _) = partitions_seen_by(cluster.node(1), "faults").unwrap();
        let node = parts[(i + i / kinds.len()) % PARTITIONS].0;
        let at = node as usize - 1;
        match fault {
            Fault::Kill => {
                cluster.nodes[at].kill9();
                std::thread::sleep(Duration::from_millis(1500));
                cluster.nodes[at].start_again();
            }
            Fault::Pause => {
                cluster.nodes[at].pause();
                std::thread::sleep(Duration::from_millis(2500));
                cluster.nodes[at].resume();
            }
            Fault::CutLink => {
                cluster.proxies[at].cut();
                std::thread::sleep(Duration::from_millis(2000));
                cluster.proxies[at].restore();
            }
        }
        println!("fault {}: {fault:?} on node {node}", i + 1);
        healthy(&cluster);
    }

    let summary = checker.finish(&logs);
    println!("{faults} faults injected; {summary}");
}

#[test]
fn a_broker_only_node_joins_as_a_learner_and_takes_partitions() {
    let mut cluster = Cluster::start("cluster-learner");
    cluster.agreed_controller(&cluster.logs());
    let learner = cluster.add_broker_only();
    let logs = cluster.logs();
    let controller = cluster.agreed_controller(&logs);
    assert_ne!(controller, learner, "a learner never leads the quorum");

    // Created through the learner (its proposal goes to the leader), placed on all four nodes.
    assert_eq!(create_topic(cluster.node(learner), "wide", 8), 0);
    let leaders = eventually("topic 'wide' on every node", &logs, || {
        let seen: BTreeSet<Vec<i32>> = cluster
            .nodes
            .iter()
            .map(|n| leaders_seen_by(n, "wide", 8))
            .collect::<Option<_>>()?;
        (seen.len() == 1).then(|| seen.into_iter().next().unwrap())
    });
    assert_eq!(
        leaders.iter().copied().collect::<BTreeSet<_>>(),
        BTreeSet::from([1, 2, 3, 4]),
        "leaders {leaders:?}"
    );
    let led = leaders.iter().position(|&l| l == learner).unwrap() as i32;
    let mut conn = Conn::connect(&cluster.node(learner).addr());
    let (code, base) = produce(&mut conn, "wide", led, 1, batch_of(0..5, 1_000));
    assert_eq!((code, base), (0, 0));

    // Down, it is fenced; back, it learns what it missed and leads again, records intact.
    cluster.nodes[learner as usize - 1].kill9();
    eventually("the learner fenced", &logs, || {
        let (_, brokers) = partitions_seen_by(cluster.node(controller), "wide")?;
        (!brokers.contains(&learner)).then_some(())
    });
    assert_eq!(create_topic(cluster.node(controller), "while-down", 2), 0);
    cluster.nodes[learner as usize - 1].start_again();
    eventually(
        "the learner back, leading, with the topic it missed",
        &logs,
        || {
            let (parts, brokers) = partitions_seen_by(cluster.node(learner), "wide")?;
            // Still catching up, it may not know the topic yet.
            let leads = parts.get(led as usize) == Some(&(learner, 0));
            (leads
                && brokers.len() == 4
                && leaders_seen_by(cluster.node(learner), "while-down", 2).is_some())
            .then_some(())
        },
    );
    let mut conn = Conn::connect(&cluster.node(learner).addr());
    assert_eq!(fetch_all(&mut conn, "wide", led, 0).len(), 5);
    let log = cluster.node(controller).log_text();
    assert!(
        log.contains("adding a broker-only node as a Raft learner"),
        "the controller added the learner (logs: {logs})"
    );
}
