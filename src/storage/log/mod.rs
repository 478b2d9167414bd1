//! A partition's log on one shard: its segments, offsets, pending writes, group-committed fsyncs,
//! idempotent-producer state, and retention. Lives on exactly one shard (`!Send`); other shards reach it by
//! sending work to that shard, never by touching it.
//!
//! Write path: `append` validates sequences, assigns offsets and queues the batches (synchronously, so
//! requests keep their arrival order); a writer task scheduled once per burst writes everything queued with
//! one `pwritev` and advances the log end; `ensure_durable` batches fsyncs the same way. A follower's
//! `append_replicated` queues the leader's batches as they are, offsets and epochs included.
//!
//! Files: this one (opening and recovery, the write path and its durability waits), `replica.rs`
//! (assignment, high watermark, epochs, truncation), `retention.rs` (retention, compaction,
//! DeleteRecords), `read.rs` (fetch slices, timestamp lookups), `transactions.rs` (markers, aborted
//! transactions; the state itself is `storage::transactions`).
//!
//! Three ends: `log_end` (written), `durable` (fsynced) and `high_watermark` (written on every in-sync
//! replica, `replication::ReplicaSet`): consumers read below the high watermark, followers below the log
//! end. With one replica the high watermark is the log end.

mod read;
mod replica;
mod retention;
#[cfg(test)]
mod tests;
mod transactions;

pub use transactions::ActiveProducer;

use super::batch::{self, ValidBatch};
use super::checkpoint;
use super::compaction;
use super::epoch_cache::LeaderEpochCache;
use super::log_config::{LogConfig, TimestampType};
use super::producer_state::{ProducerStateTable, SequenceCheck, SequenceError};
use super::segment::{parse_segment_file_name, PendingBatch, ScanEnd, Segment};
use super::transactions::{AbortedTxn, TransactionState};
use crate::types::replica_set::{Assignment, ReplicaSet};
use crate::types::signal::OffsetWatch;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use thiserror::Error;
use tracing::{error, info, warn};

#[derive(Debug, Error)]
pub enum StorageError {
    #[error("I/O error on {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("partition log failed earlier and refuses writes: {0}")]
    Failed(String),
    #[error("the log was truncated below offset {0}: this replica is no longer the leader")]
    Truncated(i64),
}

#[derive(Debug, Error)]
pub enum AppendError {
    #[error(transparent)]
    Batch(#[from] batch::BatchError),
    #[error(transparent)]
    Sequence(#[from] SequenceError),
    #[error(transparent)]
    Marker(#[from] super::transactions::MarkerError),
    #[error(transparent)]
    Admission(#[from] super::admission::AdmissionError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("replicated batch at {base_offset} overlaps this log's end {next_offset}: the logs diverged")]
    Diverged { base_offset: i64, next_offset: i64 },
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ReadError {
    #[error("offset {offset} is outside [{log_start}, {log_end}]")]
    OutOfRange {
        offset: i64,
        log_start: i64,
        log_end: i64,
    },
    #[error("storage error: {0}")]
    Storage(String),
}

/// Bytes of one segment to send to a client: a zero-copy reference, valid on any shard.
#[derive(Clone, Debug)]
pub struct FileSlice {
    pub file: Arc<File>,
    pub position: u64,
    pub len: u64,
}

#[derive(Debug, PartialEq, Eq)]
pub struct AppendOutcome {
    pub base_offset: i64,
    /// One past the last offset of the appended batches: wait for the log end (or the high watermark)
    /// to reach this.
    pub end_offset: i64,
    pub duplicate: bool,
    /// The append time stamped on the batches (LogAppendTime topics), else -1.
    pub log_append_time_ms: i64,
}

struct LogState {
    dir: PathBuf,
    config: LogConfig,
    segments: BTreeMap<i64, Segment>,
    log_start_offset: i64,
    /// Next offset to assign (the log end offset, including queued writes).
    next_offset: i64,
    pending: Vec<PendingBatch>,
    /// Files of rolled segments whose last writes may not be fsynced yet.
    unsynced_rolled: Vec<PathBuf>,
    producers: ProducerStateTable,
    /// Open and aborted transactions, for the last stable offset and read_committed fetches.
    txns: TransactionState,
    /// Which leader epoch wrote which offsets (OffsetForLeaderEpoch, follower truncation).
    epochs: LeaderEpochCache,
    leader_epoch: i32,
    failed: Option<String>,
}

/// The counters a partition log updates: its own (registered once when opened) and its shard's
/// (fsync latency).
#[derive(Clone)]
pub struct LogMetrics {
    pub partition: Arc<crate::metrics::PartitionMetrics>,
    pub shard: Arc<crate::metrics::ShardMetrics>,
}

impl LogMetrics {
    /// Counters no registry reads (unit tests, tools).
    pub fn detached() -> LogMetrics {
        LogMetrics {
            partition: Arc::default(),
            shard: crate::metrics::ShardMetrics::detached(),
        }
    }
}

pub struct PartitionLog {
    pub topic: String,
    pub partition: i32,
    pub metrics: LogMetrics,
    state: RefCell<LogState>,
    /// Everything below is written to the segment files (followers may fetch it).
    pub log_end: OffsetWatch,
    /// Everything below is on every in-sync replica: consumers may read it, acks=all waits for it.
    pub high_watermark: OffsetWatch,
    replicas: RefCell<ReplicaSet>,
    /// Everything below has been fsynced.
    pub durable: OffsetWatch,
    /// The last stable offset: everything below is below the high watermark and in no undecided
    /// transaction. read_committed consumers read below it.
    pub last_stable: OffsetWatch,
    write_scheduled: Cell<bool>,
    sync_running: Cell<bool>,
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StorageError + '_ {
    move |source| StorageError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl PartitionLog {
    /// Opens (or creates) the partition directory, recovering every segment: headers are scanned, the last
    /// segment's CRCs are verified, and a torn or corrupt tail is truncated.
    pub fn open(
        dir: PathBuf,
        topic: &str,
        partition: i32,
        config: LogConfig,
        metrics: LogMetrics,
    ) -> Result<Rc<PartitionLog>, StorageError> {
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let mut bases: Vec<i64> = std::fs::read_dir(&dir)
            .map_err(io_err(&dir))?
            .filter_map(|e| e.ok())
            .filter_map(|e| parse_segment_file_name(&e.file_name().to_string_lossy()))
            .collect();
        bases.sort_unstable();
        let mut producers = ProducerStateTable::default();
        let mut txns = TransactionState::default();
        let mut epochs = LeaderEpochCache::default();
        let mut segments = BTreeMap::new();
        let mut expected_next: Option<i64> = None;
        for (i, &base) in bases.iter().enumerate() {
            let path = dir.join(super::segment::segment_file_name(base));
            let is_last = i + 1 == bases.len();
            if expected_next.is_some_and(|next| base < next) {
                warn!(path = %path.display(), "segment does not continue the previous one; removing it and all later ones");
                remove_segments_from(&dir, &bases[i..]);
                break;
            }
            let (seg, end) = Segment::open_and_scan(
                &path,
                base,
                config.index_interval_bytes,
                is_last,
                |h, marker| {
                    producers.record(h, h.base_offset);
                    txns.on_batch(h, marker);
                    epochs.assign(h.leader_epoch, h.base_offset);
                },
            )
            .map_err(io_err(&path))?;
            expected_next = Some(seg.next_offset);
            segments.insert(base, seg);
            if let ScanEnd::Torn { at, reason } = end {
                warn!(path = %path.display(), at, %reason, "truncated torn or corrupt log tail");
                remove_segments_from(&dir, &bases[i + 1..]);
                break;
            }
        }
        let next_offset = segments.values().next_back().map_or(0, |s| s.next_offset);
        let first_base = segments.keys().next().copied().unwrap_or(0);
        let log_start_offset = checkpoint::read_log_start(&dir)
            .map_or(first_base, |c| c.clamp(first_base, next_offset));
        if segments.is_empty() {
            let seg = Segment::create(&dir, 0).map_err(io_err(&dir))?;
            segments.insert(0, seg);
        }
        if next_offset > 0 {
            info!(
                topic,
                partition, log_start_offset, next_offset, "recovered partition log"
            );
        }
        Ok(Rc::new(PartitionLog {
            topic: topic.to_string(),
            partition,
            metrics,
            state: RefCell::new(LogState {
                dir,
                config,
                segments,
                log_start_offset,
                next_offset,
                pending: Vec::new(),
                unsynced_rolled: Vec::new(),
                producers,
                txns,
                epochs,
                leader_epoch: 0,
                failed: None,
            }),
            log_end: OffsetWatch::new(next_offset),
            // Not the recovered end: records above the old high watermark may be a tail no other
            // replica has. `assign` raises it (at once for a lone replica, with the followers'
            // fetches for a leader, with the leader's answers for a follower).
            high_watermark: OffsetWatch::new(log_start_offset),
            replicas: RefCell::default(),
            durable: OffsetWatch::new(next_offset),
            last_stable: OffsetWatch::new(log_start_offset),
            write_scheduled: Cell::new(false),
            sync_running: Cell::new(false),
        }))
    }

    pub fn log_start_offset(&self) -> i64 {
        self.state.borrow().log_start_offset
    }
    /// The next offset to assign (includes queued writes): a follower's fetch position.
    pub fn next_offset(&self) -> i64 {
        self.state.borrow().next_offset
    }
    pub fn config(&self) -> LogConfig {
        self.state.borrow().config.clone()
    }
    pub fn set_config(&self, config: LogConfig) {
        self.state.borrow_mut().config = config;
    }
    /// Bytes stored (written segments).
    pub fn size_bytes(&self) -> u64 {
        self.state.borrow().segments.values().map(|s| s.size).sum()
    }

    /// Accepts validated batches: dedupes idempotent retries, assigns offsets, queues the write.
    /// Synchronous on purpose: requests for one partition get offsets in the order they arrive.
    pub fn append(self: &Rc<Self>, batches: Vec<ValidBatch>) -> Result<AppendOutcome, AppendError> {
        let mut st = self.state.borrow_mut();
        if let Some(reason) = &st.failed {
            return Err(StorageError::Failed(reason.clone()).into());
        }
        // A request's batches are all checked before any is appended, so a bad one appends nothing.
        let mut duplicate_of = None;
        for b in &batches {
            if let SequenceCheck::Duplicate { base_offset } = st.producers.check(&b.header)? {
                duplicate_of = Some(base_offset);
            }
        }
        if let Some(base_offset) = duplicate_of {
            return Ok(AppendOutcome {
                base_offset,
                end_offset: base_offset + 1,
                duplicate: true,
                log_append_time_ms: -1,
            });
        }
        let base_offset = st.next_offset;
        let epoch = st.leader_epoch;
        let append_time = (st.config.timestamp_type == TimestampType::LogAppendTime).then(now_ms);
        st.epochs.assign(epoch, base_offset);
        for b in batches {
            let offset = st.next_offset;
            let mut header = b.header;
            header.base_offset = offset;
            header.leader_epoch = epoch;
            st.producers.record(&header, offset);
            st.txns
                .on_batch(&header, batch::marker_of(&header, &b.bytes));
            st.next_offset = header.last_offset() + 1;
            let mut pending = PendingBatch::new(&b.bytes, header);
            // Control batches (transaction markers) keep their own timestamps, as in Kafka.
            if let (Some(now), false) = (append_time, header.is_control()) {
                pending.stamp_log_append_time(now);
            }
            st.pending.push(pending);
        }
        let end_offset = st.next_offset;
        drop(st);
        self.schedule_write();
        Ok(AppendOutcome {
            base_offset,
            end_offset,
            duplicate: false,
            log_append_time_ms: append_time.unwrap_or(-1),
        })
    }

    /// A follower's append: the leader's batches with their offsets and leader epochs kept (the
    /// prefix is written back unchanged). Batches this log already holds are skipped; one that would
    /// overlap the log end or leave offsets out of order is refused. Returns the new next offset.
    pub fn append_replicated(
        self: &Rc<Self>,
        batches: Vec<ValidBatch>,
    ) -> Result<i64, AppendError> {
        let mut st = self.state.borrow_mut();
        if let Some(reason) = &st.failed {
            return Err(StorageError::Failed(reason.clone()).into());
        }
        let mut queued = false;
        for b in batches {
            let header = b.header;
            if header.last_offset() < st.next_offset {
                continue;
            }
            if header.base_offset < st.next_offset {
                return Err(AppendError::Diverged {
                    base_offset: header.base_offset,
                    next_offset: st.next_offset,
                });
            }
            st.producers.record(&header, header.base_offset);
            st.txns
                .on_batch(&header, batch::marker_of(&header, &b.bytes));
            st.epochs.assign(header.leader_epoch, header.base_offset);
            st.next_offset = header.last_offset() + 1;
            st.pending.push(PendingBatch::new(&b.bytes, header));
            queued = true;
        }
        let next = st.next_offset;
        drop(st);
        if queued {
            self.schedule_write();
        }
        Ok(next)
    }

    fn schedule_write(self: &Rc<Self>) {
        if self.write_scheduled.replace(true) {
            return;
        }
        let me = self.clone();
        glommio::spawn_local(async move {
            me.write_scheduled.set(false);
            me.write_pending();
        })
        .detach();
    }

    /// Writes every queued batch (rolling segments as needed) and publishes the new log end (and, as
    /// far as the replicas allow, the high watermark).
    fn write_pending(&self) {
        let mut st = self.state.borrow_mut();
        let pending = std::mem::take(&mut st.pending);
        if pending.is_empty() || st.failed.is_some() {
            return;
        }
        let end = pending.last().map(|b| b.header.last_offset() + 1);
        if let Err(e) = st.write_batches(&pending) {
            error!(topic = %self.topic, partition = self.partition, error = %e, "log write failed; partition refuses further writes");
            st.failed = Some(e.to_string());
            drop(st);
            // Wake waiters so they see the failure instead of hanging.
            self.log_end.reset(self.log_end.get());
            self.high_watermark.reset(self.high_watermark.get());
            self.last_stable.reset(self.last_stable.get());
            return;
        }
        drop(st);
        if let Some(end) = end {
            self.log_end.advance(end);
            self.refresh_high_watermark();
        }
    }

    /// Error from an earlier failed write, if any (waiters check this after waking).
    pub fn failure(&self) -> Option<String> {
        self.state.borrow().failed.clone()
    }

    /// Waits until everything below `end_offset` is fsynced. Concurrent callers share one fsync.
    pub async fn ensure_durable(self: &Rc<Self>, end_offset: i64) -> Result<(), StorageError> {
        self.wait_written(end_offset).await?;
        if self.durable.get() < end_offset && !self.sync_running.get() {
            self.clone().spawn_sync_loop();
        }
        self.durable.wait_for(end_offset).await;
        self.reached(&self.durable, end_offset)
    }

    /// Waits until the high watermark covers `end_offset` (every in-sync replica has the batch); false
    /// if `timeout` passes first or a truncation (this replica lost its leadership) woke the wait.
    pub async fn replicated_within(&self, end_offset: i64, timeout: std::time::Duration) -> bool {
        futures_lite::future::or(
            async {
                self.high_watermark.wait_for(end_offset).await;
                self.high_watermark.get() >= end_offset
            },
            async {
                glommio::timer::sleep(timeout).await;
                false
            },
        )
        .await
    }

    /// Waits until everything below `end_offset` is written to the segment files. A write that
    /// failed before this waiter arrived woke nobody it could reach: check first, or wait forever.
    pub async fn wait_written(&self, end_offset: i64) -> Result<(), StorageError> {
        if let Some(f) = self.failure() {
            return Err(StorageError::Failed(f));
        }
        self.log_end.wait_for(end_offset).await;
        self.reached(&self.log_end, end_offset)
    }

    /// Whether a woken waiter's `watch` really reached `end_offset`: a failed write or a truncation
    /// (`OffsetWatch::reset`) wakes waiters without it.
    fn reached(&self, watch: &OffsetWatch, end_offset: i64) -> Result<(), StorageError> {
        if let Some(f) = self.failure() {
            return Err(StorageError::Failed(f));
        }
        if watch.get() < end_offset {
            return Err(StorageError::Truncated(end_offset));
        }
        Ok(())
    }

    /// Runs fsyncs back to back while anything written is not yet durable.
    fn spawn_sync_loop(self: Rc<Self>) {
        self.sync_running.set(true);
        glommio::spawn_local(async move {
            while self.durable.get() < self.log_end.get() {
                let target = self.log_end.get();
                let files = self.state.borrow_mut().files_to_sync();
                let started = std::time::Instant::now();
                let synced = fdatasync_all(files).await;
                self.metrics.shard.fsync.observe(started.elapsed());
                if let Err(e) = synced {
                    error!(topic = %self.topic, partition = self.partition, error = %e, "fsync failed; partition refuses further writes");
                    self.state.borrow_mut().failed = Some(format!("fsync failed: {e}"));
                    self.durable.reset(self.durable.get());
                    break;
                }
                // A truncation meanwhile may have moved the log end below what was synced.
                self.durable.advance(target.min(self.log_end.get()));
            }
            self.sync_running.set(false);
        })
        .detach();
    }

    /// Background flush for data no producer waited on (flush.ms).
    pub fn flush_if_dirty(self: &Rc<Self>) {
        if self.durable.get() < self.log_end.get() && !self.sync_running.get() {
            self.clone().spawn_sync_loop();
        }
    }

    /// Flushes and forgets the log; `remove` also deletes its files (DeleteTopics).
    pub fn close(&self, remove: bool) {
        let st = self.state.borrow();
        if remove {
            if let Err(e) = std::fs::remove_dir_all(&st.dir) {
                warn!(dir = %st.dir.display(), error = %e, "could not remove deleted partition's directory");
            }
        } else if let Some(seg) = st.segments.values().next_back() {
            if let Err(e) = seg.file.sync_all() {
                warn!(path = %seg.path.display(), error = %e, "fsync on close failed");
            }
        }
    }
}

impl LogState {
    fn write_batches(&mut self, pending: &[PendingBatch]) -> Result<(), StorageError> {
        let mut start = 0;
        while start < pending.len() {
            self.roll_if_needed(&pending[start])?;
            // Write as many batches as fit in the active segment with one pwritev.
            let active = self
                .segments
                .values_mut()
                .next_back()
                .expect("a log always has an active segment");
            let room = (self.config.segment_bytes as u64).saturating_sub(active.size);
            let mut end = start + 1;
            let mut bytes = pending[start].size() as u64;
            while end < pending.len() && bytes + pending[end].size() as u64 <= room {
                bytes += pending[end].size() as u64;
                end += 1;
            }
            active
                .append(&pending[start..end], self.config.index_interval_bytes)
                .map_err(io_err(&active.path))?;
            start = end;
        }
        Ok(())
    }

    fn roll_if_needed(&mut self, next: &PendingBatch) -> Result<(), StorageError> {
        let active = self.segments.values().next_back().expect("active segment");
        let full =
            active.size > 0 && active.size + next.size() as u64 > self.config.segment_bytes as u64;
        let old = active.size > 0 && now_ms() - active.created_ms > self.config.segment_ms;
        if !(full || old) {
            return Ok(());
        }
        self.unsynced_rolled.push(active.path.clone());
        let seg = Segment::create(&self.dir, next.header.base_offset).map_err(io_err(&self.dir))?;
        self.segments.insert(seg.base_offset, seg);
        Ok(())
    }

    fn files_to_sync(&mut self) -> Vec<PathBuf> {
        let mut files = std::mem::take(&mut self.unsynced_rolled);
        if let Some(active) = self.segments.values().next_back() {
            files.push(active.path.clone());
        }
        files
    }
}

/// fdatasync through io_uring (glommio), so the shard keeps serving while the disk flushes. Any fd of
/// a file flushes the file's data, so each is opened just for this. A segment deleted meanwhile (by
/// retention) needs no flush.
async fn fdatasync_all(paths: Vec<PathBuf>) -> io::Result<()> {
    for path in paths {
        let file = match glommio::io::OpenOptions::new()
            .write(true)
            .buffered_open(&path)
            .await
        {
            Ok(f) => f,
            Err(e) => {
                let e: io::Error = e.into();
                if e.kind() == io::ErrorKind::NotFound {
                    continue;
                }
                return Err(e);
            }
        };
        file.fdatasync().await.map_err(io::Error::from)?;
        file.close().await.map_err(io::Error::from)?;
    }
    Ok(())
}

/// What recovery learns from each batch header: producer sequences and leader epochs.
fn remove_segments_from(dir: &Path, bases: &[i64]) {
    for base in bases {
        let path = dir.join(super::segment::segment_file_name(*base));
        if let Err(e) = std::fs::remove_file(&path) {
            warn!(path = %path.display(), error = %e, "could not remove segment after a torn one");
        }
    }
}
