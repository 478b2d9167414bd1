//! The admin HTTP endpoint against a real broker: `/metrics` parses as Prometheus text format (strictly,
//! with the parser below) and its counters move by exactly what the test did; `/health` and `/ready`
//! answer; consumer lag shows up per group and partition.

use crate::common;

use common::api::{create_topic, fetch, produce, topic_name};
use common::{batch_of, temp_dir, Broker};
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

type Labels = BTreeMap<String, String>;

/// A scrape, parsed: every sample by (name, labels), and every family's type.
struct Scrape {
    samples: HashMap<(String, Labels), f64>,
    types: HashMap<String, String>,
}

impl Scrape {
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let labels = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.samples.get(&(name.to_string(), labels)).copied()
    }

    /// A sample that must be present.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels)
            .unwrap_or_else(|| panic!("no sample {name}{labels:?}"))
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn parse_value(v: &str) -> f64 {
    match v {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        _ => v
            .parse()
            .unwrap_or_else(|_| panic!("bad sample value {v:?}")),
    }
}

/// `{k="v",...}` at the start of `s`: the labels and the rest of the line.
fn parse_labels(s: &str) -> (Labels, &str) {
    let mut labels = Labels::new();
    let mut rest = &s[1..];
    loop {
        if let Some(r) = rest.strip_prefix('}') {
            return (labels, r);
        }
        let eq = rest.find('=').expect("label without =");
        let key = &rest[..eq];
        assert!(valid_name(key), "bad label name {key:?}");
        rest = rest[eq + 1..]
            .strip_prefix('"')
            .expect("label value not quoted");
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            let (i, c) = chars.next().expect("unterminated label value");
            match c {
                '"' => break i,
                '\\' => match chars.next().expect("dangling escape").1 {
                    '\\' => value.push('\\'),
                    '"' => value.push('"'),
                    'n' => value.push('\n'),
                    other => panic!("bad escape \\{other}"),
                },
                '\n' => panic!("raw newline in label value"),
                c => value.push(c),
            }
        };
        assert!(
            labels.insert(key.to_string(), value).is_none(),
            "duplicate label {key}"
        );
        rest = &rest[end + 1..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
}

/// A strict reader of the Prometheus text exposition format (0.0.4): HELP/TYPE before a family's
/// samples and at most once, sample names belong to the family just typed, valid names and escapes,
/// no duplicate series, and histograms with cumulative buckets ending in `+Inf` = `_count`.
fn parse(text: &str) -> Scrape {
    assert!(text.ends_with('\n'), "exposition must end with a newline");
    let mut samples = HashMap::new();
    let mut types: HashMap<String, String> = HashMap::new();
    let mut helps = std::collections::HashSet::new();
    let mut family: Option<(String, String)> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap();
            assert!(valid_name(name), "bad name in {line:?}");
            assert!(helps.insert(name.to_string()), "second HELP for {name}");
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split(' ');
            let (name, kind) = (parts.next().unwrap(), parts.next().unwrap());
            assert!(parts.next().is_none(), "junk after TYPE: {line:?}");
            assert!(valid_name(name));
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "bad type {kind}"
            );
            assert!(
                types.insert(name.to_string(), kind.to_string()).is_none(),
                "second TYPE for {name}"
            );
            family = Some((name.to_string(), kind.to_string()));
            continue;
        }
        assert!(!line.starts_with('#'), "unknown comment line {line:?}");
        assert!(!line.is_empty(), "empty line");
        let name_end = line.find(['{', ' ']).expect("sample without value");
        let name = &line[..name_end];
        assert!(valid_name(name), "bad metric name {name:?}");
        let (labels, rest) = if line[name_end..].starts_with('{') {
            parse_labels(&line[name_end..])
        } else {
            (Labels::new(), &line[name_end..])
        };
        let mut fields = rest
            .strip_prefix(' ')
            .expect("no space before value")
            .split(' ');
        let value = parse_value(fields.next().unwrap());
        if let Some(ts) = fields.next() {
            ts.parse::<i64>().expect("bad timestamp");
        }
        assert!(fields.next().is_none(), "junk after sample: {line:?}");
        let (fam, kind) = family.as_ref().expect("sample before any TYPE");
        let belongs = name == fam
            || (kind == "histogram"
                && [
                    format!("{fam}_bucket"),
                    format!("{fam}_sum"),
                    format!("{fam}_count"),
                ]
                .iter()
                .any(|n| n == name));
        assert!(belongs, "sample {name} outside its family {fam}");
        if kind == "counter" {
            assert!(value >= 0.0, "negative counter {line:?}");
        }
        if name.ends_with("_bucket") {
            assert!(labels.contains_key("le"), "bucket without le: {line:?}");
        }
        assert!(
            samples.insert((name.to_string(), labels), value).is_none(),
            "duplicate series {line:?}"
        );
    }
    check_histograms(&samples, &types);
    Scrape { samples, types }
}

fn check_histograms(samples: &HashMap<(String, Labels), f64>, types: &HashMap<String, String>) {
    for (fam, _) in types.iter().filter(|(_, k)| *k == "histogram") {
        let bucket_name = format!("{fam}_bucket");
        let mut series: BTreeMap<Labels, Vec<(f64, f64)>> = BTreeMap::new();
        for ((name, labels), v) in samples {
            if *name == bucket_name {
                let mut base = labels.clone();
                let le = parse_value(&base.remove("le").unwrap());
                series.entry(base).or_default().push((le, *v));
            }
        }
        assert!(!series.is_empty(), "histogram {fam} has no buckets");
        for (labels, mut buckets) in series {
            buckets.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
            assert!(
                buckets.windows(2).all(|w| w[0].1 <= w[1].1),
                "{fam}{labels:?} buckets not cumulative"
            );
            let (last_le, last) = *buckets.last().unwrap();
            assert_eq!(last_le, f64::INFINITY, "{fam}{labels:?} has no +Inf bucket");
            let count = samples[&(format!("{fam}_count"), labels.clone())];
            assert_eq!(last, count, "{fam}{labels:?}: +Inf bucket != _count");
            assert!(samples.contains_key(&(format!("{fam}_sum"), labels.clone())));
        }
    }
}

fn scrape(broker: &Broker) -> Scrape {
    let (status, body) = broker.admin_get("/metrics");
    assert_eq!(status, 200);
    parse(&body)
}

#[test]
fn counters_move_by_exactly_what_was_produced_and_fetched() {
    let broker = Broker::start(&temp_dir("metrics-counters"), &[]);
    let mut conn = broker.conn();
    assert_eq!(create_topic(&mut conn, "metered", 1, &[]), 0);
    let part = [("topic", "metered"), ("partition", "0")];
    let produce_api = [("api", "Produce")];
    let fetch_api = [("api", "Fetch")];

    let before = scrape(&broker);
    assert_eq!(before.types["shardlog_partition_bytes_in_total"], "counter");
    assert_eq!(
        before.value("shardlog_partition_records_in_total", &part),
        0.0
    );
    assert_eq!(
        before.value(
            "shardlog_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );
    assert_eq!(
        before.value("shardlog_under_replicated_partitions", &[]),
        0.0
    );

    // Three acks=all produce requests of 5 records each.
    let mut bytes = 0u64;
    for i in 0..3u64 {
        let batch = batch_of(i * 5..i * 5 + 5, 1);
        bytes += batch.len() as u64;
        assert_eq!(produce(&mut conn, "metered", 0, -1, batch).0, 0);
    }
    let after = scrape(&broker);
    let delta = |name: &str, labels: &[(&str, &str)]| {
        after.value(name, labels) - before.get(name, labels).unwrap_or(0.0)
    };
    assert_eq!(delta("shardlog_partition_records_in_total", &part), 15.0);
    assert_eq!(
        delta("shardlog_partition_bytes_in_total", &part),
        bytes as f64
    );
    assert_eq!(delta("shardlog_requests_total", &produce_api), 3.0);
    assert_eq!(
        delta("shardlog_request_duration_seconds_count", &produce_api),
        3.0
    );
    assert!(
        delta("shardlog_fsync_duration_seconds_count", &[]) >= 1.0,
        "acks=all produce must fsync"
    );
    assert_eq!(delta("shardlog_partition_bytes_out_total", &part), 0.0);
    assert!(after
        .get(
            "shardlog_request_errors_total",
            &[("api", "Produce"), ("error_code", "3")]
        )
        .is_none());
    let open: f64 = ["0", "1"]
        .iter()
        .map(|s| after.value("shardlog_connections_open", &[("shard", s)]))
        .sum();
    assert!(open >= 1.0, "our connection is open");
    // Handled requests are no longer in flight.
    for s in ["0", "1"] {
        assert_eq!(
            after.value("shardlog_produce_in_flight", &[("shard", s)]),
            0.0
        );
    }

    // One fetch of everything sends every byte and record once.
    let fetched = fetch(&mut conn, "metered", 0, 0, 0);
    assert_eq!(fetched.error_code, 0);
    assert_eq!(fetched.records.len() as u64, bytes);
    let end = scrape(&broker);
    let delta = |name: &str, labels: &[(&str, &str)]| {
        end.value(name, labels) - after.get(name, labels).unwrap_or(0.0)
    };
    assert_eq!(
        delta("shardlog_partition_bytes_out_total", &part),
        bytes as f64
    );
    assert_eq!(delta("shardlog_partition_records_out_total", &part), 15.0);
    assert_eq!(delta("shardlog_requests_total", &fetch_api), 1.0);
    assert_eq!(delta("shardlog_partition_records_in_total", &part), 0.0);

    // A fetch limited to one batch and a byte of the next sends those bytes but only the whole
    // batch's records.
    let first_len = batch_of(0..5, 1).len() as i32;
    let mut p = kafka_protocol::messages::fetch_request::FetchPartition::default();
    p.partition = 0;
    p.fetch_offset = 0;
    p.partition_max_bytes = first_len + 1;
    let mut t = kafka_protocol::messages::fetch_request::FetchTopic::default();
    t.topic = topic_name("metered");
    t.partitions = vec![p];
    let mut req = FetchRequest::default();
    req.replica_id = BrokerId(-1);
    req.min_bytes = 1;
    req.max_bytes = 1 << 20;
    req.topics = vec![t];
    let resp: FetchResponse = conn.request(ApiKey::Fetch, 12, &req);
    let sent = resp.responses[0].partitions[0]
        .records
        .as_ref()
        .unwrap()
        .len();
    assert_eq!(sent, first_len as usize + 1);
    let partial = scrape(&broker);
    let delta = |name: &str| partial.value(name, &part) - end.value(name, &part);
    assert_eq!(delta("shardlog_partition_bytes_out_total"), sent as f64);
    assert_eq!(delta("shardlog_partition_records_out_total"), 5.0);

    // An error answer is counted per API and error code: partition 7 does not exist (3 =
    // UNKNOWN_TOPIC_OR_PARTITION).
    assert_eq!(produce(&mut conn, "metered", 7, 1, batch_of(0..1, 1)).0, 3);
    let errors = scrape(&broker);
    assert_eq!(
        errors.value(
            "shardlog_request_errors_total",
            &[("api", "Produce"), ("error_code", "3")]
        ),
        1.0
    );
    assert_eq!(
        errors.value("shardlog_requests_total", &produce_api)
            - end.value("shardlog_requests_total", &produce_api),
        1.0
    );

    // Other APIs' codes too: deleting a topic that does not exist answers 3 for it.
    let mut req = DeleteTopicsRequest::default();
    req.topic_names = vec![topic_name("never-created")];
    req.timeout_ms = 10_000;
    let resp: DeleteTopicsResponse = conn.request(ApiKey::DeleteTopics, 4, &req);
    assert_eq!(resp.responses[0].error_code, 3);
    let s = scrape(&broker);
    let delete = [("api", "DeleteTopics"), ("error_code", "3")];
    assert_eq!(s.value("shardlog_request_errors_total", &delete), 1.0);
}

#[test]
fn executor_stats_are_exported_per_shard() {
    let broker = Broker::start(&temp_dir("metrics-shards"), &[]);
    // glommio's stats are folded in once a second.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = scrape(&broker);
        let tasks: Vec<f64> = ["0", "1"]
            .iter()
            .map(|shard| s.value("shardlog_shard_tasks_executed_total", &[("shard", shard)]))
            .collect();
        for shard in ["0", "1"] {
            let u = s.value("shardlog_shard_utilisation_ratio", &[("shard", shard)]);
            assert!((0.0..=1.0).contains(&u));
            s.value("shardlog_shard_busy_seconds_total", &[("shard", shard)]);
            s.value("shardlog_shard_idle_seconds_total", &[("shard", shard)]);
            s.value(
                "shardlog_io_uring_files_opened_total",
                &[("shard", shard), ("ring", "main")],
            );
        }
        if tasks.iter().all(|&t| t > 0.0) {
            break;
        }
        assert!(Instant::now() < deadline, "no executor stats: {tasks:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn health_and_ready_answer() {
    let broker = Broker::start(&temp_dir("metrics-health"), &[]);
    assert_eq!(broker.admin_get("/health").0, 200);
    // Every shard binds its listener independently; the harness saw one answer, so allow the others
    // a moment.
    let deadline = Instant::now() + Duration::from_secs(10);
    while broker.admin_get("/ready").0 != 200 {
        assert!(Instant::now() < deadline, "/ready never became 200");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(broker.admin_get("/nothing-here").0, 404);
}

#[test]
fn consumer_lag_gauge_follows_committed_offsets() {
    let broker = Broker::start(
        &temp_dir("metrics-lag"),
        &["--group-lag-sample-interval-ms", "50"],
    );
    let mut conn = broker.conn();
    assert_eq!(create_topic(&mut conn, "lagged", 1, &[]), 0);
    assert_eq!(produce(&mut conn, "lagged", 0, 1, batch_of(0..10, 1)).0, 0);
    let mut p = OffsetCommitRequestPartition::default();
    p.partition_index = 0;
    p.committed_offset = 4;
    let mut t = OffsetCommitRequestTopic::default();
    t.name = topic_name("lagged");
    t.partitions = vec![p];
    let mut req = OffsetCommitRequest::default();
    req.group_id = GroupId(StrBytes::from_static_str("laggard"));
    req.generation_id_or_member_epoch = -1;
    req.topics = vec![t];
    let resp: OffsetCommitResponse = conn.request(ApiKey::OffsetCommit, 8, &req);
    assert_eq!(resp.topics[0].partitions[0].error_code, 0);

    let labels = [
        ("group", "laggard"),
        ("topic", "lagged"),
        ("partition", "0"),
    ];
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = scrape(&broker);
        assert_eq!(s.types["shardlog_consumer_group_lag"], "gauge");
        if s.get("shardlog_consumer_group_lag", &labels) == Some(6.0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "lag gauge never showed 6: {:?}",
            s.get("shardlog_consumer_group_lag", &labels)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
