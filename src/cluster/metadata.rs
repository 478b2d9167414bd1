//! Cluster metadata: topics, their ids, partitions and which shard owns each partition.
//!
//! `MetadataImage` is the persistent form (rkyv, loaded with validation, guarded by a CRC-32 from
//! crc32fast). `MetadataSnapshot` is the immutable, `Arc`-shared view every shard keeps a copy of and swaps
//! when the controller publishes a change; nothing reads metadata through a lock.
//!
//! File layout: CRC-32 of the body, then the body. Since SCRAM users were added the body starts with a
//! format magic followed by the rkyv image: `FORMAT_MAGIC` (layout 3, with ACLs) or `FORMAT_MAGIC_V2`
//! (`ImageV2`, users but no ACLs); a body without a magic is the first layout (`ImageV1`, no users).
//! Older layouts are upgraded on load (rkyv has no schema evolution, so each layout change adds a magic).

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

#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct TopicRecord {
    pub name: String,
    pub id: [u8; 16],
    /// Owning shard of each partition, by partition index.
    pub partition_shards: Vec<u32>,
    /// Topic config overrides, in the order they were set.
    pub configs: Vec<(String, String)>,
}

#[derive(Archive, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct MetadataImage {
    pub cluster_id: String,
    pub topics: Vec<TopicRecord>,
    /// Producer ids below this may have been handed out; a restarted broker starts here.
    pub producer_id_block_end: i64,
    /// SASL users and their SCRAM credentials (salted and hashed, never passwords).
    pub users: Vec<UserRecord>,
    /// ACL bindings, in the order they were created.
    pub acls: Vec<AclBinding>,
}

/// The second file layout (users, no ACLs), read to upgrade old data directories.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
struct ImageV2 {
    cluster_id: String,
    topics: Vec<TopicRecord>,
    producer_id_block_end: i64,
    users: Vec<UserRecord>,
}

/// The first file layout (before users), read to upgrade old data directories.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
struct ImageV1 {
    cluster_id: String,
    topics: Vec<TopicRecord>,
    producer_id_block_end: i64,
}

/// Starts the body of every file written since ACLs were added (layout 3).
const FORMAT_MAGIC: &[u8; 8] = b"SLMETA\x00\x03";
/// Starts the body of files written with SCRAM users but before ACLs (layout 2).
const FORMAT_MAGIC_V2: &[u8; 8] = b"SLMETA\x00\x02";

#[derive(Debug, Error)]
pub enum MetadataError {
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("metadata file {0} is corrupt (checksum or layout)")]
    Corrupt(PathBuf),
}

const FILE_NAME: &str = "cluster-metadata.bin";

impl MetadataImage {
    /// Loads the image from `dir`, or returns a fresh one (with a new cluster id) if none exists.
    pub fn load_or_new(dir: &Path) -> Result<MetadataImage, MetadataError> {
        let path = dir.join(FILE_NAME);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(MetadataImage {
                    cluster_id: Uuid::new_v4().simple().to_string()[..22].to_string(),
                    topics: Vec::new(),
                    producer_id_block_end: 0,
                    users: Vec::new(),
                    acls: Vec::new(),
                })
            }
            Err(source) => return Err(MetadataError::Io { path, source }),
        };
        if bytes.len() < 4 {
            return Err(MetadataError::Corrupt(path));
        }
        let (crc, body) = bytes.split_at(4);
        if crc32fast::hash(body).to_be_bytes() != crc {
            return Err(MetadataError::Corrupt(path));
        }
        // rkyv needs aligned input; copy into an aligned buffer once at startup.
        let aligned = |body: &[u8]| {
            let mut a = rkyv::util::AlignedVec::<16>::with_capacity(body.len());
            a.extend_from_slice(body);
            a
        };
        let corrupt = |_| MetadataError::Corrupt(path.clone());
        if let Some(rest) = body.strip_prefix(FORMAT_MAGIC.as_slice()) {
            return rkyv::from_bytes::<MetadataImage, rkyv::rancor::Error>(&aligned(rest))
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
        Ok(MetadataImage {
            cluster_id: v2.cluster_id,
            topics: v2.topics,
            producer_id_block_end: v2.producer_id_block_end,
            users: v2.users,
            acls: Vec::new(),
        })
    }

    /// Writes the image atomically: temp file, fsync, rename, fsync of the directory.
    pub fn persist(&self, dir: &Path) -> Result<(), MetadataError> {
        let path = dir.join(FILE_NAME);
        let tmp = dir.join(format!("{FILE_NAME}.tmp"));
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| MetadataError::Io { path, source }
        };
        let image = rkyv::to_bytes::<rkyv::rancor::Error>(self)
            .map_err(|_| MetadataError::Corrupt(path.clone()))?;
        let mut body = Vec::with_capacity(FORMAT_MAGIC.len() + image.len());
        body.extend_from_slice(FORMAT_MAGIC);
        body.extend_from_slice(&image);
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
}

/// One topic as shards see it.
#[derive(Debug)]
pub struct TopicInfo {
    pub name: String,
    pub id: Uuid,
    pub partition_shards: Vec<usize>,
    pub configs: Vec<(String, String)>,
}

/// An immutable view of all metadata; shards swap whole snapshots.
#[derive(Debug, Default)]
pub struct MetadataSnapshot {
    pub cluster_id: String,
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

impl MetadataSnapshot {
    pub fn from_image(image: &MetadataImage) -> MetadataSnapshot {
        let mut snap = MetadataSnapshot {
            cluster_id: image.cluster_id.clone(),
            ..Default::default()
        };
        for t in &image.topics {
            let info = Arc::new(TopicInfo {
                name: t.name.clone(),
                id: Uuid::from_bytes(t.id),
                partition_shards: t.partition_shards.iter().map(|&s| s as usize).collect(),
                configs: t.configs.clone(),
            });
            snap.topics_by_id.insert(info.id, info.clone());
            snap.topics.insert(t.name.clone(), info);
        }
        snap.users = image
            .users
            .iter()
            .map(|u| (u.name.clone(), Arc::new(u.clone())))
            .collect();
        snap.acls = AclIndex::new(&image.acls);
        snap.acl_bindings = image.acls.clone();
        snap
    }

    /// The shard owning a partition, if the topic and partition exist.
    pub fn shard_of(&self, topic: &str, partition: i32) -> Option<usize> {
        let t = self.topics.get(topic)?;
        usize::try_from(partition)
            .ok()
            .and_then(|p| t.partition_shards.get(p).copied())
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

    #[test]
    fn image_round_trips_and_detects_corruption() {
        let dir = std::env::temp_dir().join(format!("shardlog-meta-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut image = MetadataImage::load_or_new(&dir).unwrap();
        image.topics.push(TopicRecord {
            name: "t".into(),
            id: *Uuid::new_v4().as_bytes(),
            partition_shards: vec![0, 1, 0],
            configs: vec![("retention.ms".into(), "1000".into())],
        });
        image.persist(&dir).unwrap();
        assert_eq!(MetadataImage::load_or_new(&dir).unwrap(), image);
        let path = dir.join(FILE_NAME);
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&path, bytes).unwrap();
        assert!(matches!(
            MetadataImage::load_or_new(&dir),
            Err(MetadataError::Corrupt(_))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
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
        let body = rkyv::to_bytes::<rkyv::rancor::Error>(&v1).unwrap();
        let mut bytes = crc32fast::hash(&body).to_be_bytes().to_vec();
        bytes.extend_from_slice(&body);
        std::fs::write(dir.join(FILE_NAME), bytes).unwrap();
        let mut image = MetadataImage::load_or_new(&dir).unwrap();
        assert_eq!(image.cluster_id, "abc");
        assert_eq!(image.producer_id_block_end, 2000);
        assert!(image.users.is_empty());
        image.users.push(UserRecord {
            name: "alice".into(),
            credentials: vec![],
        });
        image.persist(&dir).unwrap();
        assert_eq!(MetadataImage::load_or_new(&dir).unwrap(), image);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn second_layout_files_keep_their_users_and_gain_acls() {
        let dir = std::env::temp_dir().join(format!("shardlog-meta-v2-{}", std::process::id()));
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
        let mut bytes = crc32fast::hash(&body).to_be_bytes().to_vec();
        bytes.extend_from_slice(&body);
        std::fs::write(dir.join(FILE_NAME), bytes).unwrap();
        let mut image = MetadataImage::load_or_new(&dir).unwrap();
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
        assert_eq!(MetadataImage::load_or_new(&dir).unwrap(), image);
        std::fs::remove_dir_all(&dir).unwrap();
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
