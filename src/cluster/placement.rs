//! Where new partitions go: which brokers hold their replicas (leader first) and which shard on each.
//! Pure functions of the image, run by the controller inside a metadata change, so every node that
//! installs the change sees the same placement.
//!
//! Leaders spread evenly over brokers within the topic first (so one topic's traffic uses every node),
//! then by load across all topics (so the cluster stays balanced as topics come and go), ties broken
//! round-robin from the partition number; followers prefer racks not used yet by the partition; inside
//! a node the least-loaded shard takes the replica.

use super::metadata::{BrokerRecord, MetadataImage, PartitionRecord};
use std::collections::HashMap;

/// Partitions led and replicas held per node, and replicas per (node, shard).
#[derive(Default)]
struct Load {
    leaders: HashMap<i32, usize>,
    replicas: HashMap<i32, usize>,
    shards: HashMap<(i32, u32), usize>,
}

impl Load {
    fn of(image: &MetadataImage) -> Load {
        let mut load = Load::default();
        for p in image.topics.iter().flat_map(|t| &t.partitions) {
            *load.leaders.entry(p.leader).or_default() += 1;
            for (&node, &shard) in p.replicas.iter().zip(&p.replica_shards) {
                *load.replicas.entry(node).or_default() += 1;
                *load.shards.entry((node, shard)).or_default() += 1;
            }
        }
        load
    }

    fn least_loaded_shard(&self, broker: &BrokerRecord, start: usize) -> u32 {
        let shards = broker.shards.max(1) as usize;
        (0..shards)
            .map(|k| ((start + k) % shards) as u32)
            .min_by_key(|&s| self.shards.get(&(broker.node_id, s)).copied().unwrap_or(0))
            .expect("at least one shard")
    }
}

/// The shard of `broker` that should take a new replica of partition number `partition`.
pub fn shard_for(image: &MetadataImage, broker: &BrokerRecord, partition: usize) -> u32 {
    Load::of(image).least_loaded_shard(broker, partition)
}

/// Places `count` new partitions numbered from `first` with `replication_factor` replicas each on
/// `brokers` (which must hold at least that many). `image` gives the current load.
pub fn place(
    image: &MetadataImage,
    brokers: &[BrokerRecord],
    replication_factor: usize,
    first: usize,
    count: usize,
) -> Vec<PartitionRecord> {
    assert!(replication_factor >= 1 && replication_factor <= brokers.len());
    let mut brokers: Vec<&BrokerRecord> = brokers.iter().collect();
    brokers.sort_by_key(|b| b.node_id);
    let mut load = Load::of(image);
    // This topic's leaders per node, among the partitions placed by this call.
    let mut topic_leaders: HashMap<i32, usize> = HashMap::new();
    (first..first + count)
        .map(|partition| {
            let rotated = |k: usize| brokers[(partition + k) % brokers.len()];
            let leader = (0..brokers.len())
                .map(rotated)
                .min_by_key(|b| {
                    let in_topic = topic_leaders.get(&b.node_id).copied().unwrap_or(0);
                    (in_topic, load.leaders.get(&b.node_id).copied().unwrap_or(0))
                })
                .expect("at least one broker");
            *topic_leaders.entry(leader.node_id).or_default() += 1;
            let mut chosen = vec![leader];
            while chosen.len() < replication_factor {
                let next = (0..brokers.len())
                    .map(rotated)
                    .filter(|b| chosen.iter().all(|c| c.node_id != b.node_id))
                    .min_by_key(|b| {
                        let rack_used = chosen.iter().any(|c| c.rack.is_some() && c.rack == b.rack);
                        let held = load.replicas.get(&b.node_id).copied().unwrap_or(0);
                        (rack_used, held)
                    })
                    .expect("replication factor checked against the broker count");
                chosen.push(next);
            }
            *load.leaders.entry(leader.node_id).or_default() += 1;
            let replica_shards = chosen
                .iter()
                .map(|b| {
                    let shard = load.least_loaded_shard(b, partition);
                    *load.replicas.entry(b.node_id).or_default() += 1;
                    *load.shards.entry((b.node_id, shard)).or_default() += 1;
                    shard
                })
                .collect();
            let replicas: Vec<i32> = chosen.iter().map(|b| b.node_id).collect();
            PartitionRecord {
                leader: leader.node_id,
                leader_epoch: 0,
                isr: replicas.clone(),
                replicas,
                replica_shards,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::metadata::TopicRecord;

    fn broker(node_id: i32, shards: u32, rack: Option<&str>) -> BrokerRecord {
        BrokerRecord {
            node_id,
            endpoints: vec![],
            shards,
            rack: rack.map(str::to_string),
            raft_address: None,
        }
    }

    fn with_topic(partitions: Vec<PartitionRecord>) -> MetadataImage {
        let mut image = MetadataImage::default();
        image.topics.push(TopicRecord {
            name: "a".into(),
            id: [0; 16],
            partitions,
            configs: vec![],
        });
        image
    }

    #[test]
    fn shards_balance_across_topics_on_one_node() {
        let me = [broker(1, 2, None)];
        // On an empty broker, one topic's partitions alternate between shards.
        let placed = place(&MetadataImage::default(), &me, 1, 0, 4);
        let shards: Vec<u32> = placed.iter().map(|p| p.replica_shards[0]).collect();
        assert_eq!(shards, vec![0, 1, 0, 1]);
        // Shard 0 already holds topic a's 3 partitions: the new ones fill shard 1 first.
        let image = with_topic(place(
            &MetadataImage::default(),
            &[broker(1, 1, None)],
            1,
            0,
            3,
        ));
        let placed = place(&image, &me, 1, 0, 4);
        let shards: Vec<u32> = placed.iter().map(|p| p.replica_shards[0]).collect();
        assert_eq!(shards, vec![1, 1, 1, 1]);
    }

    #[test]
    fn leaders_spread_over_nodes_and_followers_over_racks() {
        let nodes = [
            broker(1, 2, Some("a")),
            broker(2, 2, Some("a")),
            broker(3, 2, Some("b")),
        ];
        let placed = place(&MetadataImage::default(), &nodes, 2, 0, 6);
        let mut led = HashMap::new();
        for p in &placed {
            *led.entry(p.leader).or_insert(0) += 1;
            assert_eq!(p.replicas[0], p.leader);
            assert_eq!(p.isr, p.replicas);
            // Two replicas never share rack "a" when rack "b" is free.
            assert!(p.replicas.contains(&3), "{p:?}");
        }
        assert_eq!(led, HashMap::from([(1, 2), (2, 2), (3, 2)]));
        // A topic spreads over every node even when one node already leads more; the extra
        // partition goes to the least-loaded node.
        let image = with_topic(place(
            &MetadataImage::default(),
            &[broker(1, 1, None)],
            1,
            0,
            9,
        ));
        let more = place(&image, &nodes, 1, 0, 4);
        let mut leaders: Vec<i32> = more.iter().map(|p| p.leader).collect();
        leaders.sort();
        assert_eq!(leaders, vec![1, 2, 2, 3]);
    }
}
