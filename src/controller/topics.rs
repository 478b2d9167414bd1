//! Topics and their partitions: create, delete, add partitions, `__consumer_offsets`, and partition
//! reassignments.

use super::*;

impl Controller {
    pub async fn create_topic(
        &self,
        name: String,
        partitions: i32,
        replication_factor: i16,
        configs: Vec<(String, String)>,
        validate_only: bool,
    ) -> Result<(), ControllerError> {
        validate_topic_name(&name).map_err(ControllerError::InvalidTopic)?;
        if partitions < 1 {
            return Err(ControllerError::InvalidPartitions(format!(
                "number of partitions must be at least 1, got {partitions}"
            )));
        }
        for (k, v) in &configs {
            topic_config::validate(k, v)?;
        }
        if self.image.borrow().topic(&name).is_some() {
            return Err(ControllerError::TopicExists(name));
        }
        let brokers = self.placement_brokers(&self.image.borrow(), self.publisher.shards());
        checked_replication_factor(replication_factor, &brokers)?;
        if validate_only {
            return Ok(());
        }
        let shards = self.publisher.shards();
        self.commit(|image| {
            if image.topic(&name).is_some() {
                return Err(ControllerError::TopicExists(name.clone()));
            }
            let brokers = self.placement_brokers(image, shards);
            let factor = checked_replication_factor(replication_factor, &brokers)?;
            let partitions = placement::place(image, &brokers, factor, 0, partitions as usize);
            image.topics.push(TopicRecord {
                name: name.clone(),
                id: *Uuid::new_v4().as_bytes(),
                partitions,
                configs: configs.clone(),
            });
            Ok(())
        })
        .await?;
        info!(topic = %name, partitions, "created topic");
        Ok(())
    }

    pub async fn delete_topic(&self, name: String) -> Result<(), ControllerError> {
        self.commit(|image| {
            let before = image.topics.len();
            image.topics.retain(|t| t.name != name);
            if image.topics.len() == before {
                return Err(ControllerError::UnknownTopic(name.clone()));
            }
            Ok(())
        })
        .await?;
        info!(topic = %name, "deleted topic");
        Ok(())
    }

    pub async fn create_partitions(
        &self,
        name: String,
        new_total: i32,
        validate_only: bool,
    ) -> Result<(), ControllerError> {
        let shards = self.publisher.shards();
        // (current partition count, the topic's replication factor)
        let check = |image: &MetadataImage| -> Result<(usize, i16), ControllerError> {
            let topic = image
                .topic(&name)
                .ok_or_else(|| ControllerError::UnknownTopic(name.clone()))?;
            let current = topic.partitions.len();
            if new_total as i64 <= current as i64 {
                return Err(ControllerError::InvalidPartitions(format!(
                    "topic currently has {current} partitions, {new_total} would not be an increase"
                )));
            }
            let factor = topic.partitions.first().map_or(1, |p| p.replicas.len());
            Ok((current, factor as i16))
        };
        check(&self.image.borrow())?;
        if validate_only {
            return Ok(());
        }
        self.commit(|image| {
            let (current, factor) = check(image)?;
            let brokers = self.placement_brokers(image, shards);
            let factor = checked_replication_factor(factor, &brokers)?;
            let added = placement::place(
                image,
                &brokers,
                factor,
                current,
                new_total as usize - current,
            );
            let topic = image
                .topics
                .iter_mut()
                .find(|t| t.name == name)
                .expect("checked above");
            topic.partitions.extend(added);
            Ok(())
        })
        .await?;
        info!(topic = %name, partitions = new_total, "added partitions");
        Ok(())
    }

    /// Creates the coordinators' internal topics on first start, with Kafka's settings for them:
    /// `__consumer_offsets` (offsets.topic.num.partitions, compacted, 100 MiB segments) and
    /// `__transaction_state` (transaction.state.log.num.partitions, compacted, 100 MiB segments,
    /// transaction.state.log.replication.factor replicas — at most the brokers registered).
    pub async fn ensure_internal_topics(&self) -> Result<(), ControllerError> {
        let brokers = self
            .placement_brokers(&self.image.borrow(), self.publisher.shards())
            .len();
        let txn_factor = self
            .config
            .transaction_state_log_replication_factor
            .min(brokers.max(1) as i16);
        let topics = [
            (
                crate::coordinator::offsets_topic::TOPIC,
                self.config.offsets_topic_num_partitions,
                1,
            ),
            (
                crate::coordinator::txn_log::TOPIC,
                self.config.transaction_state_log_num_partitions,
                txn_factor,
            ),
        ];
        for (name, partitions, factor) in topics {
            if self.image.borrow().topic(name).is_some() {
                continue;
            }
            let configs = vec![
                ("cleanup.policy".to_string(), "compact".to_string()),
                ("segment.bytes".to_string(), "104857600".to_string()),
            ];
            match self
                .create_topic(name.to_string(), partitions, factor, configs, false)
                .await
            {
                Ok(()) | Err(ControllerError::TopicExists(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Starts moving a partition to `target` replicas, or cancels its move (`None`).
    pub async fn reassign(
        &self,
        topic: String,
        partition: i32,
        target: Option<Vec<i32>>,
    ) -> Result<(), ControllerError> {
        self.commit(|image| {
            match &target {
                Some(t) => reassignment::start(image, &topic, partition, t),
                None => reassignment::cancel(image, &topic, partition),
            }
            .map_err(ControllerError::from)
        })
        .await?;
        info!(%topic, partition, ?target, "partition reassignment changed");
        Ok(())
    }

    /// Completes the reassignments whose new replicas are all in sync, if any.
    pub async fn complete_reassignments(&self) -> Result<usize, ControllerError> {
        if !reassignment::completion_pending(&self.image.borrow()) {
            return Ok(0);
        }
        let done = self
            .commit(|image| Ok(reassignment::complete_ready(image)))
            .await?;
        info!(completed = done, "partition reassignments completed");
        Ok(done)
    }

    /// Reassignments under way, each with the partition's current replica list.
    pub fn reassignments(&self) -> Vec<(ReassignmentRecord, Vec<i32>)> {
        let image = self.image.borrow();
        image
            .reassignments
            .iter()
            .filter_map(|r| {
                let p = image
                    .topic(&r.topic)?
                    .partitions
                    .get(r.partition as usize)?;
                Some((r.clone(), p.replicas.clone()))
            })
            .collect()
    }
}

/// `replication_factor` checked against the brokers partitions can be placed on.
pub(super) fn checked_replication_factor(
    replication_factor: i16,
    brokers: &[BrokerRecord],
) -> Result<usize, ControllerError> {
    if brokers.is_empty() {
        return Err(ControllerError::NoBrokers);
    }
    match usize::try_from(replication_factor) {
        Ok(n) if (1..=brokers.len()).contains(&n) => Ok(n),
        _ => Err(ControllerError::InvalidReplicationFactor {
            factor: replication_factor,
            brokers: brokers.len(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replication_factor_is_bounded_by_the_brokers() {
        let brokers: Vec<BrokerRecord> = (1..=3)
            .map(|node_id| BrokerRecord {
                node_id,
                endpoints: Vec::new(),
                shards: 1,
                rack: None,
                raft_address: None,
            })
            .collect();
        assert_eq!(checked_replication_factor(3, &brokers).unwrap(), 3);
        assert_eq!(checked_replication_factor(1, &brokers).unwrap(), 1);
        for bad in [0, 4, -1] {
            let e = checked_replication_factor(bad, &brokers).unwrap_err();
            assert!(
                e.to_string().contains("registered brokers (3)"),
                "{bad}: {e}"
            );
        }
        assert!(matches!(
            checked_replication_factor(1, &[]),
            Err(ControllerError::NoBrokers)
        ));
    }
}
