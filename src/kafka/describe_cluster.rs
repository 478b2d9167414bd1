//! DescribeCluster: this broker, the cluster id and the controller (us). Needs DESCRIBE on the cluster.

use super::authz::Access;
use super::{broker_endpoint, RequestContext};
use crate::runtime::shard::Shard;
use crate::security::acl::Operation;
use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{BrokerId, DescribeClusterResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

pub fn handle(shard: &Shard, ctx: &RequestContext) -> DescribeClusterResponse {
    let (node_id, host, port) = broker_endpoint(shard, ctx);
    let mut resp = DescribeClusterResponse::default();
    if !Access::of(shard, ctx).allows_cluster(Operation::Describe) {
        resp.error_code = ResponseError::ClusterAuthorizationFailed.code();
        return resp;
    }
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
