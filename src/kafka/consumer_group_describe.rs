//! ConsumerGroupDescribe (KIP-848 groups): epochs, assignor, and per member its subscription, current
//! and target assignment. Classic groups answer GROUP_ID_NOT_FOUND ("not a consumer group"), which makes
//! Kafka's admin client fall back to DescribeGroups, as it does against Kafka.

use super::authz::Access;
use super::group_routing::on_group_shard;
use super::scope::Scope;
use super::RequestContext;
use crate::coordinator::consumer_group::TopicPartition;
use crate::security::acl::{Operation, ResourceType};
use kafka_protocol::messages::consumer_group_describe_response::{
    Assignment, DescribedGroup, Member, TopicPartitions,
};
use kafka_protocol::messages::{
    ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

fn s(v: String) -> StrBytes {
    StrBytes::from_string(v)
}

/// Member view carried back from the group's shard.
type MemberView = (
    String,
    i32,
    String,
    String,
    Vec<String>,
    BTreeSet<TopicPartition>,
    BTreeSet<TopicPartition>,
);

fn assignment(scope: &Scope, partitions: BTreeSet<TopicPartition>) -> Assignment {
    let metadata = scope.metadata();
    let mut by_topic: BTreeMap<uuid::Uuid, Vec<i32>> = BTreeMap::new();
    for (topic, p) in partitions {
        by_topic.entry(topic).or_default().push(p);
    }
    let mut a = Assignment::default();
    a.topic_partitions = by_topic
        .into_iter()
        .map(|(id, partitions)| {
            let mut t = TopicPartitions::default();
            t.topic_id = id;
            t.topic_name = TopicName(s(metadata
                .topics_by_id
                .get(&id)
                .map(|t| t.name.clone())
                .unwrap_or_default()));
            t.partitions = partitions;
            t
        })
        .collect();
    a
}

/// Needs DESCRIBE on each group (GROUP_AUTHORIZATION_FAILED).
pub async fn handle(
    scope: &Rc<Scope>,
    ctx: &RequestContext,
    req: ConsumerGroupDescribeRequest,
) -> ConsumerGroupDescribeResponse {
    let access = Access::of(scope, ctx);
    let mut resp = ConsumerGroupDescribeResponse::default();
    for group_id in req.group_ids {
        let id = group_id.0.to_string();
        if !access.allows(Operation::Describe, ResourceType::Group, &id) {
            let mut d = DescribedGroup::default();
            d.group_id = group_id;
            d.authorized_operations = i32::MIN;
            d.error_code = ResponseError::GroupAuthorizationFailed.code();
            resp.groups.push(d);
            continue;
        }
        let view = on_group_shard(scope, &id.clone(), move |groups, _| async move {
            groups.with_consumer_group(&id, |g, state| {
                let members: Vec<MemberView> = g
                    .members
                    .iter()
                    .map(|(mid, m)| {
                        let current = g.current_assignment(mid);
                        let target = g.assignment_of(mid);
                        (
                            mid.clone(),
                            m.epoch,
                            m.client_id.clone(),
                            m.client_host.clone(),
                            m.subscriptions.clone(),
                            current,
                            target,
                        )
                    })
                    .collect();
                (state, g.epoch, g.assignor_name(), members)
            })
        })
        .await;
        let mut d = DescribedGroup::default();
        d.group_id = group_id;
        d.authorized_operations = i32::MIN;
        match view {
            Err(e) => d.error_code = e.code(),
            Ok(None) => {
                d.error_code = ResponseError::GroupIdNotFound.code();
                d.error_message = Some(s(format!(
                    "Group {} is not a consumer group.",
                    d.group_id.0
                )));
            }
            Ok(Some((state, epoch, assignor, members))) => {
                d.group_state = StrBytes::from_static_str(state);
                d.group_epoch = epoch;
                d.assignment_epoch = epoch;
                d.assignor_name = StrBytes::from_static_str(assignor);
                d.members = members
                    .into_iter()
                    .map(
                        |(id, member_epoch, client_id, host, topics, current, target)| {
                            let mut m = Member::default();
                            m.member_id = s(id);
                            m.member_epoch = member_epoch;
                            m.client_id = s(client_id);
                            m.client_host = s(host);
                            m.subscribed_topic_names =
                                topics.into_iter().map(|t| TopicName(s(t))).collect();
                            m.assignment = assignment(scope, current);
                            m.target_assignment = assignment(scope, target);
                            m
                        },
                    )
                    .collect();
            }
        }
        resp.groups.push(d);
    }
    resp
}
