//! What a topic's configs demand of a produced batch before it is appended (the parts of Kafka's
//! LogValidator that shardlog enforces):
//! - CreateTime topics: every record's timestamp within `message.timestamp.before.max.ms` /
//!   `message.timestamp.after.max.ms` of the broker's clock (KIP-937);
//! - compacted topics: every record has a key (compaction could not place one without);
//! - `compression.type` other than `producer`: batches with another codec are recompressed.
//!
//! A batch that needs none of these is passed on untouched, still a slice of the request (the
//! stored-as-received path). Records are decoded only when a check needs them: a compacted topic, a
//! before-bound that is not the default, a header whose max timestamp breaks the after-bound (to name
//! the records), or a codec to change.

use super::batch::{validate_record_set, BatchError, ValidBatch};
use super::log_config::{LogConfig, TimestampType, TopicCompression};
use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, NO_TIMESTAMP,
};
use thiserror::Error;

/// A record that made its batch be refused: its index among the request's records for the
/// partition (Kafka's `batch_index`) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordError {
    pub index: i32,
    pub message: String,
}

#[derive(Debug, Error)]
pub enum AdmissionError {
    #[error("{}", first_message(.0))]
    InvalidTimestamp(Vec<RecordError>),
    #[error("{}", first_message(.0))]
    MissingKey(Vec<RecordError>),
    #[error("record batch could not be decoded: {0}")]
    Corrupt(String),
    /// Transaction markers are written by the broker (WriteTxnMarkers), never by a client: one
    /// from a client would end a transaction nobody decided.
    #[error("clients may not write control batches (transaction markers)")]
    ControlBatch,
    #[error("recompressed batch is invalid: {0}")]
    Recompressed(#[from] BatchError),
}

impl AdmissionError {
    /// The batch problem behind a recompression failure, if that is what this is.
    pub fn batch_error(&self) -> Option<&BatchError> {
        match self {
            AdmissionError::Recompressed(b) => Some(b),
            _ => None,
        }
    }

    /// The records to name in the response's `record_errors` (Produce v8+).
    pub fn record_errors(&self) -> &[RecordError] {
        match self {
            AdmissionError::InvalidTimestamp(e) | AdmissionError::MissingKey(e) => e,
            _ => &[],
        }
    }
}

fn first_message(errors: &[RecordError]) -> &str {
    errors.first().map_or("", |e| e.message.as_str())
}

/// The checks one partition's config asks for, fixed for a request.
pub struct Admission<'a> {
    config: &'a LogConfig,
    now_ms: i64,
    /// Named in messages only, so the clean path formats nothing.
    topic: &'a str,
    partition: i32,
}

impl<'a> Admission<'a> {
    pub fn new(config: &'a LogConfig, now_ms: i64, topic: &'a str, partition: i32) -> Self {
        Admission {
            config,
            now_ms,
            topic,
            partition,
        }
    }

    /// Checks a client's `batches` and recompresses those whose codec the topic does not store;
    /// returns the batches to append (the originals where nothing changed).
    pub fn admit(&self, mut batches: Vec<ValidBatch>) -> Result<Vec<ValidBatch>, AdmissionError> {
        let mut errors = (Vec::new(), Vec::new()); // (timestamps, keys)
        let mut first_index = 0i32;
        for batch in &mut batches {
            let count = batch.header.records_count;
            if batch.header.is_control() {
                return Err(AdmissionError::ControlBatch);
            }
            let target = self.target_codec(batch);
            if self.needs_records(batch) || target.is_some() {
                let records = decode(&batch.bytes)?;
                self.check_records(&records, first_index, &mut errors);
                if let Some(codec) = target {
                    *batch = self.recompress(&records, codec, batch.bytes.len())?;
                }
            }
            first_index = first_index.saturating_add(count);
        }
        match errors {
            (timestamps, _) if !timestamps.is_empty() => {
                Err(AdmissionError::InvalidTimestamp(timestamps))
            }
            (_, keys) if !keys.is_empty() => Err(AdmissionError::MissingKey(keys)),
            _ => Ok(batches),
        }
    }

    fn checks_timestamps(&self) -> bool {
        self.config.timestamp_type == TimestampType::CreateTime
    }

    fn lower_bound(&self) -> i64 {
        self.now_ms
            .saturating_sub(self.config.timestamp_before_max_ms)
    }

    fn upper_bound(&self) -> i64 {
        self.now_ms
            .saturating_add(self.config.timestamp_after_max_ms)
    }

    /// Whether the header alone cannot clear the batch.
    fn needs_records(&self, batch: &ValidBatch) -> bool {
        if self.config.compact {
            return true;
        }
        self.checks_timestamps()
            && (self.config.timestamp_before_max_ms != i64::MAX
                || batch.header.max_timestamp > self.upper_bound())
    }

    /// The codec to recompress `batch` to, if the topic stores another than it has.
    fn target_codec(&self, batch: &ValidBatch) -> Option<Compression> {
        let wanted = self.config.compression.codec()?;
        (wanted != batch.header.compression_codec())
            .then(|| compression_of(self.config.compression))
    }

    /// One batch of `records` (offsets, sequences, producer and timestamps as the producer sent
    /// them) compressed with `codec`, validated like a produced batch: max.message.bytes applies to
    /// what is stored.
    fn recompress(
        &self,
        records: &[Record],
        codec: Compression,
        size_hint: usize,
    ) -> Result<ValidBatch, AdmissionError> {
        let mut out = BytesMut::with_capacity(size_hint);
        let options = RecordEncodeOptions {
            version: 2,
            compression: codec,
        };
        RecordBatchEncoder::encode(&mut out, records, &options)
            .map_err(|e| AdmissionError::Corrupt(e.to_string()))?;
        let max = self.config.max_message_bytes.max(0) as usize;
        let mut batches = validate_record_set(&out.freeze(), max)?;
        match batches.len() {
            1 => Ok(batches.remove(0)),
            n => Err(AdmissionError::Corrupt(format!(
                "records of one batch re-encoded as {n} batches"
            ))),
        }
    }

    fn check_records(
        &self,
        records: &[Record],
        first_index: i32,
        (timestamps, keys): &mut (Vec<RecordError>, Vec<RecordError>),
    ) {
        let (low, high) = (self.lower_bound(), self.upper_bound());
        for (i, r) in records.iter().enumerate() {
            let index = first_index.saturating_add(i as i32);
            let ts = r.timestamp;
            if self.checks_timestamps() && ts != NO_TIMESTAMP && (ts < low || ts > high) {
                timestamps.push(RecordError {
                    index,
                    message: format!(
                        "Timestamp {ts} of message with offset {} is out of range. The timestamp \
                         should be within [{low}, {high}]",
                        r.offset
                    ),
                });
            }
            if self.config.compact && r.key.is_none() {
                keys.push(RecordError {
                    index,
                    message: format!(
                        "Compacted topic cannot accept message without key in topic partition {}-{}.",
                        self.topic, self.partition
                    ),
                });
            }
        }
    }
}

fn decode(bytes: &Bytes) -> Result<Vec<Record>, AdmissionError> {
    let mut buf = bytes.clone();
    RecordBatchDecoder::decode(&mut buf)
        .map(|set| set.records)
        .map_err(|e| AdmissionError::Corrupt(e.to_string()))
}

fn compression_of(topic: TopicCompression) -> Compression {
    match topic {
        TopicCompression::Producer | TopicCompression::Uncompressed => Compression::None,
        TopicCompression::Gzip => Compression::Gzip,
        TopicCompression::Snappy => Compression::Snappy,
        TopicCompression::Lz4 => Compression::Lz4,
        TopicCompression::Zstd => Compression::Zstd,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::batch::test_support::build_batch_with_values;

    fn config() -> LogConfig {
        LogConfig::kafka_defaults()
    }

    fn one_batch(count: i32, timestamp: i64) -> Vec<ValidBatch> {
        let bytes = Bytes::from(build_batch_with_values(count, 10, timestamp, (-1, -1, -1)));
        validate_record_set(&bytes, usize::MAX).unwrap()
    }

    #[test]
    fn default_config_passes_batches_through_untouched() {
        let now = 1_700_000_000_000;
        let batches = one_batch(3, now);
        let before = batches[0].bytes.clone();
        let c = config();
        let admitted = Admission::new(&c, now, "t", 0).admit(batches).unwrap();
        assert_eq!(admitted[0].bytes.as_ptr(), before.as_ptr(), "not copied");
    }

    #[test]
    fn future_timestamps_beyond_the_after_bound_are_refused_per_record() {
        let now = 1_700_000_000_000;
        let c = config();
        let err = Admission::new(&c, now, "t", 0)
            .admit(one_batch(2, now + c.timestamp_after_max_ms + 1))
            .unwrap_err();
        assert!(matches!(err, AdmissionError::InvalidTimestamp(_)));
        assert_eq!(err.record_errors().len(), 2);
        assert_eq!(err.record_errors()[1].index, 1);
    }

    #[test]
    fn old_timestamps_are_refused_only_with_a_before_bound() {
        let now = 1_700_000_000_000;
        let mut c = config();
        let old = now - 86_400_000;
        assert!(Admission::new(&c, now, "t", 0)
            .admit(one_batch(1, old))
            .is_ok());
        c.timestamp_before_max_ms = 60_000;
        let err = Admission::new(&c, now, "t", 0)
            .admit(one_batch(1, old))
            .unwrap_err();
        assert!(err.to_string().contains("out of range"), "{err}");
        c.timestamp_type = TimestampType::LogAppendTime;
        assert!(Admission::new(&c, now, "t", 0)
            .admit(one_batch(1, old))
            .is_ok());
    }

    #[test]
    fn compacted_topics_refuse_records_without_a_key() {
        let now = 1_700_000_000_000;
        let mut c = config();
        c.compact = true;
        let err = Admission::new(&c, now, "t", 0)
            .admit(one_batch(2, now))
            .unwrap_err();
        assert!(matches!(err, AdmissionError::MissingKey(_)));
        assert!(err
            .to_string()
            .contains("without key in topic partition t-0"));
    }

    #[test]
    fn a_batch_with_another_codec_is_recompressed_with_its_records_kept() {
        let now = 1_700_000_000_000;
        let mut c = config();
        c.compression = TopicCompression::Zstd;
        let original = one_batch(5, now);
        let records = decode(&original[0].bytes).unwrap();
        let admitted = Admission::new(&c, now, "t", 0).admit(original).unwrap();
        assert_eq!(admitted[0].header.compression_codec(), 4);
        assert_eq!(admitted[0].header.records_count, 5);
        assert_eq!(decode(&admitted[0].bytes).unwrap(), records);
        // Already zstd: kept as it is.
        let again = admitted[0].bytes.clone();
        let kept = Admission::new(&c, now, "t", 0).admit(admitted).unwrap();
        assert_eq!(kept[0].bytes.as_ptr(), again.as_ptr());
    }
}
