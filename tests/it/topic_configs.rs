//! Topic configs Kafka's frameworks set (Kafka Streams' internal topics, issue #14): LogAppendTime
//! topics, IncrementalAlterConfigs APPEND/SUBTRACT on list configs, DescribeConfigs synonyms and sources.

use crate::common;

use common::api::{create_topic, fetch, list_offset, produce};
use common::{batch_of, temp_dir, Broker, Conn};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use shardlog::storage::batch::BatchHeader;
use shardlog::storage::log::now_ms;

const TOPIC_RESOURCE: i8 = 2;

#[test]
fn a_log_append_time_topic_stamps_batches_with_the_broker_clock() {
    let broker = Broker::start(&temp_dir("log-append-time"), &[]);
    let mut conn = broker.conn();
    let code = create_topic(
        &mut conn,
        "appended",
        1,
        &[("message.timestamp.type", "LogAppendTime")],
    );
    assert_eq!(
        code, 0,
        "Kafka Streams sets message.timestamp.type on its topics"
    );
    let before = now_ms();
    let (code, base) = produce(&mut conn, "appended", 0, 1, batch_of(0..3, 1_000));
    assert_eq!((code, base), (0, 0));
    let fetched = fetch(&mut conn, "appended", 0, 0, 1000);
    let header = BatchHeader::parse(&fetched.records).unwrap();
    assert!(header.is_log_append_time(), "timestamp type bit set");
    assert!(
        header.max_timestamp >= before,
        "append time {} is the broker's clock, not the producer's 1000",
        header.max_timestamp
    );
    shardlog::storage::batch::verify_crc(&fetched.records, &header).expect("CRC recomputed");
    // ListOffsets by timestamp finds the record by its append time.
    assert_eq!(list_offset(&mut conn, "appended", 0, before), (0, 0));
    assert_eq!(
        list_offset(&mut conn, "appended", 0, now_ms() + 60_000).1,
        -1
    );
}

fn alter(conn: &mut Conn, topic: &str, name: &str, op: i8, value: &str) -> i16 {
    let mut c = AlterableConfig::default();
    c.name = StrBytes::from_string(name.into());
    c.config_operation = op;
    c.value = Some(StrBytes::from_string(value.into()));
    let mut r = AlterConfigsResource::default();
    r.resource_type = TOPIC_RESOURCE;
    r.resource_name = StrBytes::from_string(topic.into());
    r.configs = vec![c];
    let mut req = IncrementalAlterConfigsRequest::default();
    req.resources = vec![r];
    let resp: IncrementalAlterConfigsResponse =
        conn.request(ApiKey::IncrementalAlterConfigs, 1, &req);
    resp.responses[0].error_code
}

/// (value, source, synonyms as (name, source)) of one topic config.
fn describe(conn: &mut Conn, topic: &str, name: &str) -> (String, i8, Vec<(String, i8)>) {
    let mut r = DescribeConfigsResource::default();
    r.resource_type = TOPIC_RESOURCE;
    r.resource_name = StrBytes::from_string(topic.into());
    r.configuration_keys = Some(vec![StrBytes::from_string(name.into())]);
    let mut req = DescribeConfigsRequest::default();
    req.resources = vec![r];
    req.include_synonyms = true;
    let resp: DescribeConfigsResponse = conn.request(ApiKey::DescribeConfigs, 3, &req);
    let e = &resp.results[0].configs[0];
    let synonyms = e
        .synonyms
        .iter()
        .map(|s| (s.name.to_string(), s.source))
        .collect();
    (
        e.value.as_ref().unwrap().to_string(),
        e.config_source,
        synonyms,
    )
}

#[test]
fn list_configs_take_append_and_subtract_and_describe_shows_synonyms() {
    let broker = Broker::start(
        &temp_dir("config-lists"),
        &["--log-retention-ms", "3600000"],
    );
    let mut conn = broker.conn();
    assert_eq!(create_topic(&mut conn, "lists", 1, &[]), 0);
    assert_eq!(alter(&mut conn, "lists", "cleanup.policy", 2, "compact"), 0);
    let (value, source, synonyms) = describe(&mut conn, "lists", "cleanup.policy");
    assert_eq!((value.as_str(), source), ("delete,compact", 1));
    assert_eq!(
        synonyms,
        vec![
            ("cleanup.policy".into(), 1),
            ("log.cleanup.policy".into(), 5)
        ]
    );
    assert_eq!(alter(&mut conn, "lists", "cleanup.policy", 3, "delete"), 0);
    assert_eq!(describe(&mut conn, "lists", "cleanup.policy").0, "compact");
    // APPEND on a config that is not a list is refused with INVALID_CONFIG.
    assert_eq!(alter(&mut conn, "lists", "retention.ms", 2, "5"), 40);
    // A topic without an override shows the broker's static setting it falls back to.
    let (value, source, synonyms) = describe(&mut conn, "lists", "retention.ms");
    assert_eq!((value.as_str(), source), ("3600000", 4));
    assert_eq!(synonyms, vec![("log.retention.ms".into(), 4)]);
}
