//! How the controller hands a new metadata snapshot to every shard without knowing what a shard does
//! with it: each shard provides a `MetadataSink` (the broker assembly's "apply this snapshot"), and the
//! publisher runs it on every shard in turn.

use super::mesh::Sharded;
use crate::cluster::metadata::MetadataSnapshot;
use std::sync::Arc;
use tracing::warn;

/// What a shard does with a published snapshot.
pub struct MetadataSink(pub Box<dyn Fn(Arc<MetadataSnapshot>)>);

#[derive(Clone)]
pub struct MetadataPublisher {
    sinks: Sharded<MetadataSink>,
}

impl MetadataPublisher {
    pub fn new(sinks: Sharded<MetadataSink>) -> MetadataPublisher {
        MetadataPublisher { sinks }
    }

    /// How many shards the node runs (placement spreads partitions over them).
    pub fn shards(&self) -> usize {
        self.sinks.shards()
    }

    /// Publishes a snapshot to every shard and waits until all have applied it.
    pub async fn publish(&self, snapshot: Arc<MetadataSnapshot>) {
        for target in 0..self.sinks.shards() {
            let snap = snapshot.clone();
            let applied = self
                .sinks
                .invoke_on(target, move |sink| async move { (sink.0)(snap) })
                .await;
            if applied.is_none() {
                warn!(target, "shard did not apply the metadata update");
            }
        }
    }
}
