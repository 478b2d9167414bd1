//! InitProducerId. Idempotent producers: a fresh id from the controller, or (KIP-360) the same id with
//! a bumped epoch when the producer asks to recover. Transactional producers: the id's transaction
//! coordinator decides (`coordinator::transactions`); needs WRITE on the transactional id. With the
//! authorizer on, an idempotent producer needs IDEMPOTENT_WRITE on the cluster or WRITE on some topic
//! (Kafka 3.0+).

use super::authz::Access;
use super::scope::Scope;
use super::txn_markers::spawn_completion;
use super::txn_routing::{locate_txn, on_txn_shard, txn_error_code};
use super::{on_controller, RequestContext};
use crate::coordinator::transactions::InitAnswer;
use crate::security::acl::{Operation, ResourceType, CLUSTER_NAME};
use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};
use kafka_protocol::ResponseError;
use std::rc::Rc;
use tracing::warn;

/// PRODUCER_FENCED is understood from v4 on.
const FENCED_SINCE: i16 = 4;

/// A transactional producer's id and epoch, from its coordinator: a fresh id the first time, the
/// epoch bumped after (fencing the previous producer of the id, whose open transaction is aborted
/// first: CONCURRENT_TRANSACTIONS until that is done, which the client retries).
async fn init_transactional(
    scope: &Rc<Scope>,
    access: &Access<'_>,
    id: String,
    req: &InitProducerIdRequest,
) -> Result<(i64, i16), ResponseError> {
    if !access.allows(Operation::Write, ResourceType::TransactionalId, &id) {
        return Err(ResponseError::TransactionalIdAuthorizationFailed);
    }
    let timeout = req.transaction_timeout_ms;
    if timeout <= 0 || timeout > scope.config.transaction_max_timeout_ms {
        warn!(transactional_id = %id, timeout, max = scope.config.transaction_max_timeout_ms, "transaction timeout refused");
        return Err(ResponseError::InvalidTransactionTimeout);
    }
    let expected = (req.producer_id.0 >= 0).then_some((req.producer_id.0, req.producer_epoch));
    let mut fresh = None;
    loop {
        let asked = id.clone();
        let answer = on_txn_shard(scope, &id, move |txns, log| async move {
            txns.init_producer_id(&log, &asked, timeout, expected, fresh)
                .await
        })
        .await?;
        match answer {
            InitAnswer::Granted { producer_id, epoch } => return Ok((producer_id, epoch)),
            InitAnswer::NeedProducerId if fresh.is_none() => {
                let allocated = on_controller(scope, |controller| async move {
                    controller.allocate_producer_id().await
                })
                .await
                .map_err(|(code, _)| code)?;
                fresh = Some(allocated);
            }
            InitAnswer::NeedProducerId => return Err(ResponseError::ConcurrentTransactions),
            InitAnswer::Aborting(c) => {
                let (partition, owner) = locate_txn(scope, &id)?;
                spawn_completion(scope, partition, owner, c);
                return Err(ResponseError::ConcurrentTransactions);
            }
        }
    }
}

pub async fn handle(
    scope: &Rc<Scope>,
    ctx: &RequestContext,
    req: InitProducerIdRequest,
) -> InitProducerIdResponse {
    let mut resp = InitProducerIdResponse::default();
    resp.producer_id = ProducerId(-1);
    resp.producer_epoch = -1;
    let access = Access::of(scope, ctx);
    if req.transactional_id.is_none()
        && !access.sees(
            Operation::IdempotentWrite,
            ResourceType::Cluster,
            CLUSTER_NAME,
        )
        && !access.allows_any(Operation::Write, ResourceType::Topic)
    {
        resp.error_code = ResponseError::ClusterAuthorizationFailed.code();
        return resp;
    }
    if let Some(id) = &req.transactional_id {
        match init_transactional(scope, &access, id.0.to_string(), &req).await {
            Ok((producer_id, epoch)) => {
                resp.producer_id = ProducerId(producer_id);
                resp.producer_epoch = epoch;
            }
            Err(e) => resp.error_code = txn_error_code(e, ctx.version, FENCED_SINCE),
        }
        return resp;
    }
    if req.producer_id.0 >= 0 && req.producer_epoch >= 0 && req.producer_epoch < i16::MAX - 1 {
        resp.producer_id = req.producer_id;
        resp.producer_epoch = req.producer_epoch + 1;
        return resp;
    }
    match on_controller(scope, |controller| async move {
        controller.allocate_producer_id().await
    })
    .await
    {
        Ok(id) => {
            resp.producer_id = ProducerId(id);
            resp.producer_epoch = 0;
        }
        Err((code, _)) => resp.error_code = code.code(),
    }
    resp
}
