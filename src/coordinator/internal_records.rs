//! What the coordinators' internal topics (`__consumer_offsets`, `__transaction_state`) share: Kafka's
//! short-length strings in keys and values, and plain (non-transactional, uncompressed) record batches of
//! key/value pairs.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

pub fn put_string(buf: &mut BytesMut, s: &str) {
    buf.put_i16(s.len() as i16);
    buf.put_slice(s.as_bytes());
}

pub fn get_string(buf: &mut Bytes) -> Option<String> {
    let len = usize::try_from(buf.try_get_i16().ok()?).ok()?;
    if buf.remaining() < len {
        return None;
    }
    String::from_utf8(buf.split_to(len).to_vec()).ok()
}

/// Who writes a batch: nobody in particular (-1), or a transactional producer whose records take
/// effect only with its COMMIT marker (TxnOffsetCommit).
#[derive(Clone, Copy)]
pub struct Writer {
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub transactional: bool,
}

impl Writer {
    pub const PLAIN: Writer = Writer {
        producer_id: -1,
        producer_epoch: -1,
        transactional: false,
    };
}

/// One record batch carrying `entries` (a `None` value is a tombstone).
pub fn encode_batch(
    entries: impl IntoIterator<Item = (Bytes, Option<Bytes>)>,
    writer: Writer,
    timestamp: i64,
) -> Bytes {
    let records: Vec<Record> = entries
        .into_iter()
        .enumerate()
        .map(|(i, (key, value))| Record {
            transactional: writer.transactional,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: writer.producer_id,
            producer_epoch: writer.producer_epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // Constant offset - sequence keeps every record in one batch (see kafka-protocol's
            // encoder); the batch's base sequence is then -1, Kafka's NO_SEQUENCE for broker writes.
            sequence: i as i32 - 1,
            timestamp,
            key: Some(key),
            value,
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    RecordBatchEncoder::encode(&mut buf, &records, &options)
        .expect("encoding into memory cannot fail");
    buf.freeze()
}
