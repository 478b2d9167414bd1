//! What a cluster node does once its quorum runs: register as a broker (retried until the quorum has a
//! leader and commits it), then create `__consumer_offsets` once the expected brokers are there, so
//! its partitions spread over them instead of landing on the first node up.

use super::Controller;
use super::ControllerError;
use crate::cluster::metadata::{BrokerRecord, EndpointRecord};
use crate::config::BrokerConfig;
use crate::security::listener::Listener;
use crate::types::roles::Roles;
use std::rc::Rc;
use std::time::{Duration, Instant};
use tracing::{info, warn};

const RETRY: Duration = Duration::from_millis(300);
/// How long `__consumer_offsets` waits for every voter to register before it is placed on those
/// that did.
const WAIT_FOR_BROKERS: Duration = Duration::from_secs(10);

/// This node's registration record.
pub fn broker_record(config: &BrokerConfig, shards: usize, listeners: &[Listener]) -> BrokerRecord {
    BrokerRecord {
        node_id: config.node_id,
        endpoints: listeners
            .iter()
            .map(|l| EndpointRecord {
                listener: l.name.clone(),
                host: l.advertised_host.clone(),
                port: l.advertised_port,
            })
            .collect(),
        shards: shards as u32,
        rack: config.broker_rack.clone(),
        // A voter's Raft address is in controller.quorum.voters; a learner's must be published.
        raft_address: if Roles::of(&config.process_roles).controller {
            None
        } else {
            config.raft_address.clone()
        },
    }
}

/// Registers this broker, then makes sure `__consumer_offsets` exists. Runs in the background on the
/// controller shard; clients are served meanwhile (with the metadata known so far).
pub async fn register_then_prepare(
    controller: Rc<Controller>,
    users: Option<String>,
    record: Option<BrokerRecord>,
    expected_brokers: usize,
) {
    if let Some(record) = record {
        retry("broker registration", || {
            controller.register_broker(record.clone(), users.as_deref())
        })
        .await;
    }
    let started = Instant::now();
    while controller.registered_brokers() < expected_brokers && started.elapsed() < WAIT_FOR_BROKERS
    {
        glommio::timer::sleep(RETRY).await;
    }
    retry("creating the internal topics", || {
        controller.ensure_internal_topics()
    })
    .await;
    info!(
        brokers = controller.registered_brokers(),
        "cluster node ready"
    );
}

/// Runs `op` until it succeeds (the quorum may have no leader yet), warning every 20 failures.
async fn retry<F, Fut>(what: &str, mut op: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), ControllerError>>,
{
    let mut attempts = 0u32;
    while let Err(e) = op().await {
        attempts += 1;
        // The first attempts usually race the first election: only a lasting failure is news.
        if attempts % 20 == 0 {
            warn!(error = %e, attempts, "{what} not committed yet; retrying");
        }
        glommio::timer::sleep(RETRY).await;
    }
}
