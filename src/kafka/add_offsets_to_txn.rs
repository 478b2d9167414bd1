//! AddOffsetsToTxn: a transactional producer is about to commit a group's offsets in its transaction
//! (`sendOffsetsToTransaction`): the group's `__consumer_offsets` partition joins the transaction, so
//! its marker decides the commit. Needs WRITE on the transactional id and READ on the group.

use super::authz::Access;
use super::scope::Scope;
use super::txn_routing::{on_txn_shard, txn_error_code};
use super::RequestContext;
use crate::coordinator::offsets_topic::{partition_for, TOPIC};
use crate::security::acl::{Operation, ResourceType};
use kafka_protocol::messages::{AddOffsetsToTxnRequest, AddOffsetsToTxnResponse};
use kafka_protocol::ResponseError;
use std::rc::Rc;

/// PRODUCER_FENCED is understood from v2 on.
const FENCED_SINCE: i16 = 2;

async fn add(
    scope: &Rc<Scope>,
    ctx: &RequestContext,
    req: AddOffsetsToTxnRequest,
) -> Result<(), ResponseError> {
    let access = Access::of(scope, ctx);
    let id = req.transactional_id.0.to_string();
    let group = req.group_id.0.to_string();
    if !access.allows(Operation::Write, ResourceType::TransactionalId, &id) {
        return Err(ResponseError::TransactionalIdAuthorizationFailed);
    }
    if !access.allows(Operation::Read, ResourceType::Group, &group) {
        return Err(ResponseError::GroupAuthorizationFailed);
    }
    let offsets_partitions = scope
        .metadata()
        .topics
        .get(TOPIC)
        .map(|t| t.partition_count())
        .ok_or(ResponseError::CoordinatorNotAvailable)?;
    let partition = (TOPIC.to_string(), partition_for(&group, offsets_partitions));
    let (pid, epoch) = (req.producer_id.0, req.producer_epoch);
    on_txn_shard(scope, &id.clone(), move |txns, log| async move {
        txns.add_partitions(&log, &id, pid, epoch, &[partition])
            .await
    })
    .await
}

pub async fn handle(
    scope: &Rc<Scope>,
    ctx: &RequestContext,
    req: AddOffsetsToTxnRequest,
) -> AddOffsetsToTxnResponse {
    let mut resp = AddOffsetsToTxnResponse::default();
    if let Err(e) = add(scope, ctx, req).await {
        resp.error_code = txn_error_code(e, ctx.version, FENCED_SINCE);
    }
    resp
}
