//! DeleteTopics, by name (v1-5) or by name or id (v6+).

use super::authz::Access;
use super::scope::Scope;
use super::{on_controller, RequestContext};
use crate::security::acl::{Operation, ResourceType};
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{DeleteTopicsRequest, DeleteTopicsResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use std::rc::Rc;
use uuid::Uuid;

pub async fn handle(
    scope: &Rc<Scope>,
    ctx: &RequestContext,
    req: DeleteTopicsRequest,
) -> DeleteTopicsResponse {
    let targets: Vec<(Option<String>, Uuid)> = if ctx.version >= 6 {
        req.topics
            .into_iter()
            .map(|t| (t.name.map(|n| n.0.to_string()), t.topic_id))
            .collect()
    } else {
        req.topic_names
            .into_iter()
            .map(|n| (Some(n.0.to_string()), Uuid::nil()))
            .collect()
    };
    let mut resp = DeleteTopicsResponse::default();
    let access = Access::of(scope, ctx);
    for (name, id) in targets {
        let metadata = scope.metadata();
        let name = name.or_else(|| metadata.topics_by_id.get(&id).map(|t| t.name.clone()));
        let mut r = DeletableTopicResult::default();
        r.topic_id = id;
        let Some(name) = name else {
            r.error_code = ResponseError::UnknownTopicId.code();
            resp.responses.push(r);
            continue;
        };
        if let Some(t) = metadata.topics.get(&name) {
            r.topic_id = t.id;
        }
        r.name = Some(TopicName(StrBytes::from_string(name.clone())));
        if !access.allows(Operation::Delete, ResourceType::Topic, &name) {
            r.error_code = ResponseError::TopicAuthorizationFailed.code();
            resp.responses.push(r);
            continue;
        }
        let result = on_controller(scope, move |controller| async move {
            controller.delete_topic(name).await
        })
        .await;
        if let Err((code, message)) = result {
            r.error_code = code.code();
            r.error_message = Some(StrBytes::from_string(message));
        }
        resp.responses.push(r);
    }
    resp
}
