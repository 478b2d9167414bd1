//! OffsetForLeaderEpoch: the end offset of a leader epoch, so consumers (and, later, followers) can detect
//! log divergence after a leader change.

use crate::runtime::router::on_leaders_by_topic;
use crate::runtime::shard::Shard;
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
    req: OffsetForLeaderEpochRequest,
) -> OffsetForLeaderEpochResponse {
    let topics = req
        .topics
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
    resp
}
