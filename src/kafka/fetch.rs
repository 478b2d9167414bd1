//! Fetch: reads are located on the owning shards as file ranges and sent with `sendfile`; when fewer than
//! `min_bytes` are available the request parks until an append on any of its partitions or `max_wait_ms`.
//! Fetch sessions are declined (session id 0), which every client accepts: they send full requests.

use super::errors::read_code;
use super::router::{on_owners, PartitionItem};
use super::{Outcome, RequestContext};
use crate::net::response::{hole, MAX_HOLE};
use crate::runtime::shard::Shard;
use crate::runtime::signal::Signal;
use crate::storage::{FileSlice, PartitionLog};
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{FetchRequest, FetchResponse};
use kafka_protocol::ResponseError;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
use std::time::{Duration, Instant};

#[derive(Clone, Copy)]
struct ReadInput {
    offset: i64,
    max_bytes: u64,
}

struct ReadOutput {
    error: ResponseError,
    ok: bool,
    high_watermark: i64,
    log_start_offset: i64,
    slice: Option<FileSlice>,
}

async fn read_partition(log: Option<Rc<PartitionLog>>, input: ReadInput) -> ReadOutput {
    let Some(log) = log else {
        return ReadOutput {
            error: ResponseError::UnknownTopicOrPartition,
            ok: false,
            high_watermark: -1,
            log_start_offset: -1,
            slice: None,
        };
    };
    let (error, ok, slice) = match log.read(input.offset, input.max_bytes) {
        Ok(slice) => (ResponseError::UnknownServerError, true, slice),
        Err(e) => (read_code(&e), false, None),
    };
    ReadOutput {
        error,
        ok,
        high_watermark: log.high_watermark.get(),
        log_start_offset: log.log_start_offset(),
        slice,
    }
}

/// Parks on the owning shard until any of `offsets`' partitions has data at its offset, or `wait` passes.
async fn wait_for_data(shard: &Rc<Shard>, items: &[(String, i32, i64)], wait: Duration) {
    let metadata = shard.metadata();
    let mut by_shard: BTreeMap<usize, Vec<(String, i32, i64)>> = BTreeMap::new();
    for (t, p, o) in items {
        if let Some(owner) = metadata.shard_of(t, *p) {
            by_shard.entry(owner).or_default().push((t.clone(), *p, *o));
        }
    }
    let any = Signal::default();
    let mut tasks = Vec::new();
    for (owner, group) in by_shard {
        let shard = shard.clone();
        let any = any.clone();
        tasks.push(glommio::spawn_local(async move {
            shard
                .submit_to(owner, move |s| async move {
                    let data = Signal::default();
                    for (t, p, o) in &group {
                        if let Some(log) = s.partition(t, *p) {
                            log.high_watermark.notify_at(o + 1, &data);
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

pub async fn handle(shard: &Rc<Shard>, ctx: &RequestContext, req: FetchRequest) -> Outcome {
    let deadline = Instant::now() + Duration::from_millis(req.max_wait_ms.max(0) as u64);
    let max_bytes = if req.max_bytes <= 0 {
        MAX_HOLE as u64
    } else {
        req.max_bytes as u64
    };
    let mut items = Vec::new();
    for t in &req.topics {
        for p in &t.partitions {
            let cap = (p.partition_max_bytes.max(0) as u64).min(MAX_HOLE as u64);
            items.push((
                t.topic.0.to_string(),
                p.partition,
                ReadInput {
                    offset: p.fetch_offset,
                    max_bytes: cap,
                },
            ));
        }
    }
    let reads = loop {
        let batch = items
            .iter()
            .map(|(t, p, i)| PartitionItem {
                topic: t.clone(),
                partition: *p,
                input: *i,
            })
            .collect();
        let reads: Vec<ReadOutput> = on_owners(shard, batch, read_partition).await;
        let available: u64 = reads
            .iter()
            .filter_map(|r| r.slice.as_ref())
            .map(|s| s.len)
            .sum();
        let any_error = reads.iter().any(|r| !r.ok);
        let now = Instant::now();
        if available >= req.min_bytes.max(0) as u64 || any_error || now >= deadline {
            break reads;
        }
        let waiting: Vec<_> = items
            .iter()
            .map(|(t, p, i)| (t.clone(), *p, i.offset))
            .collect();
        wait_for_data(shard, &waiting, deadline - now).await;
    };
    respond(ctx, req, reads, max_bytes)
}

fn respond(
    ctx: &RequestContext,
    req: FetchRequest,
    reads: Vec<ReadOutput>,
    max_bytes: u64,
) -> Outcome {
    let mut files = VecDeque::new();
    let mut budget = max_bytes;
    let mut first = true;
    let mut reads = reads.into_iter();
    let mut resp = FetchResponse::default();
    resp.session_id = 0;
    resp.responses = req
        .topics
        .into_iter()
        .map(|t| {
            let mut topic = FetchableTopicResponse::default();
            topic.topic = t.topic;
            topic.topic_id = t.topic_id;
            topic.partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let read = reads.next().expect("one read per partition");
                    let mut data = PartitionData::default();
                    data.partition_index = p.partition;
                    data.error_code = if read.ok { 0 } else { read.error.code() };
                    data.high_watermark = read.high_watermark;
                    data.last_stable_offset = read.high_watermark;
                    data.log_start_offset = read.log_start_offset;
                    data.aborted_transactions = (req.isolation_level == 1).then(Vec::new);
                    data.records = Some(match read.slice {
                        // The first partition with data always gets its (whole first) batch; later ones only
                        // while the response's max_bytes allows.
                        Some(slice) if first || slice.len <= budget => {
                            first = false;
                            budget = budget.saturating_sub(slice.len);
                            let h = hole(slice.len as usize);
                            files.push_back(slice);
                            h
                        }
                        _ => bytes::Bytes::new(),
                    });
                    data
                })
                .collect();
            topic
        })
        .collect();
    ctx.respond_with_files(&resp, files)
}
