//! Test harness: a real `shardlog` process on a free port with its own data directory, and a small
//! blocking Kafka-protocol connection (kafka-protocol codecs over a std TcpStream) for tests that need
//! exact control of what goes on the wire.

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Tests that run several client processes or JVM applications at once (consumer-group members, Kafka
/// Streams, Connect, MirrorMaker 2, the 3-node fault checker) hold this guard, so at most one of them runs
/// at a time: all tests share one binary, and two such tests on a 2-core machine starve each other's
/// bounded waits. Lighter tests still run beside them.
pub fn heavy_test() -> MutexGuard<'static, ()> {
    static HEAVY: Mutex<()> = Mutex::new(());
    HEAVY.lock().unwrap_or_else(|e| e.into_inner())
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh, empty directory under the target dir (kept after the test for post-mortems).
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = repo_root()
        .join("target")
        .join("test-data")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A port nobody listens on, never handed out twice in this process: a broker being restarted keeps
/// its port, and another test must not grab it in the gap.
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap();
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

pub struct Broker {
    child: Option<Child>,
    pub port: u16,
    /// The admin HTTP endpoint's port (`--admin-listen`): /metrics, /health, /ready.
    pub admin_port: u16,
    pub data_dir: PathBuf,
    args: Vec<String>,
    envs: Vec<(String, String)>,
}

impl Broker {
    /// Starts a broker with 2 shards on a free port; `args` are extra `serve` flags.
    pub fn start(data_dir: &Path, args: &[&str]) -> Broker {
        Self::start_with_env(data_dir, args, &[])
    }

    /// `start` with extra environment variables (e.g. `SHARDLOG_*` settings).
    pub fn start_with_env(data_dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Broker {
        Self::start_on(data_dir, free_port(), args, envs)
    }

    /// `start_with_env` on a port chosen by the caller (from `free_port`), for args that must name it,
    /// such as `--listeners` with a PLAINTEXT listener on `port` next to others.
    pub fn start_on(data_dir: &Path, port: u16, args: &[&str], envs: &[(&str, &str)]) -> Broker {
        let mut b = Broker {
            child: None,
            port,
            admin_port: free_port(),
            data_dir: data_dir.to_path_buf(),
            args: args.iter().map(|s| s.to_string()).collect(),
            envs: envs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        b.spawn();
        b
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn admin_addr(&self) -> String {
        format!("127.0.0.1:{}", self.admin_port)
    }

    /// A plain HTTP/1.1 GET to the admin endpoint: (status code, body).
    pub fn admin_get(&self, path: &str) -> (u16, String) {
        let mut s = TcpStream::connect(self.admin_addr()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.admin_addr()
        )
        .unwrap();
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).unwrap();
        let raw = String::from_utf8(raw).unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        let chunked = head
            .lines()
            .any(|l| l.eq_ignore_ascii_case("transfer-encoding: chunked"));
        let body = if chunked {
            dechunk(body)
        } else {
            body.to_string()
        };
        (status, body)
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.data_dir.with_extension("log"))
            .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_shardlog"));
        // SAFETY: prctl is async-signal-safe; it makes the broker die with the test thread that owns it,
        // so a failed or aborted test never leaves a broker running.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd
            .arg("serve")
            .args(["--listen", &self.addr()])
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(self.default_shards())
            .args(["--admin-listen", &self.admin_addr()])
            .args(&self.args)
            // The broker's own default level (info) applies unless a test sets RUST_LOG or --log-level.
            .env_remove("RUST_LOG")
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            // An abort must kill the broker at once, not after a slow backtrace, or a test could miss it.
            .env("RUST_BACKTRACE", "0")
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn shardlog");
        self.child = Some(child);
        // Ready means answering a request: right after a kill -9 the old process's listener can linger
        // (io_uring tears down asynchronously) and accept connections nobody will ever serve.
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.answers_api_versions() {
            assert!(
                Instant::now() < deadline,
                "broker did not start; see {}",
                self.log_path().display()
            );
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "broker exited with {status}; see {}",
                    self.log_path().display()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn answers_api_versions(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(self.addr()) else {
            return false;
        };
        s.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        // ApiVersions v0, correlation id 1, client id "ready".
        let req = [
            0, 0, 0, 15, 0, 18, 0, 0, 0, 0, 0, 1, 0, 5, b'r', b'e', b'a', b'd', b'y',
        ];
        let mut len = [0u8; 4];
        s.write_all(&req).is_ok() && s.read_exact(&mut len).is_ok()
    }

    /// Two shards (so cross-shard paths are exercised) unless the test chose its own count.
    fn default_shards(&self) -> &'static [&'static str] {
        if self.args.iter().any(|a| a == "--shards") {
            &[]
        } else {
            &["--shards", "2"]
        }
    }

    pub fn log_path(&self) -> PathBuf {
        self.data_dir.with_extension("log")
    }

    /// The broker's log so far, without ANSI colour codes.
    pub fn log_text(&self) -> String {
        let raw = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let mut out = String::with_capacity(raw.len());
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    /// SIGKILL: no chance to flush or clean up.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    /// SIGTERM, as an operator or systemd stops it: the broker must exit 0 on its own.
    pub fn stop_gracefully(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SAFETY: kill(2) on our own child's pid.
            unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
            let status = c.wait().unwrap();
            assert!(status.success(), "graceful stop exited with {status}");
        }
    }

    /// SIGSTOP: the process freezes with its sockets open, as a stalled or swapping server does.
    pub fn pause(&self) {
        self.signal(libc::SIGSTOP);
    }

    /// SIGCONT after `pause`.
    pub fn resume(&self) {
        self.signal(libc::SIGCONT);
    }

    fn signal(&self, signal: i32) {
        let child = self.child.as_ref().expect("broker running");
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(child.id() as i32, signal) };
    }

    /// Starts the broker again after a stop, on the same port and data.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "broker still running");
        self.spawn();
    }

    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().unwrap().is_none())
    }

    pub fn conn(&self) -> Conn {
        Conn::connect(&self.addr())
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// The body of a `Transfer-Encoding: chunked` HTTP response.
fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    loop {
        let (size, after) = rest.split_once("\r\n").unwrap();
        let size = usize::from_str_radix(size.split(';').next().unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.push_str(&after[..size]);
        rest = &after[size + 2..];
    }
}

/// A blocking Kafka connection speaking exact versions.
pub struct Conn {
    stream: TcpStream,
    correlation_id: i32,
}

impl Conn {
    pub fn connect(addr: &str) -> Conn {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        stream.set_nodelay(true).unwrap();
        Conn {
            stream,
            correlation_id: 0,
        }
    }

    pub fn send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Reads one response frame (without its length); `Err` if the broker closed the connection.
    pub fn read_frame(&mut self) -> std::io::Result<Bytes> {
        let mut len = [0u8; 4];
        self.stream.read_exact(&mut len)?;
        let mut buf = vec![0u8; i32::from_be_bytes(len) as usize];
        self.stream.read_exact(&mut buf)?;
        Ok(Bytes::from(buf))
    }

    /// True if the broker closed this connection (read returns EOF or reset); false if it sent bytes or
    /// the read timed out with the connection still open.
    pub fn is_closed_by_peer(&mut self) -> bool {
        let mut b = [0u8; 1];
        match self.stream.read(&mut b) {
            Ok(n) => n == 0,
            Err(e) => !matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
        }
    }

    pub fn encode_request<Req: Encodable>(
        &mut self,
        key: ApiKey,
        version: i16,
        req: &Req,
    ) -> Vec<u8> {
        self.correlation_id += 1;
        let mut header = RequestHeader::default();
        header.request_api_key = key as i16;
        header.request_api_version = version;
        header.correlation_id = self.correlation_id;
        header.client_id = Some(StrBytes::from_static_str("shardlog-tests"));
        let mut body = BytesMut::new();
        header
            .encode(&mut body, key.request_header_version(version))
            .unwrap();
        req.encode(&mut body, version).unwrap();
        let mut frame = (body.len() as i32).to_be_bytes().to_vec();
        frame.extend_from_slice(&body);
        frame
    }

    pub fn request<Req: Encodable, Resp: Decodable>(
        &mut self,
        key: ApiKey,
        version: i16,
        req: &Req,
    ) -> Resp {
        let frame = self.encode_request(key, version, req);
        self.send_raw(&frame).unwrap();
        let mut resp = self.read_frame().unwrap();
        let header =
            ResponseHeader::decode(&mut resp, key.response_header_version(version)).unwrap();
        assert_eq!(header.correlation_id, self.correlation_id);
        Resp::decode(&mut resp, version).unwrap()
    }
}

/// An uncompressed v2 batch of records whose values are `value-<n>` for n in `values`.
pub fn batch_of(values: impl IntoIterator<Item = u64>, timestamp: i64) -> Bytes {
    encode_batch(values, timestamp, (-1, -1, -1))
}

/// A batch from idempotent producer `producer_id`/`epoch`, first sequence number `sequence`.
pub fn idempotent_batch(
    values: impl IntoIterator<Item = u64>,
    producer_id: i64,
    epoch: i16,
    sequence: i32,
) -> Bytes {
    encode_batch(values, 1, (producer_id, epoch, sequence))
}

/// `idempotent_batch` with the transactional attribute: part of the producer's open transaction.
pub fn transactional_batch(
    values: impl IntoIterator<Item = u64>,
    producer_id: i64,
    epoch: i16,
    sequence: i32,
) -> Bytes {
    let records = values.into_iter().map(|n| numbered(n, 1));
    encode_records(records, (producer_id, epoch, sequence), true)
}

fn encode_batch(
    values: impl IntoIterator<Item = u64>,
    timestamp: i64,
    producer: (i64, i16, i32),
) -> Bytes {
    encode_records(
        values.into_iter().map(|n| numbered(n, timestamp)),
        producer,
        false,
    )
}

/// Record `n` of the numbered test records: key `key-<n>`, value `value-<n>`.
fn numbered(n: u64, timestamp: i64) -> (Bytes, Option<Bytes>, i64) {
    (
        Bytes::from(format!("key-{n}")),
        Some(Bytes::from(format!("value-{n}"))),
        timestamp,
    )
}

/// One batch of keyed records; a `None` value is a tombstone.
pub fn keyed_batch(records: &[(&str, Option<&str>)], timestamp: i64) -> Bytes {
    let records = records.iter().map(|(key, value)| {
        let value = value.map(|v| Bytes::copy_from_slice(v.as_bytes()));
        (Bytes::copy_from_slice(key.as_bytes()), value, timestamp)
    });
    encode_records(records, (-1, -1, -1), false)
}

/// Every record of a fetched record set as (offset, key, value); a partial last batch is ignored.
pub fn decode_keyed(records: Bytes) -> Vec<(i64, String, Option<String>)> {
    let mut records = whole_batches(records);
    let mut out = Vec::new();
    for set in kafka_protocol::records::RecordBatchDecoder::decode_all(&mut records).unwrap() {
        for r in set.records {
            let text = |b: Bytes| String::from_utf8(b.to_vec()).unwrap();
            out.push((
                r.offset,
                r.key.map(text).unwrap_or_default(),
                r.value.map(text),
            ));
        }
    }
    out
}

/// The prefix of `records` made of whole batches (Kafka may end a fetch with a partial one).
fn whole_batches(records: Bytes) -> Bytes {
    let mut whole = 0;
    while records.len() >= whole + 12 {
        let len =
            12 + i32::from_be_bytes(records[whole + 8..whole + 12].try_into().unwrap()) as usize;
        if whole + len > records.len() {
            break;
        }
        whole += len;
    }
    records.slice(..whole)
}

/// One batch whose record `i` has value `value-<first + i>` and timestamp `timestamps[i]`.
pub fn batch_with_timestamps(first: u64, timestamps: &[i64]) -> Bytes {
    let records = timestamps
        .iter()
        .enumerate()
        .map(|(i, &ts)| numbered(first + i as u64, ts));
    encode_records(records, (-1, -1, -1), false)
}

/// One uncompressed v2 batch of (key, value, timestamp) records from `producer` (id, epoch, first sequence).
fn encode_records(
    records: impl IntoIterator<Item = (Bytes, Option<Bytes>, i64)>,
    producer: (i64, i16, i32),
    transactional: bool,
) -> Bytes {
    let (producer_id, producer_epoch, first_sequence) = producer;
    let records: Vec<Record> = records
        .into_iter()
        .enumerate()
        .map(|(i, (key, value, timestamp))| Record {
            transactional,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id,
            producer_epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // kafka-protocol starts a new batch whenever offset - sequence changes: keep it constant so
            // all records form one batch (a non-idempotent batch then carries base sequence 0, harmless).
            sequence: first_sequence.max(0) + i as i32,
            timestamp,
            key: Some(key),
            value,
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    let opts = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    RecordBatchEncoder::encode(&mut buf, &records, &opts).unwrap();
    buf.freeze()
}

/// Decodes every record in a fetched record set as (offset, value).
/// A partial batch at the end of a fetch (Kafka allows it) is ignored, as clients do.
pub fn decode_values(records: Bytes) -> Vec<(i64, String)> {
    let mut records = whole_batches(records);
    let mut out = Vec::new();
    for set in kafka_protocol::records::RecordBatchDecoder::decode_all(&mut records).unwrap() {
        for r in set.records {
            out.push((
                r.offset,
                String::from_utf8(r.value.unwrap().to_vec()).unwrap(),
            ));
        }
    }
    out
}

/// Runs a real client's driver (tests/clients/<client>/run.sh: create `topic` with 2 partitions,
/// produce `records` lz4 records, read them back); `security` are extra driver arguments. Returns
/// (success, stdout + stderr).
pub fn run_driver(
    client: &str,
    bootstrap: &str,
    topic: &str,
    records: &str,
    security: &[String],
) -> (bool, String) {
    let out = driver_command(client)
        .args([
            "--bootstrap",
            bootstrap,
            "--topic",
            topic,
            "--partitions",
            "2",
        ])
        .args(["--records", records, "--compression", "lz4"])
        .args(security)
        .output()
        .expect("run client driver");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let ok = out.status.success() && text.contains(&format!("{topic} {records} records"));
    (ok, text)
}

/// The command that runs `client`'s driver (tests/clients/<client>/run.sh), killed after 180 s.
pub fn driver_command(client: &str) -> Command {
    let script = repo_root()
        .join("tests/clients")
        .join(client)
        .join("run.sh");
    let mut command = Command::new("timeout");
    command.arg("180").arg("bash").arg(script);
    command
}

/// Driver arguments for client properties (`--property K=V` for java and python).
pub fn driver_properties(props: Vec<String>) -> Vec<String> {
    props
        .into_iter()
        .flat_map(|p| ["--property".to_string(), p])
        .collect()
}

/// The driver arguments that make `client` log in with SASL `mechanism` as `user`, on a listener of
/// security `protocol` (SASL_PLAINTEXT or SASL_SSL; TLS trust settings are the caller's).
pub fn sasl_driver_args(
    client: &str,
    protocol: &str,
    mechanism: &str,
    user: &str,
    password: &str,
) -> Vec<String> {
    let props: Vec<String> = match client {
        "java" => {
            let module = if mechanism == "PLAIN" {
                "org.apache.kafka.common.security.plain.PlainLoginModule"
            } else {
                "org.apache.kafka.common.security.scram.ScramLoginModule"
            };
            vec![
                format!("security.protocol={protocol}"),
                format!("sasl.mechanism={mechanism}"),
                format!(
                    "sasl.jaas.config={module} required username=\"{user}\" password=\"{password}\";"
                ),
            ]
        }
        "python" => vec![
            format!("security.protocol={protocol}"),
            format!("sasl.mechanisms={mechanism}"),
            format!("sasl.username={user}"),
            format!("sasl.password={password}"),
        ],
        "go" => return vec!["-sasl".into(), format!("{mechanism}:{user}:{password}")],
        other => panic!("unknown client {other}"),
    };
    driver_properties(props)
}

/// Runs the `shardlog` binary with `args` and `stdin` as its input (no SHARDLOG_BROKERS from the
/// environment); returns its status and output.
pub fn shardlog_cli(args: &[&str], stdin: &str) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_shardlog"))
        .args(args)
        .env_remove("SHARDLOG_BROKERS")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run shardlog");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(stdin.as_bytes())
        .expect("writing the CLI's stdin");
    child.wait_with_output().expect("waiting for shardlog")
}

pub mod ack_checker;
pub mod api;
pub mod cluster;
pub mod proxy;
pub mod txn_clients;

/// Runs one of Apache Kafka's own admin tools (`org.apache.kafka.tools.<class>`, from the jars
/// `perf/kafka/kafka.sh install` fetches) against `broker`'s SASL_PLAINTEXT listener at `bootstrap`,
/// logged in as `admin`/`admin-secret` with SCRAM-SHA-512. Asserts it succeeded; returns its stdout.
pub fn kafka_tool_as_admin(broker: &Broker, bootstrap: &str, class: &str, args: &[&str]) -> String {
    let props = broker.data_dir.with_extension("admin.properties");
    std::fs::write(
        &props,
        "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-512\n\
         sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \
         username=\"admin\" password=\"admin-secret\";\n",
    )
    .unwrap();
    let props = props.to_str().unwrap();
    let mut with_login = vec!["--command-config", props];
    with_login.extend_from_slice(args);
    let (ok, stdout, stderr) = kafka_tool(bootstrap, class, &with_login);
    assert!(
        ok,
        "{class} {args:?} failed:\n{stdout}\n{stderr}\n(broker log: {})",
        broker.log_path().display()
    );
    stdout
}

/// Runs one of Apache Kafka's own admin tools (`org.apache.kafka.tools.<class>`, from the jars
/// `perf/kafka/kafka.sh install` fetches) against `bootstrap`; returns (success, stdout, stderr).
pub fn kafka_tool(bootstrap: &str, class: &str, args: &[&str]) -> (bool, String, String) {
    let lib = repo_root().join("perf/kafka/lib");
    assert!(
        lib.join("kafka-tools-4.4.0.jar").exists(),
        "kafka-tools missing: run `bash perf/kafka/kafka.sh install` (tests/run.sh does)"
    );
    let java = std::env::var("JAVA").unwrap_or_else(|_| "java".into());
    let out = Command::new("timeout")
        .args(["120", &java, "-cp", &format!("{}/*", lib.display())])
        .arg(format!("org.apache.kafka.tools.{class}"))
        .args(["--bootstrap-server", bootstrap])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {class}: {e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// The CLI's topic/produce/consume round trip through `run` (CLI arguments and stdin → stdout; it adds
/// the connection options and asserts success): three keyed records must come back.
pub fn cli_round_trip(topic: &str, run: impl Fn(&[&str], &str) -> String) {
    run(&["topic", "create", topic, "--partitions", "2"], "");
    run(&["produce", topic, "--parse-key"], "a:1\nb:2\nc:3\n");
    let consumed = run(
        &[
            "consume",
            topic,
            "--from-beginning",
            "--count",
            "3",
            "--print",
            "key-value",
        ],
        "",
    );
    let mut lines: Vec<&str> = consumed.lines().collect();
    lines.sort();
    assert_eq!(lines, ["a:1", "b:2", "c:3"], "{topic}");
}
