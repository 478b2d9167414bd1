//! Produce: each partition's record set is validated (CRC-32C, sizes, magic) and appended on the shard
//! that owns the partition, without copying the batches; the answer waits as `acks` and the flush policy
//! require: acks=0 nothing, acks=1 the write, acks=all the write plus (policy `acks-all`/`always`) fsync
//! plus the high watermark (every in-sync replica has it), within the request's timeout. acks=all is
//! refused with NOT_ENOUGH_REPLICAS, before anything is appended, while the ISR is below
//! min.insync.replicas.

use super::authz::Access;
use super::errors::append_code;
use super::scope::Scope;
use super::{Outcome, RequestContext};
use crate::config::FlushPolicy;
use crate::runtime::router::{on_leaders, PartitionItem};
use crate::security::acl::{Operation, ResourceType};
use crate::storage::admission::{Admission, RecordError};
use crate::storage::batch::validate_record_set;
use crate::storage::log::now_ms;
use crate::storage::{AppendError, PartitionLog, StorageError};
use bytes::Bytes;
use kafka_protocol::messages::produce_response::{
    BatchIndexAndErrorMessage, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use std::rc::Rc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;
use tracing::warn;

struct PartitionInput {
    index: i32,
    records: Option<Bytes>,
    acks: i16,
    policy: FlushPolicy,
    /// The request's timeout_ms: how long acks=all waits for the in-sync replicas.
    timeout: Duration,
}

/// A topic of the request as the response must list it: the partitions appended, or (WRITE refused)
/// the partition indexes to answer TOPIC_AUTHORIZATION_FAILED.
enum TopicShape {
    Appended(usize),
    Refused(Vec<i32>),
}

pub async fn handle(scope: &Rc<Scope>, ctx: &RequestContext, req: ProduceRequest) -> Outcome {
    let acks = req.acks;
    let access = Access::of(scope, ctx);
    // A transactional producer needs WRITE on its transactional id too.
    let txn_refused = req
        .transactional_id
        .as_ref()
        .is_some_and(|id| !access.allows(Operation::Write, ResourceType::TransactionalId, id));
    let mut items = Vec::new();
    let mut shape = Vec::with_capacity(req.topic_data.len());
    let mut refused = 0;
    for topic in req.topic_data {
        if !access.allows(Operation::Write, ResourceType::Topic, &topic.name) {
            let indexes: Vec<i32> = topic.partition_data.iter().map(|p| p.index).collect();
            refused += indexes.len();
            shape.push((topic.name, TopicShape::Refused(indexes)));
            continue;
        }
        shape.push((
            topic.name.clone(),
            TopicShape::Appended(topic.partition_data.len()),
        ));
        for p in topic.partition_data {
            items.push(PartitionItem {
                topic: topic.name.0.to_string(),
                partition: p.index,
                input: PartitionInput {
                    index: p.index,
                    records: p.records,
                    acks,
                    policy: scope.config.flush_policy,
                    timeout: Duration::from_millis(req.timeout_ms.max(0) as u64),
                },
            });
        }
    }
    let results = if ![0, 1, -1].contains(&acks) {
        items
            .into_iter()
            .map(|i| {
                error_response(
                    i.input.index,
                    ResponseError::InvalidRequiredAcks,
                    "acks must be 0, 1 or -1".into(),
                )
            })
            .collect()
    } else if txn_refused {
        items
            .into_iter()
            .map(|i| {
                error_response(
                    i.input.index,
                    ResponseError::TransactionalIdAuthorizationFailed,
                    "WRITE on the transactional id is not allowed".into(),
                )
            })
            .collect()
    } else {
        on_leaders(&scope.router, items, append_partition, |input| {
            error_response(
                input.index,
                ResponseError::NotLeaderOrFollower,
                "this broker does not lead the partition".into(),
            )
        })
        .await
    };
    for r in &results {
        scope.metrics.record_error(ctx.api_key, r.error_code);
    }
    for _ in 0..refused {
        let code = ResponseError::TopicAuthorizationFailed.code();
        scope.metrics.record_error(ctx.api_key, code);
    }
    if acks == 0 {
        // No answer to carry the error, so Kafka closes the connection: the client sees the failure,
        // refreshes metadata and reconnects instead of believing its records were taken.
        if refused > 0 {
            return Outcome::Close("acks=0 produce to a topic the principal may not write".into());
        }
        return match results.iter().find(|r| r.error_code != 0) {
            Some(failed) => Outcome::Close(format!(
                "acks=0 produce failed for partition {} with error code {}",
                failed.index, failed.error_code
            )),
            None => Outcome::NoResponse,
        };
    }
    let mut results = results.into_iter();
    let mut resp = ProduceResponse::default();
    resp.responses = shape
        .into_iter()
        .map(|(name, shape)| {
            let mut t = TopicProduceResponse::default();
            t.name = name;
            t.partition_responses = match shape {
                TopicShape::Appended(count) => results.by_ref().take(count).collect(),
                TopicShape::Refused(indexes) => indexes
                    .into_iter()
                    .map(|i| {
                        error_response(
                            i,
                            ResponseError::TopicAuthorizationFailed,
                            "not authorized to write to this topic".into(),
                        )
                    })
                    .collect(),
            };
            t
        })
        .collect();
    ctx.respond(&resp)
}

fn record_error(e: &RecordError) -> BatchIndexAndErrorMessage {
    let mut r = BatchIndexAndErrorMessage::default();
    r.batch_index = e.index;
    r.batch_index_error_message = Some(StrBytes::from_string(e.message.clone()));
    r
}

fn error_response(index: i32, error: ResponseError, message: String) -> PartitionProduceResponse {
    let mut r = PartitionProduceResponse::default();
    r.index = index;
    r.error_code = error.code();
    r.base_offset = -1;
    r.log_append_time_ms = -1;
    r.log_start_offset = -1;
    r.error_message = Some(StrBytes::from_string(message));
    r
}

async fn append_partition(
    log: Option<Rc<PartitionLog>>,
    mut input: PartitionInput,
) -> PartitionProduceResponse {
    let Some(log) = log else {
        return error_response(
            input.index,
            ResponseError::UnknownTopicOrPartition,
            "unknown topic or partition".into(),
        );
    };
    let config = log.config();
    if input.acks == -1 && (log.in_sync_replicas() as i64) < i64::from(config.min_insync_replicas) {
        let message = format!(
            "{} in-sync replicas, min.insync.replicas is {}",
            log.in_sync_replicas(),
            config.min_insync_replicas
        );
        warn!(topic = %log.topic, partition = log.partition, %message, "acks=all produce refused");
        return error_response(input.index, ResponseError::NotEnoughReplicas, message);
    }
    let records = input.records.take().unwrap_or_default();
    let max = config.max_message_bytes.max(0) as usize;
    let mut counted = (0u64, 0u64); // (bytes, records) of the batches appended
    let admission = Admission::new(&config, now_ms(), &log.topic, log.partition);
    let appended = validate_record_set(&records, max)
        .map_err(AppendError::from)
        .and_then(|batches| {
            counted = batches.iter().fold((0, 0), |(b, r), batch| {
                (
                    b + batch.bytes.len() as u64,
                    r + batch.header.records_count.max(0) as u64,
                )
            });
            Ok(admission.admit(batches)?)
        })
        .and_then(|batches| log.append(batches));
    let outcome = match appended {
        Ok(o) => {
            if !o.duplicate {
                let m = &log.metrics.partition;
                m.bytes_in.fetch_add(counted.0, Relaxed);
                m.records_in.fetch_add(counted.1, Relaxed);
            }
            o
        }
        Err(e) => {
            warn!(topic = %log.topic, partition = log.partition, error = %e, "produce rejected");
            let mut r = error_response(input.index, append_code(&e), e.to_string());
            if let AppendError::Admission(refused) = &e {
                r.record_errors = refused.record_errors().iter().map(record_error).collect();
            }
            return r;
        }
    };
    if let Err((code, message)) = acknowledged(&log, outcome.end_offset, &input).await {
        return error_response(input.index, code, message);
    }
    let mut r = PartitionProduceResponse::default();
    r.index = input.index;
    r.base_offset = outcome.base_offset;
    r.log_append_time_ms = outcome.log_append_time_ms;
    r.log_start_offset = log.log_start_offset();
    r
}

/// Where a produce waits before it is answered — the one place acks=1 and acks=all wait: for the
/// write (acks=1), for the fsync too where the flush policy asks (`acks-all`, `always`), and under
/// acks=all for the high watermark to cover the batch (every in-sync replica has it, §9).
async fn acknowledged(
    log: &Rc<PartitionLog>,
    end_offset: i64,
    input: &PartitionInput,
) -> Result<(), (ResponseError, String)> {
    let wait_fsync = match input.policy {
        FlushPolicy::Always => input.acks != 0,
        FlushPolicy::AcksAll => input.acks == -1,
        FlushPolicy::Interval => false,
    };
    // A duplicate (an idempotent retry) is answered once its original is as safe as this request
    // asks: the original may still be in flight. Ends are batch boundaries, so reaching the
    // duplicate's `end_offset` (its base + 1) means the whole original batch.
    if input.acks != 0 {
        let durable = if wait_fsync {
            log.ensure_durable(end_offset).await
        } else {
            log.wait_written(end_offset).await
        };
        if let Err(e) = durable {
            let code = match e {
                StorageError::Truncated(_) => ResponseError::NotLeaderOrFollower,
                _ => ResponseError::KafkaStorageError,
            };
            return Err((code, e.to_string()));
        }
        if input.acks == -1 && !log.replicated_within(end_offset, input.timeout).await {
            return Err((
                ResponseError::RequestTimedOut,
                format!(
                    "the in-sync replicas did not all reach offset {} within the request's timeout",
                    end_offset
                ),
            ));
        }
    }
    Ok(())
}
