//! WriteTxnMarkers: the transaction coordinator (on any node) asks each partition leader to end a
//! producer's transaction with a COMMIT or ABORT marker. Each marker is appended on the partition's
//! shard and answered once every in-sync replica has it (the coordinator's markers are acks=all, as in
//! Kafka), so a failover never loses a decided transaction's marker. Needs CLUSTER_ACTION.

use super::authz::Access;
use super::by_partition;
use super::errors::append_code;
use super::scope::Scope;
use super::RequestContext;
use crate::cluster::metadata::PartitionRoute;
use crate::coordinator::offsets_topic;
use crate::security::acl::Operation;
use crate::storage::batch::Marker;
use crate::storage::PartitionLog;
use kafka_protocol::messages::write_txn_markers_response::{
    WritableTxnMarkerPartitionResult, WritableTxnMarkerResult, WritableTxnMarkerTopicResult,
};
use kafka_protocol::messages::{TopicName, WriteTxnMarkersRequest, WriteTxnMarkersResponse};
use kafka_protocol::ResponseError;
use std::rc::Rc;
use std::time::Duration;
use tracing::warn;

/// How long a marker waits for the in-sync replicas (Kafka uses its request.timeout.ms default).
const REPLICATION_TIMEOUT: Duration = Duration::from_secs(30);

/// One partition's marker, as the request gives it.
#[derive(Clone, Copy)]
struct MarkerInput {
    index: i32,
    producer_id: i64,
    producer_epoch: i16,
    coordinator_epoch: i32,
    marker: Marker,
}

fn answer(index: i32, error: Option<ResponseError>) -> WritableTxnMarkerPartitionResult {
    let mut r = WritableTxnMarkerPartitionResult::default();
    r.partition_index = index;
    r.error_code = error.map_or(0, |e| e.code());
    r
}

async fn write(log: Option<Rc<PartitionLog>>, m: MarkerInput) -> WritableTxnMarkerPartitionResult {
    let Some(log) = log else {
        return answer(m.index, Some(ResponseError::UnknownTopicOrPartition));
    };
    let appended = log.append_marker(
        m.producer_id,
        m.producer_epoch,
        m.coordinator_epoch,
        m.marker,
    );
    let end = match appended {
        Ok(outcome) => outcome.end_offset,
        Err(e) => {
            warn!(topic = %log.topic, partition = log.partition, producer_id = m.producer_id, error = %e, "transaction marker not written");
            return answer(m.index, Some(append_code(&e)));
        }
    };
    if log.wait_written(end).await.is_err() {
        return answer(m.index, Some(ResponseError::KafkaStorageError));
    }
    if !log.replicated_within(end, REPLICATION_TIMEOUT).await {
        return answer(m.index, Some(ResponseError::NotEnoughReplicasAfterAppend));
    }
    answer(m.index, None)
}

/// One producer's markers: what the coordinator decided, for which partitions.
pub struct MarkerWrite {
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub coordinator_epoch: i32,
    pub marker: Marker,
    pub topics: Vec<(TopicName, Vec<i32>)>,
}

/// Writes `m`'s markers on this node's leaders (`allowed`: the caller may) and answers per topic, in
/// order. A committed transaction's offsets in `__consumer_offsets` become visible to their groups
/// here, once the marker is in.
pub(super) async fn write_markers(
    scope: &Rc<Scope>,
    m: MarkerWrite,
    allowed: bool,
) -> Vec<WritableTxnMarkerTopicResult> {
    let topics = m
        .topics
        .into_iter()
        .map(|(name, indexes)| by_partition::Topic {
            allowed,
            partitions: indexes
                .iter()
                .map(|&index| {
                    let input = MarkerInput {
                        index,
                        producer_id: m.producer_id,
                        producer_epoch: m.producer_epoch,
                        coordinator_epoch: m.coordinator_epoch,
                        marker: m.marker,
                    };
                    (index, input)
                })
                .collect(),
            name,
        })
        .collect();
    let answered = by_partition::answer(
        &scope.router,
        topics,
        write,
        |m| answer(m.index, Some(ResponseError::NotLeaderOrFollower)),
        |m| answer(m.index, Some(ResponseError::ClusterAuthorizationFailed)),
    )
    .await;
    let mut results = Vec::with_capacity(answered.len());
    for (name, partitions) in answered {
        if name.0.as_str() == offsets_topic::TOPIC {
            for p in partitions.iter().filter(|p| p.error_code == 0) {
                end_group_transaction(scope, p.partition_index, m.producer_id, m.marker).await;
            }
        }
        let mut t = WritableTxnMarkerTopicResult::default();
        t.name = name;
        t.partitions = partitions;
        results.push(t);
    }
    results
}

/// Tells the group coordinator owning `__consumer_offsets` partition `partition` how the producer's
/// transaction ended.
async fn end_group_transaction(scope: &Scope, partition: i32, producer_id: i64, marker: Marker) {
    let PartitionRoute::Local(owner) = scope.metadata().route(offsets_topic::TOPIC, partition)
    else {
        return;
    };
    let commit = marker == Marker::Commit;
    scope
        .groups
        .invoke_on(owner, move |groups| async move {
            groups.end_transaction(partition, producer_id, commit)
        })
        .await;
}

pub async fn handle(
    scope: &Rc<Scope>,
    ctx: &RequestContext,
    req: WriteTxnMarkersRequest,
) -> WriteTxnMarkersResponse {
    let allowed = Access::of(scope, ctx).allows_cluster(Operation::ClusterAction);
    let mut resp = WriteTxnMarkersResponse::default();
    for m in req.markers {
        let write = MarkerWrite {
            producer_id: m.producer_id.0,
            producer_epoch: m.producer_epoch,
            coordinator_epoch: m.coordinator_epoch,
            marker: if m.transaction_result {
                Marker::Commit
            } else {
                Marker::Abort
            },
            topics: m
                .topics
                .into_iter()
                .map(|t| (t.name, t.partition_indexes))
                .collect(),
        };
        let mut result = WritableTxnMarkerResult::default();
        result.producer_id = m.producer_id;
        result.topics = write_markers(scope, write, allowed).await;
        resp.markers.push(result);
    }
    resp
}
