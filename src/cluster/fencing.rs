//! What the image says when the active controller stops hearing from a broker (fence), hears from it
//! again (unfence), and when leaderships go back to their preferred replicas. Pure functions of the
//! image: they run inside `Controller::commit`, so a change recomputed on a newer image stays correct.
//!
//! Unclean leader election is off: only an in-sync replica may lead, because any other could lack
//! records the old leader acknowledged. A partition whose only in-sync replica is fenced has no
//! leader until that replica returns.

use super::metadata::{MetadataImage, PartitionRecord};

/// The leader of a partition that has none (Kafka's -1: clients see LEADER_NOT_AVAILABLE).
pub const NO_LEADER: i32 = -1;

/// Fences `node`: it leaves every ISR it shares with another replica (the last in-sync replica
/// stays, as in Kafka: it is the only one that may lead again), and each partition it led moves to
/// the first in-sync, unfenced replica with a new leader epoch — or to no leader. Returns how many
/// partitions changed leader.
pub fn fence(image: &mut MetadataImage, node: i32) -> usize {
    if !image.fenced_brokers.contains(&node) {
        image.fenced_brokers.push(node);
    }
    let fenced = image.fenced_brokers.clone();
    let mut moved = 0;
    for p in partitions_mut(image).filter(|p| p.replicas.contains(&node)) {
        if p.isr.len() > 1 {
            p.isr.retain(|&r| r != node);
        }
        if p.leader == node {
            let next = p.isr.iter().copied().find(|r| !fenced.contains(r));
            set_leader(p, next.unwrap_or(NO_LEADER));
            moved += 1;
        }
    }
    moved
}

/// Unfences `node`: partitions left without a leader whose ISR holds it get it back as leader.
/// Returns how many partitions got a leader.
pub fn unfence(image: &mut MetadataImage, node: i32) -> usize {
    image.fenced_brokers.retain(|&b| b != node);
    let mut restored = 0;
    for p in partitions_mut(image).filter(|p| p.leader == NO_LEADER && p.isr.contains(&node)) {
        set_leader(p, node);
        restored += 1;
    }
    restored
}

/// Whether some partition's preferred replica (the first) could lead and does not.
pub fn preferred_election_pending(image: &MetadataImage) -> bool {
    image
        .topics
        .iter()
        .flat_map(|t| &t.partitions)
        .any(|p| prefers_another_leader(p, &image.fenced_brokers))
}

/// Moves every leadership whose preferred replica is in sync and unfenced back to it (Kafka's
/// preferred leader election), restoring the spread placement chose. Returns how many moved.
pub fn elect_preferred_leaders(image: &mut MetadataImage) -> usize {
    let fenced = image.fenced_brokers.clone();
    let mut moved = 0;
    for p in partitions_mut(image).filter(|p| prefers_another_leader(p, &fenced)) {
        set_leader(p, p.replicas[0]);
        moved += 1;
    }
    moved
}

fn prefers_another_leader(p: &PartitionRecord, fenced: &[i32]) -> bool {
    p.replicas
        .first()
        .is_some_and(|&r| r != p.leader && p.isr.contains(&r) && !fenced.contains(&r))
}

/// A new leader always starts a new epoch: followers and clients tell the two leaderships apart by it.
fn set_leader(p: &mut PartitionRecord, leader: i32) {
    p.leader = leader;
    p.leader_epoch += 1;
}

fn partitions_mut(image: &mut MetadataImage) -> impl Iterator<Item = &mut PartitionRecord> {
    image
        .topics
        .iter_mut()
        .flat_map(|t| t.partitions.iter_mut())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::metadata::TopicRecord;

    fn partition(replicas: &[i32], leader: i32, isr: &[i32]) -> PartitionRecord {
        PartitionRecord {
            replicas: replicas.to_vec(),
            replica_shards: vec![0; replicas.len()],
            leader,
            leader_epoch: 0,
            isr: isr.to_vec(),
        }
    }

    fn image(partitions: Vec<PartitionRecord>) -> MetadataImage {
        MetadataImage {
            topics: vec![TopicRecord {
                name: "t".into(),
                id: [1; 16],
                partitions,
                configs: vec![],
            }],
            ..Default::default()
        }
    }

    fn parts(image: &MetadataImage) -> &[PartitionRecord] {
        &image.topics[0].partitions
    }

    #[test]
    fn a_fenced_leader_hands_over_to_the_next_in_sync_replica() {
        let mut img = image(vec![
            partition(&[1, 2, 3], 1, &[1, 2, 3]),
            partition(&[2, 1, 3], 2, &[2, 1, 3]),
            partition(&[1, 2, 3], 1, &[1, 3]),
        ]);
        assert_eq!(fence(&mut img, 1), 2);
        let p = parts(&img);
        assert_eq!(
            (p[0].leader, p[0].leader_epoch, &p[0].isr),
            (2, 1, &vec![2, 3])
        );
        assert_eq!(
            (p[1].leader, p[1].leader_epoch, &p[1].isr),
            (2, 0, &vec![2, 3])
        );
        // Replica 2 is out of sync: it may not lead (unclean election is off).
        assert_eq!((p[2].leader, &p[2].isr), (3, &vec![3]));
        assert_eq!(img.fenced_brokers, vec![1]);
    }

    #[test]
    fn the_last_in_sync_replica_leaves_the_partition_leaderless_until_it_returns() {
        let mut img = image(vec![partition(&[1], 1, &[1]), partition(&[2], 2, &[2])]);
        assert_eq!(fence(&mut img, 1), 1);
        assert_eq!(
            (parts(&img)[0].leader, &parts(&img)[0].isr),
            (NO_LEADER, &vec![1])
        );
        assert_eq!(parts(&img)[1].leader, 2);
        // Fencing twice changes nothing more.
        assert_eq!(fence(&mut img, 1), 0);
        assert_eq!(img.fenced_brokers, vec![1]);

        assert_eq!(unfence(&mut img, 1), 1);
        assert_eq!((parts(&img)[0].leader, parts(&img)[0].leader_epoch), (1, 2));
        assert!(img.fenced_brokers.is_empty());
    }

    #[test]
    fn a_fenced_replica_is_not_chosen_and_preferred_leaders_return_once_in_sync() {
        let mut img = image(vec![partition(&[1, 2, 3], 1, &[1, 2, 3])]);
        fence(&mut img, 2);
        fence(&mut img, 1);
        assert_eq!(parts(&img)[0].leader, 3);
        unfence(&mut img, 1);
        // Back, but not yet in sync (replication re-adds it): 3 keeps leading.
        assert!(!preferred_election_pending(&img));
        img.topics[0].partitions[0].isr.push(1);
        assert!(preferred_election_pending(&img));
        assert_eq!(elect_preferred_leaders(&mut img), 1);
        assert_eq!(parts(&img)[0].leader, 1);
        assert!(!preferred_election_pending(&img));
    }
}
