//! Kafka Connect in distributed mode against shardlog (issue 14): a real Connect worker
//! (org.apache.kafka.connect.cli.ConnectDistributed from tests/clients/connect, built by tests/run.sh)
//! keeps its configs, offsets and statuses in its own topics on the broker; the FileStreamSource and
//! FileStreamSink connectors, created through Connect's REST API, copy a file of 100,000 lines into a
//! topic and from it into another file, which must then hold exactly those lines in order. The worker
//! is stopped with SIGTERM (it commits its source offsets and its sink group's offsets), more lines are
//! appended, and the restarted worker must copy exactly the new lines: the source resumes from its
//! committed file position and the sink from its committed offset, so nothing is copied twice.
//!
//! Against a real Kafka, to validate the test itself: `SHARDLOG_TEST_KAFKA_BOOTSTRAP=127.0.0.1:39092`.
//! Every wait is bounded only to turn a hang into a failure; nothing asserts timing. The worker's logs
//! are kept in target/test-data/connect-<pid>/.

use crate::common;
use crate::jvm_apps;

use common::{api, free_port, temp_dir};
use jvm_apps::{client_script, http, wait_for, App, Target};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const FIRST: usize = 100_000;
const MORE: usize = 20_000;

fn line(i: usize) -> String {
    format!(
        "line {i:06} of the connect test, checksum {}",
        i * 7919 % 100_003
    )
}

fn append_lines(path: &Path, range: std::ops::Range<usize>) {
    let mut f = std::io::BufWriter::new(
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap(),
    );
    for i in range {
        writeln!(f, "{}", line(i)).unwrap();
    }
    f.flush().unwrap();
}

struct Worker {
    rest: String,
    properties: PathBuf,
}

impl Worker {
    fn start(&self, dir: &Path, run: usize) -> App {
        let script = client_script("connect", "connect-distributed.sh", "target/lib");
        let mut cmd = Command::new("bash");
        cmd.arg(script).arg(&self.properties);
        let mut app = App::spawn(&format!("connect-run{run}"), cmd, dir);
        wait_for(
            "Connect's REST API to answer",
            Duration::from_secs(90),
            Duration::from_millis(500),
            || {
                app.assert_running();
                match http(&self.rest, "GET", "/", None) {
                    Ok((200, body)) => Ok(body),
                    other => Err(format!("{other:?}")),
                }
            },
        );
        app
    }

    /// PUT /connectors/NAME/config until the worker accepts it (while it joins its group it answers
    /// 409 or 5xx).
    fn put_connector(&self, app: &mut App, name: &str, config: &[(&str, &str)]) {
        let json = config
            .iter()
            .map(|(k, v)| format!("{}:{}", json_string(k), json_string(v)))
            .collect::<Vec<_>>()
            .join(",");
        let path = format!("/connectors/{name}/config");
        wait_for(
            &format!("Connect to accept connector {name}"),
            Duration::from_secs(90),
            Duration::from_millis(500),
            || {
                app.assert_running();
                match http(&self.rest, "PUT", &path, Some(&format!("{{{json}}}"))) {
                    Ok((200 | 201, body)) => Ok(body),
                    other => Err(format!("{other:?}")),
                }
            },
        );
    }

    /// The status of every connector, for failure messages.
    fn statuses(&self) -> String {
        ["file-source", "file-sink"]
            .iter()
            .map(
                |c| match http(&self.rest, "GET", &format!("/connectors/{c}/status"), None) {
                    Ok((code, body)) => format!("{c}: {code} {body}"),
                    Err(e) => format!("{c}: {e}"),
                },
            )
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Waits until the sink file holds exactly lines 0..n; fails at once if it holds a wrong line or more
/// lines than that (a duplicate or a gap).
fn wait_for_sink(sink: &Path, n: usize, app: &mut App, worker: &Worker, target: &Target) {
    wait_for(
        &format!("the sink file to hold {n} lines"),
        Duration::from_secs(150),
        Duration::from_millis(500),
        || {
            app.assert_running();
            let text = std::fs::read_to_string(sink).unwrap_or_default();
            // Only whole lines: the sink may be mid-write.
            let whole = text.rfind('\n').map_or("", |end| &text[..end]);
            let lines: Vec<&str> = whole.lines().collect();
            if let Some(i) = (0..lines.len()).find(|&i| i >= n || lines[i] != line(i)) {
                panic!(
                    "sink file {} line {} is {:?}, want {:?} ({} lines so far, want {n})\n{}\n{}\n({})",
                    sink.display(),
                    i + 1,
                    lines[i],
                    (i < n).then(|| line(i)),
                    lines.len(),
                    worker.statuses(),
                    app.describe(40),
                    target.describe()
                );
            }
            if lines.len() == n {
                Ok(())
            } else {
                Err(format!(
                    "{} of {n} lines\n{}",
                    lines.len(),
                    worker.statuses()
                ))
            }
        },
    );
}

#[test]
fn connect_distributed_copies_a_file_through_a_topic_exactly_across_a_restart() {
    let _heavy = common::heavy_test();
    let dir = temp_dir("connect");
    let target = Target::start(&dir.join("broker"));
    let tag = target.tag();
    let topic = format!("file-lines{tag}");
    let mut conn = target.conn();
    // One partition: the sink sees the lines in file order.
    assert_eq!(
        api::create_topic(&mut conn, &topic, 1, &[]),
        0,
        "create {topic}"
    );

    let source = dir.join("source.txt");
    let sink = dir.join("sink.txt");
    append_lines(&source, 0..FIRST);

    let rest = format!("127.0.0.1:{}", free_port());
    let properties = dir.join("worker.properties");
    std::fs::write(
        &properties,
        format!(
            "bootstrap.servers={bootstrap}\n\
             group.id=connect-cluster{tag}\n\
             key.converter=org.apache.kafka.connect.storage.StringConverter\n\
             value.converter=org.apache.kafka.connect.storage.StringConverter\n\
             config.storage.topic=connect-configs{tag}\n\
             offset.storage.topic=connect-offsets{tag}\n\
             status.storage.topic=connect-status{tag}\n\
             config.storage.replication.factor=1\n\
             offset.storage.replication.factor=1\n\
             status.storage.replication.factor=1\n\
             offset.flush.interval.ms=1000\n\
             listeners=http://{rest}\n\
             rest.advertised.host.name=127.0.0.1\n",
            bootstrap = target.addr()
        ),
    )
    .unwrap();
    let worker = Worker { rest, properties };

    let mut app = worker.start(&dir, 1);
    let source_path = source.to_str().unwrap();
    let sink_path = sink.to_str().unwrap();
    worker.put_connector(
        &mut app,
        "file-source",
        &[
            (
                "connector.class",
                "org.apache.kafka.connect.file.FileStreamSourceConnector",
            ),
            ("tasks.max", "1"),
            ("file", source_path),
            ("topic", &topic),
        ],
    );
    worker.put_connector(
        &mut app,
        "file-sink",
        &[
            (
                "connector.class",
                "org.apache.kafka.connect.file.FileStreamSinkConnector",
            ),
            ("tasks.max", "1"),
            ("file", sink_path),
            ("topics", &topic),
        ],
    );
    wait_for_sink(&sink, FIRST, &mut app, &worker, &target);
    let statuses = worker.statuses();
    assert_eq!(
        statuses.matches("\"state\":\"RUNNING\"").count(),
        4,
        "both connectors and their tasks must be RUNNING:\n{statuses}"
    );
    app.stop_gracefully(Duration::from_secs(90));

    // More lines while no worker runs; the restarted worker copies exactly those.
    append_lines(&source, FIRST..FIRST + MORE);
    let mut app = worker.start(&dir, 2);
    wait_for_sink(&sink, FIRST + MORE, &mut app, &worker, &target);
    app.stop_gracefully(Duration::from_secs(90));
    // Stopped: nothing more may have arrived after the count matched.
    let text = std::fs::read_to_string(&sink).unwrap();
    assert_eq!(
        text.lines().count(),
        FIRST + MORE,
        "sink file {} after the worker stopped",
        sink.display()
    );
    eprintln!(
        "connect: {} lines copied; logs in {}",
        FIRST + MORE,
        dir.display()
    );
}
