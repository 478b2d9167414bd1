//! Log compaction (`cleanup.policy=compact`): keep only the newest record of every key, keep offsets.
//!
//! A round reads every record's key across the partition to learn each key's newest offset, then
//! rewrites each *sealed* segment (never the active one) with only the records that are still the newest
//! for their key, dropping tombstones (null values) older than `delete.retention.ms`. Kept records keep
//! their offsets (batches just get gaps) and their compression codec. The rewrite goes to a temporary
//! file that is fsynced and renamed over the segment, so a crash leaves either the old or the new one;
//! readers still sending from the old file keep their open descriptor.
//!
//! Transactions: only segments wholly below the last stable offset are rewritten (an undecided
//! transaction's records stay as written); records of aborted transactions are removed; transaction
//! markers are kept as they are (they are not keyed records), so recovery still pairs every remaining
//! transactional batch with its marker. Kept records of committed transactions become plain records.

use super::segment::Segment;
use super::transactions::AbortedTxn;
use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, RecordSet,
};
use std::collections::HashMap;
use std::io;
use std::os::unix::fs::FileExt;

fn batches_of(seg: &Segment) -> io::Result<Vec<RecordSet>> {
    let mut buf = vec![0u8; seg.size as usize];
    seg.file.read_exact_at(&mut buf, 0)?;
    let mut bytes = Bytes::from(buf);
    let mut sets = Vec::new();
    while !bytes.is_empty() {
        let set = RecordBatchDecoder::decode(&mut bytes)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
        sets.push(set);
    }
    Ok(sets)
}

/// The newest offset of every key in `segments`.
pub fn newest_offsets<'a>(
    segments: impl Iterator<Item = &'a Segment>,
) -> io::Result<HashMap<Bytes, i64>> {
    let mut newest = HashMap::new();
    for seg in segments {
        for set in batches_of(seg)? {
            for r in set.records.into_iter().filter(|r| !r.control) {
                if let Some(key) = r.key {
                    newest.insert(key, r.offset);
                }
            }
        }
    }
    Ok(newest)
}

/// Each producer's aborted offset ranges, so a record's check does not scan every aborted transaction.
fn aborted_ranges(aborted: &[AbortedTxn]) -> HashMap<i64, Vec<(i64, i64)>> {
    let mut ranges: HashMap<i64, Vec<(i64, i64)>> = HashMap::new();
    for a in aborted {
        ranges
            .entry(a.producer_id)
            .or_default()
            .push((a.first_offset, a.last_offset));
    }
    ranges
}

fn in_aborted(r: &Record, aborted: &HashMap<i64, Vec<(i64, i64)>>) -> bool {
    r.transactional
        && aborted.get(&r.producer_id).is_some_and(|ranges| {
            ranges
                .iter()
                .any(|&(first, last)| (first..=last).contains(&r.offset))
        })
}

/// The compacted contents of `seg`, or `None` when compaction would not remove anything.
/// Tombstones whose timestamp is before `tombstone_horizon_ms` are removed too, and the records of
/// the `aborted` transactions.
pub fn compacted(
    seg: &Segment,
    newest: &HashMap<Bytes, i64>,
    tombstone_horizon_ms: i64,
    aborted: &[AbortedTxn],
) -> io::Result<Option<Vec<u8>>> {
    let aborted = aborted_ranges(aborted);
    let mut out = BytesMut::new();
    let mut removed = false;
    for set in batches_of(seg)? {
        let options = RecordEncodeOptions {
            version: 2,
            compression: set.compression,
        };
        if set.records.first().is_some_and(|r| r.control) {
            RecordBatchEncoder::encode(&mut out, &set.records, &options)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
            continue;
        }
        let kept: Vec<_> = set
            .records
            .into_iter()
            .filter(|r| {
                let newest_for_key = r
                    .key
                    .as_ref()
                    .is_some_and(|k| newest.get(k) == Some(&r.offset));
                let expired_tombstone = r.value.is_none() && r.timestamp < tombstone_horizon_ms;
                let keep = newest_for_key && !expired_tombstone && !in_aborted(r, &aborted);
                removed |= !keep;
                keep
            })
            .collect();
        let Some(first) = kept.first().map(|r| r.offset) else {
            continue;
        };
        let records: Vec<_> = kept
            .into_iter()
            .map(|mut r| {
                // Rewritten batches no longer belong to an idempotent producer's sequence, and
                // kafka-protocol starts a new batch whenever offset - sequence changes: keep it constant.
                r.producer_id = -1;
                r.producer_epoch = -1;
                r.transactional = false;
                r.sequence = (r.offset - first) as i32;
                r
            })
            .collect();
        RecordBatchEncoder::encode(&mut out, &records, &options)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
    }
    Ok(removed.then(|| out.to_vec()))
}
