//! Typed shortcuts for the requests tests send most.

use super::Conn;
use bytes::Bytes;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::delete_records_request::{
    DeleteRecordsPartition, DeleteRecordsTopic,
};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

pub fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_string()))
}

/// Creates a topic; returns the error code (0 = created).
pub fn create_topic(conn: &mut Conn, name: &str, partitions: i32, configs: &[(&str, &str)]) -> i16 {
    create_topic_answer(conn, name, partitions, 1, configs).0
}

/// Creates a topic with `replication_factor` replicas (-1: the broker's default); returns the error
/// code and message.
pub fn create_topic_answer(
    conn: &mut Conn,
    name: &str,
    partitions: i32,
    replication_factor: i16,
    configs: &[(&str, &str)],
) -> (i16, Option<String>) {
    let mut t = CreatableTopic::default();
    t.name = topic_name(name);
    t.num_partitions = partitions;
    t.replication_factor = replication_factor;
    t.configs = configs
        .iter()
        .map(|(k, v)| {
            let mut c = CreatableTopicConfig::default();
            c.name = StrBytes::from_string(k.to_string());
            c.value = Some(StrBytes::from_string(v.to_string()));
            c
        })
        .collect();
    let mut req = CreateTopicsRequest::default();
    req.topics = vec![t];
    req.timeout_ms = 10_000;
    let resp: CreateTopicsResponse = conn.request(ApiKey::CreateTopics, 7, &req);
    let t = &resp.topics[0];
    (
        t.error_code,
        t.error_message.as_ref().map(|m| m.to_string()),
    )
}

/// Produces one record set to one partition; returns (error code, base offset).
pub fn produce(
    conn: &mut Conn,
    topic: &str,
    partition: i32,
    acks: i16,
    records: Bytes,
) -> (i16, i64) {
    let mut p = PartitionProduceData::default();
    p.index = partition;
    p.records = Some(records);
    let mut t = TopicProduceData::default();
    t.name = topic_name(topic);
    t.partition_data = vec![p];
    let mut req = ProduceRequest::default();
    req.acks = acks;
    req.timeout_ms = 30_000;
    req.topic_data = vec![t];
    let resp: ProduceResponse = conn.request(ApiKey::Produce, 9, &req);
    let p = &resp.responses[0].partition_responses[0];
    (p.error_code, p.base_offset)
}

pub struct Fetched {
    pub error_code: i16,
    pub high_watermark: i64,
    pub records: Bytes,
}

/// Fetches one partition from `offset`, waiting up to `max_wait_ms` for at least one byte.
pub fn fetch(
    conn: &mut Conn,
    topic: &str,
    partition: i32,
    offset: i64,
    max_wait_ms: i32,
) -> Fetched {
    fetch_at_epoch(conn, topic, partition, offset, max_wait_ms, -1)
}

/// `fetch` by a consumer that believes the partition's leader epoch is `current_leader_epoch`.
pub fn fetch_at_epoch(
    conn: &mut Conn,
    topic: &str,
    partition: i32,
    offset: i64,
    max_wait_ms: i32,
    current_leader_epoch: i32,
) -> Fetched {
    let mut req = fetch_request(topic, partition, offset, max_wait_ms);
    req.topics[0].partitions[0].current_leader_epoch = current_leader_epoch;
    let resp: FetchResponse = conn.request(ApiKey::Fetch, 12, &req);
    let p = &resp.responses[0].partitions[0];
    Fetched {
        error_code: p.error_code,
        high_watermark: p.high_watermark,
        records: p.records.clone().unwrap_or_default(),
    }
}

/// A consumer's Fetch of one partition from `offset` (up to 64 MiB, at least one byte or `max_wait_ms`).
pub fn fetch_request(topic: &str, partition: i32, offset: i64, max_wait_ms: i32) -> FetchRequest {
    let mut p = FetchPartition::default();
    p.partition = partition;
    p.fetch_offset = offset;
    p.current_leader_epoch = -1;
    p.partition_max_bytes = 64 << 20;
    let mut t = FetchTopic::default();
    t.topic = topic_name(topic);
    t.partitions = vec![p];
    let mut req = FetchRequest::default();
    req.replica_id = BrokerId(-1);
    req.max_wait_ms = max_wait_ms;
    req.min_bytes = 1;
    req.max_bytes = 64 << 20;
    req.topics = vec![t];
    req
}

/// ListOffsets for one partition at `timestamp` (-2 earliest, -1 latest); returns (error, offset).
pub fn list_offset(conn: &mut Conn, topic: &str, partition: i32, timestamp: i64) -> (i16, i64) {
    let req = list_offsets_request(topic, partition, timestamp);
    let resp: ListOffsetsResponse = conn.request(ApiKey::ListOffsets, 6, &req);
    let p = &resp.topics[0].partitions[0];
    (p.error_code, p.offset)
}

/// A consumer's ListOffsets of one partition at `timestamp`.
pub fn list_offsets_request(topic: &str, partition: i32, timestamp: i64) -> ListOffsetsRequest {
    let mut p = ListOffsetsPartition::default();
    p.partition_index = partition;
    p.timestamp = timestamp;
    let mut t = ListOffsetsTopic::default();
    t.name = topic_name(topic);
    t.partitions = vec![p];
    let mut req = ListOffsetsRequest::default();
    req.replica_id = BrokerId(-1);
    req.topics = vec![t];
    req
}

/// DeleteRecords: moves the partition's log start up to `before`; returns (error, low watermark).
pub fn delete_records(conn: &mut Conn, topic: &str, partition: i32, before: i64) -> (i16, i64) {
    let mut p = DeleteRecordsPartition::default();
    p.partition_index = partition;
    p.offset = before;
    let mut t = DeleteRecordsTopic::default();
    t.name = topic_name(topic);
    t.partitions = vec![p];
    let mut req = DeleteRecordsRequest::default();
    req.topics = vec![t];
    req.timeout_ms = 10_000;
    let resp: DeleteRecordsResponse = conn.request(ApiKey::DeleteRecords, 2, &req);
    let r = &resp.topics[0].partitions[0];
    (r.error_code, r.low_watermark)
}

/// Fetches everything from `from` up to the high watermark; returns (offset, value) pairs.
pub fn fetch_all(conn: &mut Conn, topic: &str, partition: i32, from: i64) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    let mut next = from;
    loop {
        let f = fetch(conn, topic, partition, next, 0);
        assert_eq!(f.error_code, 0, "fetch at {next} failed");
        let values = super::decode_values(f.records);
        match values.last() {
            Some(&(last, _)) => next = last + 1,
            None => break,
        }
        out.extend(values);
        if next >= f.high_watermark {
            break;
        }
    }
    out
}
