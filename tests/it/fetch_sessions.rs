//! Fetch sessions (KIP-227) over the wire: a full first fetch opens a session, incremental fetches carry
//! only changes and get only partitions with news, epochs are enforced, forgotten partitions leave.

use crate::common;

use common::api::{create_topic, produce, topic_name};
use common::{batch_of, temp_dir, Broker, Conn};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic, ForgottenTopic};
use kafka_protocol::messages::{ApiKey, BrokerId, FetchRequest, FetchResponse};

const FETCH_SESSION_ID_NOT_FOUND: i16 = 70;
const INVALID_FETCH_SESSION_EPOCH: i16 = 71;

fn request(
    session_id: i32,
    epoch: i32,
    partitions: &[(i32, i64)],
    forgotten: &[i32],
) -> FetchRequest {
    let mut req = FetchRequest::default();
    req.replica_id = BrokerId(-1);
    req.max_wait_ms = 0;
    req.max_bytes = 1 << 20;
    req.session_id = session_id;
    req.session_epoch = epoch;
    if !partitions.is_empty() {
        let mut t = FetchTopic::default();
        t.topic = topic_name("s");
        t.partitions = partitions
            .iter()
            .map(|&(p, offset)| {
                let mut fp = FetchPartition::default();
                fp.partition = p;
                fp.fetch_offset = offset;
                fp.partition_max_bytes = 1 << 20;
                fp
            })
            .collect();
        req.topics = vec![t];
    }
    if !forgotten.is_empty() {
        let mut f = ForgottenTopic::default();
        f.topic = topic_name("s");
        f.partitions = forgotten.to_vec();
        req.forgotten_topics_data = vec![f];
    }
    req
}

fn partitions_in(resp: &FetchResponse) -> Vec<i32> {
    resp.responses
        .iter()
        .flat_map(|t| t.partitions.iter().map(|p| p.partition_index))
        .collect()
}

fn fetch(conn: &mut Conn, req: &FetchRequest) -> FetchResponse {
    conn.request(ApiKey::Fetch, 12, req)
}

#[test]
fn incremental_fetches_carry_only_news() {
    let broker = Broker::start(&temp_dir("fetch-sessions"), &[]);
    let mut conn = broker.conn();
    assert_eq!(create_topic(&mut conn, "s", 3, &[]), 0);
    for p in 0..3 {
        produce(&mut conn, "s", p, 1, batch_of(0..2, 1));
    }
    // Full fetch with epoch 0 opens a session and answers every partition.
    let full = fetch(&mut conn, &request(0, 0, &[(0, 0), (1, 0), (2, 0)], &[]));
    let id = full.session_id;
    assert_ne!(id, 0, "the broker opened a session");
    assert_eq!(partitions_in(&full), vec![0, 1, 2]);
    // The client moves its positions to the end; nothing new since: an empty answer.
    let caught_up = fetch(&mut conn, &request(id, 1, &[(0, 2), (1, 2), (2, 2)], &[]));
    assert_eq!(caught_up.error_code, 0);
    assert_eq!(partitions_in(&caught_up), Vec::<i32>::new());
    // Only partition 1 gets new records: only it is answered, with an incremental request listing nothing.
    produce(&mut conn, "s", 1, 1, batch_of(2..5, 1));
    let news = fetch(&mut conn, &request(id, 2, &[], &[]));
    assert_eq!(partitions_in(&news), vec![1]);
    assert_eq!(
        common::decode_values(news.responses[0].partitions[0].records.clone().unwrap()).len(),
        3
    );
    // A forgotten partition is never answered again, even with news.
    let _ = fetch(&mut conn, &request(id, 3, &[(1, 5)], &[2]));
    produce(&mut conn, "s", 2, 1, batch_of(2..4, 1));
    assert_eq!(
        partitions_in(&fetch(&mut conn, &request(id, 4, &[], &[]))),
        Vec::<i32>::new()
    );
    // Epochs must follow; unknown sessions are refused.
    assert_eq!(
        fetch(&mut conn, &request(id, 9, &[], &[])).error_code,
        INVALID_FETCH_SESSION_EPOCH
    );
    assert_eq!(
        fetch(&mut conn, &request(id + 100, 1, &[], &[])).error_code,
        FETCH_SESSION_ID_NOT_FOUND
    );
    // Closing with the final epoch ends the session.
    let closed = fetch(&mut conn, &request(id, -1, &[(0, 0)], &[]));
    assert_eq!(closed.session_id, 0);
    assert_eq!(
        fetch(&mut conn, &request(id, 6, &[], &[])).error_code,
        FETCH_SESSION_ID_NOT_FOUND
    );
}
