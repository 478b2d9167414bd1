//! OffsetForLeaderEpoch: the end offset of a leader epoch from the leader's epoch cache, so followers
//! (`replication::fetcher`, `replica_id` = their node) truncate a divergent tail and consumers detect
//! divergence after a leader change. Only the leader answers; a `current_leader_epoch` other than its
//! own is FENCED_LEADER_EPOCH (older) or UNKNOWN_LEADER_EPOCH (newer: this node's metadata lags).
//! Needs CLUSTER_ACTION on the cluster (followers) or DESCRIBE on the topic (consumers).

use super::authz::Access;
use super::by_partition;
use super::scope::Scope;
use super::RequestContext;
use crate::security::acl::{Operation, ResourceType, CLUSTER_NAME};
use crate::storage::PartitionLog;
use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use kafka_protocol::messages::{OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse};
use kafka_protocol::ResponseError;
use std::rc::Rc;
use tracing::debug;

/// A partition's answer before its epoch is looked up.
fn unknown_end(index: i32) -> EpochEndOffset {
    let mut r = EpochEndOffset::default();
    r.partition = index;
    r.leader_epoch = -1;
    r.end_offset = -1;
    r
}

/// One partition's question: its index, the asker's current leader epoch (-1: unchecked) and the
/// epoch whose end it wants.
struct Question {
    index: i32,
    current_leader_epoch: i32,
    epoch: i32,
}

/// KIP-320's fence: a request made at `asked` (-1: unchecked), when this leader is at another leader
/// epoch, is refused — FENCED_LEADER_EPOCH when the asker is behind, UNKNOWN_LEADER_EPOCH when it has
/// heard of a newer epoch than this node. Either way the asker refreshes its metadata first.
pub(super) fn leader_epoch_mismatch(
    log: &PartitionLog,
    asked: i32,
    request: &str,
) -> Option<ResponseError> {
    let current = log.leader_epoch();
    if asked < 0 || asked == current {
        return None;
    }
    let error = if asked < current {
        ResponseError::FencedLeaderEpoch
    } else {
        ResponseError::UnknownLeaderEpoch
    };
    debug!(topic = %log.topic, partition = log.partition, asked, current, ?error, request, "request at another leader epoch");
    Some(error)
}

async fn end_offset(log: Option<Rc<PartitionLog>>, q: Question) -> EpochEndOffset {
    let mut r = unknown_end(q.index);
    let Some(log) = log else {
        r.error_code = ResponseError::UnknownTopicOrPartition.code();
        return r;
    };
    if let Some(error) = leader_epoch_mismatch(&log, q.current_leader_epoch, "OffsetForLeaderEpoch")
    {
        r.error_code = error.code();
        return r;
    }
    if let Some((e, end)) = log.end_offset_for_epoch(q.epoch) {
        r.leader_epoch = e;
        r.end_offset = end;
    }
    r
}

pub async fn handle(
    scope: &Rc<Scope>,
    ctx: &RequestContext,
    req: OffsetForLeaderEpochRequest,
) -> OffsetForLeaderEpochResponse {
    let access = Access::of(scope, ctx);
    let cluster_action = access.sees(
        Operation::ClusterAction,
        ResourceType::Cluster,
        CLUSTER_NAME,
    );
    let topics = req
        .topics
        .into_iter()
        .map(|t| by_partition::Topic {
            allowed: cluster_action
                || access.allows(Operation::Describe, ResourceType::Topic, &t.topic),
            partitions: t
                .partitions
                .iter()
                .map(|p| {
                    let q = Question {
                        index: p.partition,
                        current_leader_epoch: p.current_leader_epoch,
                        epoch: p.leader_epoch,
                    };
                    (p.partition, q)
                })
                .collect(),
            name: t.topic,
        })
        .collect();
    let failed = |error: ResponseError| {
        move |q: Question| {
            let mut r = unknown_end(q.index);
            r.error_code = error.code();
            r
        }
    };
    let mut resp = OffsetForLeaderEpochResponse::default();
    resp.topics = by_partition::answer(
        &scope.router,
        topics,
        end_offset,
        failed(ResponseError::NotLeaderOrFollower),
        failed(ResponseError::TopicAuthorizationFailed),
    )
    .await
    .into_iter()
    .map(|(topic, partitions)| {
        let mut t = OffsetForLeaderTopicResult::default();
        t.topic = topic;
        t.partitions = partitions;
        t
    })
    .collect();
    resp
}
