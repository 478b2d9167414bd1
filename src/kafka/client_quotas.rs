//! DescribeClientQuotas: shardlog enforces no client quotas yet, so every match is empty. It exists
//! because Kafka's `kafka-configs --describe --entity-type users` asks for quotas next to SCRAM
//! credentials. Needs DESCRIBE_CONFIGS on the cluster.

use super::authz::Access;
use super::scope::Scope;
use super::RequestContext;
use crate::security::acl::Operation;
use kafka_protocol::messages::DescribeClientQuotasResponse;
use kafka_protocol::ResponseError;

pub fn describe(scope: &Scope, ctx: &RequestContext) -> DescribeClientQuotasResponse {
    let mut resp = DescribeClientQuotasResponse::default();
    if !Access::of(scope, ctx).allows_cluster(Operation::DescribeConfigs) {
        resp.error_code = ResponseError::ClusterAuthorizationFailed.code();
        return resp;
    }
    resp.entries = Some(Vec::new());
    resp
}
