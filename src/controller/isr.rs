//! The leader's side of ISR changes (Kafka's AlterPartition): every shard periodically asks each
//! partition it leads whether its ISR should shrink (a follower lagging for `replica.lag.time.max.ms`)
//! or expand (a follower that reached the high watermark), and asks the controller to commit the
//! change. The leader keeps using the ISR it has until the committed change comes back as metadata,
//! so it never counts fewer replicas than the image says.

use super::{Controller, IsrChange};
use crate::cluster::view::MetadataView;
use crate::runtime::mesh::{Sharded, CONTROLLER_SHARD};
use crate::runtime::partitions::Partitions;
use std::rc::Rc;
use std::time::Duration;
use tracing::warn;

/// What the ISR check of one shard reads and whom it asks.
pub struct IsrMaintenance {
    pub metadata: Rc<MetadataView>,
    pub partitions: Rc<Partitions>,
    pub controller: Sharded<Controller>,
    /// `replica.lag.time.max.ms`.
    pub lag_max: Duration,
}

/// Starts this shard's periodic ISR check.
pub fn spawn_isr_maintenance(isr: IsrMaintenance) {
    let every = (isr.lag_max / 2).clamp(Duration::from_millis(100), Duration::from_secs(5));
    glommio::spawn_local(async move {
        loop {
            glommio::timer::sleep(every).await;
            propose_isr_changes(&isr).await;
        }
    })
    .detach();
}

/// One round: an ISR change for each led partition that needs one, committed one at a time.
async fn propose_isr_changes(isr: &IsrMaintenance) {
    let me = isr.metadata.get().node_id;
    for log in isr.partitions.all() {
        if !log.is_leader() {
            continue;
        }
        let Some(new_isr) = log.wanted_isr(isr.lag_max) else {
            continue;
        };
        let change = IsrChange {
            topic: log.topic.clone(),
            partition: log.partition,
            leader: me,
            leader_epoch: log.leader_epoch(),
            expected_isr: log.isr(),
            new_isr,
        };
        let committed = isr
            .controller
            .invoke_on(CONTROLLER_SHARD, move |controller| async move {
                controller
                    .alter_isr(change)
                    .await
                    .map_err(|e| e.to_string())
            })
            .await;
        if let Some(Err(e)) = committed {
            warn!(topic = %log.topic, partition = log.partition, error = %e, "ISR change not committed; retrying next round");
        }
    }
}
