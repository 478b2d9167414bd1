//! ListGroups (every shard's groups), DescribeGroups and DeleteGroups (on each group's shard).
//! Authorization: ListGroups shows every group with DESCRIBE on the cluster, else those the principal may
//! DESCRIBE; DescribeGroups needs DESCRIBE and DeleteGroups DELETE on each group.

use super::authz::Access;
use super::group_routing::on_group_shard;
use super::scope::Scope;
use super::RequestContext;
use crate::security::acl::{Operation, ResourceType, CLUSTER_NAME};
use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use std::rc::Rc;

/// Tagged field carrying the group's lag report (JSON: status OK/WARNING/ERROR, total and per partition)
/// in DescribeGroups v5+ responses. Far above Kafka's tags so it never collides.
pub const LAG_STATUS_TAG: i32 = 10_000;

fn s(v: String) -> StrBytes {
    StrBytes::from_string(v)
}

pub async fn list(
    scope: &Rc<Scope>,
    ctx: &RequestContext,
    req: ListGroupsRequest,
) -> ListGroupsResponse {
    let mut all = Vec::new();
    for target in 0..scope.groups.shards() {
        all.extend(
            scope
                .groups
                .invoke_on(target, |groups| async move { groups.list() })
                .await
                .unwrap_or_default(),
        );
    }
    let wanted_state = |state: &str| {
        req.states_filter.is_empty()
            || req
                .states_filter
                .iter()
                .any(|f| f.eq_ignore_ascii_case(state))
    };
    let wanted_type = |kind: &str| {
        req.types_filter.is_empty()
            || req
                .types_filter
                .iter()
                .any(|t| t.eq_ignore_ascii_case(kind))
    };
    let access = Access::of(scope, ctx);
    let every_group = access.sees(Operation::Describe, ResourceType::Cluster, CLUSTER_NAME);
    let visible =
        |id: &str| every_group || access.sees(Operation::Describe, ResourceType::Group, id);
    let mut resp = ListGroupsResponse::default();
    resp.groups = all
        .into_iter()
        .filter(|(id, _, state, kind)| wanted_state(state) && wanted_type(kind) && visible(id))
        .map(|(id, protocol_type, state, kind)| {
            let mut g = ListedGroup::default();
            g.group_id = GroupId(s(id));
            g.protocol_type = s(protocol_type);
            g.group_state = StrBytes::from_static_str(state);
            if ctx.version >= 5 {
                g.group_type = StrBytes::from_static_str(kind);
            }
            g
        })
        .collect();
    resp.groups.sort_by(|a, b| a.group_id.0.cmp(&b.group_id.0));
    resp
}

pub async fn describe(
    scope: &Rc<Scope>,
    ctx: &RequestContext,
    req: DescribeGroupsRequest,
) -> DescribeGroupsResponse {
    let access = Access::of(scope, ctx);
    let mut resp = DescribeGroupsResponse::default();
    for group_id in req.groups {
        let id = group_id.0.to_string();
        if !access.allows(Operation::Describe, ResourceType::Group, &id) {
            let mut g = DescribedGroup::default();
            g.group_id = group_id;
            g.authorized_operations = i32::MIN;
            g.error_code = ResponseError::GroupAuthorizationFailed.code();
            resp.groups.push(g);
            continue;
        }
        let found = on_group_shard(scope, &id.clone(), move |groups, _| async move {
            groups.describe(&id).map(|d| (d, groups.lag_report(&id)))
        })
        .await;
        let mut g = DescribedGroup::default();
        g.group_id = group_id;
        g.authorized_operations = i32::MIN;
        match found {
            Err(e) => g.error_code = e.code(),
            // Kafka describes an unknown group as Dead, without an error.
            Ok(None) => g.group_state = StrBytes::from_static_str("Dead"),
            Ok(Some((d, lag))) => {
                if let Some(json) = lag.and_then(|l| serde_json::to_vec(&l).ok()) {
                    // Not in Kafka's schema: an unknown tagged field, which Kafka clients skip.
                    g.unknown_tagged_fields.insert(LAG_STATUS_TAG, json.into());
                }
                g.group_state = StrBytes::from_static_str(d.state);
                g.protocol_type = s(d.protocol_type);
                g.protocol_data = s(d.protocol);
                g.members = d
                    .members
                    .into_iter()
                    .map(|(id, instance, client_id, host, metadata, assignment)| {
                        let mut m = DescribedGroupMember::default();
                        m.member_id = s(id);
                        m.group_instance_id = instance.map(s);
                        m.client_id = s(client_id);
                        m.client_host = s(host);
                        m.member_metadata = metadata;
                        m.member_assignment = assignment;
                        m
                    })
                    .collect();
            }
        }
        resp.groups.push(g);
    }
    resp
}

pub async fn delete(
    scope: &Rc<Scope>,
    ctx: &RequestContext,
    req: DeleteGroupsRequest,
) -> DeleteGroupsResponse {
    let access = Access::of(scope, ctx);
    let mut resp = DeleteGroupsResponse::default();
    for group_id in req.groups_names {
        let id = group_id.0.to_string();
        if !access.allows(Operation::Delete, ResourceType::Group, &id) {
            let mut r = DeletableGroupResult::default();
            r.group_id = group_id;
            r.error_code = ResponseError::GroupAuthorizationFailed.code();
            resp.results.push(r);
            continue;
        }
        let outcome = on_group_shard(scope, &id.clone(), move |groups, log| async move {
            if !groups.exists(&id) {
                return Err(ResponseError::GroupIdNotFound);
            }
            if groups.has_members(&id) {
                return Err(ResponseError::NonEmptyGroup);
            }
            let keys = groups.committed(&id).into_keys().collect();
            groups
                .delete_offsets(&log, &id, keys)
                .await
                .map_err(|_| ResponseError::KafkaStorageError)?;
            groups.forget(&id);
            Ok(())
        })
        .await;
        let mut r = DeletableGroupResult::default();
        r.group_id = group_id;
        r.error_code = outcome.and_then(|o| o).err().map_or(0, |e| e.code());
        resp.results.push(r);
    }
    resp
}
