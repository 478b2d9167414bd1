//! Log semantics through the real protocol: retention by size and time, ListOffsets, DeleteRecords,
//! long-poll fetch woken by an append, idempotent-producer dedupe.

use crate::common;

use common::api::{create_topic, fetch, fetch_all, list_offset, produce};
use common::{batch_of, temp_dir, Broker};
use std::time::{Duration, Instant};

const OFFSET_OUT_OF_RANGE: i16 = 1;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Polls ListOffsets(earliest) until it moves past 0 (retention runs every 100 ms here).
fn wait_for_earliest_above_zero(conn: &mut common::Conn, topic: &str) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (err, earliest) = list_offset(conn, topic, 0, -2);
        assert_eq!(err, 0);
        if earliest > 0 {
            return earliest;
        }
        assert!(
            Instant::now() < deadline,
            "retention never deleted a segment of {topic}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn retention_broker(name: &str) -> Broker {
    Broker::start(
        &temp_dir(name),
        &["--log-retention-check-interval-ms", "100"],
    )
}

#[test]
fn retention_bytes_drops_oldest_segments() {
    let broker = retention_broker("ret-bytes");
    let mut conn = broker.conn();
    let configs = [("segment.bytes", "1024"), ("retention.bytes", "3000")];
    assert_eq!(create_topic(&mut conn, "rb", 1, &configs), 0);
    for i in 0..60 {
        assert_eq!(
            produce(&mut conn, "rb", 0, 1, batch_of(i * 5..i * 5 + 5, now_ms())).0,
            0
        );
    }
    let earliest = wait_for_earliest_above_zero(&mut conn, "rb");
    assert_eq!(
        fetch(&mut conn, "rb", 0, 0, 0).error_code,
        OFFSET_OUT_OF_RANGE
    );
    let rest = fetch_all(&mut conn, "rb", 0, earliest);
    assert_eq!(rest.first().unwrap().0, earliest);
    assert_eq!(rest.last().unwrap().0, 299);
    let on_disk: u64 = std::fs::read_dir(broker.data_dir.join("rb-0"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert!(
        on_disk <= 3000 + 1024,
        "{on_disk} bytes kept, retention.bytes is 3000"
    );
}

#[test]
fn retention_ms_drops_segments_with_old_records() {
    let broker = retention_broker("ret-ms");
    let mut conn = broker.conn();
    let configs = [("segment.bytes", "1024"), ("retention.ms", "60000")];
    assert_eq!(create_topic(&mut conn, "rt", 1, &configs), 0);
    let hour_ago = now_ms() - 3_600_000;
    for i in 0..30 {
        assert_eq!(
            produce(&mut conn, "rt", 0, 1, batch_of(i * 5..i * 5 + 5, hour_ago)).0,
            0
        );
    }
    let earliest = wait_for_earliest_above_zero(&mut conn, "rt");
    assert_eq!(
        fetch(&mut conn, "rt", 0, earliest - 1, 0).error_code,
        OFFSET_OUT_OF_RANGE
    );
    // Fresh records are kept: the segment they are in is never past retention.
    let (_, latest) = list_offset(&mut conn, "rt", 0, -1);
    assert_eq!(latest, 150);
}

#[test]
fn list_offsets_earliest_latest_and_by_timestamp() {
    let broker = Broker::start(&temp_dir("list-offsets"), &[]);
    let mut conn = broker.conn();
    assert_eq!(create_topic(&mut conn, "lo", 1, &[]), 0);
    for i in 0..10 {
        produce(
            &mut conn,
            "lo",
            0,
            1,
            batch_of(i * 10..i * 10 + 10, 1_000 + i as i64 * 100),
        );
    }
    assert_eq!(list_offset(&mut conn, "lo", 0, -2), (0, 0));
    assert_eq!(list_offset(&mut conn, "lo", 0, -1), (0, 100));
    assert_eq!(
        list_offset(&mut conn, "lo", 0, 1_450),
        (0, 50),
        "first batch with timestamp >= 1450"
    );
    // Inside a batch the answer is the first *record* at or after the timestamp, as Kafka gives it.
    let ts: Vec<i64> = (0..5).map(|i| 5_000 + i * 10).collect();
    assert_eq!(
        produce(
            &mut conn,
            "lo",
            0,
            1,
            common::batch_with_timestamps(100, &ts)
        )
        .0,
        0
    );
    assert_eq!(list_offset(&mut conn, "lo", 0, 5_025), (0, 103));
    assert_eq!(list_offset(&mut conn, "lo", 0, 1_000), (0, 0));
    assert_eq!(
        list_offset(&mut conn, "lo", 0, 99_999),
        (0, -1),
        "no record that new"
    );
    assert_eq!(list_offset(&mut conn, "nope", 0, -1).0, 3, "unknown topic");
}

#[test]
fn delete_records_moves_log_start() {
    let broker = Broker::start(&temp_dir("delete-records"), &[]);
    let mut conn = broker.conn();
    assert_eq!(
        create_topic(&mut conn, "dr", 1, &[("segment.bytes", "1024")]),
        0
    );
    for i in 0..40 {
        produce(&mut conn, "dr", 0, 1, batch_of(i * 5..i * 5 + 5, 1));
    }
    assert_eq!(
        common::api::delete_records(&mut conn, "dr", 0, 120),
        (0, 120)
    );
    assert_eq!(list_offset(&mut conn, "dr", 0, -2), (0, 120));
    assert_eq!(
        fetch(&mut conn, "dr", 0, 119, 0).error_code,
        OFFSET_OUT_OF_RANGE
    );
    assert_eq!(fetch_all(&mut conn, "dr", 0, 120).first().unwrap().0, 120);
    // The new start survives a restart even though it lies inside a segment.
    let mut broker = broker;
    broker.restart();
    assert_eq!(list_offset(&mut broker.conn(), "dr", 0, -2), (0, 120));
}

#[test]
fn parked_fetch_is_woken_by_an_append() {
    let broker = Broker::start(&temp_dir("long-poll"), &[]);
    let mut conn = broker.conn();
    assert_eq!(create_topic(&mut conn, "lp", 2, &[]), 0);
    let addr = broker.addr();
    let waiter = std::thread::spawn(move || {
        let mut c = common::Conn::connect(&addr);
        // Partition 1 may live on the other shard than the connection: the wake-up crosses shards.
        fetch(&mut c, "lp", 1, 0, 20_000)
    });
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(produce(&mut conn, "lp", 1, 1, batch_of(0..3, 1)).0, 0);
    let fetched = waiter.join().unwrap();
    assert_eq!(fetched.error_code, 0);
    assert_eq!(
        common::decode_values(fetched.records).len(),
        3,
        "the parked fetch returned the new records"
    );
}

#[test]
fn idempotent_retry_is_not_appended_twice() {
    let broker = Broker::start(&temp_dir("idempotent"), &[]);
    let mut conn = broker.conn();
    assert_eq!(create_topic(&mut conn, "idem", 1, &[]), 0);
    let batch = |seq: i32, n: u64| common::idempotent_batch(n..n + 5, 42, 0, seq);
    assert_eq!(produce(&mut conn, "idem", 0, -1, batch(0, 0)), (0, 0));
    assert_eq!(produce(&mut conn, "idem", 0, -1, batch(5, 5)), (0, 5));
    // A retry of the first batch is answered with its original offset and not stored again.
    assert_eq!(produce(&mut conn, "idem", 0, -1, batch(0, 0)), (0, 0));
    // A gap in sequence numbers is refused.
    assert_eq!(produce(&mut conn, "idem", 0, -1, batch(20, 20)).0, 45);
    assert_eq!(list_offset(&mut conn, "idem", 0, -1), (0, 10));
    // Producer state survives a restart: the retry is still recognised.
    let mut broker = broker;
    broker.restart();
    let mut conn = broker.conn();
    assert_eq!(produce(&mut conn, "idem", 0, -1, batch(5, 5)), (0, 5));
    assert_eq!(produce(&mut conn, "idem", 0, -1, batch(10, 10)), (0, 10));
    assert_eq!(list_offset(&mut conn, "idem", 0, -1), (0, 15));
}
