//! InitProducerId for idempotent producers: a fresh id from the controller, or (KIP-360) the same id with
//! a bumped epoch when the producer asks to recover. A transactional id is refused at once (`unsupported`). With the
//! authorizer on, an idempotent producer needs IDEMPOTENT_WRITE on the cluster or WRITE on some topic
//! (Kafka 3.0+).

use super::authz::Access;
use super::scope::Scope;
use super::{on_controller, unsupported, RequestContext};
use crate::security::acl::{Operation, ResourceType, CLUSTER_NAME};
use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};
use kafka_protocol::ResponseError;
use std::rc::Rc;

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
    if req.transactional_id.is_some() {
        unsupported::refused(ctx, unsupported::TRANSACTIONS);
        resp.error_code = ResponseError::InvalidRequest.code();
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
