//! A partition log's transaction side: appending the COMMIT/ABORT markers WriteTxnMarkers asks for,
//! and what a read_committed fetch needs besides the last stable offset (`last_stable`): the aborted
//! transactions its records overlap; and the producers DescribeProducers lists.

use super::*;
use crate::storage::batch::{encode_marker, BatchHeader, Marker};
use crate::storage::producer_state::ProducerSummary;

/// A producer this partition remembers, with the first offset of its open transaction (if any).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActiveProducer {
    pub producer: ProducerSummary,
    pub open_since: Option<i64>,
    /// The epoch of the coordinator that wrote its newest marker here.
    pub coordinator_epoch: Option<i32>,
}

impl PartitionLog {
    /// Appends the marker that ends `producer_id`'s transaction here. A marker for a producer with
    /// nothing open is still written (Kafka does; the coordinator retries markers) but decides nothing.
    /// Refused when the producer already has a newer epoch, or a newer coordinator wrote its last marker.
    pub fn append_marker(
        self: &Rc<Self>,
        producer_id: i64,
        producer_epoch: i16,
        coordinator_epoch: i32,
        marker: Marker,
    ) -> Result<AppendOutcome, AppendError> {
        {
            let st = self.state.borrow();
            st.producers
                .check_marker_epoch(producer_id, producer_epoch)?;
            st.txns.check_marker(producer_id, coordinator_epoch)?;
        }
        let bytes = encode_marker(
            producer_id,
            producer_epoch,
            coordinator_epoch,
            marker,
            now_ms(),
        );
        let header = BatchHeader::parse(&bytes)?;
        self.append(vec![ValidBatch { header, bytes }])
    }

    /// Every producer whose batches this partition remembers (idempotent and transactional).
    pub fn active_producers(&self) -> Vec<ActiveProducer> {
        let st = self.state.borrow();
        st.producers
            .summaries()
            .map(|producer| ActiveProducer {
                producer,
                open_since: st.txns.open_since(producer.producer_id),
                coordinator_epoch: st.txns.coordinator_epoch(producer.producer_id),
            })
            .collect()
    }

    /// The aborted transactions a read of offsets `[from, to)` overlaps (a read_committed client drops
    /// those producers' batches in each one's range).
    pub fn aborted_between(&self, from: i64, to: i64) -> Vec<AbortedTxn> {
        self.state.borrow().txns.aborted_between(from, to)
    }
}
