//! The transactional client drivers (tests/clients/<client>/transactions.sh: java, python for
//! librdkafka, go for franz-go) and reading what a read_committed or read_uncommitted Java consumer
//! sees — for the transaction and Streams exactly-once tests.

use super::repo_root;
use std::collections::BTreeMap;
use std::process::Command;

/// One record as a consumer returned it: (offset, key, value); a null key reads "null".
pub type Read = (i64, String, String);

/// Runs `client`'s transactional driver (tests/clients/<client>/transactions.sh: java, python for
/// librdkafka, go for franz-go) in `mode`; its stdout lines. Fails with its output if it fails.
pub fn run(client: &str, mode: &str, bootstrap: &str, args: &[&str], logs: &str) -> Vec<String> {
    let script = repo_root()
        .join("tests/clients")
        .join(client)
        .join("transactions.sh");
    let out = Command::new("timeout")
        .arg("240")
        .arg(&script)
        .args([mode, "--bootstrap", bootstrap])
        .args(args)
        .output()
        .expect("run a transactions.sh driver");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{client} {mode} failed:\n{stdout}\n{}\n({logs})",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout.lines().map(str::to_string).collect()
}

/// The Java driver, which also reads (at either isolation level) and fences.
pub fn java(mode: &str, bootstrap: &str, args: &[&str], logs: &str) -> Vec<String> {
    run("java", mode, bootstrap, args, logs)
}

/// (topic, partition) → values in offset order, as the Java consumer read them at `isolation`.
pub fn read_all(
    bootstrap: &str,
    topics: &str,
    isolation: &str,
    logs: &str,
) -> BTreeMap<(String, i32), Vec<String>> {
    read_with_offsets(bootstrap, topics, isolation, logs)
        .into_iter()
        .map(|(k, v)| (k, v.into_iter().map(|(_, value)| value).collect()))
        .collect()
}

/// (topic, partition) → (offset, value) in offset order.
pub fn read_with_offsets(
    bootstrap: &str,
    topics: &str,
    isolation: &str,
    logs: &str,
) -> BTreeMap<(String, i32), Vec<(i64, String)>> {
    read_records(bootstrap, topics, isolation, logs)
        .into_iter()
        .map(|(k, v)| (k, v.into_iter().map(|(o, _, value)| (o, value)).collect()))
        .collect()
}

/// (topic, partition) → every record from the start to the end `isolation` lets a consumer see
/// (under read_committed: the last stable offset), in offset order.
pub fn read_records(
    bootstrap: &str,
    topics: &str,
    isolation: &str,
    logs: &str,
) -> BTreeMap<(String, i32), Vec<Read>> {
    let lines = java(
        "read",
        bootstrap,
        &["--topics", topics, "--isolation", isolation],
        logs,
    );
    assert_eq!(lines.last().map(String::as_str), Some("end"), "{lines:?}");
    let mut by_partition: BTreeMap<(String, i32), Vec<Read>> = BTreeMap::new();
    // record TOPIC PARTITION OFFSET KEY VALUE
    for l in lines.iter().filter_map(|l| l.strip_prefix("record ")) {
        let f: Vec<&str> = l.splitn(5, ' ').collect();
        by_partition
            .entry((f[0].to_string(), f[1].parse().unwrap()))
            .or_default()
            .push((f[2].parse().unwrap(), f[3].to_string(), f[4].to_string()));
    }
    for (k, v) in &by_partition {
        assert!(
            v.windows(2).all(|w| w[0].0 < w[1].0),
            "offsets out of order in {k:?}: {v:?}"
        );
    }
    by_partition
}
