//! DescribeProducers (`kafka-transactions describe-producers`, and `find-hanging` underneath): the
//! producers each partition's leader remembers, with their epoch, last sequence and timestamp, and
//! the first offset of the transaction each has open there. Needs READ on the topic.

use super::authz::Access;
use super::by_partition;
use super::scope::Scope;
use super::RequestContext;
use crate::security::acl::{Operation, ResourceType};
use crate::storage::PartitionLog;
use kafka_protocol::messages::describe_producers_response::{
    PartitionResponse, ProducerState, TopicResponse,
};
use kafka_protocol::messages::{DescribeProducersRequest, DescribeProducersResponse, ProducerId};
use kafka_protocol::ResponseError;
use std::rc::Rc;

fn failed(index: i32, error: ResponseError) -> PartitionResponse {
    let mut r = PartitionResponse::default();
    r.partition_index = index;
    r.error_code = error.code();
    r
}

async fn describe(log: Option<Rc<PartitionLog>>, index: i32) -> PartitionResponse {
    let Some(log) = log else {
        return failed(index, ResponseError::UnknownTopicOrPartition);
    };
    let mut r = PartitionResponse::default();
    r.partition_index = index;
    r.active_producers = log
        .active_producers()
        .into_iter()
        .map(|a| {
            let mut p = ProducerState::default();
            p.producer_id = ProducerId(a.producer.producer_id);
            p.producer_epoch = i32::from(a.producer.epoch);
            p.last_sequence = a.producer.last_sequence;
            p.last_timestamp = a.producer.last_timestamp;
            p.coordinator_epoch = a.coordinator_epoch.unwrap_or(-1);
            p.current_txn_start_offset = a.open_since.unwrap_or(-1);
            p
        })
        .collect();
    r
}

pub async fn handle(
    scope: &Rc<Scope>,
    ctx: &RequestContext,
    req: DescribeProducersRequest,
) -> DescribeProducersResponse {
    let access = Access::of(scope, ctx);
    let topics = req
        .topics
        .into_iter()
        .map(|t| by_partition::Topic {
            allowed: access.allows(Operation::Read, ResourceType::Topic, &t.name),
            partitions: t.partition_indexes.iter().map(|&p| (p, p)).collect(),
            name: t.name,
        })
        .collect();
    let mut resp = DescribeProducersResponse::default();
    resp.topics = by_partition::answer(
        &scope.router,
        topics,
        describe,
        |index| failed(index, ResponseError::NotLeaderOrFollower),
        |index| failed(index, ResponseError::TopicAuthorizationFailed),
    )
    .await
    .into_iter()
    .map(|(name, partitions)| {
        let mut t = TopicResponse::default();
        t.name = name;
        t.partitions = partitions;
        t
    })
    .collect();
    resp
}
