//! Metadata: the brokers, and topics with their partitions, leaders, replicas and ids. Unknown topics are
//! auto-created when both the request and `auto.create.topics.enable` allow it (and, with the
//! authorizer on, the principal may CREATE the topic). A listing of all topics leaves out those the
//! principal may not DESCRIBE; one asked for by name or id answers TOPIC_AUTHORIZATION_FAILED instead.

use super::authz::Access;
use super::scope::Scope;
use super::{cluster_brokers, controller_id, RequestContext};
use crate::cluster::fencing::NO_LEADER;
use crate::cluster::metadata::{validate_topic_name, TopicInfo};
use crate::runtime::mesh::CONTROLLER_SHARD;
use crate::security::acl::{Operation, ResourceType};
use bytes::Bytes;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use std::rc::Rc;
use std::sync::Arc;
use tracing::warn;

/// Kafka's "authorized operations not requested" marker.
const OPS_NOT_REQUESTED: i32 = i32::MIN;

pub async fn handle(
    scope: &Rc<Scope>,
    ctx: &RequestContext,
    req: MetadataRequest,
) -> MetadataResponse {
    let mut resp = MetadataResponse::default();
    resp.brokers = cluster_brokers(scope, ctx)
        .into_iter()
        .map(|e| {
            let mut b = MetadataResponseBroker::default();
            b.node_id = BrokerId(e.node_id);
            b.host = StrBytes::from_string(e.host);
            b.port = e.port;
            b.rack = e.rack.map(StrBytes::from_string);
            b
        })
        .collect();
    resp.controller_id = BrokerId(controller_id(scope));
    resp.cluster_authorized_operations = OPS_NOT_REQUESTED;
    let snapshot = scope.metadata();
    resp.cluster_id = Some(StrBytes::from_string(snapshot.cluster_id.clone()));
    // v0 treats an empty list as "all topics"; later versions use null for that.
    let all = match &req.topics {
        None => true,
        Some(t) => t.is_empty() && ctx.version == 0,
    };
    let access = Access::of(scope, ctx);
    if all {
        let mut topics: Vec<_> = snapshot
            .topics
            .values()
            .filter(|t| access.sees(Operation::Describe, ResourceType::Topic, &t.name))
            .cloned()
            .collect();
        topics.sort_by(|a, b| a.name.cmp(&b.name));
        resp.topics = topics
            .iter()
            .map(|t| topic_response(t, &snapshot.fenced_brokers))
            .collect();
        return resp;
    }
    let auto_create = req.allow_auto_topic_creation && scope.config.auto_create_topics_enable;
    for requested in req.topics.unwrap_or_default() {
        let by_name = requested.name.as_ref().map(|n| n.0.to_string());
        let known = match &by_name {
            Some(name) => scope.metadata().topics.get(name).cloned(),
            None => scope
                .metadata()
                .topics_by_id
                .get(&requested.topic_id)
                .cloned(),
        };
        let checked_name = by_name
            .as_deref()
            .or(known.as_deref().map(|t| t.name.as_str()));
        if let Some(name) = checked_name {
            if !access.allows(Operation::Describe, ResourceType::Topic, name) {
                // By id, the name is not revealed.
                let shown = by_name.is_some().then(|| name.to_string());
                resp.topics.push(error_topic(
                    ResponseError::TopicAuthorizationFailed,
                    shown,
                    requested.topic_id,
                ));
                continue;
            }
        }
        let topic = match (known, by_name) {
            (Some(t), _) => Ok(t),
            (None, Some(name))
                if auto_create
                    && !access.allows_on_cluster_or(
                        Operation::Create,
                        ResourceType::Topic,
                        &name,
                    ) =>
            {
                resp.topics.push(error_topic(
                    ResponseError::TopicAuthorizationFailed,
                    Some(name),
                    requested.topic_id,
                ));
                continue;
            }
            (None, Some(name)) if auto_create => {
                auto_create_topic(scope, name.clone()).await.ok_or(name)
            }
            (None, name) => Err(name.unwrap_or_default()),
        };
        resp.topics.push(match topic {
            Ok(t) => topic_response(&t, &scope.metadata().fenced_brokers),
            Err(name) => {
                let code = if validate_topic_name(&name).is_err() && !name.is_empty() {
                    ResponseError::InvalidTopicException
                } else {
                    ResponseError::UnknownTopicOrPartition
                };
                error_topic(code, Some(name), requested.topic_id)
            }
        });
    }
    resp
}

fn error_topic(code: ResponseError, name: Option<String>, id: uuid::Uuid) -> MetadataResponseTopic {
    let mut t = MetadataResponseTopic::default();
    t.error_code = code.code();
    t.name = name.map(|n| TopicName(StrBytes::from_string(n)));
    t.topic_id = id;
    t.topic_authorized_operations = OPS_NOT_REQUESTED;
    t
}

/// Creates a topic with the broker defaults; `None` when the name is invalid or creation failed.
async fn auto_create_topic(scope: &Rc<Scope>, name: String) -> Option<Arc<TopicInfo>> {
    validate_topic_name(&name).ok()?;
    let partitions = scope.config.num_partitions;
    let factor = scope.config.default_replication_factor;
    let n = name.clone();
    let created = scope
        .controller
        .invoke_on(CONTROLLER_SHARD, move |c| async move {
            match c
                .create_topic(n, partitions, factor, Vec::new(), false)
                .await
            {
                Ok(()) | Err(crate::controller::ControllerError::TopicExists(_)) => Ok(()),
                Err(e) => Err(e.to_string()),
            }
        })
        .await;
    if let Some(Err(e)) = created {
        warn!(topic = %name, error = %e, "auto-creating topic failed");
        return None;
    }
    scope.metadata().topics.get(&name).cloned()
}

/// Tagged field on each partition of a Metadata v9+ response: the shard (core) of this broker that owns
/// the partition, as a 4-byte big-endian integer. Far above Kafka's tags so it never collides; clients
/// skip tags they do not know.
pub const SHARD_TAG: i32 = 10_000;

/// A topic's partitions; a partition without a leader (its in-sync replicas are fenced) answers
/// LEADER_NOT_AVAILABLE, and fenced replicas are listed as offline.
fn topic_response(t: &TopicInfo, fenced: &[i32]) -> MetadataResponseTopic {
    let mut topic = MetadataResponseTopic::default();
    topic.name = Some(TopicName(StrBytes::from_string(t.name.clone())));
    topic.topic_id = t.id;
    topic.topic_authorized_operations = OPS_NOT_REQUESTED;
    let ids = |nodes: &[i32]| nodes.iter().map(|&n| BrokerId(n)).collect::<Vec<_>>();
    topic.partitions = t
        .partitions
        .iter()
        .enumerate()
        .map(|(p, info)| {
            let mut part = MetadataResponsePartition::default();
            part.partition_index = p as i32;
            part.leader_id = BrokerId(info.leader);
            part.leader_epoch = info.leader_epoch;
            part.replica_nodes = ids(&info.replicas);
            part.isr_nodes = ids(&info.isr);
            let offline: Vec<i32> = info
                .replicas
                .iter()
                .copied()
                .filter(|r| fenced.contains(r))
                .collect();
            part.offline_replicas = ids(&offline);
            if info.leader == NO_LEADER {
                part.error_code = ResponseError::LeaderNotAvailable.code();
            }
            part.unknown_tagged_fields.insert(
                SHARD_TAG,
                Bytes::copy_from_slice(&(info.leader_shard as i32).to_be_bytes()),
            );
            part
        })
        .collect();
    topic
}
