//! Kafka behaviours real clients depend on (issue #14), each driven by an unmodified client: the Java
//! client (`tests/clients/java/compat.sh`, shardlog.Compat), librdkafka through confluent-kafka
//! (`tests/clients/python/compat.sh`) and Kafka's own tools. Each check prints `OK …` or `FAIL …`
//! and decides on what the client saw, never on elapsed time. Every check but disk-full passes
//! against a real Kafka 4.4 too (`perf/kafka/kafka.sh start`).

use crate::common;

use common::api::create_topic;
use common::{kafka_tool, repo_root, temp_dir, Broker};
use std::path::Path;
use std::process::Command;

/// Runs `tests/clients/<client>/compat.sh sub --bootstrap .. --topic ..` plus `args`; asserts it
/// printed OK and returns that line.
fn compat(client: &str, broker: &Broker, sub: &str, topic: &str, args: &[&str]) -> String {
    let script = repo_root()
        .join("tests/clients")
        .join(client)
        .join("compat.sh");
    let out = Command::new("timeout")
        .args(["240", "bash"])
        .arg(script)
        .args([sub, "--bootstrap", &broker.addr(), "--topic", topic])
        .args(args)
        .output()
        .expect("run compat driver");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let ok = stdout.lines().find(|l| l.starts_with(&format!("OK {sub}")));
    match ok {
        Some(line) if out.status.success() => line.to_string(),
        _ => panic!(
            "{client} {sub} failed:\n{stdout}\n{}\n(broker log: {})",
            String::from_utf8_lossy(&out.stderr),
            broker.log_path().display()
        ),
    }
}

/// `compat` on a broker of its own: for the checks that create and inspect their own topic.
fn compat_on_own_broker(client: &str, sub: &str, topic: &str) {
    let broker = Broker::start(&temp_dir(&format!("compat-{sub}")), &[]);
    compat(client, &broker, sub, topic, &[]);
}

#[test]
fn java_consumer_and_list_offsets_see_log_append_times() {
    compat_on_own_broker("java", "log-append-time", "lat");
}

#[test]
fn list_configs_take_append_and_subtract_and_describe_their_synonyms() {
    compat_on_own_broker("java", "alter-configs", "alter");
}

#[test]
fn compacted_topics_refuse_records_without_a_key_with_record_errors() {
    compat_on_own_broker("python", "null-key", "nullkey");
}

#[test]
fn records_outside_the_kip937_timestamp_bounds_are_refused() {
    compat_on_own_broker("python", "timestamps", "bounds");
}

/// A zstd topic fed uncompressed batches by the Java client and lz4 ones by librdkafka: both
/// clients read every record, and every batch on disk is zstd (codec 4 in the attributes).
#[test]
fn a_zstd_topic_stores_zstd_whatever_codec_producers_send() {
    let broker = Broker::start(&temp_dir("compat-zstd"), &[]);
    let mut conn = broker.conn();
    assert_eq!(
        create_topic(&mut conn, "zstd", 1, &[("compression.type", "zstd")]),
        0
    );
    let java = [
        "--records",
        "500",
        "--prefix",
        "java",
        "--compression",
        "none",
    ];
    compat("java", &broker, "produce", "zstd", &java);
    let python = [
        "--records",
        "500",
        "--prefix",
        "rdkafka",
        "--compression",
        "lz4",
    ];
    compat("python", &broker, "produce", "zstd", &python);
    compat("java", &broker, "consume", "zstd", &["--expect", "1000"]);
    compat("python", &broker, "consume", "zstd", &["--expect", "1000"]);

    let mut codecs = Vec::new();
    let mut next = 0;
    while next < 1000 {
        let f = common::api::fetch(&mut conn, "zstd", 0, next, 0);
        assert_eq!(f.error_code, 0);
        let batches = batch_codecs(&f.records);
        assert!(!batches.is_empty(), "no batch at offset {next}");
        next = batches.last().unwrap().0;
        codecs.extend(batches.into_iter().map(|(_, codec)| codec));
    }
    assert!(
        codecs.iter().all(|&c| c == 4),
        "stored codecs {codecs:?}, want zstd (4) only"
    );
}

/// (next offset after the batch, compression codec) of each whole batch in a record set.
fn batch_codecs(mut records: &[u8]) -> Vec<(i64, i16)> {
    let mut out = Vec::new();
    // baseOffset 8, length 4, then (from byte 12) leader epoch 4, magic 1, crc 4, attributes 2,
    // lastOffsetDelta 4.
    while records.len() >= 27 {
        let base = i64::from_be_bytes(records[..8].try_into().unwrap());
        let len = i32::from_be_bytes(records[8..12].try_into().unwrap()) as usize;
        if records.len() < 12 + len {
            break;
        }
        let attributes = i16::from_be_bytes(records[21..23].try_into().unwrap());
        let last_delta = i32::from_be_bytes(records[23..27].try_into().unwrap());
        out.push((base + i64::from(last_delta) + 1, attributes & 7));
        records = &records[12 + len..];
    }
    out
}

/// A tmpfs of `size` mounted at `dir` for the test's life (the broker's data dir on a disk that
/// fills up); unmounted on drop.
struct TinyDisk<'a>(&'a Path);

impl<'a> TinyDisk<'a> {
    fn mount(dir: &'a Path, size: &str) -> Self {
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .expect("run mount");
        assert!(
            status.success(),
            "mounting a {size} tmpfs at {} failed: this test needs root (CI runs as root)",
            dir.display()
        );
        TinyDisk(dir)
    }
}

impl Drop for TinyDisk<'_> {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.0).status();
    }
}

/// When the disk fills, the produce whose write failed is answered KAFKA_STORAGE_ERROR like every
/// later one: librdkafka gets a delivery report for every record and no timeouts.
#[test]
fn a_full_disk_answers_every_produce_with_a_storage_error() {
    let dir = temp_dir("compat-disk-full");
    let _disk = TinyDisk::mount(&dir, "8m");
    let broker = Broker::start(&dir, &[]);
    assert_eq!(create_topic(&mut broker.conn(), "full", 1, &[]), 0);
    let line = compat("python", &broker, "disk-full", "full", &[]);
    assert!(line.contains("KAFKA_STORAGE_ERROR"), "{line}");
    assert!(broker.log_text().contains("No space left on device"));
}

/// `kafka-features describe` (ApiVersions v3+ features) shows what shardlog implements: Kafka 4.0's
/// metadata level, the KIP-848 group protocol, and no transactions yet.
#[test]
fn kafka_features_describe_shows_the_implemented_features() {
    let broker = Broker::start(&temp_dir("compat-features"), &[]);
    let (ok, stdout, stderr) = kafka_tool(&broker.addr(), "FeatureCommand", &["describe"]);
    assert!(ok, "kafka-features describe failed:\n{stdout}\n{stderr}");
    let feature = |name: &str| -> Vec<String> {
        let line = stdout
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(name))
            .unwrap_or_else(|| panic!("{name} not described:\n{stdout}"));
        line.split_whitespace().map(str::to_string).collect()
    };
    // Feature: NAME SupportedMinVersion: A SupportedMaxVersion: B FinalizedVersionLevel: C Epoch: E
    let level = |cols: &[String], label: &str| {
        let at = cols.iter().position(|c| c == label).unwrap();
        cols[at + 1].clone()
    };
    let metadata = feature("metadata.version");
    assert_eq!(level(&metadata, "FinalizedVersionLevel:"), "4.0-IV3");
    assert_eq!(level(&metadata, "SupportedMinVersion:"), "3.3-IV3");
    let group = feature("group.version");
    assert_eq!(level(&group, "FinalizedVersionLevel:"), "1", "{stdout}");
    let transaction = feature("transaction.version");
    assert_eq!(level(&transaction, "SupportedMaxVersion:"), "0", "{stdout}");
}

/// Kafka's client-metrics tool (KIP-714 subscriptions) is told the resource is not supported,
/// not the broker-config message it used to get.
#[test]
fn client_metrics_subscriptions_are_refused_with_their_own_reason() {
    let broker = Broker::start(&temp_dir("compat-client-metrics"), &[]);
    let alter = [
        "--alter",
        "--name",
        "all-producers",
        "--metrics",
        "org.apache.kafka.producer.",
        "--interval",
        "60000",
    ];
    let (ok, stdout, stderr) = kafka_tool(&broker.addr(), "ClientMetricsCommand", &alter);
    assert!(!ok, "kafka-client-metrics --alter succeeded:\n{stdout}");
    let said = format!("{stdout}{stderr}");
    assert!(
        said.contains("client-metrics subscriptions (KIP-714 telemetry) are not supported"),
        "kafka-client-metrics was not told why:\n{said}"
    );
}
