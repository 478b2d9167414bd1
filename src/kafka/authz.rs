//! Authorization as the handlers see it: `Access::of(shard, ctx)` once per request, then one call per
//! resource the request touches. With no authorizer configured every call is a branch on `None`; with
//! one, a check is a lookup in the ACL index of the metadata snapshot taken when the request started.
//!
//! Refusals are logged at info in Kafka's authorizer-log style (principal, operation, host, resource,
//! API); resources merely left out of a listing (Metadata for all topics, ListGroups) at debug.

use super::scope::Scope;
use super::RequestContext;
use crate::cluster::metadata::MetadataSnapshot;
use crate::security::acl::{Authorizer, Operation, Requester, ResourceType, CLUSTER_NAME};
use crate::security::Principal;
use std::sync::Arc;
use tracing::{debug, info};

pub struct Access<'a> {
    ctx: &'a RequestContext,
    checker: Option<(&'a Authorizer, Arc<MetadataSnapshot>)>,
}

impl<'a> Access<'a> {
    pub fn of(scope: &'a Scope, ctx: &'a RequestContext) -> Access<'a> {
        Access {
            ctx,
            checker: scope.authorizer.as_ref().map(|a| (a, scope.metadata())),
        }
    }

    /// Whether the authorizer is on (handlers skip building per-resource answers when it is not).
    pub fn enforced(&self) -> bool {
        self.checker.is_some()
    }

    /// May the request perform `op` on `rtype`/`name`? A refusal is logged at info.
    pub fn allows(&self, op: Operation, rtype: ResourceType, name: &str) -> bool {
        self.decide(op, rtype, name, true)
    }

    /// Like `allows`, for filtering a listing: a refusal is only logged at debug.
    pub fn sees(&self, op: Operation, rtype: ResourceType, name: &str) -> bool {
        self.decide(op, rtype, name, false)
    }

    pub fn allows_cluster(&self, op: Operation) -> bool {
        self.allows(op, ResourceType::Cluster, CLUSTER_NAME)
    }

    /// `op` on the cluster or on the resource (CREATE for topics, configs): Kafka tries the cluster
    /// first without logging a refusal, then the resource.
    pub fn allows_on_cluster_or(&self, op: Operation, rtype: ResourceType, name: &str) -> bool {
        self.sees(op, ResourceType::Cluster, CLUSTER_NAME) || self.allows(op, rtype, name)
    }

    /// May the request perform `op` on some resource of `rtype` (e.g. WRITE on any topic)?
    pub fn allows_any(&self, op: Operation, rtype: ResourceType) -> bool {
        let Some((authz, snapshot)) = &self.checker else {
            return true;
        };
        let allowed = self
            .requester()
            .is_some_and(|who| authz.authorize_any(&snapshot.acls, who, op, rtype));
        if !allowed {
            self.log_refusal(op, format_args!("any {}", rtype.display_name()), true);
        }
        allowed
    }

    fn requester(&self) -> Option<Requester<'_>> {
        let principal: &Principal = self.ctx.principal.as_deref()?;
        Some(Requester {
            principal,
            host: self.host(),
        })
    }

    /// The client's address as ACLs name hosts (without the leading `/`).
    fn host(&self) -> &str {
        self.ctx.client_host.trim_start_matches('/')
    }

    fn decide(&self, op: Operation, rtype: ResourceType, name: &str, loud: bool) -> bool {
        let Some((authz, snapshot)) = &self.checker else {
            return true;
        };
        let allowed = self
            .requester()
            .is_some_and(|who| authz.authorize(&snapshot.acls, who, op, rtype, name));
        if !allowed {
            let resource = format_args!("{}:LITERAL:{name}", rtype.display_name());
            self.log_refusal(op, resource, loud);
        }
        allowed
    }

    fn log_refusal(&self, op: Operation, resource: std::fmt::Arguments<'_>, loud: bool) {
        let principal = self.ctx.principal.as_deref().map(ToString::to_string);
        let principal = principal.as_deref().unwrap_or("(unauthenticated)");
        let (host, api) = (self.host(), self.ctx.api_key);
        if loud {
            info!(target: "shardlog::authorizer",
                "Principal = {principal} is Denied operation = {op} from host = {host} on resource = {resource} for request = {api:?}");
        } else {
            debug!(target: "shardlog::authorizer",
                "Principal = {principal} is Denied operation = {op} from host = {host} on resource = {resource} for request = {api:?} (left out)");
        }
    }
}
