//! MirrorMaker 2 between two shardlog clusters (issue 14): Kafka's own MirrorMaker in dedicated mode
//! (org.apache.kafka.connect.mirror.MirrorMaker from tests/clients/connect, built by tests/run.sh)
//! replicates a topic from cluster `a` to cluster `b` as `a.<topic>` and translates a consumer group's
//! committed offsets onto `b` (offset syncs, checkpoints and `sync.group.offsets.enabled`).
//!
//! The test produces records to `a` and runs MM2 until `b` holds them; a real consumer group (Kafka's
//! console consumer) reads them on `a` and commits; the group's offsets on `b` (read with
//! kafka-consumer-groups) must become exactly the committed ones (the mirror copies each partition from
//! offset 0, so offsets map one to one, and offset.lag.max=0 makes MM2 record a sync for every record).
//! Then more records go to `a`: `b` must end with every record of every partition at the same offset with
//! the same key and value, and the group's translated offsets must stay where it committed (the group
//! read only part of the topic). The group commits while MM2 is caught up because Kafka's MM2 (3.5+)
//! translates conservatively: an offset far behind the newest sync it has seen may translate to an
//! earlier one, or not at all, by design.
//!
//! Against two real Kafkas, to validate the test itself: `SHARDLOG_TEST_KAFKA_BOOTSTRAP` (cluster a)
//! and `SHARDLOG_TEST_KAFKA_BOOTSTRAP_B` (cluster b). Every wait is bounded only to turn a hang into
//! a failure; nothing asserts timing. MM2's log is kept in target/test-data/mirror-maker-<pid>/.

use crate::common;
use crate::jvm_apps;

use common::{api, kafka_tool, keyed_batch, temp_dir, Conn};
use jvm_apps::{
    client_script, produce_acked, read_partition, tool_table, try_read_partition, wait_for, App,
    Target,
};
use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const PARTITIONS: i32 = 2;
/// Records per partition the group consumes and commits, and in all.
const CONSUMED: usize = 150;
const PER_PARTITION: usize = 500;

/// Produces records `range` of every partition (key `p<partition>-<i>`, value `order-<i>`, timestamp
/// now).
fn produce(conn: &mut Conn, topic: &str, range: std::ops::Range<usize>) {
    for partition in 0..PARTITIONS {
        let texts: Vec<(String, String)> = range
            .clone()
            .map(|i| (format!("p{partition}-{i}"), format!("order-{i}")))
            .collect();
        for chunk in texts.chunks(50) {
            let records: Vec<(&str, Option<&str>)> = chunk
                .iter()
                .map(|(k, v)| (k.as_str(), Some(v.as_str())))
                .collect();
            let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
            let records = keyed_batch(&records, now.as_millis() as i64);
            produce_acked(conn, topic, partition, records);
        }
    }
}

/// The group's committed offset per partition of `topic`, from kafka-consumer-groups --describe
/// (Err: the tool's output, when the group or the topic's rows are not there yet).
fn committed(target: &Target, group: &str, topic: &str) -> Result<BTreeMap<i32, i64>, String> {
    let (ok, stdout, stderr) = kafka_tool(
        &target.addr(),
        "consumer.group.ConsumerGroupCommand",
        &["--describe", "--group", group],
    );
    let offsets: BTreeMap<i32, i64> = tool_table(&stdout, "GROUP")
        .iter()
        .filter(|row| row["TOPIC"] == topic)
        .filter_map(|row| {
            Some((
                row["PARTITION"].parse().ok()?,
                row["CURRENT-OFFSET"].parse().ok()?,
            ))
        })
        .collect();
    if ok && offsets.len() == PARTITIONS as usize {
        Ok(offsets)
    } else {
        Err(format!(
            "kafka-consumer-groups --describe --group {group} (ok: {ok}):\n{stdout}\n{stderr}"
        ))
    }
}

/// Waits until `mirrored` on b holds exactly the records of `topic` on a, partition by partition
/// (a record that differs fails at once).
fn wait_for_mirror(
    conn_a: &mut Conn,
    conn_b: &mut Conn,
    topic: &str,
    mirrored: &str,
    mm2: &mut App,
    a: &Target,
    b: &Target,
) {
    for partition in 0..PARTITIONS {
        let source = read_partition(conn_a, topic, partition);
        wait_for(
            &format!(
                "{mirrored}/{partition} on b to hold the {} records of {topic}/{partition} on a",
                source.len()
            ),
            Duration::from_secs(150),
            Duration::from_millis(500),
            || {
                mm2.assert_running();
                match try_read_partition(conn_b, mirrored, partition) {
                    Ok(copy) if copy == source => Ok(()),
                    Ok(copy) if copy.len() > source.len() || !source.starts_with(&copy) => panic!(
                        "{mirrored}/{partition} on b differs from {topic}/{partition} on a: \
                         {} records, first difference at {:?}\n{}\n(a: {}; b: {})",
                        copy.len(),
                        copy.iter().zip(&source).find(|(c, s)| c != s),
                        mm2.describe(40),
                        a.describe(),
                        b.describe()
                    ),
                    Ok(copy) => Err(format!("{} records so far", copy.len())),
                    Err(code) => Err(format!("fetch error {code}")),
                }
            },
        );
    }
}

#[test]
fn mirror_maker_2_replicates_a_topic_and_translates_group_offsets() {
    let _heavy = common::heavy_test();
    let dir = temp_dir("mirror-maker");
    let a = Target::start_or_env(&dir.join("a"), "SHARDLOG_TEST_KAFKA_BOOTSTRAP");
    let b = Target::start_or_env(&dir.join("b"), "SHARDLOG_TEST_KAFKA_BOOTSTRAP_B");
    let tag = a.tag();
    let topic = format!("orders{tag}");
    let mirrored = format!("a.{topic}");
    let group = format!("billing{tag}");
    let mut conn_a = a.conn();
    let mut conn_b = b.conn();
    assert_eq!(
        api::create_topic(&mut conn_a, &topic, PARTITIONS, &[]),
        0,
        "create {topic} on a"
    );
    produce(&mut conn_a, &topic, 0..CONSUMED);

    let properties = dir.join("mm2.properties");
    std::fs::write(
        &properties,
        format!(
            "clusters = a, b\n\
             a.bootstrap.servers = {a_addr}\n\
             b.bootstrap.servers = {b_addr}\n\
             a->b.enabled = true\n\
             a->b.topics = {topic}\n\
             a->b.groups = {group}\n\
             b->a.enabled = false\n\
             replication.factor = 1\n\
             checkpoints.topic.replication.factor = 1\n\
             heartbeats.topic.replication.factor = 1\n\
             offset-syncs.topic.replication.factor = 1\n\
             offset-syncs.topic.location = source\n\
             offset.storage.replication.factor = 1\n\
             status.storage.replication.factor = 1\n\
             config.storage.replication.factor = 1\n\
             offset.lag.max = 0\n\
             offset.flush.interval.ms = 1000\n\
             sync.group.offsets.enabled = true\n\
             sync.group.offsets.interval.seconds = 1\n\
             emit.checkpoints.interval.seconds = 1\n\
             emit.heartbeats.interval.seconds = 1\n\
             refresh.topics.interval.seconds = 1\n\
             refresh.groups.interval.seconds = 1\n\
             sync.topic.acls.enabled = false\n",
            a_addr = a.addr(),
            b_addr = b.addr()
        ),
    )
    .unwrap();
    let script = client_script("connect", "mirror-maker.sh", "target/lib");
    let mut cmd = Command::new("bash");
    cmd.arg(script).arg(&properties);
    let mut mm2 = App::spawn("mirror-maker", cmd, &dir);
    wait_for_mirror(
        &mut conn_a,
        &mut conn_b,
        &topic,
        &mirrored,
        &mut mm2,
        &a,
        &b,
    );

    // A real consumer group reads the CONSUMED records of each partition on a and commits on close.
    let total_consumed = (CONSUMED * PARTITIONS as usize).to_string();
    let (ok, stdout, stderr) = kafka_tool(
        &a.addr(),
        "consumer.ConsoleConsumer",
        &[
            "--topic",
            &topic,
            "--group",
            &group,
            "--from-beginning",
            "--max-messages",
            &total_consumed,
            "--timeout-ms",
            "60000",
        ],
    );
    assert!(
        ok,
        "console consumer on a failed:\n{stdout}\n{stderr}\n({})",
        a.describe()
    );
    assert_eq!(
        stdout.lines().count(),
        CONSUMED * PARTITIONS as usize,
        "consumed:\n{stdout}"
    );
    let on_a = committed(&a, &group, &topic).unwrap_or_else(|e| panic!("{e}"));
    let want: BTreeMap<i32, i64> = (0..PARTITIONS).map(|p| (p, CONSUMED as i64)).collect();
    assert_eq!(on_a, want, "the group's committed offsets on a");

    // MM2 translates them onto b: the same offsets (the mirror's offsets equal the source's).
    let translated = || {
        let on_b = committed(&b, &group, &mirrored)?;
        if on_b == on_a {
            Ok(on_b)
        } else {
            Err(format!("offsets on b {on_b:?}, committed on a {on_a:?}"))
        }
    };
    wait_for(
        &format!("group {group}'s translated offsets for {mirrored} on b"),
        Duration::from_secs(120),
        Duration::from_secs(1),
        || {
            mm2.assert_running();
            translated()
        },
    );

    // The rest of the topic; the group does not read it, so its translated offsets stay.
    produce(&mut conn_a, &topic, CONSUMED..PER_PARTITION);
    wait_for_mirror(
        &mut conn_a,
        &mut conn_b,
        &topic,
        &mirrored,
        &mut mm2,
        &a,
        &b,
    );
    for partition in 0..PARTITIONS {
        assert_eq!(
            read_partition(&mut conn_b, &mirrored, partition).len(),
            PER_PARTITION
        );
    }
    // A few checkpoint intervals with the new offset syncs, then the same answer.
    std::thread::sleep(Duration::from_secs(3));
    let on_b = translated()
        .unwrap_or_else(|e| panic!("after the rest was mirrored: {e}\n{}", mm2.describe(40)));
    mm2.stop_gracefully(Duration::from_secs(90));
    eprintln!(
        "mirror-maker: {PER_PARTITION} records per partition mirrored; group {group} committed {on_a:?} \
         on a, translated {on_b:?} on b; log in {}",
        dir.display()
    );
}
