//! The producer's record accumulator, shaped like the Java client's so both brokers see the same request
//! pattern a Java application would send: records collect in a batch per partition; a batch closes at
//! `batch.size` bytes; a produce request is due once some partition's first batch is closed or has waited
//! `linger.ms`, and it then takes the first batch of every partition that has one (partial batches too, as
//! Java's drain does), up to `max.request.size`.

use crate::client::records::producer_record;
use bytes::Bytes;
use kafka_protocol::records::Record;
use std::collections::VecDeque;

pub struct Batch {
    pub records: Vec<Record>,
    /// Key and value bytes: what `batch.size` and the MB/s figures count.
    pub payload_bytes: usize,
    created_ns: u64,
}

pub struct Accumulator {
    queues: Vec<VecDeque<Batch>>,
    batch_size: usize,
    linger_ns: u64,
    buffered_bytes: usize,
    /// Where the next drain starts, so no partition is always first (Java's drain rotates the same way).
    drain_start: usize,
}

impl Accumulator {
    pub fn new(partitions: usize, batch_size: usize, linger_ns: u64) -> Accumulator {
        Accumulator {
            queues: (0..partitions).map(|_| VecDeque::new()).collect(),
            batch_size,
            linger_ns,
            buffered_bytes: 0,
            drain_start: 0,
        }
    }

    /// Adds a record to `partition`'s open batch (opening one if the last is full).
    pub fn append(&mut self, partition: usize, key: Option<Bytes>, value: Bytes, now_ns: u64) {
        let bytes = value.len() + key.as_ref().map_or(0, Bytes::len);
        let queue = &mut self.queues[partition];
        if queue
            .back()
            .is_none_or(|b| b.payload_bytes >= self.batch_size)
        {
            queue.push_back(Batch {
                records: Vec::new(),
                payload_bytes: 0,
                created_ns: now_ns,
            });
        }
        let Some(batch) = queue.back_mut() else {
            return;
        };
        let index = batch.records.len() as i32;
        batch.records.push(producer_record(index, key, value));
        batch.payload_bytes += bytes;
        self.buffered_bytes += bytes;
    }

    /// Key and value bytes held, sent or not yet.
    pub fn buffered_bytes(&self) -> usize {
        self.buffered_bytes
    }

    pub fn is_empty(&self) -> bool {
        self.buffered_bytes == 0
    }

    /// Whether a produce request should go out now.
    pub fn ready(&self, now_ns: u64) -> bool {
        self.queues.iter().any(|q| match q.front() {
            None => false,
            Some(first) => {
                q.len() > 1
                    || first.payload_bytes >= self.batch_size
                    || now_ns >= first.created_ns + self.linger_ns
            }
        })
    }

    /// When the oldest batch's linger runs out; `None` when nothing is buffered.
    pub fn linger_deadline_ns(&self) -> Option<u64> {
        self.queues
            .iter()
            .filter_map(|q| q.front())
            .map(|b| b.created_ns + self.linger_ns)
            .min()
    }

    /// Takes the first batch of each partition that has one, until `max_bytes` (always at least one).
    pub fn drain(&mut self, max_bytes: usize) -> Vec<(usize, Batch)> {
        let n = self.queues.len();
        let mut taken = Vec::new();
        let mut bytes = 0;
        for i in 0..n {
            let partition = (self.drain_start + i) % n;
            let Some(first) = self.queues[partition].front() else {
                continue;
            };
            if !taken.is_empty() && bytes + first.payload_bytes > max_bytes {
                break;
            }
            if let Some(batch) = self.queues[partition].pop_front() {
                bytes += batch.payload_bytes;
                taken.push((partition, batch));
            }
        }
        self.drain_start = (self.drain_start + 1) % n;
        self.buffered_bytes -= bytes;
        taken
    }
}

/// The record's CreateTime, as a producer stamps it (brokers use it for time-based retention and index).
#[cfg(test)]
mod tests {
    use super::*;

    fn value(n: usize) -> Bytes {
        Bytes::from(vec![b'x'; n])
    }

    #[test]
    fn batches_close_at_batch_size() {
        let mut acc = Accumulator::new(2, 100, 1_000);
        acc.append(0, None, value(40), 0);
        acc.append(0, None, value(40), 0);
        assert!(!acc.ready(10), "80 bytes: the batch stays open");
        acc.append(0, None, value(40), 0);
        assert!(
            acc.ready(10),
            "120 bytes reach batch.size: the batch is closed"
        );
        acc.append(0, None, value(40), 0);
        let drained = acc.drain(1 << 20);
        assert_eq!(drained.len(), 1, "one batch per partition per request");
        assert_eq!(drained[0].1.records.len(), 3);
        assert_eq!(
            acc.buffered_bytes(),
            40,
            "the fourth record opened a new batch"
        );
    }

    #[test]
    fn linger_makes_a_partial_batch_ready() {
        let mut acc = Accumulator::new(1, 1_000, 5_000);
        acc.append(0, None, value(10), 1_000);
        assert!(!acc.ready(5_999));
        assert_eq!(acc.linger_deadline_ns(), Some(6_000));
        assert!(acc.ready(6_000));
    }

    #[test]
    fn a_request_takes_one_batch_per_partition_up_to_the_limit() {
        let mut acc = Accumulator::new(3, 100, 0);
        for p in 0..3 {
            acc.append(p, None, value(100), 0);
            acc.append(p, None, value(100), 0);
        }
        let first = acc.drain(250);
        assert_eq!(first.iter().map(|(p, _)| *p).collect::<Vec<_>>(), [0, 1]);
        let second = acc.drain(1_000);
        assert_eq!(
            second.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
            [1, 2, 0]
        );
    }

    #[test]
    fn offsets_and_sequences_count_up_together() {
        let mut acc = Accumulator::new(1, 1_000, 0);
        acc.append(0, None, value(1), 0);
        acc.append(0, None, value(1), 0);
        let (_, batch) = acc.drain(1_000).remove(0);
        let pairs: Vec<_> = batch
            .records
            .iter()
            .map(|r| (r.offset, r.sequence))
            .collect();
        assert_eq!(pairs, [(0, 0), (1, 1)]);
    }
}
