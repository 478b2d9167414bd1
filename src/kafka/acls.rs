//! CreateAcls, DescribeAcls and DeleteAcls (what kafka-acls and `Admin.createAcls` send). Managing ACLs
//! needs ALTER on the cluster, describing them DESCRIBE on the cluster (Kafka's rule). Bindings with
//! UNKNOWN/ANY/MATCH codes or invalid fields are answered INVALID_REQUEST one by one; the valid ones
//! of a request go to the controller as one persisted change.

use super::authz::Access;
use super::scope::Scope;
use super::{on_controller, RequestContext};
use crate::security::acl::{
    AclBinding, AclFilter, Operation, PatternType, Permission, ResourceType,
};
use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::create_acls_response::AclCreationResult;
use kafka_protocol::messages::delete_acls_response::{
    DeleteAclsFilterResult, DeleteAclsMatchingAcl,
};
use kafka_protocol::messages::describe_acls_response::{AclDescription, DescribeAclsResource};
use kafka_protocol::messages::{
    CreateAclsRequest, CreateAclsResponse, DeleteAclsRequest, DeleteAclsResponse,
    DescribeAclsRequest, DescribeAclsResponse,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use std::rc::Rc;

type Refusal = (ResponseError, String);

fn text(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

fn cluster_refusal(op: Operation) -> Refusal {
    (
        ResponseError::ClusterAuthorizationFailed,
        format!("{op} on the cluster is required to manage ACLs"),
    )
}

/// A creation's wire codes and fields as a storable binding.
fn binding(c: &AclCreation) -> Result<AclBinding, String> {
    let unknown = |what: &str, code: i8| format!("invalid ACL creation: {what} code {code}");
    let b = AclBinding {
        resource_type: ResourceType::from_code(c.resource_type)
            .ok_or_else(|| unknown("resource type", c.resource_type))?,
        name: c.resource_name.to_string(),
        pattern: PatternType::from_code(c.resource_pattern_type)
            .ok_or_else(|| unknown("pattern type", c.resource_pattern_type))?,
        principal: c.principal.to_string(),
        host: c.host.to_string(),
        operation: Operation::from_code(c.operation)
            .ok_or_else(|| unknown("operation", c.operation))?,
        permission: Permission::from_code(c.permission_type)
            .ok_or_else(|| unknown("permission type", c.permission_type))?,
    };
    b.validate()
        .map_err(|e| format!("invalid ACL creation: {e}"))?;
    Ok(b)
}

pub async fn create(
    scope: &Rc<Scope>,
    ctx: &RequestContext,
    req: CreateAclsRequest,
) -> CreateAclsResponse {
    let parsed: Vec<Result<AclBinding, Refusal>> =
        if Access::of(scope, ctx).allows_cluster(Operation::Alter) {
            req.creations
                .iter()
                .map(|c| binding(c).map_err(|m| (ResponseError::InvalidRequest, m)))
                .collect()
        } else {
            req.creations
                .iter()
                .map(|_| Err(cluster_refusal(Operation::Alter)))
                .collect()
        };
    let valid: Vec<AclBinding> = parsed
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .cloned()
        .collect();
    let stored = if valid.is_empty() {
        Ok(())
    } else {
        on_controller(scope, move |controller| async move {
            controller.create_acls(valid).await
        })
        .await
    };
    let mut resp = CreateAclsResponse::default();
    resp.results = parsed
        .into_iter()
        .map(|r| {
            let mut out = AclCreationResult::default();
            if let Err((code, message)) = r.and(stored.clone()) {
                out.error_code = code.code();
                out.error_message = Some(StrBytes::from_string(message));
            }
            out
        })
        .collect();
    resp
}

fn filter_of_describe(r: &DescribeAclsRequest) -> Result<AclFilter, Refusal> {
    AclFilter::from_wire(
        r.resource_type_filter,
        r.resource_name_filter.as_deref(),
        r.pattern_type_filter,
        r.principal_filter.as_deref(),
        r.host_filter.as_deref(),
        r.operation,
        r.permission_type,
    )
    .map_err(|e| (ResponseError::InvalidRequest, e.to_string()))
}

pub fn describe(
    scope: &Scope,
    ctx: &RequestContext,
    req: DescribeAclsRequest,
) -> DescribeAclsResponse {
    let mut resp = DescribeAclsResponse::default();
    let checked = if Access::of(scope, ctx).allows_cluster(Operation::Describe) {
        filter_of_describe(&req)
    } else {
        Err(cluster_refusal(Operation::Describe))
    };
    let filter = match checked {
        Ok(f) => f,
        Err((code, message)) => {
            resp.error_code = code.code();
            resp.error_message = Some(StrBytes::from_string(message));
            return resp;
        }
    };
    let snapshot = scope.metadata();
    // One resource entry per (type, name, pattern), in the order bindings were created.
    for b in snapshot.acl_bindings.iter().filter(|b| filter.matches(b)) {
        let same = |r: &&mut DescribeAclsResource| {
            r.resource_type == b.resource_type.code()
                && r.pattern_type == b.pattern.code()
                && r.resource_name.as_str() == b.name
        };
        let mut acl = AclDescription::default();
        acl.principal = text(&b.principal);
        acl.host = text(&b.host);
        acl.operation = b.operation.code();
        acl.permission_type = b.permission.code();
        match resp.resources.iter_mut().find(same) {
            Some(r) => r.acls.push(acl),
            None => {
                let mut r = DescribeAclsResource::default();
                r.resource_type = b.resource_type.code();
                r.resource_name = text(&b.name);
                r.pattern_type = b.pattern.code();
                r.acls = vec![acl];
                resp.resources.push(r);
            }
        }
    }
    resp
}

fn matching_acl(b: &AclBinding) -> DeleteAclsMatchingAcl {
    let mut m = DeleteAclsMatchingAcl::default();
    m.resource_type = b.resource_type.code();
    m.resource_name = text(&b.name);
    m.pattern_type = b.pattern.code();
    m.principal = text(&b.principal);
    m.host = text(&b.host);
    m.operation = b.operation.code();
    m.permission_type = b.permission.code();
    m
}

pub async fn delete(
    scope: &Rc<Scope>,
    ctx: &RequestContext,
    req: DeleteAclsRequest,
) -> DeleteAclsResponse {
    let allowed = Access::of(scope, ctx).allows_cluster(Operation::Alter);
    let parsed: Vec<Result<AclFilter, Refusal>> = req
        .filters
        .iter()
        .map(|f| {
            if !allowed {
                return Err(cluster_refusal(Operation::Alter));
            }
            AclFilter::from_wire(
                f.resource_type_filter,
                f.resource_name_filter.as_deref(),
                f.pattern_type_filter,
                f.principal_filter.as_deref(),
                f.host_filter.as_deref(),
                f.operation,
                f.permission_type,
            )
            .map_err(|e| (ResponseError::InvalidRequest, e.to_string()))
        })
        .collect();
    let valid: Vec<AclFilter> = parsed
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .cloned()
        .collect();
    let deleted = if valid.is_empty() {
        Ok(Vec::new())
    } else {
        on_controller(scope, move |controller| async move {
            controller.delete_acls(valid).await
        })
        .await
    };
    let mut matched = match &deleted {
        Ok(lists) => lists.clone().into_iter(),
        Err(_) => Vec::new().into_iter(),
    };
    let mut resp = DeleteAclsResponse::default();
    resp.filter_results = parsed
        .into_iter()
        .map(|r| {
            let mut out = DeleteAclsFilterResult::default();
            let outcome = r.and_then(|_| match &deleted {
                Ok(_) => Ok(matched.next().unwrap_or_default()),
                Err((code, message)) => Err((*code, message.clone())),
            });
            match outcome {
                Ok(bindings) => out.matching_acls = bindings.iter().map(matching_acl).collect(),
                Err((code, message)) => {
                    out.error_code = code.code();
                    out.error_message = Some(StrBytes::from_string(message));
                }
            }
            out
        })
        .collect();
    resp
}
