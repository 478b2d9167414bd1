//! One producer: a thread that makes records on schedule, batches them (`accumulator`) and writes produce
//! requests, plus — unless acks=0 — a second thread that reads the answers. Up to `--max-in-flight`
//! requests are outstanding: the reader hands a slot back for every answer, and the producer keeps making
//! records into its buffer while it waits, as the Java client does.

use super::accumulator::{Accumulator, Batch};
use super::error::BenchError;
use super::pacer::Pacer;
use super::payload::{self, now_ns, Values};
use super::stats::{add, latency_histogram, record_latency};
use super::Plan;
use crate::client::connection::{RequestWriter, ResponseReader};
use crate::client::partitioner::{partition_for_key, Sticky};
use crate::client::{encode_batch, topic_name};
use hdrhistogram::Histogram;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ProduceRequest, TopicName};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tracing::warn;

/// Records made per loop turn at most, so sending interleaves with making at full speed.
const MAX_BURST: usize = 256;

/// What a producer hands back: per-partition acknowledged records (consumers use them to know when they
/// have read everything) and its ack latencies.
pub struct Outcome {
    pub acked_per_partition: Vec<u64>,
    pub ack_latency: Histogram<u64>,
}

/// A request on the wire, waiting for its answer.
struct Pending {
    correlation_id: i32,
    sent_ns: u64,
    /// (partition, records, payload bytes) in request order.
    parts: Vec<(usize, u64, u64)>,
}

/// Shares of `total` for `n` producers, the first ones taking the remainder.
pub fn share(total: u64, n: usize, i: usize) -> u64 {
    total / n as u64 + u64::from((i as u64) < total % n as u64)
}

pub fn spawn(plan: Arc<Plan>, id: usize) -> JoinHandle<Result<Outcome, BenchError>> {
    std::thread::Builder::new()
        .name(format!("producer-{id}"))
        .spawn(move || {
            plan.pin(id);
            run(plan, id)
        })
        .expect("spawning a thread")
}

fn run(plan: Arc<Plan>, id: usize) -> Result<Outcome, BenchError> {
    let args = &plan.args;
    let (writer, reader) = super::connect(&plan.addr, plan.tls.as_ref())?.split();
    let mut wire = Wire::new(&plan, writer, reader);
    let mut maker = Maker::new(&plan, id);
    let mut acc = Accumulator::new(
        args.partitions as usize,
        args.batch_size,
        args.linger_ms * 1_000_000,
    );
    let until_ns = plan.window.until_ns;
    loop {
        let now = now_ns();
        if now >= until_ns || maker.exhausted() {
            break;
        }
        maker.make_due(&mut acc, now, args.buffer_bytes);
        let buffer_full = acc.buffered_bytes() >= args.buffer_bytes;
        if acc.ready(now) || buffer_full {
            let wait = match maker.pacer.next_due_ns() {
                _ if buffer_full => Wait::Forever,
                None => Wait::No,
                Some(due) => Wait::For(due.min(until_ns).saturating_sub(now)),
            };
            if wire.acquire(wait)? {
                wire.send(acc.drain(args.max_request_bytes))?;
            }
        } else if let Some(due) = maker.pacer.next_due_ns() {
            let until = [Some(due), acc.linger_deadline_ns(), Some(until_ns)]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(due);
            std::thread::sleep(Duration::from_nanos(until.saturating_sub(now)));
        }
    }
    while !acc.is_empty() {
        wire.acquire(Wait::Forever)?;
        wire.send(acc.drain(args.max_request_bytes))?;
    }
    wire.finish()
}

/// Makes records on schedule and places them: this producer's share of the rate and of `--records`.
struct Maker {
    pacer: Pacer,
    values: Values,
    sticky: Sticky,
    keys: u64,
    partitions: i32,
    made: u64,
    limit: Option<u64>,
}

impl Maker {
    fn new(plan: &Plan, id: usize) -> Maker {
        let args = &plan.args;
        let n = args.producers;
        Maker {
            pacer: Pacer::new(plan.start_ns, args.rate / n as f64),
            values: Values::new(args.record_size, id as u64 + 1),
            sticky: Sticky::new(args.partitions, id as i32, args.batch_size),
            keys: args.keys,
            partitions: args.partitions,
            made: 0,
            limit: args.records.map(|r| share(r, n, id)),
        }
    }

    fn exhausted(&self) -> bool {
        self.limit.is_some_and(|l| self.made >= l)
    }

    /// Adds every record due by `now` (at most `MAX_BURST`) while the buffer has room.
    fn make_due(&mut self, acc: &mut Accumulator, now: u64, buffer_bytes: usize) {
        for _ in 0..MAX_BURST {
            if acc.buffered_bytes() >= buffer_bytes || self.exhausted() {
                return;
            }
            let Some(intended) = self.pacer.take(now) else {
                return;
            };
            let key = (self.keys > 0).then(|| payload::key(self.made % self.keys));
            let value = self.values.next(intended);
            let partition = match &key {
                Some(k) => partition_for_key(k, self.partitions),
                None => self.sticky.next(value.len()),
            };
            acc.append(partition as usize, key, value, now);
            self.made += 1;
        }
    }
}

/// How long `acquire` may wait for an in-flight slot.
enum Wait {
    No,
    For(u64),
    Forever,
}

/// The sending side of the connection: encodes and writes requests, tracks in-flight slots.
struct Wire {
    plan: Arc<Plan>,
    topic: TopicName,
    writer: RequestWriter,
    /// `None` with acks=0: nothing is answered, nothing is in flight.
    acks: Option<Acks>,
    /// With acks=0, what was sent per partition (there is nothing else to go by).
    sent_per_partition: Vec<u64>,
}

struct Acks {
    slots: Receiver<()>,
    holding_slot: bool,
    pending: Sender<Pending>,
    reader: JoinHandle<Result<Outcome, BenchError>>,
}

impl Wire {
    fn new(plan: &Arc<Plan>, writer: RequestWriter, reader: ResponseReader) -> Wire {
        let acks = (plan.args.acks != 0).then(|| {
            let (slot_tx, slots) = mpsc::sync_channel(plan.args.max_in_flight);
            for _ in 0..plan.args.max_in_flight {
                // Cannot fail: the channel holds exactly this many and its receiver is alive.
                let _ = slot_tx.send(());
            }
            let (pending, pending_rx) = mpsc::channel();
            let reader_plan = Arc::clone(plan);
            let reader = std::thread::Builder::new()
                .name("producer-acks".into())
                .spawn(move || read_acks(&reader_plan, reader, pending_rx, slot_tx))
                .expect("spawning a thread");
            Acks {
                slots,
                holding_slot: false,
                pending,
                reader,
            }
        });
        Wire {
            plan: Arc::clone(plan),
            topic: topic_name(&plan.args.topic),
            writer,
            acks,
            sent_per_partition: vec![0; plan.args.partitions as usize],
        }
    }

    /// Takes an in-flight slot if one frees up within `wait`; `false` if none did.
    fn acquire(&mut self, wait: Wait) -> Result<bool, BenchError> {
        let Some(acks) = &mut self.acks else {
            return Ok(true);
        };
        if acks.holding_slot {
            return Ok(true);
        }
        let got = match wait {
            Wait::No => match acks.slots.try_recv() {
                Ok(()) => true,
                Err(TryRecvError::Empty) => false,
                Err(TryRecvError::Disconnected) => return Err(self.reader_failure()),
            },
            Wait::For(ns) => match acks.slots.recv_timeout(Duration::from_nanos(ns)) {
                Ok(()) => true,
                Err(RecvTimeoutError::Timeout) => false,
                Err(RecvTimeoutError::Disconnected) => return Err(self.reader_failure()),
            },
            Wait::Forever => match acks.slots.recv() {
                Ok(()) => true,
                Err(_) => return Err(self.reader_failure()),
            },
        };
        acks.holding_slot = got;
        Ok(got)
    }

    /// The acks reader stopped (it hands back slots until it fails): its error explains why.
    fn reader_failure(&mut self) -> BenchError {
        match self.acks.take() {
            Some(acks) => match acks.reader.join() {
                Ok(Err(e)) => e,
                Ok(Ok(_)) => BenchError::Panicked("producer-acks (ended early)"),
                Err(_) => BenchError::Panicked("producer-acks"),
            },
            None => BenchError::Panicked("producer-acks"),
        }
    }

    fn send(&mut self, batches: Vec<(usize, Batch)>) -> Result<(), BenchError> {
        let compression = self.plan.args.compression.into();
        let mut topic = TopicProduceData::default();
        topic.name = self.topic.clone();
        let mut parts = Vec::with_capacity(batches.len());
        for (partition, batch) in batches {
            let mut data = PartitionProduceData::default();
            data.index = partition as i32;
            data.records = Some(encode_batch(&batch.records, compression)?);
            topic.partition_data.push(data);
            parts.push((
                partition,
                batch.records.len() as u64,
                batch.payload_bytes as u64,
            ));
        }
        let mut req = ProduceRequest::default();
        req.acks = self.plan.args.acks;
        req.timeout_ms = 30_000;
        req.topic_data = vec![topic];
        let sent_ns = now_ns();
        let correlation_id = self.writer.send(&req)?;
        let counters = &self.plan.counters;
        let records: u64 = parts.iter().map(|p| p.1).sum();
        add(&counters.sent_records, records);
        match &mut self.acks {
            Some(acks) => {
                acks.holding_slot = false;
                let pending = Pending {
                    correlation_id,
                    sent_ns,
                    parts,
                };
                if acks.pending.send(pending).is_err() {
                    return Err(self.reader_failure());
                }
            }
            None => {
                for (partition, n, bytes) in parts {
                    self.sent_per_partition[partition] += n;
                    add(&counters.acked_records, n);
                    add(&counters.acked_bytes, bytes);
                }
            }
        }
        Ok(())
    }

    /// Waits for every answer (closing the pending queue ends the reader) and returns the totals.
    fn finish(self) -> Result<Outcome, BenchError> {
        match self.acks {
            None => Ok(Outcome {
                acked_per_partition: self.sent_per_partition,
                ack_latency: latency_histogram(),
            }),
            Some(acks) => {
                drop(acks.pending);
                acks.reader
                    .join()
                    .map_err(|_| BenchError::Panicked("producer-acks"))?
            }
        }
    }
}

/// The acks reader: one answer per pending request, in order; a slot goes back after each.
fn read_acks(
    plan: &Plan,
    mut reader: ResponseReader,
    pending: Receiver<Pending>,
    slots: SyncSender<()>,
) -> Result<Outcome, BenchError> {
    let mut out = Outcome {
        acked_per_partition: vec![0; plan.args.partitions as usize],
        ack_latency: latency_histogram(),
    };
    let counters = &plan.counters;
    let mut warned = false;
    for p in pending {
        let resp = reader.receive::<ProduceRequest>(p.correlation_id)?;
        let now = now_ns();
        if plan.window.contains(p.sent_ns) {
            record_latency(&mut out.ack_latency, p.sent_ns, now);
        }
        let answers = resp.responses.iter().flat_map(|t| &t.partition_responses);
        for (partition, n, bytes) in p.parts {
            let code = answers
                .clone()
                .find(|a| a.index as usize == partition)
                .map_or(-1, |a| a.error_code);
            if code == 0 {
                out.acked_per_partition[partition] += n;
                add(&counters.acked_records, n);
                add(&counters.acked_bytes, bytes);
            } else {
                add(&counters.produce_errors, n);
                if !warned {
                    warn!(
                        partition,
                        code, "produce failed (further failures are only counted)"
                    );
                    warned = true;
                }
            }
        }
        // The producer may have gone already (it failed): then nobody needs the slot.
        let _ = slots.send(());
    }
    Ok(out)
}
