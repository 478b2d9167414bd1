//! CreateTopics: validated and applied by the controller; `-1` partitions / replication mean the defaults.
//! Needs CREATE on the cluster or on the topic.

use super::authz::Access;
use super::{on_controller, RequestContext};
use crate::security::acl::{Operation, ResourceType};
use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::{CreateTopicsRequest, CreateTopicsResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use std::rc::Rc;

use super::scope::Scope;

pub async fn handle(
    scope: &Rc<Scope>,
    ctx: &RequestContext,
    req: CreateTopicsRequest,
) -> CreateTopicsResponse {
    let mut resp = CreateTopicsResponse::default();
    let access = Access::of(scope, ctx);
    for t in req.topics {
        let name = t.name.0.to_string();
        if !access.allows_on_cluster_or(Operation::Create, ResourceType::Topic, &name) {
            let mut r = CreatableTopicResult::default();
            r.name = t.name;
            r.error_code = ResponseError::TopicAuthorizationFailed.code();
            r.error_message = Some(StrBytes::from_static_str(
                "not authorized to create this topic",
            ));
            r.num_partitions = -1;
            r.replication_factor = -1;
            resp.topics.push(r);
            continue;
        }
        let partitions = if !t.assignments.is_empty() {
            t.assignments.len() as i32
        } else if t.num_partitions == -1 {
            scope.config.num_partitions
        } else {
            t.num_partitions
        };
        let replication = if t.replication_factor == -1 {
            scope.config.default_replication_factor
        } else {
            t.replication_factor
        };
        let configs: Vec<(String, String)> = t
            .configs
            .iter()
            .filter_map(|c| {
                c.value
                    .as_ref()
                    .map(|v| (c.name.to_string(), v.to_string()))
            })
            .collect();
        let validate_only = req.validate_only;
        let n = name.clone();
        let result = on_controller(scope, move |controller| async move {
            controller
                .create_topic(n, partitions, replication, configs, validate_only)
                .await
        })
        .await;
        let mut r = CreatableTopicResult::default();
        r.name = t.name;
        match result {
            Ok(()) => {
                r.num_partitions = partitions;
                r.replication_factor = replication;
                if let Some(info) = scope.metadata().topics.get(&name) {
                    r.topic_id = info.id;
                }
            }
            Err((code, message)) => {
                r.error_code = code.code();
                r.error_message = Some(StrBytes::from_string(message));
                r.num_partitions = -1;
                r.replication_factor = -1;
            }
        }
        resp.topics.push(r);
    }
    resp
}
