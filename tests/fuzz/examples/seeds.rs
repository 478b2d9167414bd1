//! Writes the seed corpus for `request_decoder`: real request frames (header + body, no length prefix)
//! for every API the broker supports, at its lowest and highest supported version, plus a valid record
//! set for the batch parser. Regenerate with (from the repo root):
//!     cargo run --manifest-path tests/fuzz/Cargo.toml --example seeds -- tests/fuzz/seeds/request_decoder

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Encodable, StrBytes};
use shardlog::kafka::{decode_request, SUPPORTED};
use shardlog::storage::batch::test_support::{build_batch, build_batch_with_values};
use std::path::PathBuf;

fn topic() -> TopicName {
    TopicName(StrBytes::from_static_str("events"))
}

/// A small but non-trivial body for `key` (defaults elsewhere).
fn body(key: ApiKey, record_set: &Bytes) -> RequestKind {
    match key {
        ApiKey::Produce => RequestKind::Produce(
            ProduceRequest::default()
                .with_acks(-1)
                .with_timeout_ms(30_000)
                .with_topic_data(vec![TopicProduceData::default()
                    .with_name(topic())
                    .with_partition_data(vec![PartitionProduceData::default()
                        .with_index(0)
                        .with_records(Some(record_set.clone()))])]),
        ),
        ApiKey::Fetch => RequestKind::Fetch(
            FetchRequest::default()
                .with_max_wait_ms(500)
                .with_min_bytes(1)
                .with_max_bytes(52_428_800)
                .with_topics(vec![FetchTopic::default()
                    .with_topic(topic())
                    .with_partitions(vec![FetchPartition::default()
                        .with_fetch_offset(42)
                        .with_partition_max_bytes(1_048_576)])]),
        ),
        ApiKey::Metadata => {
            RequestKind::Metadata(MetadataRequest::default().with_topics(Some(vec![
                MetadataRequestTopic::default().with_name(Some(topic())),
            ])))
        }
        ApiKey::ApiVersions => RequestKind::ApiVersions(ApiVersionsRequest::default()),
        ApiKey::ListOffsets => RequestKind::ListOffsets(ListOffsetsRequest::default()),
        ApiKey::CreateTopics => RequestKind::CreateTopics(CreateTopicsRequest::default()),
        ApiKey::DeleteTopics => RequestKind::DeleteTopics(DeleteTopicsRequest::default()),
        ApiKey::CreatePartitions => {
            RequestKind::CreatePartitions(CreatePartitionsRequest::default())
        }
        ApiKey::InitProducerId => RequestKind::InitProducerId(InitProducerIdRequest::default()),
        ApiKey::DescribeConfigs => RequestKind::DescribeConfigs(DescribeConfigsRequest::default()),
        ApiKey::AlterConfigs => RequestKind::AlterConfigs(AlterConfigsRequest::default()),
        ApiKey::IncrementalAlterConfigs => {
            RequestKind::IncrementalAlterConfigs(IncrementalAlterConfigsRequest::default())
        }
        ApiKey::DescribeCluster => RequestKind::DescribeCluster(DescribeClusterRequest::default()),
        ApiKey::DeleteRecords => RequestKind::DeleteRecords(DeleteRecordsRequest::default()),
        ApiKey::OffsetForLeaderEpoch => {
            RequestKind::OffsetForLeaderEpoch(OffsetForLeaderEpochRequest::default())
        }
        ApiKey::FindCoordinator => RequestKind::FindCoordinator(FindCoordinatorRequest::default()),
        ApiKey::JoinGroup => RequestKind::JoinGroup(JoinGroupRequest::default()),
        ApiKey::SyncGroup => RequestKind::SyncGroup(SyncGroupRequest::default()),
        ApiKey::Heartbeat => RequestKind::Heartbeat(HeartbeatRequest::default()),
        ApiKey::LeaveGroup => RequestKind::LeaveGroup(LeaveGroupRequest::default()),
        ApiKey::OffsetCommit => RequestKind::OffsetCommit(OffsetCommitRequest::default()),
        ApiKey::OffsetFetch => RequestKind::OffsetFetch(OffsetFetchRequest::default()),
        ApiKey::ListGroups => RequestKind::ListGroups(ListGroupsRequest::default()),
        ApiKey::DescribeGroups => RequestKind::DescribeGroups(DescribeGroupsRequest::default()),
        ApiKey::DeleteGroups => RequestKind::DeleteGroups(DeleteGroupsRequest::default()),
        ApiKey::OffsetDelete => RequestKind::OffsetDelete(OffsetDeleteRequest::default()),
        ApiKey::ConsumerGroupHeartbeat => RequestKind::ConsumerGroupHeartbeat(ConsumerGroupHeartbeatRequest::default()),
        ApiKey::ConsumerGroupDescribe => RequestKind::ConsumerGroupDescribe(ConsumerGroupDescribeRequest::default()),
        ApiKey::DescribeLogDirs => RequestKind::DescribeLogDirs(DescribeLogDirsRequest::default()),
        ApiKey::SaslHandshake => RequestKind::SaslHandshake(SaslHandshakeRequest::default()),
        ApiKey::SaslAuthenticate => RequestKind::SaslAuthenticate(SaslAuthenticateRequest::default()),
        ApiKey::DescribeUserScramCredentials => RequestKind::DescribeUserScramCredentials(DescribeUserScramCredentialsRequest::default()),
        ApiKey::AlterUserScramCredentials => RequestKind::AlterUserScramCredentials(AlterUserScramCredentialsRequest::default()),
        ApiKey::DescribeClientQuotas => RequestKind::DescribeClientQuotas(DescribeClientQuotasRequest::default()),
        ApiKey::CreateAcls => RequestKind::CreateAcls(CreateAclsRequest::default().with_creations(
            vec![create_acls_request::AclCreation::default()
                .with_resource_type(2)
                .with_resource_name(StrBytes::from_static_str("orders-"))
                .with_resource_pattern_type(4)
                .with_principal(StrBytes::from_static_str("User:alice"))
                .with_host(StrBytes::from_static_str("*"))
                .with_operation(3)
                .with_permission_type(3)],
        )),
        ApiKey::DescribeAcls => RequestKind::DescribeAcls(
            DescribeAclsRequest::default()
                .with_resource_type_filter(2)
                .with_resource_name_filter(Some(StrBytes::from_static_str("orders-1")))
                .with_pattern_type_filter(2)
                .with_principal_filter(None)
                .with_host_filter(None)
                .with_operation(1)
                .with_permission_type(1),
        ),
        ApiKey::DeleteAcls => RequestKind::DeleteAcls(DeleteAclsRequest::default().with_filters(
            vec![delete_acls_request::DeleteAclsFilter::default()
                .with_resource_type_filter(1)
                .with_pattern_type_filter(1)
                .with_principal_filter(Some(StrBytes::from_static_str("User:alice")))
                .with_host_filter(None)
                .with_operation(1)
                .with_permission_type(1)],
        )),
        other => panic!("no seed body for {other:?}: add one"),
    }
}

fn frame(key: ApiKey, version: i16, body: &RequestKind) -> anyhow::Result<Bytes> {
    let header = RequestHeader::default()
        .with_request_api_key(key as i16)
        .with_request_api_version(version)
        .with_correlation_id(7)
        .with_client_id(Some(StrBytes::from_static_str("seed")));
    let mut buf = BytesMut::new();
    header.encode(&mut buf, key.request_header_version(version))?;
    body.encode(&mut buf, version)?;
    Ok(buf.freeze())
}

fn main() -> anyhow::Result<()> {
    let out = PathBuf::from(std::env::args().nth(1).expect("usage: seeds OUT_DIR"));
    std::fs::create_dir_all(&out)?;
    // Two batches back to back: tiny records, then 1 KiB values with an idempotent producer.
    let mut set = build_batch(3, 1_700_000_000_000, (-1, -1, -1));
    set.extend(build_batch_with_values(
        2,
        1000,
        1_700_000_000_001,
        (1000, 0, 0),
    ));
    let record_set = Bytes::from(set);
    std::fs::write(out.join("record_set"), &record_set)?;

    for &(key, lo, hi) in SUPPORTED {
        for version in [lo, hi] {
            let bytes = frame(key, version, &body(key, &record_set))?;
            // A seed the broker rejects would only mislead the fuzzer: check each decodes.
            if let Err(e) = decode_request(bytes.clone()) {
                anyhow::bail!("seed {key:?} v{version} does not decode: {e}");
            }
            std::fs::write(out.join(format!("{key:?}_v{version}")), &bytes)?;
        }
    }
    println!(
        "wrote {} seeds to {}",
        2 * SUPPORTED.len() + 1,
        out.display()
    );
    Ok(())
}
