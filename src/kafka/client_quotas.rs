//! DescribeClientQuotas: shardlog enforces no client quotas yet, so every match is empty. It exists
//! because Kafka's `kafka-configs --describe --entity-type users` asks for quotas next to SCRAM
//! credentials.

use kafka_protocol::messages::DescribeClientQuotasResponse;

pub fn describe() -> DescribeClientQuotasResponse {
    let mut resp = DescribeClientQuotasResponse::default();
    resp.entries = Some(Vec::new());
    resp
}
