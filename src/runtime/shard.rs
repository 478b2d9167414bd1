//! A shard: one pinned glommio executor, the partitions it owns, its copy of the metadata snapshot, and
//! its end of the mesh to every other shard. Everything here lives on one core (`Rc`, `RefCell`, no locks);
//! work for another shard travels as a boxed job over the mesh (`submit_to`), Seastar-style.

use crate::cluster::controller::Controller;
use crate::cluster::metadata::MetadataSnapshot;
use crate::cluster::topic_config;
use crate::config::BrokerConfig;
use crate::coordinator::{offsets_topic, GroupCoordinator};
use crate::kafka::fetch_session::SessionCache;
use crate::metrics::{Registry, ShardMetrics};
use crate::replication::fetcher::ReplicaFetchers;
use crate::types::replica_set::Assignment;
use crate::security::acl::Authorizer;
use crate::storage::PartitionLog;
use glommio::channels::channel_mesh::{Receivers, Senders};
use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use tracing::{error, warn};

pub type ShardId = usize;

/// Work sent to another shard: runs there with that shard's state.
pub type Job = Box<dyn FnOnce(Rc<Shard>) -> Pin<Box<dyn Future<Output = ()>>> + Send>;

/// The shard hosting the controller (topic metadata changes, producer id blocks).
pub const CONTROLLER_SHARD: ShardId = 0;

pub struct Shard {
    pub id: ShardId,
    pub count: usize,
    pub config: Arc<BrokerConfig>,
    senders: Senders<Job>,
    metadata: RefCell<Arc<MetadataSnapshot>>,
    partitions: RefCell<HashMap<(String, i32), Rc<PartitionLog>>>,
    /// Present on `CONTROLLER_SHARD` only.
    pub controller: Option<Controller>,
    /// Fetch sessions of the connections this shard accepted.
    pub fetch_sessions: SessionCache,
    /// The consumer groups whose `__consumer_offsets` partition this shard owns.
    pub groups: GroupCoordinator,
    /// This shard's counters (relaxed atomics, written only here; read by the admin endpoint).
    pub metrics: Arc<ShardMetrics>,
    /// Every shard's and partition's metrics: partitions register their counters here when opened.
    pub registry: Arc<Registry>,
    /// Set when `authorizer.class.name` turns ACL checks on; `None` costs the handlers nothing.
    pub authorizer: Option<Authorizer>,
    /// Fetchers for the partitions this shard holds follower replicas of.
    fetchers: ReplicaFetchers,
}

impl Shard {
    pub fn new(
        config: Arc<BrokerConfig>,
        senders: Senders<Job>,
        metadata: Arc<MetadataSnapshot>,
        controller: Option<Controller>,
        registry: Arc<Registry>,
    ) -> Rc<Shard> {
        Rc::new(Shard {
            metrics: registry.shard(senders.peer_id()),
            registry,
            authorizer: config.authorizer(),
            id: senders.peer_id(),
            count: senders.nr_consumers(),
            config,
            senders,
            metadata: RefCell::new(metadata),
            partitions: RefCell::default(),
            controller,
            fetch_sessions: SessionCache::default(),
            groups: GroupCoordinator::default(),
            fetchers: ReplicaFetchers::default(),
        })
    }

    /// Runs every job other shards send here, each as its own task (a parked fetch must not block others).
    pub fn start_mesh_receivers(self: &Rc<Self>, mut receivers: Receivers<Job>) {
        for (_, rx) in receivers.streams() {
            let shard = self.clone();
            glommio::spawn_local(async move {
                while let Some(job) = rx.recv().await {
                    glommio::spawn_local(job(shard.clone())).detach();
                }
            })
            .detach();
        }
    }

    /// Runs `f` on shard `target` and returns its result here (one mesh message each way). On the own
    /// shard it simply runs inline.
    pub async fn submit_to<R, F, Fut>(self: &Rc<Self>, target: ShardId, f: F) -> Option<R>
    where
        R: Send + 'static,
        F: FnOnce(Rc<Shard>) -> Fut + Send + 'static,
        Fut: Future<Output = R> + 'static,
    {
        if target == self.id {
            return Some(f(self.clone()).await);
        }
        // The result travels back over the mesh as a job of its own, and the oneshot is completed on
        // this (the waiting) shard: a task's waker is never woken from another thread. (glommio's
        // cross-thread wake-ups raced with task teardown under load: double frees.)
        let (tx, rx) = futures_channel::oneshot::channel();
        let origin = self.id;
        let job: Job = Box::new(move |shard| {
            Box::pin(async move {
                let result = f(shard.clone()).await;
                let reply: Job = Box::new(move |_| {
                    Box::pin(async move {
                        let _ = tx.send(result);
                    })
                });
                if shard.senders.send_to(origin, reply).await.is_err() {
                    error!(
                        from = shard.id,
                        to = origin,
                        "mesh channel closed; reply lost"
                    );
                }
            })
        });
        if self.senders.send_to(target, job).await.is_err() {
            error!(from = self.id, to = target, "mesh channel closed");
            return None;
        }
        rx.await.ok()
    }

    pub fn metadata(&self) -> Arc<MetadataSnapshot> {
        self.metadata.borrow().clone()
    }

    pub fn partition(&self, topic: &str, partition: i32) -> Option<Rc<PartitionLog>> {
        self.partitions
            .borrow()
            .get(&(topic.to_string(), partition))
            .cloned()
    }

    pub fn local_partitions(&self) -> Vec<Rc<PartitionLog>> {
        self.partitions.borrow().values().cloned().collect()
    }

    /// Installs a new metadata snapshot: opens partitions newly placed here, closes (and deletes) those
    /// whose topic is gone or whose replica moved away, applies changed topic configs and each partition's leader and ISR, and
    /// starts or stops the fetchers of follower replicas.
    pub fn apply_metadata(self: &Rc<Self>, snapshot: Arc<MetadataSnapshot>) {
        let mut parts = self.partitions.borrow_mut();
        // A partition stays while this shard holds one of its replicas: a deleted topic, or a replica
        // moved away by a reassignment, is closed and its directory deleted.
        parts.retain(|(topic, partition), log| {
            let keep = snapshot
                .topics
                .get(topic)
                .and_then(|t| t.partitions.get(*partition as usize))
                .is_some_and(|p| p.local_shard == Some(self.id));
            if !keep {
                log.close(true);
                self.registry.remove_partition(&log.topic, log.partition);
            }
            keep
        });
        for topic in snapshot.topics.values() {
            let log_config = topic_config::log_config(&self.config, &topic.configs);
            // Only partitions with a replica on this node, on this shard, get a log here.
            for (p, info) in topic.partitions.iter().enumerate() {
                if info.local_shard != Some(self.id) {
                    continue;
                }
                let key = (topic.name.clone(), p as i32);
                let assignment = Assignment {
                    leader: info.leader,
                    leader_epoch: info.leader_epoch,
                    replicas: info.replicas.clone(),
                    isr: info.isr.clone(),
                };
                if let Some(log) = parts.get(&key) {
                    if log.config() != log_config {
                        log.set_config(log_config.clone());
                    }
                    log.assign(snapshot.node_id, &assignment);
                    continue;
                }
                let dir = self.config.data_dir.join(format!("{}-{}", topic.name, p));
                let metrics = crate::storage::log::LogMetrics {
                    partition: self.registry.register_partition(&topic.name, p as i32),
                    shard: self.metrics.clone(),
                };
                match PartitionLog::open(dir, &topic.name, p as i32, log_config.clone(), metrics) {
                    Ok(log) => {
                        log.assign(snapshot.node_id, &assignment);
                        if topic.name == offsets_topic::TOPIC {
                            self.groups.load(&log);
                        }
                        parts.insert(key, log);
                    }
                    Err(e) => {
                        error!(topic = %topic.name, partition = p, error = %e, "cannot open partition log")
                    }
                }
            }
        }
        drop(parts);
        *self.metadata.borrow_mut() = snapshot.clone();
        self.fetchers.reconcile(self, &snapshot);
    }

    /// Returns once every other shard has finished its startup (log recovery), so no shard accepts
    /// clients while a partition it may forward to is still being recovered. A job only runs on a shard
    /// after its startup code yields, so one round trip to each peer is enough.
    pub async fn wait_for_peers_started(self: &Rc<Self>) {
        for peer in (0..self.count).filter(|&p| p != self.id) {
            self.submit_to(peer, |_| async {}).await;
        }
    }

    /// Publishes a snapshot to every shard and waits until all have applied it.
    pub async fn publish_metadata(self: &Rc<Self>, snapshot: Arc<MetadataSnapshot>) {
        for target in 0..self.count {
            let snap = snapshot.clone();
            if self
                .submit_to(
                    target,
                    move |shard| async move { shard.apply_metadata(snap) },
                )
                .await
                .is_none()
            {
                warn!(target, "shard did not apply the metadata update");
            }
        }
    }
}
