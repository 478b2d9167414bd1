//! The single-node controller: the only writer of cluster metadata. It lives on `CONTROLLER_SHARD`; other
//! shards send it their admin requests. Each change is persisted, then published to every shard before it
//! is acknowledged, so a client that created a topic can produce to it at once on any connection.
//! (A Raft-replicated metadata log replaces the local file when clustering lands.)

use super::metadata::{
    validate_topic_name, MetadataError, MetadataImage, MetadataSnapshot, TopicRecord,
};
use super::topic_config::{self, ConfigError};
use crate::runtime::shard::Shard;
use crate::security::acl::{AclBinding, AclFilter};
use crate::security::credentials::{
    parse_bootstrap_users, CredentialError, ScramCredential, ScramMechanism, UserRecord,
    DEFAULT_ITERATIONS,
};
use glommio::sync::Semaphore;
use std::cell::{Cell, RefCell};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use thiserror::Error;
use tracing::info;
use uuid::Uuid;

#[derive(Debug, Error)]
pub enum ControllerError {
    #[error("topic '{0}' already exists")]
    TopicExists(String),
    #[error("topic '{0}' does not exist")]
    UnknownTopic(String),
    #[error("invalid topic name: {0}")]
    InvalidTopic(&'static str),
    #[error("{0}")]
    InvalidPartitions(String),
    #[error("replication factor {0} is impossible on a single broker")]
    InvalidReplicationFactor(i16),
    #[error(transparent)]
    InvalidConfig(#[from] ConfigError),
    #[error("metadata could not be persisted: {0}")]
    Persist(#[from] MetadataError),
}

/// How an IncrementalAlterConfigs / AlterConfigs change applies to one key.
#[derive(Clone, Debug)]
pub enum ConfigChange {
    Set(String, String),
    Delete(String),
}

/// Producer ids are handed out from blocks; only the block's end is persisted.
const PRODUCER_ID_BLOCK: i64 = 1000;

pub struct Controller {
    data_dir: PathBuf,
    image: RefCell<MetadataImage>,
    /// Serialises changes so they are persisted and published in order.
    changes: Semaphore,
    next_producer_id: Cell<i64>,
}

impl Controller {
    pub fn new(data_dir: PathBuf, image: MetadataImage) -> Controller {
        let next = image.producer_id_block_end;
        Controller {
            data_dir,
            image: RefCell::new(image),
            changes: Semaphore::new(1),
            next_producer_id: Cell::new(next),
        }
    }

    /// Applies `change` to a copy of the image, persists it, installs it, publishes it to every shard.
    async fn commit<T>(
        &self,
        shard: &Rc<Shard>,
        change: impl FnOnce(&mut MetadataImage) -> Result<T, ControllerError>,
    ) -> Result<T, ControllerError> {
        let _permit = self
            .changes
            .acquire_permit(1)
            .await
            .expect("controller semaphore is never closed");
        let mut image = self.image.borrow().clone();
        let out = change(&mut image)?;
        image.persist(&self.data_dir)?;
        let snapshot = Arc::new(MetadataSnapshot::from_image(&image));
        *self.image.borrow_mut() = image;
        shard.publish_metadata(snapshot).await;
        Ok(out)
    }

    pub async fn create_topic(
        &self,
        shard: &Rc<Shard>,
        name: String,
        partitions: i32,
        replication_factor: i16,
        configs: Vec<(String, String)>,
        validate_only: bool,
    ) -> Result<(), ControllerError> {
        validate_topic_name(&name).map_err(ControllerError::InvalidTopic)?;
        if partitions < 1 {
            return Err(ControllerError::InvalidPartitions(format!(
                "number of partitions must be at least 1, got {partitions}"
            )));
        }
        if replication_factor != 1 {
            return Err(ControllerError::InvalidReplicationFactor(
                replication_factor,
            ));
        }
        for (k, v) in &configs {
            topic_config::validate(k, v)?;
        }
        if self.image.borrow().topic(&name).is_some() {
            return Err(ControllerError::TopicExists(name));
        }
        if validate_only {
            return Ok(());
        }
        let shards = shard.count;
        self.commit(shard, |image| {
            if image.topic(&name).is_some() {
                return Err(ControllerError::TopicExists(name.clone()));
            }
            let placement = place_partitions(image, shards, 0, partitions as usize);
            image.topics.push(TopicRecord {
                name: name.clone(),
                id: *Uuid::new_v4().as_bytes(),
                partition_shards: placement,
                configs,
            });
            Ok(())
        })
        .await?;
        info!(topic = %name, partitions, "created topic");
        Ok(())
    }

    pub async fn delete_topic(
        &self,
        shard: &Rc<Shard>,
        name: String,
    ) -> Result<(), ControllerError> {
        self.commit(shard, |image| {
            let before = image.topics.len();
            image.topics.retain(|t| t.name != name);
            if image.topics.len() == before {
                return Err(ControllerError::UnknownTopic(name.clone()));
            }
            Ok(())
        })
        .await?;
        info!(topic = %name, "deleted topic");
        Ok(())
    }

    pub async fn create_partitions(
        &self,
        shard: &Rc<Shard>,
        name: String,
        new_total: i32,
        validate_only: bool,
    ) -> Result<(), ControllerError> {
        let shards = shard.count;
        let check = |image: &MetadataImage| -> Result<usize, ControllerError> {
            let topic = image
                .topic(&name)
                .ok_or_else(|| ControllerError::UnknownTopic(name.clone()))?;
            let current = topic.partition_shards.len();
            if new_total as i64 <= current as i64 {
                return Err(ControllerError::InvalidPartitions(format!(
                    "topic currently has {current} partitions, {new_total} would not be an increase"
                )));
            }
            Ok(current)
        };
        check(&self.image.borrow())?;
        if validate_only {
            return Ok(());
        }
        self.commit(shard, |image| {
            let current = check(image)?;
            let added = place_partitions(image, shards, current, new_total as usize - current);
            let topic = image
                .topics
                .iter_mut()
                .find(|t| t.name == name)
                .expect("checked above");
            topic.partition_shards.extend(added);
            Ok(())
        })
        .await?;
        info!(topic = %name, partitions = new_total, "added partitions");
        Ok(())
    }

    pub async fn alter_configs(
        &self,
        shard: &Rc<Shard>,
        name: String,
        changes: Vec<ConfigChange>,
        replace_all: bool,
        validate_only: bool,
    ) -> Result<(), ControllerError> {
        for c in &changes {
            if let ConfigChange::Set(k, v) = c {
                topic_config::validate(k, v)?;
            }
        }
        if self.image.borrow().topic(&name).is_none() {
            return Err(ControllerError::UnknownTopic(name));
        }
        if validate_only {
            return Ok(());
        }
        self.commit(shard, |image| {
            let topic = image
                .topics
                .iter_mut()
                .find(|t| t.name == name)
                .ok_or_else(|| ControllerError::UnknownTopic(name.clone()))?;
            if replace_all {
                topic.configs.clear();
            }
            for c in changes {
                match c {
                    ConfigChange::Set(k, v) => {
                        topic.configs.retain(|(key, _)| *key != k);
                        topic.configs.push((k, v));
                    }
                    ConfigChange::Delete(k) => topic.configs.retain(|(key, _)| *key != k),
                }
            }
            Ok(())
        })
        .await
    }

    /// Creates `__consumer_offsets` on first start: offsets.topic.num.partitions partitions, compacted,
    /// 100 MiB segments (Kafka's settings for it).
    pub async fn ensure_offsets_topic(&self, shard: &Rc<Shard>) -> Result<(), ControllerError> {
        let name = crate::coordinator::offsets_topic::TOPIC.to_string();
        if self.image.borrow().topic(&name).is_some() {
            return Ok(());
        }
        let configs = vec![
            ("cleanup.policy".to_string(), "compact".to_string()),
            ("segment.bytes".to_string(), "104857600".to_string()),
        ];
        let partitions = shard.config.offsets_topic_num_partitions;
        match self
            .create_topic(shard, name, partitions, 1, configs, false)
            .await
        {
            Ok(()) | Err(ControllerError::TopicExists(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// AlterUserScramCredentials: applies every change in one persisted metadata change. A user whose
    /// last credential is deleted is removed.
    pub async fn alter_scram_credentials(
        &self,
        shard: &Rc<Shard>,
        changes: Vec<ScramChange>,
    ) -> Result<(), ControllerError> {
        if changes.is_empty() {
            return Ok(());
        }
        self.commit(shard, |image| {
            for change in changes {
                match change {
                    ScramChange::Delete(name, m) => {
                        if let Some(u) = image.users.iter_mut().find(|u| u.name == name) {
                            u.credentials.retain(|c| c.mechanism != m.id());
                        }
                        image.users.retain(|u| !u.credentials.is_empty());
                    }
                    ScramChange::Upsert(name, credential) => {
                        match image.users.iter_mut().find(|u| u.name == name) {
                            Some(u) => u.upsert(credential),
                            None => image.users.push(UserRecord {
                                name,
                                credentials: vec![credential],
                            }),
                        }
                    }
                }
            }
            Ok(())
        })
        .await
    }

    /// CreateAcls: stores the bindings not stored yet, all in one persisted metadata change.
    pub async fn create_acls(
        &self,
        shard: &Rc<Shard>,
        bindings: Vec<AclBinding>,
    ) -> Result<(), ControllerError> {
        if bindings.is_empty() {
            return Ok(());
        }
        self.commit(shard, |image| {
            for b in bindings {
                if !image.acls.contains(&b) {
                    info!(acl = %b, "created ACL");
                    image.acls.push(b);
                }
            }
            Ok(())
        })
        .await
    }

    /// DeleteAcls: removes every binding any filter matches, in one persisted change. Returns, per
    /// filter, the bindings it matched (a binding matched by two filters is listed under both, as Kafka
    /// does).
    pub async fn delete_acls(
        &self,
        shard: &Rc<Shard>,
        filters: Vec<AclFilter>,
    ) -> Result<Vec<Vec<AclBinding>>, ControllerError> {
        self.commit(shard, |image| {
            let matched: Vec<Vec<AclBinding>> = filters
                .iter()
                .map(|f| {
                    image
                        .acls
                        .iter()
                        .filter(|b| f.matches(b))
                        .cloned()
                        .collect()
                })
                .collect();
            image.acls.retain(|b| !filters.iter().any(|f| f.matches(b)));
            for b in matched.iter().flatten() {
                info!(acl = %b, "deleted ACL");
            }
            Ok(matched)
        })
        .await
    }

    /// A fresh producer id; a new block is persisted before any id from it is handed out.
    pub async fn allocate_producer_id(&self, shard: &Rc<Shard>) -> Result<i64, ControllerError> {
        let id = self.next_producer_id.get();
        if id >= self.image.borrow().producer_id_block_end {
            self.commit(shard, |image| {
                image.producer_id_block_end =
                    image.producer_id_block_end.max(id) + PRODUCER_ID_BLOCK;
                Ok(())
            })
            .await?;
        }
        let id = self.next_producer_id.get();
        self.next_producer_id.set(id + 1);
        Ok(id)
    }
}

/// `sasl.bootstrap.users`: adds SCRAM-SHA-256 and SCRAM-SHA-512 credentials for each listed user that
/// does not exist yet (existing users are left alone). Returns the names created.
pub fn add_bootstrap_users(
    image: &mut MetadataImage,
    list: &str,
) -> Result<Vec<String>, CredentialError> {
    let mut created = Vec::new();
    for (name, password) in parse_bootstrap_users(list)? {
        if image.user(&name).is_some() {
            continue;
        }
        let mut user = UserRecord {
            name: name.clone(),
            credentials: Vec::new(),
        };
        for m in ScramMechanism::ALL {
            user.upsert(ScramCredential::from_password(
                m,
                &password,
                DEFAULT_ITERATIONS,
            )?);
        }
        image.users.push(user);
        created.push(name);
    }
    Ok(created)
}

/// One change of AlterUserScramCredentials, validated by the Kafka layer.
#[derive(Clone, Debug)]
pub enum ScramChange {
    Delete(String, ScramMechanism),
    Upsert(String, ScramCredential),
}

/// Places `count` new partitions (numbered from `first`) on the least-loaded shards, so partitions spread
/// evenly over cores across all topics, not only within one.
fn place_partitions(image: &MetadataImage, shards: usize, first: usize, count: usize) -> Vec<u32> {
    let mut load = vec![0usize; shards];
    for t in &image.topics {
        for &s in &t.partition_shards {
            if let Some(l) = load.get_mut(s as usize) {
                *l += 1;
            }
        }
    }
    (0..count)
        .map(|i| {
            // Ties go round-robin from the partition number so a single topic alternates shards.
            let start = (first + i) % shards;
            let shard = (0..shards)
                .map(|k| (start + k) % shards)
                .min_by_key(|&s| load[s])
                .expect("at least one shard");
            load[shard] += 1;
            shard as u32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placement_balances_across_topics() {
        let mut image = MetadataImage::default();
        image.topics.push(TopicRecord {
            name: "a".into(),
            id: [0; 16],
            partition_shards: vec![0, 0, 0],
            configs: vec![],
        });
        // Shard 0 already holds topic a's 3 partitions: the new ones fill shard 1 first.
        let placed = place_partitions(&image, 2, 0, 4);
        assert_eq!(placed, vec![1, 1, 1, 1]);
        // On an empty broker, one topic's partitions alternate between shards.
        let empty = MetadataImage::default();
        assert_eq!(place_partitions(&empty, 2, 0, 4), vec![0, 1, 0, 1]);
    }
}
