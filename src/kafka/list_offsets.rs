//! ListOffsets: earliest (-2), latest (-1: the high watermark, or under READ_COMMITTED the last stable
//! offset) or the first batch at or after a timestamp.
//! Needs DESCRIBE on each topic (TOPIC_AUTHORIZATION_FAILED per partition otherwise).

use super::authz::Access;
use super::by_partition;
use super::errors::read_code;
use super::fetch::READ_COMMITTED;
use super::scope::Scope;
use super::RequestContext;
use crate::security::acl::{Operation, ResourceType};
use crate::storage::PartitionLog;
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};
use kafka_protocol::ResponseError;
use std::rc::Rc;

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;

/// A partition's answer before an offset is found.
fn no_offset(index: i32) -> ListOffsetsPartitionResponse {
    let mut r = ListOffsetsPartitionResponse::default();
    r.partition_index = index;
    r.timestamp = -1;
    r.offset = -1;
    r
}

fn failed(index: i32, error: ResponseError) -> ListOffsetsPartitionResponse {
    let mut r = no_offset(index);
    r.error_code = error.code();
    r
}

/// One partition to look up, as the request asks.
#[derive(Clone, Copy)]
struct Lookup {
    index: i32,
    timestamp: i64,
    read_committed: bool,
}

async fn lookup(log: Option<Rc<PartitionLog>>, input: Lookup) -> ListOffsetsPartitionResponse {
    let Lookup {
        index,
        timestamp,
        read_committed,
    } = input;
    let Some(log) = log else {
        return failed(index, ResponseError::UnknownTopicOrPartition);
    };
    let mut r = no_offset(index);
    r.leader_epoch = log.leader_epoch();
    match timestamp {
        LATEST if read_committed => r.offset = log.last_stable.get(),
        LATEST => r.offset = log.high_watermark.get(),
        EARLIEST => r.offset = log.log_start_offset(),
        ts if ts >= 0 => match log.offset_for_timestamp(ts) {
            Ok(Some((offset, found_ts))) => {
                r.offset = offset;
                r.timestamp = found_ts;
            }
            Ok(None) => {}
            Err(e) => r.error_code = read_code(&e).code(),
        },
        _ => r.error_code = ResponseError::UnsupportedVersion.code(),
    }
    r
}

pub async fn handle(
    scope: &Rc<Scope>,
    ctx: &RequestContext,
    req: ListOffsetsRequest,
) -> ListOffsetsResponse {
    let access = Access::of(scope, ctx);
    let read_committed = req.isolation_level == READ_COMMITTED;
    let topics = req
        .topics
        .into_iter()
        .map(|t| by_partition::Topic {
            allowed: access.allows(Operation::Describe, ResourceType::Topic, &t.name),
            partitions: t
                .partitions
                .iter()
                .map(|p| {
                    let input = Lookup {
                        index: p.partition_index,
                        timestamp: p.timestamp,
                        read_committed,
                    };
                    (p.partition_index, input)
                })
                .collect(),
            name: t.name,
        })
        .collect();
    let mut resp = ListOffsetsResponse::default();
    resp.topics = by_partition::answer(
        &scope.router,
        topics,
        lookup,
        |input| failed(input.index, ResponseError::NotLeaderOrFollower),
        |input| failed(input.index, ResponseError::TopicAuthorizationFailed),
    )
    .await
    .into_iter()
    .map(|(name, partitions)| {
        let mut t = ListOffsetsTopicResponse::default();
        t.name = name;
        t.partitions = partitions;
        t
    })
    .collect();
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::view::MetadataView;
    use crate::config::BrokerConfig;
    use crate::metrics::ShardMetrics;
    use crate::runtime::mesh::Mesh;
    use crate::runtime::partitions::Partitions;
    use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
    use kafka_protocol::messages::{ApiKey, TopicName};
    use std::sync::Arc;

    /// The handler runs on a one-shard mesh with nothing but a partition table: a partition this broker
    /// does not know is answered UNKNOWN_TOPIC_OR_PARTITION, in request order.
    #[test]
    fn an_unknown_partition_is_answered_with_its_error() {
        glommio::LocalExecutor::default().run(async {
            let mesh = Mesh::single();
            mesh.provide(Rc::new(Partitions::default()));
            let scope = Rc::new(Scope::new(
                &mesh,
                Arc::new(BrokerConfig::defaults()),
                Rc::new(MetadataView::default()),
                ShardMetrics::detached(),
            ));
            let ctx = RequestContext {
                api_key: ApiKey::ListOffsets,
                version: 6,
                correlation_id: 1,
                client_id: "test".into(),
                client_host: "/127.0.0.1".into(),
                principal: None,
                listener: None,
            };
            let mut p = ListOffsetsPartition::default();
            p.partition_index = 7;
            p.timestamp = LATEST;
            let mut t = ListOffsetsTopic::default();
            t.name = TopicName("nowhere".to_string().into());
            t.partitions = vec![p];
            let mut req = ListOffsetsRequest::default();
            req.topics = vec![t];
            let resp = handle(&scope, &ctx, req).await;
            let answer = &resp.topics[0].partitions[0];
            assert_eq!(answer.partition_index, 7);
            assert_eq!(
                answer.error_code,
                ResponseError::UnknownTopicOrPartition.code()
            );
        });
    }
}
