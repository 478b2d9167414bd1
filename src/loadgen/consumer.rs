//! One consumer: a thread fetching a fixed set of partitions (no consumer group: partitions are assigned
//! statically, like a Java client's `assign()`, so both brokers do the same fetch work and no group
//! protocol is timed), decoding every record — a real consumer pays for that too — and timing each
//! against the send time it carries.
//!
//! It stops once every partition reaches its target (known when producing is over) or when told to.

use super::admin::topic_name;
use super::connection::{Connection, RequestWriter};
use super::error::BenchError;
use super::payload::{now_ns, sent_ns};
use super::stats::{add, latency_histogram, record_latency};
use super::Plan;
use bytes::Bytes;
use hdrhistogram::Histogram;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{BrokerId, FetchRequest};
use kafka_protocol::records::RecordBatchDecoder;
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
    /// Keeps one fetch ahead of decoding, as the Java consumer does: each answer's batch headers say where
    /// every partition continues, so the next fetch goes out before this answer's records are decoded.
    fn run(mut self, targets: &Targets, stop: &AtomicBool) -> Result<Histogram<u64>, BenchError> {
        let (mut writer, mut reader) = Connection::connect(&self.plan.addr)?.split();
        let mut in_flight = self.fetch_behind(&mut writer, targets)?;
        while let Some(correlation_id) = in_flight {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let resp = reader.receive::<FetchRequest>(correlation_id)?;
            if resp.error_code != 0 {
                return Err(BenchError::Broker {
                    what: "Fetch".into(),
                    code: resp.error_code,
                });
            }
            let received_ns = now_ns();
            let mut answers = Vec::new();
            for part in resp.responses.into_iter().flat_map(|t| t.partitions) {
                if part.error_code != 0 {
                    return Err(BenchError::Broker {
                        what: format!("Fetch partition {}", part.partition_index),
                        code: part.error_code,
                    });
                }
                let Some(records) = part.records else {
                    continue;
                };
                let Some(slot) = self
                    .positions
                    .iter_mut()
                    .find(|(p, _)| *p == part.partition_index)
                else {
                    continue;
                };
                let (records, next_offset) = complete_batches(records);
                answers.push((slot.0, slot.1, records));
                slot.1 = slot.1.max(next_offset);
            }
            in_flight = self.fetch_behind(&mut writer, targets)?;
            for (partition, from_offset, records) in answers {
                self.take(partition, from_offset, records, received_ns)?;
            }
        }
        Ok(self.latency)
    }

    /// Sends a fetch for every partition not yet at its target; `None` when all are there.
    fn fetch_behind(
        &self,
        writer: &mut RequestWriter,
        targets: &Targets,
    ) -> Result<Option<i32>, BenchError> {
        let behind: Vec<(i32, i64)> = self
            .positions
            .iter()
            .copied()
            .filter(|&(p, at)| targets.get().is_none_or(|t| at < t[p as usize]))
            .collect();
        if behind.is_empty() {
            return Ok(None);
        }
        writer.send(&self.fetch_request(&behind)).map(Some)
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

    /// Decodes one partition's records (whole batches only, from `from_offset` on), counts them, times
    /// them.
    fn take(
        &mut self,
        partition: i32,
        from_offset: i64,
        mut records: Bytes,
        received_ns: u64,
    ) -> Result<(), BenchError> {
        let sets = RecordBatchDecoder::decode_all(&mut records)
            .map_err(|e| BenchError::decode(format!("records of partition {partition}"), e))?;
        let (mut count, mut bytes) = (0u64, 0u64);
        let window = self.plan.window;
        for r in sets.iter().flat_map(|s| &s.records) {
            // A compressed batch can start before the offset asked for; control records are not data.
            if r.offset < from_offset || r.control {
                continue;
            }
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

/// The record set up to its last complete batch, and the offset after that batch (0 when there is
/// none): a broker may cut the final batch short at the size limit (clients ignore the partial tail and
/// fetch it again).
fn complete_batches(records: Bytes) -> (Bytes, i64) {
    // Batch header: base offset (8), batch length (4), leader epoch (4), magic (1), CRC (4),
    // attributes (2), last offset delta (4).
    const LENGTH_END: usize = 12;
    const LAST_OFFSET_DELTA: std::ops::Range<usize> = 23..27;
    let be_i32 = |b: &[u8]| i32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let (mut end, mut next_offset) = (0, 0);
    while let Some(header) = records.get(end..end + LAST_OFFSET_DELTA.end) {
        let base_offset = i64::from_be_bytes(header[..8].try_into().expect("8 bytes"));
        let Some(next) = usize::try_from(be_i32(&header[8..LENGTH_END]))
            .ok()
            .map(|len| end + LENGTH_END + len)
        else {
            break;
        };
        if next > records.len() {
            break;
        }
        next_offset = base_offset + i64::from(be_i32(&header[LAST_OFFSET_DELTA])) + 1;
        end = next;
    }
    (records.slice(..end), next_offset)
}

#[cfg(test)]
mod tests {
    use super::complete_batches;
    use crate::storage::batch::test_support::build_batch;
    use bytes::Bytes;

    /// A batch of `count` records starting at `base_offset`.
    fn batch_at(base_offset: i64, count: i32) -> Vec<u8> {
        let mut batch = build_batch(count, 1, (-1, -1, -1));
        batch[..8].copy_from_slice(&base_offset.to_be_bytes());
        batch
    }

    #[test]
    fn a_cut_final_batch_is_dropped_and_the_next_offset_follows_the_last_whole_one() {
        let (first, second) = (batch_at(0, 3), batch_at(3, 5));
        let mut set = [first.clone(), second.clone()].concat();
        let (whole, next) = complete_batches(Bytes::from(set.clone()));
        assert_eq!((whole.len(), next), (set.len(), 8));
        set.truncate(first.len() + second.len() / 2);
        let (whole, next) = complete_batches(Bytes::from(set));
        assert_eq!((whole.len(), next), (first.len(), 3));
        assert_eq!(
            complete_batches(Bytes::from_static(b"short")),
            (Bytes::new(), 0)
        );
    }
}
