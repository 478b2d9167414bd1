//! A partition's leader-epoch cache (Kafka's LeaderEpochFileCache, KIP-101/KIP-279): which leader
//! epoch wrote which offsets, as (epoch, start offset) pairs in increasing order of both. Rebuilt from
//! the batch headers when a log opens, so it needs no file of its own. Followers compare it with
//! their leader's through OffsetForLeaderEpoch to find where their logs diverge.

/// (epoch, the first offset written in it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpochEntry {
    pub epoch: i32,
    pub start_offset: i64,
}

#[derive(Debug, Default)]
pub struct LeaderEpochCache {
    entries: Vec<EpochEntry>,
}

impl LeaderEpochCache {
    /// Notes that `epoch` writes from `start_offset` on. Only a newer epoch adds an entry; entries
    /// starting at or after `start_offset` belonged to a tail that is gone and are dropped first.
    /// Negative epochs (batches from before leader epochs existed) are ignored.
    pub fn assign(&mut self, epoch: i32, start_offset: i64) {
        if epoch < 0 || self.latest().is_some_and(|e| e.epoch >= epoch) {
            return;
        }
        self.truncate_from_end(start_offset);
        self.entries.push(EpochEntry {
            epoch,
            start_offset,
        });
    }

    /// The newest entry (the epoch of the last batch, or of the leadership this node holds).
    pub fn latest(&self) -> Option<EpochEntry> {
        self.entries.last().copied()
    }

    /// Drops every entry that starts at or after `end_offset` (the log was truncated there).
    pub fn truncate_from_end(&mut self, end_offset: i64) {
        self.entries.retain(|e| e.start_offset < end_offset);
    }

    /// OffsetForLeaderEpoch's answer for `requested` on a log ending at `log_end`: the largest epoch
    /// <= `requested` and the offset where the next larger epoch starts (the log end for the newest
    /// epoch). Below the first epoch: `requested` and the first epoch's start (nothing of it is
    /// here), as Kafka answers since KIP-279. `None` (UNDEFINED) for a negative or unknown (newer)
    /// epoch and for an empty cache.
    pub fn end_offset_for(&self, requested: i32, log_end: i64) -> Option<(i32, i64)> {
        let latest = self.latest()?;
        if requested < 0 || requested > latest.epoch {
            return None;
        }
        if requested == latest.epoch {
            return Some((requested, log_end));
        }
        let higher = self.entries.partition_point(|e| e.epoch <= requested);
        let next_start = self.entries[higher].start_offset;
        match higher.checked_sub(1) {
            Some(floor) => Some((self.entries[floor].epoch, next_start)),
            None => Some((requested, next_start)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(entries: &[(i32, i64)]) -> LeaderEpochCache {
        let mut c = LeaderEpochCache::default();
        for &(epoch, start) in entries {
            c.assign(epoch, start);
        }
        c
    }

    #[test]
    fn answers_the_floor_epoch_and_where_the_next_one_starts() {
        let c = cache(&[(1, 0), (3, 10), (5, 25)]);
        assert_eq!(
            c.end_offset_for(5, 40),
            Some((5, 40)),
            "newest: the log end"
        );
        assert_eq!(c.end_offset_for(3, 40), Some((3, 25)));
        assert_eq!(
            c.end_offset_for(4, 40),
            Some((3, 25)),
            "no epoch 4: its floor"
        );
        assert_eq!(c.end_offset_for(2, 40), Some((1, 10)));
        assert_eq!(c.end_offset_for(1, 40), Some((1, 10)));
        assert_eq!(c.end_offset_for(6, 40), None, "newer than any: unknown");
        assert_eq!(c.end_offset_for(-1, 40), None);
        let later = cache(&[(2, 7), (4, 9)]);
        assert_eq!(
            later.end_offset_for(1, 12),
            Some((1, 7)),
            "below the first epoch: nothing before its start is ours"
        );
        assert_eq!(LeaderEpochCache::default().end_offset_for(0, 0), None);
    }

    #[test]
    fn only_newer_epochs_add_entries() {
        let mut c = cache(&[(1, 0), (1, 5), (0, 7), (-1, 8)]);
        assert_eq!(
            c.latest(),
            Some(EpochEntry {
                epoch: 1,
                start_offset: 0
            })
        );
        c.assign(2, 9);
        assert_eq!(c.end_offset_for(1, 20), Some((1, 9)));
    }

    #[test]
    fn truncation_drops_epochs_that_start_past_the_new_end() {
        let mut c = cache(&[(1, 0), (3, 10), (5, 25)]);
        c.truncate_from_end(25);
        assert_eq!(c.latest().map(|e| e.epoch), Some(3));
        assert_eq!(c.end_offset_for(5, 25), None);
        c.truncate_from_end(11);
        assert_eq!(c.end_offset_for(3, 11), Some((3, 11)));
        // A newer epoch starting below the newest entry's start replaces the stale tail.
        c.assign(7, 4);
        assert_eq!(c.end_offset_for(3, 30), Some((1, 4)));
        assert_eq!(c.end_offset_for(7, 30), Some((7, 30)));
    }
}
