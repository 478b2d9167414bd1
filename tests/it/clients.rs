//! Real, unmodified Kafka clients against a real broker: the Java client (kafka-clients), librdkafka
//! (confluent-kafka) and franz-go each create a 3-partition topic, produce 100,000 keyed records with
//! headers and timestamps, consume them back and check order, keys, values, headers and timestamps —
//! once per compression codec. The drivers live in tests/clients/<client>/ (built by tests/run.sh).

use crate::common;

use common::{driver_command, temp_dir, Broker};

const CODECS: [&str; 5] = ["none", "gzip", "snappy", "lz4", "zstd"];
const RECORDS: &str = "100000";

/// Runs one client driver for every codec against a fresh broker.
fn round_trip_every_codec(client: &str) {
    let broker = Broker::start(&temp_dir(&format!("clients-{client}")), &[]);
    CODECS.iter().for_each(|c| run_driver(&broker, client, c));
}

fn run_driver(broker: &Broker, client: &str, codec: &str) {
    let topic = format!("{client}-{codec}");
    let out = driver_command(client)
        .args([
            "--bootstrap",
            &broker.addr(),
            "--topic",
            &topic,
            "--partitions",
            "3",
        ])
        .args(["--records", RECORDS, "--compression", codec])
        .output()
        .expect("run client driver");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains(&format!("{topic} {RECORDS} records")),
        "{client} with {codec} failed ({}):\n{stdout}\n{stderr}\n(broker log: {})",
        out.status,
        broker.log_path().display()
    );
}

#[test]
fn java_client_round_trips_every_codec() {
    round_trip_every_codec("java");
}

#[test]
fn librdkafka_round_trips_every_codec() {
    round_trip_every_codec("python");
}

#[test]
fn franz_go_round_trips_every_codec() {
    round_trip_every_codec("go");
}
