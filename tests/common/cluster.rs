//! A cluster of real broker processes (every node broker + controller, one metadata quorum; three
//! unless a test needs more), and the Metadata/CreateTopics helpers the cluster and replication tests
//! share.

use super::api::topic_name;
use super::{free_port, temp_dir, Broker, Conn};
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use std::time::{Duration, Instant};

/// How long the cluster may take to elect, register or converge before a test gives up.
pub const PATIENCE: Duration = Duration::from_secs(60);

pub struct Cluster {
    pub nodes: Vec<Broker>,
}

impl Cluster {
    /// Three nodes, ids 1–3, all broker + controller.
    pub fn start(name: &str) -> Cluster {
        Self::start_with(name, 3, &[])
    }

    /// `size` nodes, ids 1–`size`, with extra `serve` flags for every node.
    pub fn start_with(name: &str, size: usize, extra: &[&str]) -> Cluster {
        let raft_ports: Vec<u16> = (0..size).map(|_| free_port()).collect();
        let voters = raft_ports
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{}@127.0.0.1:{p}", i + 1))
            .collect::<Vec<_>>()
            .join(",");
        let nodes = (1..=size)
            .map(|id| {
                let dir = temp_dir(&format!("{name}-node{id}"));
                let id = id.to_string();
                let mut args = vec!["--node-id", &id, "--controller-quorum-voters", &voters];
                args.extend_from_slice(extra);
                Broker::start(&dir, &args)
            })
            .collect();
        Cluster { nodes }
    }

    pub fn node(&self, id: i32) -> &Broker {
        &self.nodes[id as usize - 1]
    }

    pub fn node_mut(&mut self, id: i32) -> &mut Broker {
        &mut self.nodes[id as usize - 1]
    }

    pub fn bootstrap(&self) -> String {
        self.nodes
            .iter()
            .map(Broker::addr)
            .collect::<Vec<_>>()
            .join(",")
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
    let mut t = CreatableTopic::default();
    t.name = topic_name(name);
    t.num_partitions = partitions;
    t.replication_factor = replication_factor;
    t.configs = configs
        .iter()
        .map(|(k, v)| {
            let mut c = CreatableTopicConfig::default();
            c.name = StrBytes::from_string(k.to_string());
            c.value = Some(StrBytes::from_string(v.to_string()));
            c
        })
        .collect();
    let mut req = CreateTopicsRequest::default();
    req.topics = vec![t];
    req.timeout_ms = 10_000;
    let resp: CreateTopicsResponse =
        Conn::connect(&node.addr()).request(ApiKey::CreateTopics, 7, &req);
    let t = &resp.topics[0];
    (
        t.error_code,
        t.error_message.as_ref().map(|m| m.to_string()),
    )
}
