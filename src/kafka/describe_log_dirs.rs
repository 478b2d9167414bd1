//! DescribeLogDirs: the broker's one log directory (`--data-dir`) and the size on disk of each partition
//! in it, so `kafka-log-dirs` and `shardlog topic describe` can show partition sizes. Needs DESCRIBE on
//! the cluster; refused, the answer is empty with CLUSTER_AUTHORIZATION_FAILED (Kafka's behaviour).

use super::authz::Access;
use super::scope::Scope;
use super::RequestContext;
use crate::runtime::router::on_owners_by_topic;
use crate::security::acl::Operation;
use crate::storage::PartitionLog;
use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::{DescribeLogDirsRequest, DescribeLogDirsResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use std::rc::Rc;

async fn size(log: Option<Rc<PartitionLog>>, index: i32) -> Option<DescribeLogDirsPartition> {
    let mut p = DescribeLogDirsPartition::default();
    p.partition_index = index;
    p.partition_size = log?.size_bytes() as i64;
    // A single node has no future replica and no lag behind a leader.
    p.offset_lag = 0;
    Some(p)
}

pub async fn handle(
    scope: &Rc<Scope>,
    ctx: &RequestContext,
    req: DescribeLogDirsRequest,
) -> DescribeLogDirsResponse {
    if !Access::of(scope, ctx).allows_cluster(Operation::Describe) {
        let mut resp = DescribeLogDirsResponse::default();
        resp.error_code = ResponseError::ClusterAuthorizationFailed.code();
        return resp;
    }
    let metadata = scope.metadata();
    // No topic list means every partition; partitions that do not exist are left out, as Kafka does.
    let topics: Vec<(TopicName, Vec<(i32, i32)>)> = match req.topics {
        Some(topics) => topics
            .into_iter()
            .map(|t| (t.topic, t.partitions.iter().map(|&p| (p, p)).collect()))
            .collect(),
        None => metadata
            .topics
            .values()
            .map(|t| {
                let name = TopicName(StrBytes::from_string(t.name.clone()));
                (name, (0..t.partition_count()).map(|p| (p, p)).collect())
            })
            .collect(),
    };
    let mut dir = DescribeLogDirsResult::default();
    dir.log_dir = StrBytes::from_string(log_dir_name(scope));
    dir.topics = on_owners_by_topic(&scope.router, topics, size)
        .await
        .into_iter()
        .filter_map(|(name, partitions)| {
            let partitions: Vec<_> = partitions.into_iter().flatten().collect();
            (!partitions.is_empty()).then(|| {
                let mut t = DescribeLogDirsTopic::default();
                t.name = name;
                t.partitions = partitions;
                t
            })
        })
        .collect();
    let mut resp = DescribeLogDirsResponse::default();
    resp.results = vec![dir];
    resp
}

/// The data directory as an absolute path where it can be resolved (Kafka reports absolute log dirs).
fn log_dir_name(scope: &Scope) -> String {
    let dir = &scope.config.data_dir;
    std::path::absolute(dir)
        .unwrap_or_else(|_| dir.clone())
        .display()
        .to_string()
}
