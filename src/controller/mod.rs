//! The controller: the only writer of cluster metadata. It lives on `CONTROLLER_SHARD`; other shards
//! send it their admin requests. Each change is computed on a copy of the current image, made durable —
//! the local file on a single node, the Raft quorum in a cluster — and published to every shard before
//! it is acknowledged, so a client that created a topic can produce to it at once on any connection.

use crate::cluster::fencing;
use crate::cluster::metadata::ReassignmentRecord;
use crate::cluster::metadata::{
    validate_topic_name, BrokerRecord, MetadataError, MetadataImage, MetadataSnapshot, TopicRecord,
};
use crate::cluster::placement;
use crate::cluster::reassignment::{self, ReassignError};
use crate::cluster::topic_config::{self, ConfigError};
use crate::config::BrokerConfig;
pub mod isr;
pub mod liveness;
pub mod registration;

use crate::quorum::proposal::LEARNER_REGISTRATION;
use crate::quorum::{Outcome, Quorum, QuorumError};
use crate::runtime::publisher::MetadataPublisher;
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
    #[error("replication factor {factor} is invalid: it must be between 1 and the number of registered brokers ({brokers})")]
    InvalidReplicationFactor { factor: i16, brokers: usize },
    #[error("ISR change for {topic}-{partition} refused: {why}")]
    StaleIsrChange {
        topic: String,
        partition: i32,
        why: &'static str,
    },
    #[error("no broker has registered yet")]
    NoBrokers,
    #[error(transparent)]
    InvalidConfig(#[from] ConfigError),
    #[error("metadata could not be persisted: {0}")]
    Persist(#[from] MetadataError),
    #[error(transparent)]
    Quorum(#[from] QuorumError),
    #[error("sasl.bootstrap.users: {0}")]
    Credentials(#[from] CredentialError),
    #[error("the metadata change kept losing races with other changes; try again")]
    Contended,
    #[error(transparent)]
    Reassign(#[from] ReassignError),
}

/// How an IncrementalAlterConfigs / AlterConfigs change applies to one key.
#[derive(Clone, Debug)]
pub enum ConfigChange {
    Set(String, String),
    Delete(String),
    /// Adds the comma-separated items to a list config (IncrementalAlterConfigs APPEND).
    Append(String, String),
    /// Removes the comma-separated items from a list config (IncrementalAlterConfigs SUBTRACT).
    Subtract(String, String),
}

/// Producer ids are handed out from blocks; only the block's end is persisted.
const PRODUCER_ID_BLOCK: i64 = 1000;
/// Times a replicated change is recomputed after losing a race to another node's change.
const MAX_ATTEMPTS: usize = 8;

/// Where changes are made durable.
enum Store {
    /// A single node: one local file in the data dir.
    LocalFile(PathBuf),
    /// A cluster: the Raft metadata log (the Ready loop installs committed images).
    Quorum(Rc<Quorum>),
}

pub struct Controller {
    node_id: i32,
    config: Arc<BrokerConfig>,
    /// Every change is published to every shard before it is acknowledged.
    publisher: MetadataPublisher,
    store: Store,
    image: RefCell<MetadataImage>,
    /// Serialises this node's changes so they are made durable and published in order.
    changes: Semaphore,
    /// The next producer id of the block this node reserved, and the block's end.
    next_producer_id: Cell<i64>,
    producer_id_limit: Cell<i64>,
}

impl Controller {
    /// A single node's controller, persisting to the data directory.
    pub fn local(
        config: Arc<BrokerConfig>,
        publisher: MetadataPublisher,
        image: MetadataImage,
    ) -> Controller {
        let store = Store::LocalFile(config.data_dir.clone());
        Self::with_store(config, publisher, store, image)
    }

    /// A cluster node's controller: changes go through `quorum`.
    pub fn replicated(
        config: Arc<BrokerConfig>,
        publisher: MetadataPublisher,
        quorum: Rc<Quorum>,
        image: MetadataImage,
    ) -> Controller {
        Self::with_store(config, publisher, Store::Quorum(quorum), image)
    }

    fn with_store(
        config: Arc<BrokerConfig>,
        publisher: MetadataPublisher,
        store: Store,
        image: MetadataImage,
    ) -> Controller {
        Controller {
            node_id: config.node_id,
            config,
            publisher,
            store,
            image: RefCell::new(image),
            changes: Semaphore::new(1),
            next_producer_id: Cell::new(0),
            producer_id_limit: Cell::new(0),
        }
    }

    /// The active controller: the Raft leader in a cluster, this node otherwise.
    pub fn active_controller(&self) -> Option<i32> {
        match &self.store {
            Store::LocalFile(_) => Some(self.node_id),
            Store::Quorum(q) => q.leader(),
        }
    }

    pub fn snapshot(&self) -> MetadataSnapshot {
        MetadataSnapshot::from_image(&self.image.borrow(), self.node_id, self.active_controller())
    }

    pub fn image_version(&self) -> u64 {
        self.image.borrow().version
    }

    /// The current image encoded (a Raft snapshot's data).
    pub fn encoded_image(&self) -> Vec<u8> {
        self.image.borrow().encode()
    }

    /// Installs an image the quorum committed and publishes it to every shard.
    pub async fn install(&self, image: MetadataImage) {
        *self.image.borrow_mut() = image;
        self.republish().await;
    }

    /// Publishes the current image again (the active controller changed).
    pub async fn republish(&self) {
        self.publisher.publish(Arc::new(self.snapshot())).await;
    }

    /// Applies `change` to a copy of the image, makes it durable, installs it and publishes it to
    /// every shard. In a cluster the change may be computed again on a newer image (another node's
    /// change committed first), so `change` must only depend on the image it is given.
    async fn commit<T>(
        &self,
        mut change: impl FnMut(&mut MetadataImage) -> Result<T, ControllerError>,
    ) -> Result<T, ControllerError> {
        let _permit = self
            .changes
            .acquire_permit(1)
            .await
            .expect("controller semaphore is never closed");
        for _ in 0..MAX_ATTEMPTS {
            let mut image = self.image.borrow().clone();
            let base_version = image.version;
            let out = change(&mut image)?;
            image.version = base_version + 1;
            match &self.store {
                Store::LocalFile(dir) => {
                    image.persist(dir)?;
                    self.install(image).await;
                    return Ok(out);
                }
                Store::Quorum(quorum) => match quorum.propose(base_version, &image).await? {
                    Outcome::Installed => return Ok(out),
                    Outcome::Stale => continue,
                },
            }
        }
        Err(ControllerError::Contended)
    }

    /// The brokers partitions can be placed on: the registered ones, or this node alone.
    fn placement_brokers(&self, image: &MetadataImage, shards: usize) -> Vec<BrokerRecord> {
        match &self.store {
            Store::Quorum(_) => image
                .brokers
                .iter()
                .filter(|b| !image.fenced_brokers.contains(&b.node_id))
                .cloned()
                .collect(),
            Store::LocalFile(_) => vec![BrokerRecord {
                node_id: self.node_id,
                endpoints: Vec::new(),
                shards: shards as u32,
                rack: None,
                raft_address: None,
            }],
        }
    }

    /// Registers (or re-registers) this node as a broker, and adds `sasl.bootstrap.users` missing from
    /// the image. The first registration of a new cluster also picks its cluster id.
    pub async fn register_broker(
        &self,
        broker: BrokerRecord,
        bootstrap_users: Option<&str>,
    ) -> Result<(), ControllerError> {
        if let Store::Quorum(quorum) = &self.store {
            if quorum.learner {
                let record = MetadataImage {
                    brokers: vec![broker.clone()],
                    ..Default::default()
                };
                quorum.propose(LEARNER_REGISTRATION, &record).await?;
                info!(node_id = broker.node_id, rack = ?broker.rack, "broker registered (Raft learner)");
                return Ok(());
            }
        }
        self.commit(|image| {
            if image.cluster_id.is_empty() {
                image.cluster_id = crate::cluster::metadata::new_cluster_id();
            }
            image.brokers.retain(|b| b.node_id != broker.node_id);
            image.brokers.push(broker.clone());
            if let Some(list) = bootstrap_users {
                let created = add_bootstrap_users(image, list)?;
                if !created.is_empty() {
                    info!(users = ?created, "created SASL users from sasl.bootstrap.users");
                }
            }
            Ok(())
        })
        .await?;
        info!(node_id = broker.node_id, rack = ?broker.rack, "broker registered");
        Ok(())
    }

    pub fn registered_brokers(&self) -> usize {
        self.image.borrow().brokers.len()
    }

    /// The current image with `broker` registered (replacing an earlier record of the same node) and
    /// the next version: how every node applies a learner's registration.
    pub fn with_broker(&self, broker: BrokerRecord) -> MetadataImage {
        let mut image = self.image.borrow().clone();
        image.brokers.retain(|b| b.node_id != broker.node_id);
        image.brokers.push(broker);
        image.version += 1;
        image
    }

    /// Starts moving a partition to `target` replicas, or cancels its move (`None`).
    pub async fn reassign(
        &self,
        topic: String,
        partition: i32,
        target: Option<Vec<i32>>,
    ) -> Result<(), ControllerError> {
        self.commit(|image| {
            match &target {
                Some(t) => reassignment::start(image, &topic, partition, t),
                None => reassignment::cancel(image, &topic, partition),
            }
            .map_err(ControllerError::from)
        })
        .await?;
        info!(%topic, partition, ?target, "partition reassignment changed");
        Ok(())
    }

    /// Completes the reassignments whose new replicas are all in sync, if any.
    pub async fn complete_reassignments(&self) -> Result<usize, ControllerError> {
        if !reassignment::completion_pending(&self.image.borrow()) {
            return Ok(0);
        }
        let done = self
            .commit(|image| Ok(reassignment::complete_ready(image)))
            .await?;
        info!(completed = done, "partition reassignments completed");
        Ok(done)
    }

    /// Reassignments under way, each with the partition's current replica list.
    pub fn reassignments(&self) -> Vec<(ReassignmentRecord, Vec<i32>)> {
        let image = self.image.borrow();
        image
            .reassignments
            .iter()
            .filter_map(|r| {
                let p = image
                    .topic(&r.topic)?
                    .partitions
                    .get(r.partition as usize)?;
                Some((r.clone(), p.replicas.clone()))
            })
            .collect()
    }

    /// Registered broker-only nodes (Raft learners) and their Raft addresses.
    pub fn learner_addresses(&self) -> Vec<(i32, String)> {
        self.image
            .borrow()
            .brokers
            .iter()
            .filter_map(|b| Some((b.node_id, b.raft_address.clone()?)))
            .collect()
    }

    /// Every registered broker's id and whether it is fenced.
    pub fn broker_fencing(&self) -> Vec<(i32, bool)> {
        let image = self.image.borrow();
        image
            .brokers
            .iter()
            .map(|b| (b.node_id, image.fenced_brokers.contains(&b.node_id)))
            .collect()
    }

    /// Fences `node` (its leaderships move to in-sync replicas) or unfences it (leaderless partitions
    /// it is in sync for come back to it). Returns how many partitions changed leader.
    pub async fn set_fenced(&self, node: i32, fenced: bool) -> Result<usize, ControllerError> {
        let moved = self
            .commit(|image| {
                Ok(if fenced {
                    fencing::fence(image, node)
                } else {
                    fencing::unfence(image, node)
                })
            })
            .await?;
        info!(
            node,
            fenced,
            leaders_moved = moved,
            "broker fencing changed"
        );
        Ok(moved)
    }

    /// Kafka's preferred leader election, when some partition needs it. Returns how many moved.
    pub async fn elect_preferred_leaders(&self) -> Result<usize, ControllerError> {
        if !fencing::preferred_election_pending(&self.image.borrow()) {
            return Ok(0);
        }
        let moved = self
            .commit(|image| Ok(fencing::elect_preferred_leaders(image)))
            .await?;
        info!(leaders_moved = moved, "preferred leaders elected");
        Ok(moved)
    }

    /// AlterPartition, as a partition's leader asks for it: replaces the ISR of `topic`-`partition`
    /// with `new_isr`, but only if `leader` still leads it at `leader_epoch` and the ISR is still
    /// `expected_isr` (compare-and-set, so a stale leader or a concurrent change cannot overwrite).
    /// Nothing else changes: the leader epoch stays.
    pub async fn alter_isr(&self, change: IsrChange) -> Result<(), ControllerError> {
        let refuse = |why| ControllerError::StaleIsrChange {
            topic: change.topic.clone(),
            partition: change.partition,
            why,
        };
        self.commit(|image| {
            let p = image
                .topics
                .iter_mut()
                .find(|t| t.name == change.topic)
                .and_then(|t| t.partitions.get_mut(change.partition as usize))
                .ok_or_else(|| refuse("no such partition"))?;
            if p.leader != change.leader || p.leader_epoch != change.leader_epoch {
                return Err(refuse("the requester no longer leads it at that epoch"));
            }
            if p.isr != change.expected_isr {
                return Err(refuse("the ISR changed meanwhile"));
            }
            if !change.new_isr.contains(&p.leader)
                || change.new_isr.iter().any(|r| !p.replicas.contains(r))
            {
                return Err(refuse("the new ISR must hold the leader and only replicas"));
            }
            p.isr = change.new_isr.clone();
            Ok(())
        })
        .await?;
        info!(topic = %change.topic, partition = change.partition, isr = ?change.new_isr, "ISR changed");
        Ok(())
    }

    pub async fn create_topic(
        &self,
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
        for (k, v) in &configs {
            topic_config::validate(k, v)?;
        }
        if self.image.borrow().topic(&name).is_some() {
            return Err(ControllerError::TopicExists(name));
        }
        let brokers = self.placement_brokers(&self.image.borrow(), self.publisher.shards());
        checked_replication_factor(replication_factor, &brokers)?;
        if validate_only {
            return Ok(());
        }
        let shards = self.publisher.shards();
        self.commit(|image| {
            if image.topic(&name).is_some() {
                return Err(ControllerError::TopicExists(name.clone()));
            }
            let brokers = self.placement_brokers(image, shards);
            let factor = checked_replication_factor(replication_factor, &brokers)?;
            let partitions = placement::place(image, &brokers, factor, 0, partitions as usize);
            image.topics.push(TopicRecord {
                name: name.clone(),
                id: *Uuid::new_v4().as_bytes(),
                partitions,
                configs: configs.clone(),
            });
            Ok(())
        })
        .await?;
        info!(topic = %name, partitions, "created topic");
        Ok(())
    }

    pub async fn delete_topic(&self, name: String) -> Result<(), ControllerError> {
        self.commit(|image| {
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
        name: String,
        new_total: i32,
        validate_only: bool,
    ) -> Result<(), ControllerError> {
        let shards = self.publisher.shards();
        // (current partition count, the topic's replication factor)
        let check = |image: &MetadataImage| -> Result<(usize, i16), ControllerError> {
            let topic = image
                .topic(&name)
                .ok_or_else(|| ControllerError::UnknownTopic(name.clone()))?;
            let current = topic.partitions.len();
            if new_total as i64 <= current as i64 {
                return Err(ControllerError::InvalidPartitions(format!(
                    "topic currently has {current} partitions, {new_total} would not be an increase"
                )));
            }
            let factor = topic.partitions.first().map_or(1, |p| p.replicas.len());
            Ok((current, factor as i16))
        };
        check(&self.image.borrow())?;
        if validate_only {
            return Ok(());
        }
        self.commit(|image| {
            let (current, factor) = check(image)?;
            let brokers = self.placement_brokers(image, shards);
            let factor = checked_replication_factor(factor, &brokers)?;
            let added = placement::place(
                image,
                &brokers,
                factor,
                current,
                new_total as usize - current,
            );
            let topic = image
                .topics
                .iter_mut()
                .find(|t| t.name == name)
                .expect("checked above");
            topic.partitions.extend(added);
            Ok(())
        })
        .await?;
        info!(topic = %name, partitions = new_total, "added partitions");
        Ok(())
    }

    pub async fn alter_configs(
        &self,
        name: String,
        changes: Vec<ConfigChange>,
        replace_all: bool,
        validate_only: bool,
    ) -> Result<(), ControllerError> {
        if self.image.borrow().topic(&name).is_none() {
            return Err(ControllerError::UnknownTopic(name));
        }
        let broker = self.config.clone();
        let edit = |image: &mut MetadataImage| {
            let topic = image
                .topics
                .iter_mut()
                .find(|t| t.name == name)
                .ok_or_else(|| ControllerError::UnknownTopic(name.clone()))?;
            apply_config_changes(&broker, &mut topic.configs, &changes, replace_all)
        };
        // Checked on a copy first, so validate_only answers as the real change would.
        edit(&mut self.image.borrow().clone())?;
        if validate_only {
            return Ok(());
        }
        self.commit(edit).await
    }

    /// Creates `__consumer_offsets` on first start: offsets.topic.num.partitions partitions, compacted,
    /// 100 MiB segments (Kafka's settings for it).
    pub async fn ensure_offsets_topic(&self) -> Result<(), ControllerError> {
        let name = crate::coordinator::offsets_topic::TOPIC.to_string();
        if self.image.borrow().topic(&name).is_some() {
            return Ok(());
        }
        let configs = vec![
            ("cleanup.policy".to_string(), "compact".to_string()),
            ("segment.bytes".to_string(), "104857600".to_string()),
        ];
        let partitions = self.config.offsets_topic_num_partitions;
        match self.create_topic(name, partitions, 1, configs, false).await {
            Ok(()) | Err(ControllerError::TopicExists(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// AlterUserScramCredentials: applies every change in one persisted metadata change. A user whose
    /// last credential is deleted is removed.
    pub async fn alter_scram_credentials(
        &self,
        changes: Vec<ScramChange>,
    ) -> Result<(), ControllerError> {
        if changes.is_empty() {
            return Ok(());
        }
        self.commit(|image| {
            for change in changes.iter().cloned() {
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
    pub async fn create_acls(&self, bindings: Vec<AclBinding>) -> Result<(), ControllerError> {
        if bindings.is_empty() {
            return Ok(());
        }
        self.commit(|image| {
            for b in &bindings {
                if !image.acls.contains(b) {
                    info!(acl = %b, "created ACL");
                    image.acls.push(b.clone());
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
        filters: Vec<AclFilter>,
    ) -> Result<Vec<Vec<AclBinding>>, ControllerError> {
        self.commit(|image| {
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

    /// A fresh producer id. Blocks are reserved through a metadata change that moves the block end
    /// (computed on the image the change is installed on), so blocks of different nodes never overlap.
    pub async fn allocate_producer_id(&self) -> Result<i64, ControllerError> {
        if self.next_producer_id.get() >= self.producer_id_limit.get() {
            let start = self
                .commit(|image| {
                    let start = image.producer_id_block_end;
                    image.producer_id_block_end = start + PRODUCER_ID_BLOCK;
                    Ok(start)
                })
                .await?;
            self.next_producer_id.set(start);
            self.producer_id_limit.set(start + PRODUCER_ID_BLOCK);
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

/// Applies config changes to a topic's overrides; every value it sets (APPEND / SUBTRACT computed
/// from the current value, the default where none is set) is checked first.
fn apply_config_changes(
    broker: &BrokerConfig,
    configs: &mut Vec<(String, String)>,
    changes: &[ConfigChange],
    replace_all: bool,
) -> Result<(), ControllerError> {
    if replace_all {
        configs.clear();
    }
    for c in changes {
        let set = |configs: &mut Vec<(String, String)>, k: &str, v: String| {
            topic_config::validate(k, &v)?;
            configs.retain(|(key, _)| key != k);
            configs.push((k.to_string(), v));
            Ok::<(), ConfigError>(())
        };
        match c {
            ConfigChange::Set(k, v) => set(configs, k, v.clone())?,
            ConfigChange::Delete(k) => configs.retain(|(key, _)| key != k),
            ConfigChange::Append(k, items) | ConfigChange::Subtract(k, items) => {
                let current = topic_config::effective_value(broker, configs, k)
                    .ok_or_else(|| ConfigError::Unknown(k.clone()))?;
                let append = matches!(c, ConfigChange::Append(..));
                let value = topic_config::edit_list(k, &current, items, append)?;
                set(configs, k, value)?
            }
        }
    }
    Ok(())
}

/// `replication_factor` checked against the brokers partitions can be placed on.
fn checked_replication_factor(
    replication_factor: i16,
    brokers: &[BrokerRecord],
) -> Result<usize, ControllerError> {
    if brokers.is_empty() {
        return Err(ControllerError::NoBrokers);
    }
    match usize::try_from(replication_factor) {
        Ok(n) if (1..=brokers.len()).contains(&n) => Ok(n),
        _ => Err(ControllerError::InvalidReplicationFactor {
            factor: replication_factor,
            brokers: brokers.len(),
        }),
    }
}

/// An ISR change a partition leader asks for (Kafka's AlterPartition).
#[derive(Clone, Debug)]
pub struct IsrChange {
    pub topic: String,
    pub partition: i32,
    pub leader: i32,
    pub leader_epoch: i32,
    pub expected_isr: Vec<i32>,
    pub new_isr: Vec<i32>,
}

/// One change of AlterUserScramCredentials, validated by the Kafka layer.
#[derive(Clone, Debug)]
pub enum ScramChange {
    Delete(String, ScramMechanism),
    Upsert(String, ScramCredential),
}

/// The quorum's Ready loop applies committed images to the controller through this.
impl crate::quorum::MetadataStateMachine for Controller {
    fn image_version(&self) -> u64 {
        Controller::image_version(self)
    }

    fn encoded_image(&self) -> Vec<u8> {
        Controller::encoded_image(self)
    }

    fn learner_addresses(&self) -> Vec<(i32, String)> {
        Controller::learner_addresses(self)
    }

    fn with_broker(&self, broker: BrokerRecord) -> MetadataImage {
        Controller::with_broker(self, broker)
    }

    async fn install(&self, image: MetadataImage) {
        Controller::install(self, image).await
    }

    async fn republish(&self) {
        Controller::republish(self).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replication_factor_is_bounded_by_the_brokers() {
        let brokers: Vec<BrokerRecord> = (1..=3)
            .map(|node_id| BrokerRecord {
                node_id,
                endpoints: Vec::new(),
                shards: 1,
                rack: None,
                raft_address: None,
            })
            .collect();
        assert_eq!(checked_replication_factor(3, &brokers).unwrap(), 3);
        assert_eq!(checked_replication_factor(1, &brokers).unwrap(), 1);
        for bad in [0, 4, -1] {
            let e = checked_replication_factor(bad, &brokers).unwrap_err();
            assert!(
                e.to_string().contains("registered brokers (3)"),
                "{bad}: {e}"
            );
        }
        assert!(matches!(
            checked_replication_factor(1, &[]),
            Err(ControllerError::NoBrokers)
        ));
    }
}
