//! Kafka Streams against shardlog (issue 14): a real Kafka Streams 4.4 application
//! (tests/clients/streams, built by tests/run.sh) whose topology has a groupBy (repartition topic), a
//! count (KTable with its changelog topic) and a tumbling-window aggregate (windowed changelog), with
//! the default at_least_once guarantee and internal topics created by Streams itself.
//!
//! The test produces a known input (key = user, value = word, timestamps in three one-minute windows),
//! runs the app until its output topics hold the expected final values, and checks them exactly (the
//! record cache is off, so every update reaches the output and the last value per key is final). Then it
//! stops the app (SIGTERM: close() commits), deletes its local state directory, produces more input and
//! starts it again with the same application.id: the app must restore both stores from their changelogs
//! (it reports each restored store partition) and continue the counts and window sums from the previous
//! totals, not from zero.
//!
//! Against a real Kafka, to validate the test itself: `SHARDLOG_TEST_KAFKA_BOOTSTRAP=127.0.0.1:39092`
//! (names get a unique suffix; no shardlog is started).
//!
//! Every wait is bounded only to turn a hang into a failure; nothing asserts timing. The app's stdout
//! (its events) and stderr (logs) are kept in target/test-data/streams-<pid>/.

use crate::common;
use crate::jvm_apps;

use common::{api, kafka_tool, keyed_batch, temp_dir, txn_clients, Conn};
use jvm_apps::{client_script, produce_acked, read_partition, wait_for, App, Target};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const USERS: [&str; 4] = ["ann", "bob", "cyd", "dee"];
const WORDS: [&str; 7] = [
    "kafka", "streams", "log", "shard", "count", "window", "table",
];
const WINDOW_MS: i64 = 60_000;
/// Records 0..PHASE1 go in before the first run, PHASE1..TOTAL before the second.
const PHASE1: usize = 600;
const TOTAL: usize = 900;

/// Input record `i`: (user, word, window index). Users go to partition `user index % 2`, so the
/// per-user windowed aggregate (groupByKey: no repartition) sees each user on one task. Records
/// 500..750 fall in window 2, which the restart splits: its sums must continue across it.
fn record(i: usize) -> (&'static str, &'static str, i64) {
    (USERS[i % 4], WORDS[(i * 3 + i / 7) % 7], (i / 250) as i64)
}

/// The application id and topic names (suffixed with the target's tag).
struct Names {
    app_id: String,
    input: String,
    counts: String,
    windowed: String,
}

impl Names {
    fn new(tag: &str) -> Names {
        Names {
            app_id: format!("wordstats{tag}"),
            input: format!("words{tag}"),
            counts: format!("word-counts-out{tag}"),
            windowed: format!("user-window-sums-out{tag}"),
        }
    }
}

struct Expected {
    counts: BTreeMap<String, String>,
    window_sums: BTreeMap<String, String>,
}

fn expected(upto: usize, base: i64) -> Expected {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut sums: BTreeMap<String, u64> = BTreeMap::new();
    for i in 0..upto {
        let (user, word, window) = record(i);
        *counts.entry(word.to_string()).or_default() += 1;
        *sums
            .entry(format!("{user}@{}", base + window * WINDOW_MS))
            .or_default() += word.len() as u64;
    }
    let text = |m: BTreeMap<String, u64>| m.into_iter().map(|(k, v)| (k, v.to_string())).collect();
    Expected {
        counts: text(counts),
        window_sums: text(sums),
    }
}

/// Produces input records `range` with acks=all, one batch per (partition, window) in record order;
/// each batch's timestamp lies inside its window, starting at `base`.
fn produce_input(conn: &mut Conn, topic: &str, range: std::ops::Range<usize>, base: i64) {
    type Batch<'a> = Vec<(&'a str, Option<&'a str>)>;
    let mut batches: BTreeMap<(i32, i64), Batch> = BTreeMap::new();
    for i in range {
        let (user, word, window) = record(i);
        let partition = (USERS.iter().position(|u| *u == user).unwrap() % 2) as i32;
        batches
            .entry((partition, window))
            .or_default()
            .push((user, Some(word)));
    }
    for ((partition, window), records) in batches {
        let ts = base + window * WINDOW_MS + 1_000;
        produce_acked(conn, topic, partition, keyed_batch(&records, ts));
    }
}

/// An output topic's records: (offset, key, value).
type Output = Vec<(i64, String, String)>;

/// The last value per key of a one-partition output topic, and all its records.
fn last_values(conn: &mut Conn, topic: &str) -> (BTreeMap<String, String>, Output) {
    let records: Output = read_partition(conn, topic, 0)
        .into_iter()
        .map(|(o, k, v)| (o, k, v.unwrap_or_default()))
        .collect();
    let last = records
        .iter()
        .map(|(_, k, v)| (k.clone(), v.clone()))
        .collect();
    (last, records)
}

fn start_app(target: &Target, names: &Names, dir: &Path, run: usize) -> App {
    start_app_with(target, names, dir, run, &[])
}

/// `start_app` with extra `--property K=V` Streams settings.
fn start_app_with(
    target: &Target,
    names: &Names,
    dir: &Path,
    run: usize,
    properties: &[&str],
) -> App {
    let script = client_script(
        "streams",
        "run.sh",
        "target/classes/shardlog/StreamsCheck.class",
    );
    let mut cmd = Command::new("bash");
    cmd.arg(script)
        .args(["--bootstrap", &target.addr()])
        .args(["--application-id", &names.app_id])
        .args(["--input", &names.input, "--counts-output", &names.counts])
        .args(["--windowed-output", &names.windowed])
        .arg("--state-dir")
        .arg(dir.join("state"));
    for p in properties {
        cmd.args(["--property", p]);
    }
    App::spawn(&format!("streams-run{run}"), cmd, dir)
}

/// Waits until both output topics' last values are exactly `want` (the app failing or exiting fails
/// at once), then returns all records of the counts topic.
fn wait_for_output(
    conn: &mut Conn,
    app: &mut App,
    target: &Target,
    names: &Names,
    want: &Expected,
) -> Output {
    wait_for(
        "the Streams app's output to reach the expected final values",
        Duration::from_secs(150),
        Duration::from_millis(500),
        || {
            let events = app.stdout();
            if let Some(error) = events.lines().find(|l| l.starts_with("error ")) {
                panic!(
                    "Streams app failed: {error}\n{}\n({})",
                    app.describe(80),
                    target.describe()
                );
            }
            app.assert_running();
            let (counts, records) = last_values(conn, &names.counts);
            let (sums, _) = last_values(conn, &names.windowed);
            if counts == want.counts && sums == want.window_sums {
                Ok(records)
            } else {
                Err(format!(
                    "counts {counts:?} (want {:?}); window sums {sums:?} (want {:?}); app events:\n{events}",
                    want.counts, want.window_sums
                ))
            }
        },
    )
}

/// (store, records restored) summed over the `restored STORE TOPIC-PARTITION N` events.
fn restored(events: &str) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for l in events.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() == 4 && f[0] == "restored" {
            *out.entry(f[1].to_string()).or_default() += f[3].parse::<u64>().unwrap();
        }
    }
    out
}

#[test]
fn streams_app_counts_windows_and_restores_its_stores_from_changelogs() {
    let _heavy = common::heavy_test();
    let dir = temp_dir("streams");
    let target = Target::start(&dir.join("broker"));
    let names = Names::new(&target.tag());
    let mut conn = target.conn();
    for (topic, partitions) in [(&names.input, 2), (&names.counts, 1), (&names.windowed, 1)] {
        assert_eq!(
            api::create_topic(&mut conn, topic, partitions, &[]),
            0,
            "create {topic}"
        );
    }
    // Event times an hour ago (well inside every retention and the 2 h grace), window-aligned.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let base = (now - 3_600_000) / WINDOW_MS * WINDOW_MS;

    // Run 1: the first part of the input.
    produce_input(&mut conn, &names.input, 0..PHASE1, base);
    let first = expected(PHASE1, base);
    let mut app = start_app(&target, &names, &dir, 1);
    wait_for_output(&mut conn, &mut app, &target, &names, &first);
    let events = app.stdout();
    assert!(
        events.contains("config processing.guarantee=at_least_once"),
        "the app must run with the default at_least_once guarantee:\n{events}"
    );
    app.stop_gracefully(Duration::from_secs(90));
    assert!(app.stdout().contains("\nclosed"), "{}", app.describe(40));
    // Stopped: nothing more may have arrived (no double counting after the values matched).
    let (counts, counts_records) = last_values(&mut conn, &names.counts);
    let (sums, _) = last_values(&mut conn, &names.windowed);
    assert_eq!(counts, first.counts, "word counts after run 1 stopped");
    assert_eq!(sums, first.window_sums, "window sums after run 1 stopped");
    let run1_end = counts_records.last().map_or(0, |r| r.0 + 1);

    // Streams created its internal topics itself: the repartition topic and both changelogs.
    let (ok, topics, stderr) = kafka_tool(&target.addr(), "TopicCommand", &["--list"]);
    assert!(ok, "kafka-topics --list failed:\n{topics}\n{stderr}");
    let app_id = &names.app_id;
    for internal in [
        format!("{app_id}-by-word-repartition"),
        format!("{app_id}-word-counts-changelog"),
        format!("{app_id}-user-window-sums-changelog"),
    ] {
        assert!(
            topics.lines().any(|t| t.trim() == internal),
            "internal topic {internal} missing; topics:\n{topics}"
        );
    }

    // Run 2: no local state, more input; the same application.id must restore from the changelogs.
    std::fs::remove_dir_all(dir.join("state")).unwrap();
    produce_input(&mut conn, &names.input, PHASE1..TOTAL, base);
    let all = expected(TOTAL, base);
    let mut app = start_app(&target, &names, &dir, 2);
    let counts_records = wait_for_output(&mut conn, &mut app, &target, &names, &all);
    let events = app.stdout();
    let restored = restored(&events);
    for store in ["word-counts", "user-window-sums"] {
        assert!(
            restored.get(store).copied().unwrap_or(0) > 0,
            "store {store} was not restored from its changelog (restored: {restored:?}); events:\n{events}"
        );
    }
    // The first update of each word in run 2 continues from its run-1 total.
    for word in WORDS {
        let run1: u64 = first.counts[word].parse().unwrap();
        let next = counts_records
            .iter()
            .find(|(o, k, _)| *o >= run1_end && k == word)
            .map(|(_, _, v)| v.clone());
        assert_eq!(
            next,
            Some((run1 + 1).to_string()),
            "word {word}: run 2's first count must continue from run 1's {run1}"
        );
    }
    app.stop_gracefully(Duration::from_secs(90));
    let (counts, _) = last_values(&mut conn, &names.counts);
    let (sums, _) = last_values(&mut conn, &names.windowed);
    assert_eq!(counts, all.counts, "word counts after run 2 stopped");
    assert_eq!(sums, all.window_sums, "window sums after run 2 stopped");
    eprintln!(
        "streams: restored {restored:?}; output in {}",
        dir.display()
    );
}

/// The committed (read_committed) records of a one-partition output topic, as (key, value) in order.
fn committed_output(target: &Target, topic: &str) -> Vec<(String, String)> {
    txn_clients::read_records(&target.addr(), topic, "read_committed", &target.describe())
        .into_values()
        .flatten()
        .map(|(_, k, v)| (k, v))
        .collect()
}

/// Kafka Streams with `processing.guarantee=exactly_once_v2` (transactions underneath: its producer
/// commits output, changelog writes and input offsets together): killed with SIGKILL in the middle of
/// processing and started again, it counts every word exactly once. The committed output of each word
/// is exactly 1, 2, …, n — a word counted twice would repeat a count or skip one — and its final
/// values are the exact totals.
#[test]
fn streams_exactly_once_counts_every_word_once_across_a_kill() {
    let _heavy = common::heavy_test();
    let dir = temp_dir("streams-eos");
    let target = Target::start(&dir.join("broker"));
    let names = Names::new(&format!("-eos{}", target.tag()));
    let mut conn = target.conn();
    for (topic, partitions) in [(&names.input, 2), (&names.counts, 1), (&names.windowed, 1)] {
        assert_eq!(
            api::create_topic(&mut conn, topic, partitions, &[]),
            0,
            "create {topic}"
        );
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let base = (now - 3_600_000) / WINDOW_MS * WINDOW_MS;
    // A long commit interval keeps a transaction open while records are processed: the kill lands
    // inside one.
    let eos = [
        "processing.guarantee=exactly_once_v2",
        "commit.interval.ms=2000",
    ];

    produce_input(&mut conn, &names.input, 0..PHASE1, base);
    let mut app = start_app_with(&target, &names, &dir, 1, &eos);
    wait_for(
        "the first input counted and committed",
        Duration::from_secs(150),
        Duration::from_millis(500),
        || {
            app.assert_running();
            let last: BTreeMap<String, String> = committed_output(&target, &names.counts)
                .into_iter()
                .collect();
            if last == expected(PHASE1, base).counts {
                Ok(())
            } else {
                Err(format!("committed counts {last:?}"))
            }
        },
    );
    assert!(
        app.stdout()
            .contains("config processing.guarantee=exactly_once_v2"),
        "{}",
        app.describe(20)
    );
    // More input; once the app has written some of its output (not yet committed), SIGKILL.
    let (_, before) = last_values(&mut conn, &names.counts);
    produce_input(&mut conn, &names.input, PHASE1..TOTAL, base);
    wait_for(
        "the app writing output for the new input",
        Duration::from_secs(60),
        Duration::from_millis(20),
        || {
            let (_, now) = last_values(&mut conn, &names.counts);
            (now.len() > before.len())
                .then_some(())
                .ok_or_else(|| "no new output yet".to_string())
        },
    );
    app.kill();

    // Started again (same state dir and application.id): the killed instance's transaction is
    // aborted and its input processed again, once.
    let mut app = start_app_with(&target, &names, &dir, 2, &eos);
    let all = expected(TOTAL, base);
    let output = wait_for(
        "the counts to reach their exact totals",
        Duration::from_secs(150),
        Duration::from_millis(500),
        || {
            app.assert_running();
            let output = committed_output(&target, &names.counts);
            let last: BTreeMap<String, String> = output.iter().cloned().collect();
            if last == all.counts {
                Ok(output)
            } else {
                Err(format!("committed counts {last:?}, want {:?}", all.counts))
            }
        },
    );
    let sums: BTreeMap<String, String> = committed_output(&target, &names.windowed)
        .into_iter()
        .collect();
    assert_eq!(sums, all.window_sums, "window sums");
    for word in WORDS {
        let counts: Vec<u64> = output
            .iter()
            .filter(|(k, _)| k == word)
            .map(|(_, v)| v.parse().unwrap())
            .collect();
        let total: u64 = all.counts[word].parse().unwrap();
        assert_eq!(
            counts,
            (1..=total).collect::<Vec<_>>(),
            "word {word}: committed counts must be 1..={total}, each once"
        );
    }
    app.stop_gracefully(Duration::from_secs(90));
}
