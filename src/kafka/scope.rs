//! What a Kafka handler may reach on its shard: the narrow handles of the services it calls into,
//! nothing else. The broker assembly builds one per shard; a test builds one on `Mesh::single()`.

use super::fetch_session::SessionCache;
use crate::cluster::metadata::MetadataSnapshot;
use crate::cluster::view::MetadataView;
use crate::config::BrokerConfig;
use crate::controller::Controller;
use crate::coordinator::transactions::TxnCoordinator;
use crate::coordinator::GroupCoordinator;
use crate::metrics::ShardMetrics;
use crate::runtime::mesh::Sharded;
use crate::runtime::mesh::{Mesh, ShardId};
use crate::runtime::partitions::Partitions;
use crate::runtime::router::Router;
use crate::security::acl::Authorizer;
use crate::storage::PartitionLog;
use std::rc::Rc;
use std::sync::Arc;

pub struct Scope {
    /// The shard this scope serves requests on.
    pub id: ShardId,
    pub config: Arc<BrokerConfig>,
    view: Rc<MetadataView>,
    /// This shard's counters.
    pub metrics: Arc<ShardMetrics>,
    /// Splits per-partition work over the partitions' shards.
    pub router: Router,
    /// Every shard's slice of the group coordinator.
    pub groups: Sharded<GroupCoordinator>,
    /// Every shard's slice of the transaction coordinator.
    pub transactions: Sharded<TxnCoordinator>,
    /// The controller, on `CONTROLLER_SHARD`.
    pub controller: Sharded<Controller>,
    /// Set when `authorizer.class.name` turns ACL checks on; `None` costs the handlers nothing.
    pub authorizer: Option<Authorizer>,
    /// Fetch sessions of the connections this shard accepted.
    pub fetch_sessions: SessionCache,
}

impl Scope {
    pub fn new(
        mesh: &Rc<Mesh>,
        config: Arc<BrokerConfig>,
        view: Rc<MetadataView>,
        metrics: Arc<ShardMetrics>,
    ) -> Scope {
        Scope {
            id: mesh.id(),
            authorizer: config.authorizer(),
            config,
            router: Router {
                metadata: view.clone(),
                partitions: mesh.handle::<Partitions>(),
            },
            view,
            metrics,
            groups: mesh.handle(),
            transactions: mesh.handle(),
            controller: mesh.handle(),
            fetch_sessions: SessionCache::default(),
        }
    }

    /// This shard's current metadata snapshot.
    pub fn metadata(&self) -> Arc<MetadataSnapshot> {
        self.view.get()
    }

    /// A partition log this shard owns.
    pub fn partition(&self, topic: &str, partition: i32) -> Option<Rc<PartitionLog>> {
        self.router.partitions.local()?.get(topic, partition)
    }
}
