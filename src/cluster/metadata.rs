//! Cluster metadata: registered brokers, topics, their ids, partitions, and where each partition's
//! replicas live (node and shard).
//!
//! `MetadataImage` is the persistent form (rkyv, loaded with validation). `MetadataSnapshot` is the
//! immutable, `Arc`-shared view every shard keeps a copy of and swaps when the controller publishes a
//! change; nothing reads metadata through a lock.
//!
//! Encoded form (`encode`/`decode`; the single-node file body, Raft snapshots and proposals carry it): a
//! format magic per layout, then the rkyv image. Layout 4 added fenced brokers, learners' Raft
//! addresses and partition reassignments; layout 3 added brokers,
//! per-partition replicas, leader, leader epoch and ISR, the image version, and ACLs; layouts 3, 2
//! (users) and the first layout (no magic) are upgraded on load (rkyv has no schema evolution, so each layout change adds a magic). The
//! single-node file is a CRC-32 (crc32fast) of the body, then the body.

use rkyv::{Archive, Deserialize, Serialize};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use thiserror::Error;
use uuid::Uuid;

use crate::security::acl::{AclBinding, AclIndex};
use crate::security::credentials::UserRecord;
use crate::security::sasl::UserLookup;

/// Where one partition lives. Replication (the next slice of #6) reads `isr` and `leader_epoch`;
/// today only the leader holds data.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct PartitionRecord {
    /// Replica node ids, preferred leader first.
    pub replicas: Vec<i32>,
    /// The shard holding the partition on each replica's node, by position in `replicas`.
    pub replica_shards: Vec<u32>,
    pub leader: i32,
    pub leader_epoch: i32,
    pub isr: Vec<i32>,
}

impl PartitionRecord {
    /// The shard of `node`'s replica, if `node` hosts one.
    pub fn shard_on(&self, node: i32) -> Option<u32> {
        let at = self.replicas.iter().position(|&r| r == node)?;
        self.replica_shards.get(at).copied()
    }
}

#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct TopicRecord {
    pub name: String,
    pub id: [u8; 16],
    pub partitions: Vec<PartitionRecord>,
    /// Topic config overrides, in the order they were set.
    pub configs: Vec<(String, String)>,
}

/// One advertised listener of a registered broker.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct EndpointRecord {
    pub listener: String,
    pub host: String,
    pub port: i32,
}

/// A broker, as it registered itself through the quorum at startup.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct BrokerRecord {
    pub node_id: i32,
    pub endpoints: Vec<EndpointRecord>,
    /// Partitions are placed on this many shards of the node.
    pub shards: u32,
    pub rack: Option<String>,
    /// A broker-only node's Raft address (it is a learner of the quorum); None for voters, whose
    /// addresses are in controller.quorum.voters.
    pub raft_address: Option<String>,
}

/// A broker as layout 3 stored it (before learners).
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
struct BrokerRecordV3 {
    node_id: i32,
    endpoints: Vec<EndpointRecord>,
    shards: u32,
    rack: Option<String>,
}

impl BrokerRecord {
    /// The endpoint for clients that came in on `listener` (Kafka's rule), else the first one.
    pub fn endpoint(&self, listener: Option<&str>) -> Option<&EndpointRecord> {
        self.endpoints
            .iter()
            .find(|e| Some(e.listener.as_str()) == listener)
            .or(self.endpoints.first())
    }
}

#[derive(Archive, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct MetadataImage {
    pub cluster_id: String,
    /// Bumped by every change. A replicated change names the version it was computed on and is
    /// installed only on that version (src/quorum/proposal.rs).
    pub version: u64,
    /// Registered brokers, by node id (empty on a single node without a quorum).
    pub brokers: Vec<BrokerRecord>,
    pub topics: Vec<TopicRecord>,
    /// Producer ids below this may have been handed out; the next block starts here.
    pub producer_id_block_end: i64,
    /// SASL users and their SCRAM credentials (salted and hashed, never passwords).
    pub users: Vec<UserRecord>,
    /// ACL bindings, in the order they were created.
    pub acls: Vec<AclBinding>,
    /// Registered brokers the active controller stopped hearing from (`cluster/fencing.rs`): they
    /// lead nothing, are in no ISR they could hold back, and get no new replicas until heard again.
    pub fenced_brokers: Vec<i32>,
    /// Partition reassignments under way (`cluster/reassignment.rs`).
    pub reassignments: Vec<ReassignmentRecord>,
}

/// A partition moving to `target` replicas: the `adding` ones are already in its replica list and
/// catching up; once they are all in sync the list becomes `target` (KIP-455).
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ReassignmentRecord {
    pub topic: String,
    pub partition: i32,
    pub target: Vec<i32>,
    pub adding: Vec<i32>,
}

/// Layout 3 (before fenced brokers, learners and reassignments).
#[derive(Archive, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
struct ImageV3 {
    cluster_id: String,
    version: u64,
    brokers: Vec<BrokerRecordV3>,
    topics: Vec<TopicRecord>,
    producer_id_block_end: i64,
    users: Vec<UserRecord>,
    acls: Vec<AclBinding>,
}

/// Topics before layout 3: one shard per partition, all on the single node.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
struct TopicRecordV2 {
    name: String,
    id: [u8; 16],
    partition_shards: Vec<u32>,
    configs: Vec<(String, String)>,
}

/// Layout 2 (users, no brokers or replicas).
#[derive(Archive, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
struct ImageV2 {
    cluster_id: String,
    topics: Vec<TopicRecordV2>,
    producer_id_block_end: i64,
    users: Vec<UserRecord>,
}

/// The first file layout (before users), read to upgrade old data directories.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
struct ImageV1 {
    cluster_id: String,
    topics: Vec<TopicRecordV2>,
    producer_id_block_end: i64,
}

/// Starts layout-2 bodies (SCRAM users added).
const FORMAT_MAGIC_V2: &[u8; 8] = b"SLMETA\x00\x02";
/// Starts layout-3 bodies (brokers, replicas and ACLs added).
const FORMAT_MAGIC_V3: &[u8; 8] = b"SLMETA\x00\x03";
/// Starts every body encoded since fenced brokers were added (layout 4).
const FORMAT_MAGIC: &[u8; 8] = b"SLMETA\x00\x04";

#[derive(Debug, Error)]
pub enum MetadataError {
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("metadata file {0} is corrupt (checksum or layout)")]
    Corrupt(PathBuf),
    #[error("encoded metadata image is corrupt (layout)")]
    CorruptImage,
}

const FILE_NAME: &str = "cluster-metadata.bin";

impl MetadataImage {
    /// An empty image with a fresh cluster id.
    pub fn fresh() -> MetadataImage {
        MetadataImage {
            cluster_id: new_cluster_id(),
            ..Default::default()
        }
    }

    /// Loads the single-node image from `dir`, or returns a fresh one if none exists. Partitions of
    /// older layouts are placed on `node_id`.
    pub fn load_or_new(dir: &Path, node_id: i32) -> Result<MetadataImage, MetadataError> {
        let path = dir.join(FILE_NAME);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::fresh()),
            Err(source) => return Err(MetadataError::Io { path, source }),
        };
        if bytes.len() < 4 {
            return Err(MetadataError::Corrupt(path));
        }
        let (crc, body) = bytes.split_at(4);
        if crc32fast::hash(body).to_be_bytes() != crc {
            return Err(MetadataError::Corrupt(path));
        }
        Self::decode(body, node_id).map_err(|_| MetadataError::Corrupt(path))
    }

    /// The encoded image: format magic, then rkyv.
    pub fn encode(&self) -> Vec<u8> {
        let image = rkyv::to_bytes::<rkyv::rancor::Error>(self)
            .expect("serialising an in-memory image cannot fail");
        let mut body = Vec::with_capacity(FORMAT_MAGIC.len() + image.len());
        body.extend_from_slice(FORMAT_MAGIC);
        body.extend_from_slice(&image);
        body
    }

    /// Decodes any layout; partitions of layouts before 3 are placed on `node_id`.
    pub fn decode(body: &[u8], node_id: i32) -> Result<MetadataImage, MetadataError> {
        // rkyv needs aligned input; copy into an aligned buffer (images are small and rarely read).
        let aligned = |b: &[u8]| {
            let mut a = rkyv::util::AlignedVec::<16>::with_capacity(b.len());
            a.extend_from_slice(b);
            a
        };
        let corrupt = |_| MetadataError::CorruptImage;
        if let Some(rest) = body.strip_prefix(FORMAT_MAGIC.as_slice()) {
            return rkyv::from_bytes::<MetadataImage, rkyv::rancor::Error>(&aligned(rest))
                .map_err(corrupt);
        }
        if let Some(rest) = body.strip_prefix(FORMAT_MAGIC_V3.as_slice()) {
            return rkyv::from_bytes::<ImageV3, rkyv::rancor::Error>(&aligned(rest))
                .map(ImageV3::upgrade)
                .map_err(corrupt);
        }
        let v2 = match body.strip_prefix(FORMAT_MAGIC_V2.as_slice()) {
            Some(rest) => {
                rkyv::from_bytes::<ImageV2, rkyv::rancor::Error>(&aligned(rest)).map_err(corrupt)?
            }
            None => {
                let v1 = rkyv::from_bytes::<ImageV1, rkyv::rancor::Error>(&aligned(body))
                    .map_err(corrupt)?;
                ImageV2 {
                    cluster_id: v1.cluster_id,
                    topics: v1.topics,
                    producer_id_block_end: v1.producer_id_block_end,
                    users: Vec::new(),
                }
            }
        };
        Ok(v2.upgrade(node_id))
    }

    /// Writes the single-node image atomically: temp file, fsync, rename, fsync of the directory.
    pub fn persist(&self, dir: &Path) -> Result<(), MetadataError> {
        let path = dir.join(FILE_NAME);
        let tmp = dir.join(format!("{FILE_NAME}.tmp"));
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| MetadataError::Io { path, source }
        };
        let body = self.encode();
        let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(&crc32fast::hash(&body).to_be_bytes())
            .map_err(io(&tmp))?;
        f.write_all(&body).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io(&path))?;
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io(dir))
    }

    pub fn topic(&self, name: &str) -> Option<&TopicRecord> {
        self.topics.iter().find(|t| t.name == name)
    }

    pub fn user(&self, name: &str) -> Option<&UserRecord> {
        self.users.iter().find(|u| u.name == name)
    }

    pub fn broker(&self, node_id: i32) -> Option<&BrokerRecord> {
        self.brokers.iter().find(|b| b.node_id == node_id)
    }
}

impl ImageV2 {
    fn upgrade(self, node_id: i32) -> MetadataImage {
        let topics = self
            .topics
            .into_iter()
            .map(|t| TopicRecord {
                name: t.name,
                id: t.id,
                partitions: t
                    .partition_shards
                    .into_iter()
                    .map(|shard| PartitionRecord {
                        replicas: vec![node_id],
                        replica_shards: vec![shard],
                        leader: node_id,
                        leader_epoch: 0,
                        isr: vec![node_id],
                    })
                    .collect(),
                configs: t.configs,
            })
            .collect();
        MetadataImage {
            cluster_id: self.cluster_id,
            version: 0,
            brokers: Vec::new(),
            topics,
            producer_id_block_end: self.producer_id_block_end,
            users: self.users,
            acls: Vec::new(),
            fenced_brokers: Vec::new(),
            reassignments: Vec::new(),
        }
    }
}

impl ImageV3 {
    fn upgrade(self) -> MetadataImage {
        MetadataImage {
            cluster_id: self.cluster_id,
            version: self.version,
            brokers: self
                .brokers
                .into_iter()
                .map(|b| BrokerRecord {
                    node_id: b.node_id,
                    endpoints: b.endpoints,
                    shards: b.shards,
                    rack: b.rack,
                    raft_address: None,
                })
                .collect(),
            topics: self.topics,
            producer_id_block_end: self.producer_id_block_end,
            users: self.users,
            acls: self.acls,
            fenced_brokers: Vec::new(),
            reassignments: Vec::new(),
        }
    }
}

/// Kafka's cluster ids are 22 characters.
pub fn new_cluster_id() -> String {
    Uuid::new_v4().simple().to_string()[..22].to_string()
}

/// One partition as shards see it.
#[derive(Debug)]
pub struct PartitionInfo {
    pub replicas: Vec<i32>,
    pub leader: i32,
    pub leader_epoch: i32,
    pub isr: Vec<i32>,
    /// The leader's shard on its node (shown to clients as a tagged field).
    pub leader_shard: u32,
    /// The shard holding this node's replica, if this node hosts one.
    pub local_shard: Option<usize>,
}

/// One topic as shards see it.
#[derive(Debug)]
pub struct TopicInfo {
    pub name: String,
    pub id: Uuid,
    pub partitions: Vec<PartitionInfo>,
    pub configs: Vec<(String, String)>,
}

impl TopicInfo {
    pub fn partition_count(&self) -> i32 {
        self.partitions.len() as i32
    }
}

/// An immutable view of all metadata, as seen from one node; shards swap whole snapshots.
#[derive(Debug, Default)]
pub struct MetadataSnapshot {
    pub cluster_id: String,
    /// This node's id.
    pub node_id: i32,
    /// The active controller (the Raft leader; this node on a single node), if one is known.
    pub controller_id: Option<i32>,
    /// Registered brokers by node id (empty on a single node: it answers for itself).
    pub brokers: Vec<Arc<BrokerRecord>>,
    /// Registered brokers that are fenced (not offered to clients).
    pub fenced_brokers: Vec<i32>,
    pub topics: HashMap<String, Arc<TopicInfo>>,
    pub topics_by_id: HashMap<Uuid, Arc<TopicInfo>>,
    /// SASL users by name (authentication reads them on the connection's shard).
    pub users: HashMap<String, Arc<UserRecord>>,
    /// ACL bindings as stored (DescribeAcls) and indexed for checks.
    pub acl_bindings: Vec<AclBinding>,
    pub acls: AclIndex,
}

impl UserLookup for MetadataSnapshot {
    fn user(&self, name: &str) -> Option<Arc<UserRecord>> {
        self.users.get(name).cloned()
    }
}

/// Where a request for a partition should go, from this node's point of view.
#[derive(Debug, PartialEq, Eq)]
pub enum PartitionRoute {
    /// This node leads it; the shard holding it.
    Local(usize),
    /// Another node leads it: NOT_LEADER_OR_FOLLOWER.
    Elsewhere,
    /// No such topic or partition.
    Unknown,
}

impl MetadataSnapshot {
    pub fn from_image(
        image: &MetadataImage,
        node_id: i32,
        controller_id: Option<i32>,
    ) -> MetadataSnapshot {
        let mut snap = MetadataSnapshot {
            cluster_id: image.cluster_id.clone(),
            node_id,
            controller_id,
            ..Default::default()
        };
        for t in &image.topics {
            let info = Arc::new(TopicInfo {
                name: t.name.clone(),
                id: Uuid::from_bytes(t.id),
                partitions: t
                    .partitions
                    .iter()
                    .map(|p| PartitionInfo {
                        replicas: p.replicas.clone(),
                        leader: p.leader,
                        leader_epoch: p.leader_epoch,
                        isr: p.isr.clone(),
                        leader_shard: p.shard_on(p.leader).unwrap_or(0),
                        local_shard: p.shard_on(node_id).map(|s| s as usize),
                    })
                    .collect(),
                configs: t.configs.clone(),
            });
            snap.topics_by_id.insert(info.id, info.clone());
            snap.topics.insert(t.name.clone(), info);
        }
        snap.brokers = image.brokers.iter().cloned().map(Arc::new).collect();
        snap.brokers.sort_by_key(|b| b.node_id);
        snap.fenced_brokers = image.fenced_brokers.clone();
        snap.users = image
            .users
            .iter()
            .map(|u| (u.name.clone(), Arc::new(u.clone())))
            .collect();
        snap.acls = AclIndex::new(&image.acls);
        snap.acl_bindings = image.acls.clone();
        snap
    }

    /// The same metadata with another controller (the Raft leader changed, the image did not).
    pub fn with_controller(&self, controller_id: Option<i32>) -> MetadataSnapshot {
        MetadataSnapshot {
            cluster_id: self.cluster_id.clone(),
            node_id: self.node_id,
            controller_id,
            brokers: self.brokers.clone(),
            fenced_brokers: self.fenced_brokers.clone(),
            topics: self.topics.clone(),
            topics_by_id: self.topics_by_id.clone(),
            users: self.users.clone(),
            acl_bindings: self.acl_bindings.clone(),
            acls: AclIndex::new(&self.acl_bindings),
        }
    }

    pub fn partition(&self, topic: &str, partition: i32) -> Option<&PartitionInfo> {
        let t = self.topics.get(topic)?;
        usize::try_from(partition)
            .ok()
            .and_then(|p| t.partitions.get(p))
    }

    /// Whether the partition exists (on any node).
    pub fn has_partition(&self, topic: &str, partition: i32) -> bool {
        self.partition(topic, partition).is_some()
    }

    /// The shard holding this node's replica of a partition, if the partition exists and is hosted here.
    pub fn shard_of(&self, topic: &str, partition: i32) -> Option<usize> {
        self.partition(topic, partition)?.local_shard
    }

    /// Whether this node leads the partition (and on which shard), another node does, or it does not exist.
    pub fn route(&self, topic: &str, partition: i32) -> PartitionRoute {
        match self.partition(topic, partition) {
            None => PartitionRoute::Unknown,
            Some(p) => match p.local_shard {
                Some(shard) if p.leader == self.node_id => PartitionRoute::Local(shard),
                _ => PartitionRoute::Elsewhere,
            },
        }
    }
}

/// Kafka's legal topic names: 1-249 chars of [a-zA-Z0-9._-], not "." or "..".
pub fn validate_topic_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name == "." || name == ".." {
        return Err("topic name is empty, '.' or '..'");
    }
    if name.len() > 249 {
        return Err("topic name is longer than 249 characters");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
    {
        return Err("topic name may only contain ASCII alphanumerics, '.', '_' and '-'");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn single(shard: u32) -> PartitionRecord {
        PartitionRecord {
            replicas: vec![1],
            replica_shards: vec![shard],
            leader: 1,
            leader_epoch: 0,
            isr: vec![1],
        }
    }

    #[test]
    fn image_round_trips_and_detects_corruption() {
        let dir = std::env::temp_dir().join(format!("shardlog-meta-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut image = MetadataImage::load_or_new(&dir, 1).unwrap();
        image.topics.push(TopicRecord {
            name: "t".into(),
            id: *Uuid::new_v4().as_bytes(),
            partitions: vec![single(0), single(1), single(0)],
            configs: vec![("retention.ms".into(), "1000".into())],
        });
        image.brokers.push(BrokerRecord {
            node_id: 1,
            endpoints: vec![EndpointRecord {
                listener: "PLAINTEXT".into(),
                host: "h".into(),
                port: 9092,
            }],
            shards: 2,
            rack: Some("r1".into()),
            raft_address: Some("h:9193".into()),
        });
        image.persist(&dir).unwrap();
        assert_eq!(MetadataImage::load_or_new(&dir, 1).unwrap(), image);
        let path = dir.join(FILE_NAME);
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&path, bytes).unwrap();
        assert!(matches!(
            MetadataImage::load_or_new(&dir, 1),
            Err(MetadataError::Corrupt(_))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn write_body(dir: &Path, body: &[u8]) {
        let mut bytes = crc32fast::hash(body).to_be_bytes().to_vec();
        bytes.extend_from_slice(body);
        std::fs::write(dir.join(FILE_NAME), bytes).unwrap();
    }

    #[test]
    fn first_layout_files_are_upgraded() {
        let dir = std::env::temp_dir().join(format!("shardlog-meta-v1-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let v1 = ImageV1 {
            cluster_id: "abc".into(),
            topics: vec![],
            producer_id_block_end: 2000,
        };
        write_body(&dir, &rkyv::to_bytes::<rkyv::rancor::Error>(&v1).unwrap());
        let mut image = MetadataImage::load_or_new(&dir, 1).unwrap();
        assert_eq!(image.cluster_id, "abc");
        assert_eq!(image.producer_id_block_end, 2000);
        assert!(image.users.is_empty());
        image.users.push(UserRecord {
            name: "alice".into(),
            credentials: vec![],
        });
        image.persist(&dir).unwrap();
        assert_eq!(MetadataImage::load_or_new(&dir, 1).unwrap(), image);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn second_layout_partitions_move_onto_this_node() {
        let dir = std::env::temp_dir().join(format!("shardlog-meta-v2-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let v2 = ImageV2 {
            cluster_id: "abc".into(),
            topics: vec![TopicRecordV2 {
                name: "t".into(),
                id: [7; 16],
                partition_shards: vec![1, 0],
                configs: vec![],
            }],
            producer_id_block_end: 1000,
            users: vec![],
        };
        let mut body = FORMAT_MAGIC_V2.to_vec();
        body.extend_from_slice(&rkyv::to_bytes::<rkyv::rancor::Error>(&v2).unwrap());
        write_body(&dir, &body);
        let image = MetadataImage::load_or_new(&dir, 5).unwrap();
        let t = image.topic("t").unwrap();
        assert_eq!(t.partitions[0].replicas, vec![5]);
        assert_eq!(t.partitions[0].replica_shards, vec![1]);
        assert_eq!(t.partitions[1].leader, 5);
        let snap = MetadataSnapshot::from_image(&image, 5, Some(5));
        assert_eq!(snap.route("t", 0), PartitionRoute::Local(1));
        assert_eq!(snap.route("t", 2), PartitionRoute::Unknown);
        let elsewhere = MetadataSnapshot::from_image(&image, 6, Some(5));
        assert_eq!(elsewhere.route("t", 1), PartitionRoute::Elsewhere);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn second_layout_files_keep_their_users_and_gain_acls() {
        let dir =
            std::env::temp_dir().join(format!("shardlog-meta-v2-acls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let v2 = ImageV2 {
            cluster_id: "abc".into(),
            topics: vec![],
            producer_id_block_end: 1000,
            users: vec![UserRecord {
                name: "alice".into(),
                credentials: vec![],
            }],
        };
        let mut body = FORMAT_MAGIC_V2.to_vec();
        body.extend_from_slice(&rkyv::to_bytes::<rkyv::rancor::Error>(&v2).unwrap());
        write_body(&dir, &body);
        let mut image = MetadataImage::load_or_new(&dir, 1).unwrap();
        assert_eq!(image.user("alice").map(|u| u.name.as_str()), Some("alice"));
        assert!(image.acls.is_empty());
        image.acls.push(crate::security::acl::AclBinding {
            resource_type: crate::security::acl::ResourceType::Topic,
            name: "orders-".into(),
            pattern: crate::security::acl::PatternType::Prefixed,
            principal: "User:alice".into(),
            host: "*".into(),
            operation: crate::security::acl::Operation::Write,
            permission: crate::security::acl::Permission::Allow,
        });
        image.persist(&dir).unwrap();
        assert_eq!(MetadataImage::load_or_new(&dir, 1).unwrap(), image);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn third_layout_images_upgrade_with_no_broker_fenced() {
        let v3 = ImageV3 {
            cluster_id: "abc".into(),
            version: 9,
            brokers: vec![],
            topics: vec![TopicRecord {
                name: "t".into(),
                id: [3; 16],
                partitions: vec![single(1)],
                configs: vec![],
            }],
            producer_id_block_end: 3000,
            users: vec![],
            acls: vec![],
        };
        let mut body = FORMAT_MAGIC_V3.to_vec();
        body.extend_from_slice(&rkyv::to_bytes::<rkyv::rancor::Error>(&v3).unwrap());
        let image = MetadataImage::decode(&body, 1).unwrap();
        assert_eq!(image.version, 9);
        assert_eq!(image.topic("t").unwrap().partitions, vec![single(1)]);
        assert!(image.fenced_brokers.is_empty());
        assert_eq!(MetadataImage::decode(&image.encode(), 1).unwrap(), image);
    }

    #[test]
    fn topic_names_follow_kafka_rules() {
        assert!(validate_topic_name("orders.v1_x-y").is_ok());
        assert!(validate_topic_name("").is_err());
        assert!(validate_topic_name("..").is_err());
        assert!(validate_topic_name("bad name").is_err());
        assert!(validate_topic_name(&"a".repeat(250)).is_err());
    }
}
