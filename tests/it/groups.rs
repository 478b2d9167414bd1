//! Consumer groups with real, unmodified Kafka clients: the Java client (kafka-clients), librdkafka
//! (confluent-kafka) and franz-go run as long-lived group members (tests/clients/<client>/group-member.sh,
//! built by tests/run.sh through each client's build.sh) that subscribe(), commit after every poll and
//! print one JSON line per event (assigned / revoked / lost / records / committed / closed, each with a
//! wall-clock "ts"). The tests drive them like an operator would: start, SIGKILL (crash, no LeaveGroup),
//! SIGTERM (close() = LeaveGroup), restart the broker; then check ownership and delivery:
//!
//! - members of one group on a 6-partition topic split it evenly, a killed member's partitions move to the
//!   survivors within the session timeout, a new member triggers a rebalance (eager range for Java,
//!   cooperative-sticky for librdkafka and franz-go);
//! - every produced record is consumed by some member, and no member is ever handed a record below an
//!   offset committed before it got the partition (duplicates only past the last commit: at-least-once);
//! - after commit, broker restart and consumer restart, consumption resumes at the committed offsets;
//! - a Java consumer with group.protocol=consumer (KIP-848) joins, gets assignments, and rebalances;
//! - Kafka's own consumer-groups tool (kafka-tools, from perf/kafka/lib: `perf/kafka/kafka.sh install`)
//!   lists and describes the group and resets its offsets.
//!
//! Tests assert behaviour, not timing: every wait is bounded only to turn a hang into a failure.
//! Those that start up to four client processes take `common::heavy_test()`, so they run one at a time. Each member's
//! stderr and event lines are kept in target/test-data/groups-<client>-<test>-members-<pid>/.
//!
//! **Against a real Kafka** (to validate the tests themselves): start one, e.g.
//! `perf/kafka/kafka.sh start 39092 /tmp/kafka-groups`, then run with
//! `SHARDLOG_TEST_KAFKA_BOOTSTRAP=127.0.0.1:39092` (no shardlog is started; topics and groups get unique
//! names). The broker-restart step also needs `SHARDLOG_TEST_KAFKA_DATADIR=/tmp/kafka-groups` (it then
//! kills that Kafka with SIGKILL, as `Broker::restart` does, and starts it again with `kafka.sh start`);
//! without it the restart is skipped with a note on stderr and only the consumers are restarted.

use crate::common;

use common::{api, batch_of, kafka_tool, repo_root, temp_dir, Broker, Conn};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const PARTITIONS: i32 = 6;
/// Kafka's default group.min.session.timeout.ms is 6000.
const SESSION_TIMEOUT_MS: u64 = 6000;
/// Bound for joins, rebalances after a join or leave, and consuming what was produced.
const SETTLE: Duration = Duration::from_secs(60);
/// A killed member's partitions must move within the session timeout; this margin covers detecting the
/// expiry, the rebalance itself and slow process scheduling on a loaded machine.
const EVICTION_MARGIN: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------------
// The broker under test: shardlog, or an external Kafka.

enum Target {
    Shardlog(Broker),
    Kafka {
        addr: String,
        data_dir: Option<PathBuf>,
    },
}

impl Target {
    fn start(name: &str) -> Target {
        match std::env::var("SHARDLOG_TEST_KAFKA_BOOTSTRAP") {
            Ok(addr) if !addr.is_empty() => Target::Kafka {
                addr,
                data_dir: std::env::var_os("SHARDLOG_TEST_KAFKA_DATADIR").map(PathBuf::from),
            },
            _ => Target::Shardlog(Broker::start(
                &temp_dir(name),
                &["--group-initial-rebalance-delay-ms", "200"],
            )),
        }
    }

    fn addr(&self) -> String {
        match self {
            Target::Shardlog(b) => b.addr(),
            Target::Kafka { addr, .. } => addr.clone(),
        }
    }

    fn conn(&self) -> Conn {
        Conn::connect(&self.addr())
    }

    fn describe(&self) -> String {
        match self {
            Target::Shardlog(b) => format!("shardlog, log {}", b.log_path().display()),
            Target::Kafka { addr, .. } => format!("external Kafka at {addr}"),
        }
    }

    /// Kills the broker and starts it again on the same data; false if that is not possible here.
    fn restart(&mut self) -> bool {
        match self {
            Target::Shardlog(b) => {
                b.restart();
                true
            }
            Target::Kafka { data_dir: None, .. } => {
                eprintln!(
                    "groups: broker restart skipped: external Kafka without SHARDLOG_TEST_KAFKA_DATADIR"
                );
                false
            }
            Target::Kafka {
                addr,
                data_dir: Some(dir),
            } => {
                // kill -9 like Broker::restart, then kafka.sh start on the same data.
                let port = addr.rsplit(':').next().unwrap();
                let script = "pid=$(cat \"$1/kafka.pid\") && kill -9 \"$pid\" && \
                     while kill -0 \"$pid\" 2>/dev/null; do sleep 0.1; done && \
                     exec bash \"$2\" start \"$3\" \"$1\"";
                let st = Command::new("bash")
                    .args(["-c", script, "restart-kafka"])
                    .arg(&*dir)
                    .arg(repo_root().join("perf/kafka/kafka.sh"))
                    .arg(port)
                    .status()
                    .unwrap();
                assert!(
                    st.success(),
                    "restarting the Kafka in {} failed",
                    dir.display()
                );
                true
            }
        }
    }
}

/// A name no earlier run against the same external Kafka used.
fn unique(name: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{name}-{}-{}", std::process::id(), nanos % 1_000_000_000)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// What was produced: (partition, offset) -> value.
#[derive(Default)]
struct Produced {
    records: BTreeMap<(i32, i64), String>,
    next_value: u64,
}

impl Produced {
    /// Creates the topic (PARTITIONS partitions).
    fn create_topic(target: &Target, topic: &str) {
        let err = api::create_topic(&mut target.conn(), topic, PARTITIONS, &[]);
        assert_eq!(err, 0, "create topic {topic} ({})", target.describe());
    }

    /// Produces `per_partition` records to every partition (acks=all), retrying the errors a freshly
    /// created topic answers with until its partitions have leaders.
    fn produce(&mut self, target: &Target, topic: &str, per_partition: u64) {
        let mut conn = target.conn();
        for p in 0..PARTITIONS {
            let first = self.next_value;
            self.next_value += per_partition;
            let deadline = Instant::now() + Duration::from_secs(30);
            let base = loop {
                let (err, base) = api::produce(
                    &mut conn,
                    topic,
                    p,
                    -1,
                    batch_of(first..first + per_partition, now_ms()),
                );
                match err {
                    0 => break base,
                    // UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE, NOT_LEADER_OR_FOLLOWER
                    3 | 5 | 6 if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(200))
                    }
                    e => panic!(
                        "produce to {topic}[{p}] failed with error {e} ({})",
                        target.describe()
                    ),
                }
            };
            for i in 0..per_partition {
                self.records
                    .insert((p, base + i as i64), format!("value-{}", first + i));
            }
        }
    }

    /// End offset per partition.
    fn end_offsets(&self) -> BTreeMap<i32, i64> {
        let mut end = BTreeMap::new();
        for &(p, o) in self.records.keys() {
            let e = end.entry(p).or_insert(0);
            *e = (*e).max(o + 1);
        }
        end
    }
}

// ---------------------------------------------------------------------------------------------------
// Group members: one client process each, its stdout parsed into events by a reader thread.

#[derive(Clone, Debug)]
struct Event {
    ts: i64,
    kind: String,
    partitions: Vec<i32>,
    owned: Vec<i32>,
    records: Vec<(i32, i64, String)>,
    offsets: Vec<(i32, i64)>,
    line: String,
}

impl Event {
    fn parse(line: &str) -> Result<Event, String> {
        let v = json::parse(line)?;
        let ints = |key: &str| -> Vec<i32> {
            v.get(key)
                .map(|a| a.arr().iter().map(|x| x.int() as i32).collect())
                .unwrap_or_default()
        };
        Ok(Event {
            ts: v.get("ts").ok_or("no ts")?.int(),
            kind: v.get("event").ok_or("no event")?.str().to_string(),
            partitions: ints("partitions"),
            owned: ints("owned"),
            records: v
                .get("records")
                .map(|a| {
                    a.arr()
                        .iter()
                        .map(|r| {
                            let r = r.arr();
                            (r[0].int() as i32, r[1].int(), r[2].str().to_string())
                        })
                        .collect()
                })
                .unwrap_or_default(),
            offsets: v
                .get("offsets")
                .map(|o| {
                    o.obj()
                        .iter()
                        .map(|(k, v)| (k.parse().unwrap(), v.int()))
                        .collect()
                })
                .unwrap_or_default(),
            line: line.to_string(),
        })
    }
}

struct Member {
    name: String,
    child: Mutex<Option<Child>>,
    events: Arc<Mutex<Vec<Event>>>,
    reader: Mutex<Option<std::thread::JoinHandle<()>>>,
    stderr: PathBuf,
}

struct Group<'a> {
    client: &'a str,
    /// The broker's address (a restarted broker keeps it).
    addr: String,
    topic: String,
    group: String,
    log_dir: PathBuf,
}

impl Group<'_> {
    /// Starts a member of this group; `extra` are more driver arguments.
    fn member(&self, name: &str, extra: &[&str]) -> Member {
        let script = repo_root()
            .join("tests/clients")
            .join(self.client)
            .join("group-member.sh");
        let stderr = self.log_dir.join(format!("{name}.stderr"));
        let mut cmd = Command::new("bash");
        cmd.arg(&script)
            .args([
                "--bootstrap",
                &self.addr,
                "--topic",
                &self.topic,
                "--group",
                &self.group,
            ])
            .args(["--client-id", &format!("{}-{name}", self.client)])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap());
        // SAFETY: prctl is async-signal-safe; a failed test thread takes its members with it.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = cmd.spawn().expect("spawn group member");
        let stdout = child.stdout.take().unwrap();
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        let who = name.to_string();
        // Every event line is also kept in <name>.events, for post-mortems.
        let mut copy = std::fs::File::create(self.log_dir.join(format!("{name}.events"))).unwrap();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = writeln!(copy, "{line}");
                match Event::parse(&line) {
                    Ok(e) => sink.lock().unwrap().push(e),
                    Err(err) => eprintln!("groups: {who}: unparsable line ({err}): {line}"),
                }
            }
        });
        Member {
            name: name.to_string(),
            child: Mutex::new(Some(child)),
            events,
            reader: Mutex::new(Some(reader)),
            stderr,
        }
    }
}

impl Member {
    fn events(&self) -> Vec<Event> {
        self.events.lock().unwrap().clone()
    }

    /// The assignment after the last assigned/revoked/lost event.
    fn owned(&self) -> BTreeSet<i32> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|e| matches!(e.kind.as_str(), "assigned" | "revoked" | "lost"))
            .map(|e| e.owned.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Panics if the process exited on its own.
    fn assert_running(&self) {
        let exited = match self.child.lock().unwrap().as_mut() {
            Some(c) => c.try_wait().unwrap(),
            None => None,
        };
        if let Some(st) = exited {
            self.child.lock().unwrap().take();
            panic!(
                "member {} exited with {st}:\n{}",
                self.name,
                self.diagnostics()
            );
        }
    }

    /// SIGKILL: a crash, no LeaveGroup. (Also run from Drop while a test unwinds: must not panic.)
    fn kill9(&self) {
        let child = self.child.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(mut c) = child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM: the driver closes its consumer (LeaveGroup) and exits; bounded.
    fn terminate(&self) -> ExitStatus {
        let mut c = self
            .child
            .lock()
            .unwrap()
            .take()
            .expect("member not running");
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(st) = c.try_wait().unwrap() {
                break st;
            }
            if Instant::now() > deadline {
                c.kill().unwrap();
                c.wait().unwrap();
                panic!(
                    "member {} ignored SIGTERM for 60s:\n{}",
                    self.name,
                    self.diagnostics()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        if let Some(r) = self.reader.lock().unwrap().take() {
            r.join().unwrap();
        }
        status
    }

    /// Stops with SIGTERM and checks that it closed cleanly.
    fn stop(&self) {
        let st = self.terminate();
        let closed = self.events().iter().any(|e| e.kind == "closed");
        assert!(
            st.success() && closed,
            "member {} did not close cleanly ({st}):\n{}",
            self.name,
            self.diagnostics()
        );
    }

    fn diagnostics(&self) -> String {
        let events = self.events();
        let interesting: Vec<&str> = events
            .iter()
            .filter(|e| e.kind != "records" && e.kind != "committed")
            .map(|e| e.line.as_str())
            .collect();
        let tail = |v: &[&str]| v[v.len().saturating_sub(15)..].join("\n    ");
        let stderr = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        let err_lines: Vec<&str> = stderr.lines().collect();
        format!(
            "  {} owns {:?}; {} events; last non-record events:\n    {}\n  stderr ({}), last lines:\n    {}",
            self.name,
            self.owned(),
            events.len(),
            tail(&interesting),
            self.stderr.display(),
            tail(&err_lines)
        )
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Polls `done` every 100 ms until it holds; panics after `within` with every member's state.
fn wait_until(
    within: Duration,
    what: &str,
    members: &[&Member],
    target: &Target,
    mut done: impl FnMut() -> bool,
) {
    let start = Instant::now();
    loop {
        if done() {
            eprintln!(
                "groups: {what}: after {:.1}s",
                start.elapsed().as_secs_f64()
            );
            return;
        }
        members.iter().for_each(|m| m.assert_running());
        if start.elapsed() > within {
            let diag: Vec<String> = members.iter().map(|m| m.diagnostics()).collect();
            panic!(
                "timed out after {within:?} waiting for {what} ({}):\n{}",
                target.describe(),
                diag.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// True when the members own disjoint sets of `per_member` partitions each that cover the topic.
fn balanced(members: &[&Member], per_member: usize) -> bool {
    let mut all = BTreeSet::new();
    for m in members {
        let owned = m.owned();
        if owned.len() != per_member || !owned.iter().all(|&p| all.insert(p)) {
            return false;
        }
    }
    all.len() == PARTITIONS as usize
}

fn wait_balanced(
    members: &[&Member],
    per_member: usize,
    within: Duration,
    what: &str,
    target: &Target,
) {
    wait_until(within, what, members, target, || {
        balanced(members, per_member)
    });
}

/// Every (partition, offset) any member was handed.
fn consumed(members: &[&Member]) -> BTreeSet<(i32, i64)> {
    members
        .iter()
        .flat_map(|m| m.events())
        .flat_map(|e| e.records.into_iter().map(|(p, o, _)| (p, o)))
        .collect()
}

fn wait_all_consumed(
    members: &[&Member],
    everyone: &[&Member],
    produced: &Produced,
    target: &Target,
) {
    wait_until(
        SETTLE,
        "every produced record consumed",
        members,
        target,
        || {
            let got = consumed(everyone);
            produced.records.keys().all(|k| got.contains(k))
        },
    );
}

/// Highest committed offset per partition over all members' commit events.
fn committed(members: &[&Member]) -> BTreeMap<i32, i64> {
    let mut c = BTreeMap::new();
    for e in members
        .iter()
        .flat_map(|m| m.events())
        .filter(|e| e.kind == "committed")
    {
        for (p, o) in e.offsets {
            let x = c.entry(p).or_insert(o);
            *x = (*x).max(o);
        }
    }
    c
}

/// The delivery checks, over every member that ever ran in the group:
/// - every record a member was handed is one that was produced, with its value;
/// - every produced record was handed to some member (nothing skipped);
/// - at-least-once window: when a member is assigned a partition, it is never handed a record below
///   the highest offset any member reported committed for that partition before that assignment (a
///   commit event's ts is taken after the commit completed; an assignment's ts when the client's
///   rebalance callback ran, before it fetched the committed offsets). Duplicates are thus only
///   records that were consumed but not yet committed when the partition changed hands.
///
/// Returns how many deliveries were duplicates.
fn check_delivery(members: &[&Member], produced: &Produced) -> usize {
    let mut seen: HashMap<(i32, i64), usize> = HashMap::new();
    let commits: Vec<(i64, i32, i64)> = members
        .iter()
        .flat_map(|m| m.events())
        .filter(|e| e.kind == "committed")
        .flat_map(|e| e.offsets.into_iter().map(move |(p, o)| (e.ts, p, o)))
        .collect();
    for m in members {
        let mut floor: HashMap<i32, i64> = HashMap::new();
        for e in m.events() {
            match e.kind.as_str() {
                "assigned" => {
                    for p in e.partitions {
                        let f = commits
                            .iter()
                            .filter(|&&(ts, cp, _)| cp == p && ts <= e.ts)
                            .map(|&(_, _, o)| o)
                            .max()
                            .unwrap_or(0);
                        floor.insert(p, f);
                    }
                }
                "revoked" | "lost" => e.partitions.iter().for_each(|p| {
                    floor.remove(p);
                }),
                "records" => {
                    for (p, o, v) in e.records {
                        assert_eq!(
                            produced.records.get(&(p, o)),
                            Some(&v),
                            "member {} was handed {p}@{o} = {v:?}, which was not produced",
                            m.name
                        );
                        if let Some(&f) = floor.get(&p) {
                            assert!(
                                o >= f,
                                "member {} was handed {p}@{o}, below offset {f} committed before it got \
                                 partition {p}:\n{}",
                                m.name,
                                m.diagnostics()
                            );
                        }
                        *seen.entry((p, o)).or_default() += 1;
                    }
                }
                _ => {}
            }
        }
    }
    let missing: Vec<_> = produced
        .records
        .keys()
        .filter(|k| !seen.contains_key(k))
        .take(20)
        .collect();
    assert!(
        missing.is_empty(),
        "records never consumed (first 20): {missing:?}"
    );
    seen.values().map(|n| n - 1).sum()
}

fn group_setup<'a>(client: &'a str, what: &str, target: &Target) -> Group<'a> {
    let name = unique(&format!("{client}-{what}"));
    Group {
        client,
        addr: target.addr(),
        topic: format!("{name}-topic"),
        group: format!("{name}-group"),
        log_dir: temp_dir(&format!("groups-{client}-{what}-members")),
    }
}

fn classic_args(assignor: &str) -> Vec<String> {
    vec![
        "--session-timeout-ms".into(),
        SESSION_TIMEOUT_MS.to_string(),
        "--heartbeat-interval-ms".into(),
        "1000".into(),
        "--assignor".into(),
        assignor.into(),
    ]
}

fn as_strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

// ---------------------------------------------------------------------------------------------------
// 1. Three members split six partitions; a crash moves its partitions; a fourth member rebalances.

fn rebalances_and_delivers_everything(client: &str, assignor: &str) {
    let _heavy = common::heavy_test();
    let target = Target::start(&format!("groups-{client}-rebalance"));
    let g = group_setup(client, "rebalance", &target);
    let args = classic_args(assignor);
    let args = as_strs(&args);
    let mut produced = Produced::default();
    Produced::create_topic(&target, &g.topic);
    produced.produce(&target, &g.topic, 50);

    let m1 = g.member("m1", &args);
    let m2 = g.member("m2", &args);
    let m3 = g.member("m3", &args);
    wait_balanced(
        &[&m1, &m2, &m3],
        2,
        SETTLE,
        "3 members own 2 partitions each",
        &target,
    );
    wait_all_consumed(&[&m1, &m2, &m3], &[&m1, &m2, &m3], &produced, &target);

    // A crash: no LeaveGroup, so the coordinator must notice the missed heartbeats.
    let victim = m1.owned();
    m1.kill9();
    produced.produce(&target, &g.topic, 50);
    let eviction = Duration::from_millis(SESSION_TIMEOUT_MS) + EVICTION_MARGIN;
    wait_balanced(
        &[&m2, &m3],
        3,
        eviction,
        "the killed member's partitions move to the 2 survivors",
        &target,
    );
    let moved: BTreeSet<i32> = m2.owned().union(&m3.owned()).copied().collect();
    assert!(victim.is_subset(&moved));

    let m4 = g.member("m4", &args);
    wait_balanced(
        &[&m2, &m3, &m4],
        2,
        SETTLE,
        "a 4th member joins: 3 members own 2 partitions each",
        &target,
    );
    produced.produce(&target, &g.topic, 50);
    let everyone = [&m1, &m2, &m3, &m4];
    wait_all_consumed(&[&m2, &m3, &m4], &everyone, &produced, &target);

    for m in [&m2, &m3, &m4] {
        m.stop();
    }
    let duplicates = check_delivery(&everyone, &produced);
    eprintln!(
        "groups: {client}/{assignor}: {} records produced, all consumed, {duplicates} duplicate deliveries",
        produced.records.len()
    );
}

#[test]
fn java_group_rebalances_on_crash_and_join() {
    rebalances_and_delivers_everything("java", "range");
}

#[test]
fn librdkafka_group_rebalances_on_crash_and_join() {
    rebalances_and_delivers_everything("python", "cooperative-sticky");
}

#[test]
fn franz_go_group_rebalances_on_crash_and_join() {
    rebalances_and_delivers_everything("go", "cooperative-sticky");
}

// ---------------------------------------------------------------------------------------------------
// 2. Commit, restart the broker, restart the consumers: they resume at the committed offsets.

fn resumes_from_committed_offsets_after_broker_restart(client: &str, assignor: &str) {
    let _heavy = common::heavy_test();
    let mut target = Target::start(&format!("groups-{client}-resume"));
    let g = group_setup(client, "resume", &target);
    let args = classic_args(assignor);
    let args = as_strs(&args);
    let mut produced = Produced::default();
    Produced::create_topic(&target, &g.topic);
    produced.produce(&target, &g.topic, 40);

    let a1 = g.member("a1", &args);
    let a2 = g.member("a2", &args);
    wait_balanced(
        &[&a1, &a2],
        3,
        SETTLE,
        "2 members own 3 partitions each",
        &target,
    );
    let end = produced.end_offsets();
    wait_until(
        SETTLE,
        "everything consumed and committed",
        &[&a1, &a2],
        &target,
        || committed(&[&a1, &a2]) == end,
    );
    a1.stop();
    a2.stop();
    let first_run = committed(&[&a1, &a2]);

    let restarted = target.restart();
    produced.produce(&target, &g.topic, 40);
    let b1 = g.member("b1", &args);
    let b2 = g.member("b2", &args);
    wait_all_consumed(&[&b1, &b2], &[&a1, &a2, &b1, &b2], &produced, &target);

    // Everything the first members committed stays consumed: the new ones start exactly there.
    for (p, o, _) in [&b1, &b2]
        .iter()
        .flat_map(|m| m.events())
        .flat_map(|e| e.records)
    {
        assert!(
            o >= first_run[&p],
            "after {} the new members were handed {p}@{o}, below committed offset {}",
            if restarted {
                "a broker restart"
            } else {
                "a consumer restart"
            },
            first_run[&p]
        );
    }
    let duplicates = check_delivery(&[&a1, &a2, &b1, &b2], &produced);
    assert_eq!(duplicates, 0, "everything was committed before the restart");
    eprintln!("groups: {client}: resumed at committed offsets {first_run:?} (broker restarted: {restarted})");
}

#[test]
fn java_group_resumes_from_committed_offsets_after_broker_restart() {
    resumes_from_committed_offsets_after_broker_restart("java", "cooperative-sticky");
}

#[test]
fn librdkafka_group_resumes_from_committed_offsets_after_broker_restart() {
    resumes_from_committed_offsets_after_broker_restart("python", "range");
}

#[test]
fn franz_go_group_resumes_from_committed_offsets_after_broker_restart() {
    resumes_from_committed_offsets_after_broker_restart("go", "range");
}

// ---------------------------------------------------------------------------------------------------
// 3. KIP-848: group.protocol=consumer (ConsumerGroupHeartbeat, server-side assignor).

#[test]
fn java_kip848_consumer_protocol_joins_and_rebalances() {
    let _heavy = common::heavy_test();
    let target = Target::start("groups-java-kip848");
    let g = group_setup("java", "kip848", &target);
    let args = ["--group-protocol", "consumer", "--assignor", "uniform"];
    let mut produced = Produced::default();
    Produced::create_topic(&target, &g.topic);
    produced.produce(&target, &g.topic, 50);

    let m1 = g.member("k1", &args);
    let m2 = g.member("k2", &args);
    let m3 = g.member("k3", &args);
    wait_balanced(
        &[&m1, &m2, &m3],
        2,
        SETTLE,
        "3 KIP-848 members own 2 partitions each",
        &target,
    );
    wait_all_consumed(&[&m1, &m2, &m3], &[&m1, &m2, &m3], &produced, &target);

    m1.stop(); // leaves the group (ConsumerGroupHeartbeat with member epoch -1)
    produced.produce(&target, &g.topic, 50);
    wait_balanced(
        &[&m2, &m3],
        3,
        SETTLE,
        "a member left: 2 KIP-848 members own 3 partitions each",
        &target,
    );

    let m4 = g.member("k4", &args);
    wait_balanced(
        &[&m2, &m3, &m4],
        2,
        SETTLE,
        "a 4th KIP-848 member joins: 2 partitions each",
        &target,
    );
    // Kafka's tool describes a KIP-848 group through ConsumerGroupDescribe: three members, six
    // partitions assigned among them.
    let described =
        consumer_groups_tool(&target, &["--describe", "--group", &g.group, "--members"]);
    let member_lines: Vec<&str> = described
        .lines()
        .filter(|l| l.starts_with(g.group.as_str()))
        .collect();
    assert_eq!(
        member_lines.len(),
        3,
        "three members described:\n{described}"
    );
    produced.produce(&target, &g.topic, 50);
    let everyone = [&m1, &m2, &m3, &m4];
    wait_all_consumed(&[&m2, &m3, &m4], &everyone, &produced, &target);
    for m in [&m2, &m3, &m4] {
        m.stop();
    }
    // With its members gone the group is still a KIP-848 group: Kafka's groups tool lists it
    // with type Consumer (ListGroups v5 group_type), not Classic.
    let (ok, listed, err) = kafka_tool(&target.addr(), "GroupsCommand", &["--list"]);
    assert!(ok, "kafka-groups --list failed:\n{listed}\n{err}");
    let row: Vec<&str> = listed
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|cols| cols.first() == Some(&g.group.as_str()))
        .unwrap_or_else(|| panic!("{} not listed:\n{listed}", g.group));
    assert!(
        row.get(1)
            .is_some_and(|t| t.eq_ignore_ascii_case("consumer")),
        "group type {row:?}, want Consumer:\n{listed}"
    );
    let duplicates = check_delivery(&everyone, &produced);
    eprintln!(
        "groups: java/kip848: {} records, {duplicates} duplicate deliveries",
        produced.records.len()
    );
}

// ---------------------------------------------------------------------------------------------------
// 4. Kafka's own consumer-groups tool.

/// Runs kafka-consumer-groups (ConsumerGroupCommand from kafka-tools) and returns its stdout.
fn consumer_groups_tool(target: &Target, args: &[&str]) -> String {
    let (ok, stdout, stderr) =
        kafka_tool(&target.addr(), "consumer.group.ConsumerGroupCommand", args);
    assert!(
        ok,
        "kafka-consumer-groups {args:?} failed:\n{stdout}\n{stderr}\n({})",
        target.describe()
    );
    stdout
}

/// The rows of a `--describe`/`--reset-offsets` table for `topic`, keyed by partition, as column -> value.
fn table_rows(out: &str, topic: &str) -> BTreeMap<i32, HashMap<String, String>> {
    let mut header: Vec<String> = Vec::new();
    let mut rows = BTreeMap::new();
    for line in out.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.first() == Some(&"GROUP") {
            header = cols.iter().map(|c| c.to_string()).collect();
        } else if cols.len() == header.len() && cols.get(1) == Some(&topic) {
            let row: HashMap<String, String> = header
                .iter()
                .cloned()
                .zip(cols.iter().map(|c| c.to_string()))
                .collect();
            rows.insert(row["PARTITION"].parse().unwrap(), row);
        }
    }
    rows
}

#[test]
fn kafka_consumer_groups_tool_lists_describes_and_resets() {
    let _heavy = common::heavy_test();
    let target = Target::start("groups-tool");
    let g = group_setup("java", "tool", &target);
    let args = classic_args("range");
    let args = as_strs(&args);
    let mut produced = Produced::default();
    Produced::create_topic(&target, &g.topic);
    produced.produce(&target, &g.topic, 30);
    let end = produced.end_offsets();

    let m1 = g.member("t1", &args);
    wait_balanced(&[&m1], 6, SETTLE, "1 member owns all 6 partitions", &target);
    wait_until(
        SETTLE,
        "everything consumed and committed",
        &[&m1],
        &target,
        || committed(&[&m1]) == end,
    );

    let list = consumer_groups_tool(&target, &["--list"]);
    assert!(
        list.lines().any(|l| l.trim() == g.group),
        "--list lacks {}:\n{list}",
        g.group
    );

    let state = consumer_groups_tool(&target, &["--describe", "--group", &g.group, "--state"]);
    assert!(
        state.contains("Stable"),
        "--describe --state of a group with a member:\n{state}"
    );

    let describe = consumer_groups_tool(&target, &["--describe", "--group", &g.group]);
    let rows = table_rows(&describe, &g.topic);
    assert_eq!(rows.len(), PARTITIONS as usize, "--describe:\n{describe}");
    for (p, row) in &rows {
        let want = end[p].to_string();
        assert_eq!(
            row["CURRENT-OFFSET"], want,
            "partition {p} in --describe:\n{describe}"
        );
        assert_eq!(
            row["LOG-END-OFFSET"], want,
            "partition {p} in --describe:\n{describe}"
        );
        assert_eq!(row["LAG"], "0", "partition {p} in --describe:\n{describe}");
        assert_ne!(
            row["CONSUMER-ID"], "-",
            "partition {p} has no owner in --describe:\n{describe}"
        );
        assert_eq!(
            row["CLIENT-ID"], "java-t1",
            "partition {p} in --describe:\n{describe}"
        );
    }

    let members = consumer_groups_tool(&target, &["--describe", "--group", &g.group, "--members"]);
    assert!(
        members.contains("java-t1"),
        "--describe --members:\n{members}"
    );

    // Offsets can only be reset while the group has no members.
    m1.stop();
    let state = consumer_groups_tool(&target, &["--describe", "--group", &g.group, "--state"]);
    assert!(
        state.contains("Empty"),
        "--describe --state after the member left:\n{state}"
    );

    let reset = consumer_groups_tool(
        &target,
        &[
            "--reset-offsets",
            "--to-earliest",
            "--execute",
            "--group",
            &g.group,
            "--topic",
            &g.topic,
        ],
    );
    let rows = table_rows(&reset, &g.topic);
    assert_eq!(rows.len(), PARTITIONS as usize, "--reset-offsets:\n{reset}");
    assert!(
        rows.values().all(|r| r["NEW-OFFSET"] == "0"),
        "--reset-offsets:\n{reset}"
    );

    let describe = consumer_groups_tool(&target, &["--describe", "--group", &g.group]);
    let rows = table_rows(&describe, &g.topic);
    assert_eq!(
        rows.len(),
        PARTITIONS as usize,
        "--describe after reset:\n{describe}"
    );
    for (p, row) in &rows {
        assert_eq!(
            row["CURRENT-OFFSET"], "0",
            "partition {p} after reset:\n{describe}"
        );
        assert_eq!(
            row["LAG"],
            end[p].to_string(),
            "partition {p} after reset:\n{describe}"
        );
    }

    // A member joining now starts over from the earliest offsets.
    let m2 = g.member("t2", &args);
    wait_all_consumed(&[&m2], &[&m2], &produced, &target);
    m2.stop();
    check_delivery(&[&m2], &produced);
}

// ---------------------------------------------------------------------------------------------------
// A minimal JSON reader for the drivers' event lines (objects, arrays, strings, integers).

mod json {
    #[derive(Debug, Clone)]
    pub enum Value {
        Null,
        Bool,
        Int(i64),
        Str(String),
        Arr(Vec<Value>),
        Obj(Vec<(String, Value)>),
    }

    impl Value {
        pub fn get(&self, key: &str) -> Option<&Value> {
            match self {
                Value::Obj(kv) => kv.iter().find(|(k, _)| k == key).map(|(_, v)| v),
                _ => None,
            }
        }
        pub fn int(&self) -> i64 {
            match self {
                Value::Int(i) => *i,
                v => panic!("not an integer: {v:?}"),
            }
        }
        pub fn str(&self) -> &str {
            match self {
                Value::Str(s) => s,
                v => panic!("not a string: {v:?}"),
            }
        }
        pub fn arr(&self) -> &[Value] {
            match self {
                Value::Arr(a) => a,
                Value::Null => &[],
                v => panic!("not an array: {v:?}"),
            }
        }
        pub fn obj(&self) -> &[(String, Value)] {
            match self {
                Value::Obj(kv) => kv,
                Value::Null => &[],
                v => panic!("not an object: {v:?}"),
            }
        }
    }

    pub fn parse(s: &str) -> Result<Value, String> {
        let mut p = Parser {
            s: s.as_bytes(),
            i: 0,
        };
        let v = p.value()?;
        p.ws();
        if p.i != p.s.len() {
            return Err(format!("trailing data at {}", p.i));
        }
        Ok(v)
    }

    struct Parser<'a> {
        s: &'a [u8],
        i: usize,
    }

    impl Parser<'_> {
        fn ws(&mut self) {
            while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
                self.i += 1;
            }
        }
        fn peek(&mut self) -> Result<u8, String> {
            self.ws();
            self.s
                .get(self.i)
                .copied()
                .ok_or_else(|| "unexpected end".to_string())
        }
        fn expect(&mut self, c: u8) -> Result<(), String> {
            if self.peek()? != c {
                return Err(format!("expected {:?} at {}", c as char, self.i));
            }
            self.i += 1;
            Ok(())
        }
        fn lit(&mut self, word: &str, v: Value) -> Result<Value, String> {
            if self.s[self.i..].starts_with(word.as_bytes()) {
                self.i += word.len();
                Ok(v)
            } else {
                Err(format!("bad literal at {}", self.i))
            }
        }
        fn value(&mut self) -> Result<Value, String> {
            match self.peek()? {
                b'{' => {
                    self.i += 1;
                    let mut kv = Vec::new();
                    if self.peek()? == b'}' {
                        self.i += 1;
                        return Ok(Value::Obj(kv));
                    }
                    loop {
                        let k = self.string()?;
                        self.expect(b':')?;
                        kv.push((k, self.value()?));
                        match self.peek()? {
                            b',' => self.i += 1,
                            b'}' => {
                                self.i += 1;
                                return Ok(Value::Obj(kv));
                            }
                            _ => return Err(format!("bad object at {}", self.i)),
                        }
                    }
                }
                b'[' => {
                    self.i += 1;
                    let mut a = Vec::new();
                    if self.peek()? == b']' {
                        self.i += 1;
                        return Ok(Value::Arr(a));
                    }
                    loop {
                        a.push(self.value()?);
                        match self.peek()? {
                            b',' => self.i += 1,
                            b']' => {
                                self.i += 1;
                                return Ok(Value::Arr(a));
                            }
                            _ => return Err(format!("bad array at {}", self.i)),
                        }
                    }
                }
                b'"' => Ok(Value::Str(self.string()?)),
                b't' => self.lit("true", Value::Bool),
                b'f' => self.lit("false", Value::Bool),
                b'n' => self.lit("null", Value::Null),
                _ => {
                    let start = self.i;
                    while self.i < self.s.len()
                        && (self.s[self.i] == b'-' || self.s[self.i].is_ascii_digit())
                    {
                        self.i += 1;
                    }
                    std::str::from_utf8(&self.s[start..self.i])
                        .unwrap()
                        .parse()
                        .map(Value::Int)
                        .map_err(|_| format!("bad number at {start}"))
                }
            }
        }
        fn string(&mut self) -> Result<String, String> {
            self.expect(b'"')?;
            let mut out = String::new();
            loop {
                // '"' and '\\' are ASCII, never inside a multi-byte UTF-8 sequence: copy runs up to them.
                let start = self.i;
                while self.i < self.s.len() && self.s[self.i] != b'"' && self.s[self.i] != b'\\' {
                    self.i += 1;
                }
                out.push_str(
                    std::str::from_utf8(&self.s[start..self.i]).map_err(|e| e.to_string())?,
                );
                let c = *self.s.get(self.i).ok_or("unterminated string")?;
                self.i += 1;
                if c == b'"' {
                    return Ok(out);
                }
                let e = *self.s.get(self.i).ok_or("bad escape")?;
                self.i += 1;
                match e {
                    b'"' => out.push('"'),
                    b'\\' => out.push('\\'),
                    b'/' => out.push('/'),
                    b'b' => out.push('\u{8}'),
                    b'f' => out.push('\u{c}'),
                    b'n' => out.push('\n'),
                    b'r' => out.push('\r'),
                    b't' => out.push('\t'),
                    b'u' => {
                        let hex = self.s.get(self.i..self.i + 4).ok_or("bad \\u")?;
                        self.i += 4;
                        let hex = std::str::from_utf8(hex).map_err(|e| e.to_string())?;
                        let cp = u32::from_str_radix(hex, 16).map_err(|e| e.to_string())?;
                        out.push(char::from_u32(cp).unwrap_or('\u{fffd}'));
                    }
                    _ => return Err("bad escape".into()),
                }
            }
        }
    }
}

#[test]
fn event_lines_parse() {
    let e = Event::parse(r#"{"ts":1,"event":"records","records":[[2,7,"value-\"x\"\u00e9"]]}"#)
        .unwrap();
    assert_eq!(e.records, vec![(2, 7, "value-\"x\"é".to_string())]);
    let e = Event::parse(r#"{"event":"committed","offsets":{"0":5,"3":9},"ts":2}"#).unwrap();
    assert_eq!(
        (e.kind.as_str(), e.offsets, e.ts),
        ("committed", vec![(0, 5), (3, 9)], 2)
    );
    let e =
        Event::parse(r#"{"ts":3,"event":"assigned","partitions":[1,4],"owned":[0,1,4]}"#).unwrap();
    assert_eq!((e.partitions, e.owned), (vec![1, 4], vec![0, 1, 4]));
}
