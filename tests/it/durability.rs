//! Durability through the real path: a real broker process, real files, SIGKILL, restart.

use crate::common;

use common::api::{create_topic, fetch_all, produce};
use common::{batch_of, temp_dir, Broker};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const RECORDS_PER_BATCH: u64 = 10;

/// kill -9 in the middle of an acks=all produce stream (flush per batch): after restart every acknowledged
/// record is there, in order, and nothing unacknowledged but well-formed batches follows.
#[test]
fn kill9_during_acks_all_produce_keeps_every_acknowledged_record() {
    let dir = temp_dir("kill9");
    let mut broker = Broker::start(&dir, &["--flush-policy", "always"]);
    assert_eq!(create_topic(&mut broker.conn(), "durable", 1, &[]), 0);
    let acked: Arc<Mutex<Vec<(i64, u64)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let producer = {
        let (acked, stop, addr) = (acked.clone(), stop.clone(), broker.addr());
        std::thread::spawn(move || {
            let mut conn = common::Conn::connect(&addr);
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let frame = conn.encode_request(
                    kafka_protocol::messages::ApiKey::Produce,
                    9,
                    &common_produce_request(batch_of(n..n + RECORDS_PER_BATCH, 1_700_000_000_000)),
                );
                if conn.send_raw(&frame).is_err() {
                    break;
                }
                match conn.read_frame() {
                    Ok(resp) => {
                        let base = parse_base_offset(resp);
                        acked.lock().unwrap().push((base, n));
                        n += RECORDS_PER_BATCH;
                    }
                    Err(_) => break, // killed mid-request: this batch was never acknowledged
                }
            }
        })
    };
    // Let a few hundred batches through, then kill while requests are in flight.
    while acked.lock().unwrap().len() < 300 {
        std::thread::sleep(Duration::from_millis(5));
    }
    broker.kill9();
    stop.store(true, Ordering::Relaxed);
    producer.join().unwrap();
    let acked = acked.lock().unwrap().clone();
    broker.restart();
    let stored = fetch_all(&mut broker.conn(), "durable", 0, 0);
    assert!(
        stored.len() as u64 >= acked.len() as u64 * RECORDS_PER_BATCH,
        "lost acknowledged records"
    );
    // Offsets are dense from 0 and every stored value is the one produced at that position.
    for (i, (offset, value)) in stored.iter().enumerate() {
        assert_eq!(*offset, i as i64);
        assert_eq!(value, &format!("value-{i}"));
    }
    for (base, first_value) in acked {
        assert_eq!(
            base as u64, first_value,
            "acknowledged base offset must hold that batch"
        );
    }
}

/// Garbage after the last batch (a torn write) is cut off at restart; everything before it survives.
#[test]
fn torn_tail_is_truncated_and_data_before_it_survives() {
    let dir = temp_dir("torn");
    let mut broker = Broker::start(&dir, &[]);
    let mut conn = broker.conn();
    assert_eq!(create_topic(&mut conn, "torn", 1, &[]), 0);
    for i in 0..20 {
        assert_eq!(
            produce(&mut conn, "torn", 0, -1, batch_of(i * 5..i * 5 + 5, 1)).0,
            0
        );
    }
    broker.kill9();
    let segment = dir.join("torn-0").join(format!("{:020}.log", 0));
    let good_len = std::fs::metadata(&segment).unwrap().len();
    // Half a batch header plus junk, as a crash mid-write would leave.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&segment)
        .unwrap();
    std::io::Write::write_all(&mut f, &[0u8, 0, 0, 0, 0, 0, 0, 100, 0, 0, 1, 0, 7, 7]).unwrap();
    drop(f);
    broker.restart();
    assert_eq!(std::fs::metadata(&segment).unwrap().len(), good_len);
    let mut conn = broker.conn();
    let stored = fetch_all(&mut conn, "torn", 0, 0);
    assert_eq!(stored.len(), 100);
    // The log accepts new writes right after the recovered end.
    assert_eq!(
        produce(&mut conn, "torn", 0, -1, batch_of(100..105, 1)),
        (0, 100)
    );
}

/// A batch whose bytes were corrupted on disk (bad CRC) is truncated with everything after it.
#[test]
fn corrupt_batch_in_tail_is_truncated_with_what_follows() {
    let dir = temp_dir("corrupt");
    let mut broker = Broker::start(&dir, &[]);
    let mut conn = broker.conn();
    assert_eq!(create_topic(&mut conn, "corrupt", 1, &[]), 0);
    let mut ends = Vec::new();
    for i in 0..10 {
        produce(&mut conn, "corrupt", 0, -1, batch_of(i * 5..i * 5 + 5, 1));
        ends.push(
            std::fs::metadata(dir.join("corrupt-0").join(format!("{:020}.log", 0)))
                .unwrap()
                .len(),
        );
    }
    broker.kill9();
    let segment = dir.join("corrupt-0").join(format!("{:020}.log", 0));
    let mut bytes = std::fs::read(&segment).unwrap();
    let flip = ends[6] as usize + 70; // inside batch 7's records
    bytes[flip] ^= 0xff;
    std::fs::write(&segment, bytes).unwrap();
    broker.restart();
    let stored = fetch_all(&mut broker.conn(), "corrupt", 0, 0);
    assert_eq!(
        stored.len(),
        35,
        "batches 0..7 survive, the corrupt one and later are gone"
    );
}

/// A clean shutdown (SIGTERM) and restart keeps topics, offsets and data.
#[test]
fn clean_shutdown_and_restart_keep_topics_and_data() {
    let dir = temp_dir("restart");
    let mut broker = Broker::start(&dir, &[]);
    let mut conn = broker.conn();
    assert_eq!(create_topic(&mut conn, "keep", 3, &[]), 0);
    for p in 0..3 {
        for i in 0..10 {
            assert_eq!(
                produce(&mut conn, "keep", p, 1, batch_of(i * 3..i * 3 + 3, 1)).0,
                0
            );
        }
    }
    broker.stop_gracefully();
    broker.start_again();
    let mut conn = broker.conn();
    for p in 0..3 {
        assert_eq!(fetch_all(&mut conn, "keep", p, 0).len(), 30);
    }
    // The topic still exists: creating it again is refused.
    assert_eq!(create_topic(&mut conn, "keep", 3, &[]), 36);
    assert_eq!(produce(&mut conn, "keep", 0, 1, batch_of(0..1, 1)), (0, 30));
}

fn common_produce_request(records: bytes::Bytes) -> kafka_protocol::messages::ProduceRequest {
    use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
    let mut p = PartitionProduceData::default();
    p.index = 0;
    p.records = Some(records);
    let mut t = TopicProduceData::default();
    t.name = common::api::topic_name("durable");
    t.partition_data = vec![p];
    let mut req = kafka_protocol::messages::ProduceRequest::default();
    req.acks = -1;
    req.timeout_ms = 30_000;
    req.topic_data = vec![t];
    req
}

fn parse_base_offset(mut frame: bytes::Bytes) -> i64 {
    use kafka_protocol::protocol::Decodable;
    kafka_protocol::messages::ResponseHeader::decode(&mut frame, 1).unwrap();
    let resp = kafka_protocol::messages::ProduceResponse::decode(&mut frame, 9).unwrap();
    let p = &resp.responses[0].partition_responses[0];
    assert_eq!(p.error_code, 0);
    p.base_offset
}
