//! Idempotent-producer state of one partition: per producer id, its epoch and its last five batches'
//! sequence ranges, so retried batches are answered with their original offsets instead of appended twice.
//! Rebuilt at startup from the batch headers in the log, so it survives restarts.

use super::batch::BatchHeader;
use std::collections::{HashMap, VecDeque};

/// Kafka clients keep at most five batches in flight per partition; remembering five suffices to dedupe.
const BATCHES_REMEMBERED: usize = 5;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct AppendedBatch {
    first_sequence: i32,
    last_sequence: i32,
    base_offset: i64,
}

#[derive(Debug)]
struct ProducerEntry {
    epoch: i16,
    batches: VecDeque<AppendedBatch>,
    /// The max timestamp of its newest batch.
    last_timestamp: i64,
}

/// One producer as DescribeProducers shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProducerSummary {
    pub producer_id: i64,
    pub epoch: i16,
    pub last_sequence: i32,
    pub last_timestamp: i64,
}

/// What to do with an incoming batch.
#[derive(Debug, PartialEq, Eq)]
pub enum SequenceCheck {
    /// Not idempotent, or the next expected sequence: append it.
    Append,
    /// Already appended at this base offset: answer success without appending.
    Duplicate { base_offset: i64 },
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SequenceError {
    #[error("producer {producer_id} epoch {epoch} is older than the current epoch {current}")]
    FencedEpoch {
        producer_id: i64,
        epoch: i16,
        current: i16,
    },
    #[error("producer {producer_id}: sequence {got} does not follow {last}")]
    OutOfOrder {
        producer_id: i64,
        got: i32,
        last: i32,
    },
}

#[derive(Debug, Default)]
pub struct ProducerStateTable {
    producers: HashMap<i64, ProducerEntry>,
}

fn next_sequence(last: i32) -> i32 {
    if last == i32::MAX {
        0
    } else {
        last + 1
    }
}

impl ProducerStateTable {
    /// Decides whether `header`'s batch is new, a duplicate, or out of order.
    pub fn check(&self, header: &BatchHeader) -> Result<SequenceCheck, SequenceError> {
        if header.producer_id < 0 || header.base_sequence < 0 {
            return Ok(SequenceCheck::Append);
        }
        let Some(entry) = self.producers.get(&header.producer_id) else {
            // First batch we see from this producer (or its state expired): accept whatever it starts at.
            return Ok(SequenceCheck::Append);
        };
        if header.producer_epoch < entry.epoch {
            return Err(SequenceError::FencedEpoch {
                producer_id: header.producer_id,
                epoch: header.producer_epoch,
                current: entry.epoch,
            });
        }
        if header.producer_epoch > entry.epoch {
            // A bumped epoch restarts sequences at 0.
            return if header.base_sequence == 0 {
                Ok(SequenceCheck::Append)
            } else {
                Err(SequenceError::OutOfOrder {
                    producer_id: header.producer_id,
                    got: header.base_sequence,
                    last: -1,
                })
            };
        }
        if let Some(dup) = entry.batches.iter().find(|b| {
            b.first_sequence == header.base_sequence && b.last_sequence == header.last_sequence()
        }) {
            return Ok(SequenceCheck::Duplicate {
                base_offset: dup.base_offset,
            });
        }
        let last = entry.batches.back().map_or(-1, |b| b.last_sequence);
        if header.base_sequence != next_sequence(last) {
            return Err(SequenceError::OutOfOrder {
                producer_id: header.producer_id,
                got: header.base_sequence,
                last,
            });
        }
        Ok(SequenceCheck::Append)
    }

    /// A transaction marker for `producer_id` must carry at least its current epoch (the coordinator
    /// bumps the epoch to fence a producer, never lowers it).
    pub fn check_marker_epoch(&self, producer_id: i64, epoch: i16) -> Result<(), SequenceError> {
        match self.producers.get(&producer_id) {
            Some(entry) if epoch < entry.epoch => Err(SequenceError::FencedEpoch {
                producer_id,
                epoch,
                current: entry.epoch,
            }),
            _ => Ok(()),
        }
    }

    /// Remembers an appended (or recovered) batch.
    pub fn record(&mut self, header: &BatchHeader, base_offset: i64) {
        if header.producer_id < 0 || header.base_sequence < 0 {
            return;
        }
        let entry = self
            .producers
            .entry(header.producer_id)
            .or_insert_with(|| ProducerEntry {
                epoch: header.producer_epoch,
                batches: VecDeque::with_capacity(BATCHES_REMEMBERED),
                last_timestamp: -1,
            });
        entry.last_timestamp = header.max_timestamp;
        if header.producer_epoch != entry.epoch {
            entry.epoch = header.producer_epoch;
            entry.batches.clear();
        }
        if entry.batches.len() == BATCHES_REMEMBERED {
            entry.batches.pop_front();
        }
        entry.batches.push_back(AppendedBatch {
            first_sequence: header.base_sequence,
            last_sequence: header.last_sequence(),
            base_offset,
        });
    }

    /// Every producer this partition remembers.
    pub fn summaries(&self) -> impl Iterator<Item = ProducerSummary> + '_ {
        self.producers
            .iter()
            .map(|(&producer_id, e)| ProducerSummary {
                producer_id,
                epoch: e.epoch,
                last_sequence: e.batches.back().map_or(-1, |b| b.last_sequence),
                last_timestamp: e.last_timestamp,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::batch::test_support::build_batch;

    fn header(pid: i64, epoch: i16, seq: i32, count: i32) -> BatchHeader {
        BatchHeader::parse(&build_batch(count, 0, (pid, epoch, seq))).unwrap()
    }

    #[test]
    fn in_order_appends_then_retry_is_duplicate() {
        let mut t = ProducerStateTable::default();
        let a = header(7, 0, 0, 3);
        assert_eq!(t.check(&a), Ok(SequenceCheck::Append));
        t.record(&a, 100);
        let b = header(7, 0, 3, 2);
        assert_eq!(t.check(&b), Ok(SequenceCheck::Append));
        t.record(&b, 103);
        assert_eq!(
            t.check(&a),
            Ok(SequenceCheck::Duplicate { base_offset: 100 })
        );
        assert_eq!(
            t.check(&b),
            Ok(SequenceCheck::Duplicate { base_offset: 103 })
        );
    }

    #[test]
    fn gap_is_out_of_order_and_old_epoch_is_fenced() {
        let mut t = ProducerStateTable::default();
        t.record(&header(7, 1, 0, 3), 0);
        assert!(matches!(
            t.check(&header(7, 1, 5, 1)),
            Err(SequenceError::OutOfOrder { .. })
        ));
        assert!(matches!(
            t.check(&header(7, 0, 3, 1)),
            Err(SequenceError::FencedEpoch { .. })
        ));
        assert_eq!(t.check(&header(7, 2, 0, 1)), Ok(SequenceCheck::Append));
    }

    #[test]
    fn only_five_batches_are_remembered() {
        let mut t = ProducerStateTable::default();
        for i in 0..6 {
            t.record(&header(1, 0, i, 1), i64::from(i));
        }
        assert!(t.check(&header(1, 0, 0, 1)).is_err());
        assert_eq!(
            t.check(&header(1, 0, 1, 1)),
            Ok(SequenceCheck::Duplicate { base_offset: 1 })
        );
    }
}
