//! Record batches: encoding them as a producer sends them, decoding what a fetch returns.
//!
//! kafka-protocol encodes them; only lz4 is compressed here,
//! because kafka-protocol's lz4 runs at level 4, which is LZ4-HC — about ten times slower than the fast
//! compressor the Java client uses by default (`Lz4BlockOutputStream` picks `fastCompressor()` at the
//! default level). Same frame format (independent blocks), Java's speed: a compressed run then measures
//! the broker, not an unusually slow client.

use super::error::ClientError;
use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions,
    TimestampType, NO_PARTITION_LEADER_EPOCH,
};
use std::io::Write;

/// The `index`-th record of a batch from a plain (non-idempotent) producer, stamped now. Offset and
/// sequence both count from 0 within the batch: kafka-protocol's encoder starts a new batch whenever
/// offset - sequence changes, the broker assigns the real offsets, and without a producer id it ignores
/// the sequence.
pub fn producer_record(index: i32, key: Option<Bytes>, value: Bytes) -> Record {
    Record {
        transactional: false,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: NO_PARTITION_LEADER_EPOCH,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: TimestampType::Creation,
        offset: i64::from(index),
        sequence: index,
        timestamp: now_ms(),
        key,
        value: Some(value),
        headers: Default::default(),
    }
}

/// Wall-clock milliseconds, as record timestamps carry them.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// One v2 record batch holding `records`.
pub fn encode_batch(records: &[Record], compression: Compression) -> Result<Bytes, ClientError> {
    let payload: usize = records
        .iter()
        .map(|r| r.value.as_ref().map_or(0, Bytes::len))
        .sum();
    let mut buf = BytesMut::with_capacity(payload + 64 * records.len() + 61);
    let options = RecordEncodeOptions {
        version: 2,
        compression,
    };
    let encoded = match compression {
        Compression::Lz4 => RecordBatchEncoder::encode_with_custom_compression(
            &mut buf,
            records,
            &options,
            Some(lz4_fast),
        ),
        _ => RecordBatchEncoder::encode(&mut buf, records, &options),
    };
    encoded.map_err(|e| ClientError::encode("a record batch", e))?;
    Ok(buf.freeze())
}

/// Every record of the complete batches in a fetched record set, decompressed (any codec), in order.
/// `what` names the partition in an error.
pub fn decode_records(records: Bytes, what: &str) -> Result<Vec<Record>, ClientError> {
    let (mut whole, _) = complete_batches(records);
    let sets = RecordBatchDecoder::decode_all(&mut whole)
        .map_err(|e| ClientError::decode(format!("records of {what}"), e))?;
    Ok(sets.into_iter().flat_map(|s| s.records).collect())
}

/// The record set up to its last complete batch, and the offset after that batch (0 when there is
/// none): a broker may cut the final batch short at the size limit (clients ignore the partial tail and
/// fetch it again). The offset lets a consumer ask for more before decoding these records.
pub fn complete_batches(records: Bytes) -> (Bytes, i64) {
    // Batch header: base offset (8), batch length (4), leader epoch (4), magic (1), CRC (4),
    // attributes (2), last offset delta (4).
    const LENGTH_END: usize = 12;
    const LAST_OFFSET_DELTA: std::ops::Range<usize> = 23..27;
    let be_i32 = |b: &[u8]| i32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let (mut end, mut next_offset) = (0, 0);
    while let Some(header) = records.get(end..end + LAST_OFFSET_DELTA.end) {
        let base_offset = i64::from_be_bytes(header[..8].try_into().expect("8 bytes"));
        let Some(next) = usize::try_from(be_i32(&header[8..LENGTH_END]))
            .ok()
            .map(|len| end + LENGTH_END + len)
        else {
            break;
        };
        if next > records.len() {
            break;
        }
        next_offset = base_offset + i64::from(be_i32(&header[LAST_OFFSET_DELTA])) + 1;
        end = next;
    }
    (records.slice(..end), next_offset)
}

/// kafka-protocol's compressor callback (its signature, anyhow included): the uncompressed records in,
/// an lz4 frame out, at level 0 (the fast compressor).
fn lz4_fast(records: &mut BytesMut, out: &mut BytesMut, _: Compression) -> anyhow::Result<()> {
    let mut encoder = lz4::EncoderBuilder::new()
        .level(0)
        .block_mode(lz4::BlockMode::Independent)
        .build(out.writer())?;
    encoder.write_all(records)?;
    encoder.finish().1?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    fn record(i: i32) -> Record {
        producer_record(i, None, Bytes::from(format!("value-{i}").repeat(50)))
    }

    #[test]
    fn every_codec_round_trips_as_one_batch() {
        let records: Vec<Record> = (0..10).map(record).collect();
        for c in [
            Compression::None,
            Compression::Lz4,
            Compression::Gzip,
            Compression::Snappy,
            Compression::Zstd,
        ] {
            let mut bytes = encode_batch(&records, c).unwrap();
            let sets = RecordBatchDecoder::decode_all(&mut bytes).unwrap();
            assert_eq!(sets.len(), 1, "{c:?}");
            assert_eq!(sets[0].compression, c);
            let values: Vec<_> = sets[0].records.iter().map(|r| r.value.clone()).collect();
            let expected: Vec<_> = records.iter().map(|r| r.value.clone()).collect();
            assert_eq!(values, expected, "{c:?}");
        }
    }

    /// A batch of `count` records starting at `base_offset`.
    fn batch_at(base_offset: i64, count: i32) -> Vec<u8> {
        let mut batch = crate::storage::batch::test_support::build_batch(count, 1, (-1, -1, -1));
        batch[..8].copy_from_slice(&base_offset.to_be_bytes());
        batch
    }

    #[test]
    fn a_cut_final_batch_is_dropped_and_the_next_offset_follows_the_last_whole_one() {
        let (first, second) = (batch_at(0, 3), batch_at(3, 5));
        let mut set = [first.clone(), second.clone()].concat();
        let (whole, next) = complete_batches(Bytes::from(set.clone()));
        assert_eq!((whole.len(), next), (set.len(), 8));
        set.truncate(first.len() + second.len() / 2);
        let (whole, next) = complete_batches(Bytes::from(set));
        assert_eq!((whole.len(), next), (first.len(), 3));
        assert_eq!(
            complete_batches(Bytes::from_static(b"short")),
            (Bytes::new(), 0)
        );
    }
}
