//! The leader's side of ISR changes (Kafka's AlterPartition): every shard periodically asks each
//! partition it leads whether its ISR should shrink (a follower lagging for `replica.lag.time.max.ms`)
//! or expand (a follower that reached the high watermark), and asks the controller to commit the
//! change. The leader keeps using the ISR it has until the committed change comes back as metadata,
//! so it never counts fewer replicas than the image says.

use crate::cluster::controller::IsrChange;
use crate::runtime::shard::{Shard, CONTROLLER_SHARD};
use std::rc::Rc;
use std::time::Duration;
use tracing::warn;

/// Starts this shard's periodic ISR check.
pub fn spawn_isr_maintenance(shard: &Rc<Shard>) {
    let lag_max = Duration::from_millis(shard.config.replica_lag_time_max_ms);
    let every = (lag_max / 2).clamp(Duration::from_millis(100), Duration::from_secs(5));
    let shard = shard.clone();
    glommio::spawn_local(async move {
        loop {
            glommio::timer::sleep(every).await;
            propose_isr_changes(&shard, lag_max).await;
        }
    })
    .detach();
}

/// One round: an ISR change for each led partition that needs one, committed one at a time.
async fn propose_isr_changes(shard: &Rc<Shard>, lag_max: Duration) {
    let me = shard.metadata().node_id;
    for log in shard.local_partitions() {
        if !log.is_leader() {
            continue;
        }
        let Some(new_isr) = log.wanted_isr(lag_max) else {
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
        let committed = shard
            .submit_to(CONTROLLER_SHARD, move |s| async move {
                let controller = s.controller.as_ref().expect("the controller shard");
                controller
                    .alter_isr(&s, change)
                    .await
                    .map_err(|e| e.to_string())
            })
            .await;
        if let Some(Err(e)) = committed {
            warn!(topic = %log.topic, partition = log.partition, error = %e, "ISR change not committed; retrying next round");
        }
    }
}
