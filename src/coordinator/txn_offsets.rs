//! Offsets committed inside a transaction (TxnOffsetCommit): written to `__consumer_offsets` at once,
//! visible to the group only when the producer's COMMIT marker reaches that partition.

use super::offsets_topic::{Committed, OffsetKey};
use std::collections::HashMap;

/// Per (`__consumer_offsets` partition, producer id): the commits its open transaction made there.
#[derive(Default)]
pub struct PendingTxnOffsets {
    by_producer: HashMap<(i32, i64), Vec<(OffsetKey, Committed)>>,
}

impl PendingTxnOffsets {
    pub fn add(
        &mut self,
        partition: i32,
        producer_id: i64,
        commits: impl IntoIterator<Item = (OffsetKey, Committed)>,
    ) {
        self.by_producer
            .entry((partition, producer_id))
            .or_default()
            .extend(commits);
    }

    /// The transaction's commits on `partition`, in commit order, now decided.
    pub fn take(&mut self, partition: i32, producer_id: i64) -> Vec<(OffsetKey, Committed)> {
        self.by_producer
            .remove(&(partition, producer_id))
            .unwrap_or_default()
    }

    pub fn contains(&self, key: &OffsetKey) -> bool {
        self.by_producer
            .values()
            .any(|commits| commits.iter().any(|(k, _)| k == key))
    }
}
