//! Consumer groups. A group is owned by the shard that owns its `__consumer_offsets` partition, so its
//! membership and its commits live together, with no locks: other shards forward group requests there.
//! `GroupCoordinator` is one shard's slice: its groups' classic-protocol state (`group.rs`) and their
//! committed offsets, persisted in `__consumer_offsets` (`offsets_topic.rs`) and replayed at startup.

pub mod consumer_group;
pub mod group;
mod internal_records;
pub mod lag;
pub mod offsets_topic;
pub mod transactions;
pub mod txn_log;
mod txn_offsets;

use crate::cluster::metadata::MetadataSnapshot;
use crate::config::BrokerConfig;
use crate::runtime::partitions::Partitions;
use crate::storage::batch::validate_record_set;
use crate::storage::PartitionLog;
use consumer_group::{ConsumerGroup, Heartbeat, HeartbeatAnswer};
use group::{Group, GroupState};
use internal_records::Writer;
use kafka_protocol::ResponseError;
use lag::{GroupLag, LagTracker};
use offsets_topic::{Committed, OffsetKey, Replayed};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::time::{Duration, Instant};
use tracing::{info, warn};
use txn_offsets::PendingTxnOffsets;

/// Longest commit metadata string accepted (Kafka's offset.metadata.max.bytes).
const MAX_METADATA_BYTES: usize = 4096;

/// A group's committed offsets by (topic, partition).
pub type GroupOffsets = BTreeMap<(String, i32), Committed>;

pub struct GroupCoordinator {
    /// This shard's partition logs: the groups' state lives in its `__consumer_offsets` partitions.
    partitions: Rc<Partitions>,
    groups: RefCell<HashMap<String, Group>>,
    /// Groups using the KIP-848 protocol (`group.protocol=consumer`).
    consumer_groups: RefCell<HashMap<String, ConsumerGroup>>,
    offsets: RefCell<HashMap<String, GroupOffsets>>,
    lag: RefCell<HashMap<String, LagTracker>>,
    /// Transactional commits waiting for their transaction's marker.
    pending: RefCell<PendingTxnOffsets>,
}

/// Every topic as (id, partition count), what the KIP-848 assignor works from.
pub fn topic_table(snapshot: &MetadataSnapshot) -> HashMap<String, (uuid::Uuid, i32)> {
    snapshot
        .topics
        .values()
        .map(|t| (t.name.clone(), (t.id, t.partition_count())))
        .collect()
}

/// A group as DescribeGroups shows it.
pub struct GroupDescription {
    pub state: &'static str,
    pub protocol_type: String,
    pub protocol: String,
    /// (member id, instance id, client id, client host, metadata, assignment)
    pub members: Vec<(
        String,
        Option<String>,
        String,
        String,
        bytes::Bytes,
        bytes::Bytes,
    )>,
}

impl GroupCoordinator {
    pub fn new(partitions: Rc<Partitions>) -> GroupCoordinator {
        GroupCoordinator {
            partitions,
            groups: RefCell::default(),
            consumer_groups: RefCell::default(),
            offsets: RefCell::default(),
            lag: RefCell::default(),
            pending: RefCell::default(),
        }
    }

    /// The `__consumer_offsets` partition `partition` of this shard, where its groups are kept.
    pub fn offsets_log(&self, partition: i32) -> Option<Rc<PartitionLog>> {
        self.partitions.get(offsets_topic::TOPIC, partition)
    }

    /// Runs `f` on the group's classic state, creating the group (Empty) if needed.
    pub fn with_group<T>(&self, group_id: &str, f: impl FnOnce(&mut Group) -> T) -> T {
        let mut groups = self.groups.borrow_mut();
        let group = groups
            .entry(group_id.to_string())
            .or_insert_with(|| Group::new(group_id.to_string()));
        f(group)
    }

    /// Runs `f` on an existing group; `None` if the group has no membership state.
    pub fn with_existing<T>(&self, group_id: &str, f: impl FnOnce(&mut Group) -> T) -> Option<T> {
        self.groups.borrow_mut().get_mut(group_id).map(f)
    }

    /// Replays one `__consumer_offsets` partition's records into the offset cache (startup).
    pub fn load(&self, log: &PartitionLog) {
        let segments = match log.read_segments() {
            Ok(s) => s,
            Err(e) => {
                warn!(partition = log.partition, error = %e, "cannot replay __consumer_offsets partition");
                return;
            }
        };
        let mut offsets = self.offsets.borrow_mut();
        let mut pending = self.pending.borrow_mut();
        let mut replayed = 0usize;
        for segment in segments {
            offsets_topic::replay(segment, |entry| match entry {
                Replayed::Commit(key, value, None) => {
                    replayed += 1;
                    let (group, topic, partition) = key;
                    let entry = offsets.entry(group).or_default();
                    match value {
                        Some(c) => {
                            entry.insert((topic, partition), c);
                        }
                        None => {
                            entry.remove(&(topic, partition));
                        }
                    }
                }
                Replayed::Commit(key, Some(c), Some(producer_id)) => {
                    replayed += 1;
                    pending.add(log.partition, producer_id, [(key, c)]);
                }
                Replayed::Commit(_, None, Some(_)) => {}
                Replayed::Marker {
                    producer_id,
                    commit,
                } => {
                    for ((group, topic, partition), c) in pending.take(log.partition, producer_id) {
                        if commit {
                            offsets
                                .entry(group)
                                .or_default()
                                .insert((topic, partition), c);
                        }
                    }
                }
            });
        }
        offsets.retain(|_, o| !o.is_empty());
        if replayed > 0 {
            info!(
                partition = log.partition,
                records = replayed,
                "replayed committed offsets"
            );
        }
    }

    /// A KIP-848 heartbeat for `group_id` (created on first join).
    pub fn consumer_heartbeat(
        &self,
        group_id: &str,
        hb: Heartbeat,
        topics: &HashMap<String, (uuid::Uuid, i32)>,
    ) -> Result<HeartbeatAnswer, ResponseError> {
        let mut groups = self.consumer_groups.borrow_mut();
        let group = groups.entry(group_id.to_string()).or_default();
        group.heartbeat(hb, topics, Instant::now())
    }

    /// Checks a commit's member and generation. Generation -1 with no member is an admin commit,
    /// accepted only while the group has no members. KIP-848 members commit with their member epoch;
    /// being a current member is what counts.
    pub fn check_commit(
        &self,
        group_id: &str,
        member_id: &str,
        generation: i32,
    ) -> Result<(), ResponseError> {
        if let Some(g) = self.consumer_groups.borrow().get(group_id) {
            if !g.members.is_empty() || !member_id.is_empty() {
                return if g.members.contains_key(member_id) {
                    Ok(())
                } else {
                    Err(ResponseError::UnknownMemberId)
                };
            }
        }
        let groups = self.groups.borrow();
        let Some(group) = groups.get(group_id) else {
            return if generation < 0 {
                Ok(())
            } else {
                Err(ResponseError::IllegalGeneration)
            };
        };
        if generation < 0 && member_id.is_empty() && group.members.is_empty() {
            return Ok(());
        }
        group.check_member(member_id, generation)?;
        // As Kafka: members of the current generation may commit while a rebalance is being prepared
        // (cooperative consumers do); only between JoinGroup and SyncGroup is it refused.
        match group.state {
            GroupState::CompletingRebalance => Err(ResponseError::RebalanceInProgress),
            _ => Ok(()),
        }
    }

    /// Persists commits (one batch, fsynced) to the group's `__consumer_offsets` partition, then
    /// makes them visible — or, for a transactional producer's commit (`txn`: its id and epoch,
    /// TxnOffsetCommit), holds them pending until its transaction's marker decides them
    /// (`end_transaction`). Per entry: `Ok` or the reason it was refused.
    pub async fn commit(
        &self,
        log: &Rc<PartitionLog>,
        group_id: &str,
        entries: Vec<((String, i32), Committed)>,
        txn: Option<(i64, i16)>,
    ) -> Vec<Result<(), ResponseError>> {
        let results: Vec<Result<(), ResponseError>> = entries
            .iter()
            .map(|(_, c)| {
                if c.metadata.len() > MAX_METADATA_BYTES {
                    Err(ResponseError::OffsetMetadataTooLarge)
                } else {
                    Ok(())
                }
            })
            .collect();
        let accepted: Vec<(OffsetKey, Option<Committed>)> = entries
            .iter()
            .zip(&results)
            .filter(|(_, r)| r.is_ok())
            .map(|(((t, p), c), _)| ((group_id.to_string(), t.clone(), *p), Some(c.clone())))
            .collect();
        if accepted.is_empty() {
            return results;
        }
        let writer = match txn {
            None => Writer::PLAIN,
            Some((producer_id, producer_epoch)) => Writer {
                producer_id,
                producer_epoch,
                transactional: true,
            },
        };
        if let Err(e) = self.persist(log, &accepted, writer).await {
            warn!(group = group_id, error = %e, "committing offsets failed");
            return vec![Err(ResponseError::KafkaStorageError); entries.len()];
        }
        let commits = accepted
            .into_iter()
            .map(|(key, c)| (key, c.expect("commits carry values")));
        match txn {
            Some((producer_id, _)) => {
                self.pending
                    .borrow_mut()
                    .add(log.partition, producer_id, commits)
            }
            None => {
                let mut offsets = self.offsets.borrow_mut();
                for ((group, topic, partition), c) in commits {
                    offsets
                        .entry(group)
                        .or_default()
                        .insert((topic, partition), c);
                }
            }
        }
        results
    }

    /// A COMMIT or ABORT marker for `producer_id` reached `__consumer_offsets` partition `partition`:
    /// its pending transactional commits there become visible, or are dropped.
    pub fn end_transaction(&self, partition: i32, producer_id: i64, commit: bool) {
        let decided = self.pending.borrow_mut().take(partition, producer_id);
        if commit {
            let mut offsets = self.offsets.borrow_mut();
            for ((group, topic, p), c) in decided {
                offsets.entry(group).or_default().insert((topic, p), c);
            }
        }
    }

    /// Whether a transaction holds an undecided commit for the group's partition (OffsetFetch with
    /// require_stable answers UNSTABLE_OFFSET_COMMIT for it).
    pub fn has_pending_commit(&self, group_id: &str, topic: &str, partition: i32) -> bool {
        self.pending
            .borrow()
            .contains(&(group_id.to_string(), topic.to_string(), partition))
    }

    async fn persist(
        &self,
        log: &Rc<PartitionLog>,
        entries: &[(OffsetKey, Option<Committed>)],
        writer: Writer,
    ) -> Result<(), String> {
        let batch = offsets_topic::encode_batch(entries, writer, crate::storage::log::now_ms());
        let batches = validate_record_set(&batch, usize::MAX).map_err(|e| e.to_string())?;
        let appended = log.append(batches).map_err(|e| e.to_string())?;
        log.ensure_durable(appended.end_offset)
            .await
            .map_err(|e| e.to_string())
    }

    /// The committed offsets of a group (empty if none).
    pub fn committed(&self, group_id: &str) -> GroupOffsets {
        self.offsets
            .borrow()
            .get(group_id)
            .cloned()
            .unwrap_or_default()
    }

    /// Deletes the given committed offsets (tombstones first, then the cache).
    pub async fn delete_offsets(
        &self,
        log: &Rc<PartitionLog>,
        group_id: &str,
        keys: Vec<(String, i32)>,
    ) -> Result<(), String> {
        let tombstones: Vec<(OffsetKey, Option<Committed>)> = keys
            .iter()
            .map(|(t, p)| ((group_id.to_string(), t.clone(), *p), None))
            .collect();
        if !tombstones.is_empty() {
            self.persist(log, &tombstones, Writer::PLAIN).await?;
        }
        let mut offsets = self.offsets.borrow_mut();
        if let Some(group) = offsets.get_mut(group_id) {
            for k in &keys {
                group.remove(k);
            }
            if group.is_empty() {
                offsets.remove(group_id);
            }
        }
        Ok(())
    }

    /// Every committed (group, topic, partition, offset) of this shard: what lag sampling measures.
    pub fn all_committed(&self) -> Vec<(String, (String, i32), i64)> {
        self.offsets
            .borrow()
            .iter()
            .flat_map(|(g, o)| o.iter().map(move |(k, c)| (g.clone(), k.clone(), c.offset)))
            .collect()
    }

    /// Records one lag sample per committed partition; `ends` has each partition's log end offset.
    pub fn record_lag(
        &self,
        committed: &[(String, (String, i32), i64)],
        ends: &HashMap<(String, i32), i64>,
    ) {
        let mut by_group: HashMap<&str, Vec<lag::Observation>> = HashMap::new();
        for (group, key, offset) in committed {
            if let Some(end) = ends.get(key) {
                by_group
                    .entry(group)
                    .or_default()
                    .push((key.clone(), *offset, *end));
            }
        }
        let mut lag = self.lag.borrow_mut();
        lag.retain(|g, _| by_group.contains_key(g.as_str()));
        for (group, samples) in by_group {
            lag.entry(group.to_string()).or_default().record(&samples);
        }
    }

    /// Runs `f` on a KIP-848 group (with its state, Empty or Stable), if there is one.
    pub fn with_consumer_group<T>(
        &self,
        group_id: &str,
        f: impl FnOnce(&ConsumerGroup, &'static str) -> T,
    ) -> Option<T> {
        self.consumer_groups
            .borrow()
            .get(group_id)
            .map(|g| f(g, consumer_group_state(g)))
    }

    /// The latest lag of every sampled (group, topic, partition), for the metrics endpoint.
    pub fn lag_samples(&self) -> Vec<crate::metrics::LagSample> {
        self.lag
            .borrow()
            .iter()
            .flat_map(|(group, tracker)| {
                tracker
                    .report()
                    .partitions
                    .into_iter()
                    .map(move |p| (group.clone(), p.topic, p.partition, p.lag))
            })
            .collect()
    }

    /// The group's lag and Burrow-style status (None before the first sample).
    pub fn lag_report(&self, group_id: &str) -> Option<GroupLag> {
        self.lag.borrow().get(group_id).map(LagTracker::report)
    }

    /// True if the group exists: members, or committed offsets.
    pub fn exists(&self, group_id: &str) -> bool {
        self.has_members(group_id)
            || self.offsets.borrow().contains_key(group_id)
            || self.consumer_groups.borrow().contains_key(group_id)
    }

    /// True if the group has members (either protocol): it may not be deleted.
    pub fn has_members(&self, group_id: &str) -> bool {
        self.groups
            .borrow()
            .get(group_id)
            .is_some_and(|g| !g.members.is_empty())
            || self
                .consumer_groups
                .borrow()
                .get(group_id)
                .is_some_and(|g| !g.members.is_empty())
    }

    /// Forgets an empty group's membership state (DeleteGroups, after its offsets are deleted).
    pub fn forget(&self, group_id: &str) {
        self.groups.borrow_mut().remove(group_id);
        self.consumer_groups.borrow_mut().remove(group_id);
    }

    /// Every group of this shard as (id, protocol type, state, group type).
    pub fn list(&self) -> Vec<(String, String, &'static str, &'static str)> {
        let groups = self.groups.borrow();
        let mut out: Vec<_> = groups
            .values()
            .filter(|g| !g.members.is_empty())
            .map(|g| {
                (
                    g.id.clone(),
                    g.protocol_type.clone().unwrap_or_default(),
                    g.state.name(),
                    "classic",
                )
            })
            .collect();
        // A KIP-848 group stays a `consumer` group when its last member leaves, as in Kafka.
        for (id, g) in self.consumer_groups.borrow().iter() {
            if out.iter().any(|(listed, ..)| listed == id) {
                continue;
            }
            out.push((
                id.clone(),
                "consumer".to_string(),
                consumer_group_state(g),
                "consumer",
            ));
        }
        for id in self.offsets.borrow().keys() {
            if !out.iter().any(|(g, ..)| g == id) {
                let protocol_type = groups
                    .get(id)
                    .and_then(|g| g.protocol_type.clone())
                    .unwrap_or_default();
                out.push((
                    id.clone(),
                    protocol_type,
                    GroupState::Empty.name(),
                    "classic",
                ));
            }
        }
        out
    }

    pub fn describe(&self, group_id: &str) -> Option<GroupDescription> {
        if !self.exists(group_id) {
            return None;
        }
        let groups = self.groups.borrow();
        let Some(g) = groups.get(group_id) else {
            let kip848 = self.consumer_groups.borrow().contains_key(group_id);
            return Some(GroupDescription {
                state: GroupState::Empty.name(),
                protocol_type: if kip848 {
                    "consumer".into()
                } else {
                    String::new()
                },
                protocol: String::new(),
                members: Vec::new(),
            });
        };
        let protocol = g.protocol.clone().unwrap_or_default();
        Some(GroupDescription {
            state: g.state.name(),
            protocol_type: g.protocol_type.clone().unwrap_or_default(),
            protocol: protocol.clone(),
            members: g
                .members
                .values()
                .map(|m| {
                    let metadata = m
                        .protocols
                        .iter()
                        .find(|(n, _)| *n == protocol)
                        .map(|(_, b)| b.clone());
                    (
                        m.id.clone(),
                        m.instance_id.clone(),
                        m.client_id.clone(),
                        m.client_host.clone(),
                        metadata.unwrap_or_default(),
                        m.assignment.clone(),
                    )
                })
                .collect(),
        })
    }

    /// Session expiry and rebalance deadlines for every group of this shard.
    pub fn tick(
        &self,
        now: Instant,
        consumer_session_timeout: Duration,
        snapshot: &MetadataSnapshot,
    ) {
        for group in self.groups.borrow_mut().values_mut() {
            for member in group.tick(now) {
                info!(group = %group.id, %member, "member evicted: session timed out");
            }
        }
        let mut consumer_groups = self.consumer_groups.borrow_mut();
        if consumer_groups.is_empty() {
            return;
        }
        let topics = topic_table(snapshot);
        for (id, group) in consumer_groups.iter_mut() {
            for member in group.expire(now, consumer_session_timeout, &topics) {
                info!(group = %id, %member, "member evicted: session timed out");
            }
        }
    }
}

/// A KIP-848 group's state as ListGroups and ConsumerGroupDescribe name it: members reconcile
/// within one heartbeat, so a group with members is reported Stable.
fn consumer_group_state(g: &ConsumerGroup) -> &'static str {
    if g.members.is_empty() {
        GroupState::Empty.name()
    } else {
        GroupState::Stable.name()
    }
}

/// Group settings from the broker config (Kafka's names).
pub struct GroupSettings {
    pub consumer_session_timeout: Duration,
    pub consumer_heartbeat_interval: Duration,
    pub initial_rebalance_delay: Duration,
    pub min_session_timeout: Duration,
    pub max_session_timeout: Duration,
}

impl GroupSettings {
    pub fn from(config: &BrokerConfig) -> GroupSettings {
        GroupSettings {
            consumer_session_timeout: Duration::from_millis(
                config.group_consumer_session_timeout_ms,
            ),
            consumer_heartbeat_interval: Duration::from_millis(
                config.group_consumer_heartbeat_interval_ms,
            ),
            initial_rebalance_delay: Duration::from_millis(config.group_initial_rebalance_delay_ms),
            min_session_timeout: Duration::from_millis(config.group_min_session_timeout_ms),
            max_session_timeout: Duration::from_millis(config.group_max_session_timeout_ms),
        }
    }
}
