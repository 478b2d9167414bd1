//! AddPartitionsToTxn: a transactional producer names the partitions it is about to write (v0–3, one
//! transaction per request), or a partition leader asks whether they are in the transaction (v4+,
//! batched, `verify_only`: KIP-890's broker-side verification; those need CLUSTER_ACTION). Needs WRITE
//! on the transactional id and on each topic; a partition that cannot be added fails the whole
//! request, the others answered OPERATION_NOT_ATTEMPTED, as Kafka does.

use super::authz::Access;
use super::scope::Scope;
use super::txn_routing::{on_txn_shard, txn_error_code};
use super::RequestContext;
use crate::security::acl::{Operation, ResourceType};
use kafka_protocol::messages::add_partitions_to_txn_request::{
    AddPartitionsToTxnTopic, AddPartitionsToTxnTransaction,
};
use kafka_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnResult, AddPartitionsToTxnTopicResult,
};
use kafka_protocol::messages::{AddPartitionsToTxnRequest, AddPartitionsToTxnResponse};
use kafka_protocol::ResponseError;
use std::rc::Rc;

/// PRODUCER_FENCED is understood from v2 on.
const FENCED_SINCE: i16 = 2;

/// The per-partition answer: every partition gets `code`, except where `own` gives one.
fn results(
    topics: &[AddPartitionsToTxnTopic],
    mut code: impl FnMut(&str, i32) -> i16,
) -> Vec<AddPartitionsToTxnTopicResult> {
    topics
        .iter()
        .map(|t| {
            let mut r = AddPartitionsToTxnTopicResult::default();
            r.name = t.name.clone();
            r.results_by_partition = t
                .partitions
                .iter()
                .map(|&p| {
                    let mut pr = AddPartitionsToTxnPartitionResult::default();
                    pr.partition_index = p;
                    pr.partition_error_code = code(t.name.0.as_str(), p);
                    pr
                })
                .collect();
            r
        })
        .collect()
}

fn flatten(topics: &[AddPartitionsToTxnTopic]) -> Vec<(String, i32)> {
    topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(|&p| (t.name.0.to_string(), p)))
        .collect()
}

/// One transaction's answer.
async fn add(
    scope: &Rc<Scope>,
    access: &Access<'_>,
    version: i16,
    txn: AddPartitionsToTxnTransaction,
) -> Vec<AddPartitionsToTxnTopicResult> {
    let id = txn.transactional_id.0.to_string();
    if !access.allows(Operation::Write, ResourceType::TransactionalId, &id) {
        let code = ResponseError::TransactionalIdAuthorizationFailed.code();
        return results(&txn.topics, |_, _| code);
    }
    // Per partition: the reason it cannot join, if any.
    let metadata = scope.metadata();
    let refusal = |topic: &str, partition: i32| -> Option<ResponseError> {
        if !access.allows(Operation::Write, ResourceType::Topic, topic) {
            Some(ResponseError::TopicAuthorizationFailed)
        } else if !metadata.has_partition(topic, partition) {
            Some(ResponseError::UnknownTopicOrPartition)
        } else {
            None
        }
    };
    let refused = txn.topics.iter().any(|t| {
        t.partitions
            .iter()
            .any(|&p| refusal(t.name.0.as_str(), p).is_some())
    });
    if refused {
        let not_attempted = ResponseError::OperationNotAttempted.code();
        return results(&txn.topics, |t, p| {
            refusal(t, p).map_or(not_attempted, |e| e.code())
        });
    }
    let partitions = flatten(&txn.topics);
    let (pid, epoch) = (txn.producer_id.0, txn.producer_epoch);
    if txn.verify_only {
        let verified = on_txn_shard(scope, &id.clone(), move |txns, _| async move {
            txns.verify_partitions(&id, pid, epoch, &partitions)
        })
        .await;
        return match verified {
            Ok(verified) => {
                let mut each = verified.into_iter();
                results(&txn.topics, |_, _| {
                    if each.next().unwrap_or(false) {
                        0
                    } else {
                        ResponseError::InvalidTxnState.code()
                    }
                })
            }
            Err(e) => results(&txn.topics, |_, _| txn_error_code(e, version, FENCED_SINCE)),
        };
    }
    let added = on_txn_shard(scope, &id.clone(), move |txns, log| async move {
        txns.add_partitions(&log, &id, pid, epoch, &partitions)
            .await
    })
    .await;
    let code = added
        .err()
        .map_or(0, |e| txn_error_code(e, version, FENCED_SINCE));
    results(&txn.topics, |_, _| code)
}

pub async fn handle(
    scope: &Rc<Scope>,
    ctx: &RequestContext,
    req: AddPartitionsToTxnRequest,
) -> AddPartitionsToTxnResponse {
    let access = Access::of(scope, ctx);
    let mut resp = AddPartitionsToTxnResponse::default();
    if ctx.version <= 3 {
        let mut txn = AddPartitionsToTxnTransaction::default();
        txn.transactional_id = req.v3_and_below_transactional_id;
        txn.producer_id = req.v3_and_below_producer_id;
        txn.producer_epoch = req.v3_and_below_producer_epoch;
        txn.topics = req.v3_and_below_topics;
        resp.results_by_topic_v3_and_below = add(scope, &access, ctx.version, txn).await;
        return resp;
    }
    if !access.allows_cluster(Operation::ClusterAction) {
        resp.error_code = ResponseError::ClusterAuthorizationFailed.code();
        return resp;
    }
    for txn in req.transactions {
        let mut r = AddPartitionsToTxnResult::default();
        r.transactional_id = txn.transactional_id.clone();
        r.topic_results = add(scope, &access, ctx.version, txn).await;
        resp.results_by_transaction.push(r);
    }
    resp
}
