//! Kafka magic-v2 record batches, seen through their 61-byte header without decoding the records.
//!
//! Layout (big-endian): baseOffset i64 | batchLength i32 | partitionLeaderEpoch i32 | magic i8 | crc u32 |
//! attributes i16 | lastOffsetDelta i32 | baseTimestamp i64 | maxTimestamp i64 | producerId i64 |
//! producerEpoch i16 | baseSequence i32 | recordsCount i32 | records...
//! The CRC-32C covers everything from `attributes` to the end, so the broker may rewrite `baseOffset` and
//! `partitionLeaderEpoch` (the first 16 bytes) without touching the checksum.

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use thiserror::Error;

pub const HEADER_LEN: usize = 61;
/// Bytes before `batchLength`'s counted region starts (baseOffset + batchLength).
pub const LOG_OVERHEAD: usize = 12;
const CRC_START: usize = 21;
const ATTRIBUTES_AT: usize = 21;
const MAX_TIMESTAMP_AT: usize = 35;
const MAGIC_V2: i8 = 2;
const ATTR_COMPRESSION_MASK: i16 = 0x07;
const ATTR_LOG_APPEND_TIME: i16 = 0x08;
const ATTR_TRANSACTIONAL: i16 = 0x10;
const ATTR_CONTROL: i16 = 0x20;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum BatchError {
    #[error("batch truncated: need {need} bytes, have {have}")]
    Truncated { need: usize, have: usize },
    #[error("unsupported magic {0} (only v2 record batches are accepted)")]
    UnsupportedMagic(i8),
    #[error("batch length {0} is invalid")]
    InvalidLength(i32),
    #[error("CRC-32C mismatch: header says {expected:#010x}, computed {actual:#010x}")]
    CrcMismatch { expected: u32, actual: u32 },
    #[error("batch of {size} bytes exceeds max.message.bytes {max}")]
    TooLarge { size: usize, max: usize },
    #[error("recordsCount {count} does not match lastOffsetDelta {delta}")]
    CountMismatch { count: i32, delta: i32 },
    #[error("empty record set")]
    Empty,
}

/// The fixed header of one record batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchHeader {
    pub base_offset: i64,
    pub batch_length: i32,
    pub leader_epoch: i32,
    pub magic: i8,
    pub crc: u32,
    pub attributes: i16,
    pub last_offset_delta: i32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub records_count: i32,
}

fn be_i64(b: &[u8], at: usize) -> i64 {
    i64::from_be_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}
fn be_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
fn be_i16(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes(b[at..at + 2].try_into().expect("2 bytes"))
}

impl BatchHeader {
    /// Parses the header at the start of `buf`; checks only that it is present and well-formed.
    pub fn parse(buf: &[u8]) -> Result<Self, BatchError> {
        if buf.len() < HEADER_LEN {
            return Err(BatchError::Truncated {
                need: HEADER_LEN,
                have: buf.len(),
            });
        }
        let header = BatchHeader {
            base_offset: be_i64(buf, 0),
            batch_length: be_i32(buf, 8),
            leader_epoch: be_i32(buf, 12),
            magic: buf[16] as i8,
            crc: u32::from_be_bytes(buf[17..21].try_into().expect("4 bytes")),
            attributes: be_i16(buf, 21),
            last_offset_delta: be_i32(buf, 23),
            base_timestamp: be_i64(buf, 27),
            max_timestamp: be_i64(buf, 35),
            producer_id: be_i64(buf, 43),
            producer_epoch: be_i16(buf, 51),
            base_sequence: be_i32(buf, 53),
            records_count: be_i32(buf, 57),
        };
        if header.magic != MAGIC_V2 {
            return Err(BatchError::UnsupportedMagic(header.magic));
        }
        if (header.batch_length as i64) < (HEADER_LEN - LOG_OVERHEAD) as i64 {
            return Err(BatchError::InvalidLength(header.batch_length));
        }
        Ok(header)
    }

    /// Whole batch size on disk and on the wire.
    pub fn total_len(&self) -> usize {
        LOG_OVERHEAD + self.batch_length as usize
    }
    pub fn last_offset(&self) -> i64 {
        self.base_offset + i64::from(self.last_offset_delta)
    }
    pub fn compression_codec(&self) -> i16 {
        self.attributes & ATTR_COMPRESSION_MASK
    }
    pub fn is_transactional(&self) -> bool {
        self.attributes & ATTR_TRANSACTIONAL != 0
    }
    pub fn is_log_append_time(&self) -> bool {
        self.attributes & ATTR_LOG_APPEND_TIME != 0
    }
    pub fn is_control(&self) -> bool {
        self.attributes & ATTR_CONTROL != 0
    }
    /// Last sequence number covered by this batch (sequences wrap at i32::MAX like Kafka's).
    pub fn last_sequence(&self) -> i32 {
        if self.base_sequence < 0 {
            return -1;
        }
        let last = i64::from(self.base_sequence) + i64::from(self.last_offset_delta);
        (last % (i64::from(i32::MAX) + 1)) as i32
    }
}

/// Checks the CRC-32C of a complete batch.
pub fn verify_crc(batch: &[u8], header: &BatchHeader) -> Result<(), BatchError> {
    let actual = crc32c::crc32c(&batch[CRC_START..header.total_len()]);
    if actual != header.crc {
        return Err(BatchError::CrcMismatch {
            expected: header.crc,
            actual,
        });
    }
    Ok(())
}

/// What a transaction marker (a control batch's one record) says about the producer's transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Marker {
    Abort,
    Commit,
}

/// A transaction marker as stored: what it decides, and the epoch of the coordinator that wrote it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ControlRecord {
    pub marker: Marker,
    pub coordinator_epoch: i32,
}

/// The marker a control batch carries (its record key is version i16, type i16 — type 0 is ABORT, 1 is
/// COMMIT; its value is version i16, coordinator epoch i32); `None` for a data batch, other control
/// types or a record that does not parse. Control batches are rare and tiny, so decoding through a
/// copy costs nothing that matters.
pub fn marker_of(header: &BatchHeader, batch: &[u8]) -> Option<ControlRecord> {
    if !header.is_control() {
        return None;
    }
    let set = RecordBatchDecoder::decode(&mut Bytes::copy_from_slice(batch)).ok()?;
    let record = set.records.first()?;
    let marker = match record.key.as_ref()?.get(2..4)? {
        [0, 0] => Marker::Abort,
        [0, 1] => Marker::Commit,
        _ => return None,
    };
    let epoch = record.value.as_ref()?.get(2..6)?;
    Some(ControlRecord {
        marker,
        coordinator_epoch: i32::from_be_bytes(epoch.try_into().ok()?),
    })
}

/// The control batch that ends `producer_id`'s transaction on a partition (what WriteTxnMarkers
/// appends): transactional and control attributes, no sequence, and the coordinator's epoch in the
/// value (version i16, coordinator epoch i32), as Kafka writes it.
pub fn encode_marker(
    producer_id: i64,
    producer_epoch: i16,
    coordinator_epoch: i32,
    marker: Marker,
    timestamp_ms: i64,
) -> Bytes {
    let kind: i16 = match marker {
        Marker::Abort => 0,
        Marker::Commit => 1,
    };
    let mut key = Vec::with_capacity(4);
    key.extend_from_slice(&0i16.to_be_bytes());
    key.extend_from_slice(&kind.to_be_bytes());
    let mut value = Vec::with_capacity(6);
    value.extend_from_slice(&0i16.to_be_bytes());
    value.extend_from_slice(&coordinator_epoch.to_be_bytes());
    let record = Record {
        transactional: true,
        control: true,
        delete_horizon: false,
        partition_leader_epoch: 0,
        producer_id,
        producer_epoch,
        timestamp_type: TimestampType::Creation,
        offset: 0,
        sequence: -1,
        timestamp: timestamp_ms,
        key: Some(key.into()),
        value: Some(value.into()),
        headers: Default::default(),
    };
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    RecordBatchEncoder::encode(&mut buf, [&record], &options)
        .expect("an uncompressed one-record batch always encodes");
    buf.freeze()
}

/// A batch from a produce request that passed validation, still pointing into the request frame.
#[derive(Clone, Debug)]
pub struct ValidBatch {
    pub header: BatchHeader,
    pub bytes: Bytes,
}

/// Splits a produce request's record set into batches and validates each: header, length, CRC, size.
/// Nothing is copied; each `ValidBatch` is a slice of `records`.
pub fn validate_record_set(
    records: &Bytes,
    max_batch_bytes: usize,
) -> Result<Vec<ValidBatch>, BatchError> {
    let mut batches = Vec::with_capacity(1);
    let mut pos = 0;
    while pos < records.len() {
        let rest = &records[pos..];
        let header = BatchHeader::parse(rest)?;
        let len = header.total_len();
        if len > rest.len() {
            return Err(BatchError::Truncated {
                need: len,
                have: rest.len(),
            });
        }
        if len > max_batch_bytes {
            return Err(BatchError::TooLarge {
                size: len,
                max: max_batch_bytes,
            });
        }
        verify_crc(rest, &header)?;
        if i64::from(header.records_count) != i64::from(header.last_offset_delta) + 1
            || header.records_count <= 0
        {
            return Err(BatchError::CountMismatch {
                count: header.records_count,
                delta: header.last_offset_delta,
            });
        }
        batches.push(ValidBatch {
            header,
            bytes: records.slice(pos..pos + len),
        });
        pos += len;
    }
    if batches.is_empty() {
        return Err(BatchError::Empty);
    }
    Ok(batches)
}

/// The header a stored batch gets: the original's, with its assigned base offset and the leader epoch
/// (both outside the CRC, so the checksum stays valid).
pub fn stored_head(original: &[u8], base_offset: i64, leader_epoch: i32) -> [u8; HEADER_LEN] {
    let mut head = [0u8; HEADER_LEN];
    head.copy_from_slice(&original[..HEADER_LEN]);
    head[0..8].copy_from_slice(&base_offset.to_be_bytes());
    head[12..16].copy_from_slice(&leader_epoch.to_be_bytes());
    head
}

/// Marks a batch's timestamps as the broker's append time (message.timestamp.type=LogAppendTime):
/// attribute bit 3 and maxTimestamp = `now_ms`, as Kafka does in place; the CRC is recomputed over the
/// new header and the untouched records (`rest`), which are not copied.
pub fn stamp_log_append_time(head: &mut [u8; HEADER_LEN], rest: &[u8], now_ms: i64) {
    let attributes = be_i16(head, ATTRIBUTES_AT) | ATTR_LOG_APPEND_TIME;
    head[ATTRIBUTES_AT..ATTRIBUTES_AT + 2].copy_from_slice(&attributes.to_be_bytes());
    head[MAX_TIMESTAMP_AT..MAX_TIMESTAMP_AT + 8].copy_from_slice(&now_ms.to_be_bytes());
    let crc = crc32c::crc32c_append(crc32c::crc32c(&head[CRC_START..]), rest);
    head[17..21].copy_from_slice(&crc.to_be_bytes());
}

/// Helpers to build valid batches for tests and benches (`bench/`, `tests/fuzz/`) without a Kafka client.
/// Not used by the broker itself; public so code outside the crate's unit tests can reach it.
pub mod test_support {
    use super::*;

    /// A batch of `count` tiny uncompressed records with a correct CRC.
    pub fn build_batch(count: i32, timestamp: i64, producer: (i64, i16, i32)) -> Vec<u8> {
        let mut records = Vec::new();
        for i in 0..count {
            // record: length varint | attributes i8 | tsDelta varint | offsetDelta varint | key | value | headers
            let body = [0u8, 0, (i as u8) << 1, 1, 2, b'v', 0];
            records.push((body.len() as u8) << 1);
            records.extend_from_slice(&body);
        }
        batch_with_records(count, timestamp, producer, &records)
    }

    /// A batch of `count` uncompressed records, each with a null key and a `value_len`-byte value, laid out
    /// as a client would send them (zigzag varints throughout). For benches that need realistic sizes.
    pub fn build_batch_with_values(
        count: i32,
        value_len: usize,
        timestamp: i64,
        producer: (i64, i16, i32),
    ) -> Vec<u8> {
        let mut records = Vec::with_capacity(count as usize * (value_len + 16));
        let mut body = Vec::with_capacity(value_len + 16);
        for i in 0..count {
            body.clear();
            body.push(0); // attributes
            put_varint(&mut body, 0); // timestampDelta
            put_varint(&mut body, i64::from(i)); // offsetDelta
            put_varint(&mut body, -1); // key: null
            put_varint(&mut body, value_len as i64);
            // Arbitrary but not constant value bytes (CRC cost does not depend on content).
            body.extend((0..value_len).map(|j| (j as u8).wrapping_mul(31).wrapping_add(i as u8)));
            put_varint(&mut body, 0); // no headers
            put_varint(&mut records, body.len() as i64);
            records.extend_from_slice(&body);
        }
        batch_with_records(count, timestamp, producer, &records)
    }

    /// Kafka's zigzag varint.
    fn put_varint(out: &mut Vec<u8>, v: i64) {
        let mut z = ((v << 1) ^ (v >> 63)) as u64;
        while z >= 0x80 {
            out.push((z as u8) | 0x80);
            z >>= 7;
        }
        out.push(z as u8);
    }

    /// Wraps already-encoded `records` in a v2 batch header with a correct CRC.
    fn batch_with_records(
        count: i32,
        timestamp: i64,
        producer: (i64, i16, i32),
        records: &[u8],
    ) -> Vec<u8> {
        let mut b = Vec::with_capacity(HEADER_LEN + records.len());
        b.extend_from_slice(&0i64.to_be_bytes());
        let batch_length = (HEADER_LEN - LOG_OVERHEAD + records.len()) as i32;
        b.extend_from_slice(&batch_length.to_be_bytes());
        b.extend_from_slice(&0i32.to_be_bytes());
        b.push(2);
        b.extend_from_slice(&0u32.to_be_bytes());
        b.extend_from_slice(&0i16.to_be_bytes());
        b.extend_from_slice(&(count - 1).to_be_bytes());
        b.extend_from_slice(&timestamp.to_be_bytes());
        b.extend_from_slice(&timestamp.to_be_bytes());
        b.extend_from_slice(&producer.0.to_be_bytes());
        b.extend_from_slice(&producer.1.to_be_bytes());
        b.extend_from_slice(&producer.2.to_be_bytes());
        b.extend_from_slice(&count.to_be_bytes());
        b.extend_from_slice(records);
        let crc = crc32c::crc32c(&b[CRC_START..]);
        b[17..21].copy_from_slice(&crc.to_be_bytes());
        b
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::build_batch;
    use super::*;

    #[test]
    fn valid_batch_passes_and_is_sliced_not_copied() {
        let mut set = build_batch(3, 1000, (-1, -1, -1));
        set.extend(build_batch(2, 2000, (-1, -1, -1)));
        let records = Bytes::from(set);
        let batches = validate_record_set(&records, 1 << 20).unwrap();
        assert_eq!(batches.len(), 2);
        assert_eq!(batches[0].header.records_count, 3);
        assert_eq!(batches[1].header.max_timestamp, 2000);
        assert_eq!(batches[0].bytes.as_ptr(), records.as_ptr());
    }

    #[test]
    fn flipped_bit_is_a_crc_mismatch() {
        let mut b = build_batch(3, 1000, (-1, -1, -1));
        let last = b.len() - 1;
        b[last] ^= 1;
        let err = validate_record_set(&Bytes::from(b), 1 << 20).unwrap_err();
        assert!(matches!(err, BatchError::CrcMismatch { .. }));
    }

    #[test]
    fn patching_the_head_keeps_crc_valid() {
        let b = build_batch(3, 1000, (-1, -1, -1));
        let mut patched = b.clone();
        patched[..HEADER_LEN].copy_from_slice(&stored_head(&b, 42, 7));
        let h = BatchHeader::parse(&patched).unwrap();
        assert_eq!((h.base_offset, h.leader_epoch), (42, 7));
        verify_crc(&patched, &h).unwrap();
    }

    #[test]
    fn log_append_time_stamp_has_a_valid_crc() {
        let b = build_batch(3, 1000, (-1, -1, -1));
        let mut head = stored_head(&b, 5, 1);
        stamp_log_append_time(&mut head, &b[HEADER_LEN..], 777);
        let mut stamped = head.to_vec();
        stamped.extend_from_slice(&b[HEADER_LEN..]);
        let h = BatchHeader::parse(&stamped).unwrap();
        assert!(h.is_log_append_time());
        assert_eq!((h.max_timestamp, h.base_timestamp), (777, 1000));
        verify_crc(&stamped, &h).unwrap();
    }

    #[test]
    fn truncated_and_oversize_and_wrong_magic_are_rejected() {
        let b = build_batch(3, 1000, (-1, -1, -1));
        let short = Bytes::copy_from_slice(&b[..b.len() - 1]);
        assert!(matches!(
            validate_record_set(&short, 1 << 20),
            Err(BatchError::Truncated { .. })
        ));
        assert!(matches!(
            validate_record_set(&Bytes::from(b.clone()), 10),
            Err(BatchError::TooLarge { .. })
        ));
        let mut v1 = b;
        v1[16] = 1;
        assert_eq!(
            validate_record_set(&Bytes::from(v1), 1 << 20).unwrap_err(),
            BatchError::UnsupportedMagic(1)
        );
    }

    #[test]
    fn sized_batches_validate() {
        use super::test_support::build_batch_with_values;
        let b = build_batch_with_values(16, 1000, 5, (-1, -1, -1));
        assert!(b.len() > 16 * 1000);
        let batches = validate_record_set(&Bytes::from(b), 1 << 20).unwrap();
        assert_eq!(batches[0].header.records_count, 16);
        assert_eq!(batches[0].header.last_offset_delta, 15);
    }

    #[test]
    fn sequences_wrap() {
        let b = build_batch(3, 0, (1, 0, i32::MAX));
        let h = BatchHeader::parse(&b).unwrap();
        assert_eq!(h.last_sequence(), 1);
    }
}
