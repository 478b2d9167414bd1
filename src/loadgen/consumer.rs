//! One consumer: a thread fetching a fixed set of partitions (no consumer group: shardlog has none yet,
//! so partitions are assigned statically, like a Java client's `assign()`), decoding every record — a real
//! consumer pays for that too — and timing each against the send time it carries.
//!
//! It stops once every partition reaches its target (known when producing is over) or when told to.

use super::error::BenchError;
use super::payload::{now_ns, sent_ns};
use super::stats::{add, latency_histogram, record_latency};
use super::Plan;
use crate::client::{decode_records, topic_name};
use bytes::Bytes;
use hdrhistogram::Histogram;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{BrokerId, FetchRequest};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;

/// Where consumers must get to: per partition, the offset after the last record produced. Set once,
/// when producing ends.
pub type Targets = Arc<OnceLock<Vec<i64>>>;

/// Partition p goes to consumer p mod `consumers`.
pub fn assignment(partitions: i32, consumers: usize, id: usize) -> Vec<i32> {
    (0..partitions)
        .filter(|p| *p as usize % consumers == id)
        .collect()
}

pub fn spawn(
    plan: Arc<Plan>,
    id: usize,
    positions: Vec<(i32, i64)>,
    targets: Targets,
    stop: Arc<AtomicBool>,
) -> JoinHandle<Result<Histogram<u64>, BenchError>> {
    std::thread::Builder::new()
        .name(format!("consumer-{id}"))
        .spawn(move || {
            // Producers take the first CPUs of `--cpus`; consumers follow them round-robin.
            plan.pin(plan.args.producers + id);
            Consumer {
                plan: &plan,
                positions,
                latency: latency_histogram(),
            }
            .run(&targets, &stop)
        })
        .expect("spawning a thread")
}

struct Consumer<'a> {
    plan: &'a Plan,
    /// (partition, next offset to read).
    positions: Vec<(i32, i64)>,
    latency: Histogram<u64>,
}

impl Consumer<'_> {
    fn run(mut self, targets: &Targets, stop: &AtomicBool) -> Result<Histogram<u64>, BenchError> {
        let mut conn = super::connect(&self.plan.addr)?;
        while !stop.load(Ordering::Relaxed) {
            let behind: Vec<(i32, i64)> = self
                .positions
                .iter()
                .copied()
                .filter(|&(p, at)| targets.get().is_none_or(|t| at < t[p as usize]))
                .collect();
            if behind.is_empty() {
                break;
            }
            let resp = conn.call(&self.fetch_request(&behind))?;
            if resp.error_code != 0 {
                return Err(BenchError::broker("Fetch", resp.error_code));
            }
            let received_ns = now_ns();
            for part in resp.responses.into_iter().flat_map(|t| t.partitions) {
                if part.error_code != 0 {
                    return Err(BenchError::broker(
                        format!("Fetch partition {}", part.partition_index),
                        part.error_code,
                    ));
                }
                if let Some(records) = part.records {
                    self.take(part.partition_index, records, received_ns)?;
                }
            }
        }
        Ok(self.latency)
    }

    fn fetch_request(&self, behind: &[(i32, i64)]) -> FetchRequest {
        let args = &self.plan.args;
        let mut topic = FetchTopic::default();
        topic.topic = topic_name(&args.topic);
        topic.partitions = behind
            .iter()
            .map(|&(p, at)| {
                let mut fp = FetchPartition::default();
                fp.partition = p;
                fp.fetch_offset = at;
                fp.current_leader_epoch = -1;
                fp.last_fetched_epoch = -1;
                fp.log_start_offset = -1;
                fp.partition_max_bytes = args.fetch_partition_bytes;
                fp
            })
            .collect();
        let mut req = FetchRequest::default();
        req.replica_id = BrokerId(-1);
        req.max_wait_ms = args.fetch_max_wait_ms;
        req.min_bytes = 1;
        req.max_bytes = args.fetch_max_bytes;
        // No fetch session (KIP-227): every request is a full one, the same work on both brokers.
        req.session_id = 0;
        req.session_epoch = -1;
        req.topics = vec![topic];
        req
    }

    /// Decodes one partition's records (whole batches only), counts them, times them, moves on.
    fn take(&mut self, partition: i32, records: Bytes, received_ns: u64) -> Result<(), BenchError> {
        let Some(slot) = self.positions.iter_mut().find(|(p, _)| *p == partition) else {
            return Ok(());
        };
        let records = decode_records(records, &format!("partition {partition}"))?;
        let (mut count, mut bytes) = (0u64, 0u64);
        let window = self.plan.window;
        for r in &records {
            // A compressed batch can start before the offset asked for; control records are not data.
            if r.offset < slot.1 || r.control {
                continue;
            }
            slot.1 = r.offset + 1;
            count += 1;
            bytes += (r.key.as_ref().map_or(0, Bytes::len) + r.value.as_ref().map_or(0, Bytes::len))
                as u64;
            if let Some(sent) = r.value.as_deref().and_then(sent_ns) {
                if window.contains(sent) {
                    record_latency(&mut self.latency, sent, received_ns);
                }
            }
        }
        add(&self.plan.counters.consumed_records, count);
        add(&self.plan.counters.consumed_bytes, bytes);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_dealt_round_robin() {
        assert_eq!(assignment(5, 2, 0), [0, 2, 4]);
        assert_eq!(assignment(5, 2, 1), [1, 3]);
        assert_eq!(assignment(2, 3, 2), Vec::<i32>::new());
    }
}
