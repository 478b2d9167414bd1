//! Compacted topics through the real protocol: after the cleaner runs, each key keeps only its newest
//! value, offsets are unchanged, and tombstones disappear once `delete.retention.ms` has passed.

use crate::common;

use common::api::{create_topic, fetch, produce};
use common::{decode_keyed, keyed_batch, temp_dir, Broker, Conn};
use std::time::{Duration, Instant};

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Everything from offset 0 up to the high watermark as (offset, key, value).
fn read_all(conn: &mut Conn, topic: &str) -> Vec<(i64, String, Option<String>)> {
    let mut out = Vec::new();
    let mut next = 0;
    loop {
        let f = fetch(conn, topic, 0, next, 0);
        assert_eq!(f.error_code, 0);
        let records = decode_keyed(f.records);
        let Some(last) = records.last().map(|r| r.0) else {
            break;
        };
        out.extend(records.into_iter().filter(|r| r.0 >= next));
        next = last + 1;
        if next >= f.high_watermark {
            break;
        }
    }
    out
}

/// Polls until `done` holds for the topic's records (the cleaner runs every 200 ms here).
fn wait_until(
    conn: &mut Conn,
    topic: &str,
    done: impl Fn(&[(i64, String, Option<String>)]) -> bool,
) -> Vec<(i64, String, Option<String>)> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let records = read_all(conn, topic);
        if done(&records) {
            return records;
        }
        assert!(
            Instant::now() < deadline,
            "compaction never reached the expected state: {records:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn compaction_keeps_newest_value_per_key_and_offsets() {
    let broker = Broker::start(
        &temp_dir("compaction"),
        &["--log-cleaner-backoff-ms", "200"],
    );
    let mut conn = broker.conn();
    let configs = [
        ("cleanup.policy", "compact"),
        ("segment.bytes", "400"),
        ("delete.retention.ms", "2000"),
    ];
    assert_eq!(create_topic(&mut conn, "cmp", 1, &configs), 0);
    let ts = now_ms();
    // offsets 0-3: first values; 4-5: k1 and k2 updated; 6: k3 deleted (tombstone).
    produce(
        &mut conn,
        "cmp",
        0,
        1,
        keyed_batch(
            &[
                ("k0", Some("a")),
                ("k1", Some("a")),
                ("k2", Some("a")),
                ("k3", Some("a")),
            ],
            ts,
        ),
    );
    produce(
        &mut conn,
        "cmp",
        0,
        1,
        keyed_batch(&[("k1", Some("b")), ("k2", Some("b"))], ts),
    );
    produce(&mut conn, "cmp", 0, 1, keyed_batch(&[("k3", None)], ts));
    // Filler with unique keys so the records above end up in sealed (cleanable) segments.
    for i in 0..20 {
        let key = format!("filler-{i}");
        produce(
            &mut conn,
            "cmp",
            0,
            1,
            keyed_batch(&[(key.as_str(), Some("x"))], ts),
        );
    }
    let compacted = wait_until(&mut conn, "cmp", |r| {
        r.iter().all(|(o, _, _)| ![1, 2, 3].contains(o))
    });
    let test_keys: Vec<_> = compacted
        .iter()
        .filter(|(_, k, _)| k.starts_with('k'))
        .cloned()
        .collect();
    assert_eq!(
        test_keys,
        vec![
            (0, "k0".to_string(), Some("a".to_string())),
            (4, "k1".to_string(), Some("b".to_string())),
            (5, "k2".to_string(), Some("b".to_string())),
            (6, "k3".to_string(), None),
        ],
        "newest value per key, at its original offset; the tombstone is kept until delete.retention.ms"
    );
    // After delete.retention.ms (2 s) the tombstone itself goes; everything else stays.
    let later = wait_until(&mut conn, "cmp", |r| !r.iter().any(|(o, _, _)| *o == 6));
    assert!(later.iter().any(|(o, k, _)| *o == 0 && k == "k0"));
    assert_eq!(
        later
            .iter()
            .filter(|(_, k, _)| k.starts_with("filler"))
            .count(),
        20
    );
}
