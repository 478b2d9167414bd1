//! Fetch: reads are located on the owning shards as file ranges and sent with `sendfile`; when fewer than
//! `min_bytes` are available the request parks until an append on any of its partitions or `max_wait_ms`.
//! Fetch sessions (`fetch_session.rs`) let consumers send and receive only what changed. Consumers read
//! below the high watermark (read_committed ones below the last stable offset, with the aborted
//! transactions their records overlap); a follower (`replica_id` >= 0) reads to the log end, and its
//! fetch offset is its log end, which the leader records for the high watermark and the ISR.

use super::authz::Access;
use super::errors::read_code;
use super::fetch_session::{
    PartitionKey, SessionError, SessionPartition, FINAL_EPOCH, INITIAL_EPOCH,
};
use super::offset_for_leader_epoch::leader_epoch_mismatch;
use super::scope::Scope;
use super::{Outcome, RequestContext};
use crate::kafka::frame::{hole, MAX_HOLE};
use crate::metrics::PartitionMetrics;
use crate::runtime::router::{on_leaders, PartitionItem};
use crate::security::acl::{Operation, ResourceType};
use crate::storage::transactions::AbortedTxn;
use crate::storage::{FileSlice, PartitionLog};
use crate::types::signal::OffsetWatch;
use crate::types::signal::Signal;
use kafka_protocol::messages::fetch_response::{
    AbortedTransaction, FetchableTopicResponse, PartitionData,
};
use kafka_protocol::messages::{FetchRequest, FetchResponse, ProducerId, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

#[derive(Clone, Copy)]
struct ReadInput {
    offset: i64,
    max_bytes: u64,
    /// The leader epoch the fetcher believes current (-1: unchecked).
    current_leader_epoch: i32,
    /// The fetching follower's node id; `None` for consumers.
    replica: Option<i32>,
    /// isolation_level READ_COMMITTED: read below the last stable offset.
    read_committed: bool,
}

/// The end a fetch may read up to (and waits on): the log end for a follower, the last stable offset
/// for a read_committed consumer, the high watermark for the others.
fn readable_end(log: &PartitionLog, follower: bool, read_committed: bool) -> &OffsetWatch {
    match (follower, read_committed) {
        (true, _) => &log.log_end,
        (false, true) => &log.last_stable,
        (false, false) => &log.high_watermark,
    }
}

struct ReadOutput {
    error: Option<ResponseError>,
    high_watermark: i64,
    last_stable_offset: i64,
    log_start_offset: i64,
    slice: Option<FileSlice>,
    /// For a read_committed read: the aborted transactions its records overlap.
    aborted: Vec<AbortedTxn>,
    /// Records in the whole batches of `slice`, and the partition's counters to add what is sent to.
    records: u64,
    metrics: Option<Arc<PartitionMetrics>>,
}

impl ReadOutput {
    fn failed(error: ResponseError) -> ReadOutput {
        ReadOutput {
            error: Some(error),
            high_watermark: -1,
            last_stable_offset: -1,
            log_start_offset: -1,
            slice: None,
            aborted: Vec::new(),
            records: 0,
            metrics: None,
        }
    }
}

/// Fetch's (and ListOffsets') isolation_level for "committed records only".
pub const READ_COMMITTED: i8 = 1;

async fn read_partition(log: Option<Rc<PartitionLog>>, input: ReadInput) -> ReadOutput {
    let Some(log) = log else {
        return ReadOutput::failed(ResponseError::UnknownTopicOrPartition);
    };
    // Checked before a follower's position is recorded: a fetch from a fenced epoch proves nothing.
    if let Some(error) = leader_epoch_mismatch(&log, input.current_leader_epoch, "Fetch") {
        return ReadOutput::failed(error);
    }
    if let Some(replica) = input.replica {
        log.record_follower_fetch(replica, input.offset);
    }
    let limit = readable_end(&log, input.replica.is_some(), input.read_committed).get();
    let (error, slice, records) = match log.read(input.offset, input.max_bytes, limit) {
        // A hole can stand for at most MAX_HOLE bytes; a larger first batch is sent partially (clients
        // treat a truncated trailing batch as "fetch more").
        Ok(Some((s, records))) => {
            let truncated = s.len > MAX_HOLE as u64;
            let slice = FileSlice {
                len: s.len.min(MAX_HOLE as u64),
                ..s
            };
            (None, Some(slice), if truncated { 0 } else { records })
        }
        Ok(None) => (None, None, 0),
        Err(e) => (Some(read_code(&e)), None, 0),
    };
    let aborted = match (&slice, input.read_committed) {
        (Some(_), true) => log.aborted_between(input.offset, limit),
        _ => Vec::new(),
    };
    ReadOutput {
        error,
        high_watermark: log.high_watermark.get(),
        last_stable_offset: log.last_stable.get(),
        log_start_offset: log.log_start_offset(),
        slice,
        aborted,
        records,
        metrics: Some(log.metrics.partition.clone()),
    }
}

/// Parks on the owning shard until any of `offsets`' partitions has data at its offset (below its
/// `readable_end`), or `wait` passes.
async fn wait_for_data(
    scope: &Rc<Scope>,
    items: &[(String, i32, i64)],
    wait: Duration,
    follower: bool,
    read_committed: bool,
) {
    let metadata = scope.metadata();
    let mut by_shard: BTreeMap<usize, Vec<(String, i32, i64)>> = BTreeMap::new();
    for (t, p, o) in items {
        if let Some(owner) = metadata.shard_of(t, *p) {
            by_shard.entry(owner).or_default().push((t.clone(), *p, *o));
        }
    }
    let any = Signal::default();
    let mut tasks = Vec::new();
    for (owner, group) in by_shard {
        let scope = scope.clone();
        let any = any.clone();
        tasks.push(glommio::spawn_local(async move {
            scope
                .router
                .partitions
                .invoke_on(owner, move |partitions| async move {
                    let data = Signal::default();
                    for (t, p, o) in &group {
                        if let Some(log) = partitions.get(t, *p) {
                            readable_end(&log, follower, read_committed).notify_at(o + 1, &data);
                        }
                    }
                    futures_lite::future::or(data, glommio::timer::sleep(wait)).await;
                })
                .await;
            any.fire();
        }));
    }
    futures_lite::future::or(any, glommio::timer::sleep(wait)).await;
    // Dropping the tasks cancels the local halves; remote waits end by their own timeout.
}

/// The partitions one fetch reads, in response order, and how to answer.
struct Plan {
    targets: Vec<(PartitionKey, SessionPartition)>,
    session_id: i32,
    /// Answer only partitions with news (an incremental session fetch).
    incremental: bool,
}

fn requested_partitions(req: &FetchRequest) -> Vec<(PartitionKey, SessionPartition)> {
    req.topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(|p| {
                let key = (t.topic.0.to_string(), p.partition);
                let part = SessionPartition {
                    topic_id: t.topic_id,
                    fetch_offset: p.fetch_offset,
                    max_bytes: (p.partition_max_bytes.max(0) as u64).min(MAX_HOLE as u64),
                    current_leader_epoch: p.current_leader_epoch,
                    sent_high_watermark: -1,
                    sent_log_start_offset: -1,
                };
                (key, part)
            })
        })
        .collect()
}

/// Decides what to read from the request and the session state (KIP-227 epochs).
fn plan(scope: &Scope, req: &FetchRequest) -> Result<Plan, ResponseError> {
    let requested = requested_partitions(req);
    let sessions = &scope.fetch_sessions;
    match req.session_epoch {
        FINAL_EPOCH | INITIAL_EPOCH if req.session_id != 0 => sessions.remove(req.session_id),
        _ => {}
    }
    match req.session_epoch {
        FINAL_EPOCH => Ok(Plan {
            targets: requested,
            session_id: 0,
            incremental: false,
        }),
        INITIAL_EPOCH => {
            let session_id = sessions.create(requested.iter().cloned().collect());
            Ok(Plan {
                targets: requested,
                session_id,
                incremental: false,
            })
        }
        epoch => sessions
            .with_session(req.session_id, epoch, |session| {
                for (key, part) in requested {
                    // Keep what was last sent: a new position alone is no news to answer.
                    let entry = session
                        .partitions
                        .entry(key)
                        .or_insert_with(|| part.clone());
                    entry.fetch_offset = part.fetch_offset;
                    entry.max_bytes = part.max_bytes;
                    entry.current_leader_epoch = part.current_leader_epoch;
                }
                for forgotten in &req.forgotten_topics_data {
                    for p in &forgotten.partitions {
                        session
                            .partitions
                            .remove(&(forgotten.topic.0.to_string(), *p));
                    }
                }
                let targets = session
                    .partitions
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                Plan {
                    targets,
                    session_id: req.session_id,
                    incremental: true,
                }
            })
            .map_err(|e| match e {
                SessionError::NotFound => ResponseError::FetchSessionIdNotFound,
                SessionError::WrongEpoch => ResponseError::InvalidFetchSessionEpoch,
            }),
    }
}

pub async fn handle(scope: &Rc<Scope>, ctx: &RequestContext, req: FetchRequest) -> Outcome {
    let deadline = Instant::now() + Duration::from_millis(req.max_wait_ms.max(0) as u64);
    let max_bytes = if req.max_bytes <= 0 {
        MAX_HOLE as u64
    } else {
        req.max_bytes as u64
    };
    let plan = match plan(scope, &req) {
        Ok(p) => p,
        Err(code) => {
            scope.metrics.record_error(ctx.api_key, code.code());
            let mut resp = FetchResponse::default();
            resp.error_code = code.code();
            return ctx.respond(&resp);
        }
    };
    // READ on each topic, decided once per request; refused partitions are answered, never read.
    let access = Access::of(scope, ctx);
    let mut refused = vec![false; plan.targets.len()];
    if access.enforced() {
        let mut last: Option<(&str, bool)> = None;
        for (i, ((topic, _), _)) in plan.targets.iter().enumerate() {
            let allowed = match last {
                Some((t, a)) if t == topic => a,
                _ => access.allows(Operation::Read, ResourceType::Topic, topic),
            };
            last = Some((topic, allowed));
            refused[i] = !allowed;
        }
    }
    let any_refused = refused.contains(&true);
    let replica = (req.replica_id.0 >= 0).then_some(req.replica_id.0);
    let read_committed = req.isolation_level == READ_COMMITTED;
    let reads = loop {
        let items = plan
            .targets
            .iter()
            .zip(&refused)
            .filter(|(_, &r)| !r)
            .map(|(((topic, partition), p), _)| PartitionItem {
                topic: topic.clone(),
                partition: *partition,
                input: ReadInput {
                    offset: p.fetch_offset,
                    max_bytes: p.max_bytes,
                    current_leader_epoch: p.current_leader_epoch,
                    replica,
                    read_committed,
                },
            })
            .collect();
        let reads: Vec<ReadOutput> = on_leaders(&scope.router, items, read_partition, |_| {
            ReadOutput::failed(ResponseError::NotLeaderOrFollower)
        })
        .await;
        let available: u64 = reads
            .iter()
            .filter_map(|r| r.slice.as_ref())
            .map(|s| s.len)
            .sum();
        let any_error = any_refused || reads.iter().any(|r| r.error.is_some());
        let now = Instant::now();
        if available >= req.min_bytes.max(0) as u64 || any_error || now >= deadline {
            break reads;
        }
        let waiting: Vec<_> = plan
            .targets
            .iter()
            .map(|((t, p), s)| (t.clone(), *p, s.fetch_offset))
            .collect();
        wait_for_data(
            scope,
            &waiting,
            deadline - now,
            replica.is_some(),
            read_committed,
        )
        .await;
    };
    let mut reads = reads.into_iter();
    let reads = refused
        .iter()
        .map(|&r| match r {
            true => ReadOutput::failed(ResponseError::TopicAuthorizationFailed),
            false => reads
                .next()
                .unwrap_or_else(|| ReadOutput::failed(ResponseError::UnknownServerError)),
        })
        .collect();
    respond(scope, ctx, &req, plan, reads, max_bytes)
}

/// True when an incremental response must carry this partition.
fn has_news(part: &SessionPartition, read: &ReadOutput) -> bool {
    read.error.is_some()
        || read.slice.is_some()
        || read.high_watermark != part.sent_high_watermark
        || read.log_start_offset != part.sent_log_start_offset
}

fn respond(
    scope: &Scope,
    ctx: &RequestContext,
    req: &FetchRequest,
    plan: Plan,
    reads: Vec<ReadOutput>,
    max_bytes: u64,
) -> Outcome {
    let mut files = VecDeque::new();
    let mut budget = max_bytes;
    let mut first = true;
    let mut sent = Vec::new();
    let mut resp = FetchResponse::default();
    resp.session_id = plan.session_id;
    for ((key, part), read) in plan.targets.into_iter().zip(reads) {
        if plan.incremental && !has_news(&part, &read) {
            continue;
        }
        let mut data = PartitionData::default();
        data.partition_index = key.1;
        data.error_code = read.error.map_or(0, |e| e.code());
        scope.metrics.record_error(ctx.api_key, data.error_code);
        data.high_watermark = read.high_watermark;
        data.last_stable_offset = read.last_stable_offset;
        data.log_start_offset = read.log_start_offset;
        data.aborted_transactions = (req.isolation_level == READ_COMMITTED).then(|| {
            read.aborted
                .iter()
                .map(|a| {
                    let mut t = AbortedTransaction::default();
                    t.producer_id = ProducerId(a.producer_id);
                    t.first_offset = a.first_offset;
                    t
                })
                .collect()
        });
        data.records = Some(match read.slice {
            // The first partition with data always gets its (whole first) batch; later ones only while
            // the response's max_bytes allows.
            Some(slice) if first || slice.len <= budget => {
                first = false;
                budget = budget.saturating_sub(slice.len);
                if let Some(m) = &read.metrics {
                    m.bytes_out.fetch_add(slice.len, Relaxed);
                    m.records_out.fetch_add(read.records, Relaxed);
                }
                let h = hole(slice.len as usize);
                files.push_back(slice);
                h
            }
            _ => bytes::Bytes::new(),
        });
        sent.push((key.clone(), read.high_watermark, read.log_start_offset));
        push_partition(&mut resp, key.0, part.topic_id, data);
    }
    if plan.session_id != 0 {
        // Remember what the client now knows, so the next incremental answer skips unchanged partitions.
        let _ = scope
            .fetch_sessions
            .with_current(plan.session_id, |session| {
                for (key, hw, start) in sent {
                    if let Some(p) = session.partitions.get_mut(&key) {
                        p.sent_high_watermark = hw;
                        p.sent_log_start_offset = start;
                    }
                }
            });
    }
    ctx.respond_with_files(&resp, files)
}

/// Appends a partition to the response, opening a new topic entry when the topic changes.
fn push_partition(resp: &mut FetchResponse, topic: String, topic_id: Uuid, data: PartitionData) {
    match resp.responses.last_mut() {
        Some(t) if t.topic.0.as_str() == topic => t.partitions.push(data),
        _ => {
            let mut t = FetchableTopicResponse::default();
            t.topic = TopicName(StrBytes::from_string(topic));
            t.topic_id = topic_id;
            t.partitions.push(data);
            resp.responses.push(t);
        }
    }
}
