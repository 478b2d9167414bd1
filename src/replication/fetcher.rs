//! Followers pull from leaders. Each shard runs one fetcher per (leader node, leader shard) for the
//! partitions it follows — a dedicated connection per shard pair, owned by this shard, so nothing is
//! shared across threads. A fetcher sends ordinary Fetch requests with `replica_id` = this node,
//! appends what comes back exactly as the leader wrote it (`PartitionLog::append_replicated`), and
//! keeps its high watermark at min(own log end, leader's). Fetchers start, change and stop with the
//! metadata snapshots the shard applies.
//!
//! Before a partition is fetched from a leader — when it is first followed, when its leader epoch
//! changes, and after the leader says OFFSET_OUT_OF_RANGE — the follower truncates away whatever the
//! leader does not have (KIP-101/KIP-279): it asks the leader (OffsetForLeaderEpoch) where the
//! follower's newest epoch ends in the leader's log and cuts its own log there (`truncation.rs`).

use super::connection::LeaderLink;
use super::truncation;
use crate::cluster::metadata::MetadataSnapshot;
use crate::cluster::view::MetadataView;
use crate::runtime::mesh::ShardId;
use crate::runtime::partitions::Partitions;
use crate::storage::batch::{self, BatchHeader, ValidBatch};
use crate::storage::{AppendError, PartitionLog};
use bytes::Bytes;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{BrokerId, FetchRequest, FetchResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;
use tracing::{debug, info, warn};

/// Fetch v12: the last version with `replica_id` in the body and topic names (v13 uses topic ids).
const FETCH_VERSION: i16 = 12;
/// How long the leader may park a fetch with nothing new (Kafka's replica.fetch.wait.max.ms).
const MAX_WAIT_MS: i32 = 500;
/// Per partition and per response (Kafka's replica.fetch.max.bytes / replica.fetch.response.max.bytes).
const PARTITION_MAX_BYTES: i32 = 1 << 20;
const RESPONSE_MAX_BYTES: i32 = 10 << 20;
/// An answer later than this means the leader or the link is gone.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);
const BACKOFF_MIN: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// (topic, partition) → how this node follows it.
pub(super) type Followed = BTreeMap<(String, i32), Following>;

/// One followed partition: the leader epoch it is followed at, and whether its log has been
/// truncated to the leader's at that epoch (only then is it fetched).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Following {
    pub epoch: i32,
    pub truncated: bool,
}

/// One fetcher's shared state: what it follows now, and whether it should stop.
#[derive(Default)]
pub(super) struct Fetcher {
    pub partitions: RefCell<Followed>,
    stopped: Cell<bool>,
}

impl Fetcher {
    /// Whether `key` is still followed at `epoch` (answers to older requests are dropped otherwise).
    pub fn follows_at(&self, key: &(String, i32), epoch: i32) -> Option<Following> {
        let f = self.partitions.borrow().get(key).copied()?;
        (f.epoch == epoch).then_some(f)
    }

    /// The partition must go through truncation again before its next fetch.
    pub fn retruncate(&self, key: &(String, i32)) {
        if let Some(f) = self.partitions.borrow_mut().get_mut(key) {
            f.truncated = false;
        }
    }
}

/// What the fetchers of one shard read and write there: its metadata and its partition logs.
pub struct ShardLogs {
    pub id: ShardId,
    pub metadata: Rc<MetadataView>,
    pub partitions: Rc<Partitions>,
}

impl ShardLogs {
    pub(super) fn metadata(&self) -> Arc<MetadataSnapshot> {
        self.metadata.get()
    }

    pub(super) fn partition(&self, topic: &str, partition: i32) -> Option<Rc<PartitionLog>> {
        self.partitions.get(topic, partition)
    }
}

/// This shard's fetchers, keyed by (leader node, leader shard).
pub struct ReplicaFetchers {
    shard: Rc<ShardLogs>,
    fetchers: RefCell<HashMap<(i32, u32), Rc<Fetcher>>>,
}

impl ReplicaFetchers {
    pub fn new(shard: ShardLogs) -> ReplicaFetchers {
        ReplicaFetchers {
            shard: Rc::new(shard),
            fetchers: RefCell::default(),
        }
    }

    /// Makes the fetchers match `snapshot`: every partition this shard holds a follower replica of is
    /// fetched from its leader; fetchers left with nothing stop.
    pub fn reconcile(&self, snapshot: &MetadataSnapshot) {
        let shard = &self.shard;
        let mut fetchers = self.fetchers.borrow_mut();
        let mut wanted: HashMap<(i32, u32), Followed> = HashMap::new();
        for topic in snapshot.topics.values() {
            for (p, info) in topic.partitions.iter().enumerate() {
                let follower = info.leader >= 0 && info.leader != snapshot.node_id;
                if follower && info.local_shard == Some(shard.id) {
                    let fetcher_key = (info.leader, info.leader_shard);
                    let key = (topic.name.clone(), p as i32);
                    // Truncated once per (leader, epoch): a partition the same fetcher already
                    // follows at this epoch keeps its state.
                    let truncated = fetchers
                        .get(&fetcher_key)
                        .and_then(|f| f.follows_at(&key, info.leader_epoch))
                        .is_some_and(|f| f.truncated);
                    let following = Following {
                        epoch: info.leader_epoch,
                        truncated,
                    };
                    wanted
                        .entry(fetcher_key)
                        .or_default()
                        .insert(key, following);
                }
            }
        }
        fetchers.retain(|key, f| {
            let keep = wanted.contains_key(key);
            if !keep {
                f.stopped.set(true);
                // An answer still in flight must not be applied: these partitions may be led here
                // now, or followed elsewhere.
                f.partitions.borrow_mut().clear();
                info!(
                    leader = key.0,
                    leader_shard = key.1,
                    "replica fetcher stopped"
                );
            }
            keep
        });
        for (key, partitions) in wanted {
            match fetchers.get(&key) {
                Some(f) => *f.partitions.borrow_mut() = partitions,
                None => {
                    let f = Rc::new(Fetcher {
                        partitions: RefCell::new(partitions),
                        stopped: Cell::new(false),
                    });
                    info!(
                        leader = key.0,
                        leader_shard = key.1,
                        "replica fetcher started"
                    );
                    glommio::spawn_local(run(shard.clone(), key.0, f.clone())).detach();
                    fetchers.insert(key, f);
                }
            }
        }
    }
}

/// The leader's address: its first advertised listener (the inter-broker one).
fn leader_address(shard: &ShardLogs, leader: i32) -> Option<String> {
    let metadata = shard.metadata();
    let broker = metadata.brokers.iter().find(|b| b.node_id == leader)?;
    let e = broker.endpoint(None)?;
    Some(format!("{}:{}", e.host, e.port))
}

async fn run(shard: Rc<ShardLogs>, leader: i32, fetcher: Rc<Fetcher>) {
    let mut link: Option<LeaderLink> = None;
    let mut backoff = BACKOFF_MIN;
    let mut reported = false;
    while !fetcher.stopped.get() {
        // A connection alone is no recovery (a cut link accepts and drops): only an answered fetch
        // or truncation ends an outage and its backoff.
        let mut answered = false;
        let pause = match link.as_mut() {
            None => match leader_address(&shard, leader) {
                None => Some(Pause::from(
                    "the leader has no registered endpoint".to_string(),
                )),
                Some(address) => match LeaderLink::connect(&address).await {
                    Ok(l) => {
                        if reported {
                            debug!(leader, %address, shard = shard.id, "replica fetcher reconnected");
                        } else {
                            info!(leader, %address, shard = shard.id, "replica fetcher connected");
                        }
                        link = Some(l);
                        None
                    }
                    Err(e) => Some(Pause::from(e.to_string())),
                },
            },
            Some(l) => {
                let step = match truncation::pending(&fetcher) {
                    Some(pending) => truncation::truncate(&shard, l, &fetcher, pending).await,
                    None => {
                        let (request, sent) = fetch_request(&shard, &fetcher.partitions.borrow());
                        l.request(&request, FETCH_VERSION, ANSWER_TIMEOUT)
                            .await
                            .map(|response| apply(&shard, &fetcher, &sent, response))
                    }
                };
                answered = step.is_ok();
                step.unwrap_or_else(|e| {
                    link = None;
                    Some(Pause::from(e.to_string()))
                })
            }
        };
        match pause {
            None if answered => {
                backoff = BACKOFF_MIN;
                reported = false;
            }
            None => {}
            Some(why) => {
                // Once per outage at WARN; retries after that at DEBUG. A leader that has not applied
                // the newest metadata yet is no outage: it catches up within milliseconds.
                if reported || why.metadata_lag {
                    debug!(leader, %why, "replica fetch retrying");
                } else {
                    warn!(leader, %why, "replica fetch failed; retrying");
                    reported = true;
                }
                glommio::timer::sleep(backoff).await;
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
    }
}

/// Why a fetcher backs off before its next fetch.
pub(super) struct Pause {
    pub why: String,
    /// Only the leader's metadata lags behind ours (it does not know the partition, or that it leads).
    pub metadata_lag: bool,
}

impl Pause {
    /// The leader refused a partition with `error`.
    pub fn refused(log: &PartitionLog, error: Option<ResponseError>) -> Pause {
        Pause {
            why: format!("{}-{}: {error:?}", log.topic, log.partition),
            metadata_lag: matches!(
                error,
                Some(
                    ResponseError::UnknownTopicOrPartition
                        | ResponseError::NotLeaderOrFollower
                        | ResponseError::UnknownLeaderEpoch
                        | ResponseError::FencedLeaderEpoch
                )
            ),
        }
    }
}

impl From<String> for Pause {
    fn from(why: String) -> Pause {
        Pause {
            why,
            metadata_lag: false,
        }
    }
}

impl std::fmt::Display for Pause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.why)
    }
}

/// A Fetch for every followed, truncated partition from its log's next offset, and the epoch each
/// was asked at.
fn fetch_request(shard: &ShardLogs, followed: &Followed) -> (FetchRequest, Followed) {
    let mut topics: Vec<FetchTopic> = Vec::new();
    let mut sent = Followed::new();
    for ((topic, partition), &following) in followed.iter().filter(|(_, f)| f.truncated) {
        let Some(log) = shard.partition(topic, *partition) else {
            continue;
        };
        sent.insert((topic.clone(), *partition), following);
        let mut p = FetchPartition::default();
        p.partition = *partition;
        p.current_leader_epoch = following.epoch;
        p.fetch_offset = log.next_offset();
        p.last_fetched_epoch = -1;
        p.log_start_offset = log.log_start_offset();
        p.partition_max_bytes = PARTITION_MAX_BYTES;
        match topics.last_mut() {
            Some(t) if t.topic.0.as_str() == topic => t.partitions.push(p),
            _ => {
                let mut t = FetchTopic::default();
                t.topic = TopicName(StrBytes::from_string(topic.clone()));
                t.partitions.push(p);
                topics.push(t);
            }
        }
    }
    let mut req = FetchRequest::default();
    req.replica_id = BrokerId(shard.metadata().node_id);
    req.max_wait_ms = MAX_WAIT_MS;
    req.min_bytes = 1;
    req.max_bytes = RESPONSE_MAX_BYTES;
    req.session_id = 0;
    req.session_epoch = -1;
    req.topics = topics;
    (req, sent)
}

/// Appends every partition's records and takes the leader's high watermark. Says what went wrong if
/// the leader answered with an error or a partition could not be appended (the caller backs off;
/// metadata will tell what changed). Partitions no longer followed at the epoch they were fetched
/// at (`sent`) are skipped: their log may have been truncated against a newer leader meanwhile.
/// OFFSET_OUT_OF_RANGE, or a batch overlapping the log end, sends the partition back to truncation —
/// unless the whole log lies below the leader's log start: then it restarts empty there.
fn apply(
    shard: &ShardLogs,
    fetcher: &Fetcher,
    sent: &Followed,
    response: FetchResponse,
) -> Option<Pause> {
    if response.error_code != 0 {
        let why = format!("the leader answered error {}", response.error_code);
        return Some(Pause::from(why));
    }
    let mut trouble = None;
    for topic in response.responses {
        for p in topic.partitions {
            let key = (topic.topic.0.to_string(), p.partition_index);
            let Some(asked) = sent.get(&key) else {
                continue;
            };
            if fetcher.follows_at(&key, asked.epoch) != Some(*asked) {
                continue;
            }
            let Some(log) = shard.partition(&key.0, key.1) else {
                continue;
            };
            if p.error_code != 0 {
                let error = ResponseError::try_from_code(p.error_code);
                debug!(topic = %log.topic, partition = log.partition, ?error, "leader refused a replica fetch");
                if error == Some(ResponseError::OffsetOutOfRange) {
                    if log.next_offset() < p.log_start_offset {
                        // Below the leader's log start: what is missing is gone from the leader too.
                        match log.restart_at(p.log_start_offset) {
                            Ok(()) => continue,
                            Err(e) => {
                                let why = format!(
                                    "{}-{}: cannot restart the log: {e}",
                                    log.topic, log.partition
                                );
                                trouble = Some(Pause::from(why));
                                continue;
                            }
                        }
                    }
                    info!(topic = %log.topic, partition = log.partition, fetch_offset = log.next_offset(), "fetch offset out of the leader's range; truncating again");
                    fetcher.retruncate(&key);
                }
                trouble = Some(Pause::refused(&log, error));
                continue;
            }
            let batches = match whole_batches(p.records.unwrap_or_default()) {
                Ok(b) => b,
                Err(e) => {
                    let why = format!("{}-{}: corrupt batch: {e}", log.topic, log.partition);
                    trouble = Some(Pause::from(why));
                    continue;
                }
            };
            if !batches.is_empty() {
                if let Err(e) = log.append_replicated(batches) {
                    if matches!(e, AppendError::Diverged { .. }) {
                        fetcher.retruncate(&key);
                    }
                    let why = format!("{}-{}: cannot append: {e}", log.topic, log.partition);
                    trouble = Some(Pause::from(why));
                    continue;
                }
            }
            log.set_leader_high_watermark(p.high_watermark);
            follow_log_start(&log, p.log_start_offset);
        }
    }
    trouble
}

/// Moves a follower's log start up to its leader's (DeleteRecords, or retention, on the leader), as
/// far as its own high watermark, so records deleted there do not come back after a failover.
fn follow_log_start(log: &PartitionLog, leader_log_start: i64) {
    let target = leader_log_start.min(log.high_watermark.get());
    if target > log.log_start_offset() {
        if let Err(e) = log.delete_records_before(target) {
            warn!(topic = %log.topic, partition = log.partition, target, error = %e, "cannot follow the leader's log start");
        }
    }
}

/// The complete batches of a fetched record set, CRC-checked; a truncated last batch (the leader
/// stops at its byte limit) is left for the next fetch.
fn whole_batches(records: Bytes) -> Result<Vec<ValidBatch>, batch::BatchError> {
    let mut out = Vec::new();
    let mut pos = 0;
    while records.len() - pos >= batch::HEADER_LEN {
        let header = BatchHeader::parse(&records[pos..])?;
        let len = header.total_len();
        if len > records.len() - pos {
            break;
        }
        batch::verify_crc(&records[pos..], &header)?;
        out.push(ValidBatch {
            header,
            bytes: records.slice(pos..pos + len),
        });
        pos += len;
    }
    Ok(out)
}
