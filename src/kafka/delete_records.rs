//! DeleteRecords: moves a partition's log start offset forward; whole segments below it are deleted.

use super::authz::Access;
use super::by_partition;
use super::errors::read_code;
use super::scope::Scope;
use super::RequestContext;
use crate::security::acl::{Operation, ResourceType};
use crate::storage::PartitionLog;
use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::{DeleteRecordsRequest, DeleteRecordsResponse};
use kafka_protocol::ResponseError;
use std::rc::Rc;

/// A partition's answer before anything is deleted.
fn not_deleted(index: i32) -> DeleteRecordsPartitionResult {
    let mut r = DeleteRecordsPartitionResult::default();
    r.partition_index = index;
    r.low_watermark = -1;
    r
}

async fn delete(
    log: Option<Rc<PartitionLog>>,
    (index, offset): (i32, i64),
) -> DeleteRecordsPartitionResult {
    let mut r = not_deleted(index);
    match log.map(|l| l.delete_records_before(offset)) {
        None => r.error_code = ResponseError::UnknownTopicOrPartition.code(),
        Some(Ok(low)) => r.low_watermark = low,
        Some(Err(e)) => r.error_code = read_code(&e).code(),
    }
    r
}

pub async fn handle(
    scope: &Rc<Scope>,
    ctx: &RequestContext,
    req: DeleteRecordsRequest,
) -> DeleteRecordsResponse {
    let access = Access::of(scope, ctx);
    let topics = req
        .topics
        .into_iter()
        .map(|t| by_partition::Topic {
            allowed: access.allows(Operation::Delete, ResourceType::Topic, &t.name),
            partitions: t
                .partitions
                .iter()
                .map(|p| (p.partition_index, (p.partition_index, p.offset)))
                .collect(),
            name: t.name,
        })
        .collect();
    let failed = |error: ResponseError| {
        move |(index, _): (i32, i64)| {
            let mut r = not_deleted(index);
            r.error_code = error.code();
            r
        }
    };
    let mut resp = DeleteRecordsResponse::default();
    resp.topics = by_partition::answer(
        &scope.router,
        topics,
        delete,
        failed(ResponseError::NotLeaderOrFollower),
        failed(ResponseError::TopicAuthorizationFailed),
    )
    .await
    .into_iter()
    .map(|(name, partitions)| {
        let mut t = DeleteRecordsTopicResult::default();
        t.name = name;
        t.partitions = partitions;
        t
    })
    .collect();
    resp
}
