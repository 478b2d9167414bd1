//! `__consumer_offsets`: where groups keep their committed offsets, as ordinary records in an internal
//! topic, in Kafka's own key/value layout (so Kafka tools can read it):
//! key v1 = version i16 | group string | topic string | partition i32,
//! value v3 = version i16 | offset i64 | leader epoch i32 | metadata string | commit timestamp i64;
//! a null value (tombstone) deletes the key. A group lives on the shard that owns its partition here,
//! so a commit is a local append — no cross-shard hop.

use super::internal_records::{self, get_string, put_string, Writer};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::records::RecordBatchDecoder;

pub const TOPIC: &str = "__consumer_offsets";
const OFFSET_KEY_VERSION: i16 = 1;
const OFFSET_VALUE_VERSION: i16 = 3;

/// The `__consumer_offsets` partition of a group, as Kafka computes it: `abs(javaHashCode(group)) % n`.
pub fn partition_for(group: &str, partitions: i32) -> i32 {
    let hash = group.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    });
    // Kafka's Utils.abs maps i32::MIN to 0.
    let positive = if hash == i32::MIN { 0 } else { hash.abs() };
    positive % partitions.max(1)
}

/// A committed offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Committed {
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: String,
    pub commit_timestamp: i64,
}

/// (group, topic, partition): the key of one committed offset.
pub type OffsetKey = (String, String, i32);

pub fn encode_key(key: &OffsetKey) -> Bytes {
    let mut b = BytesMut::new();
    b.put_i16(OFFSET_KEY_VERSION);
    put_string(&mut b, &key.0);
    put_string(&mut b, &key.1);
    b.put_i32(key.2);
    b.freeze()
}

pub fn encode_value(c: &Committed) -> Bytes {
    let mut b = BytesMut::new();
    b.put_i16(OFFSET_VALUE_VERSION);
    b.put_i64(c.offset);
    b.put_i32(c.leader_epoch);
    put_string(&mut b, &c.metadata);
    b.put_i64(c.commit_timestamp);
    b.freeze()
}

/// Decodes an offset-commit key; `None` for other record kinds (e.g. group metadata, key version 2).
pub fn decode_key(mut key: Bytes) -> Option<OffsetKey> {
    let version = key.try_get_i16().ok()?;
    if !(0..=1).contains(&version) {
        return None;
    }
    Some((
        get_string(&mut key)?,
        get_string(&mut key)?,
        key.try_get_i32().ok()?,
    ))
}

/// Decodes value versions 1 and 3 (the ones Kafka writes for commits).
pub fn decode_value(mut value: Bytes) -> Option<Committed> {
    let version = value.try_get_i16().ok()?;
    let offset = value.try_get_i64().ok()?;
    let leader_epoch = if version >= 3 {
        value.try_get_i32().ok()?
    } else {
        -1
    };
    let metadata = get_string(&mut value)?;
    let commit_timestamp = value.try_get_i64().ok()?;
    Some(Committed {
        offset,
        leader_epoch,
        metadata,
        commit_timestamp,
    })
}

/// One record batch carrying `entries` (a `None` value is a tombstone), written by `writer`.
pub fn encode_batch(
    entries: &[(OffsetKey, Option<Committed>)],
    writer: Writer,
    timestamp: i64,
) -> Bytes {
    internal_records::encode_batch(
        entries
            .iter()
            .map(|(key, value)| (encode_key(key), value.as_ref().map(encode_value))),
        writer,
        timestamp,
    )
}

/// What a `__consumer_offsets` record says.
#[derive(Debug, PartialEq, Eq)]
pub enum Replayed {
    /// A commit (or tombstone), by a transaction (its producer id) or not.
    Commit(OffsetKey, Option<Committed>, Option<i64>),
    /// A transaction's COMMIT or ABORT marker: its commits above take effect, or do not.
    Marker { producer_id: i64, commit: bool },
}

/// A control record's key: version i16 | type i16 (0 ABORT, 1 COMMIT).
fn marker_is_commit(mut key: Bytes) -> Option<bool> {
    let _version = key.try_get_i16().ok()?;
    Some(key.try_get_i16().ok()? == 1)
}

/// Hands every commit, tombstone and transaction marker in `batches` (raw segment bytes, whole
/// batches), in log order, to `apply`.
pub fn replay(mut batches: Bytes, mut apply: impl FnMut(Replayed)) {
    while batches.has_remaining() {
        let Ok(set) = RecordBatchDecoder::decode(&mut batches) else {
            return;
        };
        for r in set.records {
            if r.control {
                if let Some(commit) = r.key.and_then(marker_is_commit) {
                    apply(Replayed::Marker {
                        producer_id: r.producer_id,
                        commit,
                    });
                }
                continue;
            }
            let Some(key) = r.key.and_then(decode_key) else {
                continue;
            };
            let txn = r.transactional.then_some(r.producer_id);
            apply(Replayed::Commit(key, r.value.and_then(decode_value), txn));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_matches_kafkas_java_hash() {
        // "my-group".hashCode() == -1_906_497_762 in Java: abs, then mod 50 → 12.
        assert_eq!(partition_for("my-group", 50), 12);
        assert_eq!(partition_for("", 50), 0);
        assert!((0..50).contains(&partition_for("a-group-with-a-negative-hash-çà", 50)));
    }

    #[test]
    fn commits_and_tombstones_round_trip_through_a_batch() {
        let key = ("g".to_string(), "t".to_string(), 3);
        let c = Committed {
            offset: 42,
            leader_epoch: 0,
            metadata: "m".into(),
            commit_timestamp: 7,
        };
        let batch = encode_batch(
            &[(key.clone(), Some(c.clone())), (key.clone(), None)],
            Writer::PLAIN,
            7,
        );
        let mut seen = Vec::new();
        replay(batch, |r| seen.push(r));
        assert_eq!(
            seen,
            vec![
                Replayed::Commit(key.clone(), Some(c), None),
                Replayed::Commit(key, None, None)
            ]
        );
    }
}
