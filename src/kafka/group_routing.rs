//! Where a group lives: the shard owning its `__consumer_offsets` partition. Group requests are run
//! there; until `__consumer_offsets` exists (first seconds of a new broker) the answer is
//! COORDINATOR_NOT_AVAILABLE, which clients retry.

use crate::coordinator::offsets_topic::{partition_for, TOPIC};
use crate::runtime::shard::Shard;
use crate::storage::PartitionLog;
use kafka_protocol::ResponseError;
use std::future::Future;
use std::rc::Rc;

/// The `__consumer_offsets` partition of `group_id` and the shard owning it.
fn locate(shard: &Shard, group_id: &str) -> Option<(i32, usize)> {
    let metadata = shard.metadata();
    let topic = metadata.topics.get(TOPIC)?;
    let partition = partition_for(group_id, topic.partition_shards.len() as i32);
    Some((partition, *topic.partition_shards.get(partition as usize)?))
}

/// True once groups can be served (`__consumer_offsets` exists).
pub fn coordinator_ready(shard: &Shard) -> bool {
    shard.metadata().topics.contains_key(TOPIC)
}

/// Runs `f` on the shard coordinating `group_id`, with that group's `__consumer_offsets` log.
pub async fn on_group_shard<T, F, Fut>(
    shard: &Rc<Shard>,
    group_id: &str,
    f: F,
) -> Result<T, ResponseError>
where
    T: Send + 'static,
    F: FnOnce(Rc<Shard>, Rc<PartitionLog>) -> Fut + Send + 'static,
    Fut: Future<Output = T> + 'static,
{
    let (partition, owner) =
        locate(shard, group_id).ok_or(ResponseError::CoordinatorNotAvailable)?;
    shard
        .submit_to(owner, move |s| async move {
            let log = s.partition(TOPIC, partition)?;
            Some(f(s, log).await)
        })
        .await
        .flatten()
        .ok_or(ResponseError::CoordinatorNotAvailable)
}
