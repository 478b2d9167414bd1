//! One consumer: a thread fetching a fixed set of partitions (no consumer group: partitions are assigned
//! statically, like a Java client's `assign()`, so both brokers do the same fetch work and no group
//! protocol is timed), decoding every record — a real consumer pays for that too — and timing each
//! against the send time it carries.
//!
//! It stops once every partition reaches its target (known when producing is over) or when told to.

use super::error::BenchError;
use super::payload::{now_ns, sent_ns};
use super::stats::{add, latency_histogram, record_latency};
use super::Plan;
use crate::client::connection::RequestWriter;
use crate::client::decode_records;
use crate::client::fetch::{fetch_request, FetchLimits};
use crate::client::records::complete_batches;
use bytes::Bytes;
use hdrhistogram::Histogram;
use kafka_protocol::messages::FetchRequest;
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
        let (mut writer, mut reader) =
            super::connect(&self.plan.addr, self.plan.tls.as_ref())?.split();
        let mut in_flight = self.fetch_behind(&mut writer, targets)?;
        while let Some(correlation_id) = in_flight {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let resp = reader.receive::<FetchRequest>(correlation_id)?;
            if resp.error_code != 0 {
                return Err(BenchError::broker("Fetch", resp.error_code));
            }
            let received_ns = now_ns();
            let mut answers = Vec::new();
            for part in resp.responses.into_iter().flat_map(|t| t.partitions) {
                if part.error_code != 0 {
                    return Err(BenchError::broker(
                        format!("Fetch partition {}", part.partition_index),
                        part.error_code,
                    ));
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
        let args = &self.plan.args;
        let limits = FetchLimits {
            max_wait_ms: args.fetch_max_wait_ms,
            partition_max_bytes: args.fetch_partition_bytes,
            max_bytes: args.fetch_max_bytes,
        };
        Ok(Some(writer.send(&fetch_request(
            &args.topic,
            &behind,
            &limits,
        ))?))
    }

    /// Decodes one partition's records (whole batches only, from `from_offset` on), counts them, times
    /// them.
    fn take(
        &mut self,
        partition: i32,
        from_offset: i64,
        records: Bytes,
        received_ns: u64,
    ) -> Result<(), BenchError> {
        let records = decode_records(records, &format!("partition {partition}"))?;
        let (mut count, mut bytes) = (0u64, 0u64);
        let window = self.plan.window;
        for r in &records {
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
