//! `__transaction_state`: where transaction coordinators keep each transactional id's state, as
//! records of a compacted internal topic in Kafka's own layout (so Kafka tools can read it):
//! key v0 = version i16 (0) | transactional id string;
//! value v0 = version i16 | producer id i64 | epoch i16 | timeout i32 | status i8 |
//! partitions (nullable array of topic string + i32 array) | last update i64 | start i64.
//! A null value (tombstone) forgets the transactional id. A transactional id lives on the shard that
//! owns its partition here, `abs(javaHashCode(id)) % transaction.state.log.num.partitions`.

use super::internal_records::{self, get_string, put_string, Writer};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::records::RecordBatchDecoder;
use std::collections::BTreeSet;

pub use super::offsets_topic::partition_for;

pub const TOPIC: &str = "__transaction_state";
const KEY_VERSION: i16 = 0;
const VALUE_VERSION: i16 = 0;

/// A transaction's status, with Kafka's numbering (what `__transaction_state` stores).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxnStatus {
    Empty,
    Ongoing,
    PrepareCommit,
    PrepareAbort,
    CompleteCommit,
    CompleteAbort,
    Dead,
    PrepareEpochFence,
}

impl TxnStatus {
    pub fn code(self) -> i8 {
        match self {
            TxnStatus::Empty => 0,
            TxnStatus::Ongoing => 1,
            TxnStatus::PrepareCommit => 2,
            TxnStatus::PrepareAbort => 3,
            TxnStatus::CompleteCommit => 4,
            TxnStatus::CompleteAbort => 5,
            TxnStatus::Dead => 6,
            TxnStatus::PrepareEpochFence => 7,
        }
    }

    pub fn from_code(code: i8) -> Option<TxnStatus> {
        Some(match code {
            0 => TxnStatus::Empty,
            1 => TxnStatus::Ongoing,
            2 => TxnStatus::PrepareCommit,
            3 => TxnStatus::PrepareAbort,
            4 => TxnStatus::CompleteCommit,
            5 => TxnStatus::CompleteAbort,
            6 => TxnStatus::Dead,
            7 => TxnStatus::PrepareEpochFence,
            _ => return None,
        })
    }

    /// The name Kafka's DescribeTransactions and ListTransactions use.
    pub fn name(self) -> &'static str {
        match self {
            TxnStatus::Empty => "Empty",
            TxnStatus::Ongoing => "Ongoing",
            TxnStatus::PrepareCommit => "PrepareCommit",
            TxnStatus::PrepareAbort => "PrepareAbort",
            TxnStatus::CompleteCommit => "CompleteCommit",
            TxnStatus::CompleteAbort => "CompleteAbort",
            TxnStatus::Dead => "Dead",
            TxnStatus::PrepareEpochFence => "PrepareEpochFence",
        }
    }

    /// Whether a transaction may move from `self` to `next` (Kafka's TransactionState.validPreviousStates).
    pub fn may_become(self, next: TxnStatus) -> bool {
        use TxnStatus::*;
        let allowed: &[TxnStatus] = match next {
            Empty => &[Empty, CompleteCommit, CompleteAbort],
            Ongoing => &[Ongoing, Empty, CompleteCommit, CompleteAbort],
            PrepareCommit => &[Ongoing],
            PrepareAbort => &[Ongoing, PrepareEpochFence],
            CompleteCommit => &[PrepareCommit],
            CompleteAbort => &[PrepareAbort],
            Dead => &[Empty, CompleteAbort, CompleteCommit],
            PrepareEpochFence => &[Ongoing],
        };
        allowed.contains(&self)
    }

    /// A decision taken whose markers may not all be written yet.
    pub fn is_prepared(self) -> bool {
        matches!(self, TxnStatus::PrepareCommit | TxnStatus::PrepareAbort)
    }
}

/// One transactional id's state as persisted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxnRecord {
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub timeout_ms: i32,
    pub status: TxnStatus,
    pub partitions: BTreeSet<(String, i32)>,
    pub last_update_ms: i64,
    pub start_ms: i64,
}

pub fn encode_key(transactional_id: &str) -> Bytes {
    let mut b = BytesMut::new();
    b.put_i16(KEY_VERSION);
    put_string(&mut b, transactional_id);
    b.freeze()
}

pub fn decode_key(mut key: Bytes) -> Option<String> {
    if key.try_get_i16().ok()? != KEY_VERSION {
        return None;
    }
    get_string(&mut key)
}

/// The partitions grouped by topic, as the value's array holds them.
fn by_topic(partitions: &BTreeSet<(String, i32)>) -> Vec<(&str, Vec<i32>)> {
    let mut topics: Vec<(&str, Vec<i32>)> = Vec::new();
    for (topic, partition) in partitions {
        match topics.last_mut() {
            Some((t, ps)) if t == topic => ps.push(*partition),
            _ => topics.push((topic, vec![*partition])),
        }
    }
    topics
}

pub fn encode_value(r: &TxnRecord) -> Bytes {
    let mut b = BytesMut::new();
    b.put_i16(VALUE_VERSION);
    b.put_i64(r.producer_id);
    b.put_i16(r.producer_epoch);
    b.put_i32(r.timeout_ms);
    b.put_i8(r.status.code());
    let topics = by_topic(&r.partitions);
    b.put_i32(topics.len() as i32);
    for (topic, partitions) in topics {
        put_string(&mut b, topic);
        b.put_i32(partitions.len() as i32);
        for p in partitions {
            b.put_i32(p);
        }
    }
    b.put_i64(r.last_update_ms);
    b.put_i64(r.start_ms);
    b.freeze()
}

/// Decodes value v0 and the fixed fields of v1 (whose additions are tagged fields after them).
pub fn decode_value(mut v: Bytes) -> Option<TxnRecord> {
    let version = v.try_get_i16().ok()?;
    if !(0..=1).contains(&version) {
        return None;
    }
    let flexible = version >= 1;
    let producer_id = v.try_get_i64().ok()?;
    let producer_epoch = v.try_get_i16().ok()?;
    let timeout_ms = v.try_get_i32().ok()?;
    let status = TxnStatus::from_code(v.try_get_i8().ok()?)?;
    if flexible {
        // Compact arrays and strings in v1; shardlog writes v0 and reads v1 only to be lenient.
        return None;
    }
    let count = v.try_get_i32().ok()?;
    let mut partitions = BTreeSet::new();
    for _ in 0..count.max(0) {
        let topic = get_string(&mut v)?;
        let n = v.try_get_i32().ok()?;
        for _ in 0..n.max(0) {
            partitions.insert((topic.clone(), v.try_get_i32().ok()?));
        }
    }
    Some(TxnRecord {
        producer_id,
        producer_epoch,
        timeout_ms,
        status,
        partitions,
        last_update_ms: v.try_get_i64().ok()?,
        start_ms: v.try_get_i64().ok()?,
    })
}

/// One record batch carrying `transactional_id`'s new state (`None`: a tombstone).
pub fn encode_batch(transactional_id: &str, value: Option<&TxnRecord>, timestamp: i64) -> Bytes {
    internal_records::encode_batch(
        [(encode_key(transactional_id), value.map(encode_value))],
        Writer::PLAIN,
        timestamp,
    )
}

/// Applies every state record and tombstone in `batches` (raw segment bytes, whole batches), in log
/// order, to `apply`.
pub fn replay(mut batches: Bytes, mut apply: impl FnMut(String, Option<TxnRecord>)) {
    while batches.has_remaining() {
        let Ok(set) = RecordBatchDecoder::decode(&mut batches) else {
            return;
        };
        for r in set.records {
            let Some(id) = r.key.and_then(decode_key) else {
                continue;
            };
            apply(id, r.value.and_then(decode_value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(status: TxnStatus) -> TxnRecord {
        TxnRecord {
            producer_id: 4000,
            producer_epoch: 3,
            timeout_ms: 60_000,
            status,
            partitions: [
                ("a".to_string(), 0),
                ("a".to_string(), 2),
                ("b".to_string(), 1),
            ]
            .into_iter()
            .collect(),
            last_update_ms: 11,
            start_ms: 10,
        }
    }

    #[test]
    fn states_round_trip_through_a_batch() {
        let ongoing = record(TxnStatus::Ongoing);
        let mut seen = Vec::new();
        replay(encode_batch("t1", Some(&ongoing), 11), |id, v| {
            seen.push((id, v))
        });
        replay(encode_batch("t1", None, 12), |id, v| seen.push((id, v)));
        assert_eq!(
            seen,
            vec![("t1".to_string(), Some(ongoing)), ("t1".to_string(), None)]
        );
    }

    #[test]
    fn value_layout_is_kafkas_v0() {
        let v = encode_value(&record(TxnStatus::PrepareCommit));
        // version, producer id, epoch, timeout, status
        assert_eq!(&v[..2], &0i16.to_be_bytes());
        assert_eq!(&v[2..10], &4000i64.to_be_bytes());
        assert_eq!(&v[10..12], &3i16.to_be_bytes());
        assert_eq!(&v[12..16], &60_000i32.to_be_bytes());
        assert_eq!(v[16], 2);
        // two topics: "a" with [0, 2], "b" with [1]
        assert_eq!(&v[17..21], &2i32.to_be_bytes());
        assert_eq!(&v[21..24], &[0, 1, b'a']);
    }

    #[test]
    fn transitions_follow_kafkas_table() {
        use TxnStatus::*;
        assert!(Empty.may_become(Ongoing));
        assert!(CompleteAbort.may_become(Ongoing));
        assert!(Ongoing.may_become(PrepareCommit));
        assert!(PrepareEpochFence.may_become(PrepareAbort));
        assert!(!Empty.may_become(PrepareCommit));
        assert!(!PrepareCommit.may_become(CompleteAbort));
        assert!(!PrepareAbort.may_become(Ongoing));
        for code in 0..8 {
            assert_eq!(TxnStatus::from_code(code).map(TxnStatus::code), Some(code));
        }
        assert_eq!(TxnStatus::from_code(8), None);
    }
}
