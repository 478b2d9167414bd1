//! The config file and its layering (flag > SHARDLOG_* env > file > default), seen from outside: a real
//! broker honouring file settings over the Kafka protocol, `config print`'s sources and TOML round trip,
//! clear errors for bad files, and the generated reference staying in sync with the code.

use crate::common;

use common::{repo_root, temp_dir, Broker};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{ApiKey, MetadataRequest, MetadataResponse};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn shardlog(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shardlog"));
    // Settings from the environment running the tests must not leak into these checks.
    for (k, _) in std::env::vars() {
        if k.starts_with("SHARDLOG_") {
            cmd.env_remove(k);
        }
    }
    cmd.args(args).envs(envs.iter().copied()).output().unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "shardlog failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Asks for metadata of `topic`, auto-creating it; returns its partition count.
fn auto_created_partitions(broker: &Broker, topic: &str) -> usize {
    let mut conn = broker.conn();
    let mut t = MetadataRequestTopic::default();
    t.name = Some(common::api::topic_name(topic));
    let mut req = MetadataRequest::default();
    req.topics = Some(vec![t]);
    req.allow_auto_topic_creation = true;
    let resp: MetadataResponse = conn.request(ApiKey::Metadata, 12, &req);
    assert_eq!(resp.topics[0].error_code, 0);
    resp.topics[0].partitions.len()
}

#[test]
fn a_broker_honours_its_config_file_and_env_and_flags_override_it() {
    let dir = temp_dir("config-broker");
    let file = write(
        &dir,
        "shardlog.toml",
        "num.partitions = 3\n[log]\nretention.ms = 3600000\n",
    );
    let file = file.to_str().unwrap();

    let data = dir.join("file");
    std::fs::create_dir_all(&data).unwrap();
    let broker = Broker::start(&data, &["--config", file]);
    assert_eq!(auto_created_partitions(&broker, "from-file"), 3);
    drop(broker);

    // The file named by SHARDLOG_CONFIG, one setting overridden by its SHARDLOG_* variable.
    let data = dir.join("env");
    std::fs::create_dir_all(&data).unwrap();
    let envs = [("SHARDLOG_CONFIG", file), ("SHARDLOG_NUM_PARTITIONS", "4")];
    let broker = Broker::start_with_env(&data, &[], &envs);
    assert_eq!(auto_created_partitions(&broker, "from-env"), 4);
    drop(broker);

    // A flag beats both.
    let data = dir.join("flag");
    std::fs::create_dir_all(&data).unwrap();
    let broker = Broker::start_with_env(&data, &["--num-partitions", "5"], &envs);
    assert_eq!(auto_created_partitions(&broker, "from-flag"), 5);
}

#[test]
fn bad_files_fail_with_the_key_and_what_is_expected() {
    let dir = temp_dir("config-bad");
    let cases = [
        (
            "num.partiton = 3\n",
            "unknown setting 'num.partiton'; did you mean 'num.partitions'?",
        ),
        ("log.retention = 3\n", "did you mean 'log.retention."),
        (
            "flush_policy = \"always\"\n",
            "did you mean 'shardlog.flush.policy'?",
        ),
        (
            "num.partitions = \"3\"\n",
            "'num.partitions' must be an integer, not a string",
        ),
        (
            "auto.create.topics.enable = \"yes\"\n",
            "'auto.create.topics.enable' must be a boolean",
        ),
        (
            "default.replication.factor = 0\n",
            "invalid value 0 for 'default.replication.factor'",
        ),
        (
            "shardlog.flush.policy = \"never\"\n",
            "expected one of acks-all, always, interval",
        ),
        (
            "num.partitions = [1, 2]\n",
            "must be an integer, not an array",
        ),
        ("num.partitions 3\n", "is not valid TOML"),
    ];
    for (i, (text, expected)) in cases.iter().enumerate() {
        let file = write(&dir, &format!("bad-{i}.toml"), text);
        let data = dir.join(format!("data-{i}"));
        let out = shardlog(
            &[
                "serve",
                "--config",
                file.to_str().unwrap(),
                "--data-dir",
                data.to_str().unwrap(),
                "--listen",
                "127.0.0.1:1",
            ],
            &[],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{text:?} was accepted");
        assert!(
            stderr.contains(expected),
            "{text:?}: expected {expected:?} in:\n{stderr}"
        );
        assert!(!data.exists(), "the broker started anyway for {text:?}");
    }
    let out = shardlog(&["config", "print", "--config", "/no/such/file.toml"], &[]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot read config file /no/such/file.toml")
    );
}

/// `config print`'s table as key → (value, source).
fn printed(out: &str) -> BTreeMap<String, (String, String)> {
    out.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("KEY "))
        .map(|l| {
            let (key, rest) = l.split_once(' ').expect("a row");
            let (value, source) = rest.trim().rsplit_once(' ').expect("a row");
            (
                key.to_string(),
                (value.trim().to_string(), source.to_string()),
            )
        })
        .collect()
}

#[test]
fn config_print_shows_each_value_and_its_source() {
    let dir = temp_dir("config-print");
    let file = write(
        &dir,
        "a.toml",
        "num.partitions = 3\nlog.retention.ms = 1000\nlog.segment.bytes = 65536\nshardlog.flush.policy = \"always\"\n",
    );
    let out = stdout(&shardlog(
        &[
            "config",
            "print",
            "--config",
            file.to_str().unwrap(),
            "--log-segment-bytes",
            "131072",
        ],
        &[
            ("SHARDLOG_LOG_RETENTION_MS", "2000"),
            ("SHARDLOG_LOG_SEGMENT_BYTES", "99999"),
        ],
    ));
    assert!(
        out.contains(&format!("# config file: {}", file.display())),
        "{out}"
    );
    let rows = printed(&out);
    let row = |k: &str| {
        let (v, s) = &rows[k];
        (v.as_str(), s.as_str())
    };
    assert_eq!(row("num.partitions"), ("3", "file"));
    assert_eq!(row("shardlog.flush.policy"), ("always", "file"));
    assert_eq!(row("log.retention.ms"), ("2000", "env"));
    assert_eq!(row("log.segment.bytes"), ("131072", "flag"));
    assert_eq!(row("message.max.bytes"), ("1048588", "default"));
    assert_eq!(row("shardlog.shards"), ("(unset)", "default"));
    // Every setting is listed.
    let reference = std::fs::read_to_string(repo_root().join("docs/config-reference.md")).unwrap();
    let settings = reference.lines().filter(|l| l.starts_with("| `")).count();
    assert_eq!(rows.len(), settings);
}

#[test]
fn config_print_toml_loads_back_with_the_same_values() {
    let dir = temp_dir("config-roundtrip");
    let file = write(
        &dir,
        "a.toml",
        "num.partitions = 3\nshardlog.advertised = \"broker-1:9092\"\n",
    );
    let first = stdout(&shardlog(
        &[
            "config",
            "print",
            "--format",
            "toml",
            "--config",
            file.to_str().unwrap(),
            "--flush-policy",
            "interval",
            "--shards",
            "3",
            "--data-dir",
            "/var/lib/shard \"log\"",
        ],
        &[
            ("SHARDLOG_LOG_RETENTION_MS", "-1"),
            ("SHARDLOG_AUTO_CREATE_TOPICS_ENABLE", "false"),
        ],
    ));
    let printed = write(&dir, "printed.toml", &first);
    let second = stdout(&shardlog(
        &[
            "config",
            "print",
            "--format",
            "toml",
            "--config",
            printed.to_str().unwrap(),
        ],
        &[],
    ));
    let a: toml::Table = toml::from_str(&first).unwrap();
    let b: toml::Table = toml::from_str(&second).unwrap();
    assert_eq!(a, b);
    assert_eq!(a["num"]["partitions"].as_integer(), Some(3));
    assert_eq!(a["log"]["retention"]["ms"].as_integer(), Some(-1));
    assert_eq!(a["log"]["dir"].as_str(), Some("/var/lib/shard \"log\""));
    assert_eq!(
        a["auto"]["create"]["topics"]["enable"].as_bool(),
        Some(false)
    );
    assert_eq!(a["shardlog"]["shards"].as_integer(), Some(3));
    // Loaded back, everything set comes from the file.
    let table = stdout(&shardlog(
        &["config", "print", "--config", printed.to_str().unwrap()],
        &[],
    ));
    for (key, (_, source)) in printed_rows_without_unset(&table) {
        assert_eq!(source, "file", "{key}");
    }
}

fn printed_rows_without_unset(out: &str) -> Vec<(String, (String, String))> {
    printed(out)
        .into_iter()
        .filter(|(_, (v, _))| v != "(unset)")
        .collect()
}

#[test]
fn committed_reference_and_example_are_up_to_date() {
    for (args, path) in [
        (&["config", "reference"][..], "docs/config-reference.md"),
        (
            &["config", "reference", "--format", "toml"][..],
            "docs/shardlog.toml",
        ),
    ] {
        let generated = stdout(&shardlog(args, &[]));
        let committed = std::fs::read_to_string(repo_root().join(path)).unwrap_or_default();
        assert!(
            generated == committed,
            "{path} is out of date with the settings in src/config.rs; regenerate it with:\n  \
             cargo run --release -- {} > {path}",
            args.join(" ")
        );
    }
}

#[test]
fn the_example_file_loads_as_shipped_and_with_every_setting_uncommented() {
    let example = repo_root().join("docs/shardlog.toml");
    let out = stdout(&shardlog(
        &["config", "print", "--config", example.to_str().unwrap()],
        &[],
    ));
    assert!(printed(&out).values().all(|(_, s)| s == "default"));

    let text = std::fs::read_to_string(&example).unwrap();
    let uncommented: String = text
        .lines()
        .map(|l| match l.strip_prefix("# ") {
            Some(rest)
                if rest
                    .split_once(" = ")
                    .is_some_and(|(k, _)| !k.contains(' ')) =>
            {
                rest
            }
            _ => l,
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let dir = temp_dir("config-example");
    let full = write(&dir, "full.toml", &uncommented);
    let out = stdout(&shardlog(
        &["config", "print", "--config", full.to_str().unwrap()],
        &[],
    ));
    let rows = printed_rows_without_unset(&out);
    assert!(rows.len() > 20);
    for (key, (_, source)) in rows {
        assert_eq!(
            source, "file",
            "{key} is not set by the uncommented example"
        );
    }
    // And a broker runs with it (the harness's --listen/--data-dir/--shards flags override the file's).
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let broker = Broker::start(&data, &["--config", full.to_str().unwrap()]);
    assert_eq!(auto_created_partitions(&broker, "example"), 1);
}

#[test]
fn the_log_level_setting_filters_the_broker_log_and_a_bad_one_is_refused() {
    let dir = temp_dir("config-log-level");
    let log_of = |level: Option<&str>, topic: &str| {
        let data = dir.join(topic);
        std::fs::create_dir_all(&data).unwrap();
        let args: Vec<&str> = level.map_or(vec![], |l| vec!["--log-level", l]);
        let broker = Broker::start(&data, &args);
        auto_created_partitions(&broker, topic);
        std::fs::read_to_string(broker.log_path()).unwrap()
    };
    let quiet = log_of(Some("warn"), "quiet");
    assert!(!quiet.contains("INFO"), "{quiet}");
    let default = log_of(None, "chatty");
    assert!(default.contains("INFO"), "{default}");

    let data = dir.join("bad");
    let out = shardlog(
        &[
            "serve",
            "--data-dir",
            data.to_str().unwrap(),
            "--log-level",
            "info,[",
        ],
        &[],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bad log level"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
