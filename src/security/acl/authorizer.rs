//! The authorization decision, Kafka's StandardAuthorizer rules:
//!
//! 1. a super user (`super.users`) may do anything;
//! 2. the ACLs that apply to a resource are those whose pattern matches its name — the literal name,
//!    the literal wildcard `*`, and every prefixed pattern the name starts with — whoever they name;
//! 3. among those naming the principal (or `User:*`) and the host (or `*`), a DENY for the operation
//!    (or ALL) refuses, whatever ALLOWs exist;
//! 4. otherwise an ALLOW for the operation, ALL, or an operation implying it (`Operation::allows`) grants;
//! 5. if no ACL applies to the resource at all, `allow.everyone.if.no.acl.found` decides.
//!
//! `AclIndex` is built once per metadata snapshot: per resource type, literal patterns in a map by name
//! and prefixed patterns in a short list, so a check is two hash lookups plus a scan of that type's
//! prefixes, and allocates nothing.

use super::model::{AclBinding, Operation, Permission, ResourceType, WILDCARD, WILDCARD_PRINCIPAL};
use crate::security::Principal;
use std::collections::HashMap;

/// The part of an ACL that is checked once its resource pattern matched.
#[derive(Debug)]
struct Entry {
    principal: String,
    host: String,
    operation: Operation,
    permission: Permission,
}

impl Entry {
    fn applies_to(&self, principal: &Principal, host: &str) -> bool {
        principal_matches(&self.principal, principal)
            && (self.host == WILDCARD || self.host == host)
    }
}

/// Whether `Type:name` is exactly this principal, compared without building its string.
fn names(text: &str, p: &Principal) -> bool {
    text.strip_prefix(p.kind)
        .and_then(|rest| rest.strip_prefix(':'))
        .is_some_and(|name| name == p.name)
}

/// An ACL's principal against the requester's; `User:*` matches every user.
fn principal_matches(acl: &str, p: &Principal) -> bool {
    (p.kind == "User" && acl == WILDCARD_PRINCIPAL) || names(acl, p)
}

#[derive(Debug, Default)]
struct TypeIndex {
    literal: HashMap<String, Vec<Entry>>,
    prefixed: Vec<(String, Entry)>,
}

impl TypeIndex {
    /// Every entry whose pattern matches `name`.
    fn matching<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Entry> + 'a {
        let exact = self.literal.get(name).into_iter().flatten();
        let wildcard = (name != WILDCARD)
            .then(|| self.literal.get(WILDCARD))
            .flatten()
            .into_iter()
            .flatten();
        let prefixed = self
            .prefixed
            .iter()
            .filter(move |(prefix, _)| name.starts_with(prefix.as_str()))
            .map(|(_, e)| e);
        exact.chain(wildcard).chain(prefixed)
    }

    fn is_empty(&self) -> bool {
        self.literal.is_empty() && self.prefixed.is_empty()
    }

    fn all(&self) -> impl Iterator<Item = &Entry> {
        self.literal
            .values()
            .flatten()
            .chain(self.prefixed.iter().map(|(_, e)| e))
    }
}

/// The stored bindings, indexed for checks. Part of every metadata snapshot.
#[derive(Debug, Default)]
pub struct AclIndex {
    by_type: HashMap<ResourceType, TypeIndex>,
}

impl AclIndex {
    pub fn new<'a>(bindings: impl IntoIterator<Item = &'a AclBinding>) -> AclIndex {
        let mut index = AclIndex::default();
        for b in bindings {
            let entry = Entry {
                principal: b.principal.clone(),
                host: b.host.clone(),
                operation: b.operation,
                permission: b.permission,
            };
            let t = index.by_type.entry(b.resource_type).or_default();
            match b.pattern {
                super::PatternType::Literal => {
                    t.literal.entry(b.name.clone()).or_default().push(entry)
                }
                super::PatternType::Prefixed => t.prefixed.push((b.name.clone(), entry)),
            }
        }
        index
    }
}

/// What a check needs to know about the request.
#[derive(Clone, Copy, Debug)]
pub struct Requester<'a> {
    pub principal: &'a Principal,
    /// The client's IP address as text (no leading `/`).
    pub host: &'a str,
}

/// The authorizer's settings (`super.users`, `allow.everyone.if.no.acl.found`); the ACLs come with
/// each check, from the metadata snapshot of the moment.
#[derive(Clone, Debug, Default)]
pub struct Authorizer {
    super_users: Vec<String>,
    allow_if_no_acl: bool,
}

impl Authorizer {
    /// `super_users`: `User:a;User:b` as Kafka writes it (blanks around names ignored).
    pub fn new(super_users: &str, allow_if_no_acl: bool) -> Authorizer {
        Authorizer {
            super_users: super_users
                .split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            allow_if_no_acl,
        }
    }

    /// Super users are listed by exact principal (Kafka has no wildcard here).
    fn is_super(&self, p: &Principal) -> bool {
        self.super_users.iter().any(|s| names(s, p))
    }

    /// May `who` perform `op` on the resource `rtype`/`name`?
    pub fn authorize(
        &self,
        acls: &AclIndex,
        who: Requester<'_>,
        op: Operation,
        rtype: ResourceType,
        name: &str,
    ) -> bool {
        if self.is_super(who.principal) {
            return true;
        }
        let Some(index) = acls.by_type.get(&rtype) else {
            return self.allow_if_no_acl;
        };
        let mut found = false;
        let mut allowed = false;
        for e in index.matching(name) {
            found = true;
            if !e.applies_to(who.principal, who.host) {
                continue;
            }
            match e.permission {
                Permission::Deny if e.operation == op || e.operation == Operation::All => {
                    return false
                }
                Permission::Deny => {}
                Permission::Allow => allowed |= e.operation.allows(op),
            }
        }
        allowed || (!found && self.allow_if_no_acl)
    }

    /// May `who` perform `op` on *some* resource of `rtype` (Kafka's `authorizeByResourceType`, used for
    /// "WRITE on any topic" by InitProducerId)? Yes if an ALLOW names the principal for it, unless a DENY
    /// of it on the wildcard `*` covers every such resource; with no ACLs of that type,
    /// `allow.everyone.if.no.acl.found` decides.
    pub fn authorize_any(
        &self,
        acls: &AclIndex,
        who: Requester<'_>,
        op: Operation,
        rtype: ResourceType,
    ) -> bool {
        if self.is_super(who.principal) {
            return true;
        }
        let Some(index) = acls.by_type.get(&rtype).filter(|i| !i.is_empty()) else {
            return self.allow_if_no_acl;
        };
        let denied_everywhere = index.literal.get(WILDCARD).into_iter().flatten().any(|e| {
            e.permission == Permission::Deny
                && (e.operation == op || e.operation == Operation::All)
                && e.applies_to(who.principal, who.host)
        });
        !denied_everywhere
            && index.all().any(|e| {
                e.permission == Permission::Allow
                    && e.operation.allows(op)
                    && e.applies_to(who.principal, who.host)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::super::model::PatternType;
    use super::*;
    use Operation::*;
    use ResourceType::*;

    fn acl(
        rtype: ResourceType,
        pattern: PatternType,
        name: &str,
        principal: &str,
        op: Operation,
        perm: Permission,
    ) -> AclBinding {
        AclBinding {
            resource_type: rtype,
            name: name.into(),
            pattern,
            principal: principal.into(),
            host: "*".into(),
            operation: op,
            permission: perm,
        }
    }

    fn check(
        authz: &Authorizer,
        acls: &[AclBinding],
        user: &str,
        op: Operation,
        t: ResourceType,
        name: &str,
    ) -> bool {
        let p = Principal::user(user);
        let who = Requester {
            principal: &p,
            host: "10.0.0.1",
        };
        authz.authorize(&AclIndex::new(acls), who, op, t, name)
    }

    #[test]
    fn super_users_bypass_and_no_acl_follows_the_setting() {
        let strict = Authorizer::new("User:admin; User:ops", false);
        let open = Authorizer::new("", true);
        assert!(check(&strict, &[], "admin", Write, Topic, "t"));
        assert!(check(&strict, &[], "ops", Alter, Cluster, "kafka-cluster"));
        assert!(!check(&strict, &[], "alice", Describe, Topic, "t"));
        assert!(check(&open, &[], "alice", Write, Topic, "t"));
        // An ACL on the resource for someone else means "found": allow.everyone no longer applies.
        let bobs = [acl(
            Topic,
            PatternType::Literal,
            "t",
            "User:bob",
            Read,
            Permission::Allow,
        )];
        assert!(!check(&open, &bobs, "alice", Read, Topic, "t"));
        assert!(check(&open, &bobs, "alice", Read, Topic, "u"));
        // A super user is matched by name, not by a prefix of it.
        assert!(!check(&strict, &[], "admin2", Write, Topic, "t"));
    }

    #[test]
    fn prefixed_literal_and_wildcard_patterns() {
        let a = Authorizer::new("", false);
        let acls = [
            acl(
                Topic,
                PatternType::Prefixed,
                "orders-",
                "User:alice",
                Write,
                Permission::Allow,
            ),
            acl(
                Topic,
                PatternType::Literal,
                "logs",
                "User:*",
                Read,
                Permission::Allow,
            ),
            acl(
                Group,
                PatternType::Literal,
                "*",
                "User:alice",
                Read,
                Permission::Allow,
            ),
        ];
        assert!(check(&a, &acls, "alice", Write, Topic, "orders-1"));
        assert!(check(&a, &acls, "alice", Write, Topic, "orders-"));
        assert!(!check(&a, &acls, "alice", Write, Topic, "orders"));
        assert!(!check(&a, &acls, "alice", Write, Topic, "other"));
        assert!(!check(&a, &acls, "bob", Write, Topic, "orders-1"));
        assert!(check(&a, &acls, "bob", Read, Topic, "logs"));
        assert!(!check(&a, &acls, "bob", Read, Topic, "logs2"));
        assert!(check(&a, &acls, "alice", Read, Group, "any-group"));
        assert!(!check(&a, &acls, "bob", Read, Group, "any-group"));
        assert!(
            !check(&a, &acls, "alice", Read, Topic, "orders-1"),
            "WRITE does not imply READ"
        );
        assert!(
            check(&a, &acls, "alice", Describe, Topic, "orders-1"),
            "WRITE implies DESCRIBE"
        );
    }

    #[test]
    fn deny_beats_allow_but_does_not_imply() {
        let a = Authorizer::new("", true);
        let acls = [
            acl(
                Topic,
                PatternType::Prefixed,
                "orders-",
                "User:alice",
                All,
                Permission::Allow,
            ),
            acl(
                Topic,
                PatternType::Literal,
                "orders-secret",
                "User:alice",
                Read,
                Permission::Deny,
            ),
            acl(
                Topic,
                PatternType::Literal,
                "orders-gone",
                "User:*",
                All,
                Permission::Deny,
            ),
        ];
        assert!(check(&a, &acls, "alice", Read, Topic, "orders-1"));
        assert!(!check(&a, &acls, "alice", Read, Topic, "orders-secret"));
        assert!(
            check(&a, &acls, "alice", Describe, Topic, "orders-secret"),
            "DENY READ leaves DESCRIBE"
        );
        assert!(check(&a, &acls, "alice", Write, Topic, "orders-secret"));
        assert!(
            !check(&a, &acls, "alice", Describe, Topic, "orders-gone"),
            "DENY ALL denies everything"
        );
    }

    #[test]
    fn hosts_must_match() {
        let a = Authorizer::new("", false);
        let mut only_there = acl(
            Topic,
            PatternType::Literal,
            "t",
            "User:alice",
            Read,
            Permission::Allow,
        );
        only_there.host = "10.0.0.2".into();
        assert!(!check(&a, &[only_there.clone()], "alice", Read, Topic, "t"));
        only_there.host = "10.0.0.1".into();
        assert!(check(&a, &[only_there], "alice", Read, Topic, "t"));
    }

    #[test]
    fn any_resource_checks_for_idempotent_producers() {
        let a = Authorizer::new("", false);
        let p = Principal::user("alice");
        let who = Requester {
            principal: &p,
            host: "h",
        };
        let allow = acl(
            Topic,
            PatternType::Prefixed,
            "orders-",
            "User:alice",
            Write,
            Permission::Allow,
        );
        let index = AclIndex::new([&allow]);
        assert!(a.authorize_any(&index, who, Write, Topic));
        assert!(!a.authorize_any(&index, who, Read, Topic));
        let deny_all = acl(
            Topic,
            PatternType::Literal,
            "*",
            "User:alice",
            Write,
            Permission::Deny,
        );
        assert!(!a.authorize_any(&AclIndex::new([&allow, &deny_all]), who, Write, Topic));
        assert!(!a.authorize_any(&AclIndex::default(), who, Write, Topic));
    }

    /// Property-style: for random ACL sets, a DENY that applies always wins, and adding an unrelated
    /// principal's ACL never grants anything.
    #[test]
    fn random_acl_sets_keep_deny_precedence() {
        let a = Authorizer::new("", false);
        let mut seed = 0x2545F4914F6CDD1Du64;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let names = ["a", "ab", "abc", "b", "*"];
        let users = ["User:alice", "User:bob", "User:*"];
        for _ in 0..2000 {
            let acls: Vec<AclBinding> = (0..next(6))
                .map(|_| {
                    let pattern = if next(2) == 0 {
                        PatternType::Literal
                    } else {
                        PatternType::Prefixed
                    };
                    let op = Operation::ALL[next(Operation::ALL.len())];
                    let perm = if next(3) == 0 {
                        Permission::Deny
                    } else {
                        Permission::Allow
                    };
                    acl(
                        Topic,
                        pattern,
                        names[next(names.len())],
                        users[next(users.len())],
                        op,
                        perm,
                    )
                })
                .collect();
            let name = ["a", "abc", "b", "zz"][next(4)];
            let op = Operation::ALL[next(Operation::ALL.len())];
            let applies_deny = acls.iter().any(|b| {
                b.permission == Permission::Deny
                    && (b.operation == op || b.operation == All)
                    && b.principal != "User:bob"
                    && match b.pattern {
                        PatternType::Literal => b.name == name || b.name == "*",
                        PatternType::Prefixed => name.starts_with(&b.name),
                    }
            });
            let granted = check(&a, &acls, "alice", op, Topic, name);
            if applies_deny {
                assert!(!granted, "deny ignored: {acls:?} {op} {name}");
            }
            let mut more = acls.clone();
            more.push(acl(
                Topic,
                PatternType::Literal,
                name,
                "User:bob",
                op,
                Permission::Allow,
            ));
            assert_eq!(check(&a, &more, "alice", op, Topic, name), granted);
        }
    }
}
