//! Before the load: make sure the topic exists with the requested partitions and a leader for each, and
//! read where each partition starts and ends.

use super::error::BenchError;
use crate::client::{topic_name, ClientError, Connection};
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    BrokerId, CreateTopicsRequest, DeleteTopicsRequest, ListOffsetsRequest, MetadataRequest,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use std::time::{Duration, Instant};
use tracing::info;

/// How long a new topic may take to get a leader for every partition (Kafka takes a moment).
const TOPIC_READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Creates `topic` with `partitions` (and `configs`) unless it exists; an existing topic must have
/// exactly that many partitions. Returns once every partition has a leader.
pub fn prepare_topic(
    conn: &mut Connection,
    topic: &str,
    partitions: i32,
    configs: &[(String, String)],
) -> Result<(), BenchError> {
    if partition_count(conn, topic)?.is_none() {
        create_topic(conn, topic, partitions, configs)?;
        info!(topic, partitions, "created the topic");
    }
    let deadline = Instant::now() + TOPIC_READY_TIMEOUT;
    loop {
        match partition_count(conn, topic)? {
            Some(n) if n == partitions as usize => return Ok(()),
            Some(n) if n > 0 => {
                return Err(BenchError::PartitionCount {
                    topic: topic.to_string(),
                    actual: n,
                    wanted: partitions,
                })
            }
            _ if Instant::now() > deadline => {
                return Err(BenchError::TopicNotReady(topic.to_string()))
            }
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// Partitions of `topic` that have a leader; `None` if the topic does not exist; `Some(0)` while it
/// exists but some partition has no leader yet.
fn partition_count(conn: &mut Connection, topic: &str) -> Result<Option<usize>, BenchError> {
    let mut t = MetadataRequestTopic::default();
    t.name = Some(topic_name(topic));
    let mut req = MetadataRequest::default();
    req.topics = Some(vec![t]);
    req.allow_auto_topic_creation = false;
    let resp = conn.call(&req)?;
    let Some(t) = resp.topics.first() else {
        return Ok(None);
    };
    match t.error_code {
        0 => {}
        c if c == ResponseError::UnknownTopicOrPartition.code() => return Ok(None),
        c if c == ResponseError::LeaderNotAvailable.code() => return Ok(Some(0)),
        code => return Err(BenchError::broker(format!("Metadata for {topic}"), code)),
    }
    let led = t
        .partitions
        .iter()
        .all(|p| p.error_code == 0 && p.leader_id.0 >= 0);
    Ok(Some(if led { t.partitions.len() } else { 0 }))
}

fn create_topic(
    conn: &mut Connection,
    topic: &str,
    partitions: i32,
    configs: &[(String, String)],
) -> Result<(), BenchError> {
    let mut t = CreatableTopic::default();
    t.name = topic_name(topic);
    t.num_partitions = partitions;
    t.replication_factor = 1;
    t.configs = configs
        .iter()
        .map(|(k, v)| {
            let mut c = CreatableTopicConfig::default();
            c.name = StrBytes::from_string(k.clone());
            c.value = Some(StrBytes::from_string(v.clone()));
            c
        })
        .collect();
    let mut req = CreateTopicsRequest::default();
    req.topics = vec![t];
    req.timeout_ms = 30_000;
    let resp = conn.call(&req)?;
    for r in resp.topics {
        // Another client may have created it in between: that is as good.
        if r.error_code != 0 && r.error_code != ResponseError::TopicAlreadyExists.code() {
            return Err(BenchError::broker(
                format!(
                    "CreateTopics {topic} ({})",
                    r.error_message.as_deref().unwrap_or("")
                ),
                r.error_code,
            ));
        }
    }
    Ok(())
}

pub fn delete_topic(conn: &mut Connection, topic: &str) -> Result<(), BenchError> {
    let mut req = DeleteTopicsRequest::default();
    req.topic_names = vec![topic_name(topic)];
    req.timeout_ms = 30_000;
    let resp = conn.call(&req)?;
    match resp.responses.iter().find(|r| r.error_code != 0) {
        Some(r) => Err(BenchError::broker(
            format!("DeleteTopics {topic}"),
            r.error_code,
        )),
        None => Ok(()),
    }
}

/// Which end of the partitions `offsets` asks for (ListOffsets' special timestamps).
#[derive(Clone, Copy)]
pub enum End {
    Earliest = -2,
    Latest = -1,
}

/// Each partition's earliest or latest offset, indexed by partition. A new topic's partitions can answer
/// "not leader" for a moment after Metadata already names their leader (Kafka): that is retried.
pub fn offsets(
    conn: &mut Connection,
    topic: &str,
    partitions: i32,
    end: End,
) -> Result<Vec<i64>, BenchError> {
    let deadline = Instant::now() + TOPIC_READY_TIMEOUT;
    loop {
        match list_offsets(conn, topic, partitions, end) {
            Err(BenchError::Client(ClientError::Broker { code, .. }))
                if is_transient(code) && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(100))
            }
            result => return result,
        }
    }
}

fn is_transient(code: i16) -> bool {
    [
        ResponseError::NotLeaderOrFollower,
        ResponseError::LeaderNotAvailable,
        ResponseError::UnknownTopicOrPartition,
    ]
    .iter()
    .any(|e| e.code() == code)
}

fn list_offsets(
    conn: &mut Connection,
    topic: &str,
    partitions: i32,
    end: End,
) -> Result<Vec<i64>, BenchError> {
    let mut t = ListOffsetsTopic::default();
    t.name = topic_name(topic);
    t.partitions = (0..partitions)
        .map(|p| {
            let mut lp = ListOffsetsPartition::default();
            lp.partition_index = p;
            lp.current_leader_epoch = -1;
            lp.timestamp = end as i64;
            lp
        })
        .collect();
    let mut req = ListOffsetsRequest::default();
    req.replica_id = BrokerId(-1);
    req.topics = vec![t];
    let resp = conn.call(&req)?;
    let mut out = vec![0; partitions as usize];
    for p in resp.topics.iter().flat_map(|t| &t.partitions) {
        if p.error_code != 0 {
            return Err(BenchError::broker(
                format!("ListOffsets {topic}-{}", p.partition_index),
                p.error_code,
            ));
        }
        if let Some(slot) = usize::try_from(p.partition_index)
            .ok()
            .and_then(|i| out.get_mut(i))
        {
            *slot = p.offset;
        }
    }
    Ok(out)
}
