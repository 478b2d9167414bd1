//! Completing a decided transaction: every partition in it gets the COMMIT or ABORT marker from its
//! leader — this node's through `write_txn_markers::write_markers`, another node's over a
//! WriteTxnMarkers request — retried until each has it (a deleted partition needs none). Then the
//! coordinator persists the transaction Complete. If this node stops coordinating the id meanwhile,
//! the new coordinator finds the Prepare record on loading and completes it instead.
//! Also here: each shard's periodic pass that loads the `__transaction_state` partitions it came to
//! lead and aborts transactions open past their timeout.

use super::scope::Scope;
use super::write_txn_markers::{write_markers, MarkerWrite};
use crate::client::topic_name;
use crate::cluster::metadata::MetadataSnapshot;
use crate::coordinator::transactions::state::Completion;
use crate::replication::connection::LeaderLink;
use crate::storage::batch::Marker;
use kafka_protocol::messages::write_txn_markers_request::{
    WritableTxnMarker, WritableTxnMarkerTopic,
};
use kafka_protocol::messages::write_txn_markers_response::WritableTxnMarkerTopicResult;
use kafka_protocol::messages::{ProducerId, TopicName, WriteTxnMarkersRequest};
use kafka_protocol::ResponseError;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;
use tracing::{debug, warn};

const RETRY_MIN: Duration = Duration::from_millis(20);
const RETRY_MAX: Duration = Duration::from_secs(1);
const REMOTE_TIMEOUT: Duration = Duration::from_secs(35);
/// How often each shard looks for `__transaction_state` partitions it came to lead.
const LOAD_INTERVAL: Duration = Duration::from_millis(500);

/// Completes `completion` in the background on this shard; `state_partition` and `owner` locate the
/// coordinator that persists the end.
pub fn spawn_completion(scope: &Rc<Scope>, state_partition: i32, owner: usize, c: Completion) {
    let scope = scope.clone();
    glommio::spawn_local(async move { complete(&scope, state_partition, owner, c).await }).detach();
}

async fn complete(scope: &Rc<Scope>, state_partition: i32, owner: usize, c: Completion) {
    let mut remaining: Vec<(String, i32)> = c.partitions.iter().cloned().collect();
    let mut pause = RETRY_MIN;
    loop {
        remaining = write_round(scope, &c, remaining).await;
        if remaining.is_empty() {
            break;
        }
        glommio::timer::sleep(pause).await;
        pause = (pause * 2).min(RETRY_MAX);
        let still_here = scope
            .transactions
            .invoke_on(owner, move |t| async move {
                t.state_log(state_partition).is_ok()
            })
            .await;
        if still_here != Some(true) {
            debug!(transactional_id = %c.transactional_id, "no longer the coordinator; the new one completes the transaction");
            return;
        }
    }
    let id = c.transactional_id.clone();
    let done = scope
        .transactions
        .invoke_on(owner, move |t| async move {
            let log = t.state_log(state_partition)?;
            t.complete(&log, &c).await
        })
        .await;
    if let Some(Err(e)) = done {
        warn!(transactional_id = %id, error = %e, "transaction completed but its end not persisted");
    }
}

/// One attempt at every partition in `partitions`; returns those still without their marker.
async fn write_round(
    scope: &Rc<Scope>,
    c: &Completion,
    partitions: Vec<(String, i32)>,
) -> Vec<(String, i32)> {
    let metadata = scope.metadata();
    let mut by_leader: BTreeMap<i32, Vec<(String, i32)>> = BTreeMap::new();
    for (topic, partition) in partitions {
        // A partition deleted since needs no marker.
        if let Some(p) = metadata.partition(&topic, partition) {
            by_leader
                .entry(p.leader)
                .or_default()
                .push((topic, partition));
        }
    }
    let mut failed = Vec::new();
    for (leader, partitions) in by_leader {
        let write = marker_write(c, &partitions);
        let answered = if leader == metadata.node_id {
            Ok(write_markers(scope, write, true).await)
        } else {
            write_remote(&metadata, leader, write).await
        };
        match answered {
            Ok(topics) => failed.extend(failures(topics)),
            Err(e) => {
                debug!(leader, error = %e, "transaction markers not delivered; retrying");
                failed.extend(partitions);
            }
        }
    }
    failed
}

fn marker_write(c: &Completion, partitions: &[(String, i32)]) -> MarkerWrite {
    let mut topics: Vec<(TopicName, Vec<i32>)> = Vec::new();
    for (topic, partition) in partitions {
        match topics.last_mut() {
            Some((t, ps)) if t.0.as_str() == topic => ps.push(*partition),
            _ => topics.push((topic_name(topic), vec![*partition])),
        }
    }
    MarkerWrite {
        producer_id: c.producer_id,
        producer_epoch: c.producer_epoch,
        coordinator_epoch: c.coordinator_epoch,
        marker: if c.commit {
            Marker::Commit
        } else {
            Marker::Abort
        },
        topics,
    }
}

/// The partitions an answer says did not get their marker (a vanished partition needs none).
fn failures(topics: Vec<WritableTxnMarkerTopicResult>) -> Vec<(String, i32)> {
    let mut failed = Vec::new();
    for t in topics {
        for p in t.partitions {
            let done =
                p.error_code == 0 || p.error_code == ResponseError::UnknownTopicOrPartition.code();
            if !done {
                debug!(topic = %t.name.0, partition = p.partition_index, code = p.error_code, "marker refused; retrying");
                failed.push((t.name.0.to_string(), p.partition_index));
            }
        }
    }
    failed
}

async fn write_remote(
    metadata: &MetadataSnapshot,
    leader: i32,
    write: MarkerWrite,
) -> Result<Vec<WritableTxnMarkerTopicResult>, String> {
    let address = metadata
        .brokers
        .iter()
        .find(|b| b.node_id == leader)
        .and_then(|b| b.endpoint(None))
        .map(|e| format!("{}:{}", e.host, e.port))
        .ok_or_else(|| format!("no address for broker {leader}"))?;
    let mut link = LeaderLink::connect(&address)
        .await
        .map_err(|e| e.to_string())?;
    let mut marker = WritableTxnMarker::default();
    marker.producer_id = ProducerId(write.producer_id);
    marker.producer_epoch = write.producer_epoch;
    marker.coordinator_epoch = write.coordinator_epoch;
    marker.transaction_result = write.marker == Marker::Commit;
    marker.topics = write
        .topics
        .into_iter()
        .map(|(name, partition_indexes)| {
            let mut t = WritableTxnMarkerTopic::default();
            t.name = name;
            t.partition_indexes = partition_indexes;
            t
        })
        .collect();
    let mut req = WriteTxnMarkersRequest::default();
    req.markers = vec![marker];
    let resp = link
        .request(&req, 1, REMOTE_TIMEOUT)
        .await
        .map_err(|e| e.to_string())?;
    Ok(resp.markers.into_iter().flat_map(|m| m.topics).collect())
}

/// Every shard's transaction housekeeping: load the `__transaction_state` partitions it came to lead
/// (completing what it finds decided), and every `transaction.abort.timed.out.transaction.cleanup.interval.ms`
/// abort the transactions open past their timeout.
pub async fn run_housekeeping(scope: Rc<Scope>) {
    let expiry_every = Duration::from_millis(
        scope
            .config
            .transaction_abort_timed_out_transaction_cleanup_interval_ms
            .max(1),
    );
    let mut since_expiry = Duration::ZERO;
    let shard = scope.id;
    loop {
        glommio::timer::sleep(LOAD_INTERVAL).await;
        since_expiry += LOAD_INTERVAL;
        let Some(txns) = scope.transactions.local() else {
            continue;
        };
        for log in txns.led_partitions() {
            for c in txns.ensure_loaded(&log) {
                spawn_completion(&scope, log.partition, shard, c);
            }
        }
        if since_expiry >= expiry_every {
            since_expiry = Duration::ZERO;
            for (log, c) in txns.abort_expired().await {
                spawn_completion(&scope, log.partition, shard, c);
            }
        }
    }
}
