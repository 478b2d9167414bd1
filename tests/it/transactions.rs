//! The partition side of transactions, over the wire (the coordinator side, which real transactional
//! clients need, is not built yet: issue #13): transactional batches hold the last stable offset (LSO)
//! until WriteTxnMarkers ends them; a read_committed Fetch reads only below the LSO and lists the
//! aborted transactions its records overlap; ListOffsets honours the isolation level; all of it is
//! rebuilt from the log after kill -9; a client may not write a marker itself; Kafka's
//! `kafka-transactions describe-producers` shows each producer and its open transaction.

use crate::common;

use common::api::{create_topic, fetch_request, list_offsets_request, produce, topic_name};
use common::cluster::{create_topic_with, eventually, metadata, Cluster};
use common::{batch_of, kafka_tool, temp_dir, transactional_batch, Broker, Conn};
use kafka_protocol::messages::write_txn_markers_request::{
    WritableTxnMarker, WritableTxnMarkerTopic,
};
use kafka_protocol::messages::*;
use kafka_protocol::records::RecordBatchDecoder;

const READ_UNCOMMITTED: i8 = 0;
const READ_COMMITTED: i8 = 1;
const INVALID_RECORD: i16 = 87;
const INVALID_PRODUCER_EPOCH: i16 = 47;
const TRANSACTION_COORDINATOR_FENCED: i16 = 52;
const COORDINATOR_EPOCH: i32 = 3;

/// What one fetch of partition 0 returned.
#[derive(Debug)]
struct Read {
    high_watermark: i64,
    last_stable_offset: i64,
    /// (producer id, first offset) of each aborted transaction listed.
    aborted: Vec<(i64, i64)>,
    /// (offset, value) of each data record; markers are left out, as clients do.
    values: Vec<(i64, String)>,
    markers: usize,
}

fn read(conn: &mut Conn, topic: &str, offset: i64, isolation_level: i8) -> Read {
    try_read(conn, topic, offset, isolation_level)
        .unwrap_or_else(|code| panic!("fetch at {offset}: error {code}"))
}

/// `read`, or the partition's error code (e.g. NOT_LEADER_OR_FOLLOWER during a failover).
fn try_read(conn: &mut Conn, topic: &str, offset: i64, isolation_level: i8) -> Result<Read, i16> {
    let mut req = fetch_request(topic, 0, offset, 0);
    req.isolation_level = isolation_level;
    let resp: FetchResponse = conn.request(ApiKey::Fetch, 12, &req);
    let p = &resp.responses[0].partitions[0];
    if p.error_code != 0 {
        return Err(p.error_code);
    }
    let mut records = p.records.clone().unwrap_or_default();
    let mut values = Vec::new();
    let mut markers = 0;
    for set in RecordBatchDecoder::decode_all(&mut records).unwrap() {
        for r in set.records {
            if r.control {
                markers += 1;
            } else {
                values.push((
                    r.offset,
                    String::from_utf8(r.value.unwrap().to_vec()).unwrap(),
                ));
            }
        }
    }
    Ok(Read {
        high_watermark: p.high_watermark,
        last_stable_offset: p.last_stable_offset,
        aborted: p
            .aborted_transactions
            .iter()
            .flatten()
            .map(|a| (a.producer_id.0, a.first_offset))
            .collect(),
        values,
        markers,
    })
}

fn latest(conn: &mut Conn, topic: &str, isolation_level: i8) -> i64 {
    let mut req = list_offsets_request(topic, 0, -1);
    req.isolation_level = isolation_level;
    let resp: ListOffsetsResponse = conn.request(ApiKey::ListOffsets, 6, &req);
    let p = &resp.topics[0].partitions[0];
    assert_eq!(p.error_code, 0);
    p.offset
}

/// Ends `producer_id`'s transaction (epoch 0) on partition 0 of `topic` as coordinator epoch 3;
/// returns the partition's error code.
fn end_transaction(conn: &mut Conn, topic: &str, producer_id: i64, commit: bool) -> i16 {
    write_marker(conn, topic, (producer_id, 0), COORDINATOR_EPOCH, commit)
}

/// WriteTxnMarkers for `producer` (id, epoch) on partition 0 of `topic`; returns the error code.
fn write_marker(
    conn: &mut Conn,
    topic: &str,
    producer: (i64, i16),
    coordinator_epoch: i32,
    commit: bool,
) -> i16 {
    let (producer_id, producer_epoch) = producer;
    let mut t = WritableTxnMarkerTopic::default();
    t.name = topic_name(topic);
    t.partition_indexes = vec![0];
    let mut m = WritableTxnMarker::default();
    m.producer_id = ProducerId(producer_id);
    m.producer_epoch = producer_epoch;
    m.transaction_result = commit;
    m.coordinator_epoch = coordinator_epoch;
    m.topics = vec![t];
    let mut req = WriteTxnMarkersRequest::default();
    req.markers = vec![m];
    let resp: WriteTxnMarkersResponse = conn.request(ApiKey::WriteTxnMarkers, 1, &req);
    assert_eq!(resp.markers[0].producer_id.0, producer_id);
    resp.markers[0].topics[0].partitions[0].error_code
}

/// `kafka-transactions describe-producers` on partition 0: producer id -> (epoch, last sequence,
/// current transaction start offset, latest coordinator epoch), from the tool's table.
fn describe_producers(
    broker: &Broker,
    topic: &str,
) -> std::collections::BTreeMap<i64, (String, String, String, String)> {
    let args = ["describe-producers", "--topic", topic, "--partition", "0"];
    let (ok, out, err) = kafka_tool(&broker.addr(), "TransactionsCommand", &args);
    assert!(
        ok,
        "kafka-transactions describe-producers failed:\n{out}\n{err}"
    );
    let mut lines = out
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>());
    let header = lines.next().expect("a header line");
    let column = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
    };
    let (id, epoch, sequence, start, coordinator) = (
        column("ProducerId"),
        column("ProducerEpoch"),
        column("LastSequence"),
        column("CurrentTransactionStartOffset"),
        column("LatestCoordinatorEpoch"),
    );
    lines
        .filter(|row| row.len() == header.len())
        .map(|row| {
            let values = (
                row[epoch].to_string(),
                row[sequence].to_string(),
                row[start].to_string(),
                row[coordinator].to_string(),
            );
            (row[id].parse().expect("a producer id"), values)
        })
        .collect()
}

fn offsets(r: &Read) -> Vec<i64> {
    r.values.iter().map(|(o, _)| *o).collect()
}

#[test]
fn read_committed_stops_at_open_transactions_and_skips_aborted_ones_across_a_crash() {
    let dir = temp_dir("transactions");
    let mut broker = Broker::start(&dir, &[]);
    let mut conn = broker.conn();
    let topic = "txn-partition";
    assert_eq!(create_topic(&mut conn, topic, 1, &[]), 0);
    let (aborting, committing, open) = (1000, 2000, 3000);

    // 0-1 plain, 2-4 in producer 1000's transaction, 5 plain.
    assert_eq!(produce(&mut conn, topic, 0, 1, batch_of(0..2, 1)), (0, 0));
    let txn = transactional_batch(10..13, aborting, 0, 0);
    assert_eq!(produce(&mut conn, topic, 0, 1, txn), (0, 2));
    assert_eq!(produce(&mut conn, topic, 0, 1, batch_of(2..3, 1)), (0, 5));

    let r = read(&mut conn, topic, 0, READ_COMMITTED);
    assert_eq!((r.high_watermark, r.last_stable_offset), (6, 2));
    assert_eq!(
        offsets(&r),
        vec![0, 1],
        "nothing from the open transaction on"
    );
    let r = read(&mut conn, topic, 0, READ_UNCOMMITTED);
    assert_eq!(offsets(&r), vec![0, 1, 2, 3, 4, 5]);
    assert_eq!(latest(&mut conn, topic, READ_COMMITTED), 2);
    assert_eq!(latest(&mut conn, topic, READ_UNCOMMITTED), 6);
    let producers = describe_producers(&broker, topic);
    assert_eq!(
        producers.get(&aborting),
        Some(&("0".into(), "2".into(), "2".into(), "-1".into())),
        "producer {aborting}: epoch 0, last sequence 2, transaction open since 2, no marker yet: {producers:?}"
    );

    // ABORT at 6: everything is stable, and the aborted range is listed for the client to drop.
    assert_eq!(end_transaction(&mut conn, topic, aborting, false), 0);
    let r = read(&mut conn, topic, 0, READ_COMMITTED);
    assert_eq!((r.high_watermark, r.last_stable_offset), (7, 7));
    assert_eq!(r.aborted, vec![(aborting, 2)]);
    assert_eq!(r.markers, 1);

    // 7-8 committed by producer 2000 (COMMIT at 9); 10 opens producer 3000's transaction.
    let txn = transactional_batch(20..22, committing, 0, 0);
    assert_eq!(produce(&mut conn, topic, 0, 1, txn), (0, 7));
    assert_eq!(end_transaction(&mut conn, topic, committing, true), 0);
    let txn = transactional_batch(30..31, open, 0, 0);
    assert_eq!(produce(&mut conn, topic, 0, 1, txn), (0, 10));
    let r = read(&mut conn, topic, 7, READ_COMMITTED);
    assert_eq!(r.last_stable_offset, 10);
    assert!(
        r.aborted.is_empty(),
        "no aborted range reaches offset 7: {r:?}"
    );
    assert_eq!(offsets(&r), vec![7, 8]);

    // Markers from a zombie: an older coordinator, or an older producer epoch.
    let zombie = write_marker(
        &mut conn,
        topic,
        (committing, 0),
        COORDINATOR_EPOCH - 1,
        false,
    );
    assert_eq!(zombie, TRANSACTION_COORDINATOR_FENCED);
    let fenced = transactional_batch(40..41, 5000, 2, 0);
    assert_eq!(produce(&mut conn, topic, 0, 1, fenced), (0, 11));
    let stale = write_marker(&mut conn, topic, (5000, 1), COORDINATOR_EPOCH, false);
    assert_eq!(stale, INVALID_PRODUCER_EPOCH);
    assert_eq!(
        write_marker(&mut conn, topic, (5000, 2), COORDINATOR_EPOCH, false),
        0
    );
    let producers = describe_producers(&broker, topic);
    assert_eq!(
        producers.get(&committing).map(|p| p.3.as_str()),
        Some("3"),
        "the coordinator epoch of producer {committing}'s marker: {producers:?}"
    );

    // A marker for a producer with nothing open is written but decides nothing.
    assert_eq!(end_transaction(&mut conn, topic, 4000, false), 0);

    // A client may not write a marker itself.
    let forged = shardlog::storage::batch::encode_marker(
        open,
        0,
        0,
        shardlog::storage::batch::Marker::Commit,
        1,
    );
    assert_eq!(produce(&mut conn, topic, 0, 1, forged).0, INVALID_RECORD);

    // kill -9: the LSO, the open transaction and the aborted index come back from the log alone.
    broker.restart();
    let mut conn = broker.conn();
    let r = read(&mut conn, topic, 0, READ_COMMITTED);
    assert_eq!((r.high_watermark, r.last_stable_offset), (14, 10));
    assert_eq!(r.aborted, vec![(aborting, 2)]);
    assert_eq!(offsets(&r), vec![0, 1, 2, 3, 4, 5, 7, 8]);
    assert_eq!(latest(&mut conn, topic, READ_COMMITTED), 10);
    assert_eq!(end_transaction(&mut conn, topic, open, true), 0);
    assert_eq!(latest(&mut conn, topic, READ_COMMITTED), 15);
}

/// On a 3-node cluster the followers replicate the markers with the data: after the leader is killed,
/// the new leader has the same last stable offset, open transaction and aborted range.
#[test]
fn a_new_leader_keeps_the_last_stable_offset_and_the_aborted_transactions() {
    let mut cluster = Cluster::start("transactions-failover");
    let logs = cluster.logs();
    cluster.agreed_controller(&logs);
    let topic = "txn-rf3";
    let (code, message) = create_topic_with(
        cluster.node(1),
        topic,
        1,
        3,
        &[("min.insync.replicas", "2")],
    );
    assert_eq!(code, 0, "{message:?}");
    let leader = eventually("an in-sync RF=3 partition", &logs, || {
        let m = metadata(cluster.node(1), Some(&[topic]))?;
        let p = m.topics.first()?.partitions.first()?;
        (p.error_code == 0 && p.isr_nodes.len() == 3).then_some(p.leader_id.0)
    });
    let mut conn = Conn::connect(&cluster.node(leader).addr());
    let (aborting, open) = (1000, 2000);
    assert_eq!(produce(&mut conn, topic, 0, -1, batch_of(0..2, 1)), (0, 0));
    let txn = transactional_batch(10..12, aborting, 0, 0);
    assert_eq!(produce(&mut conn, topic, 0, -1, txn), (0, 2));
    assert_eq!(end_transaction(&mut conn, topic, aborting, false), 0);
    let txn = transactional_batch(20..21, open, 0, 0);
    assert_eq!(produce(&mut conn, topic, 0, -1, txn), (0, 5));

    cluster.nodes[leader as usize - 1].kill9();
    let survivors: Vec<i32> = (1..=3).filter(|&n| n != leader).collect();
    let r = eventually(
        "a new leader's read_committed fetch up to the open transaction",
        &logs,
        || {
            survivors.iter().find_map(|&n| {
                let mut conn = Conn::connect(&cluster.node(n).addr());
                try_read(&mut conn, topic, 0, READ_COMMITTED)
                    .ok()
                    .filter(|r| r.high_watermark == 6)
            })
        },
    );
    assert_eq!(
        r.last_stable_offset, 5,
        "producer {open} is still open at 5"
    );
    assert_eq!(r.aborted, vec![(aborting, 2)]);
    assert_eq!(offsets(&r), vec![0, 1, 2, 3]);
    assert_eq!(r.markers, 1);
}
