//! A cluster of real broker processes (every node broker + controller, one metadata quorum; three
//! unless a test needs more; optionally behind link proxies, plus broker-only nodes added later), and
//! the Metadata/CreateTopics helpers the cluster and replication tests share.

use super::api::{create_topic_answer, topic_name};
use super::proxy::LinkProxy;
use super::{free_port, temp_dir, Broker, Conn};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::*;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// How long the cluster may take to elect, register or converge before a test gives up.
pub const PATIENCE: Duration = Duration::from_secs(60);

pub struct Cluster {
    pub nodes: Vec<Broker>,
    /// One link proxy per node when clients must reach the nodes through them (`start_proxied`).
    pub proxies: Vec<LinkProxy>,
    /// controller.quorum.voters, for nodes added later.
    voters: String,
    name: String,
}

impl Cluster {
    /// Three nodes, ids 1–3, all broker + controller.
    pub fn start(name: &str) -> Cluster {
        Self::start_with(name, 3, &[])
    }

    /// `size` nodes, ids 1–`size`, with extra `serve` flags for every node.
    pub fn start_with(name: &str, size: usize, extra: &[&str]) -> Cluster {
        Self::start_nodes(name, size, extra, false)
    }

    /// Three nodes that advertise a `LinkProxy` each, so every client connection can be cut.
    pub fn start_proxied(name: &str, extra: &[&str]) -> Cluster {
        Self::start_nodes(name, 3, extra, true)
    }

    fn start_nodes(name: &str, size: usize, extra: &[&str], proxied: bool) -> Cluster {
        let raft_ports: Vec<u16> = (0..size).map(|_| free_port()).collect();
        let voters = raft_ports
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{}@127.0.0.1:{p}", i + 1))
            .collect::<Vec<_>>()
            .join(",");
        let ports: Vec<u16> = (0..size).map(|_| free_port()).collect();
        let proxies: Vec<LinkProxy> = if proxied {
            ports
                .iter()
                .map(|p| LinkProxy::start(format!("127.0.0.1:{p}")))
                .collect()
        } else {
            Vec::new()
        };
        let nodes = (1..=size)
            .map(|id| {
                let dir = temp_dir(&format!("{name}-node{id}"));
                let node_id = id.to_string();
                let advertised = proxies.get(id - 1).map(LinkProxy::addr);
                let mut args = vec!["--node-id", &node_id, "--controller-quorum-voters", &voters];
                if let Some(a) = &advertised {
                    args.extend_from_slice(&["--advertised", a]);
                }
                args.extend_from_slice(extra);
                Broker::start_on(&dir, ports[id - 1], &args, &[])
            })
            .collect();
        Cluster {
            nodes,
            proxies,
            voters,
            name: name.to_string(),
        }
    }

    /// Starts a broker-only node (a Raft learner of the quorum) as the next node id.
    pub fn add_broker_only(&mut self) -> i32 {
        let id = self.nodes.len() as i32 + 1;
        let dir = temp_dir(&format!("{}-node{id}", self.name));
        let raft = format!("127.0.0.1:{}", free_port());
        let node_id = id.to_string();
        let args = [
            "--node-id",
            &node_id,
            "--process-roles",
            "broker",
            "--controller-quorum-voters",
            &self.voters,
            "--raft-address",
            &raft,
        ];
        self.nodes.push(Broker::start(&dir, &args));
        id
    }

    pub fn node(&self, id: i32) -> &Broker {
        &self.nodes[id as usize - 1]
    }

    pub fn node_mut(&mut self, id: i32) -> &mut Broker {
        &mut self.nodes[id as usize - 1]
    }

    /// The controller every node names once all brokers are registered. A node always lists itself,
    /// so only "every node sees all" proves every registration committed.
    pub fn agreed_controller(&self, logs: &str) -> i32 {
        eventually("a controller and every broker registered", logs, || {
            let seen: BTreeSet<i32> = self
                .nodes
                .iter()
                .map(|n| controller_seen_by(n, self.nodes.len()))
                .collect::<Option<_>>()?;
            (seen.len() == 1).then(|| *seen.iter().next().unwrap())
        })
    }

    /// The addresses clients bootstrap with (the proxies' when there are some).
    pub fn bootstrap(&self) -> String {
        let addrs: Vec<String> = if self.proxies.is_empty() {
            self.nodes.iter().map(Broker::addr).collect()
        } else {
            self.proxies.iter().map(LinkProxy::addr).collect()
        };
        addrs.join(",")
    }

    pub fn logs(&self) -> String {
        self.nodes
            .iter()
            .map(|n| n.log_path().display().to_string())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Polls `check` until it returns something or `PATIENCE` runs out.
pub fn eventually<T>(what: &str, logs: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "gave up waiting: {what} (logs: {logs})"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

pub fn metadata(node: &Broker, topics: Option<&[&str]>) -> Option<MetadataResponse> {
    let mut conn = Conn::connect(&node.addr());
    let mut req = MetadataRequest::default();
    req.topics = topics.map(|ts| {
        ts.iter()
            .map(|t| {
                let mut r = MetadataRequestTopic::default();
                r.name = Some(topic_name(t));
                r
            })
            .collect()
    });
    req.allow_auto_topic_creation = false;
    Some(conn.request(ApiKey::Metadata, 12, &req))
}

/// The controller id a node reports once it knows one and sees all `brokers` registered.
pub fn controller_seen_by(node: &Broker, brokers: usize) -> Option<i32> {
    let m = metadata(node, Some(&[]))?;
    (m.controller_id.0 > 0 && m.brokers.len() == brokers).then_some(m.controller_id.0)
}

/// Each partition's (leader, error code), by partition index.
pub type PartitionStates = Vec<(i32, i16)>;

/// Every partition's (leader, error code) of `topic` as `node` sees it, and the brokers it lists.
pub fn partitions_seen_by(node: &Broker, topic: &str) -> Option<(PartitionStates, Vec<i32>)> {
    let m = metadata(node, Some(&[topic]))?;
    let t = m.topics.first()?;
    let mut parts: Vec<_> = t.partitions.iter().collect();
    parts.sort_by_key(|p| p.partition_index);
    let brokers = m.brokers.iter().map(|b| b.node_id.0).collect();
    Some((
        parts
            .iter()
            .map(|p| (p.leader_id.0, p.error_code))
            .collect(),
        brokers,
    ))
}

/// Every partition's leader of `topic` as `node` sees it, once it sees all `partitions`.
pub fn leaders_seen_by(node: &Broker, topic: &str, partitions: usize) -> Option<Vec<i32>> {
    let m = metadata(node, Some(&[topic]))?;
    let t = m.topics.first()?;
    if t.error_code != 0 || t.partitions.len() != partitions {
        return None;
    }
    let mut parts: Vec<_> = t.partitions.iter().collect();
    parts.sort_by_key(|p| p.partition_index);
    Some(parts.iter().map(|p| p.leader_id.0).collect())
}

/// Creates a topic with the default replication factor; returns the error code.
pub fn create_topic(node: &Broker, name: &str, partitions: i32) -> i16 {
    create_topic_with(node, name, partitions, -1, &[]).0
}

/// Creates a topic; returns the error code and message.
pub fn create_topic_with(
    node: &Broker,
    name: &str,
    partitions: i32,
    replication_factor: i16,
    configs: &[(&str, &str)],
) -> (i16, Option<String>) {
    let mut conn = Conn::connect(&node.addr());
    create_topic_answer(&mut conn, name, partitions, replication_factor, configs)
}
