//! DescribeCluster: this broker, the cluster id and the controller (us). Not authorized on a broker,
//! as in Kafka (only its controllers demand ALTER on the cluster; the security docs' table says
//! DESCRIBE, but KafkaApis does not check it): the Java admin client calls it for describeTopics, so
//! refusing it would lock every non-admin admin client out.

use super::{broker_endpoint, RequestContext};
use crate::runtime::shard::Shard;
use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{BrokerId, DescribeClusterResponse};
use kafka_protocol::protocol::StrBytes;

pub fn handle(shard: &Shard, ctx: &RequestContext) -> DescribeClusterResponse {
    let (node_id, host, port) = broker_endpoint(shard, ctx);
    let mut resp = DescribeClusterResponse::default();
    resp.cluster_id = StrBytes::from_string(shard.metadata().cluster_id.clone());
    resp.controller_id = BrokerId(node_id);
    resp.cluster_authorized_operations = i32::MIN;
    let mut b = DescribeClusterBroker::default();
    b.broker_id = BrokerId(node_id);
    b.host = StrBytes::from_string(host);
    b.port = port;
    resp.brokers = vec![b];
    resp
}
