//! Partition reassignment (Kafka's AlterPartitionReassignments, KIP-455): a partition moves to a new
//! replica list online. Starting adds the new replicas to the list (they fetch from the leader like
//! any follower and join the ISR once caught up); when every added replica is in sync the active
//! controller completes it: the list becomes the target, replicas no longer wanted leave (their
//! node deletes its copy), and if the leader was one of them an in-sync target replica takes over
//! with a new leader epoch. Pure functions of the image, run inside `Controller::commit`.

use super::fencing::NO_LEADER;
use super::metadata::{MetadataImage, PartitionRecord, ReassignmentRecord};
use super::placement;
use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ReassignError {
    #[error("no partition {1} of topic '{0}'")]
    UnknownPartition(String, i32),
    #[error("invalid replica assignment: {0}")]
    InvalidAssignment(String),
    #[error("no reassignment of {0}-{1} is in progress")]
    NoneInProgress(String, i32),
}

/// Starts moving `topic`-`partition` to `target` (replacing a reassignment under way). Completes at
/// once when nothing needs to catch up.
pub fn start(
    image: &mut MetadataImage,
    topic: &str,
    partition: i32,
    target: &[i32],
) -> Result<(), ReassignError> {
    check_target(image, target)?;
    partition_mut(image, topic, partition)?;
    if image.reassignments.iter().any(|r| is(r, topic, partition)) {
        cancel(image, topic, partition)?;
    }
    let original = partition_mut(image, topic, partition)?.replicas.clone();
    let adding: Vec<i32> = target
        .iter()
        .copied()
        .filter(|r| !original.contains(r))
        .collect();
    let shards: Vec<u32> = adding
        .iter()
        .map(|&node| {
            let broker = image.broker(node).expect("checked: registered");
            placement::shard_for(image, broker, partition as usize)
        })
        .collect();
    let p = partition_mut(image, topic, partition)?;
    p.replicas.extend(&adding);
    p.replica_shards.extend(shards);
    image.reassignments.push(ReassignmentRecord {
        topic: topic.to_string(),
        partition,
        target: target.to_vec(),
        adding,
    });
    complete_ready(image);
    Ok(())
}

/// Cancels a reassignment under way: the added replicas leave again.
pub fn cancel(image: &mut MetadataImage, topic: &str, partition: i32) -> Result<(), ReassignError> {
    let at = image
        .reassignments
        .iter()
        .position(|r| is(r, topic, partition))
        .ok_or_else(|| ReassignError::NoneInProgress(topic.to_string(), partition))?;
    let r = image.reassignments.remove(at);
    let fenced = image.fenced_brokers.clone();
    let p = partition_mut(image, topic, partition)?;
    let keep: Vec<i32> = p
        .replicas
        .iter()
        .copied()
        .filter(|x| !r.adding.contains(x))
        .collect();
    narrow(p, &keep, &fenced);
    Ok(())
}

/// Completes every reassignment whose added replicas are all in sync. Returns how many completed.
pub fn complete_ready(image: &mut MetadataImage) -> usize {
    let fenced = image.fenced_brokers.clone();
    let mut done = Vec::new();
    for (i, r) in image.reassignments.iter().enumerate() {
        let p = image
            .topics
            .iter()
            .find(|t| t.name == r.topic)
            .and_then(|t| t.partitions.get(r.partition as usize));
        if p.is_some_and(|p| ready(p, r)) {
            done.push(i);
        }
    }
    for &i in done.iter().rev() {
        let r = image.reassignments.remove(i);
        if let Ok(p) = partition_mut(image, &r.topic, r.partition) {
            narrow(p, &r.target, &fenced);
        }
    }
    done.len()
}

/// Whether some reassignment could complete now.
pub fn completion_pending(image: &MetadataImage) -> bool {
    image.reassignments.iter().any(|r| {
        image
            .topics
            .iter()
            .find(|t| t.name == r.topic)
            .and_then(|t| t.partitions.get(r.partition as usize))
            .is_some_and(|p| ready(p, r))
    })
}

/// Every added replica in sync, and some target replica in sync to lead.
fn ready(p: &PartitionRecord, r: &ReassignmentRecord) -> bool {
    r.adding.iter().all(|a| p.isr.contains(a)) && r.target.iter().any(|t| p.isr.contains(t))
}

/// Makes `replicas` (in that order, each keeping its shard) the partition's replica list; the ISR
/// keeps only those, and a leader outside them hands over to the first (in their order) in-sync,
/// unfenced one.
fn narrow(p: &mut PartitionRecord, replicas: &[i32], fenced: &[i32]) {
    p.replica_shards = replicas
        .iter()
        .map(|&r| p.shard_on(r).expect("a target replica is in the list"))
        .collect();
    p.replicas = replicas.to_vec();
    p.isr.retain(|r| replicas.contains(r));
    if !replicas.contains(&p.leader) {
        // In the new list's order, as Kafka's reassignment election: the first listed replica is
        // the one the operator wants to lead.
        p.leader = replicas
            .iter()
            .copied()
            .find(|r| p.isr.contains(r) && !fenced.contains(r))
            .unwrap_or(NO_LEADER);
        p.leader_epoch += 1;
    }
}

fn check_target(image: &MetadataImage, target: &[i32]) -> Result<(), ReassignError> {
    if target.is_empty() {
        return Err(ReassignError::InvalidAssignment("no replicas given".into()));
    }
    for (i, r) in target.iter().enumerate() {
        if target[..i].contains(r) {
            return Err(ReassignError::InvalidAssignment(format!(
                "broker {r} listed twice"
            )));
        }
        if image.broker(*r).is_none() {
            return Err(ReassignError::InvalidAssignment(format!(
                "broker {r} is not registered"
            )));
        }
    }
    Ok(())
}

fn is(r: &ReassignmentRecord, topic: &str, partition: i32) -> bool {
    r.topic == topic && r.partition == partition
}

fn partition_mut<'a>(
    image: &'a mut MetadataImage,
    topic: &str,
    partition: i32,
) -> Result<&'a mut PartitionRecord, ReassignError> {
    image
        .topics
        .iter_mut()
        .find(|t| t.name == topic)
        .and_then(|t| t.partitions.get_mut(usize::try_from(partition).ok()?))
        .ok_or_else(|| ReassignError::UnknownPartition(topic.to_string(), partition))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::metadata::{BrokerRecord, TopicRecord};

    fn image() -> MetadataImage {
        MetadataImage {
            brokers: (1..=4)
                .map(|node_id| BrokerRecord {
                    node_id,
                    endpoints: vec![],
                    shards: 2,
                    rack: None,
                    raft_address: None,
                })
                .collect(),
            topics: vec![TopicRecord {
                name: "t".into(),
                id: [1; 16],
                partitions: vec![PartitionRecord {
                    replicas: vec![1, 2, 3],
                    replica_shards: vec![0, 1, 0],
                    leader: 1,
                    leader_epoch: 4,
                    isr: vec![1, 2, 3],
                }],
                configs: vec![],
            }],
            ..Default::default()
        }
    }

    fn part(image: &MetadataImage) -> &PartitionRecord {
        &image.topics[0].partitions[0]
    }

    #[test]
    fn a_new_replica_catches_up_before_the_old_one_leaves_and_the_leader_moves() {
        let mut img = image();
        start(&mut img, "t", 0, &[4, 2, 3]).unwrap();
        assert_eq!(part(&img).replicas, vec![1, 2, 3, 4]);
        assert_eq!(part(&img).replica_shards.len(), 4);
        assert!(!completion_pending(&img), "4 is not in sync yet");
        img.topics[0].partitions[0].isr.push(4);
        assert!(completion_pending(&img));
        assert_eq!(complete_ready(&mut img), 1);
        let p = part(&img);
        assert_eq!(
            (p.replicas.clone(), p.isr.clone()),
            (vec![4, 2, 3], vec![2, 3, 4])
        );
        assert_eq!(p.replica_shards[1..], [1, 0]);
        assert_eq!(
            (p.leader, p.leader_epoch),
            (4, 5),
            "the leader left: the first in-sync target replica leads"
        );
        assert!(img.reassignments.is_empty());
    }

    #[test]
    fn shrinking_completes_at_once_and_cancelling_restores_the_list() {
        let mut img = image();
        start(&mut img, "t", 0, &[1, 2]).unwrap();
        assert_eq!(
            (part(&img).replicas.clone(), part(&img).leader),
            (vec![1, 2], 1)
        );
        assert!(img.reassignments.is_empty());

        start(&mut img, "t", 0, &[1, 2, 4]).unwrap();
        assert_eq!(part(&img).replicas, vec![1, 2, 4]);
        cancel(&mut img, "t", 0).unwrap();
        assert_eq!(part(&img).replicas, vec![1, 2]);
        assert_eq!(
            cancel(&mut img, "t", 0),
            Err(ReassignError::NoneInProgress("t".into(), 0))
        );
    }

    #[test]
    fn bad_targets_are_refused() {
        let mut img = image();
        assert!(matches!(
            start(&mut img, "t", 0, &[]),
            Err(ReassignError::InvalidAssignment(_))
        ));
        assert!(matches!(
            start(&mut img, "t", 0, &[1, 1]),
            Err(ReassignError::InvalidAssignment(_))
        ));
        assert!(matches!(
            start(&mut img, "t", 0, &[9]),
            Err(ReassignError::InvalidAssignment(_))
        ));
        assert!(matches!(
            start(&mut img, "t", 3, &[1]),
            Err(ReassignError::UnknownPartition(..))
        ));
        assert_eq!(img, image());
    }
}
