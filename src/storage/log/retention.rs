//! Removing old data from a partition log: retention by time and size, compaction of sealed
//! segments, and DeleteRecords moving the log start forward.

use super::*;

impl PartitionLog {
    /// Drops whole segments past `retention.ms` or beyond `retention.bytes` (never the active one).
    /// Returns the number of segments deleted.
    pub fn enforce_retention(&self, now_ms: i64) -> usize {
        let mut st = self.state.borrow_mut();
        if !st.config.delete {
            return 0;
        }
        let retention_ms = st.config.retention_ms;
        let retention_bytes = st.config.retention_bytes;
        let mut total: i64 = st.segments.values().map(|s| s.size as i64).sum();
        let mut doomed = Vec::new();
        for seg in st
            .segments
            .values()
            .take(st.segments.len().saturating_sub(1))
        {
            let too_old = retention_ms >= 0
                && seg.max_timestamp >= 0
                && now_ms - seg.max_timestamp > retention_ms;
            let too_big = retention_bytes >= 0 && total - seg.size as i64 >= retention_bytes;
            if !(too_old || too_big) {
                break;
            }
            total -= seg.size as i64;
            doomed.push(seg.base_offset);
        }
        st.delete_segments(&doomed, &self.topic, self.partition, "retention");
        doomed.len()
    }

    /// One compaction round over the sealed segments (see `compaction.rs`); returns how many segments
    /// were rewritten. Does nothing unless the topic's cleanup.policy includes `compact`.
    pub fn compact(&self, now_ms: i64) -> usize {
        let mut st = self.state.borrow_mut();
        if !st.config.compact || st.segments.len() < 2 {
            return 0;
        }
        match st.compact_sealed(now_ms, self.last_stable.get()) {
            Ok(n) => {
                if n > 0 {
                    info!(topic = %self.topic, partition = self.partition, segments = n, "compacted");
                }
                n
            }
            Err(e) => {
                warn!(topic = %self.topic, partition = self.partition, error = %e, "compaction failed; log unchanged");
                0
            }
        }
    }

    /// DeleteRecords: moves the log start offset up to `offset` (<= high watermark) and drops segments
    /// entirely below it. Returns the new log start offset.
    pub fn delete_records_before(&self, offset: i64) -> Result<i64, ReadError> {
        let hw = self.high_watermark.get();
        let mut st = self.state.borrow_mut();
        let target = if offset == -1 { hw } else { offset };
        if target < 0 || target > hw {
            return Err(ReadError::OutOfRange {
                offset,
                log_start: st.log_start_offset,
                log_end: hw,
            });
        }
        if target > st.log_start_offset {
            checkpoint::write_log_start(&st.dir, target)
                .map_err(|e| ReadError::Storage(e.to_string()))?;
            st.log_start_offset = target;
            let doomed: Vec<i64> = st
                .segments
                .values()
                .take(st.segments.len().saturating_sub(1))
                .filter(|s| s.next_offset <= target)
                .map(|s| s.base_offset)
                .collect();
            st.delete_segments(&doomed, &self.topic, self.partition, "delete-records");
        }
        Ok(st.log_start_offset)
    }
}

impl LogState {
    /// Compacts the sealed segments below `last_stable` (an undecided transaction's records stay).
    fn compact_sealed(&mut self, now_ms: i64, last_stable: i64) -> io::Result<usize> {
        let newest = compaction::newest_offsets(self.segments.values())?;
        let horizon = now_ms.saturating_sub(self.config.delete_retention_ms);
        let aborted = self.txns.aborted_between(i64::MIN, i64::MAX);
        let sealed: Vec<i64> = self
            .segments
            .values()
            .take(self.segments.len() - 1)
            .filter(|s| s.next_offset <= last_stable)
            .map(|s| s.base_offset)
            .collect();
        let mut rewritten = 0;
        for base in sealed {
            let seg = &self.segments[&base];
            let Some(bytes) = compaction::compacted(seg, &newest, horizon, &aborted)? else {
                continue;
            };
            let tmp = seg.path.with_extension("log.cleaned");
            std::fs::write(&tmp, &bytes)?;
            std::fs::File::open(&tmp)?.sync_all()?;
            std::fs::rename(&tmp, &seg.path)?;
            let (clean, _) = Segment::open_and_scan(
                &seg.path,
                base,
                self.config.index_interval_bytes,
                false,
                |_, _| {},
            )?;
            self.segments.insert(base, clean);
            rewritten += 1;
        }
        Ok(rewritten)
    }

    pub(super) fn delete_segments(
        &mut self,
        bases: &[i64],
        topic: &str,
        partition: i32,
        why: &str,
    ) {
        for base in bases {
            if let Some(seg) = self.segments.remove(base) {
                // Open fds (e.g. a fetch still sending from it on another shard) keep the data until closed.
                if let Err(e) = std::fs::remove_file(&seg.path) {
                    warn!(path = %seg.path.display(), error = %e, "could not delete segment");
                }
                info!(topic, partition, base_offset = base, why, "deleted segment");
            }
        }
        if let Some(first) = self.segments.values().next() {
            self.log_start_offset = self.log_start_offset.max(first.base_offset);
        }
        self.txns.drop_below(self.log_start_offset);
    }
}
