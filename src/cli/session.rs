//! The connections one command uses: the bootstrap broker, and — on a multi-broker cluster — each
//! partition leader and group coordinator it must talk to, opened on first use from the addresses
//! Metadata and FindCoordinator give. Plus the lookups every command shares: a topic's partitions and
//! leaders, partition offsets, and a group's committed offsets.

use super::error::CliError;
use super::BrokerArgs;
use crate::client::sasl::{authenticate, SaslLogin};
use crate::client::{str_bytes, topic_name, ClientError, Connection};
use crate::kafka::SHARD_TAG;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::{
    BrokerId, FindCoordinatorRequest, GroupId, ListOffsetsRequest, MetadataRequest,
    MetadataResponse, OffsetCommitRequest, OffsetFetchRequest,
};
use kafka_protocol::ResponseError;
use rustls::ClientConfig;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CLIENT_ID: &str = "shardlog-cli";

/// ListOffsets' special timestamps.
pub const EARLIEST: i64 = -2;
pub const LATEST: i64 = -1;

/// Errors a moment later may not repeat: a coordinator or leader still being elected or loaded (Kafka
/// creates `__consumer_offsets` on first use).
const RETRIABLE: [ResponseError; 5] = [
    ResponseError::CoordinatorNotAvailable,
    ResponseError::CoordinatorLoadInProgress,
    ResponseError::NotCoordinator,
    ResponseError::NotLeaderOrFollower,
    ResponseError::LeaderNotAvailable,
];
const RETRY_FOR: Duration = Duration::from_secs(30);

/// Runs `f` again while it fails with a retriable broker error, for up to 30 s.
pub fn retry<T>(mut f: impl FnMut() -> Result<T, CliError>) -> Result<T, CliError> {
    let deadline = Instant::now() + RETRY_FOR;
    loop {
        match f() {
            Err(CliError::Client(e))
                if RETRIABLE.iter().any(|&r| e.is(r)) && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(200))
            }
            other => return other,
        }
    }
}

/// A (topic, partition) → offset map, ordered for printing.
pub type Offsets = BTreeMap<(String, i32), i64>;

/// One partition as Metadata describes it.
#[derive(Clone, Debug)]
pub struct Partition {
    pub id: i32,
    pub leader: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    /// The shard (core) serving it, where the broker says (shardlog's Metadata tag `SHARD_TAG`).
    pub shard: Option<i32>,
}

#[derive(Clone, Debug)]
pub struct Topic {
    pub name: String,
    pub internal: bool,
    /// Sorted by partition id.
    pub partitions: Vec<Partition>,
}

impl Topic {
    pub fn leader_of(&self, partition: i32) -> i32 {
        self.partitions
            .iter()
            .find(|p| p.id == partition)
            .map_or(-1, |p| p.leader)
    }
}

pub struct Session {
    /// The address the bootstrap connection went to.
    bootstrap_addr: String,
    bootstrap: Connection,
    /// Broker id → `host:port`, from the last Metadata answer.
    addrs: HashMap<i32, String>,
    /// Connections to brokers other than the bootstrap one.
    nodes: HashMap<String, Connection>,
    /// Every connection logs in with this first, when set.
    sasl: Option<SaslLogin>,
    /// Every connection speaks TLS with this, when set.
    tls: Option<Arc<ClientConfig>>,
}

/// A connection to `addr`, over TLS and logged in when `tls` and `sasl` say so.
fn open(
    addr: &str,
    sasl: Option<&SaslLogin>,
    tls: Option<&Arc<ClientConfig>>,
) -> Result<Connection, ClientError> {
    let mut conn = Connection::connect(addr, CLIENT_ID, tls)?;
    if let Some(login) = sasl {
        authenticate(&mut conn, login)?;
    }
    Ok(conn)
}

impl Session {
    /// Connects to the first broker of the comma-separated `--brokers` that answers (and logs in).
    pub fn connect(args: &BrokerArgs) -> Result<Session, CliError> {
        let brokers = &args.brokers;
        let sasl = args.sasl_login()?;
        let tls = args.tls.config().map_err(CliError::Usage)?;
        let mut last = None;
        for addr in brokers.split(',').map(str::trim).filter(|a| !a.is_empty()) {
            match open(addr, sasl.as_ref(), tls.as_ref()) {
                Ok(bootstrap) => {
                    return Ok(Session {
                        bootstrap_addr: addr.to_string(),
                        bootstrap,
                        addrs: HashMap::new(),
                        nodes: HashMap::new(),
                        sasl,
                        tls,
                    })
                }
                Err(e @ ClientError::Connect { .. }) => last = Some(e),
                Err(e) => return Err(e.into()),
            }
        }
        Err(match last {
            Some(source) => CliError::Connect {
                brokers: brokers.to_string(),
                source,
            },
            None => CliError::Usage("--brokers names no broker".into()),
        })
    }

    pub fn bootstrap(&mut self) -> &mut Connection {
        &mut self.bootstrap
    }

    /// The connection to `addr` (the bootstrap one if it is that broker).
    fn at(&mut self, addr: &str) -> Result<&mut Connection, CliError> {
        if addr == self.bootstrap_addr {
            return Ok(&mut self.bootstrap);
        }
        if !self.nodes.contains_key(addr) {
            let conn =
                open(addr, self.sasl.as_ref(), self.tls.as_ref()).map_err(
                    |source| match source {
                        ClientError::Connect { .. } => CliError::Connect {
                            brokers: addr.to_string(),
                            source,
                        },
                        other => other.into(),
                    },
                )?;
            self.nodes.insert(addr.to_string(), conn);
        }
        Ok(self.nodes.get_mut(addr).expect("inserted above"))
    }

    /// The connection to broker `id` (as the last Metadata named it; the bootstrap one if unknown).
    pub fn node(&mut self, id: i32) -> Result<&mut Connection, CliError> {
        match self.addrs.get(&id).cloned() {
            Some(addr) => self.at(&addr),
            None => Ok(&mut self.bootstrap),
        }
    }

    /// Broker ids with their `host:port`, from the last Metadata answer.
    pub fn brokers(&self) -> Vec<(i32, String)> {
        let mut b: Vec<_> = self.addrs.iter().map(|(&id, a)| (id, a.clone())).collect();
        b.sort();
        b
    }

    /// Metadata for `topics` (every topic when `None`); remembers the brokers' addresses.
    pub fn metadata(&mut self, topics: Option<&[&str]>) -> Result<MetadataResponse, CliError> {
        let mut req = MetadataRequest::default();
        req.topics = topics.map(|ts| {
            ts.iter()
                .map(|t| {
                    let mut m = MetadataRequestTopic::default();
                    m.name = Some(topic_name(t));
                    m
                })
                .collect()
        });
        req.allow_auto_topic_creation = false;
        let resp = self.bootstrap.call(&req)?;
        self.addrs = resp
            .brokers
            .iter()
            .map(|b| (b.node_id.0, format!("{}:{}", b.host.as_str(), b.port)))
            .collect();
        Ok(resp)
    }

    /// Every topic, sorted by name.
    pub fn topics(&mut self) -> Result<Vec<Topic>, CliError> {
        let resp = self.metadata(None)?;
        let mut topics: Vec<Topic> = resp.topics.iter().map(to_topic).collect();
        topics.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(topics)
    }

    /// One topic; `NotFound` if it does not exist.
    pub fn topic(&mut self, name: &str) -> Result<Topic, CliError> {
        let resp = self.metadata(Some(&[name]))?;
        let t = resp.topics.first().ok_or_else(|| not_found_topic(name))?;
        if t.error_code == ResponseError::UnknownTopicOrPartition.code() {
            return Err(not_found_topic(name));
        }
        CliError::check(t.error_code, || format!("Metadata for topic {name}"))?;
        Ok(to_topic(t))
    }

    /// The offset at `timestamp` (`EARLIEST`, `LATEST`) of each partition of `partitions`, asked of
    /// each partition's leader.
    pub fn offsets(
        &mut self,
        partitions: &[(&Topic, i32)],
        timestamp: i64,
    ) -> Result<Offsets, CliError> {
        retry(|| self.offsets_once(partitions, timestamp))
    }

    fn offsets_once(
        &mut self,
        partitions: &[(&Topic, i32)],
        timestamp: i64,
    ) -> Result<Offsets, CliError> {
        let mut by_leader: BTreeMap<i32, BTreeMap<&str, Vec<i32>>> = BTreeMap::new();
        for &(t, p) in partitions {
            by_leader
                .entry(t.leader_of(p))
                .or_default()
                .entry(&t.name)
                .or_default()
                .push(p);
        }
        let mut out = Offsets::new();
        for (leader, topics) in by_leader {
            let mut req = ListOffsetsRequest::default();
            req.replica_id = BrokerId(-1);
            req.topics = topics
                .iter()
                .map(|(name, ps)| {
                    let mut t = ListOffsetsTopic::default();
                    t.name = topic_name(name);
                    t.partitions = ps
                        .iter()
                        .map(|&p| {
                            let mut lp = ListOffsetsPartition::default();
                            lp.partition_index = p;
                            lp.current_leader_epoch = -1;
                            lp.timestamp = timestamp;
                            lp
                        })
                        .collect();
                    t
                })
                .collect();
            let resp = self.node(leader)?.call(&req)?;
            for t in resp.topics {
                for p in t.partitions {
                    let topic = t.name.0.to_string();
                    CliError::check(p.error_code, || {
                        format!("ListOffsets {topic}-{}", p.partition_index)
                    })?;
                    out.insert((topic, p.partition_index), p.offset);
                }
            }
        }
        Ok(out)
    }

    /// The connection to `group`'s coordinator.
    pub fn coordinator(&mut self, group: &str) -> Result<&mut Connection, CliError> {
        let mut req = FindCoordinatorRequest::default();
        req.key_type = 0;
        req.coordinator_keys = vec![str_bytes(group)];
        let addr = retry(|| {
            let resp = self.bootstrap.call(&req)?;
            let c = resp
                .coordinators
                .first()
                .ok_or_else(|| CliError::broker(format!("FindCoordinator {group}"), -1))?;
            CliError::check(c.error_code, || format!("FindCoordinator {group}"))?;
            Ok(format!("{}:{}", c.host.as_str(), c.port))
        })?;
        self.at(&addr)
    }

    /// `group`'s committed offsets: of every partition it committed (`None`), or of `partitions`.
    pub fn committed(
        &mut self,
        group: &str,
        partitions: Option<&[(String, i32)]>,
    ) -> Result<Offsets, CliError> {
        retry(|| self.committed_once(group, partitions))
    }

    fn committed_once(
        &mut self,
        group: &str,
        partitions: Option<&[(String, i32)]>,
    ) -> Result<Offsets, CliError> {
        let mut g = OffsetFetchRequestGroup::default();
        g.group_id = GroupId(str_bytes(group));
        g.topics = partitions.map(|ps| {
            let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
            for (t, p) in ps {
                by_topic.entry(t).or_default().push(*p);
            }
            by_topic
                .into_iter()
                .map(|(t, ps)| {
                    let mut rt = OffsetFetchRequestTopics::default();
                    rt.name = topic_name(t);
                    rt.partition_indexes = ps;
                    rt
                })
                .collect()
        });
        let mut req = OffsetFetchRequest::default();
        req.groups = vec![g];
        let resp = self.coordinator(group)?.call(&req)?;
        let mut out = Offsets::new();
        for g in resp.groups {
            CliError::check(g.error_code, || format!("OffsetFetch for group {group}"))?;
            for t in g.topics {
                for p in t.partitions {
                    let topic = t.name.0.to_string();
                    CliError::check(p.error_code, || {
                        format!("OffsetFetch {topic}-{}", p.partition_index)
                    })?;
                    if p.committed_offset >= 0 {
                        out.insert((topic, p.partition_index), p.committed_offset);
                    }
                }
            }
        }
        Ok(out)
    }

    /// Commits `offsets` for `group` as a standalone (simple) consumer: generation -1, no member id —
    /// accepted only while the group has no active members.
    pub fn commit(&mut self, group: &str, offsets: &Offsets) -> Result<(), CliError> {
        retry(|| self.commit_once(group, offsets))
    }

    fn commit_once(&mut self, group: &str, offsets: &Offsets) -> Result<(), CliError> {
        let mut by_topic: BTreeMap<&str, Vec<OffsetCommitRequestPartition>> = BTreeMap::new();
        for ((t, p), &offset) in offsets {
            let mut cp = OffsetCommitRequestPartition::default();
            cp.partition_index = *p;
            cp.committed_offset = offset;
            cp.committed_leader_epoch = -1;
            by_topic.entry(t).or_default().push(cp);
        }
        let mut req = OffsetCommitRequest::default();
        req.group_id = GroupId(str_bytes(group));
        req.generation_id_or_member_epoch = -1;
        req.member_id = str_bytes("");
        req.retention_time_ms = -1;
        req.topics = by_topic
            .into_iter()
            .map(|(t, partitions)| {
                let mut ct = OffsetCommitRequestTopic::default();
                ct.name = topic_name(t);
                ct.partitions = partitions;
                ct
            })
            .collect();
        let resp = self.coordinator(group)?.call(&req)?;
        for t in resp.topics {
            for p in t.partitions {
                if p.error_code == ResponseError::UnknownMemberId.code()
                    || p.error_code == ResponseError::IllegalGeneration.code()
                {
                    return Err(CliError::Refused(format!(
                        "group {group} has active members, so offsets cannot be committed for it: \
                         stop its consumers first"
                    )));
                }
                CliError::check(p.error_code, || {
                    format!(
                        "OffsetCommit {}-{} for group {group}",
                        t.name.0, p.partition_index
                    )
                })?;
            }
        }
        Ok(())
    }
}

/// `Ok` for error code 0; an unknown topic becomes `NotFound` with a hint, other codes broker errors.
pub fn check_topic(code: i16, topic: &str, what: impl FnOnce() -> String) -> Result<(), CliError> {
    match code == ResponseError::UnknownTopicOrPartition.code() {
        true => Err(not_found_topic(topic)),
        false => CliError::check(code, what),
    }
}

fn not_found_topic(name: &str) -> CliError {
    CliError::NotFound(format!(
        "topic {name} does not exist — `shardlog topic list` shows the topics there are"
    ))
}

fn to_topic(t: &kafka_protocol::messages::metadata_response::MetadataResponseTopic) -> Topic {
    let mut partitions: Vec<Partition> = t
        .partitions
        .iter()
        .map(|p| Partition {
            id: p.partition_index,
            leader: p.leader_id.0,
            replicas: p.replica_nodes.iter().map(|b| b.0).collect(),
            isr: p.isr_nodes.iter().map(|b| b.0).collect(),
            shard: p
                .unknown_tagged_fields
                .get(&SHARD_TAG)
                .and_then(|b| <[u8; 4]>::try_from(b.as_ref()).ok())
                .map(i32::from_be_bytes),
        })
        .collect();
    partitions.sort_by_key(|p| p.id);
    Topic {
        name: t
            .name
            .as_ref()
            .map_or_else(String::new, |n| n.0.to_string()),
        internal: t.is_internal,
        partitions,
    }
}
