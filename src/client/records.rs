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
};
use std::io::Write;

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
    let mut whole = complete_batches(records);
    let sets = RecordBatchDecoder::decode_all(&mut whole)
        .map_err(|e| ClientError::decode(format!("records of {what}"), e))?;
    Ok(sets.into_iter().flat_map(|s| s.records).collect())
}

/// The record set up to its last complete batch: a broker may cut the final batch short at the size
/// limit (clients ignore the partial tail and fetch it again).
pub fn complete_batches(records: Bytes) -> Bytes {
    const HEADER: usize = 12; // base offset (8) + batch length (4)
    let mut end = 0;
    while let Some(len_bytes) = records.get(end + 8..end + HEADER) {
        let len = i32::from_be_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]);
        let Some(next) = usize::try_from(len).ok().map(|l| end + HEADER + l) else {
            break;
        };
        if next > records.len() {
            break;
        }
        end = next;
    }
    records.slice(..end)
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
    use kafka_protocol::records::TimestampType;

    fn record(i: i32) -> Record {
        Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i64::from(i),
            sequence: i,
            timestamp: 1,
            key: None,
            value: Some(Bytes::from(format!("value-{i}").repeat(50))),
            headers: Default::default(),
        }
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

    #[test]
    fn a_partial_last_batch_is_cut_off() {
        let mut set = Vec::new();
        for body_len in [4u8, 6] {
            set.extend_from_slice(&[0; 8]);
            set.extend_from_slice(&i32::from(body_len).to_be_bytes());
            set.extend(std::iter::repeat_n(0xab, body_len as usize));
        }
        let whole = set.len();
        set.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 99, 1, 2]);
        assert_eq!(complete_batches(Bytes::from(set)).len(), whole);
    }
}
