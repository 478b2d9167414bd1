//! The side-by-side harness must never rot: `perf/compare.sh --smoke` runs every part of the comparison
//! (load generator ceiling, both brokers, max-throughput and fixed-rate runs, catch-up in plaintext and over
//! TLS — and kTLS where the kernel offers it —, Kafka's ProducerPerformance) at tiny volumes. This asserts that both brokers served every record — never how
//! fast: timings belong in perf/results, not in tests.
//!
//! `perf/cluster.sh --smoke` does the same for the replicated comparison: three Kafka nodes, then three
//! shardlog nodes, RF=3 topics, Kafka's ProducerPerformance at acks=1 and acks=all.
//!
//! Needs Java and the reference Kafka jars (`bash perf/kafka/kafka.sh install`, done by tests/run.sh).

use crate::common;

use serde_json::Value;
use std::process::Command;

fn count(run: &Value, path: &[&str]) -> u64 {
    let mut v = run;
    for key in path {
        v = &v[key];
    }
    v.as_u64()
        .unwrap_or_else(|| panic!("{path:?} missing in {run}"))
}

/// Runs `perf/<script> --smoke` into a fresh directory; returns the result JSON it wrote there
/// (`<date>-<HHMM>-<suffix>`).
fn smoke_run(name: &str, script: &str, suffix: &str) -> Value {
    let out = common::temp_dir(name);
    let status = Command::new("bash")
        .arg(common::repo_root().join("perf").join(script))
        .args(["--smoke", "--out"])
        .arg(&out)
        .env("SHARDLOG_BIN", env!("CARGO_BIN_EXE_shardlog"))
        .env("RUST_BACKTRACE", "0")
        .status()
        .unwrap_or_else(|e| panic!("run perf/{script}: {e}"));
    assert!(status.success(), "perf/{script} --smoke failed: {status}");
    let result = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(suffix))
        .unwrap_or_else(|| panic!("a <date>-{suffix} result"));
    serde_json::from_str(&std::fs::read_to_string(&result).unwrap()).unwrap()
}

#[test]
fn both_clusters_take_every_record_of_the_replicated_smoke_comparison() {
    let result = smoke_run("perf-cluster-smoke", "cluster.sh", "-cluster-smoke.json");
    let max_records = count(&result["settings"], &["max_records"]);
    for broker in ["kafka", "shardlog"] {
        for run in ["max-acks1", "max-acksall", "rate-acks1", "rate-acksall"] {
            let r = &result["results"][broker][run];
            // ProducerPerformance counts only acknowledged sends.
            let records = count(r, &["records"]);
            if run.starts_with("max-") {
                assert_eq!(
                    records, max_records,
                    "{broker} {run}: every record acknowledged"
                );
            }
            assert!(records > 0, "{broker} {run}: records acknowledged: {r}");
            assert!(
                r["latency_ms"]["p99"].is_u64(),
                "{broker} {run}: a p99 latency: {r}"
            );
        }
    }
    assert!(result["shardlog_vs_kafka"]["acksall"]["throughput_x"].is_f64());
}

#[test]
fn both_brokers_serve_every_record_of_the_smoke_comparison() {
    let result = smoke_run("perf-smoke", "compare.sh", "-smoke.json");
    let catchup_records: u64 = result["settings"]["catchup_records"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("catchup_records setting");

    let runs = |broker: &str| {
        result["runs"][broker]
            .as_object()
            .unwrap_or_else(|| panic!("no runs for {broker}"))
            .clone()
    };
    let (kafka, shardlog) = (runs("kafka"), runs("shardlog"));
    // Only shardlog has a kTLS path (and only where the kernel offers kTLS).
    let ktls = "catchup-read-ktls";
    let names: Vec<&String> = kafka.keys().collect();
    assert_eq!(
        names,
        shardlog.keys().filter(|n| *n != ktls).collect::<Vec<_>>(),
        "both brokers ran the same workloads"
    );
    assert!(names.iter().any(|n| *n == "catchup-read-tls"));
    assert!(names.iter().any(|n| n.starts_with("max-")));
    assert!(names.iter().any(|n| n.starts_with("rate-")));

    for (broker, runs) in [("kafka", &kafka), ("shardlog", &shardlog)] {
        for (name, run) in runs {
            let what = format!("{broker} {name}");
            let sent = count(run, &["produce", "records_sent"]);
            let acked = count(run, &["produce", "records_acked"]);
            let consumed = count(run, &["consume", "records"]);
            assert_eq!(
                count(run, &["produce", "records_failed"]),
                0,
                "{what}: failed records"
            );
            assert_eq!(acked, sent, "{what}: every record sent was acknowledged");
            match name.as_str() {
                "catchup-write" => assert_eq!(acked, catchup_records, "{what}"),
                "catchup-read" | "catchup-read-tls" | "catchup-read-ktls" => {
                    assert_eq!(consumed, catchup_records, "{what}: read everything back")
                }
                _ => {
                    assert!(acked > 0, "{what}: produced something");
                    assert_eq!(
                        consumed, acked,
                        "{what}: consumers read every record produced"
                    );
                }
            }
        }
        let perf = &result["producer_performance"][broker];
        assert_eq!(
            perf["records"].as_u64(),
            result["settings"]["perf_records"]
                .as_str()
                .and_then(|s| s.parse().ok()),
            "{broker}: ProducerPerformance sent every record: {perf}"
        );
    }
    // shardlog's metrics say its TLS read really ran over user-space TLS.
    let paths = &result["catchup"]["shardlog"]["read_tls"]["tls_connections_by_path"];
    assert!(
        paths
            .as_str()
            .is_some_and(|p| p.contains("userspace=") && !p.contains("userspace=0")),
        "TLS connections by path during the TLS read: {paths}"
    );
}
