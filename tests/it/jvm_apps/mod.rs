//! Long-running JVM applications for the acceptance tests (tests/it/streams.rs, tests/it/connect.rs,
//! tests/it/mirror_maker.rs): a child process whose stdout and stderr go to files in the test's temp dir
//! (never to a pipe nobody drains), killed when its guard drops (a failed test leaves nothing running),
//! stopped gracefully with SIGTERM; bounded waits with a clear failure message; a tiny HTTP/1.1 client
//! for Connect's REST API; reading a whole topic partition as (offset, key, value).

use crate::common::{api, decode_keyed, repo_root, Broker, Conn};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The broker a test runs against: a shardlog it starts, or, to validate the test itself, a real Kafka
/// named by `SHARDLOG_TEST_KAFKA_BOOTSTRAP` (e.g. one from `perf/kafka/kafka.sh start 39092 /tmp/k`).
pub enum Target {
    Shardlog(Broker),
    Kafka(String),
}

impl Target {
    pub fn start(data_dir: &Path) -> Target {
        Self::start_or_env(data_dir, "SHARDLOG_TEST_KAFKA_BOOTSTRAP")
    }

    /// `start`, with the real Kafka's address in `env_var`.
    pub fn start_or_env(data_dir: &Path, env_var: &str) -> Target {
        match std::env::var(env_var) {
            Ok(bootstrap) => {
                eprintln!("running against the Kafka at {bootstrap}, not a shardlog");
                Target::Kafka(bootstrap)
            }
            Err(_) => Target::Shardlog(Broker::start(data_dir, &[])),
        }
    }

    pub fn addr(&self) -> String {
        match self {
            Target::Shardlog(b) => b.addr(),
            Target::Kafka(bootstrap) => bootstrap.clone(),
        }
    }

    pub fn conn(&self) -> Conn {
        Conn::connect(&self.addr())
    }

    /// A suffix for topic, group and application names: empty on a fresh shardlog, unique on a
    /// long-lived Kafka.
    pub fn tag(&self) -> String {
        match self {
            Target::Shardlog(_) => String::new(),
            Target::Kafka(_) => format!("-{}", std::process::id()),
        }
    }

    /// Where to look after a failure.
    pub fn describe(&self) -> String {
        match self {
            Target::Shardlog(b) => format!("broker log: {}", b.log_path().display()),
            Target::Kafka(bootstrap) => format!("real Kafka at {bootstrap}"),
        }
    }
}

/// The path of a driver script under tests/clients/, asserting its build output exists.
pub fn client_script(client: &str, script: &str, built: &str) -> PathBuf {
    let dir = repo_root().join("tests/clients").join(client);
    assert!(
        dir.join(built).exists(),
        "{} not built: run `bash {}` (tests/run.sh does)",
        dir.display(),
        dir.join("build.sh").display()
    );
    dir.join(script)
}

/// A running child process with its output in `<dir>/<name>.out` and `<dir>/<name>.err`.
pub struct App {
    pub name: String,
    child: Option<Child>,
    pub stdout_path: PathBuf,
    pub stderr_path: PathBuf,
}

impl App {
    /// Spawns `cmd`; stdout and stderr are appended to files named after `name` in `dir`.
    pub fn spawn(name: &str, mut cmd: Command, dir: &Path) -> App {
        let stdout_path = dir.join(format!("{name}.out"));
        let stderr_path = dir.join(format!("{name}.err"));
        let open = |p: &Path| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .unwrap_or_else(|e| panic!("open {}: {e}", p.display()))
        };
        // SAFETY: prctl is async-signal-safe; the child dies with the test thread that owns it, so an
        // aborted test never leaves a JVM running.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::from(open(&stdout_path)))
            .stderr(Stdio::from(open(&stderr_path)))
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        App {
            name: name.to_string(),
            child: Some(child),
            stdout_path,
            stderr_path,
        }
    }

    /// Its exit status, if it has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.as_mut().and_then(|c| c.try_wait().unwrap())
    }

    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout_path).unwrap_or_default()
    }

    /// The last `lines` lines of its stdout and stderr, and where the whole files are.
    pub fn describe(&self, lines: usize) -> String {
        let tail = |p: &Path| {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        };
        format!(
            "--- {} stdout ({}), last {lines} lines:\n{}\n--- {} stderr ({}), last {lines} lines:\n{}",
            self.name,
            self.stdout_path.display(),
            tail(&self.stdout_path),
            self.name,
            self.stderr_path.display(),
            tail(&self.stderr_path)
        )
    }

    /// Panics (with its output) if it has exited.
    pub fn assert_running(&mut self) {
        if let Some(status) = self.exited() {
            panic!("{} exited with {status}\n{}", self.name, self.describe(60));
        }
    }

    /// SIGTERM and wait up to `timeout` for it to exit (then SIGKILL and panic). A JVM that ran its
    /// shutdown hooks on SIGTERM exits with 143; both that and 0 count as a clean stop.
    pub fn stop_gracefully(&mut self, timeout: Duration) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "{} did not exit within {timeout:?} of SIGTERM\n{}",
                    self.name,
                    self.describe(60)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        assert!(
            status.success() || status.code() == Some(143),
            "{} exited with {status} after SIGTERM\n{}",
            self.name,
            self.describe(60)
        );
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for App {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Calls `check` every `every` until it returns `Ok`, for at most `timeout`; then panics with `what`
/// and the last `Err` message. `check` may panic itself to fail at once.
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    every: Duration,
    mut check: impl FnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        match check() {
            Ok(v) => return v,
            Err(last) => {
                if Instant::now() > deadline {
                    panic!("timed out after {timeout:?} waiting for {what}; last state: {last}");
                }
            }
        }
        std::thread::sleep(every);
    }
}

/// One HTTP/1.1 request (`Connection: close`) with an optional JSON body: (status, body).
pub fn http(
    addr: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let body = body.unwrap_or("");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nAccept: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let raw = String::from_utf8_lossy(&raw).to_string();
    let Some((head, rest)) = raw.split_once("\r\n\r\n") else {
        return Err(std::io::Error::other(format!("no HTTP header in {raw:?}")));
    };
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line in {head:?}")))?;
    let chunked = head
        .lines()
        .any(|l| l.to_ascii_lowercase().replace(' ', "") == "transfer-encoding:chunked");
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    Ok((status, body))
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.split(';').next().unwrap().trim(), 16) else {
            break;
        };
        if size == 0 || after.len() < size {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    out
}

/// A partition's records, each as (offset, key, value).
pub type Records = Vec<(i64, String, Option<String>)>;

/// Every record of one partition from offset 0 to the high watermark.
pub fn read_partition(conn: &mut Conn, topic: &str, partition: i32) -> Records {
    try_read_partition(conn, topic, partition)
        .unwrap_or_else(|e| panic!("fetch {topic}/{partition} failed with error {e}"))
}

/// `read_partition`, or the error code of the first fetch that failed (3: no such topic yet).
pub fn try_read_partition(conn: &mut Conn, topic: &str, partition: i32) -> Result<Records, i16> {
    let mut out = Vec::new();
    let mut next = 0;
    loop {
        let f = api::fetch(conn, topic, partition, next, 0);
        if f.error_code != 0 {
            return Err(f.error_code);
        }
        if next >= f.high_watermark {
            break;
        }
        let records = decode_keyed(f.records);
        match records.last() {
            Some(&(last, _, _)) => next = last + 1,
            None => break,
        }
        out.extend(records.into_iter().filter(|r| r.0 < f.high_watermark));
        if next >= f.high_watermark {
            break;
        }
    }
    Ok(out)
}

/// The rows of a table printed by one of Kafka's tools (kafka-consumer-groups --describe): each row
/// whose column count matches the header line starting with `first_column`, as column -> value.
pub fn tool_table(out: &str, first_column: &str) -> Vec<std::collections::HashMap<String, String>> {
    let mut header: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    for line in out.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.first() == Some(&first_column) {
            header = cols.iter().map(|c| c.to_string()).collect();
        } else if !header.is_empty() && cols.len() == header.len() {
            rows.push(
                header
                    .iter()
                    .cloned()
                    .zip(cols.iter().map(|c| c.to_string()))
                    .collect(),
            );
        }
    }
    rows
}

/// Produces `records` to one partition with acks=all, retrying while the partition has no leader yet
/// (a real Kafka elects one a moment after CreateTopics); asserts success.
pub fn produce_acked(conn: &mut Conn, topic: &str, partition: i32, records: bytes::Bytes) {
    wait_for(
        &format!("a produce to {topic}/{partition} to succeed"),
        Duration::from_secs(30),
        Duration::from_millis(200),
        || match api::produce(conn, topic, partition, -1, records.clone()) {
            (0, _) => Ok(()),
            // UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE, NOT_LEADER_OR_FOLLOWER: not ready yet.
            (code @ (3 | 5 | 6), _) => Err(format!("error {code}")),
            (code, _) => panic!("produce to {topic}/{partition} failed with error {code}"),
        },
    )
}
