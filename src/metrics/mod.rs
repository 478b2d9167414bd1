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
//! buckets) and `tests/metrics.rs` parses our output strictly.

pub mod http;

use crate::kafka::SUPPORTED;
use crate::net::tls::TlsPath;
use kafka_protocol::messages::ApiKey;
use std::collections::BTreeMap;
use std::fmt::Write as _;
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
    /// Indexed like `SUPPORTED`; `api_slot` maps an API key there.
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
    fn new(shard: usize) -> ShardMetrics {
        let mut api_slot = [u8::MAX; 128];
        for (i, &(key, _, _)) in SUPPORTED.iter().enumerate() {
            if let Some(slot) = api_slot.get_mut(key as i16 as usize) {
                *slot = i as u8;
            }
        }
        ShardMetrics {
            shard,
            apis: SUPPORTED.iter().map(|_| ApiMetrics::default()).collect(),
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
        Arc::new(ShardMetrics::new(0))
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
    shards: Vec<Arc<ShardMetrics>>,
    partitions: Mutex<BTreeMap<(String, i32), Arc<PartitionMetrics>>>,
    /// Shards whose Kafka listener is bound and accepting.
    listening: AtomicUsize,
}

impl Registry {
    pub fn new(shards: usize) -> Arc<Registry> {
        Arc::new(Registry {
            shards: (0..shards)
                .map(|i| Arc::new(ShardMetrics::new(i)))
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

    /// The Prometheus text exposition (format 0.0.4) of every metric.
    pub fn render(&self) -> String {
        let mut out = Text::default();
        out.family(
            "shardlog_build_info",
            "Build information; always 1.",
            "gauge",
        );
        out.sample(
            "shardlog_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))],
            1,
        );
        self.render_partitions(&mut out);
        self.render_requests(&mut out);
        self.render_shards(&mut out);
        out.family(
            "shardlog_under_replicated_partitions",
            "Partitions this node leads with fewer in-sync replicas than replicas.",
            "gauge",
        );
        let under = self
            .partitions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .filter(|m| m.under_replicated.load(Relaxed))
            .count();
        out.sample("shardlog_under_replicated_partitions", &[], under as u64);
        out.family(
            "shardlog_consumer_group_lag",
            "Log end offset minus committed offset, per group and partition, at the last lag sample.",
            "gauge",
        );
        for shard in &self.shards {
            let lag = shard.lag.lock().unwrap_or_else(|e| e.into_inner());
            for (group, topic, partition, lag) in lag.iter() {
                let partition = partition.to_string();
                out.sample(
                    "shardlog_consumer_group_lag",
                    &[
                        ("group", group),
                        ("topic", topic),
                        ("partition", &partition),
                    ],
                    *lag,
                );
            }
        }
        out.0
    }

    fn render_partitions(&self, out: &mut Text) {
        let parts: Vec<_> = self
            .partitions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        type Field = fn(&PartitionMetrics) -> &AtomicU64;
        let families: [(&str, &str, Field); 4] = [
            (
                "shardlog_partition_bytes_in_total",
                "Record batch bytes appended by produce requests.",
                |m| &m.bytes_in,
            ),
            (
                "shardlog_partition_records_in_total",
                "Records appended by produce requests.",
                |m| &m.records_in,
            ),
            (
                "shardlog_partition_bytes_out_total",
                "Record batch bytes sent to fetch requests.",
                |m| &m.bytes_out,
            ),
            (
                "shardlog_partition_records_out_total",
                "Records (offsets) in the whole batches sent to fetch requests.",
                |m| &m.records_out,
            ),
        ];
        for (name, help, field) in families {
            out.family(name, help, "counter");
            for ((topic, partition), m) in &parts {
                let partition = partition.to_string();
                out.sample(
                    name,
                    &[("topic", topic), ("partition", &partition)],
                    field(m).load(Relaxed),
                );
            }
        }
    }

    fn render_requests(&self, out: &mut Text) {
        out.family(
            "shardlog_requests_total",
            "Kafka requests handled, per API.",
            "counter",
        );
        for (i, &(key, _, _)) in SUPPORTED.iter().enumerate() {
            let n: u64 = self
                .shards
                .iter()
                .map(|s| s.apis[i].requests.load(Relaxed))
                .sum();
            out.sample("shardlog_requests_total", &[("api", api_name(key))], n);
        }
        let name = "shardlog_request_duration_seconds";
        out.family(
            name,
            "Time from a decoded request to its encoded response, per API.",
            "histogram",
        );
        for (i, &(key, _, _)) in SUPPORTED.iter().enumerate() {
            let mut snap = HistogramSnapshot::default();
            for s in &self.shards {
                s.apis[i].latency.add_to(&mut snap);
            }
            out.histogram(name, &[("api", api_name(key))], &snap);
        }
        out.family(
            "shardlog_request_errors_total",
            "Non-zero Kafka error codes answered, per API and code (top-level and per topic/partition/group/member).",
            "counter",
        );
        for (i, &(key, _, _)) in SUPPORTED.iter().enumerate() {
            for code in 0..ERROR_CODES {
                let n: u64 = self
                    .shards
                    .iter()
                    .map(|s| s.apis[i].errors[code].load(Relaxed))
                    .sum();
                if n > 0 {
                    let code = (code as i32 - 1).to_string();
                    out.sample(
                        "shardlog_request_errors_total",
                        &[("api", api_name(key)), ("error_code", &code)],
                        n,
                    );
                }
            }
        }
        let name = "shardlog_fsync_duration_seconds";
        out.family(
            name,
            "fdatasync latency of partition group commits (io_uring).",
            "histogram",
        );
        let mut snap = HistogramSnapshot::default();
        for s in &self.shards {
            s.fsync.add_to(&mut snap);
        }
        out.histogram(name, &[], &snap);
    }

    /// One metric family with a sample per shard.
    fn per_shard<V: SampleValue>(
        &self,
        out: &mut Text,
        name: &str,
        help: &str,
        kind: &str,
        get: fn(&ShardMetrics) -> V,
    ) {
        out.family(name, help, kind);
        for s in &self.shards {
            out.sample(name, &[("shard", &s.shard.to_string())], get(s));
        }
    }

    fn render_shards(&self, out: &mut Text) {
        type Gauge = fn(&ShardMetrics) -> i64;
        let gauges: [(&str, &str, Gauge); 3] = [
            (
                "shardlog_produce_in_flight",
                "Produce requests being handled (queue depth), per shard that received them.",
                |s| s.produce_in_flight.load(Relaxed),
            ),
            (
                "shardlog_fetch_in_flight",
                "Fetch requests being handled or parked waiting for data, per shard.",
                |s| s.fetch_in_flight.load(Relaxed),
            ),
            (
                "shardlog_connections_open",
                "Open Kafka client connections, per shard.",
                |s| s.connections_open.load(Relaxed),
            ),
        ];
        for (name, help, get) in gauges {
            self.per_shard(out, name, help, "gauge", get);
        }
        type Counter = fn(&ShardMetrics) -> u64;
        let counters: [(&str, &str, Counter); 4] = [
            (
                "shardlog_connections_accepted_total",
                "Kafka client connections accepted, per shard.",
                |s| s.connections_accepted.load(Relaxed),
            ),
            (
                "shardlog_tls_handshake_failures_total",
                "Connections to TLS listeners closed before their handshake completed (untrusted or missing client certificate, not TLS, timeout).",
                |s| s.tls_handshake_failures.load(Relaxed),
            ),
            (
                "shardlog_shard_tasks_executed_total",
                "Tasks run by the shard's glommio executor.",
                |s| s.tasks_executed.load(Relaxed),
            ),
            (
                "shardlog_shard_scheduler_runs_total",
                "Times the shard's glommio scheduler picked a task queue to run.",
                |s| s.scheduler_runs.load(Relaxed),
            ),
        ];
        for (name, help, get) in counters {
            self.per_shard(out, name, help, "counter", get);
        }
        type Seconds = fn(&ShardMetrics) -> f64;
        let seconds: [(&str, &str, &str, Seconds); 4] = [
            (
                "shardlog_shard_busy_seconds_total",
                "Time the shard's executor spent running tasks (rate() = utilisation).",
                "counter",
                |s| s.busy_nanos.load(Relaxed) as f64 / 1e9,
            ),
            (
                "shardlog_shard_idle_seconds_total",
                "Wall time the shard's executor was not running tasks (parked or polling io_uring).",
                "counter",
                |s| s.idle_nanos.load(Relaxed) as f64 / 1e9,
            ),
            (
                "shardlog_shard_runtime_seconds_total",
                "Time the shard's executor spent running tasks or polling io_uring (not parked).",
                "counter",
                |s| s.runtime_nanos.load(Relaxed) as f64 / 1e9,
            ),
            (
                "shardlog_shard_utilisation_ratio",
                "Busy time over wall time of the shard during the last stats interval (1 s).",
                "gauge",
                |s| s.utilisation_ppm.load(Relaxed) as f64 / 1e6,
            ),
        ];
        for (name, help, kind, get) in seconds {
            self.per_shard(out, name, help, kind, get);
        }
        let name = "shardlog_tls_connections_total";
        out.family(
            name,
            "TLS connections that completed their handshake, by where their TLS runs: ktls (kernel; fetches keep sendfile) or userspace (rustls; fetches are copied).",
            "counter",
        );
        for s in &self.shards {
            let shard = s.shard.to_string();
            for (slot, path) in TlsPath::ALL.iter().enumerate() {
                let count = s.tls_connections[slot].load(Relaxed);
                out.sample(name, &[("shard", &shard), ("path", path.name())], count);
            }
        }
        for (c, (counter, help)) in IO_COUNTERS.iter().enumerate() {
            let name = format!("shardlog_io_uring_{counter}_total");
            out.family(&name, &format!("glommio io_uring stats: {help}"), "counter");
            for s in &self.shards {
                let shard = s.shard.to_string();
                for (r, ring) in RINGS.iter().enumerate() {
                    out.sample(
                        &name,
                        &[("shard", &shard), ("ring", ring)],
                        s.io[r][c].load(Relaxed),
                    );
                }
            }
        }
    }
}

/// The API's name as Kafka spells it in its own metrics (`request=Produce`).
fn api_name(key: ApiKey) -> &'static str {
    // `ApiKey`'s Debug names are the protocol's names (Produce, Fetch, OffsetCommit, ...).
    static NAMES: std::sync::OnceLock<BTreeMap<i16, &'static str>> = std::sync::OnceLock::new();
    let names = NAMES.get_or_init(|| {
        SUPPORTED
            .iter()
            .map(|&(k, _, _)| {
                let name: &'static str = format!("{k:?}").leak();
                (k as i16, name)
            })
            .collect()
    });
    names.get(&(key as i16)).copied().unwrap_or("Unknown")
}

/// A value as Prometheus text writes it.
trait SampleValue {
    fn write(&self, out: &mut String);
}

impl SampleValue for u64 {
    fn write(&self, out: &mut String) {
        let _ = write!(out, "{self}");
    }
}

impl SampleValue for i64 {
    fn write(&self, out: &mut String) {
        let _ = write!(out, "{self}");
    }
}

impl SampleValue for i32 {
    fn write(&self, out: &mut String) {
        let _ = write!(out, "{self}");
    }
}

impl SampleValue for f64 {
    fn write(&self, out: &mut String) {
        if self.is_finite() {
            let _ = write!(out, "{self}");
        } else if self.is_nan() {
            out.push_str("NaN");
        } else if *self > 0.0 {
            out.push_str("+Inf");
        } else {
            out.push_str("-Inf");
        }
    }
}

#[derive(Default)]
struct Text(String);

impl Text {
    fn family(&mut self, name: &str, help: &str, kind: &str) {
        let help = help.replace('\\', r"\\").replace('\n', r"\n");
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl SampleValue) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                self.0.push_str(k);
                self.0.push_str("=\"");
                for ch in v.chars() {
                    match ch {
                        '\\' => self.0.push_str(r"\\"),
                        '"' => self.0.push_str("\\\""),
                        '\n' => self.0.push_str(r"\n"),
                        c => self.0.push(c),
                    }
                }
                self.0.push('"');
            }
            self.0.push('}');
        }
        self.0.push(' ');
        value.write(&mut self.0);
        self.0.push('\n');
    }

    fn histogram(&mut self, name: &str, labels: &[(&str, &str)], snap: &HistogramSnapshot) {
        let bucket = format!("{name}_bucket");
        let mut cumulative = 0u64;
        for (i, count) in snap.counts.iter().enumerate() {
            cumulative += count;
            let le = LATENCY_BUCKETS
                .get(i)
                .map_or_else(|| "+Inf".to_string(), |b| b.to_string());
            let mut with_le = labels.to_vec();
            with_le.push(("le", &le));
            self.sample(&bucket, &with_le, cumulative);
        }
        self.sample(&format!("{name}_sum"), labels, snap.sum_nanos as f64 / 1e9);
        self.sample(&format!("{name}_count"), labels, cumulative);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_le_inclusive() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(100)); // exactly the first bound: le="0.0001"
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_secs(60)); // +Inf only
        let mut snap = HistogramSnapshot::default();
        h.add_to(&mut snap);
        let mut t = Text::default();
        t.histogram("x", &[("api", "Produce")], &snap);
        assert!(t.0.contains("x_bucket{api=\"Produce\",le=\"0.0001\"} 1\n"));
        assert!(t.0.contains("x_bucket{api=\"Produce\",le=\"0.0025\"} 1\n"));
        assert!(t.0.contains("x_bucket{api=\"Produce\",le=\"0.005\"} 2\n"));
        assert!(t.0.contains("x_bucket{api=\"Produce\",le=\"10\"} 2\n"));
        assert!(t.0.contains("x_bucket{api=\"Produce\",le=\"+Inf\"} 3\n"));
        assert!(t.0.contains("x_count{api=\"Produce\"} 3\n"));
    }

    #[test]
    fn label_values_are_escaped() {
        let mut t = Text::default();
        t.sample("m", &[("group", "a\"b\\c\nd")], 1u64);
        assert_eq!(t.0, "m{group=\"a\\\"b\\\\c\\nd\"} 1\n");
    }

    #[test]
    fn ready_once_every_shard_listens() {
        let r = Registry::new(2);
        assert!(!r.ready());
        r.shard_listening();
        assert!(!r.ready(), "one of two shards is not ready");
        r.shard_listening();
        assert!(r.ready());
    }

    #[test]
    fn error_codes_are_counted_per_api() {
        let r = Registry::new(1);
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
