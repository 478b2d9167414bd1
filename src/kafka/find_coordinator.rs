//! FindCoordinator: a group's coordinator is the leader of its `__consumer_offsets` partition, a
//! transactional id's the leader of its `__transaction_state` partition (this broker on a single
//! node). Needs DESCRIBE on the group (GROUP_AUTHORIZATION_FAILED) or transactional id.

use super::authz::Access;
use super::group_routing::coordinator_node;
use super::scope::Scope;
use super::{cluster_brokers, RequestContext};
use crate::coordinator::{offsets_topic, txn_log};
use crate::security::acl::{Operation, ResourceType};
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

const KEY_TYPE_GROUP: i8 = 0;
const KEY_TYPE_TRANSACTION: i8 = 1;

fn lookup(
    scope: &Scope,
    ctx: &RequestContext,
    access: &Access,
    key: StrBytes,
    key_type: i8,
) -> Coordinator {
    let mut c = Coordinator::default();
    c.node_id = BrokerId(-1);
    let (resource, refused) = if key_type == KEY_TYPE_GROUP {
        (ResourceType::Group, ResponseError::GroupAuthorizationFailed)
    } else {
        (
            ResourceType::TransactionalId,
            ResponseError::TransactionalIdAuthorizationFailed,
        )
    };
    let internal_topic = match key_type {
        KEY_TYPE_GROUP => offsets_topic::TOPIC,
        KEY_TYPE_TRANSACTION => txn_log::TOPIC,
        _ => "",
    };
    if internal_topic.is_empty() {
        c.error_code = ResponseError::InvalidRequest.code();
        c.error_message = Some(StrBytes::from_static_str("unknown coordinator key type"));
    } else if !access.allows(Operation::Describe, resource, &key) {
        c.error_code = refused.code();
    } else {
        let endpoint = coordinator_node(scope, internal_topic, &key).and_then(|n| {
            cluster_brokers(scope, ctx)
                .into_iter()
                .find(|b| b.node_id == n)
        });
        match endpoint {
            Some(e) => {
                c.node_id = BrokerId(e.node_id);
                c.host = StrBytes::from_string(e.host);
                c.port = e.port;
            }
            None => c.error_code = ResponseError::CoordinatorNotAvailable.code(),
        }
    }
    c.key = key;
    c
}

pub fn handle(
    scope: &Scope,
    ctx: &RequestContext,
    req: FindCoordinatorRequest,
) -> FindCoordinatorResponse {
    let mut resp = FindCoordinatorResponse::default();
    let access = Access::of(scope, ctx);
    if ctx.version >= 4 {
        resp.coordinators = req
            .coordinator_keys
            .into_iter()
            .map(|k| lookup(scope, ctx, &access, k, req.key_type))
            .collect();
        return resp;
    }
    let c = lookup(scope, ctx, &access, req.key, req.key_type);
    resp.error_code = c.error_code;
    resp.error_message = c.error_message;
    resp.node_id = c.node_id;
    resp.host = c.host;
    resp.port = c.port;
    resp
}
