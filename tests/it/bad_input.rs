//! Bad input over real sockets: each kind gets Kafka's error code or a clean close, the broker keeps
//! serving every other connection, and nothing stored is damaged.

use crate::common;

use common::api::{create_topic, fetch_all, produce, topic_name};
use common::{batch_of, temp_dir, Broker, Conn};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, MetadataRequest, ProduceRequest,
};
use kafka_protocol::protocol::Decodable;

const CORRUPT_MESSAGE: i16 = 2;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const MESSAGE_TOO_LARGE: i16 = 10;
const INVALID_TOPIC_EXCEPTION: i16 = 17;
const UNSUPPORTED_VERSION: i16 = 35;
const INVALID_CONFIG: i16 = 40;

/// A broker with a topic holding 10 known records, and a connection that stays open throughout.
fn setup(name: &str) -> (Broker, Conn) {
    let broker = Broker::start(&temp_dir(name), &["--socket-request-max-bytes", "1048576"]);
    let mut bystander = broker.conn();
    assert_eq!(
        create_topic(&mut bystander, "good", 1, &[("max.message.bytes", "2000")]),
        0
    );
    assert_eq!(
        produce(&mut bystander, "good", 0, 1, batch_of(0..10, 1)).0,
        0
    );
    (broker, bystander)
}

/// The broker still serves the bystander connection and the stored records are intact.
fn assert_unharmed(broker: &mut Broker, bystander: &mut Conn) {
    assert!(
        broker.is_running(),
        "broker died; see {}",
        broker.log_path().display()
    );
    let values = fetch_all(bystander, "good", 0, 0);
    let expected: Vec<_> = (0..10).map(|i| (i as i64, format!("value-{i}"))).collect();
    assert_eq!(values, expected);
}

fn header_bytes(api_key: i16, version: i16) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&api_key.to_be_bytes());
    h.extend_from_slice(&version.to_be_bytes());
    h.extend_from_slice(&7i32.to_be_bytes());
    h.extend_from_slice(&(-1i16).to_be_bytes()); // null client id
    h
}

fn framed(body: &[u8]) -> Vec<u8> {
    let mut f = (body.len() as i32).to_be_bytes().to_vec();
    f.extend_from_slice(body);
    f
}

#[test]
fn protocol_violations_close_only_the_offending_connection() {
    let (mut broker, mut bystander) = setup("bad-frames");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "frame over socket.request.max.bytes",
            (2i32 << 20).to_be_bytes().to_vec(),
        ),
        ("negative frame length", (-5i32).to_be_bytes().to_vec()),
        ("unknown API key", framed(&header_bytes(999, 0))),
        ("unsupported Produce version", framed(&header_bytes(0, 99))),
        ("truncated header", framed(&[0, 3])),
        (
            "garbage Metadata body",
            framed(&[header_bytes(3, 9), vec![0xff; 7]].concat()),
        ),
        // An array claiming two billion elements: kafka-protocol reserves capacity from the wire count
        // (found by tests/fuzz). It must fail to decode, not exhaust memory or abort the broker.
        (
            "hostile array length",
            framed(
                &[
                    header_bytes(20, 1),
                    0x7fff_0000i32.to_be_bytes().to_vec(),
                    vec![0, 1, b'x'],
                ]
                .concat(),
            ),
        ),
    ];
    for (what, bytes) in cases {
        let mut c = broker.conn();
        c.send_raw(&bytes).unwrap();
        assert!(c.is_closed_by_peer(), "{what}: connection should be closed");
        assert_unharmed(&mut broker, &mut bystander);
    }
    // A frame that stops halfway (client dies mid-request) is dropped without harm.
    let mut c = broker.conn();
    c.send_raw(&100i32.to_be_bytes()).unwrap();
    c.send_raw(&[0u8; 10]).unwrap();
    drop(c);
    assert_unharmed(&mut broker, &mut bystander);
}

#[test]
fn api_versions_with_unknown_version_answers_v0_with_unsupported_version() {
    let (mut broker, mut bystander) = setup("api-versions");
    let mut c = broker.conn();
    let mut frame = c.encode_request(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default());
    frame[6..8].copy_from_slice(&99i16.to_be_bytes()); // claim version 99
    c.send_raw(&frame).unwrap();
    let mut resp = c.read_frame().unwrap();
    assert_eq!(
        i32::from_be_bytes(resp[..4].try_into().unwrap()),
        1,
        "correlation id echoed"
    );
    let _ = bytes::Buf::get_i32(&mut resp);
    let body = ApiVersionsResponse::decode(&mut resp, 0).unwrap();
    assert_eq!(body.error_code, UNSUPPORTED_VERSION);
    assert!(body
        .api_keys
        .iter()
        .any(|k| k.api_key == ApiKey::Produce as i16));
    // The client can then retry with a version we know, on the same connection.
    let ok: ApiVersionsResponse = c.request(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default());
    assert_eq!(ok.error_code, 0);
    assert_unharmed(&mut broker, &mut bystander);
}

#[test]
fn bad_batches_get_kafka_error_codes_and_store_nothing() {
    let (mut broker, mut bystander) = setup("bad-batches");
    let mut c = broker.conn();
    let mut flipped = batch_of(10..15, 1).to_vec();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x55;
    assert_eq!(
        produce(&mut c, "good", 0, 1, flipped.into()).0,
        CORRUPT_MESSAGE
    );
    let truncated = batch_of(10..15, 1).slice(..40);
    assert_eq!(produce(&mut c, "good", 0, 1, truncated).0, CORRUPT_MESSAGE);
    let big = batch_of(10..200, 1); // > max.message.bytes of 2000
    assert_eq!(produce(&mut c, "good", 0, 1, big).0, MESSAGE_TOO_LARGE);
    assert_eq!(
        produce(&mut c, "good", 7, 1, batch_of(0..1, 1)).0,
        UNKNOWN_TOPIC_OR_PARTITION
    );
    assert_eq!(
        produce(&mut c, "no-such-topic", 0, 1, batch_of(0..1, 1)).0,
        UNKNOWN_TOPIC_OR_PARTITION
    );
    assert_unharmed(&mut broker, &mut bystander);
}

#[test]
fn a_failed_acks_0_produce_closes_the_connection_as_kafka_does() {
    let (mut broker, mut bystander) = setup("acks0-errors");
    let mut c = broker.conn();
    let mut p = PartitionProduceData::default();
    p.index = 0;
    p.records = Some(batch_of(10..200, 1)); // > max.message.bytes of 2000
    let mut t = TopicProduceData::default();
    t.name = topic_name("good");
    t.partition_data = vec![p];
    let mut req = ProduceRequest::default();
    req.acks = 0;
    req.timeout_ms = 30_000;
    req.topic_data = vec![t];
    let frame = c.encode_request(ApiKey::Produce, 9, &req);
    c.send_raw(&frame).unwrap();
    assert!(
        c.is_closed_by_peer(),
        "no answer and no close: the client would never know"
    );
    // A good acks=0 produce keeps the connection open: the next request on it is answered.
    let mut c = broker.conn();
    assert_eq!(create_topic(&mut c, "acks0", 1, &[]), 0);
    let mut req = req.clone();
    req.topic_data[0].name = topic_name("acks0");
    req.topic_data[0].partition_data[0].records = Some(batch_of(0..3, 1));
    let frame = c.encode_request(ApiKey::Produce, 9, &req);
    c.send_raw(&frame).unwrap();
    let answered: ApiVersionsResponse =
        c.request(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default());
    assert_eq!(answered.error_code, 0);
    assert_unharmed(&mut broker, &mut bystander);
}

#[test]
fn invalid_topics_and_configs_are_refused() {
    let (mut broker, mut bystander) = setup("bad-topics");
    let mut c = broker.conn();
    assert_eq!(
        create_topic(&mut c, "has space", 1, &[]),
        INVALID_TOPIC_EXCEPTION
    );
    assert_eq!(create_topic(&mut c, "..", 1, &[]), INVALID_TOPIC_EXCEPTION);
    assert_eq!(
        create_topic(&mut c, "cfg", 1, &[("retention.ms", "soon")]),
        INVALID_CONFIG
    );
    assert_eq!(
        create_topic(&mut c, "cfg", 1, &[("no.such.config", "1")]),
        INVALID_CONFIG
    );
    // Metadata for an invalid name reports it without creating anything.
    let mut req = MetadataRequest::default();
    let mut t = kafka_protocol::messages::metadata_request::MetadataRequestTopic::default();
    t.name = Some(common::api::topic_name("bad/name"));
    req.topics = Some(vec![t]);
    req.allow_auto_topic_creation = true;
    let resp: kafka_protocol::messages::MetadataResponse = c.request(ApiKey::Metadata, 12, &req);
    assert_eq!(resp.topics[0].error_code, INVALID_TOPIC_EXCEPTION);
    assert_unharmed(&mut broker, &mut bystander);
}
