//! ConsumerGroupHeartbeat (KIP-848, `group.protocol=consumer`): join, stay, report owned partitions and
//! leave in one request; the broker answers with the member's epoch and the partitions it may own.
//! Needs READ on the group (GROUP_AUTHORIZATION_FAILED).

use super::authz::Access;
use super::group_routing::on_group_shard;
use super::scope::Scope;
use super::RequestContext;
use crate::coordinator::consumer_group::Heartbeat;
use crate::coordinator::{topic_table, GroupSettings};
use crate::security::acl::{Operation, ResourceType};
use kafka_protocol::messages::consumer_group_heartbeat_response::{Assignment, TopicPartitions};
use kafka_protocol::messages::{ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use std::collections::BTreeMap;
use std::rc::Rc;

pub async fn handle(
    scope: &Rc<Scope>,
    ctx: &RequestContext,
    req: ConsumerGroupHeartbeatRequest,
) -> ConsumerGroupHeartbeatResponse {
    let settings = GroupSettings::from(&scope.config);
    let mut resp = ConsumerGroupHeartbeatResponse::default();
    resp.heartbeat_interval_ms = settings.consumer_heartbeat_interval.as_millis() as i32;
    if !Access::of(scope, ctx).allows(Operation::Read, ResourceType::Group, &req.group_id) {
        resp.error_code = ResponseError::GroupAuthorizationFailed.code();
        return resp;
    }
    if req.group_id.0.is_empty() {
        resp.error_code = ResponseError::InvalidRequest.code();
        resp.error_message = Some(StrBytes::from_static_str("group id must not be empty"));
        return resp;
    }
    if req.subscribed_topic_regex.is_some() {
        resp.error_code = ResponseError::InvalidRequest.code();
        resp.error_message = Some(StrBytes::from_static_str(
            "regex subscriptions are not supported yet",
        ));
        return resp;
    }
    let hb = Heartbeat {
        member_id: req.member_id.to_string(),
        member_epoch: req.member_epoch,
        subscribed_topics: req
            .subscribed_topic_names
            .map(|ts| ts.into_iter().map(|t| t.0.to_string()).collect()),
        owned: req.topic_partitions.map(|ts| {
            ts.into_iter()
                .flat_map(|t| t.partitions.into_iter().map(move |p| (t.topic_id, p)))
                .collect()
        }),
        assignor: req.server_assignor.map(|a| a.to_string()),
        client_id: ctx.client_id.clone(),
        client_host: ctx.client_host.clone(),
    };
    let group_id = req.group_id.0.to_string();
    let metadata = scope.metadata();
    let answer = on_group_shard(scope, &group_id.clone(), move |groups, _| async move {
        let topics = topic_table(&metadata);
        groups.consumer_heartbeat(&group_id, hb, &topics)
    })
    .await
    .and_then(|r| r);
    match answer {
        Err(e) => resp.error_code = e.code(),
        Ok(a) => {
            resp.member_id = Some(StrBytes::from_string(a.member_id));
            resp.member_epoch = a.member_epoch;
            resp.assignment = a.assignment.map(|tps| {
                let mut by_topic: BTreeMap<uuid::Uuid, Vec<i32>> = BTreeMap::new();
                for (topic, p) in tps {
                    by_topic.entry(topic).or_default().push(p);
                }
                let mut assignment = Assignment::default();
                assignment.topic_partitions = by_topic
                    .into_iter()
                    .map(|(topic_id, partitions)| {
                        let mut t = TopicPartitions::default();
                        t.topic_id = topic_id;
                        t.partitions = partitions;
                        t
                    })
                    .collect();
                assignment
            });
        }
    }
    resp
}
