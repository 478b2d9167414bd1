//! A follower's truncation before it fetches from a leader (Kafka's KIP-101 and KIP-279). A replica
//! that led (or followed another leader) may hold records above the high watermark that the current
//! leader never had; fetching from its own log end would keep them and count it as caught up. So
//! before fetching a partition at a new leader epoch the fetcher asks the leader, with
//! OffsetForLeaderEpoch, where the follower's newest epoch ends in the leader's log, and cuts its own
//! log there (`PartitionLog::truncate_to`), repeating with an older epoch while the answer names an
//! epoch the follower does not have.

use super::connection::{LeaderLink, LinkError};
use super::fetcher::ShardLogs;
use super::fetcher::{Fetcher, Followed, Following, Pause};
use kafka_protocol::messages::offset_for_leader_epoch_request::{
    OffsetForLeaderPartition, OffsetForLeaderTopic,
};
use kafka_protocol::messages::{BrokerId, OffsetForLeaderEpochRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use std::time::Duration;
use tracing::{debug, info};

/// v3: the first version with `replica_id` (a follower's question, not a consumer's).
const OFFSET_FOR_LEADER_EPOCH_VERSION: i16 = 3;
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a follower cuts its log after one answer.
#[derive(Debug, PartialEq, Eq)]
enum Cut {
    /// Everything below is the leader's: fetch from here.
    Final(i64),
    /// The answer names an epoch this log does not have: cut here, then ask again about the
    /// (older) epoch that is newest after the cut.
    Again(i64),
}

/// Kafka's rule. `answer`: the leader's (epoch, end offset) for the follower's newest epoch;
/// `own`: the follower's (epoch, end offset) for the answered epoch, from its own cache.
fn cut_point(answer: (i32, i64), own: Option<(i32, i64)>, log_end: i64, hw: i64) -> Cut {
    let (epoch, end) = answer;
    if epoch < 0 || end < 0 {
        // The leader knows no such epoch: keep only what is known to be committed.
        return Cut::Final(hw.min(log_end));
    }
    match own {
        Some((own_epoch, own_end)) if own_epoch == epoch => {
            Cut::Final(end.min(own_end).min(log_end))
        }
        Some((_, own_end)) => Cut::Again(own_end.min(log_end)),
        None => Cut::Final(end.min(log_end)),
    }
}

/// The partitions of `fetcher` that must truncate before their next fetch.
pub(super) fn pending(fetcher: &Fetcher) -> Option<Followed> {
    let pending: Followed = fetcher
        .partitions
        .borrow()
        .iter()
        .filter(|(_, f)| !f.truncated)
        .map(|(k, f)| (k.clone(), *f))
        .collect();
    (!pending.is_empty()).then_some(pending)
}

fn mark_truncated(fetcher: &Fetcher, key: &(String, i32), at: Following) {
    if let Some(f) = fetcher.partitions.borrow_mut().get_mut(key) {
        if *f == at {
            f.truncated = true;
        }
    }
}

/// One round of truncation for `pending`: an empty log is done at once; the others ask the leader
/// and cut. Partitions that need another round (or were refused) stay pending.
pub(super) async fn truncate(
    shard: &ShardLogs,
    link: &mut LeaderLink,
    fetcher: &Fetcher,
    pending: Followed,
) -> Result<Option<Pause>, LinkError> {
    let mut topics: Vec<OffsetForLeaderTopic> = Vec::new();
    let mut asked = Followed::new();
    for (key, following) in pending {
        let Some(log) = shard.partition(&key.0, key.1) else {
            continue;
        };
        let Some(last_epoch) = log.latest_epoch() else {
            // Nothing written: nothing can diverge.
            mark_truncated(fetcher, &key, following);
            continue;
        };
        let mut p = OffsetForLeaderPartition::default();
        p.partition = key.1;
        p.current_leader_epoch = following.epoch;
        p.leader_epoch = last_epoch;
        match topics.last_mut() {
            Some(t) if t.topic.0.as_str() == key.0 => t.partitions.push(p),
            _ => {
                let mut t = OffsetForLeaderTopic::default();
                t.topic = TopicName(StrBytes::from_string(key.0.clone()));
                t.partitions.push(p);
                topics.push(t);
            }
        }
        asked.insert(key, following);
    }
    if topics.is_empty() {
        return Ok(None);
    }
    let mut req = OffsetForLeaderEpochRequest::default();
    req.replica_id = BrokerId(shard.metadata().node_id);
    req.topics = topics;
    let response = link
        .request(&req, OFFSET_FOR_LEADER_EPOCH_VERSION, ANSWER_TIMEOUT)
        .await?;
    let mut trouble = None;
    for topic in response.topics {
        for p in topic.partitions {
            let key = (topic.topic.0.to_string(), p.partition);
            let Some(&at) = asked.get(&key) else {
                continue;
            };
            // A newer epoch arrived meanwhile: that one asks again.
            if fetcher.follows_at(&key, at.epoch) != Some(at) {
                continue;
            }
            let Some(log) = shard.partition(&key.0, key.1) else {
                continue;
            };
            if p.error_code != 0 {
                let error = ResponseError::try_from_code(p.error_code);
                debug!(topic = %log.topic, partition = log.partition, ?error, "leader refused OffsetForLeaderEpoch");
                trouble = Some(Pause::refused(&log, error));
                continue;
            }
            let own = log.end_offset_for_epoch(p.leader_epoch);
            let cut = cut_point(
                (p.leader_epoch, p.end_offset),
                own,
                log.next_offset(),
                log.high_watermark.get(),
            );
            let (Cut::Final(offset) | Cut::Again(offset)) = cut;
            let end = match log.truncate_to(offset) {
                Ok(end) => end,
                Err(e) => {
                    let why = format!("{}-{}: cannot truncate: {e}", log.topic, log.partition);
                    trouble = Some(Pause::from(why));
                    continue;
                }
            };
            if let Cut::Final(_) = cut {
                info!(topic = %log.topic, partition = log.partition, leader_epoch = at.epoch, answered_epoch = p.leader_epoch, answered_end = p.end_offset, fetch_offset = end, "follower log matches its leader's; fetching");
                mark_truncated(fetcher, &key, at);
            }
        }
    }
    Ok(trouble)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_where_the_leaders_copy_of_the_epoch_ends() {
        // The old leader wrote epoch 0 to 15; the new leader's epoch 0 ends at 10.
        assert_eq!(cut_point((0, 10), Some((0, 15)), 15, 15), Cut::Final(10));
        // A follower behind the leader keeps everything.
        assert_eq!(cut_point((3, 40), Some((3, 22)), 22, 20), Cut::Final(22));
        // The leader answers epoch 1; this log's epoch 1 ended earlier (epoch 3 began at 5).
        assert_eq!(cut_point((1, 7), Some((1, 5)), 8, 4), Cut::Final(5));
    }

    #[test]
    fn an_epoch_this_log_lacks_means_another_round() {
        // The leader's answer is epoch 2; this log has epochs 1 (to 6) and 3 only.
        assert_eq!(cut_point((2, 9), Some((1, 6)), 12, 4), Cut::Again(6));
    }

    #[test]
    fn an_unknown_epoch_keeps_only_the_high_watermark() {
        assert_eq!(cut_point((-1, -1), Some((0, 15)), 15, 11), Cut::Final(11));
    }
}
