//! The operator CLI (`shardlog topic|produce|consume|group|cluster`), run as the built binary against a
//! real broker: each command's output and exit code, its main failures (unknown topic or group: 4,
//! broker down: 3, bad flag: 2), a produce/consume round trip, key placement identical to the Java
//! client's, and group describe/reset-offsets on committed offsets.

use crate::common;

use common::{repo_root, shardlog_cli, temp_dir, Broker};
use serde_json::Value;
use shardlog::client::partitioner::partition_for_key;
use std::net::TcpListener;
use std::process::{Command, Output, Stdio};

/// Runs `shardlog ARGS` against `brokers` with `stdin` as input.
fn run(brokers: &str, args: &[&str], stdin: &str) -> Output {
    let args: Vec<&str> = args.iter().copied().chain(["--brokers", brokers]).collect();
    shardlog_cli(&args, stdin)
}

/// Runs a command that must succeed; returns its stdout.
fn ok(b: &Broker, args: &[&str], stdin: &str) -> String {
    let out = run(&b.addr(), args, stdin);
    assert!(
        out.status.success(),
        "shardlog {args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs a command that must fail with `code`; returns its stderr.
fn fails(brokers: &str, args: &[&str], code: i32) -> String {
    let out = run(brokers, args, "");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "shardlog {args:?}: {stderr}");
    stderr
}

fn json(b: &Broker, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    serde_json::from_str(&ok(b, &all, "")).expect("valid JSON")
}

/// One JSON record per consumed line.
fn consume_json(b: &Broker, topic: &str, count: usize) -> Vec<Value> {
    let n = count.to_string();
    ok(
        b,
        &[
            "consume",
            topic,
            "--from-beginning",
            "--count",
            &n,
            "--print",
            "json",
        ],
        "",
    )
    .lines()
    .map(|l| serde_json::from_str(l).unwrap())
    .collect()
}

fn start(name: &str) -> Broker {
    Broker::start(&temp_dir(&format!("cli-{name}")), &[])
}

#[test]
fn topic_commands() {
    let b = start("topics");
    let out = ok(&b, &["topic", "create", "orders", "--partitions", "3"], "");
    assert_eq!(out.trim(), "created topic orders with 3 partitions");
    let err = fails(&b.addr(), &["topic", "create", "orders"], 5);
    assert!(err.contains("already exists"), "{err}");

    let list = ok(&b, &["topic", "list"], "");
    assert!(list.starts_with("TOPIC"), "{list}");
    assert!(
        list.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["orders", "3"]),
        "{list}"
    );
    let listed = json(&b, &["topic", "list"]);
    assert!(listed
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["name"] == "orders" && t["partitions"] == 3));

    ok(&b, &["produce", "orders", "--partition", "1"], "a\nb\n");
    let table = ok(&b, &["topic", "describe", "orders"], "");
    assert!(table.starts_with("Topic: orders  Partitions: 3"), "{table}");
    assert!(table.contains("cleanup.policy"), "{table}");
    let d = json(&b, &["topic", "describe", "orders"]);
    let parts = d["partitions"].as_array().unwrap();
    assert_eq!(parts.len(), 3);
    assert_eq!(parts[1]["earliest_offset"], 0);
    assert_eq!(parts[1]["latest_offset"], 2);
    assert_eq!(parts[0]["latest_offset"], 0);
    assert!(parts[0]["leader"].as_i64().unwrap() >= 0);
    // Sizes from DescribeLogDirs: nothing in partition 0, one batch of two records (61-byte batch
    // header plus the records) in partition 1; every partition names the shard serving it.
    assert_eq!(parts[0]["size_bytes"], 0);
    assert!(parts[1]["size_bytes"].as_i64().unwrap() > 61, "{d}");
    assert!(parts.iter().all(|p| p["shard"].is_i64()), "{d}");
    assert!(table.contains("SHARD"), "{table}");

    let args = [
        "topic",
        "alter-config",
        "orders",
        "--set",
        "retention.ms=1234",
    ];
    ok(&b, &args, "");
    let d = json(&b, &["topic", "describe", "orders"]);
    assert_eq!(d["configs"]["retention.ms"]["value"], "1234");
    assert_eq!(d["configs"]["retention.ms"]["source"], "topic");
    ok(
        &b,
        &[
            "topic",
            "alter-config",
            "orders",
            "--delete",
            "retention.ms",
        ],
        "",
    );
    let d = json(&b, &["topic", "describe", "orders"]);
    assert_ne!(d["configs"]["retention.ms"]["value"], "1234");
    fails(&b.addr(), &["topic", "alter-config", "orders"], 1);

    ok(
        &b,
        &["topic", "add-partitions", "orders", "--partitions", "5"],
        "",
    );
    let d = json(&b, &["topic", "describe", "orders"]);
    assert_eq!(d["partitions"].as_array().unwrap().len(), 5);

    assert_eq!(
        ok(&b, &["topic", "delete", "orders"], "").trim(),
        "deleted topic orders"
    );
    let err = fails(&b.addr(), &["topic", "describe", "orders"], 4);
    assert!(err.contains("does not exist"), "{err}");
    fails(&b.addr(), &["topic", "delete", "orders"], 4);
    fails(&b.addr(), &["produce", "orders"], 4);
    fails(&b.addr(), &["consume", "orders"], 4);
}

#[test]
fn broker_down_exits_3_and_bad_flags_exit_2() {
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    for args in [
        &["topic", "list"][..],
        &["topic", "describe", "t"],
        &["produce", "t"],
        &["consume", "t"],
        &["group", "list"],
        &["cluster", "info"],
    ] {
        let err = fails(&closed, args, 3);
        assert!(
            err.contains("cannot connect") && err.contains("shardlog serve"),
            "{err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    }
    fails(&closed, &["topic", "list", "--bogus"], 2);
    fails(&closed, &["produce", "t", "--acks", "2"], 2);
    fails(&closed, &["consume", "t", "--offset", "3"], 2); // --offset needs --partition
    fails(&closed, &["group", "reset-offsets", "g"], 2); // one of --to-* is required
}

#[test]
fn produce_parse_key_then_consume_round_trips() {
    let b = start("round-trip");
    ok(&b, &["topic", "create", "rt", "--partitions", "3"], "");
    let lines: Vec<String> = (0..500)
        .map(|i| format!("key-{}:value {i}", i % 17))
        .collect();
    let input = lines.join("\n") + "\n";
    let args = [
        "produce",
        "rt",
        "--parse-key",
        "--compression",
        "gzip",
        "--header",
        "h=1",
    ];
    ok(&b, &args, &input);

    let out = ok(
        &b,
        &[
            "consume",
            "rt",
            "--from-beginning",
            "--count",
            "500",
            "--print",
            "key-value",
        ],
        "",
    );
    let got: Vec<&str> = out.lines().collect();
    assert_eq!(got.len(), 500);
    // Same lines, and in input order within each partition (the key decides the partition).
    let partition = |line: &str| partition_for_key(line.split_once(':').unwrap().0.as_bytes(), 3);
    for p in 0..3 {
        let sent: Vec<&str> = lines
            .iter()
            .map(String::as_str)
            .filter(|l| partition(l) == p)
            .collect();
        let read: Vec<&str> = got.iter().copied().filter(|l| partition(l) == p).collect();
        assert_eq!(sent, read, "partition {p}");
    }

    let records = consume_json(&b, "rt", 500);
    for r in &records {
        let key = r["key"].as_str().unwrap();
        assert_eq!(r["partition"], partition_for_key(key.as_bytes(), 3));
        assert_eq!(r["topic"], "rt");
        assert_eq!(r["headers"]["h"], "1");
        assert!(r["timestamp"].as_i64().unwrap() > 0 && r["offset"].as_i64().is_some());
    }

    // --offset/--partition, and --timeout-ms ends a run with no --count.
    let out = ok(
        &b,
        &[
            "consume",
            "rt",
            "--partition",
            "0",
            "--offset",
            "1",
            "--timeout-ms",
            "500",
        ],
        "",
    );
    let sent0: Vec<&str> = lines
        .iter()
        .filter(|l| partition(l) == 0)
        .map(|l| l.split_once(':').unwrap().1)
        .collect();
    assert_eq!(out.lines().collect::<Vec<_>>(), sent0[1..]);

    // A line without the separator is bad input.
    let out = run(
        &b.addr(),
        &["produce", "rt", "--parse-key"],
        "no separator\n",
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn keyed_records_land_where_the_java_client_puts_them() {
    let b = start("java-keys");
    ok(&b, &["topic", "create", "keys", "--partitions", "7"], "");
    let keys: Vec<String> = (0..40)
        .map(|i| format!("user-{i}"))
        .chain(["", "21", "foobar"].map(String::from))
        .collect();
    let input: String = keys.iter().map(|k| format!("{k}:cli\n")).collect();
    ok(&b, &["produce", "keys", "--parse-key"], &input);
    let cli: std::collections::BTreeMap<String, i64> = consume_json(&b, "keys", keys.len())
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap().to_string(),
                r["partition"].as_i64().unwrap(),
            )
        })
        .collect();

    let script = repo_root().join("tests/clients/java/key-partitions.sh");
    let out = Command::new("bash")
        .arg(&script)
        .args([b.addr().as_str(), "keys"])
        .args(&keys)
        .output()
        .expect("run the Java driver (tests/clients/java/build.sh builds it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let java: std::collections::BTreeMap<String, i64> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (k, p) = l.rsplit_once(' ').unwrap();
            (k.to_string(), p.parse().unwrap())
        })
        .collect();
    assert_eq!(java.len(), keys.len());
    assert_eq!(cli, java);
}

#[test]
fn group_describe_reset_and_delete() {
    let b = start("groups");
    ok(&b, &["topic", "create", "events", "--partitions", "2"], "");
    let input: String = (0..10).map(|i| format!("{}:v{i}\n", i % 2)).collect();
    ok(&b, &["produce", "events", "--parse-key"], &input);
    // A standalone consumer commits what it printed.
    let args = [
        "consume",
        "events",
        "--group",
        "g",
        "--from-beginning",
        "--count",
        "10",
    ];
    assert_eq!(ok(&b, &args, "").lines().count(), 10);

    let list = ok(&b, &["group", "list"], "");
    assert!(
        list.lines()
            .any(|l| l.starts_with("g ") && l.contains("Empty")),
        "{list}"
    );
    let table = ok(&b, &["group", "describe", "g"], "");
    assert!(table.starts_with("Group: g  State: Empty"), "{table}");
    assert!(
        table.contains("COMMITTED") && table.contains("LAG"),
        "{table}"
    );
    let d = json(&b, &["group", "describe", "g"]);
    let offsets = d["offsets"].as_array().unwrap();
    assert_eq!(offsets.len(), 2);
    let ends: Vec<i64> = offsets
        .iter()
        .map(|o| o["log_end"].as_i64().unwrap())
        .collect();
    assert_eq!(ends.iter().sum::<i64>(), 10);
    for o in offsets {
        assert_eq!(o["committed"], o["log_end"]);
        assert_eq!(o["lag"], 0);
    }

    let reset = json(&b, &["group", "reset-offsets", "g", "--to-earliest"]);
    assert!(reset.as_array().unwrap().iter().all(|r| r["offset"] == 0));
    let d = json(&b, &["group", "describe", "g"]);
    let lags: Vec<i64> = d["offsets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["lag"].as_i64().unwrap())
        .collect();
    assert_eq!(lags, ends);

    ok(
        &b,
        &[
            "group",
            "reset-offsets",
            "g",
            "--to-offset",
            "3",
            "--topic",
            "events",
        ],
        "",
    );
    // The next run resumes from the committed offsets: 3 records skipped per partition.
    let args = ["consume", "events", "--group", "g", "--timeout-ms", "1000"];
    let expected: i64 = ends.iter().map(|e| (e - 3).max(0)).sum();
    assert_eq!(ok(&b, &args, "").lines().count() as i64, expected);
    ok(&b, &["group", "reset-offsets", "g", "--to-latest"], "");
    let d = json(&b, &["group", "describe", "g"]);
    assert!(d["offsets"]
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o["lag"] == 0));

    assert_eq!(
        ok(&b, &["group", "delete", "g"], "").trim(),
        "deleted group g"
    );
    fails(&b.addr(), &["group", "describe", "g"], 4);
    fails(&b.addr(), &["group", "delete", "g"], 4);
    fails(
        &b.addr(),
        &["group", "reset-offsets", "g", "--to-earliest"],
        1,
    );
    fails(
        &b.addr(),
        &[
            "group",
            "reset-offsets",
            "g",
            "--to-earliest",
            "--topic",
            "nope",
        ],
        4,
    );
}

#[test]
fn cluster_info() {
    let b = start("cluster");
    let out = ok(&b, &["cluster", "info"], "");
    assert!(out.starts_with("Cluster id: "), "{out}");
    let info = json(&b, &["cluster", "info"]);
    let brokers = info["brokers"].as_array().unwrap();
    assert_eq!(brokers.len(), 1);
    assert_eq!(brokers[0]["port"], b.port);
    assert_eq!(info["controller"], brokers[0]["id"]);
    assert!(!info["cluster_id"].as_str().unwrap().is_empty());
}

/// A Java consumer-group member (tests/clients/java/group-member.sh), killed when dropped.
struct Member(std::process::Child);

impl Drop for Member {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn group_with_an_active_member() {
    let b = Broker::start(
        &temp_dir("cli-active-group"),
        &[
            "--group-initial-rebalance-delay-ms",
            "200",
            "--group-lag-sample-interval-ms",
            "100",
        ],
    );
    ok(&b, &["topic", "create", "live", "--partitions", "2"], "");
    ok(&b, &["produce", "live"], "a\nb\nc\n");
    let script = repo_root().join("tests/clients/java/group-member.sh");
    let _member = Member(
        Command::new("bash")
            .arg(&script)
            .args(["--bootstrap", &b.addr(), "--topic", "live", "--group", "jg"])
            .args(["--client-id", "member-a"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run the Java group member (tests/clients/java/build.sh builds it)"),
    );
    // Stable, with its assignment, its commits and the broker's lag status.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let d = loop {
        let out = run(
            &b.addr(),
            &["group", "describe", "jg", "--format", "json"],
            "",
        );
        if let Ok(d) = serde_json::from_slice::<Value>(&out.stdout) {
            let committed: i64 = d["offsets"].as_array().map_or(0, |o| {
                o.iter().filter_map(|o| o["committed"].as_i64()).sum()
            });
            if d["state"] == "Stable" && committed == 3 && d["lag_status"].is_string() {
                break d;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "group jg never settled"
        );
        std::thread::sleep(std::time::Duration::from_millis(300));
    };
    assert_eq!(d["protocol_type"], "consumer");
    assert_eq!(d["lag_status"], "OK");
    let members = d["members"].as_array().unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0]["client_id"], "member-a");
    assert_eq!(members[0]["assignment"][0]["topic"], "live");
    assert_eq!(
        members[0]["assignment"][0]["partitions"],
        serde_json::json!([0, 1])
    );
    for o in d["offsets"].as_array().unwrap() {
        assert_eq!(o["owner"], "member-a");
        assert_eq!(o["status"], "OK");
    }
    let table = ok(&b, &["group", "describe", "jg"], "");
    assert!(
        table.contains("Lag status: OK") && table.contains("live:0,1"),
        "{table}"
    );

    // An active group's offsets are not reset, nor is it deleted.
    let err = fails(
        &b.addr(),
        &["group", "reset-offsets", "jg", "--to-earliest"],
        5,
    );
    assert!(err.contains("stop its consumers"), "{err}");
    fails(&b.addr(), &["group", "delete", "jg"], 5);
}

#[test]
fn large_uncompressed_input_is_cut_into_batches_the_broker_accepts() {
    let b = start("large");
    ok(&b, &["topic", "create", "large", "--partitions", "1"], "");
    // 3 MB of lines for one partition: one batch would pass max.message.bytes (1 MiB).
    let line = "x".repeat(150);
    let input: String = (0..20_000).map(|_| format!("{line}\n")).collect();
    ok(&b, &["produce", "large", "--acks", "1"], &input);
    // acks=0 gets no answer: a rejected batch would only show as missing records.
    ok(&b, &["produce", "large", "--acks", "0"], &input);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let d = json(&b, &["topic", "describe", "large"]);
        if d["partitions"][0]["latest_offset"] == 40_000 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{d}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
