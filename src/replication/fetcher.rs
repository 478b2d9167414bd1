//! Followers pull from leaders. Each shard runs one fetcher per (leader node, leader shard) for the
//! partitions it follows — a dedicated connection per shard pair, owned by this shard, so nothing is
//! shared across threads. A fetcher sends ordinary Fetch requests with `replica_id` = this node,
//! appends what comes back exactly as the leader wrote it (`PartitionLog::append_replicated`), and
//! keeps its high watermark at min(own log end, leader's). Fetchers start, change and stop with the
//! metadata snapshots the shard applies.

use super::connection::LeaderLink;
use crate::cluster::metadata::MetadataSnapshot;
use crate::runtime::shard::Shard;
use crate::storage::batch::{self, BatchHeader, ValidBatch};
use bytes::Bytes;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{BrokerId, FetchRequest, FetchResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
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

/// (topic, partition) → the leader epoch this node follows it at.
type Followed = BTreeMap<(String, i32), i32>;

/// One fetcher's shared state: what it follows now, and whether it should stop.
#[derive(Default)]
struct Fetcher {
    partitions: RefCell<Followed>,
    stopped: Cell<bool>,
}

/// This shard's fetchers, keyed by (leader node, leader shard).
#[derive(Default)]
pub struct ReplicaFetchers {
    fetchers: RefCell<HashMap<(i32, u32), Rc<Fetcher>>>,
}

impl ReplicaFetchers {
    /// Makes the fetchers match `snapshot`: every partition this shard holds a follower replica of is
    /// fetched from its leader; fetchers left with nothing stop.
    pub fn reconcile(&self, shard: &Rc<Shard>, snapshot: &MetadataSnapshot) {
        let mut wanted: HashMap<(i32, u32), Followed> = HashMap::new();
        for topic in snapshot.topics.values() {
            for (p, info) in topic.partitions.iter().enumerate() {
                let follower = info.leader >= 0 && info.leader != snapshot.node_id;
                if follower && info.local_shard == Some(shard.id) {
                    wanted
                        .entry((info.leader, info.leader_shard))
                        .or_default()
                        .insert((topic.name.clone(), p as i32), info.leader_epoch);
                }
            }
        }
        let mut fetchers = self.fetchers.borrow_mut();
        fetchers.retain(|key, f| {
            let keep = wanted.contains_key(key);
            if !keep {
                f.stopped.set(true);
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
fn leader_address(shard: &Shard, leader: i32) -> Option<String> {
    let metadata = shard.metadata();
    let broker = metadata.brokers.iter().find(|b| b.node_id == leader)?;
    let e = broker.endpoint(None)?;
    Some(format!("{}:{}", e.host, e.port))
}

async fn run(shard: Rc<Shard>, leader: i32, fetcher: Rc<Fetcher>) {
    let mut link: Option<LeaderLink> = None;
    let mut backoff = BACKOFF_MIN;
    let mut reported = false;
    while !fetcher.stopped.get() {
        let pause = match link.as_mut() {
            None => match leader_address(&shard, leader) {
                None => Some(Pause::from(
                    "the leader has no registered endpoint".to_string(),
                )),
                Some(address) => match LeaderLink::connect(&address).await {
                    Ok(l) => {
                        info!(leader, %address, shard = shard.id, "replica fetcher connected");
                        link = Some(l);
                        None
                    }
                    Err(e) => Some(Pause::from(e.to_string())),
                },
            },
            Some(l) => {
                let request = fetch_request(&shard, &fetcher.partitions.borrow());
                match l.request(&request, FETCH_VERSION, ANSWER_TIMEOUT).await {
                    Ok(response) => apply(&shard, response),
                    Err(e) => {
                        link = None;
                        Some(Pause::from(e.to_string()))
                    }
                }
            }
        };
        match pause {
            None => {
                backoff = BACKOFF_MIN;
                reported = false;
            }
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
struct Pause {
    why: String,
    /// Only the leader's metadata lags behind ours (it does not know the partition, or that it leads).
    metadata_lag: bool,
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

/// A Fetch for every followed partition from its log's next offset.
fn fetch_request(shard: &Shard, followed: &Followed) -> FetchRequest {
    let mut topics: Vec<FetchTopic> = Vec::new();
    for ((topic, partition), &epoch) in followed {
        let Some(log) = shard.partition(topic, *partition) else {
            continue;
        };
        let mut p = FetchPartition::default();
        p.partition = *partition;
        p.current_leader_epoch = epoch;
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
    req
}

/// Appends every partition's records and takes the leader's high watermark. Says what went wrong if
/// the leader answered with an error or a partition could not be appended (the caller backs off;
/// metadata will tell what changed).
fn apply(shard: &Shard, response: FetchResponse) -> Option<Pause> {
    if response.error_code != 0 {
        let why = format!("the leader answered error {}", response.error_code);
        return Some(Pause::from(why));
    }
    let mut trouble = None;
    for topic in response.responses {
        for p in topic.partitions {
            let Some(log) = shard.partition(topic.topic.0.as_str(), p.partition_index) else {
                continue;
            };
            if p.error_code != 0 {
                let error = ResponseError::try_from_code(p.error_code);
                debug!(topic = %log.topic, partition = log.partition, ?error, "leader refused a replica fetch");
                trouble = Some(Pause {
                    why: format!("{}-{}: {error:?}", log.topic, log.partition),
                    metadata_lag: matches!(
                        error,
                        Some(
                            ResponseError::UnknownTopicOrPartition
                                | ResponseError::NotLeaderOrFollower
                        )
                    ),
                });
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
                    let why = format!("{}-{}: cannot append: {e}", log.topic, log.partition);
                    trouble = Some(Pause::from(why));
                    continue;
                }
            }
            log.set_leader_high_watermark(p.high_watermark);
        }
    }
    trouble
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
