//! PartitionLog on real files, without a broker: append, wait for the write, read back, recover after
//! reopening, truncate.

use super::*;
use crate::storage::batch::test_support::build_batch;
use crate::storage::batch::{validate_record_set, Marker};
use bytes::Bytes;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("shardlog-log-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn open(dir: &Path) -> Rc<PartitionLog> {
    let log = PartitionLog::open(
        dir.to_path_buf(),
        "t",
        0,
        LogConfig::kafka_defaults(),
        LogMetrics::detached(),
    )
    .expect("open the log");
    // This node leads the partition alone, so the high watermark follows the log end.
    log.assign(
        1,
        &Assignment {
            leader: 1,
            leader_epoch: 0,
            replicas: vec![1],
            isr: vec![1],
        },
    );
    log
}

fn batches(count: i32) -> Vec<ValidBatch> {
    let bytes = Bytes::from(build_batch(count, 1, (-1, -1, -1)));
    validate_record_set(&bytes, 1 << 20).expect("a valid batch")
}

#[test]
fn appended_batches_are_read_back_and_survive_a_reopen() {
    let dir = temp_dir("append");
    glommio::LocalExecutor::default().run(async {
        let log = open(&dir);
        let first = log.append(batches(3)).expect("append");
        let second = log.append(batches(2)).expect("append");
        assert_eq!((first.base_offset, second.base_offset), (0, 3));
        log.ensure_durable(second.end_offset)
            .await
            .expect("durable");
        assert_eq!(log.high_watermark.get(), 5);
        let (slice, records) = log.read(0, 1, 5).expect("read").expect("data");
        assert_eq!(
            records, 3,
            "at least the whole first batch, even above max_bytes"
        );
        assert!(slice.len > 0);
        assert!(log.read(5, 1 << 20, 5).expect("read at the end").is_none());
        log.close(false);
        let reopened = open(&dir);
        assert_eq!(reopened.next_offset(), 5, "recovery finds both batches");
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn truncation_cuts_the_log_end_back_to_a_batch_boundary() {
    let dir = temp_dir("truncate");
    glommio::LocalExecutor::default().run(async {
        let log = open(&dir);
        log.append(batches(3)).expect("append");
        let last = log.append(batches(2)).expect("append");
        log.wait_written(last.end_offset).await.expect("written");
        assert_eq!(log.truncate_to(3).expect("truncate"), 3);
        assert_eq!(log.next_offset(), 3);
        assert!(log
            .read(3, 1 << 20, log.log_end.get())
            .expect("read")
            .is_none());
        let again = log.append(batches(1)).expect("append after truncation");
        assert_eq!(again.base_offset, 3, "offsets continue from the cut");
    });
    let _ = std::fs::remove_dir_all(&dir);
}

/// One batch of records with these keys, transactional for `producer` when given.
fn keyed(keys: &[&str], producer: Option<i64>) -> Vec<ValidBatch> {
    use kafka_protocol::records::{
        Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
    };
    let records: Vec<Record> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| Record {
            transactional: producer.is_some(),
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: producer.unwrap_or(-1),
            producer_epoch: if producer.is_some() { 0 } else { -1 },
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: i as i32,
            timestamp: now_ms(),
            key: Some(Bytes::copy_from_slice(key.as_bytes())),
            value: Some(Bytes::from_static(b"v")),
            headers: Default::default(),
        })
        .collect();
    let mut buf = bytes::BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    RecordBatchEncoder::encode(&mut buf, &records, &options).expect("encode");
    validate_record_set(&buf.freeze(), 1 << 20).expect("a valid batch")
}

/// Every record in the log as (offset, key or "<marker>"), read from the files.
fn contents(log: &PartitionLog) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    let mut offset = log.log_start_offset();
    while let Some((slice, _)) = log.read(offset, 1 << 20, log.log_end.get()).expect("read") {
        let mut buf = vec![0u8; slice.len as usize];
        std::os::unix::fs::FileExt::read_exact_at(&*slice.file, &mut buf, slice.position)
            .expect("read the slice");
        let mut bytes = Bytes::from(buf);
        let sets = kafka_protocol::records::RecordBatchDecoder::decode_all(&mut bytes).unwrap();
        for r in sets.into_iter().flat_map(|s| s.records) {
            let name = match (r.control, r.key) {
                (true, _) => "<marker>".to_string(),
                (false, key) => String::from_utf8(key.unwrap().to_vec()).unwrap(),
            };
            offset = r.offset + 1;
            out.push((r.offset, name));
        }
    }
    out
}

#[test]
fn compaction_drops_aborted_records_keeps_markers_and_stops_at_the_last_stable_offset() {
    let dir = temp_dir("compact-txn");
    glommio::LocalExecutor::default().run(async {
        let mut config = LogConfig::kafka_defaults();
        config.compact = true;
        config.segment_bytes = 1; // every batch in a segment of its own
        let log = open(&dir);
        log.set_config(config);
        log.append(keyed(&["a", "b"], Some(5)))
            .expect("aborted txn");
        log.append_marker(5, 0, 1, Marker::Abort).expect("abort");
        log.append(keyed(&["c"], None)).expect("plain");
        log.append(keyed(&["d"], Some(6))).expect("open txn");
        let last = log.append(keyed(&["e"], None)).expect("plain, active");
        log.wait_written(last.end_offset).await.expect("written");
        assert_eq!(log.last_stable.get(), 4, "producer 6 is still open at 4");
        log.compact(now_ms());
        assert_eq!(
            contents(&log),
            vec![
                (2, "<marker>".into()),
                (3, "c".into()),
                (4, "d".into()),
                (5, "e".into())
            ],
            "aborted a and b are gone; the open transaction's d stays"
        );
        log.close(false);
        let reopened = open(&dir);
        assert_eq!(
            reopened.last_stable.get(),
            4,
            "recovery still sees producer 6's transaction open"
        );
        assert_eq!(contents(&reopened).len(), 4);
        assert!(
            reopened.aborted_between(0, 6).is_empty(),
            "the aborted records are gone, so their marker decides nothing after recovery"
        );
    });
    let _ = std::fs::remove_dir_all(&dir);
}
