//! Where a transactional id lives: the node leading its `__transaction_state` partition, and there the
//! shard owning it (as groups, `group_routing`). Other nodes answer NOT_COORDINATOR; until the topic
//! exists, COORDINATOR_NOT_AVAILABLE. The coordinator's partition is (re)loaded before each request,
//! and what a new leadership finds decided but incomplete is completed in the background.

use super::group_routing::locate;
use super::scope::Scope;
use super::txn_markers;
use crate::coordinator::transactions::TxnCoordinator;
use crate::coordinator::txn_log::TOPIC;
use crate::storage::PartitionLog;
use kafka_protocol::ResponseError;
use std::future::Future;
use std::rc::Rc;

/// The `__transaction_state` partition of `transactional_id` and the shard owning it here.
pub fn locate_txn(scope: &Scope, transactional_id: &str) -> Result<(i32, usize), ResponseError> {
    locate(scope, TOPIC, transactional_id)
}

/// Runs `f` on the shard coordinating `transactional_id`, with its `__transaction_state` log.
pub async fn on_txn_shard<T, F, Fut>(
    scope: &Rc<Scope>,
    transactional_id: &str,
    f: F,
) -> Result<T, ResponseError>
where
    T: Send + 'static,
    F: FnOnce(Rc<TxnCoordinator>, Rc<PartitionLog>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, ResponseError>> + 'static,
{
    let (partition, owner) = locate_txn(scope, transactional_id)?;
    let (result, recovered) = scope
        .transactions
        .invoke_on(owner, move |txns| async move {
            let log = match txns.state_log(partition) {
                Ok(log) => log,
                Err(e) => return (Err(e), Vec::new()),
            };
            let recovered = txns.ensure_loaded(&log);
            (f(txns, log).await, recovered)
        })
        .await
        .ok_or(ResponseError::CoordinatorNotAvailable)?;
    for completion in recovered {
        txn_markers::spawn_completion(scope, partition, owner, completion);
    }
    result
}

/// The code a client of `version` understands for `e`: PRODUCER_FENCED exists from `fenced_since`
/// on; older clients get INVALID_PRODUCER_EPOCH, as Kafka answers them.
pub fn txn_error_code(e: ResponseError, version: i16, fenced_since: i16) -> i16 {
    if e == ResponseError::ProducerFenced && version < fenced_since {
        ResponseError::InvalidProducerEpoch.code()
    } else {
        e.code()
    }
}
