//! DescribeCluster: the brokers, the cluster id and the active controller. Not authorized on a broker,
//! as in Kafka (only its controllers demand ALTER on the cluster; the security docs' table says
//! DESCRIBE, but KafkaApis does not check it): the Java admin client calls it for describeTopics, so
//! refusing it would lock every non-admin admin client out.

use super::scope::Scope;
use super::{cluster_brokers, controller_id, RequestContext};
use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{BrokerId, DescribeClusterResponse};
use kafka_protocol::protocol::StrBytes;

pub fn handle(scope: &Scope, ctx: &RequestContext) -> DescribeClusterResponse {
    let mut resp = DescribeClusterResponse::default();
    resp.cluster_id = StrBytes::from_string(scope.metadata().cluster_id.clone());
    resp.controller_id = BrokerId(controller_id(scope));
    resp.cluster_authorized_operations = i32::MIN;
    resp.brokers = cluster_brokers(scope, ctx)
        .into_iter()
        .map(|e| {
            let mut b = DescribeClusterBroker::default();
            b.broker_id = BrokerId(e.node_id);
            b.host = StrBytes::from_string(e.host);
            b.port = e.port;
            b.rack = e.rack.map(StrBytes::from_string);
            b
        })
        .collect();
    resp
}
