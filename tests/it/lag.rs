//! Consumer lag and the broker's Burrow-style lag status, through the real protocol: a group that keeps
//! up is OK, one that commits but falls behind is WARNING, one that stops committing while the topic
//! grows is ERROR. The status rides in DescribeGroups (v5) as tagged field 10000 (JSON).

use crate::common;

use common::api::{create_topic, produce, topic_name};
use common::{batch_of, temp_dir, Broker, Conn};
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::*;
use std::time::{Duration, Instant};

const LAG_STATUS_TAG: i32 = 10_000;

fn commit(conn: &mut Conn, offset: i64) {
    let mut p = OffsetCommitRequestPartition::default();
    p.partition_index = 0;
    p.committed_offset = offset;
    let mut t = OffsetCommitRequestTopic::default();
    t.name = topic_name("lagging");
    t.partitions = vec![p];
    let mut req = OffsetCommitRequest::default();
    req.group_id = GroupId(kafka_protocol::protocol::StrBytes::from_static_str(
        "watched",
    ));
    req.generation_id_or_member_epoch = -1;
    req.topics = vec![t];
    let resp: OffsetCommitResponse = conn.request(ApiKey::OffsetCommit, 8, &req);
    assert_eq!(resp.topics[0].partitions[0].error_code, 0);
}

/// The group's committed offset for lagging/0, read with OffsetFetch at `version`.
fn fetched_offset(conn: &mut Conn, version: i16) -> i64 {
    use kafka_protocol::messages::offset_fetch_request::{
        OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
    };
    let group = GroupId(kafka_protocol::protocol::StrBytes::from_static_str(
        "watched",
    ));
    let mut req = OffsetFetchRequest::default();
    if version < 8 {
        let mut t = OffsetFetchRequestTopic::default();
        t.name = topic_name("lagging");
        t.partition_indexes = vec![0];
        req.group_id = group;
        req.topics = Some(vec![t]);
        let resp: OffsetFetchResponse = conn.request(ApiKey::OffsetFetch, version, &req);
        return resp.topics[0].partitions[0].committed_offset;
    }
    let mut t = OffsetFetchRequestTopics::default();
    t.name = topic_name("lagging");
    t.partition_indexes = vec![0];
    let mut g = OffsetFetchRequestGroup::default();
    g.group_id = group;
    g.topics = Some(vec![t]);
    req.groups = vec![g];
    let resp: OffsetFetchResponse = conn.request(ApiKey::OffsetFetch, version, &req);
    resp.groups[0].topics[0].partitions[0].committed_offset
}

/// The group's lag report from DescribeGroups, once the broker has sampled it.
fn lag_report(conn: &mut Conn) -> Option<serde_json::Value> {
    let mut req = DescribeGroupsRequest::default();
    req.groups = vec![GroupId(
        kafka_protocol::protocol::StrBytes::from_static_str("watched"),
    )];
    let resp: DescribeGroupsResponse = conn.request(ApiKey::DescribeGroups, 5, &req);
    let raw = resp.groups[0].unknown_tagged_fields.get(&LAG_STATUS_TAG)?;
    serde_json::from_slice(raw).ok()
}

/// Runs `step` every 50 ms until the reported status is `want` (bounded).
fn drive_until(conn: &mut Conn, want: &str, mut step: impl FnMut(&mut Conn)) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        step(conn);
        if let Some(report) = lag_report(conn) {
            if report["status"] == want {
                return report;
            }
        }
        assert!(
            Instant::now() < deadline,
            "status never became {want}: {:?}",
            lag_report(conn)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn lag_status_follows_the_consumer() {
    let broker = Broker::start(&temp_dir("lag"), &["--group-lag-sample-interval-ms", "50"]);
    let mut conn = broker.conn();
    assert_eq!(create_topic(&mut conn, "lagging", 1, &[]), 0);
    let mut end = 0u64;
    // Keeping up: every step produces 10 and commits everything.
    let ok = drive_until(&mut conn, "OK", |c| {
        produce(c, "lagging", 0, 1, batch_of(end..end + 10, 1));
        end += 10;
        commit(c, end as i64);
    });
    assert_eq!(ok["total_lag"], 0);
    // Falling behind: commits advance by 2 while 10 arrive.
    let mut committed = end as i64;
    let warning = drive_until(&mut conn, "WARNING", |c| {
        produce(c, "lagging", 0, 1, batch_of(end..end + 10, 1));
        end += 10;
        committed += 2;
        commit(c, committed);
    });
    assert!(warning["total_lag"].as_i64().unwrap() > 0);
    // Stopped: no more commits while records keep arriving.
    let error = drive_until(&mut conn, "ERROR", |c| {
        produce(c, "lagging", 0, 1, batch_of(end..end + 10, 1));
        end += 10;
    });
    // OffsetFetch answers the same committed offset in both of its response layouts (v1-7 and v8+).
    assert_eq!(fetched_offset(&mut conn, 5), committed);
    assert_eq!(fetched_offset(&mut conn, 9), committed);
    let partition = &error["partitions"][0];
    assert_eq!(partition["committed"], committed);
    assert_eq!(
        partition["lag"].as_i64().unwrap(),
        partition["end"].as_i64().unwrap() - committed
    );
}
