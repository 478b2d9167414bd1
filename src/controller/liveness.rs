//! The active controller's watch over brokers. Every voter's Raft traffic reaches the leader at
//! least every 200 ms (heartbeat answers), so a broker the leader has not heard from for
//! `broker.session.timeout.ms` is dead, stopped or cut off: it is fenced and its leaderships move to
//! in-sync replicas. Heard again, it is unfenced. With `auto.leader.rebalance.enable`, leaderships
//! go back to preferred replicas every `leader.imbalance.check.interval.seconds`, and partition
//! reassignments complete once their new replicas are in sync.
//!
//! Runs on every node's controller shard; only the Raft leader acts (`Quorum::silence` is None
//! elsewhere), and its changes go through the quorum like any other.

use super::Controller;
use crate::config::BrokerConfig;
use crate::quorum::Quorum;
use std::rc::Rc;
use std::time::{Duration, Instant};
use tracing::warn;

/// How often the leader looks at its peers' silence; well under any session timeout.
const CHECK_EVERY: Duration = Duration::from_millis(250);

pub async fn watch_brokers(controller: Rc<Controller>, config: &BrokerConfig, quorum: Rc<Quorum>) {
    let session_timeout = Duration::from_millis(config.broker_session_timeout_ms);
    let rebalance_every = Duration::from_secs(config.leader_imbalance_check_interval_seconds);
    let mut last_rebalance = Instant::now();
    loop {
        glommio::timer::sleep(CHECK_EVERY).await;
        for (node, fenced) in controller.broker_fencing() {
            let alive = if node == config.node_id {
                Some(true)
            } else {
                quorum.silence(node as u64).map(|s| s < session_timeout)
            };
            // None: not the leader (or no longer) — the leader decides.
            if alive == Some(fenced) {
                if let Err(e) = controller.set_fenced(node, !fenced).await {
                    warn!(node, error = %e, "fencing change not committed; retrying");
                }
            }
        }
        if quorum.silence(quorum.node_id).is_some() {
            if let Err(e) = controller.complete_reassignments().await {
                warn!(error = %e, "completing partition reassignments not committed");
            }
        }
        if config.auto_leader_rebalance_enable
            && quorum.silence(quorum.node_id).is_some()
            && last_rebalance.elapsed() >= rebalance_every
        {
            last_rebalance = Instant::now();
            if let Err(e) = controller.elect_preferred_leaders().await {
                warn!(error = %e, "preferred leader election not committed");
            }
        }
    }
}
