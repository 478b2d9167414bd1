//! The Prometheus text exposition (format 0.0.4) of a [`Registry`], rendered at scrape time from the
//! shards' and partitions' atomics (see the module docs of `metrics` for why by hand).

use super::*;
use std::fmt::Write as _;

impl Registry {
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
        for (i, name_of_api) in self.api_names.iter().enumerate() {
            let n: u64 = self
                .shards
                .iter()
                .map(|s| s.apis[i].requests.load(Relaxed))
                .sum();
            out.sample("shardlog_requests_total", &[("api", name_of_api)], n);
        }
        let name = "shardlog_request_duration_seconds";
        out.family(
            name,
            "Time from a decoded request to its encoded response, per API.",
            "histogram",
        );
        for (i, name_of_api) in self.api_names.iter().enumerate() {
            let mut snap = HistogramSnapshot::default();
            for s in &self.shards {
                s.apis[i].latency.add_to(&mut snap);
            }
            out.histogram(name, &[("api", name_of_api)], &snap);
        }
        out.family(
            "shardlog_request_errors_total",
            "Non-zero Kafka error codes answered, per API and code (top-level and per topic/partition/group/member).",
            "counter",
        );
        for (i, name_of_api) in self.api_names.iter().enumerate() {
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
                        &[("api", name_of_api), ("error_code", &code)],
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
}
