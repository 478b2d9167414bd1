//! Sparse per-segment indexes: offset → file position, and timestamp → offset.
//! An entry is added every `log.index.interval.bytes` of log, so a lookup lands at most that far before the
//! target and the reader scans forward over batch headers. Kept in memory only: startup scans every batch
//! header anyway (recovery and producer state need it), and rebuilds the index in the same pass.

/// One offset index entry: offset relative to the segment base, byte position in the segment file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OffsetEntry {
    pub relative_offset: u32,
    pub position: u32,
}

/// One time index entry: largest timestamp seen up to and including the batch at `relative_offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeEntry {
    pub max_timestamp: i64,
    pub relative_offset: u32,
}

#[derive(Debug, Default)]
pub struct SegmentIndex {
    offsets: Vec<OffsetEntry>,
    times: Vec<TimeEntry>,
    bytes_since_entry: u32,
}

impl SegmentIndex {
    /// Records that a batch starting at `position` with the given offsets was appended; adds an entry when
    /// enough bytes have passed since the last one (the first batch always gets one).
    pub fn on_append(
        &mut self,
        interval_bytes: u32,
        relative_offset: u32,
        position: u32,
        batch_len: u32,
        max_timestamp_so_far: i64,
    ) {
        if self.offsets.is_empty() || self.bytes_since_entry >= interval_bytes {
            self.offsets.push(OffsetEntry {
                relative_offset,
                position,
            });
            if self
                .times
                .last()
                .is_none_or(|t| max_timestamp_so_far > t.max_timestamp)
            {
                self.times.push(TimeEntry {
                    max_timestamp: max_timestamp_so_far,
                    relative_offset,
                });
            }
            self.bytes_since_entry = 0;
        }
        self.bytes_since_entry = self.bytes_since_entry.saturating_add(batch_len);
    }

    /// The last entry at or before `relative_offset` (where a forward scan should start).
    pub fn floor_position(&self, relative_offset: u32) -> u32 {
        let idx = self
            .offsets
            .partition_point(|e| e.relative_offset <= relative_offset);
        if idx == 0 {
            0
        } else {
            self.offsets[idx - 1].position
        }
    }

    /// The position of the last entry at or before byte `position` (a batch boundary to scan from).
    pub fn floor_by_position(&self, position: u32) -> u32 {
        let idx = self.offsets.partition_point(|e| e.position <= position);
        if idx == 0 {
            0
        } else {
            self.offsets[idx - 1].position
        }
    }

    /// The offset entry to start a scan from for the first batch whose max timestamp is >= `timestamp`.
    pub fn floor_for_timestamp(&self, timestamp: i64) -> u32 {
        let idx = self.times.partition_point(|e| e.max_timestamp < timestamp);
        // Entries before idx all end below the target, so the batch we want starts after the previous one.
        let relative = if idx == 0 {
            0
        } else {
            self.times[idx - 1].relative_offset
        };
        self.floor_position(relative)
    }

    pub fn entries(&self) -> usize {
        self.offsets.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index_of(batches: &[(u32, u32, u32, i64)], interval: u32) -> SegmentIndex {
        let mut idx = SegmentIndex::default();
        let mut max_ts = i64::MIN;
        for &(rel, pos, len, ts) in batches {
            max_ts = max_ts.max(ts);
            idx.on_append(interval, rel, pos, len, max_ts);
        }
        idx
    }

    #[test]
    fn entries_are_sparse_and_lookup_floors() {
        // 10 batches of 1000 bytes, 10 records each; an entry every 4096 bytes.
        let batches: Vec<_> = (0..10)
            .map(|i| (i * 10, i * 1000, 1000, 100 + i64::from(i)))
            .collect();
        let idx = index_of(&batches, 4096);
        assert_eq!(idx.entries(), 2); // at batch 0 and at batch 5 (5000 bytes later); batches 6-9 add 4000 < 4096
        assert_eq!(idx.floor_position(0), 0);
        assert_eq!(idx.floor_position(49), 0);
        assert_eq!(idx.floor_position(50), 5000);
        assert_eq!(idx.floor_position(99), 5000);
    }

    #[test]
    fn timestamp_lookup_never_skips_the_target() {
        let batches: Vec<_> = (0..10)
            .map(|i| (i * 10, i * 1000, 1000, 100 + i64::from(i)))
            .collect();
        let idx = index_of(&batches, 1);
        // batch 7 is the first with max ts >= 107; the scan must start at or before position 7000.
        assert!(idx.floor_for_timestamp(107) <= 7000);
        assert_eq!(idx.floor_for_timestamp(0), 0);
    }
}
