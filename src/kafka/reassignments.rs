//! AlterPartitionReassignments and ListPartitionReassignments (KIP-455): move partitions' replicas
//! online, as Kafka's `kafka-reassign-partitions` tool and admin clients do. The controller starts
//! each move; the active controller completes it once the new replicas are in sync
//! (`cluster/reassignment.rs`).

use super::authz::Access;
use super::scope::Scope;
use super::{on_controller, RequestContext};
use crate::security::acl::Operation;
use kafka_protocol::messages::alter_partition_reassignments_response::{
    ReassignablePartitionResponse, ReassignableTopicResponse,
};
use kafka_protocol::messages::list_partition_reassignments_response::{
    OngoingPartitionReassignment, OngoingTopicReassignment,
};
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse, BrokerId,
    ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use std::rc::Rc;

pub async fn alter(
    scope: &Rc<Scope>,
    ctx: &RequestContext,
    req: AlterPartitionReassignmentsRequest,
) -> AlterPartitionReassignmentsResponse {
    let mut resp = AlterPartitionReassignmentsResponse::default();
    resp.allow_replication_factor_change = req.allow_replication_factor_change;
    if !Access::of(scope, ctx).allows_cluster(Operation::Alter) {
        resp.error_code = ResponseError::ClusterAuthorizationFailed.code();
        return resp;
    }
    for t in req.topics {
        let mut topic = ReassignableTopicResponse::default();
        for p in t.partitions {
            let (name, partition) = (t.name.0.to_string(), p.partition_index);
            let target = p
                .replicas
                .map(|r| r.into_iter().map(|b| b.0).collect::<Vec<_>>());
            let result = on_controller(scope, move |controller| async move {
                controller.reassign(name, partition, target).await
            })
            .await;
            let mut r = ReassignablePartitionResponse::default();
            r.partition_index = partition;
            if let Err((code, message)) = result {
                r.error_code = code.code();
                r.error_message = Some(StrBytes::from_string(message));
            }
            topic.partitions.push(r);
        }
        topic.name = t.name;
        resp.responses.push(topic);
    }
    resp
}

pub async fn list(
    scope: &Rc<Scope>,
    ctx: &RequestContext,
    req: ListPartitionReassignmentsRequest,
) -> ListPartitionReassignmentsResponse {
    let mut resp = ListPartitionReassignmentsResponse::default();
    if !Access::of(scope, ctx).allows_cluster(Operation::Describe) {
        resp.error_code = ResponseError::ClusterAuthorizationFailed.code();
        return resp;
    }
    let ongoing = on_controller(
        scope,
        |controller| async move { Ok(controller.reassignments()) },
    )
    .await
    .unwrap_or_default();
    let wanted = |topic: &str, partition: i32| match &req.topics {
        None => true,
        Some(ts) => ts
            .iter()
            .any(|t| t.name.0.as_str() == topic && t.partition_indexes.contains(&partition)),
    };
    let ids = |v: Vec<i32>| v.into_iter().map(BrokerId).collect::<Vec<_>>();
    for (r, replicas) in ongoing {
        if !wanted(&r.topic, r.partition) {
            continue;
        }
        let mut p = OngoingPartitionReassignment::default();
        p.partition_index = r.partition;
        p.removing_replicas = ids(replicas
            .iter()
            .copied()
            .filter(|x| !r.target.contains(x))
            .collect());
        p.adding_replicas = ids(r.adding);
        p.replicas = ids(replicas);
        match resp
            .topics
            .iter_mut()
            .find(|t| t.name.0.as_str() == r.topic)
        {
            Some(t) => t.partitions.push(p),
            None => {
                let mut t = OngoingTopicReassignment::default();
                t.name = TopicName(StrBytes::from_string(r.topic));
                t.partitions.push(p);
                resp.topics.push(t);
            }
        }
    }
    resp
}
