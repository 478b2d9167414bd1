//! PartitionLog on real files, without a broker: append, wait for the write, read back, recover after
//! reopening, truncate.

use super::*;
use crate::storage::batch::test_support::build_batch;
use crate::storage::batch::validate_record_set;
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
