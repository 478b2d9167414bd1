//! `shardlog acl create|list|delete`: ACL bindings through CreateAcls, DescribeAcls and DeleteAcls, with
//! kafka-acls' options: `--allow-principal`/`--deny-principal`, repeatable `--operation`, one of
//! `--topic`/`--group`/`--cluster`/`--transactional-id`, `--resource-pattern-type` and `--host`.
//! `create` stores every (principal × operation) binding; `list` and `delete` take the same flags as a
//! filter, where anything not given matches everything (and the pattern type defaults to `any`).

use super::error::CliError;
use super::output;
use super::session::Session;
use super::{BrokerArgs, Format};
use crate::client::str_bytes;
use crate::security::acl::{
    AclBinding, Operation, PatternType, Permission, ResourceType, CLUSTER_NAME,
};
use clap::{Args, Subcommand, ValueEnum};
use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::delete_acls_request::DeleteAclsFilter;
use kafka_protocol::messages::{CreateAclsRequest, DeleteAclsRequest, DescribeAclsRequest};
use serde_json::json;

#[derive(Args)]
pub struct AclArgs {
    #[command(flatten)]
    brokers: BrokerArgs,
    /// Output of list and delete.
    #[arg(long, global = true, value_enum, default_value_t)]
    format: Format,
    #[command(subcommand)]
    verb: Verb,
}

#[derive(Subcommand)]
enum Verb {
    /// Add ALLOW and/or DENY bindings on one resource.
    Create(Spec),
    /// ACLs matching the flags (all of them without flags).
    List(Spec),
    /// Delete the ACLs matching the flags.
    Delete(Spec),
}

/// The resource pattern type: how a binding's name applies (create), or which bindings a filter takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum PatternArg {
    /// The exact name (or `*` for every resource of the type).
    Literal,
    /// Every resource whose name starts with the given name.
    Prefixed,
    /// Filters only: every binding that applies to the named resource (literal, `*`, prefixes).
    Match,
    /// Filters only: bindings with exactly this name, literal or prefixed.
    Any,
}

#[derive(Args, Clone, Debug)]
struct Spec {
    /// Principal to allow, `User:name` (or `User:*`). Repeatable.
    #[arg(long)]
    allow_principal: Vec<String>,
    /// Principal to deny, `User:name`. Repeatable.
    #[arg(long)]
    deny_principal: Vec<String>,
    /// Operation (read, write, create, delete, alter, describe, cluster-action, describe-configs,
    /// alter-configs, idempotent-write, all). Repeatable; create defaults to all.
    #[arg(long, value_parser = operation)]
    operation: Vec<Operation>,
    /// A topic name (or prefix, or `*`).
    #[arg(long, group = "resource")]
    topic: Option<String>,
    /// A consumer group id (or prefix, or `*`).
    #[arg(long, group = "resource")]
    group: Option<String>,
    /// The cluster.
    #[arg(long, group = "resource")]
    cluster: bool,
    /// A transactional id (or prefix, or `*`).
    #[arg(long, group = "resource")]
    transactional_id: Option<String>,
    /// literal or prefixed for create (default literal); literal, prefixed, match or any for list and
    /// delete (default any).
    #[arg(long, value_enum)]
    resource_pattern_type: Option<PatternArg>,
    /// Host the binding applies to (create default `*`: any host).
    #[arg(long)]
    host: Option<String>,
}

fn operation(text: &str) -> Result<Operation, String> {
    Operation::parse(text).ok_or_else(|| format!("unknown operation '{text}'"))
}

impl Spec {
    fn resource(&self) -> Option<(ResourceType, String)> {
        if let Some(t) = &self.topic {
            return Some((ResourceType::Topic, t.clone()));
        }
        if let Some(g) = &self.group {
            return Some((ResourceType::Group, g.clone()));
        }
        if let Some(t) = &self.transactional_id {
            return Some((ResourceType::TransactionalId, t.clone()));
        }
        self.cluster
            .then(|| (ResourceType::Cluster, CLUSTER_NAME.to_string()))
    }

    /// (principal, permission) pairs the flags name.
    fn principals(&self) -> Vec<(String, Permission)> {
        let allow = self
            .allow_principal
            .iter()
            .map(|p| (p.clone(), Permission::Allow));
        let deny = self
            .deny_principal
            .iter()
            .map(|p| (p.clone(), Permission::Deny));
        allow.chain(deny).collect()
    }

    /// The bindings `create` stores.
    fn bindings(&self) -> Result<Vec<AclBinding>, CliError> {
        let (resource_type, name) = self.resource().ok_or_else(|| {
            CliError::Usage(
                "name the resource: --topic, --group, --cluster or --transactional-id".into(),
            )
        })?;
        let pattern = match self.resource_pattern_type.unwrap_or(PatternArg::Literal) {
            PatternArg::Literal => PatternType::Literal,
            PatternArg::Prefixed => PatternType::Prefixed,
            other => {
                return Err(CliError::Usage(format!(
                "--resource-pattern-type {other:?} is a filter; create takes literal or prefixed"
            )))
            }
        };
        let principals = self.principals();
        if principals.is_empty() {
            return Err(CliError::Usage(
                "name who: --allow-principal User:NAME and/or --deny-principal User:NAME".into(),
            ));
        }
        let operations = match self.operation.as_slice() {
            [] => vec![Operation::All],
            ops => ops.to_vec(),
        };
        let host = self.host.clone().unwrap_or_else(|| "*".into());
        let mut out = Vec::new();
        for (principal, permission) in principals {
            for &operation in &operations {
                let b = AclBinding {
                    resource_type,
                    name: name.clone(),
                    pattern,
                    principal: principal.clone(),
                    host: host.clone(),
                    operation,
                    permission,
                };
                b.validate().map_err(|e| CliError::Usage(e.to_string()))?;
                out.push(b);
            }
        }
        Ok(out)
    }

    /// Wire filters for `list` / `delete`: one per (principal × operation) given, ANY for the rest.
    fn filters(&self) -> Vec<WireFilter> {
        let (resource_type, name) = match self.resource() {
            Some((t, n)) => (t.code(), Some(n)),
            None => (ANY, None),
        };
        let pattern = match self.resource_pattern_type.unwrap_or(PatternArg::Any) {
            PatternArg::Literal => PatternType::Literal.code(),
            PatternArg::Prefixed => PatternType::Prefixed.code(),
            PatternArg::Match => MATCH,
            PatternArg::Any => ANY,
        };
        let principals: Vec<(Option<String>, i8)> = match self.principals().as_slice() {
            [] => vec![(None, ANY)],
            ps => ps
                .iter()
                .map(|(p, perm)| (Some(p.clone()), perm.code()))
                .collect(),
        };
        let operations: Vec<i8> = match self.operation.as_slice() {
            [] => vec![ANY],
            ops => ops.iter().map(|o| o.code()).collect(),
        };
        let mut out = Vec::new();
        for (principal, permission) in &principals {
            for &operation in &operations {
                out.push(WireFilter {
                    resource_type,
                    name: name.clone(),
                    pattern,
                    principal: principal.clone(),
                    host: self.host.clone(),
                    operation,
                    permission: *permission,
                });
            }
        }
        out
    }
}

/// Kafka's ANY and MATCH codes, for filters.
const ANY: i8 = crate::security::acl::model::CODE_ANY;
const MATCH: i8 = crate::security::acl::model::CODE_MATCH;

/// One ACL filter in wire codes (DescribeAcls takes one per request, DeleteAcls a list).
struct WireFilter {
    resource_type: i8,
    name: Option<String>,
    pattern: i8,
    principal: Option<String>,
    host: Option<String>,
    operation: i8,
    permission: i8,
}

impl WireFilter {
    fn describe_request(&self) -> DescribeAclsRequest {
        let mut req = DescribeAclsRequest::default();
        req.resource_type_filter = self.resource_type;
        req.resource_name_filter = self.name.as_deref().map(str_bytes);
        req.pattern_type_filter = self.pattern;
        req.principal_filter = self.principal.as_deref().map(str_bytes);
        req.host_filter = self.host.as_deref().map(str_bytes);
        req.operation = self.operation;
        req.permission_type = self.permission;
        req
    }

    fn delete_filter(&self) -> DeleteAclsFilter {
        let mut d = DeleteAclsFilter::default();
        d.resource_type_filter = self.resource_type;
        d.resource_name_filter = self.name.as_deref().map(str_bytes);
        d.pattern_type_filter = self.pattern;
        d.principal_filter = self.principal.as_deref().map(str_bytes);
        d.host_filter = self.host.as_deref().map(str_bytes);
        d.operation = self.operation;
        d.permission_type = self.permission;
        d
    }
}

pub fn run(args: AclArgs) -> Result<(), CliError> {
    // Bad flags fail before connecting.
    let creations = match &args.verb {
        Verb::Create(spec) => spec.bindings()?,
        // Like kafka-acls --remove: never "every ACL" by accident.
        Verb::Delete(spec) if spec.resource().is_none() => {
            return Err(CliError::Usage(
                "name the resource to delete ACLs of: --topic, --group, --cluster or \
                 --transactional-id (`--topic '*' --resource-pattern-type any` for every topic ACL)"
                    .into(),
            ))
        }
        Verb::List(_) | Verb::Delete(_) => Vec::new(),
    };
    let mut s = Session::connect(&args.brokers)?;
    match args.verb {
        Verb::Create(_) => create(&mut s, creations),
        Verb::List(spec) => list(&mut s, &spec, args.format),
        Verb::Delete(spec) => delete(&mut s, &spec, args.format),
    }
}

fn create(s: &mut Session, bindings: Vec<AclBinding>) -> Result<(), CliError> {
    let mut req = CreateAclsRequest::default();
    req.creations = bindings
        .iter()
        .map(|b| {
            let mut c = AclCreation::default();
            c.resource_type = b.resource_type.code();
            c.resource_name = str_bytes(&b.name);
            c.resource_pattern_type = b.pattern.code();
            c.principal = str_bytes(&b.principal);
            c.host = str_bytes(&b.host);
            c.operation = b.operation.code();
            c.permission_type = b.permission.code();
            c
        })
        .collect();
    let resp = s.bootstrap().call(&req)?;
    for (r, b) in resp.results.iter().zip(&bindings) {
        CliError::check(r.error_code, || {
            let detail = r.error_message.as_deref().unwrap_or_default();
            format!("creating ACL {b}: {detail}")
        })?;
    }
    for b in &bindings {
        output::line(&format!("created ACL {b}"))?;
    }
    Ok(())
}

/// A binding from the codes a broker answered with; `None` for codes this build does not know.
fn binding_of(
    (resource_type, name, pattern): (i8, &str, i8),
    (principal, host, operation, permission): (&str, &str, i8, i8),
) -> Option<AclBinding> {
    Some(AclBinding {
        resource_type: ResourceType::from_code(resource_type)?,
        name: name.to_string(),
        pattern: PatternType::from_code(pattern)?,
        principal: principal.to_string(),
        host: host.to_string(),
        operation: Operation::from_code(operation)?,
        permission: Permission::from_code(permission)?,
    })
}

fn list(s: &mut Session, spec: &Spec, format: Format) -> Result<(), CliError> {
    let mut found = Vec::new();
    for f in spec.filters() {
        let resp = s.bootstrap().call(&f.describe_request())?;
        CliError::check(resp.error_code, || {
            let detail = resp.error_message.as_deref().unwrap_or_default();
            format!("listing ACLs: {detail}")
        })?;
        for r in &resp.resources {
            for a in &r.acls {
                let b = binding_of(
                    (r.resource_type, &r.resource_name, r.pattern_type),
                    (&a.principal, &a.host, a.operation, a.permission_type),
                );
                if let Some(b) = b.filter(|b| !found.contains(b)) {
                    found.push(b);
                }
            }
        }
    }
    print(&found, format)
}

fn delete(s: &mut Session, spec: &Spec, format: Format) -> Result<(), CliError> {
    let mut req = DeleteAclsRequest::default();
    req.filters = spec
        .filters()
        .iter()
        .map(WireFilter::delete_filter)
        .collect();
    let resp = s.bootstrap().call(&req)?;
    let mut deleted = Vec::new();
    for r in &resp.filter_results {
        CliError::check(r.error_code, || {
            let detail = r.error_message.as_deref().unwrap_or_default();
            format!("deleting ACLs: {detail}")
        })?;
        for m in &r.matching_acls {
            let b = binding_of(
                (m.resource_type, &m.resource_name, m.pattern_type),
                (&m.principal, &m.host, m.operation, m.permission_type),
            );
            if let Some(b) = b.filter(|b| !deleted.contains(b)) {
                deleted.push(b);
            }
        }
    }
    if deleted.is_empty() {
        return Err(CliError::NotFound(
            "no ACL matched — `shardlog acl list` shows the ACLs there are".into(),
        ));
    }
    print(&deleted, format)
}

fn print(bindings: &[AclBinding], format: Format) -> Result<(), CliError> {
    match format {
        Format::Json => output::json(&json!(bindings
            .iter()
            .map(|b| json!({
                "resource_type": b.resource_type.name(),
                "name": b.name,
                "pattern_type": b.pattern.name(),
                "principal": b.principal,
                "host": b.host,
                "operation": b.operation.name(),
                "permission": b.permission.name(),
            }))
            .collect::<Vec<_>>())),
        Format::Table => {
            let rows: Vec<Vec<String>> = bindings
                .iter()
                .map(|b| {
                    vec![
                        b.resource_type.name().to_string(),
                        b.name.clone(),
                        b.pattern.name().to_string(),
                        b.principal.clone(),
                        b.host.clone(),
                        b.operation.name().to_string(),
                        b.permission.name().to_string(),
                    ]
                })
                .collect();
            output::table(
                &[
                    "RESOURCE",
                    "NAME",
                    "PATTERN",
                    "PRINCIPAL",
                    "HOST",
                    "OPERATION",
                    "PERMISSION",
                ],
                &rows,
            )
        }
    }
}
