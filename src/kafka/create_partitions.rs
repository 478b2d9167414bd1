//! CreatePartitions: partitions can be added, never removed.

use super::authz::Access;
use super::scope::Scope;
use super::{on_controller, RequestContext};
use crate::security::acl::{Operation, ResourceType};
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use std::rc::Rc;

pub async fn handle(
    scope: &Rc<Scope>,
    ctx: &RequestContext,
    req: CreatePartitionsRequest,
) -> CreatePartitionsResponse {
    let mut resp = CreatePartitionsResponse::default();
    let access = Access::of(scope, ctx);
    for t in req.topics {
        let name = t.name.0.to_string();
        if !access.allows(Operation::Alter, ResourceType::Topic, &name) {
            let mut r = CreatePartitionsTopicResult::default();
            r.name = t.name;
            r.error_code = ResponseError::TopicAuthorizationFailed.code();
            resp.results.push(r);
            continue;
        }
        let (count, validate_only) = (t.count, req.validate_only);
        let result = on_controller(scope, move |controller| async move {
            controller
                .create_partitions(name, count, validate_only)
                .await
        })
        .await;
        let mut r = CreatePartitionsTopicResult::default();
        r.name = t.name;
        if let Err((code, message)) = result {
            r.error_code = code.code();
            r.error_message = Some(StrBytes::from_string(message));
        }
        resp.results.push(r);
    }
    resp
}
