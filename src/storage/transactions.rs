//! Transaction state of one partition: which producers have a transaction open here (from their first
//! transactional batch to their COMMIT/ABORT marker), the aborted transactions (Kafka's `.txnindex`)
//! that a `read_committed` consumer must skip, and the last stable offset (LSO) below which every
//! transaction is decided.
//!
//! A transaction stays unstable until its marker is below the high watermark (replicated), as in Kafka:
//! otherwise a failover could expose data whose marker no other replica has. Rebuilt from the batch
//! headers (and the markers' control records) when the log is opened or truncated, so it survives
//! kill -9 with nothing persisted beside the segments.

use super::batch::{BatchHeader, ControlRecord, Marker};
use std::collections::HashMap;

/// An aborted transaction: a `read_committed` fetch returns these so the client drops the producer's
/// batches in `[first_offset, last_offset]` (`last_offset` is the ABORT marker's offset).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AbortedTxn {
    pub producer_id: i64,
    pub first_offset: i64,
    pub last_offset: i64,
}

#[derive(Debug, Default)]
pub struct TransactionState {
    /// Producer id -> first offset of its open transaction on this partition.
    ongoing: HashMap<i64, i64>,
    /// Decided transactions whose marker is not yet below the high watermark: (first offset, marker offset).
    unreplicated: Vec<(i64, i64)>,
    /// In marker order (so by `last_offset`).
    aborted: Vec<AbortedTxn>,
    /// Producer id -> epoch of the coordinator that wrote its newest marker here.
    coordinator_epochs: HashMap<i64, i32>,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum MarkerError {
    #[error("producer {producer_id}: marker from coordinator epoch {epoch}, but epoch {newest} already wrote here")]
    CoordinatorFenced {
        producer_id: i64,
        epoch: i32,
        newest: i32,
    },
}

impl TransactionState {
    /// Notes a batch appended (or recovered) at `header.base_offset`; `control` is its marker when it
    /// is a control batch.
    pub fn on_batch(&mut self, header: &BatchHeader, control: Option<ControlRecord>) {
        if !header.is_transactional() || header.producer_id < 0 {
            return;
        }
        if let Some(c) = control {
            self.coordinator_epochs
                .insert(header.producer_id, c.coordinator_epoch);
        }
        match (header.is_control(), control.map(|c| c.marker)) {
            (false, _) => {
                self.ongoing
                    .entry(header.producer_id)
                    .or_insert(header.base_offset);
            }
            (true, Some(marker)) => {
                // A marker for a producer with nothing open here (a retried marker, or one for a
                // partition the transaction never wrote) decides nothing.
                let Some(first_offset) = self.ongoing.remove(&header.producer_id) else {
                    return;
                };
                let last_offset = header.base_offset;
                self.unreplicated.push((first_offset, last_offset));
                if marker == Marker::Abort {
                    self.aborted.push(AbortedTxn {
                        producer_id: header.producer_id,
                        first_offset,
                        last_offset,
                    });
                }
            }
            (true, None) => {}
        }
    }

    /// The last stable offset for high watermark `hw`: the first offset of the oldest undecided (or
    /// decided but unreplicated) transaction, if that is below `hw`.
    pub fn last_stable_offset(&mut self, hw: i64) -> i64 {
        self.unreplicated.retain(|&(_, marker)| marker >= hw);
        self.ongoing
            .values()
            .chain(self.unreplicated.iter().map(|(first, _)| first))
            .copied()
            .fold(hw, i64::min)
    }

    /// The aborted transactions that overlap offsets `[from, to)`.
    pub fn aborted_between(&self, from: i64, to: i64) -> Vec<AbortedTxn> {
        let start = self.aborted.partition_point(|a| a.last_offset < from);
        self.aborted[start..]
            .iter()
            .filter(|a| a.first_offset < to)
            .copied()
            .collect()
    }

    /// A marker from a coordinator older than the one that last wrote one for this producer is a
    /// zombie coordinator's (after a failover): refused, as Kafka's TRANSACTION_COORDINATOR_FENCED.
    pub fn check_marker(
        &self,
        producer_id: i64,
        coordinator_epoch: i32,
    ) -> Result<(), MarkerError> {
        match self.coordinator_epochs.get(&producer_id) {
            Some(&newest) if coordinator_epoch < newest => Err(MarkerError::CoordinatorFenced {
                producer_id,
                epoch: coordinator_epoch,
                newest,
            }),
            _ => Ok(()),
        }
    }

    /// The epoch of the coordinator that wrote `producer_id`'s newest marker here.
    pub fn coordinator_epoch(&self, producer_id: i64) -> Option<i32> {
        self.coordinator_epochs.get(&producer_id).copied()
    }

    /// The first offset of `producer_id`'s open transaction here, if it has one.
    pub fn open_since(&self, producer_id: i64) -> Option<i64> {
        self.ongoing.get(&producer_id).copied()
    }

    /// Forgets aborted transactions wholly below the log start (their data is deleted).
    pub fn drop_below(&mut self, log_start: i64) {
        let keep_from = self.aborted.partition_point(|a| a.last_offset < log_start);
        self.aborted.drain(..keep_from);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::batch::test_support::build_batch;
    use crate::storage::batch::{encode_marker, marker_of};

    fn data(pid: i64, offset: i64) -> BatchHeader {
        let mut h = BatchHeader::parse(&build_batch(1, 0, (pid, 0, 0))).unwrap();
        h.attributes |= 0x10;
        h.base_offset = offset;
        h
    }

    fn marker(pid: i64, offset: i64, marker: Marker) -> (BatchHeader, Option<ControlRecord>) {
        let bytes = encode_marker(pid, 0, 7, marker, 0);
        let mut h = BatchHeader::parse(&bytes).unwrap();
        h.base_offset = offset;
        (h, marker_of(&h, &bytes))
    }

    #[test]
    fn open_transactions_hold_the_lso_until_their_marker_is_replicated() {
        let mut t = TransactionState::default();
        t.on_batch(&data(1, 10), None);
        t.on_batch(&data(2, 11), None);
        t.on_batch(&data(1, 12), None);
        assert_eq!(t.last_stable_offset(13), 10);
        let (h, m) = marker(1, 13, Marker::Commit);
        t.on_batch(&h, m);
        assert_eq!(t.last_stable_offset(13), 10, "marker not below the HW yet");
        assert_eq!(t.last_stable_offset(14), 11, "producer 2 still open");
        let (h, m) = marker(2, 14, Marker::Abort);
        t.on_batch(&h, m);
        assert_eq!(t.last_stable_offset(15), 15);
        assert_eq!(
            t.aborted_between(0, 15),
            vec![AbortedTxn {
                producer_id: 2,
                first_offset: 11,
                last_offset: 14
            }]
        );
        assert!(t.aborted_between(15, 20).is_empty());
        assert_eq!(t.coordinator_epoch(2), Some(7));
        assert!(t.check_marker(2, 7).is_ok());
        assert!(
            matches!(
                t.check_marker(2, 6),
                Err(MarkerError::CoordinatorFenced { newest: 7, .. })
            ),
            "a marker from an older coordinator is fenced"
        );
        assert!(
            t.check_marker(3, 0).is_ok(),
            "no marker seen for producer 3 yet"
        );
        t.drop_below(15);
        assert!(t.aborted_between(0, 20).is_empty());
    }

    #[test]
    fn a_marker_with_nothing_open_decides_nothing() {
        let mut t = TransactionState::default();
        let (h, m) = marker(9, 0, Marker::Abort);
        t.on_batch(&h, m);
        assert!(t.aborted_between(0, 10).is_empty());
        assert_eq!(t.last_stable_offset(1), 1);
    }
}
