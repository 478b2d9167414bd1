//! EndTxn: a transactional producer commits or aborts. The decision (PrepareCommit / PrepareAbort) is
//! persisted before the answer; the markers are then written in the background (`txn_markers`), and
//! until they are, the id's next transaction waits (CONCURRENT_TRANSACTIONS, which clients retry).
//! Needs WRITE on the transactional id. v5 would return a bumped epoch (KIP-890 part 2); shardlog runs
//! transaction.version 0, so clients use the classic protocol and the epoch stays.

use super::authz::Access;
use super::scope::Scope;
use super::txn_markers::spawn_completion;
use super::txn_routing::{locate_txn, on_txn_shard, txn_error_code};
use super::RequestContext;
use crate::security::acl::{Operation, ResourceType};
use kafka_protocol::messages::{EndTxnRequest, EndTxnResponse};
use kafka_protocol::ResponseError;
use std::rc::Rc;

/// PRODUCER_FENCED is understood from v2 on.
const FENCED_SINCE: i16 = 2;

async fn end(
    scope: &Rc<Scope>,
    ctx: &RequestContext,
    req: EndTxnRequest,
) -> Result<(), ResponseError> {
    let id = req.transactional_id.0.to_string();
    if !Access::of(scope, ctx).allows(Operation::Write, ResourceType::TransactionalId, &id) {
        return Err(ResponseError::TransactionalIdAuthorizationFailed);
    }
    let (pid, epoch, commit) = (req.producer_id.0, req.producer_epoch, req.committed);
    let completion = on_txn_shard(scope, &id.clone(), move |txns, log| async move {
        txns.end_txn(&log, &id, pid, epoch, commit).await
    })
    .await?;
    if let Some(c) = completion {
        let (partition, owner) = locate_txn(scope, &c.transactional_id)?;
        spawn_completion(scope, partition, owner, c);
    }
    Ok(())
}

pub async fn handle(scope: &Rc<Scope>, ctx: &RequestContext, req: EndTxnRequest) -> EndTxnResponse {
    let mut resp = EndTxnResponse::default();
    resp.producer_id = req.producer_id;
    resp.producer_epoch = req.producer_epoch;
    if let Err(e) = end(scope, ctx, req).await {
        resp.error_code = txn_error_code(e, ctx.version, FENCED_SINCE);
    }
    resp
}
