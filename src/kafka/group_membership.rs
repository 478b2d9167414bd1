//! JoinGroup, SyncGroup, Heartbeat and LeaveGroup (the classic consumer-group protocol): validated here,
//! then run on the group's shard by its `Group` state machine (`coordinator/group.rs`). Each needs READ
//! on the group (GROUP_AUTHORIZATION_FAILED).

use super::authz::Access;
use super::group_routing::on_group_shard;
use super::scope::Scope;
use super::RequestContext;
use crate::coordinator::group::{JoinOutcome, JoinRequest, JoinResult, SyncOutcome};
use crate::coordinator::GroupSettings;
use crate::security::acl::{Operation, ResourceType};
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use std::rc::Rc;
use std::time::{Duration, Instant};

fn s(v: String) -> StrBytes {
    StrBytes::from_string(v)
}

/// READ on the group, which every membership API needs.
fn may_read(scope: &Scope, ctx: &RequestContext, group: &str) -> bool {
    Access::of(scope, ctx).allows(Operation::Read, ResourceType::Group, group)
}

fn join_response(ctx: &RequestContext, r: JoinResult) -> JoinGroupResponse {
    let mut resp = JoinGroupResponse::default();
    resp.error_code = r.error.map_or(0, |e| e.code());
    resp.generation_id = r.generation;
    // protocol_name is nullable from v7 only; older versions need a string.
    resp.protocol_name = r
        .protocol
        .map(s)
        .or_else(|| (ctx.version < 7).then(StrBytes::default));
    resp.protocol_type = r.protocol_type.map(s);
    resp.leader = s(r.leader);
    resp.member_id = s(r.member_id);
    resp.members = r
        .members
        .into_iter()
        .map(|(id, instance, metadata)| {
            let mut m = JoinGroupResponseMember::default();
            m.member_id = s(id);
            m.group_instance_id = instance.map(s);
            m.metadata = metadata;
            m
        })
        .collect();
    resp
}

pub async fn join(
    scope: &Rc<Scope>,
    ctx: &RequestContext,
    req: JoinGroupRequest,
) -> JoinGroupResponse {
    let settings = GroupSettings::from(&scope.config);
    let member_id = req.member_id.to_string();
    let session = Duration::from_millis(req.session_timeout_ms.max(0) as u64);
    if !may_read(scope, ctx, &req.group_id) {
        return join_response(
            ctx,
            JoinResult::error(ResponseError::GroupAuthorizationFailed, member_id),
        );
    }
    if req.group_id.0.is_empty() {
        return join_response(
            ctx,
            JoinResult::error(ResponseError::InvalidGroupId, member_id),
        );
    }
    if session < settings.min_session_timeout || session > settings.max_session_timeout {
        return join_response(
            ctx,
            JoinResult::error(ResponseError::InvalidSessionTimeout, member_id),
        );
    }
    let join = JoinRequest {
        member_id: member_id.clone(),
        instance_id: req.group_instance_id.map(|i| i.to_string()),
        client_id: ctx.client_id.clone(),
        client_host: ctx.client_host.clone(),
        session_timeout: session,
        // v0 has no rebalance timeout: Kafka uses the session timeout.
        rebalance_timeout: if ctx.version == 0 {
            session
        } else {
            Duration::from_millis(req.rebalance_timeout_ms.max(0) as u64)
        },
        protocol_type: req.protocol_type.to_string(),
        protocols: req
            .protocols
            .into_iter()
            .map(|p| (p.name.to_string(), p.metadata))
            .collect(),
        require_known_member_id: ctx.version >= 4,
    };
    let group_id = req.group_id.0.to_string();
    let delay = settings.initial_rebalance_delay;
    let result = on_group_shard(scope, &group_id.clone(), move |groups, _| async move {
        match groups.with_group(&group_id, |g| g.join(join, Instant::now(), delay)) {
            JoinOutcome::Now(r) => r,
            // The member was removed (left, fenced, group deleted) while it waited.
            JoinOutcome::Wait(rx) => rx
                .await
                .unwrap_or_else(|_| JoinResult::error(ResponseError::UnknownMemberId, member_id)),
        }
    })
    .await;
    let result = result.unwrap_or_else(|e| JoinResult::error(e, String::new()));
    join_response(ctx, result)
}

pub async fn sync(
    scope: &Rc<Scope>,
    ctx: &RequestContext,
    req: SyncGroupRequest,
) -> SyncGroupResponse {
    if !may_read(scope, ctx, &req.group_id) {
        let mut resp = SyncGroupResponse::default();
        resp.error_code = ResponseError::GroupAuthorizationFailed.code();
        return resp;
    }
    let group_id = req.group_id.0.to_string();
    let member_id = req.member_id.to_string();
    let generation = req.generation_id;
    let assignments = req
        .assignments
        .into_iter()
        .map(|a| (a.member_id.to_string(), a.assignment))
        .collect();
    let result = on_group_shard(scope, &group_id.clone(), move |groups, _| async move {
        let outcome = groups.with_existing(&group_id, |g| {
            g.sync(&member_id, generation, assignments, Instant::now())
        });
        let answer = match outcome {
            None => Err(ResponseError::UnknownMemberId),
            Some(SyncOutcome::Now(r)) => r,
            Some(SyncOutcome::Wait(rx)) => rx.await.unwrap_or(Err(ResponseError::UnknownMemberId)),
        };
        let protocol =
            groups.with_existing(&group_id, |g| (g.protocol_type.clone(), g.protocol.clone()));
        (answer, protocol)
    })
    .await;
    let mut resp = SyncGroupResponse::default();
    match result {
        Ok((Ok(assignment), protocol)) => {
            resp.assignment = assignment;
            if let Some((protocol_type, protocol_name)) = protocol {
                resp.protocol_type = protocol_type.map(s);
                resp.protocol_name = protocol_name.map(s);
            }
        }
        Ok((Err(e), _)) | Err(e) => resp.error_code = e.code(),
    }
    resp
}

pub async fn heartbeat(
    scope: &Rc<Scope>,
    ctx: &RequestContext,
    req: HeartbeatRequest,
) -> HeartbeatResponse {
    if !may_read(scope, ctx, &req.group_id) {
        let mut resp = HeartbeatResponse::default();
        resp.error_code = ResponseError::GroupAuthorizationFailed.code();
        return resp;
    }
    let group_id = req.group_id.0.to_string();
    let member_id = req.member_id.to_string();
    let generation = req.generation_id;
    let result = on_group_shard(scope, &group_id.clone(), move |groups, _| async move {
        groups
            .with_existing(&group_id, |g| {
                g.heartbeat(&member_id, generation, Instant::now())
            })
            .unwrap_or(Err(ResponseError::UnknownMemberId))
    })
    .await;
    let mut resp = HeartbeatResponse::default();
    if let Err(e) = result.and_then(|r| r) {
        resp.error_code = e.code();
    }
    resp
}

pub async fn leave(
    scope: &Rc<Scope>,
    ctx: &RequestContext,
    req: LeaveGroupRequest,
) -> LeaveGroupResponse {
    if !may_read(scope, ctx, &req.group_id) {
        let mut resp = LeaveGroupResponse::default();
        resp.error_code = ResponseError::GroupAuthorizationFailed.code();
        return resp;
    }
    let group_id = req.group_id.0.to_string();
    // v3+ leaves a batch of members (by member id or static instance id); older versions one member.
    let leaving: Vec<(String, Option<String>)> = if ctx.version >= 3 {
        req.members
            .into_iter()
            .map(|m| {
                (
                    m.member_id.to_string(),
                    m.group_instance_id.map(|i| i.to_string()),
                )
            })
            .collect()
    } else {
        vec![(req.member_id.to_string(), None)]
    };
    let who = leaving.clone();
    let result = on_group_shard(scope, &group_id.clone(), move |groups, _| async move {
        who.iter()
            .map(|(id, instance)| {
                groups
                    .with_existing(&group_id, |g| {
                        g.leave(id, instance.as_deref(), Instant::now())
                    })
                    .unwrap_or(Err(ResponseError::UnknownMemberId))
            })
            .collect::<Vec<_>>()
    })
    .await;
    let mut resp = LeaveGroupResponse::default();
    match result {
        Err(e) => resp.error_code = e.code(),
        Ok(results) if ctx.version >= 3 => {
            resp.members = leaving
                .into_iter()
                .zip(results)
                .map(|((id, instance), r)| {
                    let mut m = MemberResponse::default();
                    m.member_id = s(id);
                    m.group_instance_id = instance.map(s);
                    m.error_code = r.err().map_or(0, |e| e.code());
                    m
                })
                .collect();
        }
        Ok(results) => {
            resp.error_code = results
                .into_iter()
                .find_map(|r| r.err())
                .map_or(0, |e| e.code())
        }
    }
    resp
}
