//! The Fetch request a plain consumer sends (replica id -1, no fetch session), shared by the bench
//! consumer and `shardlog consume`.

use super::topic_name;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{BrokerId, FetchRequest};

/// The Java consumer's names: `fetch.max.wait.ms`, `max.partition.fetch.bytes`, `fetch.max.bytes`.
pub struct FetchLimits {
    pub max_wait_ms: i32,
    pub partition_max_bytes: i32,
    pub max_bytes: i32,
}

/// A full Fetch of `topic` from each (partition, offset) in `parts`. No fetch session (KIP-227): every
/// request is a whole one, the same work on any broker.
pub fn fetch_request(topic: &str, parts: &[(i32, i64)], limits: &FetchLimits) -> FetchRequest {
    let mut t = FetchTopic::default();
    t.topic = topic_name(topic);
    t.partitions = parts
        .iter()
        .map(|&(p, at)| {
            let mut fp = FetchPartition::default();
            fp.partition = p;
            fp.fetch_offset = at;
            fp.current_leader_epoch = -1;
            fp.last_fetched_epoch = -1;
            fp.log_start_offset = -1;
            fp.partition_max_bytes = limits.partition_max_bytes;
            fp
        })
        .collect();
    let mut req = FetchRequest::default();
    req.replica_id = BrokerId(-1);
    req.max_wait_ms = limits.max_wait_ms;
    req.min_bytes = 1;
    req.max_bytes = limits.max_bytes;
    req.session_id = 0;
    req.session_epoch = -1;
    req.topics = vec![t];
    req
}
