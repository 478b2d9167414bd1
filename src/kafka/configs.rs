//! DescribeConfigs, AlterConfigs (replace all overrides) and IncrementalAlterConfigs (SET/DELETE) for
//! topics. Broker configs are described read-only: they come from flags/environment at startup.
//! Authorization: DESCRIBE_CONFIGS / ALTER_CONFIGS on the topic, or on the cluster for broker configs.

use super::authz::Access;
use super::{controller, on_controller, RequestContext};
use crate::cluster::controller::ConfigChange;
use crate::cluster::topic_config;
use crate::runtime::shard::Shard;
use crate::security::acl::{Operation, ResourceType};
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult,
};
use kafka_protocol::messages::{
    alter_configs_response, incremental_alter_configs_response, AlterConfigsRequest,
    AlterConfigsResponse, DescribeConfigsRequest, DescribeConfigsResponse,
    IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use std::rc::Rc;

const RESOURCE_TOPIC: i8 = 2;
const RESOURCE_BROKER: i8 = 4;
const SOURCE_DYNAMIC_TOPIC: i8 = 1;
const SOURCE_STATIC_BROKER: i8 = 4;
const SOURCE_DEFAULT: i8 = 5;
const OP_SET: i8 = 0;
const OP_DELETE: i8 = 1;

fn config_type(name: &str) -> i8 {
    match name {
        "cleanup.policy" => 7,   // LIST
        "compression.type" => 2, // STRING
        "max.message.bytes" | "index.interval.bytes" | "min.insync.replicas" => 3, // INT
        _ => 5,                  // LONG
    }
}

fn entry(name: &str, value: String, source: i8, read_only: bool) -> DescribeConfigsResourceResult {
    let mut e = DescribeConfigsResourceResult::default();
    e.name = StrBytes::from_string(name.to_string());
    e.value = Some(StrBytes::from_string(value));
    e.config_source = source;
    e.read_only = read_only;
    e.config_type = config_type(name);
    e
}

/// The error answering a config resource the principal may not `op`: topic configs need it on the
/// topic, broker configs on the cluster.
fn refusal(access: &Access, op: Operation, resource_type: i8, name: &str) -> Option<ResponseError> {
    match resource_type {
        RESOURCE_TOPIC => (!access.allows(op, ResourceType::Topic, name))
            .then_some(ResponseError::TopicAuthorizationFailed),
        RESOURCE_BROKER => {
            (!access.allows_cluster(op)).then_some(ResponseError::ClusterAuthorizationFailed)
        }
        _ => None,
    }
}

pub fn describe(
    shard: &Rc<Shard>,
    ctx: &RequestContext,
    req: DescribeConfigsRequest,
) -> DescribeConfigsResponse {
    let supported = topic_config::supported(&shard.config);
    let metadata = shard.metadata();
    let access = Access::of(shard, ctx);
    let mut resp = DescribeConfigsResponse::default();
    for res in req.resources {
        let denied = refusal(
            &access,
            Operation::DescribeConfigs,
            res.resource_type,
            &res.resource_name,
        );
        if let Some(code) = denied {
            let mut r = DescribeConfigsResult::default();
            r.resource_type = res.resource_type;
            r.resource_name = res.resource_name;
            r.error_code = code.code();
            resp.results.push(r);
            continue;
        }
        let wanted = |name: &str| {
            res.configuration_keys
                .as_ref()
                .is_none_or(|keys| keys.iter().any(|k| k.as_str() == name))
        };
        let mut r = DescribeConfigsResult::default();
        r.resource_type = res.resource_type;
        r.resource_name = res.resource_name.clone();
        match res.resource_type {
            RESOURCE_TOPIC => match metadata.topics.get(res.resource_name.as_str()) {
                Some(topic) => {
                    r.configs = supported
                        .iter()
                        .filter(|c| wanted(c.name))
                        .map(
                            |c| match topic.configs.iter().rev().find(|(k, _)| k == c.name) {
                                Some((_, v)) => {
                                    entry(c.name, v.clone(), SOURCE_DYNAMIC_TOPIC, false)
                                }
                                None => entry(c.name, c.default.clone(), SOURCE_DEFAULT, false),
                            },
                        )
                        .collect();
                }
                None => {
                    r.error_code = ResponseError::UnknownTopicOrPartition.code();
                    r.error_message = Some(StrBytes::from_static_str("unknown topic"));
                }
            },
            RESOURCE_BROKER => {
                let c = &shard.config;
                let broker_configs = [
                    (
                        "auto.create.topics.enable",
                        c.auto_create_topics_enable.to_string(),
                    ),
                    ("num.partitions", c.num_partitions.to_string()),
                    (
                        "default.replication.factor",
                        c.default_replication_factor.to_string(),
                    ),
                    ("message.max.bytes", c.message_max_bytes.to_string()),
                    (
                        "socket.request.max.bytes",
                        c.socket_request_max_bytes.to_string(),
                    ),
                    ("log.segment.bytes", c.log_segment_bytes.to_string()),
                    ("log.retention.ms", c.log_retention_ms.to_string()),
                    ("log.retention.bytes", c.log_retention_bytes.to_string()),
                    ("min.insync.replicas", c.min_insync_replicas.to_string()),
                    (
                        "replica.lag.time.max.ms",
                        c.replica_lag_time_max_ms.to_string(),
                    ),
                ];
                r.configs = broker_configs
                    .into_iter()
                    .filter(|(n, _)| wanted(n))
                    .map(|(n, v)| entry(n, v, SOURCE_STATIC_BROKER, true))
                    .collect();
            }
            other => {
                r.error_code = ResponseError::InvalidRequest.code();
                r.error_message = Some(StrBytes::from_string(format!(
                    "unsupported resource type {other}"
                )));
            }
        }
        resp.results.push(r);
    }
    resp
}

/// Kafka's replication throttle settings (broker and topic). `kafka-reassign-partitions --verify`
/// removes them once a move is done; shardlog never sets them (it does not throttle), so removing
/// them is a no-op rather than an error.
const THROTTLE_KEYS: &[&str] = &[
    "leader.replication.throttled.rate",
    "follower.replication.throttled.rate",
    "replica.alter.log.dirs.io.max.bytes.per.second",
    "leader.replication.throttled.replicas",
    "follower.replication.throttled.replicas",
];

fn without_throttle_removals(changes: Vec<ConfigChange>) -> Vec<ConfigChange> {
    changes
        .into_iter()
        .filter(|c| !matches!(c, ConfigChange::Delete(k) if THROTTLE_KEYS.contains(&k.as_str())))
        .collect()
}

/// Applies topic config changes through the controller; returns the error code and message, if any.
async fn apply(
    shard: &Rc<Shard>,
    access: &Access<'_>,
    resource_type: i8,
    name: String,
    changes: Result<Vec<ConfigChange>, String>,
    replace_all: bool,
    validate_only: bool,
) -> (i16, Option<StrBytes>) {
    if let Some(code) = refusal(access, Operation::AlterConfigs, resource_type, &name) {
        return (code.code(), None);
    }
    let changes = changes.map(without_throttle_removals);
    if matches!(&changes, Ok(c) if c.is_empty()) {
        return (0, None);
    }
    if resource_type != RESOURCE_TOPIC {
        let msg = "only topic configs can be altered; broker configs are set at startup";
        return (
            ResponseError::InvalidRequest.code(),
            Some(StrBytes::from_static_str(msg)),
        );
    }
    let changes = match changes {
        Ok(c) => c,
        Err(msg) => {
            return (
                ResponseError::InvalidConfig.code(),
                Some(StrBytes::from_string(msg)),
            )
        }
    };
    let result = on_controller(shard, move |s| async move {
        controller(&s)
            .alter_configs(&s, name, changes, replace_all, validate_only)
            .await
    })
    .await;
    match result {
        Ok(()) => (0, None),
        Err((code, msg)) => (code.code(), Some(StrBytes::from_string(msg))),
    }
}

pub async fn alter(
    shard: &Rc<Shard>,
    ctx: &RequestContext,
    req: AlterConfigsRequest,
) -> AlterConfigsResponse {
    let access = Access::of(shard, ctx);
    let mut resp = AlterConfigsResponse::default();
    for res in req.resources {
        let changes = res
            .configs
            .iter()
            .map(|c| match &c.value {
                Some(v) => ConfigChange::Set(c.name.to_string(), v.to_string()),
                None => ConfigChange::Delete(c.name.to_string()),
            })
            .collect();
        let name = res.resource_name.to_string();
        let (code, msg) = apply(
            shard,
            &access,
            res.resource_type,
            name,
            Ok(changes),
            true,
            req.validate_only,
        )
        .await;
        let mut r = alter_configs_response::AlterConfigsResourceResponse::default();
        r.resource_type = res.resource_type;
        r.resource_name = res.resource_name;
        r.error_code = code;
        r.error_message = msg;
        resp.responses.push(r);
    }
    resp
}

pub async fn incremental_alter(
    shard: &Rc<Shard>,
    ctx: &RequestContext,
    req: IncrementalAlterConfigsRequest,
) -> IncrementalAlterConfigsResponse {
    let access = Access::of(shard, ctx);
    let mut resp = IncrementalAlterConfigsResponse::default();
    for res in req.resources {
        let changes = res
            .configs
            .iter()
            .map(|c| match (c.config_operation, &c.value) {
                (OP_SET, Some(v)) => Ok(ConfigChange::Set(c.name.to_string(), v.to_string())),
                (OP_DELETE, _) => Ok(ConfigChange::Delete(c.name.to_string())),
                (op, _) => Err(format!("operation {op} on '{}' is not supported (SET needs a value; APPEND/SUBTRACT apply to list configs only)", c.name)),
            })
            .collect();
        let name = res.resource_name.to_string();
        let (code, msg) = apply(
            shard,
            &access,
            res.resource_type,
            name,
            changes,
            false,
            req.validate_only,
        )
        .await;
        let mut r = incremental_alter_configs_response::AlterConfigsResourceResponse::default();
        r.resource_type = res.resource_type;
        r.resource_name = res.resource_name;
        r.error_code = code;
        r.error_message = msg;
        resp.responses.push(r);
    }
    resp
}
