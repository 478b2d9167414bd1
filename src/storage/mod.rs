//! The durable log: record batches stored exactly as received, per partition, in segment files.
pub mod admission;
pub mod batch;
pub mod checkpoint;
pub mod compaction;
pub mod epoch_cache;
pub mod index;
pub mod log;
pub mod log_config;
pub mod producer_state;
pub mod segment;
pub mod transactions;

pub use log::{
    ActiveProducer, AppendError, AppendOutcome, FileSlice, PartitionLog, ReadError, StorageError,
};
pub use log_config::{LogConfig, TimestampType, TopicCompression};
