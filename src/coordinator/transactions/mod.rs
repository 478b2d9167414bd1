//! The transaction coordinator. A transactional id is owned by the shard that owns its
//! `__transaction_state` partition on the node leading it, so its state and the log it is kept in live
//! together, with no locks. `TxnCoordinator` is one shard's slice: its ids' state (`state.rs`), each
//! new state persisted (fsynced and replicated to the ISR) before it takes effect. A partition is
//! (re)loaded from its log whenever its leader epoch differs from the one it was loaded at, so a
//! coordinator that takes over after a failover starts from what the old one persisted, and the
//! transactions it finds decided but not completed are handed back to be completed.
//! Writing the markers is the Kafka layer's part (`kafka::txn_markers`); this service only says which.

pub mod state;

use super::txn_log::{self, TxnRecord, TxnStatus};
use crate::runtime::partitions::Partitions;
use crate::storage::batch::validate_record_set;
use crate::storage::log::now_ms;
use crate::storage::PartitionLog;
use kafka_protocol::ResponseError;
use state::{Completion, InitDecision, TxnEntry};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;
use tracing::{info, warn};

/// How long a state record may wait for the in-sync replicas.
const REPLICATION_TIMEOUT: Duration = Duration::from_secs(30);

pub struct TxnCoordinator {
    /// This shard's partition logs: the ids' state lives in its `__transaction_state` partitions.
    partitions: Rc<Partitions>,
    txns: RefCell<HashMap<String, TxnEntry>>,
    /// `__transaction_state` partition → the leader epoch it was loaded at.
    loaded: RefCell<HashMap<i32, i32>>,
}

/// What InitProducerId gets.
#[derive(Debug)]
pub enum InitAnswer {
    Granted {
        producer_id: i64,
        epoch: i16,
    },
    /// Ask the controller for a producer id and call again with it.
    NeedProducerId,
    /// The id's open transaction is being aborted: complete it, then answer CONCURRENT_TRANSACTIONS.
    Aborting(Completion),
}

impl TxnCoordinator {
    pub fn new(partitions: Rc<Partitions>) -> TxnCoordinator {
        TxnCoordinator {
            partitions,
            txns: RefCell::default(),
            loaded: RefCell::default(),
        }
    }

    /// The `__transaction_state` partition `partition` of this shard, if it leads it.
    pub fn state_log(&self, partition: i32) -> Result<Rc<PartitionLog>, ResponseError> {
        let log = self
            .partitions
            .get(txn_log::TOPIC, partition)
            .ok_or(ResponseError::NotCoordinator)?;
        if !log.is_leader() {
            return Err(ResponseError::NotCoordinator);
        }
        Ok(log)
    }

    /// Loads `log`'s ids if its leadership changed since they were loaded. Returns the transactions
    /// found decided but not completed: the caller writes their markers and completes them.
    pub fn ensure_loaded(&self, log: &PartitionLog) -> Vec<Completion> {
        let epoch = log.leader_epoch();
        if self.loaded.borrow().get(&log.partition) == Some(&epoch) {
            return Vec::new();
        }
        let segments = match log.read_segments() {
            Ok(s) => s,
            Err(e) => {
                warn!(partition = log.partition, error = %e, "cannot replay __transaction_state partition");
                return Vec::new();
            }
        };
        let mut txns = self.txns.borrow_mut();
        txns.retain(|_, e| e.partition != log.partition);
        let mut replayed = 0usize;
        for segment in segments {
            txn_log::replay(segment, |id, record| {
                replayed += 1;
                match record {
                    Some(record) => {
                        txns.insert(
                            id,
                            TxnEntry {
                                partition: log.partition,
                                record,
                                last_epoch: -1,
                                busy: false,
                            },
                        );
                    }
                    None => {
                        txns.remove(&id);
                    }
                }
            });
        }
        self.loaded.borrow_mut().insert(log.partition, epoch);
        let pending: Vec<Completion> = txns
            .iter_mut()
            .filter(|(_, e)| e.partition == log.partition)
            .filter_map(|(id, e)| {
                let c = e.completion(id, epoch)?;
                e.busy = true;
                Some(c)
            })
            .collect();
        if replayed > 0 {
            info!(
                partition = log.partition,
                records = replayed,
                to_complete = pending.len(),
                "loaded transaction state"
            );
        }
        pending
    }

    /// Appends `record` as `id`'s new state and waits until it is durable and replicated; only then
    /// does it take effect. The entry stays busy meanwhile, and afterwards if `keep_busy`.
    async fn persist(
        &self,
        log: &Rc<PartitionLog>,
        id: &str,
        record: TxnRecord,
        keep_busy: bool,
    ) -> Result<(), ResponseError> {
        let previous = {
            let mut txns = self.txns.borrow_mut();
            let entry = txns.entry(id.to_string()).or_insert_with(|| TxnEntry {
                partition: log.partition,
                record: record.clone(),
                last_epoch: -1,
                busy: false,
            });
            entry.busy = true;
            entry.record.clone()
        };
        let written = write_state(log, id, &record).await;
        let mut txns = self.txns.borrow_mut();
        match written {
            Ok(()) => {
                if let Some(entry) = txns.get_mut(id) {
                    if record.producer_epoch != previous.producer_epoch
                        && record.producer_id == previous.producer_id
                    {
                        entry.last_epoch = previous.producer_epoch;
                    }
                    entry.record = record;
                    entry.busy = keep_busy;
                }
                Ok(())
            }
            Err(e) => {
                warn!(transactional_id = id, error = %e, "transaction state not persisted");
                if let Some(entry) = txns.get_mut(id) {
                    entry.busy = false;
                }
                Err(ResponseError::NotCoordinator)
            }
        }
    }

    fn entry(&self, id: &str) -> Option<TxnEntry> {
        self.txns.borrow().get(id).cloned()
    }

    /// InitProducerId with `id`. `fresh_producer_id` is the id the controller handed out after an
    /// earlier `NeedProducerId`.
    pub async fn init_producer_id(
        &self,
        log: &Rc<PartitionLog>,
        id: &str,
        timeout_ms: i32,
        expected: Option<(i64, i16)>,
        fresh_producer_id: Option<i64>,
    ) -> Result<InitAnswer, ResponseError> {
        let now = now_ms();
        let decision = match self.entry(id) {
            None => InitDecision::NeedProducerId,
            Some(entry) => entry.init(timeout_ms, expected, now)?,
        };
        let record = match decision {
            InitDecision::Grant(record) => record,
            InitDecision::NeedProducerId => match fresh_producer_id {
                None => return Ok(InitAnswer::NeedProducerId),
                Some(pid) => {
                    if self.entry(id).is_some_and(|e| e.busy) {
                        return Err(ResponseError::ConcurrentTransactions);
                    }
                    state::new_record(pid, timeout_ms, now)
                }
            },
            InitDecision::AbortFirst(record) => {
                info!(
                    transactional_id = id,
                    producer_id = record.producer_id,
                    "a new producer fences the open transaction: aborting it"
                );
                self.persist(log, id, record, true).await?;
                let entry = self.entry(id).expect("just persisted");
                let completion = entry
                    .completion(id, log.leader_epoch())
                    .expect("a prepared record");
                return Ok(InitAnswer::Aborting(completion));
            }
        };
        let (producer_id, epoch) = (record.producer_id, record.producer_epoch);
        self.persist(log, id, record, false).await?;
        Ok(InitAnswer::Granted { producer_id, epoch })
    }

    /// AddPartitionsToTxn / AddOffsetsToTxn: `partitions` join `id`'s transaction.
    pub async fn add_partitions(
        &self,
        log: &Rc<PartitionLog>,
        id: &str,
        producer_id: i64,
        epoch: i16,
        partitions: &[(String, i32)],
    ) -> Result<(), ResponseError> {
        let entry = self
            .entry(id)
            .ok_or(ResponseError::InvalidProducerIdMapping)?;
        match entry.add_partitions(producer_id, epoch, partitions, now_ms())? {
            None => Ok(()),
            Some(record) => self.persist(log, id, record, false).await,
        }
    }

    /// Whether every one of `partitions` is in `id`'s open transaction (KIP-890 verification).
    pub fn verify_partitions(
        &self,
        id: &str,
        producer_id: i64,
        epoch: i16,
        partitions: &[(String, i32)],
    ) -> Result<Vec<bool>, ResponseError> {
        let entry = self
            .entry(id)
            .ok_or(ResponseError::InvalidProducerIdMapping)?;
        let r = &entry.record;
        if r.producer_id != producer_id {
            return Err(ResponseError::InvalidProducerIdMapping);
        }
        if r.producer_epoch != epoch {
            return Err(ResponseError::ProducerFenced);
        }
        Ok(partitions
            .iter()
            .map(|p| r.status == TxnStatus::Ongoing && r.partitions.contains(p))
            .collect())
    }

    /// EndTxn: persists the decision and returns the completion to drive (`None`: already complete).
    pub async fn end_txn(
        &self,
        log: &Rc<PartitionLog>,
        id: &str,
        producer_id: i64,
        epoch: i16,
        commit: bool,
    ) -> Result<Option<Completion>, ResponseError> {
        let entry = self
            .entry(id)
            .ok_or(ResponseError::InvalidProducerIdMapping)?;
        let Some(record) = entry.end(producer_id, epoch, commit, now_ms())? else {
            return Ok(None);
        };
        self.persist(log, id, record, true).await?;
        Ok(self
            .entry(id)
            .and_then(|e| e.completion(id, log.leader_epoch())))
    }

    /// Every marker of `completion` is written: the transaction is Complete.
    pub async fn complete(
        &self,
        log: &Rc<PartitionLog>,
        completion: &Completion,
    ) -> Result<(), ResponseError> {
        let id = &completion.transactional_id;
        let Some(entry) = self.entry(id) else {
            return Ok(());
        };
        if entry.completion(id, completion.coordinator_epoch).as_ref() != Some(completion) {
            // Superseded (reloaded by a newer leadership, which completes it itself).
            return Ok(());
        }
        self.persist(log, id, entry.completed(now_ms()), false)
            .await
    }

    /// Aborts this shard's transactions open past their timeout (epoch bumped, PrepareAbort persisted)
    /// and returns them with their logs, to be completed.
    pub async fn abort_expired(&self) -> Vec<(Rc<PartitionLog>, Completion)> {
        let now = now_ms();
        let expired: Vec<(String, i32, TxnRecord)> = self
            .txns
            .borrow()
            .iter()
            .filter_map(|(id, e)| Some((id.clone(), e.partition, e.expire(now)?)))
            .collect();
        let mut aborting = Vec::new();
        for (id, partition, record) in expired {
            let Ok(log) = self.state_log(partition) else {
                continue;
            };
            info!(
                transactional_id = %id,
                producer_id = record.producer_id,
                "transaction timed out: aborting it"
            );
            if self.persist(&log, &id, record, true).await.is_err() {
                continue;
            }
            if let Some(c) = self
                .entry(&id)
                .and_then(|e| e.completion(&id, log.leader_epoch()))
            {
                aborting.push((log, c));
            }
        }
        aborting
    }

    /// The state of `id`, if this shard coordinates it.
    pub fn describe(&self, id: &str) -> Option<TxnRecord> {
        self.entry(id).map(|e| e.record)
    }

    /// Every id this shard coordinates, with its state.
    pub fn list(&self) -> Vec<(String, TxnRecord)> {
        self.txns
            .borrow()
            .iter()
            .filter(|(_, e)| self.state_log(e.partition).is_ok())
            .map(|(id, e)| (id.clone(), e.record.clone()))
            .collect()
    }

    /// This shard's `__transaction_state` partitions that it leads.
    pub fn led_partitions(&self) -> Vec<Rc<PartitionLog>> {
        self.partitions
            .all()
            .into_iter()
            .filter(|l| l.topic == txn_log::TOPIC && l.is_leader())
            .collect()
    }
}

async fn write_state(log: &Rc<PartitionLog>, id: &str, record: &TxnRecord) -> Result<(), String> {
    let batch = txn_log::encode_batch(id, Some(record), now_ms());
    let batches = validate_record_set(&batch, usize::MAX).map_err(|e| e.to_string())?;
    let appended = log.append(batches).map_err(|e| e.to_string())?;
    log.ensure_durable(appended.end_offset)
        .await
        .map_err(|e| e.to_string())?;
    if !log
        .replicated_within(appended.end_offset, REPLICATION_TIMEOUT)
        .await
    {
        return Err("the in-sync replicas did not confirm it".into());
    }
    Ok(())
}
