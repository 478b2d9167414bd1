//! OffsetCommit, OffsetFetch and OffsetDelete: committed offsets, stored in `__consumer_offsets` on the
//! group's shard and answered from its cache. Authorization (Kafka's): OffsetCommit READ on the group
//! and on each topic, OffsetFetch DESCRIBE on the group and on each topic (topics the principal may not
//! describe are left out of "all topics" answers), OffsetDelete DELETE on the group and READ on each topic.

use super::authz::Access;
use super::group_routing::on_group_shard;
use super::scope::Scope;
use super::RequestContext;
use crate::coordinator::offsets_topic::Committed;
use crate::coordinator::GroupOffsets;
use crate::security::acl::{Operation, ResourceType};
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::offset_fetch_response::*;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use std::rc::Rc;

/// (topic, partitions) as a request lists them.
type TopicPartitions = Vec<(TopicName, Vec<i32>)>;
/// Per topic, each requested partition with its committed offset (None: nothing committed) or the
/// error answering it.
type Answer = Vec<(
    TopicName,
    Vec<(i32, Result<Option<Committed>, ResponseError>)>,
)>;

/// The error of every partition of a topic `op` is refused on, if it is.
fn topic_refusal(access: &Access, op: Operation, topic: &str) -> Option<ResponseError> {
    (!access.allows(op, ResourceType::Topic, topic))
        .then_some(ResponseError::TopicAuthorizationFailed)
}

/// One partition's commit as a request gives it: (partition, offset, leader epoch, metadata).
pub(super) type PartitionCommit = (i32, i64, i32, Option<StrBytes>);

/// One commit request, OffsetCommit's or TxnOffsetCommit's.
pub(super) struct CommitInput {
    pub group_id: String,
    pub member_id: String,
    pub generation: i32,
    /// A transactional producer's id and epoch (TxnOffsetCommit): pending until its marker.
    pub txn: Option<(i64, i16)>,
    pub topics: Vec<(TopicName, Vec<PartitionCommit>)>,
}

/// Checks READ on the group and each topic, commits what is allowed on the group's shard, and answers
/// per topic, in request order, each partition's error code.
pub(super) async fn commit_offsets(
    scope: &Rc<Scope>,
    access: &Access<'_>,
    input: CommitInput,
) -> Vec<(TopicName, Vec<(i32, i16)>)> {
    let now = crate::storage::log::now_ms();
    let group_refused = (!access.allows(Operation::Read, ResourceType::Group, &input.group_id))
        .then_some(ResponseError::GroupAuthorizationFailed);
    // Per topic: its partitions and, when refused, the error answering all of them.
    let shape: Vec<(TopicName, Vec<i32>, Option<ResponseError>)> = input
        .topics
        .iter()
        .map(|(name, partitions)| {
            let refused = group_refused.or_else(|| topic_refusal(access, Operation::Read, name));
            (
                name.clone(),
                partitions.iter().map(|p| p.0).collect(),
                refused,
            )
        })
        .collect();
    let entries: Vec<((String, i32), Committed)> = input
        .topics
        .into_iter()
        .zip(&shape)
        .filter(|(_, (_, _, refused))| refused.is_none())
        .flat_map(|((name, partitions), _)| {
            let name = name.0.to_string();
            partitions
                .into_iter()
                .map(move |(partition, offset, leader_epoch, metadata)| {
                    let committed = Committed {
                        offset,
                        leader_epoch,
                        metadata: metadata.map(|m| m.to_string()).unwrap_or_default(),
                        commit_timestamp: now,
                    };
                    ((name.clone(), partition), committed)
                })
        })
        .collect();
    let results = if entries.is_empty() {
        Vec::new()
    } else {
        commit_on_group_shard(
            scope,
            input.group_id,
            input.member_id,
            input.generation,
            input.txn,
            entries,
        )
        .await
    };
    let mut results = results.into_iter();
    shape
        .into_iter()
        .map(|(name, partitions, refused)| {
            let codes = partitions
                .into_iter()
                .map(|p| {
                    let error = match refused {
                        Some(e) => Some(e),
                        None => results.next().and_then(|r| r.err()),
                    };
                    (p, error.map_or(0, |e| e.code()))
                })
                .collect();
            (name, codes)
        })
        .collect()
}

pub async fn commit(
    scope: &Rc<Scope>,
    ctx: &RequestContext,
    req: OffsetCommitRequest,
) -> OffsetCommitResponse {
    let input = CommitInput {
        group_id: req.group_id.0.to_string(),
        member_id: req.member_id.to_string(),
        generation: req.generation_id_or_member_epoch,
        txn: None,
        topics: req
            .topics
            .into_iter()
            .map(|t| {
                let partitions = t
                    .partitions
                    .into_iter()
                    .map(|p| {
                        let (offset, epoch) = (p.committed_offset, p.committed_leader_epoch);
                        (p.partition_index, offset, epoch, p.committed_metadata)
                    })
                    .collect();
                (t.name, partitions)
            })
            .collect(),
    };
    let mut resp = OffsetCommitResponse::default();
    resp.topics = commit_offsets(scope, &Access::of(scope, ctx), input)
        .await
        .into_iter()
        .map(|(name, codes)| {
            let mut t = OffsetCommitResponseTopic::default();
            t.name = name;
            t.partitions = codes
                .into_iter()
                .map(|(p, code)| {
                    let mut r = OffsetCommitResponsePartition::default();
                    r.partition_index = p;
                    r.error_code = code;
                    r
                })
                .collect();
            t
        })
        .collect();
    resp
}

/// Commits `entries` on the group's shard; one result per entry, in order.
async fn commit_on_group_shard(
    scope: &Rc<Scope>,
    group_id: String,
    member_id: String,
    generation: i32,
    txn: Option<(i64, i16)>,
    entries: Vec<((String, i32), Committed)>,
) -> Vec<Result<(), ResponseError>> {
    let count = entries.len();
    // Every shard holds the same snapshot.
    let metadata = scope.metadata();
    on_group_shard(scope, &group_id.clone(), move |groups, log| async move {
        // A transactional commit names its member only when the producer knows its group's
        // generation (sendOffsetsToTransaction with group metadata, TxnOffsetCommit v3+).
        let checked = txn.is_none() || !member_id.is_empty();
        let check = if checked {
            groups.check_commit(&group_id, &member_id, generation)
        } else {
            Ok(())
        };
        if let Err(e) = check {
            return vec![Err(e); entries.len()];
        }
        // Committed offsets may name partitions led by any node.
        let known = |(t, p): &(String, i32)| metadata.has_partition(t, *p);
        let (valid, invalid): (Vec<_>, Vec<_>) = entries
            .into_iter()
            .enumerate()
            .partition(|(_, (k, _))| known(k));
        let (positions, valid): (Vec<usize>, Vec<_>) = valid.into_iter().unzip();
        let committed = groups.commit(&log, &group_id, valid, txn).await;
        let mut out = vec![Ok(()); positions.len() + invalid.len()];
        for (i, _) in invalid {
            out[i] = Err(ResponseError::UnknownTopicOrPartition);
        }
        for (i, r) in positions.into_iter().zip(committed) {
            out[i] = r;
        }
        out
    })
    .await
    .unwrap_or_else(|e| vec![Err(e); count])
}

/// A group's committed offsets, or the error that prevented reading them (DESCRIBE on the group refused
/// among them).
async fn committed_of(
    scope: &Rc<Scope>,
    access: &Access<'_>,
    group_id: String,
) -> Result<GroupOffsets, ResponseError> {
    if !access.allows(Operation::Describe, ResourceType::Group, &group_id) {
        return Err(ResponseError::GroupAuthorizationFailed);
    }
    on_group_shard(scope, &group_id.clone(), move |groups, _| async move {
        groups.committed(&group_id)
    })
    .await
}

/// Answers `wanted` (None: everything committed) from `offsets`: -1 where nothing was committed.
/// Topics the principal may not DESCRIBE are refused when asked for and left out of "everything".
fn answer(offsets: &GroupOffsets, wanted: Option<TopicPartitions>, access: &Access) -> Answer {
    let listed_all = wanted.is_none();
    let wanted = wanted.unwrap_or_else(|| {
        let mut by_topic: Vec<(TopicName, Vec<i32>)> = Vec::new();
        for (t, p) in offsets.keys() {
            match by_topic.last_mut() {
                Some((name, ps)) if name.0.as_str() == t => ps.push(*p),
                _ => by_topic.push((TopicName(StrBytes::from_string(t.clone())), vec![*p])),
            }
        }
        by_topic
    });
    wanted
        .into_iter()
        .filter(|(name, _)| {
            !listed_all || access.sees(Operation::Describe, ResourceType::Topic, name)
        })
        .map(|(name, partitions)| {
            let topic = name.0.to_string();
            let refused = topic_refusal(access, Operation::Describe, &topic);
            let found = partitions
                .into_iter()
                .map(|p| match refused {
                    Some(e) => (p, Err(e)),
                    None => (p, Ok(offsets.get(&(topic.clone(), p)).cloned())),
                })
                .collect();
            (name, found)
        })
        .collect()
}

fn fill(offset: &mut i64, epoch: &mut i32, metadata: &mut Option<StrBytes>, c: Option<Committed>) {
    match c {
        Some(c) => {
            *offset = c.offset;
            *epoch = c.leader_epoch;
            *metadata = Some(StrBytes::from_string(c.metadata));
        }
        None => {
            *offset = -1;
            *epoch = -1;
            *metadata = Some(StrBytes::default());
        }
    }
}

/// The response topics for `answer`'s result, in the generated types of the request's version range
/// (v1-7 and v8+ use differently named but identically shaped structs).
macro_rules! topics_of {
    ($answer:expr, $topic:ty, $partition:ty) => {
        $answer
            .into_iter()
            .map(|(name, parts)| {
                let mut t = <$topic>::default();
                t.name = name;
                t.partitions = parts
                    .into_iter()
                    .map(|(p, c)| {
                        let mut r = <$partition>::default();
                        r.partition_index = p;
                        if let Err(e) = &c {
                            r.error_code = e.code();
                        }
                        fill(
                            &mut r.committed_offset,
                            &mut r.committed_leader_epoch,
                            &mut r.metadata,
                            c.ok().flatten(),
                        );
                        r
                    })
                    .collect();
                t
            })
            .collect()
    };
}

pub async fn fetch(
    scope: &Rc<Scope>,
    ctx: &RequestContext,
    req: OffsetFetchRequest,
) -> OffsetFetchResponse {
    let mut resp = OffsetFetchResponse::default();
    let access = Access::of(scope, ctx);
    if ctx.version < 8 {
        let wanted = req.topics.map(|ts| {
            ts.into_iter()
                .map(|t| (t.name, t.partition_indexes))
                .collect()
        });
        match committed_of(scope, &access, req.group_id.0.to_string()).await {
            Err(e) => resp.error_code = e.code(),
            Ok(offsets) => {
                resp.topics = topics_of!(
                    answer(&offsets, wanted, &access),
                    OffsetFetchResponseTopic,
                    OffsetFetchResponsePartition
                )
            }
        }
        return resp;
    }
    for g in req.groups {
        let wanted = g.topics.map(|ts| {
            ts.into_iter()
                .map(|t| (t.name, t.partition_indexes))
                .collect()
        });
        let mut group = OffsetFetchResponseGroup::default();
        match committed_of(scope, &access, g.group_id.0.to_string()).await {
            Err(e) => group.error_code = e.code(),
            Ok(offsets) => {
                group.topics = topics_of!(
                    answer(&offsets, wanted, &access),
                    OffsetFetchResponseTopics,
                    OffsetFetchResponsePartitions
                )
            }
        }
        group.group_id = g.group_id;
        resp.groups.push(group);
    }
    resp
}

pub async fn delete(
    scope: &Rc<Scope>,
    ctx: &RequestContext,
    req: OffsetDeleteRequest,
) -> OffsetDeleteResponse {
    let group_id = req.group_id.0.to_string();
    let access = Access::of(scope, ctx);
    if !access.allows(Operation::Delete, ResourceType::Group, &group_id) {
        let mut resp = OffsetDeleteResponse::default();
        resp.error_code = ResponseError::GroupAuthorizationFailed.code();
        return resp;
    }
    let (shape, refused): (TopicPartitions, TopicPartitions) = req
        .topics
        .iter()
        .map(|t| {
            (
                t.name.clone(),
                t.partitions.iter().map(|p| p.partition_index).collect(),
            )
        })
        .partition(|(name, _)| topic_refusal(&access, Operation::Read, name).is_none());
    let keys: Vec<(String, i32)> = shape
        .iter()
        .flat_map(|(t, ps)| ps.iter().map(move |p| (t.0.to_string(), *p)))
        .collect();
    let outcome = on_group_shard(scope, &group_id.clone(), move |groups, log| async move {
        if !groups.exists(&group_id) {
            return Err(ResponseError::GroupIdNotFound);
        }
        // Without parsing member subscriptions, a group with members is treated as using every topic.
        if groups.has_members(&group_id) {
            return Ok(Some(ResponseError::GroupSubscribedToTopic));
        }
        groups
            .delete_offsets(&log, &group_id, keys)
            .await
            .map_err(|_| ResponseError::KafkaStorageError)?;
        Ok(None)
    })
    .await
    .and_then(|o| o);
    let mut resp = OffsetDeleteResponse::default();
    let per_partition = match outcome {
        Err(e) => {
            resp.error_code = e.code();
            None
        }
        Ok(p) => p,
    };
    let refused = refused.into_iter().map(|(name, partitions)| {
        (
            name,
            partitions,
            Some(ResponseError::TopicAuthorizationFailed),
        )
    });
    resp.topics = shape
        .into_iter()
        .map(|(name, partitions)| (name, partitions, per_partition))
        .chain(refused)
        .map(|(name, partitions, error)| {
            let mut t = OffsetDeleteResponseTopic::default();
            t.name = name;
            t.partitions = partitions
                .into_iter()
                .map(|p| {
                    let mut r = OffsetDeleteResponsePartition::default();
                    r.partition_index = p;
                    r.error_code = error.map_or(0, |e| e.code());
                    r
                })
                .collect();
            t
        })
        .collect();
    resp
}
