//! A partition log's replica side: its assignment (leader or follower, ISR), the high watermark the
//! in-sync replicas allow, the leader-epoch lookups followers truncate by, and the truncation itself.

use super::*;

impl PartitionLog {
    pub fn leader_epoch(&self) -> i32 {
        self.state.borrow().leader_epoch
    }

    /// Whether this node leads the partition (always, until metadata says otherwise).
    pub fn is_leader(&self) -> bool {
        self.replicas.borrow().is_leader()
    }

    /// In-sync replicas as this leader knows them (min.insync.replicas counts these).
    pub fn in_sync_replicas(&self) -> usize {
        self.replicas.borrow().in_sync_replicas()
    }

    pub fn isr(&self) -> Vec<i32> {
        self.replicas.borrow().isr()
    }

    /// Applies the metadata's replicas, leader and ISR for this partition, as node `me`. Appends on
    /// the leader carry its epoch, which starts at the log end (Kafka's rule: a new leader's epoch
    /// begins where its log ends, whether or not it writes anything in it).
    pub fn assign(&self, me: i32, assignment: &Assignment) {
        if assignment.leader == me {
            let mut st = self.state.borrow_mut();
            st.leader_epoch = assignment.leader_epoch;
            let start = st.next_offset;
            st.epochs.assign(assignment.leader_epoch, start);
        }
        let mut replicas = self.replicas.borrow_mut();
        replicas.assign(me, assignment, std::time::Instant::now());
        let under = replicas.under_replicated();
        drop(replicas);
        self.metrics
            .partition
            .under_replicated
            .store(under, std::sync::atomic::Ordering::Relaxed);
        self.refresh_high_watermark();
    }

    /// Leader side: follower `replica` fetched from `offset` (its log end).
    pub fn record_follower_fetch(&self, replica: i32, offset: i64) {
        let now = std::time::Instant::now();
        self.replicas
            .borrow_mut()
            .record_fetch(replica, offset, self.log_end.get(), now);
        self.refresh_high_watermark();
    }

    /// Follower side: the leader's high watermark from a fetch answer.
    pub fn set_leader_high_watermark(&self, hw: i64) {
        self.replicas.borrow_mut().set_leader_high_watermark(hw);
        self.refresh_high_watermark();
    }

    /// Leader side: the ISR to ask the controller for, if it should change (`controller::isr`).
    pub fn wanted_isr(&self, lag_max: std::time::Duration) -> Option<Vec<i32>> {
        self.replicas.borrow().wanted_isr(
            self.high_watermark.get(),
            lag_max,
            std::time::Instant::now(),
        )
    }

    pub(super) fn refresh_high_watermark(&self) {
        let hw = self.replicas.borrow().high_watermark(self.log_end.get());
        self.high_watermark.advance(hw);
        let lso = self.state.borrow_mut().txns.last_stable_offset(hw);
        self.last_stable.advance(lso);
    }

    /// After the high watermark moved back (truncation): the LSO follows it down.
    pub(super) fn reset_last_stable(&self) {
        let hw = self.high_watermark.get();
        let lso = self.state.borrow_mut().txns.last_stable_offset(hw);
        self.last_stable.reset(lso);
    }

    /// OffsetForLeaderEpoch from the epoch cache: the largest epoch <= `epoch` and where the next
    /// one starts (the log end for the newest); `None` when unknown (`epoch_cache.rs`).
    pub fn end_offset_for_epoch(&self, epoch: i32) -> Option<(i32, i64)> {
        let st = self.state.borrow();
        st.epochs.end_offset_for(epoch, st.next_offset)
    }

    /// The epoch of the newest batch in this log (what a follower asks its leader about), if any.
    pub fn latest_epoch(&self) -> Option<i32> {
        self.state.borrow().epochs.latest().map(|e| e.epoch)
    }

    /// Removes every batch at or after `offset` from a live log (a follower's divergent tail): the
    /// segments past it are deleted, the one holding it is cut before that batch and rescanned as
    /// recovery does, the epoch cache is trimmed and the producer state rebuilt from what is left.
    /// The log end (and durable end and high watermark, never above it) move back. A batch that
    /// straddles `offset` goes whole, so the new end may be below `offset`. Returns the new end.
    pub fn truncate_to(&self, offset: i64) -> Result<i64, StorageError> {
        // Queued batches are written first, so the files are the whole log.
        self.write_pending();
        let mut st = self.state.borrow_mut();
        if let Some(reason) = &st.failed {
            return Err(StorageError::Failed(reason.clone()));
        }
        let old_end = st.next_offset;
        if offset >= old_end {
            // Nothing to remove, but an epoch this node led without writing in it (it starts at
            // the log end) is no longer this log's newest.
            st.epochs.truncate_from_end(offset);
            return Ok(old_end);
        }
        let (dir, target) = (st.dir.clone(), offset.max(st.log_start_offset));
        let result = st.truncate_segments(target).map_err(io_err(&dir));
        if let Err(e) = &result {
            error!(topic = %self.topic, partition = self.partition, error = %e, "log truncation failed; partition refuses further writes");
            st.failed = Some(e.to_string());
        }
        let new_end = st
            .segments
            .values()
            .next_back()
            .map_or(offset, |s| s.next_offset);
        st.next_offset = new_end;
        st.epochs.truncate_from_end(new_end);
        st.rebuild_producer_state();
        drop(st);
        self.log_end.reset(new_end);
        self.durable.reset(self.durable.get().min(new_end));
        self.high_watermark
            .reset(self.high_watermark.get().min(new_end));
        self.reset_last_stable();
        warn!(topic = %self.topic, partition = self.partition, from = old_end, to = new_end, "truncated the log to its leader's (divergent tail removed)");
        result.map(|_| new_end)
    }

    /// A follower whose whole log lies below its leader's log start (it was away longer than the
    /// leader's retention, or it is a new replica of an old partition) cannot fetch what it misses:
    /// everything goes and the log restarts empty at `offset` (Kafka's truncate-fully-and-start-at).
    /// The new start is checkpointed, so a restart reopens the empty log there.
    pub fn restart_at(&self, offset: i64) -> Result<(), StorageError> {
        self.write_pending();
        let mut st = self.state.borrow_mut();
        if let Some(reason) = &st.failed {
            return Err(StorageError::Failed(reason.clone()));
        }
        let old = (st.log_start_offset, st.next_offset);
        if offset <= old.1 {
            return Ok(()); // the log reaches the leader's range: ordinary truncation applies
        }
        let dir = st.dir.clone();
        let fresh = checkpoint::write_log_start(&dir, offset)
            .and_then(|_| Segment::create(&dir, offset))
            .map_err(io_err(&dir))?;
        let bases: Vec<i64> = st.segments.keys().copied().collect();
        st.segments.insert(offset, fresh);
        let doomed: Vec<i64> = bases.into_iter().filter(|&b| b != offset).collect();
        st.delete_segments(
            &doomed,
            &self.topic,
            self.partition,
            "below the leader's log start",
        );
        st.log_start_offset = offset;
        st.next_offset = offset;
        st.epochs.truncate_from_end(i64::MIN);
        st.producers = ProducerStateTable::default();
        st.txns = TransactionState::default();
        drop(st);
        for end in [
            &self.log_end,
            &self.durable,
            &self.high_watermark,
            &self.last_stable,
        ] {
            end.reset(offset);
        }
        warn!(topic = %self.topic, partition = self.partition, old_start = old.0, old_end = old.1, new_start = offset, "log restarted empty at the leader's log start");
        Ok(())
    }
}

impl LogState {
    /// Deletes the segments that start at or after `offset` (never the first: an emptied log keeps
    /// its first segment) and cuts the one holding `offset`.
    fn truncate_segments(&mut self, offset: i64) -> io::Result<()> {
        let first = *self
            .segments
            .keys()
            .next()
            .expect("a log always has a segment");
        let doomed: Vec<i64> = self
            .segments
            .range(offset.max(first + 1)..)
            .map(|(&b, _)| b)
            .collect();
        for base in doomed {
            if let Some(seg) = self.segments.remove(&base) {
                std::fs::remove_file(&seg.path)?;
            }
        }
        self.unsynced_rolled.retain(|p| p.exists());
        let interval = self.config.index_interval_bytes;
        let active = self
            .segments
            .values_mut()
            .next_back()
            .expect("a log always has a segment");
        active.truncate_to(offset, interval)
    }

    /// The producer and transaction state of exactly the batches in the segments (after a truncation).
    fn rebuild_producer_state(&mut self) {
        let mut producers = ProducerStateTable::default();
        let mut txns = TransactionState::default();
        for seg in self.segments.values() {
            let scanned = seg.for_each_header(|h, marker| {
                producers.record(h, h.base_offset);
                txns.on_batch(h, marker);
            });
            if let Err(e) = scanned {
                warn!(path = %seg.path.display(), error = %e, "cannot reread batch headers for the producer state");
            }
        }
        self.producers = producers;
        self.txns = txns;
    }
}
