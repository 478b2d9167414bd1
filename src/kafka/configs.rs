//! DescribeConfigs (with Kafka's synonyms and config sources), AlterConfigs (replace all overrides) and
//! IncrementalAlterConfigs (SET, DELETE, and APPEND/SUBTRACT on list configs) for topics. Broker configs
//! are described read-only: they come from flags, environment or the config file at startup.
//! Authorization: DESCRIBE_CONFIGS / ALTER_CONFIGS on the topic, or on the cluster for broker configs.

use super::authz::Access;
use super::scope::Scope;
use super::{on_controller, RequestContext};
use crate::cluster::topic_config::{self, ConfigType, TopicConfigDef};
use crate::config::BrokerConfig;
use crate::controller::ConfigChange;
use crate::security::acl::{Operation, ResourceType};
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{
    alter_configs_response, incremental_alter_configs_response, AlterConfigsRequest,
    AlterConfigsResponse, DescribeConfigsRequest, DescribeConfigsResponse,
    IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use std::rc::Rc;
use tracing::warn;

const RESOURCE_TOPIC: i8 = 2;
const RESOURCE_BROKER: i8 = 4;
const RESOURCE_CLIENT_METRICS: i8 = 16;
const SOURCE_DYNAMIC_TOPIC: i8 = 1;
const SOURCE_STATIC_BROKER: i8 = 4;
const SOURCE_DEFAULT: i8 = 5;
const OP_SET: i8 = 0;
const OP_DELETE: i8 = 1;
const OP_APPEND: i8 = 2;
const OP_SUBTRACT: i8 = 3;

fn synonym(name: &str, value: &str, source: i8) -> DescribeConfigsSynonym {
    let mut s = DescribeConfigsSynonym::default();
    s.name = StrBytes::from_string(name.to_string());
    s.value = Some(StrBytes::from_string(value.to_string()));
    s.source = source;
    s
}

/// One described config: its value and source, and (when asked) the synonyms it was resolved
/// through, most specific first, as Kafka lists them.
fn entry(
    name: &str,
    config_type: ConfigType,
    read_only: bool,
    synonyms: Vec<DescribeConfigsSynonym>,
    include_synonyms: bool,
) -> DescribeConfigsResourceResult {
    let mut e = DescribeConfigsResourceResult::default();
    e.name = StrBytes::from_string(name.to_string());
    if let Some(first) = synonyms.first() {
        e.value = first.value.clone();
        e.config_source = first.source;
    }
    e.read_only = read_only;
    e.config_type = config_type as i8;
    if include_synonyms {
        e.synonyms = synonyms;
    }
    e
}

/// A topic config: the topic's override (dynamic topic config), then the broker's value (static broker
/// config if the broker was given it, else the default).
fn topic_entry(
    def: &TopicConfigDef,
    broker: &BrokerConfig,
    overrides: &[(String, String)],
    include_synonyms: bool,
) -> DescribeConfigsResourceResult {
    let mut synonyms = Vec::with_capacity(2);
    if let Some((_, v)) = overrides.iter().rev().find(|(k, _)| k == def.name) {
        synonyms.push(synonym(def.name, v, SOURCE_DYNAMIC_TOPIC));
    }
    let broker_source = if def.default_is_static(broker) {
        SOURCE_STATIC_BROKER
    } else {
        SOURCE_DEFAULT
    };
    synonyms.push(synonym(
        def.broker_name,
        &def.default_value(broker),
        broker_source,
    ));
    entry(def.name, def.kind, false, synonyms, include_synonyms)
}

/// The broker configs DescribeConfigs lists (read-only: set at startup), as (name, type, value).
fn broker_configs(c: &BrokerConfig) -> [(&'static str, ConfigType, String); 10] {
    use ConfigType::{Int, Long, String as Str};
    [
        (
            "auto.create.topics.enable",
            Str,
            c.auto_create_topics_enable.to_string(),
        ),
        ("num.partitions", Int, c.num_partitions.to_string()),
        (
            "default.replication.factor",
            Int,
            c.default_replication_factor.to_string(),
        ),
        ("message.max.bytes", Int, c.message_max_bytes.to_string()),
        (
            "socket.request.max.bytes",
            Int,
            c.socket_request_max_bytes.to_string(),
        ),
        ("log.segment.bytes", Int, c.log_segment_bytes.to_string()),
        ("log.retention.ms", Long, c.log_retention_ms.to_string()),
        (
            "log.retention.bytes",
            Long,
            c.log_retention_bytes.to_string(),
        ),
        (
            "min.insync.replicas",
            Int,
            c.min_insync_replicas.to_string(),
        ),
        (
            "replica.lag.time.max.ms",
            Long,
            c.replica_lag_time_max_ms.to_string(),
        ),
    ]
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
    scope: &Rc<Scope>,
    ctx: &RequestContext,
    req: DescribeConfigsRequest,
) -> DescribeConfigsResponse {
    let metadata = scope.metadata();
    let synonyms = req.include_synonyms;
    let access = Access::of(scope, ctx);
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
                    r.configs = topic_config::supported()
                        .iter()
                        .filter(|d| wanted(d.name))
                        .map(|d| topic_entry(d, &scope.config, &topic.configs, synonyms))
                        .collect();
                }
                None => {
                    r.error_code = ResponseError::UnknownTopicOrPartition.code();
                    r.error_message = Some(StrBytes::from_static_str("unknown topic"));
                }
            },
            RESOURCE_BROKER => {
                let c = &scope.config;
                r.configs = broker_configs(c)
                    .into_iter()
                    .filter(|(n, ..)| wanted(n))
                    .map(|(n, kind, v)| {
                        let source = if c.explicit_keys.iter().any(|k| k == n) {
                            SOURCE_STATIC_BROKER
                        } else {
                            SOURCE_DEFAULT
                        };
                        entry(n, kind, true, vec![synonym(n, &v, source)], synonyms)
                    })
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

/// Why configs of `resource_type` cannot be altered here; `None` for topics, which can.
fn not_alterable(resource_type: i8) -> Option<&'static str> {
    match resource_type {
        RESOURCE_TOPIC => None,
        RESOURCE_BROKER => Some("broker configs are set at startup (flags, environment, config file) and cannot be altered at runtime"),
        RESOURCE_CLIENT_METRICS => Some("client-metrics subscriptions (KIP-714 telemetry) are not supported by shardlog yet"),
        _ => Some("configs of this resource type are not supported by shardlog"),
    }
}

/// Applies topic config changes through the controller; returns the error code and message, if any.
async fn apply(
    scope: &Rc<Scope>,
    ctx: &RequestContext,
    resource_type: i8,
    name: String,
    changes: Result<Vec<ConfigChange>, String>,
    replace_all: bool,
    validate_only: bool,
) -> (i16, Option<StrBytes>) {
    let access = Access::of(scope, ctx);
    if let Some(code) = refusal(&access, Operation::AlterConfigs, resource_type, &name) {
        return (code.code(), None);
    }
    let changes = changes.map(without_throttle_removals);
    if matches!(&changes, Ok(c) if c.is_empty()) {
        return (0, None);
    }
    if let Some(msg) = not_alterable(resource_type) {
        warn!(client = %ctx.client_id, resource_type, resource = %name, "config change refused: {msg}");
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
    let result = on_controller(scope, move |controller| async move {
        controller
            .alter_configs(name, changes, replace_all, validate_only)
            .await
    })
    .await;
    match result {
        Ok(()) => (0, None),
        Err((code, msg)) => (code.code(), Some(StrBytes::from_string(msg))),
    }
}

pub async fn alter(
    scope: &Rc<Scope>,
    ctx: &RequestContext,
    req: AlterConfigsRequest,
) -> AlterConfigsResponse {
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
            scope,
            ctx,
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
    scope: &Rc<Scope>,
    ctx: &RequestContext,
    req: IncrementalAlterConfigsRequest,
) -> IncrementalAlterConfigsResponse {
    let mut resp = IncrementalAlterConfigsResponse::default();
    for res in req.resources {
        let changes = res
            .configs
            .iter()
            .map(|c| match (c.config_operation, &c.value) {
                (OP_SET, Some(v)) => Ok(ConfigChange::Set(c.name.to_string(), v.to_string())),
                (OP_DELETE, _) => Ok(ConfigChange::Delete(c.name.to_string())),
                (OP_APPEND, Some(v)) => Ok(ConfigChange::Append(c.name.to_string(), v.to_string())),
                (OP_SUBTRACT, Some(v)) => {
                    Ok(ConfigChange::Subtract(c.name.to_string(), v.to_string()))
                }
                (op, _) => Err(format!(
                    "operation {op} on '{}' needs a value (SET, APPEND, SUBTRACT) or is unknown",
                    c.name
                )),
            })
            .collect();
        let name = res.resource_name.to_string();
        let (code, msg) = apply(
            scope,
            ctx,
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
