//! Where a group (or a transactional id, `txn_routing`) lives: the node leading its `__consumer_offsets` partition, and there the shard
//! owning it. Group requests are run
//! there; until `__consumer_offsets` exists (first seconds of a new broker) the answer is
//! COORDINATOR_NOT_AVAILABLE, which clients retry.

use super::scope::Scope;
use crate::cluster::metadata::PartitionRoute;
use crate::coordinator::offsets_topic::{partition_for, TOPIC};
use crate::coordinator::GroupCoordinator;
use crate::storage::PartitionLog;
use kafka_protocol::ResponseError;
use std::future::Future;
use std::rc::Rc;

/// The `__consumer_offsets` partition of `group_id` and the shard owning it here. In a cluster a group
/// is coordinated by the leader of that partition; other nodes answer NOT_COORDINATOR.
/// The same for any coordinator keyed by `partition_for` over an internal topic (`__transaction_state`).
pub(super) fn locate(
    scope: &Scope,
    internal_topic: &str,
    key: &str,
) -> Result<(i32, usize), ResponseError> {
    let metadata = scope.metadata();
    let topic = metadata
        .topics
        .get(internal_topic)
        .ok_or(ResponseError::CoordinatorNotAvailable)?;
    let partition = partition_for(key, topic.partition_count());
    match metadata.route(internal_topic, partition) {
        PartitionRoute::Local(owner) => Ok((partition, owner)),
        PartitionRoute::Elsewhere => Err(ResponseError::NotCoordinator),
        PartitionRoute::Unknown => Err(ResponseError::CoordinatorNotAvailable),
    }
}

/// The node coordinating `key` (the leader of its partition of `internal_topic`: `__consumer_offsets`
/// for a group), once that topic exists.
pub fn coordinator_node(scope: &Scope, internal_topic: &str, key: &str) -> Option<i32> {
    let metadata = scope.metadata();
    let topic = metadata.topics.get(internal_topic)?;
    let partition = partition_for(key, topic.partition_count());
    Some(topic.partitions.get(partition as usize)?.leader)
}

/// Runs `f` on the shard coordinating `group_id`, with that group's `__consumer_offsets` log.
pub async fn on_group_shard<T, F, Fut>(
    scope: &Rc<Scope>,
    group_id: &str,
    f: F,
) -> Result<T, ResponseError>
where
    T: Send + 'static,
    F: FnOnce(Rc<GroupCoordinator>, Rc<PartitionLog>) -> Fut + Send + 'static,
    Fut: Future<Output = T> + 'static,
{
    let (partition, owner) = locate(scope, TOPIC, group_id)?;
    scope
        .groups
        .invoke_on(owner, move |groups| async move {
            let log = groups.offsets_log(partition)?;
            Some(f(groups, log).await)
        })
        .await
        .flatten()
        .ok_or(ResponseError::CoordinatorNotAvailable)
}
