//! Brokers in the metadata: registration, fencing by liveness, preferred-leader elections and the
//! ISR changes partition leaders ask for.

use super::*;

impl Controller {
    /// Registers (or re-registers) this node as a broker, and adds `sasl.bootstrap.users` missing from
    /// the image. The first registration of a new cluster also picks its cluster id.
    pub async fn register_broker(
        &self,
        broker: BrokerRecord,
        bootstrap_users: Option<&str>,
    ) -> Result<(), ControllerError> {
        if let Store::Quorum(quorum) = &self.store {
            if quorum.learner {
                let record = MetadataImage {
                    brokers: vec![broker.clone()],
                    ..Default::default()
                };
                quorum.propose(LEARNER_REGISTRATION, &record).await?;
                info!(node_id = broker.node_id, rack = ?broker.rack, "broker registered (Raft learner)");
                return Ok(());
            }
        }
        self.commit(|image| {
            if image.cluster_id.is_empty() {
                image.cluster_id = crate::cluster::metadata::new_cluster_id();
            }
            image.brokers.retain(|b| b.node_id != broker.node_id);
            image.brokers.push(broker.clone());
            if let Some(list) = bootstrap_users {
                let created = add_bootstrap_users(image, list)?;
                if !created.is_empty() {
                    info!(users = ?created, "created SASL users from sasl.bootstrap.users");
                }
            }
            Ok(())
        })
        .await?;
        info!(node_id = broker.node_id, rack = ?broker.rack, "broker registered");
        Ok(())
    }

    pub fn registered_brokers(&self) -> usize {
        self.image.borrow().brokers.len()
    }

    /// The current image with `broker` registered (replacing an earlier record of the same node) and
    /// the next version: how every node applies a learner's registration.
    pub fn with_broker(&self, broker: BrokerRecord) -> MetadataImage {
        let mut image = self.image.borrow().clone();
        image.brokers.retain(|b| b.node_id != broker.node_id);
        image.brokers.push(broker);
        image.version += 1;
        image
    }

    /// Registered broker-only nodes (Raft learners) and their Raft addresses.
    pub fn learner_addresses(&self) -> Vec<(i32, String)> {
        self.image
            .borrow()
            .brokers
            .iter()
            .filter_map(|b| Some((b.node_id, b.raft_address.clone()?)))
            .collect()
    }

    /// Every registered broker's id and whether it is fenced.
    pub fn broker_fencing(&self) -> Vec<(i32, bool)> {
        let image = self.image.borrow();
        image
            .brokers
            .iter()
            .map(|b| (b.node_id, image.fenced_brokers.contains(&b.node_id)))
            .collect()
    }

    /// Fences `node` (its leaderships move to in-sync replicas) or unfences it (leaderless partitions
    /// it is in sync for come back to it). Returns how many partitions changed leader.
    pub async fn set_fenced(&self, node: i32, fenced: bool) -> Result<usize, ControllerError> {
        let moved = self
            .commit(|image| {
                Ok(if fenced {
                    fencing::fence(image, node)
                } else {
                    fencing::unfence(image, node)
                })
            })
            .await?;
        info!(
            node,
            fenced,
            leaders_moved = moved,
            "broker fencing changed"
        );
        Ok(moved)
    }

    /// Kafka's preferred leader election, when some partition needs it. Returns how many moved.
    pub async fn elect_preferred_leaders(&self) -> Result<usize, ControllerError> {
        if !fencing::preferred_election_pending(&self.image.borrow()) {
            return Ok(0);
        }
        let moved = self
            .commit(|image| Ok(fencing::elect_preferred_leaders(image)))
            .await?;
        info!(leaders_moved = moved, "preferred leaders elected");
        Ok(moved)
    }

    /// AlterPartition, as a partition's leader asks for it: replaces the ISR of `topic`-`partition`
    /// with `new_isr`, but only if `leader` still leads it at `leader_epoch` and the ISR is still
    /// `expected_isr` (compare-and-set, so a stale leader or a concurrent change cannot overwrite).
    /// Nothing else changes: the leader epoch stays.
    pub async fn alter_isr(&self, change: IsrChange) -> Result<(), ControllerError> {
        let refuse = |why| ControllerError::StaleIsrChange {
            topic: change.topic.clone(),
            partition: change.partition,
            why,
        };
        self.commit(|image| {
            let p = image
                .topics
                .iter_mut()
                .find(|t| t.name == change.topic)
                .and_then(|t| t.partitions.get_mut(change.partition as usize))
                .ok_or_else(|| refuse("no such partition"))?;
            if p.leader != change.leader || p.leader_epoch != change.leader_epoch {
                return Err(refuse("the requester no longer leads it at that epoch"));
            }
            if p.isr != change.expected_isr {
                return Err(refuse("the ISR changed meanwhile"));
            }
            if !change.new_isr.contains(&p.leader)
                || change.new_isr.iter().any(|r| !p.replicas.contains(r))
            {
                return Err(refuse("the new ISR must hold the leader and only replicas"));
            }
            p.isr = change.new_isr.clone();
            Ok(())
        })
        .await?;
        info!(topic = %change.topic, partition = change.partition, isr = ?change.new_isr, "ISR changed");
        Ok(())
    }
}

/// An ISR change a partition leader asks for (Kafka's AlterPartition).
#[derive(Clone, Debug)]
pub struct IsrChange {
    pub topic: String,
    pub partition: i32,
    pub leader: i32,
    pub leader_epoch: i32,
    pub expected_isr: Vec<i32>,
    pub new_isr: Vec<i32>,
}
