//! Broker metrics, designed for thread-per-core: nothing on the request path takes a lock or allocates.
//!
//! - Every shard owns one [`ShardMetrics`] (per-API request counts, latency histograms and error
//!   counts, in-flight gauges, connections, fsync latency, executor and io_uring stats). All fields are
//!   relaxed atomics written by that shard only, so updates are uncontended cache-local adds.
//! - Every open partition owns one [`PartitionMetrics`] (bytes/records in and out), an `Arc` of atomics
//!   created once when the partition opens and registered in the [`Registry`] (the only lock, taken at
//!   open/close and by the scraper, never per request).
//! - glommio's executor and io_uring stats are *take-and-reset* and only readable on the executor's own
//!   thread, so each shard folds them into cumulative atomics once per [`STATS_SAMPLE_INTERVAL`].
//! - Consumer lag is sampled by each shard's coordinator anyway; after every sample the shard publishes
//!   the result here (a `Mutex<Vec>` replaced once per sample interval).
//!
//! The admin HTTP server (`http.rs`, its own std thread) renders everything at scrape time by reading
//! the atomics of every shard and partition: a scrape never disturbs the shards.
//!
//! The Prometheus text format (version 0.0.4) is rendered here by hand rather than with the
//! `prometheus-client` crate: that crate's metric types take locks when recorded (`Family` holds a
//! `RwLock<HashMap>` looked up per observation, `Histogram` a lock per observe), which is exactly
//! what the per-shard design avoids, and used only as a formatter it would emit OpenMetrics, not the
//! classic text format. The format is small (HELP/TYPE lines, escaped label values, cumulative `le`
//! buckets) and `tests/it/metrics.rs` parses our output strictly.

pub mod http;
mod render;

use crate::types::TlsPath;
use kafka_protocol::messages::ApiKey;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often each shard folds glommio's executor and io_uring stats into its counters.
pub const STATS_SAMPLE_INTERVAL: Duration = Duration::from_secs(1);

/// Upper bounds (seconds) of the latency histogram buckets (request and fsync latency).
pub const LATENCY_BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];
const BUCKETS: usize = LATENCY_BUCKETS.len() + 1; // + the +Inf bucket

/// Kafka error codes counted per API: -1 (UNKNOWN_SERVER_ERROR) up to this bound; larger ones are
/// counted as code -1.
const ERROR_CODES: usize = 160;

/// A latency histogram of relaxed atomics (per-bucket counts, not cumulative; rendered cumulative).
pub struct Histogram {
    counts: [AtomicU64; BUCKETS],
    sum_nanos: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_nanos: AtomicU64::new(0),
        }
    }
}

impl Histogram {
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let bucket = LATENCY_BUCKETS.partition_point(|&b| b < secs);
        self.counts[bucket].fetch_add(1, Relaxed);
        self.sum_nanos
            .fetch_add(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX), Relaxed);
    }

    fn add_to(&self, snap: &mut HistogramSnapshot) {
        for (total, c) in snap.counts.iter_mut().zip(&self.counts) {
            *total += c.load(Relaxed);
        }
        snap.sum_nanos += self.sum_nanos.load(Relaxed);
    }
}

#[derive(Default)]
struct HistogramSnapshot {
    counts: [u64; BUCKETS],
    sum_nanos: u64,
}

/// One API's request metrics on one shard.
pub struct ApiMetrics {
    pub requests: AtomicU64,
    pub latency: Histogram,
    /// Indexed by error code + 1.
    errors: Box<[AtomicU64]>,
}

impl Default for ApiMetrics {
    fn default() -> Self {
        ApiMetrics {
            requests: AtomicU64::new(0),
            latency: Histogram::default(),
            errors: (0..ERROR_CODES).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

/// glommio io_uring counters per ring, in the order of `IO_COUNTERS`.
const IO_COUNTERS: [(&str, &str); 10] = [
    ("files_opened", "Files opened through the ring."),
    ("files_closed", "Files closed through the ring."),
    ("reads", "Direct-I/O file reads submitted."),
    ("read_bytes", "Bytes read by direct-I/O file reads."),
    ("buffered_reads", "Buffered file reads submitted."),
    ("buffered_read_bytes", "Bytes read by buffered file reads."),
    ("writes", "Direct-I/O file writes submitted."),
    ("write_bytes", "Bytes written by direct-I/O file writes."),
    ("buffered_writes", "Buffered file writes submitted."),
    (
        "buffered_write_bytes",
        "Bytes written by buffered file writes.",
    ),
];
const RINGS: [&str; 3] = ["main", "latency", "poll"];

/// One consumer lag observation: (group, topic, partition, lag).
pub type LagSample = (String, String, i32, i64);

/// Everything one shard records. Written only by its own shard (relaxed atomics), read by the scraper.
pub struct ShardMetrics {
    pub shard: usize,
    /// Indexed like the registry's `apis`; `api_slot` maps an API key there.
    apis: Box<[ApiMetrics]>,
    api_slot: [u8; 128],
    pub produce_in_flight: AtomicI64,
    pub fetch_in_flight: AtomicI64,
    pub connections_open: AtomicI64,
    pub connections_accepted: AtomicU64,
    /// TLS connections by where their TLS runs, indexed like `TlsPath::ALL`.
    tls_connections: [AtomicU64; TlsPath::ALL.len()],
    pub tls_handshake_failures: AtomicU64,
    pub fsync: Histogram,
    busy_nanos: AtomicU64,
    /// Wall time minus busy time, summed over the stats intervals.
    idle_nanos: AtomicU64,
    runtime_nanos: AtomicU64,
    tasks_executed: AtomicU64,
    scheduler_runs: AtomicU64,
    /// Busy time over wall time of the last stats interval, in millionths.
    utilisation_ppm: AtomicU64,
    io: [[AtomicU64; IO_COUNTERS.len()]; RINGS.len()],
    /// The coordinator's latest lag samples for the groups this shard coordinates.
    lag: Mutex<Vec<LagSample>>,
}

impl ShardMetrics {
    fn new(shard: usize, apis: &[ApiKey]) -> ShardMetrics {
        let mut api_slot = [u8::MAX; 128];
        for (i, &key) in apis.iter().enumerate() {
            if let Some(slot) = api_slot.get_mut(key as i16 as usize) {
                *slot = i as u8;
            }
        }
        ShardMetrics {
            shard,
            apis: apis.iter().map(|_| ApiMetrics::default()).collect(),
            api_slot,
            produce_in_flight: AtomicI64::new(0),
            fetch_in_flight: AtomicI64::new(0),
            connections_open: AtomicI64::new(0),
            connections_accepted: AtomicU64::new(0),
            tls_connections: std::array::from_fn(|_| AtomicU64::new(0)),
            tls_handshake_failures: AtomicU64::new(0),
            fsync: Histogram::default(),
            busy_nanos: AtomicU64::new(0),
            idle_nanos: AtomicU64::new(0),
            runtime_nanos: AtomicU64::new(0),
            tasks_executed: AtomicU64::new(0),
            scheduler_runs: AtomicU64::new(0),
            utilisation_ppm: AtomicU64::new(0),
            io: std::array::from_fn(|_| std::array::from_fn(|_| AtomicU64::new(0))),
            lag: Mutex::new(Vec::new()),
        }
    }

    /// A shard's metrics outside any registry (unit tests, tools).
    pub fn detached() -> Arc<ShardMetrics> {
        Arc::new(ShardMetrics::new(0, &[]))
    }

    pub fn api(&self, key: ApiKey) -> Option<&ApiMetrics> {
        let slot = *self.api_slot.get(key as i16 as usize)?;
        self.apis.get(usize::from(slot))
    }

    /// Counts a non-zero Kafka error code answered for `key`.
    pub fn record_error(&self, key: ApiKey, code: i16) {
        if code == 0 {
            return;
        }
        if let Some(api) = self.api(key) {
            let idx = usize::try_from(i32::from(code) + 1)
                .ok()
                .filter(|&i| i < ERROR_CODES)
                .unwrap_or(0);
            api.errors[idx].fetch_add(1, Relaxed);
        }
    }

    /// A TLS connection finished its handshake; `path` says where its TLS runs.
    pub fn count_tls_connection(&self, path: TlsPath) {
        let slot = TlsPath::ALL.iter().position(|&p| p == path).unwrap_or(0);
        self.tls_connections[slot].fetch_add(1, Relaxed);
    }

    /// Folds the stats glommio has gathered since the last call into the cumulative counters. Must run
    /// on this shard's executor (glommio's stats are thread-local and reset when read).
    pub fn sample_executor(&self, wall: Duration) {
        let ex = glommio::executor().executor_stats();
        let busy = ex.executor_runtime();
        self.busy_nanos.fetch_add(nanos(busy), Relaxed);
        self.idle_nanos
            .fetch_add(nanos(wall.saturating_sub(busy)), Relaxed);
        self.runtime_nanos
            .fetch_add(nanos(ex.total_runtime()), Relaxed);
        self.tasks_executed.fetch_add(ex.tasks_executed(), Relaxed);
        self.scheduler_runs.fetch_add(ex.scheduler_runs(), Relaxed);
        if !wall.is_zero() {
            let ppm = (busy.as_secs_f64() / wall.as_secs_f64() * 1e6).min(1e6);
            self.utilisation_ppm.store(ppm as u64, Relaxed);
        }
        let io = glommio::executor().io_stats();
        for (ring, stats) in [&io.main_ring, &io.latency_ring, &io.poll_ring]
            .into_iter()
            .enumerate()
        {
            let (reads, read_bytes) = stats.file_reads();
            let (breads, bread_bytes) = stats.file_buffered_reads();
            let (writes, write_bytes) = stats.file_writes();
            let (bwrites, bwrite_bytes) = stats.file_buffered_writes();
            let values = [
                stats.files_opened(),
                stats.files_closed(),
                reads,
                read_bytes,
                breads,
                bread_bytes,
                writes,
                write_bytes,
                bwrites,
                bwrite_bytes,
            ];
            for (counter, v) in self.io[ring].iter().zip(values) {
                counter.fetch_add(v, Relaxed);
            }
        }
    }

    /// Replaces the published consumer lag of this shard's groups (once per lag sample interval).
    pub fn publish_lag(&self, samples: Vec<LagSample>) {
        if let Ok(mut lag) = self.lag.lock() {
            *lag = samples;
        }
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// One partition's traffic counters; lives with the partition (`PartitionLog`), registered once.
#[derive(Default)]
pub struct PartitionMetrics {
    pub bytes_in: AtomicU64,
    pub records_in: AtomicU64,
    pub bytes_out: AtomicU64,
    pub records_out: AtomicU64,
    /// This node leads the partition and its ISR is smaller than its replica set.
    pub under_replicated: AtomicBool,
}

/// Counts one decrement when dropped: in-flight and open-connection gauges stay right on every exit.
pub struct GaugeGuard<'a>(&'a AtomicI64);

impl<'a> GaugeGuard<'a> {
    pub fn inc(gauge: &'a AtomicI64) -> GaugeGuard<'a> {
        gauge.fetch_add(1, Relaxed);
        GaugeGuard(gauge)
    }
}

impl Drop for GaugeGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}

/// Every shard's and partition's metrics, shared (`Arc`) by the shards and the admin server.
pub struct Registry {
    /// The names of the APIs the broker serves, in the order the per-shard counters index them, as
    /// Kafka spells them in its own metrics (`request=Produce`).
    api_names: Box<[String]>,
    shards: Vec<Arc<ShardMetrics>>,
    partitions: Mutex<BTreeMap<(String, i32), Arc<PartitionMetrics>>>,
    /// Shards whose Kafka listener is bound and accepting.
    listening: AtomicUsize,
}

impl Registry {
    /// Counters for `shards` shards, each counting requests of the `apis` the broker serves.
    pub fn new(shards: usize, apis: &[ApiKey]) -> Arc<Registry> {
        Arc::new(Registry {
            // `ApiKey`'s Debug names are the protocol's names (Produce, Fetch, OffsetCommit, ...).
            api_names: apis.iter().map(|k| format!("{k:?}")).collect(),
            shards: (0..shards)
                .map(|i| Arc::new(ShardMetrics::new(i, apis)))
                .collect(),
            partitions: Mutex::default(),
            listening: AtomicUsize::new(0),
        })
    }

    pub fn shard(&self, id: usize) -> Arc<ShardMetrics> {
        self.shards[id].clone()
    }

    /// The counters of a partition being opened (fresh ones if it was not registered).
    pub fn register_partition(&self, topic: &str, partition: i32) -> Arc<PartitionMetrics> {
        let mut parts = self.partitions.lock().unwrap_or_else(|e| e.into_inner());
        parts
            .entry((topic.to_string(), partition))
            .or_default()
            .clone()
    }

    /// Forgets a deleted partition's series.
    pub fn remove_partition(&self, topic: &str, partition: i32) {
        let mut parts = self.partitions.lock().unwrap_or_else(|e| e.into_inner());
        parts.remove(&(topic.to_string(), partition));
    }

    /// Called by each shard once its Kafka listener accepts connections.
    pub fn shard_listening(&self) {
        self.listening.fetch_add(1, Relaxed);
    }

    /// Every shard has started and accepts Kafka connections.
    pub fn ready(&self) -> bool {
        self.listening.load(Relaxed) >= self.shards.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_once_every_shard_listens() {
        let r = Registry::new(2, &[]);
        assert!(!r.ready());
        r.shard_listening();
        assert!(!r.ready(), "one of two shards is not ready");
        r.shard_listening();
        assert!(r.ready());
    }

    #[test]
    fn error_codes_are_counted_per_api() {
        let r = Registry::new(1, &[ApiKey::Produce]);
        let s = r.shard(0);
        s.record_error(ApiKey::Produce, 3);
        s.record_error(ApiKey::Produce, 0); // success: not an error
        s.record_error(ApiKey::Produce, 3);
        let text = r.render();
        assert!(
            text.contains("shardlog_request_errors_total{api=\"Produce\",error_code=\"3\"} 2\n")
        );
    }
}
