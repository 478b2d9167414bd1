//! The `shardlog bench` command line. Names follow the Java producer's and OpenMessaging Benchmark's
//! settings (`acks`, `batch.size`, `linger.ms`, `compression.type`, …) so a run can be matched, setting for
//! setting, with Kafka's own tools. The whole struct is echoed into the JSON result: every number comes
//! with the settings that produced it.

use super::error::BenchError;
use clap::{Args, ValueEnum};
use kafka_protocol::records::Compression;
use serde::Serialize;

/// Where consumers start reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StartFrom {
    /// The end of each partition when the run starts: consumers read exactly what this run produces.
    Latest,
    /// The start of each partition: a catch-up read of what is already there (`--producers 0`).
    Earliest,
}

/// `compression.type` of the produced batches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CompressionArg {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl From<CompressionArg> for Compression {
    fn from(c: CompressionArg) -> Compression {
        match c {
            CompressionArg::None => Compression::None,
            CompressionArg::Gzip => Compression::Gzip,
            CompressionArg::Snappy => Compression::Snappy,
            CompressionArg::Lz4 => Compression::Lz4,
            CompressionArg::Zstd => Compression::Zstd,
        }
    }
}

#[derive(Args, Clone, Debug, Serialize)]
pub struct BenchArgs {
    /// host:port of the broker (one broker: every request goes there).
    #[arg(long, default_value = "127.0.0.1:9092")]
    pub bootstrap: String,
    /// Topic to produce to and consume from; created if missing.
    #[arg(long, default_value = "bench")]
    pub topic: String,
    /// Partitions of the topic (an existing topic must have exactly this many).
    #[arg(long, default_value_t = 16)]
    pub partitions: i32,
    /// Topic config applied when the topic is created, `KEY=VALUE`, repeatable (e.g. `flush.messages=1`).
    #[arg(long = "topic-config", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub topic_configs: Vec<(String, String)>,
    /// Producer threads, one connection each.
    #[arg(long, default_value_t = 1)]
    pub producers: usize,
    /// Consumer threads, one connection each. Partitions are split among them statically (partition p goes
    /// to consumer p mod M), not through a consumer group.
    #[arg(long, default_value_t = 1)]
    pub consumers: usize,
    /// Bytes in each record value (the first 8 carry the intended send time).
    #[arg(long, default_value_t = 1024)]
    pub record_size: usize,
    /// Distinct keys, used round-robin and placed with the Java client's murmur2 partitioner; 0: no keys,
    /// sticky partitioning (a batch's worth of bytes to one partition, then the next).
    #[arg(long, default_value_t = 0)]
    pub keys: u64,
    /// Target rate in records/s over all producers; 0: as fast as possible. At a fixed rate latency is
    /// measured from each record's intended send time (no coordinated omission).
    #[arg(long, default_value_t = 0.0)]
    pub rate: f64,
    /// acks: 0, 1, or all (-1).
    #[arg(long, default_value = "1", value_parser = parse_acks)]
    pub acks: i16,
    /// compression.type of produced batches.
    #[arg(long, value_enum, default_value_t = CompressionArg::None)]
    pub compression: CompressionArg,
    /// batch.size: bytes of record values after which a partition's batch is closed.
    #[arg(long, default_value_t = 131_072)]
    pub batch_size: usize,
    /// linger.ms: how long a batch may wait to fill before it is sent.
    #[arg(long, default_value_t = 5)]
    pub linger_ms: u64,
    /// max.in.flight.requests.per.connection.
    #[arg(long, default_value_t = 5)]
    pub max_in_flight: usize,
    /// max.request.size: a produce request takes batches until this many bytes.
    #[arg(long, default_value_t = 1_048_576)]
    pub max_request_bytes: usize,
    /// buffer.memory: bytes a producer may hold unsent before it waits for the broker.
    #[arg(long, default_value_t = 33_554_432)]
    pub buffer_bytes: usize,
    /// Seconds of measurement after the warm-up.
    #[arg(long, default_value_t = 10.0)]
    pub duration_s: f64,
    /// Seconds of load before measuring starts (excluded from every rate and percentile).
    #[arg(long, default_value_t = 2.0)]
    pub warmup_s: f64,
    /// Stop producing after this many records in all (whichever of this and the duration comes first).
    #[arg(long)]
    pub records: Option<u64>,
    /// Where consumers start.
    #[arg(long, value_enum, default_value_t = StartFrom::Latest)]
    pub from: StartFrom,
    /// fetch.max.wait.ms.
    #[arg(long, default_value_t = 500)]
    pub fetch_max_wait_ms: i32,
    /// max.partition.fetch.bytes.
    #[arg(long, default_value_t = 1_048_576)]
    pub fetch_partition_bytes: i32,
    /// fetch.max.bytes.
    #[arg(long, default_value_t = 52_428_800)]
    pub fetch_max_bytes: i32,
    /// Seconds consumers may take, after producing ends, to read everything produced.
    #[arg(long, default_value_t = 30.0)]
    pub drain_timeout_s: f64,
    /// Delete the topic when the run is over (keeps a long series of runs from filling the disk).
    #[arg(long)]
    pub delete_topic: bool,
    /// CPUs to pin producer and consumer threads to, round-robin (e.g. `0,1`); default: not pinned.
    #[arg(long, value_delimiter = ',')]
    pub cpus: Vec<usize>,
    /// Produce to an in-process sink that acknowledges without storing: the load generator's own ceiling.
    /// Needs `--consumers 0`.
    #[arg(long)]
    pub null_broker: bool,
    /// Write the JSON result here instead of stdout.
    #[arg(long)]
    #[serde(skip)]
    pub json: Option<std::path::PathBuf>,
    #[command(flatten)]
    #[serde(flatten)]
    pub tls: crate::client::tls::TlsArgs,
}

pub fn parse_key_value(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("'{s}' is not KEY=VALUE"))
}

pub fn parse_acks(s: &str) -> Result<i16, String> {
    match s {
        "0" => Ok(0),
        "1" => Ok(1),
        "all" | "-1" => Ok(-1),
        _ => Err(format!("acks must be 0, 1 or all, not '{s}'")),
    }
}

impl BenchArgs {
    /// Checks the combinations clap cannot express.
    pub fn validate(&self) -> Result<(), BenchError> {
        let fail = |why: &str| Err(BenchError::Args(why.to_string()));
        if self.partitions < 1 {
            return fail("--partitions must be at least 1");
        }
        if self.producers == 0 && self.consumers == 0 {
            return fail("nothing to do: --producers and --consumers are both 0");
        }
        if self.record_size < super::payload::HEADER_BYTES {
            return fail(
                "--record-size must be at least 8 (the send time is embedded in the value)",
            );
        }
        if self.null_broker && self.consumers > 0 {
            return fail("--null-broker stores nothing to consume: use --consumers 0");
        }
        if self.rate < 0.0 || !self.rate.is_finite() {
            return fail("--rate must be 0 (as fast as possible) or a positive number");
        }
        if self.duration_s <= 0.0 || self.warmup_s < 0.0 {
            return fail("--duration-s must be positive and --warmup-s not negative");
        }
        if self.max_in_flight == 0 || self.batch_size == 0 {
            return fail("--max-in-flight and --batch-size must be at least 1");
        }
        if self.record_size > self.max_request_bytes {
            return fail("--record-size must fit in --max-request-bytes");
        }
        Ok(())
    }
}
