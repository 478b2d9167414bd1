//! The controller: the only writer of cluster metadata. It lives on `CONTROLLER_SHARD`; other shards
//! send it their admin requests. Each change is computed on a copy of the current image, made durable —
//! the local file on a single node, the Raft quorum in a cluster — and published to every shard before
//! it is acknowledged, so a client that created a topic can produce to it at once on any connection.
//!
//! This file is the shared core every change goes through (`commit`: copy, change, make durable,
//! install, publish); one file per kind of change: `topics.rs`, `configs.rs`, `brokers.rs` (registration,
//! fencing, leader elections, ISR), `principals.rs` (SCRAM users, ACLs), `producer_ids.rs`. Beside
//! them the controller's background work: `isr.rs` (each shard's ISR check), `liveness.rs`,
//! `registration.rs`.

mod brokers;
mod configs;
pub mod isr;
pub mod liveness;
mod principals;
mod producer_ids;
pub mod registration;
mod topics;

pub use brokers::IsrChange;
pub use configs::ConfigChange;
pub use principals::{add_bootstrap_users, ScramChange};

use crate::cluster::fencing;
use crate::cluster::metadata::ReassignmentRecord;
use crate::cluster::metadata::{
    validate_topic_name, BrokerRecord, MetadataError, MetadataImage, MetadataSnapshot, TopicRecord,
};
use crate::cluster::placement;
use crate::cluster::reassignment::{self, ReassignError};
use crate::cluster::topic_config::{self, ConfigError};
use crate::config::BrokerConfig;
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
