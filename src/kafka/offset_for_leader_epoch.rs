//! OffsetForLeaderEpoch: the end offset of a leader epoch, so consumers (and, later, followers) can detect
//! log divergence after a leader change. Needs CLUSTER_ACTION on the cluster (followers) or DESCRIBE
//! on the topic (consumers).

use super::authz::Access;
use super::RequestContext;
use crate::runtime::router::on_leaders_by_topic;
use crate::runtime::shard::Shard;
use crate::security::acl::{Operation, ResourceType, CLUSTER_NAME};
use crate::storage::PartitionLog;
use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use kafka_protocol::messages::{OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse};
use kafka_protocol::ResponseError;
use std::rc::Rc;

/// A partition's answer before its epoch is looked up.
fn unknown_end(index: i32) -> EpochEndOffset {
    let mut r = EpochEndOffset::default();
    r.partition = index;
    r.leader_epoch = -1;
    r.end_offset = -1;
    r
}

async fn end_offset(log: Option<Rc<PartitionLog>>, (index, epoch): (i32, i32)) -> EpochEndOffset {
    let mut r = unknown_end(index);
    match log {
        None => r.error_code = ResponseError::UnknownTopicOrPartition.code(),
        Some(log) => {
            if let Some((e, end)) = log.end_offset_for_epoch(epoch) {
                r.leader_epoch = e;
                r.end_offset = end;
            }
        }
    }
    r
}

pub async fn handle(
    shard: &Rc<Shard>,
    ctx: &RequestContext,
    req: OffsetForLeaderEpochRequest,
) -> OffsetForLeaderEpochResponse {
    let access = Access::of(shard, ctx);
    let cluster_action = access.sees(
        Operation::ClusterAction,
        ResourceType::Cluster,
        CLUSTER_NAME,
    );
    let (allowed, denied): (Vec<_>, Vec<_>) = req.topics.into_iter().partition(|t| {
        cluster_action || access.allows(Operation::Describe, ResourceType::Topic, &t.topic)
    });
    let topics = allowed
        .into_iter()
        .map(|t| {
            let parts = t
                .partitions
                .iter()
                .map(|p| (p.partition, (p.partition, p.leader_epoch)))
                .collect();
            (t.topic, parts)
        })
        .collect();
    let mut resp = OffsetForLeaderEpochResponse::default();
    resp.topics = on_leaders_by_topic(shard, topics, end_offset, |(index, _)| {
        let mut r = unknown_end(index);
        r.error_code = ResponseError::NotLeaderOrFollower.code();
        r
    })
    .await
    .into_iter()
    .map(|(topic, partitions)| {
        let mut t = OffsetForLeaderTopicResult::default();
        t.topic = topic;
        t.partitions = partitions;
        t
    })
    .collect();
    for d in denied {
        let mut t = OffsetForLeaderTopicResult::default();
        t.partitions = d
            .partitions
            .iter()
            .map(|p| {
                let mut r = unknown_end(p.partition);
                r.error_code = ResponseError::TopicAuthorizationFailed.code();
                r
            })
            .collect();
        t.topic = d.topic;
        resp.topics.push(t);
    }
    resp
}
