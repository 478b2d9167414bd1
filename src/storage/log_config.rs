//! The topic configs that shape a log, as plain values (Kafka's names in comments). `cluster::topic_config`
//! turns a topic's overrides and the broker defaults into one of these.

/// message.timestamp.type: whose clock the records' timestamps are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimestampType {
    /// The producer's timestamps are kept (within the KIP-937 bounds).
    CreateTime,
    /// The broker stamps every batch with its append time (batch attribute bit 3, maxTimestamp).
    LogAppendTime,
}

/// compression.type of a topic: `Producer` keeps each batch as the producer compressed it; any other
/// value makes the broker store batches with that codec, recompressing those that differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TopicCompression {
    Producer,
    Uncompressed,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl TopicCompression {
    /// The batch attribute codec (bits 0–2) batches must carry; `None` for `Producer` (any codec).
    pub fn codec(self) -> Option<i16> {
        match self {
            TopicCompression::Producer => None,
            TopicCompression::Uncompressed => Some(0),
            TopicCompression::Gzip => Some(1),
            TopicCompression::Snappy => Some(2),
            TopicCompression::Lz4 => Some(3),
            TopicCompression::Zstd => Some(4),
        }
    }

    /// Kafka's name of the value (`compression.type`); `None` if `value` is not one.
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "producer" => TopicCompression::Producer,
            "uncompressed" => TopicCompression::Uncompressed,
            "gzip" => TopicCompression::Gzip,
            "snappy" => TopicCompression::Snappy,
            "lz4" => TopicCompression::Lz4,
            "zstd" => TopicCompression::Zstd,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogConfig {
    /// segment.bytes
    pub segment_bytes: i64,
    /// segment.ms
    pub segment_ms: i64,
    /// retention.ms (-1 = forever)
    pub retention_ms: i64,
    /// retention.bytes (-1 = unlimited)
    pub retention_bytes: i64,
    /// max.message.bytes
    pub max_message_bytes: i32,
    /// index.interval.bytes
    pub index_interval_bytes: u32,
    /// cleanup.policy contains `delete`: old segments are removed by retention.
    pub delete: bool,
    /// cleanup.policy contains `compact`: sealed segments keep only each key's newest record (and
    /// produce refuses records without a key, which compaction could not place).
    pub compact: bool,
    /// delete.retention.ms: how long compaction keeps tombstones.
    pub delete_retention_ms: i64,
    /// min.insync.replicas: acks=all produce needs at least this many in-sync replicas.
    pub min_insync_replicas: i32,
    /// message.timestamp.type
    pub timestamp_type: TimestampType,
    /// message.timestamp.before.max.ms: a CreateTime record older than now minus this is refused.
    pub timestamp_before_max_ms: i64,
    /// message.timestamp.after.max.ms: a CreateTime record newer than now plus this is refused.
    pub timestamp_after_max_ms: i64,
    /// compression.type
    pub compression: TopicCompression,
}

#[cfg(test)]
impl LogConfig {
    /// Kafka's defaults, for tests of storage alone (the broker builds its `LogConfig` from the
    /// config layers, `cluster::topic_config::log_config`).
    pub fn kafka_defaults() -> LogConfig {
        LogConfig {
            segment_bytes: 1 << 30,
            segment_ms: 604_800_000,
            retention_ms: -1,
            retention_bytes: -1,
            max_message_bytes: 1 << 20,
            index_interval_bytes: 4096,
            delete: true,
            compact: false,
            delete_retention_ms: 86_400_000,
            min_insync_replicas: 1,
            timestamp_type: TimestampType::CreateTime,
            timestamp_before_max_ms: i64::MAX,
            timestamp_after_max_ms: 3_600_000,
            compression: TopicCompression::Producer,
        }
    }
}
