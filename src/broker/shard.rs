//! One shard's assembly: the services it runs on its core, each given the narrow handles it needs, and
//! what the shard does with a published metadata snapshot. Everything here lives on one core (`Rc`,
//! `RefCell`, no locks); work for another shard travels over the mesh (`runtime::mesh`). This is the
//! only place that sees every service of a shard at once.

use crate::cluster::metadata::MetadataSnapshot;
use crate::cluster::topic_config;
use crate::cluster::view::MetadataView;
use crate::config::BrokerConfig;
use crate::controller::isr::IsrMaintenance;
use crate::controller::Controller;
use crate::coordinator::transactions::TxnCoordinator;
use crate::coordinator::{offsets_topic, GroupCoordinator};
use crate::kafka::scope::Scope;
use crate::metrics::{Registry, ShardMetrics};
use crate::replication::fetcher::{self, ReplicaFetchers};
use crate::runtime::mesh::Mesh;
use crate::runtime::partitions::Partitions;
use crate::runtime::publisher::{MetadataPublisher, MetadataSink};
use crate::storage::log::LogMetrics;
use crate::storage::PartitionLog;
use crate::types::replica_set::Assignment;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;
use tracing::error;

pub struct Shard {
    pub mesh: Rc<Mesh>,
    pub config: Arc<BrokerConfig>,
    pub metadata: Rc<MetadataView>,
    pub partitions: Rc<Partitions>,
    /// The consumer groups whose `__consumer_offsets` partition this shard owns.
    pub groups: Rc<GroupCoordinator>,
    /// Fetchers for the partitions this shard holds follower replicas of.
    fetchers: ReplicaFetchers,
    pub metrics: Arc<ShardMetrics>,
    /// Every shard's and partition's metrics: partitions register their counters here when opened.
    pub registry: Arc<Registry>,
    /// What the Kafka handlers of this shard reach.
    pub scope: Rc<Scope>,
}

impl Shard {
    /// Builds the shard's services and makes them reachable over the mesh.
    pub fn new(
        config: Arc<BrokerConfig>,
        mesh: Rc<Mesh>,
        snapshot: Arc<MetadataSnapshot>,
        registry: Arc<Registry>,
    ) -> Rc<Shard> {
        let metadata = Rc::new(MetadataView::new(snapshot));
        let partitions = Rc::new(Partitions::default());
        let groups = Rc::new(GroupCoordinator::new(partitions.clone()));
        let metrics = registry.shard(mesh.id());
        mesh.provide(partitions.clone());
        mesh.provide(groups.clone());
        mesh.provide(Rc::new(TxnCoordinator::new(partitions.clone())));
        let shard = Rc::new(Shard {
            fetchers: ReplicaFetchers::new(fetcher::ShardLogs {
                id: mesh.id(),
                metadata: metadata.clone(),
                partitions: partitions.clone(),
            }),
            scope: Rc::new(Scope::new(
                &mesh,
                config.clone(),
                metadata.clone(),
                metrics.clone(),
            )),
            mesh,
            config,
            metadata,
            partitions,
            groups,
            metrics,
            registry,
        });
        let weak = Rc::downgrade(&shard);
        shard
            .mesh
            .provide(Rc::new(MetadataSink(Box::new(move |snapshot| {
                if let Some(shard) = weak.upgrade() {
                    shard.apply_metadata(snapshot);
                }
            }))));
        shard
    }

    /// Runs the controller on this shard (`CONTROLLER_SHARD`).
    pub fn provide_controller(&self, controller: Rc<Controller>) {
        self.mesh.provide(controller);
    }

    /// What the controller publishes every change through.
    pub fn publisher(&self) -> MetadataPublisher {
        MetadataPublisher::new(self.mesh.handle())
    }

    /// This shard's periodic ISR check, for the partitions it leads.
    pub fn isr_maintenance(&self) -> IsrMaintenance {
        IsrMaintenance {
            metadata: self.metadata.clone(),
            partitions: self.partitions.clone(),
            controller: self.mesh.handle(),
            lag_max: Duration::from_millis(self.config.replica_lag_time_max_ms),
        }
    }

    /// Installs a new metadata snapshot: opens partitions newly placed here, closes (and deletes) those
    /// whose topic is gone or whose replica moved away, applies changed topic configs and each
    /// partition's leader and ISR, and starts or stops the fetchers of follower replicas.
    pub fn apply_metadata(&self, snapshot: Arc<MetadataSnapshot>) {
        let id = self.mesh.id();
        // A partition stays while this shard holds one of its replicas: a deleted topic, or a replica
        // moved away by a reassignment, is closed and its directory deleted.
        let gone = self.partitions.remove_unless(|topic, partition| {
            snapshot
                .topics
                .get(topic)
                .and_then(|t| t.partitions.get(partition as usize))
                .is_some_and(|p| p.local_shard == Some(id))
        });
        for log in gone {
            log.close(true);
            self.registry.remove_partition(&log.topic, log.partition);
        }
        for topic in snapshot.topics.values() {
            let log_config = topic_config::log_config(&self.config, &topic.configs);
            // Only partitions with a replica on this node, on this shard, get a log here.
            for (p, info) in topic.partitions.iter().enumerate() {
                if info.local_shard != Some(id) {
                    continue;
                }
                let assignment = Assignment {
                    leader: info.leader,
                    leader_epoch: info.leader_epoch,
                    replicas: info.replicas.clone(),
                    isr: info.isr.clone(),
                };
                if let Some(log) = self.partitions.get(&topic.name, p as i32) {
                    if log.config() != log_config {
                        log.set_config(log_config.clone());
                    }
                    log.assign(snapshot.node_id, &assignment);
                    continue;
                }
                let dir = self.config.data_dir.join(format!("{}-{}", topic.name, p));
                let metrics = LogMetrics {
                    partition: self.registry.register_partition(&topic.name, p as i32),
                    shard: self.metrics.clone(),
                };
                match PartitionLog::open(dir, &topic.name, p as i32, log_config.clone(), metrics) {
                    Ok(log) => {
                        log.assign(snapshot.node_id, &assignment);
                        if topic.name == offsets_topic::TOPIC {
                            self.groups.load(&log);
                        }
                        self.partitions.insert(log);
                    }
                    Err(e) => {
                        error!(topic = %topic.name, partition = p, error = %e, "cannot open partition log")
                    }
                }
            }
        }
        self.metadata.set(snapshot.clone());
        self.fetchers.reconcile(&snapshot);
    }
}
