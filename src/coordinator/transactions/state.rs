//! One transactional id's state machine, pure: what each request does to it and what it answers.
//! The service (`super`) persists each new record before it takes effect, and drives markers.

use crate::coordinator::txn_log::{TxnRecord, TxnStatus};
use kafka_protocol::ResponseError;
use std::collections::BTreeSet;

/// A transaction decided (PrepareCommit / PrepareAbort persisted) whose markers must now be written to
/// every partition in it, after which it is Complete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    pub transactional_id: String,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub coordinator_epoch: i32,
    pub commit: bool,
    pub partitions: BTreeSet<(String, i32)>,
}

/// A transactional id as its coordinator holds it.
#[derive(Clone, Debug)]
pub struct TxnEntry {
    /// Its `__transaction_state` partition.
    pub partition: i32,
    pub record: TxnRecord,
    /// The epoch before the last bump the coordinator made on its own (timeout abort): a producer
    /// still holding it may recover with InitProducerId (KIP-360) instead of being fenced.
    pub last_epoch: i16,
    /// A transition is being persisted or its markers written: other requests wait (CONCURRENT_TRANSACTIONS).
    pub busy: bool,
}

/// What InitProducerId decides.
#[derive(Debug, PartialEq, Eq)]
pub enum InitDecision {
    /// Persist this record, then answer with its producer id and epoch.
    Grant(TxnRecord),
    /// A fresh producer id is needed first (new id, or the epoch is exhausted).
    NeedProducerId,
    /// The id's open transaction must be aborted first (fencing its old producer): persist the
    /// PrepareAbort record, drive the completion, and answer CONCURRENT_TRANSACTIONS so the client retries.
    AbortFirst(TxnRecord),
}

/// Epochs stop short of i16::MAX: past that a producer gets a new id.
const LAST_EPOCH: i16 = i16::MAX - 1;

fn changed(record: &TxnRecord, status: TxnStatus, now_ms: i64) -> TxnRecord {
    let mut r = record.clone();
    r.status = status;
    r.last_update_ms = now_ms;
    r
}

/// A fresh id's first record.
pub fn new_record(producer_id: i64, timeout_ms: i32, now_ms: i64) -> TxnRecord {
    TxnRecord {
        producer_id,
        producer_epoch: 0,
        timeout_ms,
        status: TxnStatus::Empty,
        partitions: BTreeSet::new(),
        last_update_ms: now_ms,
        start_ms: -1,
    }
}

impl TxnEntry {
    fn ready(&self) -> Result<(), ResponseError> {
        if self.busy || self.record.status.is_prepared() {
            return Err(ResponseError::ConcurrentTransactions);
        }
        Ok(())
    }

    /// The producer naming this id must be its current one.
    fn check_producer(&self, producer_id: i64, epoch: i16) -> Result<(), ResponseError> {
        if producer_id != self.record.producer_id {
            return Err(ResponseError::InvalidProducerIdMapping);
        }
        if epoch != self.record.producer_epoch {
            return Err(ResponseError::ProducerFenced);
        }
        Ok(())
    }

    /// InitProducerId from a producer of this id; `expected` is the id and epoch it holds (KIP-360).
    pub fn init(
        &self,
        timeout_ms: i32,
        expected: Option<(i64, i16)>,
        now_ms: i64,
    ) -> Result<InitDecision, ResponseError> {
        self.ready()?;
        let r = &self.record;
        if let Some((pid, epoch)) = expected {
            let current =
                pid == r.producer_id && (epoch == r.producer_epoch || epoch == self.last_epoch);
            if !current {
                return Err(ResponseError::ProducerFenced);
            }
        }
        match r.status {
            TxnStatus::Ongoing => {
                if r.producer_epoch >= LAST_EPOCH {
                    return Err(ResponseError::ProducerFenced);
                }
                let mut abort = changed(r, TxnStatus::PrepareAbort, now_ms);
                abort.producer_epoch += 1;
                Ok(InitDecision::AbortFirst(abort))
            }
            TxnStatus::Empty | TxnStatus::CompleteCommit | TxnStatus::CompleteAbort => {
                if r.producer_epoch >= LAST_EPOCH {
                    return Ok(InitDecision::NeedProducerId);
                }
                let mut next = changed(r, TxnStatus::Empty, now_ms);
                next.producer_epoch += 1;
                next.timeout_ms = timeout_ms;
                next.partitions.clear();
                next.start_ms = -1;
                Ok(InitDecision::Grant(next))
            }
            TxnStatus::Dead => Ok(InitDecision::NeedProducerId),
            TxnStatus::PrepareCommit | TxnStatus::PrepareAbort | TxnStatus::PrepareEpochFence => {
                Err(ResponseError::ConcurrentTransactions)
            }
        }
    }

    /// AddPartitionsToTxn / AddOffsetsToTxn: `None` when every partition is already in the
    /// transaction (nothing to persist), else the Ongoing record to persist.
    pub fn add_partitions(
        &self,
        producer_id: i64,
        epoch: i16,
        partitions: &[(String, i32)],
        now_ms: i64,
    ) -> Result<Option<TxnRecord>, ResponseError> {
        self.check_producer(producer_id, epoch)?;
        self.ready()?;
        let r = &self.record;
        if !r.status.may_become(TxnStatus::Ongoing) {
            return Err(ResponseError::InvalidTxnState);
        }
        if r.status == TxnStatus::Ongoing && partitions.iter().all(|p| r.partitions.contains(p)) {
            return Ok(None);
        }
        let mut next = changed(r, TxnStatus::Ongoing, now_ms);
        if r.status != TxnStatus::Ongoing {
            next.partitions.clear();
            next.start_ms = now_ms;
        }
        next.partitions.extend(partitions.iter().cloned());
        Ok(Some(next))
    }

    /// EndTxn: `None` for a retry of the decision already completed, else the Prepare record to persist.
    pub fn end(
        &self,
        producer_id: i64,
        epoch: i16,
        commit: bool,
        now_ms: i64,
    ) -> Result<Option<TxnRecord>, ResponseError> {
        self.check_producer(producer_id, epoch)?;
        let r = &self.record;
        match (r.status, commit) {
            (TxnStatus::CompleteCommit, true) | (TxnStatus::CompleteAbort, false) => {
                return Ok(None)
            }
            (TxnStatus::PrepareCommit, true) | (TxnStatus::PrepareAbort, false) => {
                return Err(ResponseError::ConcurrentTransactions)
            }
            _ => {}
        }
        self.ready()?;
        if r.status != TxnStatus::Ongoing {
            return Err(ResponseError::InvalidTxnState);
        }
        let status = if commit {
            TxnStatus::PrepareCommit
        } else {
            TxnStatus::PrepareAbort
        };
        Ok(Some(changed(r, status, now_ms)))
    }

    /// The proactive abort of a transaction open past its timeout: the epoch is bumped so its producer
    /// is fenced (it may recover through KIP-360). `None` unless the transaction has expired.
    pub fn expire(&self, now_ms: i64) -> Option<TxnRecord> {
        let r = &self.record;
        let expired = r.status == TxnStatus::Ongoing
            && !self.busy
            && r.start_ms + i64::from(r.timeout_ms) < now_ms
            && r.producer_epoch < LAST_EPOCH;
        expired.then(|| {
            let mut abort = changed(r, TxnStatus::PrepareAbort, now_ms);
            abort.producer_epoch += 1;
            abort
        })
    }

    /// The completion a Prepare record calls for.
    pub fn completion(&self, transactional_id: &str, coordinator_epoch: i32) -> Option<Completion> {
        let r = &self.record;
        r.status.is_prepared().then(|| Completion {
            transactional_id: transactional_id.to_string(),
            producer_id: r.producer_id,
            producer_epoch: r.producer_epoch,
            coordinator_epoch,
            commit: r.status == TxnStatus::PrepareCommit,
            partitions: r.partitions.clone(),
        })
    }

    /// The Complete record that follows a Prepare one once every marker is written.
    pub fn completed(&self, now_ms: i64) -> TxnRecord {
        let status = if self.record.status == TxnStatus::PrepareCommit {
            TxnStatus::CompleteCommit
        } else {
            TxnStatus::CompleteAbort
        };
        let mut r = changed(&self.record, status, now_ms);
        r.partitions.clear();
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(status: TxnStatus, epoch: i16) -> TxnEntry {
        let mut record = new_record(7, 60_000, 0);
        record.status = status;
        record.producer_epoch = epoch;
        record.start_ms = 100;
        if status != TxnStatus::Empty {
            record.partitions.insert(("t".into(), 0));
        }
        TxnEntry {
            partition: 0,
            record,
            last_epoch: -1,
            busy: false,
        }
    }

    #[test]
    fn init_bumps_the_epoch_of_a_finished_id() {
        let e = entry(TxnStatus::CompleteCommit, 3);
        let InitDecision::Grant(r) = e.init(30_000, None, 5).unwrap() else {
            panic!("expected a grant")
        };
        assert_eq!((r.producer_id, r.producer_epoch), (7, 4));
        assert_eq!(r.status, TxnStatus::Empty);
        assert!(r.partitions.is_empty());
        assert_eq!(r.timeout_ms, 30_000);
    }

    #[test]
    fn init_fences_an_open_transaction_by_aborting_it_with_a_higher_epoch() {
        let e = entry(TxnStatus::Ongoing, 3);
        let InitDecision::AbortFirst(r) = e.init(30_000, None, 5).unwrap() else {
            panic!("expected an abort")
        };
        assert_eq!(r.status, TxnStatus::PrepareAbort);
        assert_eq!(r.producer_epoch, 4);
        assert_eq!(r.partitions.len(), 1);
        let mut aborting = e.clone();
        aborting.record = r;
        assert_eq!(
            aborting.init(30_000, None, 6),
            Err(ResponseError::ConcurrentTransactions)
        );
    }

    #[test]
    fn init_with_a_stale_producer_is_fenced_and_an_exhausted_epoch_needs_a_new_id() {
        let e = entry(TxnStatus::CompleteAbort, 3);
        assert_eq!(
            e.init(1, Some((7, 2)), 0),
            Err(ResponseError::ProducerFenced)
        );
        assert!(matches!(
            e.init(1, Some((7, 3)), 0),
            Ok(InitDecision::Grant(_))
        ));
        let worn = entry(TxnStatus::Empty, LAST_EPOCH);
        assert_eq!(worn.init(1, None, 0), Ok(InitDecision::NeedProducerId));
    }

    #[test]
    fn add_partitions_checks_the_producer_and_state() {
        let e = entry(TxnStatus::Empty, 1);
        let parts = [("a".to_string(), 1)];
        assert_eq!(
            e.add_partitions(8, 1, &parts, 0),
            Err(ResponseError::InvalidProducerIdMapping)
        );
        assert_eq!(
            e.add_partitions(7, 0, &parts, 0),
            Err(ResponseError::ProducerFenced)
        );
        let r = e.add_partitions(7, 1, &parts, 9).unwrap().unwrap();
        assert_eq!(r.status, TxnStatus::Ongoing);
        assert_eq!(r.start_ms, 9);
        let mut ongoing = e.clone();
        ongoing.record = r;
        assert_eq!(ongoing.add_partitions(7, 1, &parts, 10), Ok(None));
        let prepared = entry(TxnStatus::PrepareCommit, 1);
        assert_eq!(
            prepared.add_partitions(7, 1, &parts, 0),
            Err(ResponseError::ConcurrentTransactions)
        );
    }

    #[test]
    fn end_prepares_then_completes_and_retries_are_idempotent() {
        let e = entry(TxnStatus::Ongoing, 1);
        let prepared = e.end(7, 1, true, 5).unwrap().unwrap();
        assert_eq!(prepared.status, TxnStatus::PrepareCommit);
        let mut p = e.clone();
        p.record = prepared;
        let c = p.completion("id", 4).unwrap();
        assert!(c.commit);
        assert_eq!(c.coordinator_epoch, 4);
        let done = p.completed(6);
        assert_eq!(done.status, TxnStatus::CompleteCommit);
        assert!(done.partitions.is_empty());
        let mut d = e.clone();
        d.record = done;
        assert_eq!(d.end(7, 1, true, 7), Ok(None));
        assert_eq!(d.end(7, 1, false, 7), Err(ResponseError::InvalidTxnState));
        let empty = entry(TxnStatus::Empty, 1);
        assert_eq!(
            empty.end(7, 1, true, 0),
            Err(ResponseError::InvalidTxnState)
        );
    }

    #[test]
    fn only_transactions_past_their_timeout_expire() {
        let e = entry(TxnStatus::Ongoing, 1);
        assert_eq!(e.expire(100 + 60_000), None);
        let abort = e.expire(100 + 60_001).unwrap();
        assert_eq!(abort.status, TxnStatus::PrepareAbort);
        assert_eq!(abort.producer_epoch, 2);
        assert_eq!(entry(TxnStatus::CompleteCommit, 1).expire(i64::MAX), None);
    }
}
