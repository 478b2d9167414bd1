//! Kafka's ACL vocabulary: resource types, pattern types, operations and permissions with their wire
//! codes (the values of `org.apache.kafka.common.acl` / `common.resource`), and `AclBinding`, one stored
//! rule. Only concrete values are stored; the filter-only values (ANY, MATCH) live in `filter.rs`.

use rkyv::{Archive, Deserialize, Serialize};
use std::fmt;

/// Wire codes Kafka reserves in every ACL enum: 0 UNKNOWN, 1 ANY (filters only).
pub const CODE_ANY: i8 = 1;
/// PatternType MATCH (filters only): literal, wildcard and prefixed patterns that match a name.
pub const CODE_MATCH: i8 = 2;

macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $code:literal, $text:literal;)+ }) => {
        $(#[$doc])*
        #[derive(Archive, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            pub fn code(self) -> i8 {
                match self {
                    $($name::$variant => $code,)+
                }
            }

            /// `None` for UNKNOWN, ANY, MATCH and anything out of range.
            pub fn from_code(code: i8) -> Option<$name> {
                match code {
                    $($code => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// Kafka's upper-case name (`TRANSACTIONAL_ID`, `DESCRIBE_CONFIGS`).
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// Case-insensitive; `-` and `_` are interchangeable (`describe-configs`).
            pub fn parse(text: &str) -> Option<$name> {
                let wanted = text.replace('-', "_");
                $name::ALL.iter().copied().find(|v| v.name().eq_ignore_ascii_case(&wanted))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

wire_enum!(
    /// What an ACL protects.
    ResourceType {
        Topic = 2, "TOPIC";
        Group = 3, "GROUP";
        Cluster = 4, "CLUSTER";
        TransactionalId = 5, "TRANSACTIONAL_ID";
        DelegationToken = 6, "DELEGATION_TOKEN";
        User = 7, "USER";
    }
);

wire_enum!(
    /// How an ACL's resource name is matched (KIP-290).
    PatternType {
        Literal = 3, "LITERAL";
        Prefixed = 4, "PREFIXED";
    }
);

wire_enum!(
    /// What a request wants to do to a resource.
    Operation {
        All = 2, "ALL";
        Read = 3, "READ";
        Write = 4, "WRITE";
        Create = 5, "CREATE";
        Delete = 6, "DELETE";
        Alter = 7, "ALTER";
        Describe = 8, "DESCRIBE";
        ClusterAction = 9, "CLUSTER_ACTION";
        DescribeConfigs = 10, "DESCRIBE_CONFIGS";
        AlterConfigs = 11, "ALTER_CONFIGS";
        IdempotentWrite = 12, "IDEMPOTENT_WRITE";
        CreateTokens = 13, "CREATE_TOKENS";
        DescribeTokens = 14, "DESCRIBE_TOKENS";
    }
);

wire_enum!(
    /// Whether a matching ACL grants or refuses.
    Permission {
        Deny = 2, "DENY";
        Allow = 3, "ALLOW";
    }
);

impl ResourceType {
    /// Kafka's display name in authorizer logs and kafka-acls output (`Topic`, `TransactionalId`).
    pub fn display_name(self) -> &'static str {
        match self {
            ResourceType::Topic => "Topic",
            ResourceType::Group => "Group",
            ResourceType::Cluster => "Cluster",
            ResourceType::TransactionalId => "TransactionalId",
            ResourceType::DelegationToken => "DelegationToken",
            ResourceType::User => "User",
        }
    }
}

impl Operation {
    /// Whether an ALLOW for `self` also allows `wanted`: ALL allows everything; READ, WRITE, DELETE and
    /// ALTER imply DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS (Kafka's implied operations). DENY
    /// rules do not imply: a DENY READ leaves DESCRIBE alone.
    pub fn allows(self, wanted: Operation) -> bool {
        use Operation::*;
        self == All
            || self == wanted
            || (wanted == Describe && matches!(self, Read | Write | Delete | Alter))
            || (wanted == DescribeConfigs && self == AlterConfigs)
    }
}

/// The only name a CLUSTER resource has.
pub const CLUSTER_NAME: &str = "kafka-cluster";
/// The literal resource name that matches every resource of its type.
pub const WILDCARD: &str = "*";
/// The principal name that matches every principal of its type (`User:*`).
pub const WILDCARD_PRINCIPAL: &str = "User:*";

/// One stored rule: `principal` is `permission`ed `operation` on resources of `resource_type` whose name
/// matches `name` under `pattern`, from `host` (`*` for any).
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash)]
pub struct AclBinding {
    pub resource_type: ResourceType,
    pub name: String,
    pub pattern: PatternType,
    /// `Type:name`, e.g. `User:alice`, or `User:*`.
    pub principal: String,
    pub host: String,
    pub operation: Operation,
    pub permission: Permission,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidAcl {
    #[error("resource name is empty")]
    EmptyName,
    #[error("a CLUSTER ACL's resource name must be '{CLUSTER_NAME}', not '{0}'")]
    ClusterName(String),
    #[error("principal '{0}' is not of the form Type:name (e.g. User:alice)")]
    Principal(String),
    #[error("host is empty (use '*' for any host)")]
    EmptyHost,
}

impl AclBinding {
    /// Kafka's rules for a binding CreateAcls may store.
    pub fn validate(&self) -> Result<(), InvalidAcl> {
        if self.name.is_empty() {
            return Err(InvalidAcl::EmptyName);
        }
        if self.resource_type == ResourceType::Cluster && self.name != CLUSTER_NAME {
            return Err(InvalidAcl::ClusterName(self.name.clone()));
        }
        match self.principal.split_once(':') {
            Some((kind, name)) if !kind.is_empty() && !name.is_empty() => {}
            _ => return Err(InvalidAcl::Principal(self.principal.clone())),
        }
        if self.host.is_empty() {
            return Err(InvalidAcl::EmptyHost);
        }
        Ok(())
    }
}

impl fmt::Display for AclBinding {
    /// kafka-acls style: `(principal=User:alice, host=*, operation=READ, permissionType=ALLOW) on
    /// Topic:PREFIXED:orders-`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "(principal={}, host={}, operation={}, permissionType={}) on {}:{}:{}",
            self.principal,
            self.host,
            self.operation,
            self.permission,
            self.resource_type.display_name(),
            self.pattern,
            self.name
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_reserved_codes_are_refused() {
        for &op in Operation::ALL {
            assert_eq!(Operation::from_code(op.code()), Some(op));
            assert_eq!(Operation::parse(op.name()), Some(op));
        }
        // 2 is ALL for operations but MATCH for pattern types (a filter value, never stored).
        for code in [0, CODE_ANY, 15, -1] {
            assert_eq!(Operation::from_code(code), None);
        }
        assert_eq!(PatternType::from_code(CODE_MATCH), None);
        assert_eq!(ResourceType::from_code(CODE_ANY), None);
        assert_eq!(
            ResourceType::parse("transactional-id"),
            Some(ResourceType::TransactionalId)
        );
        assert_eq!(
            Operation::parse("describe-configs"),
            Some(Operation::DescribeConfigs)
        );
    }

    #[test]
    fn implied_operations_follow_kafka() {
        use Operation::*;
        for &op in Operation::ALL {
            assert!(All.allows(op));
            assert!(op.allows(op));
        }
        for op in [Read, Write, Delete, Alter] {
            assert!(op.allows(Describe));
        }
        assert!(AlterConfigs.allows(DescribeConfigs));
        assert!(!Describe.allows(Read));
        assert!(!Create.allows(Describe));
        assert!(!DescribeConfigs.allows(AlterConfigs));
        assert!(!Read.allows(Write));
    }

    #[test]
    fn validation_rejects_what_kafka_rejects() {
        let ok = AclBinding {
            resource_type: ResourceType::Cluster,
            name: CLUSTER_NAME.into(),
            pattern: PatternType::Literal,
            principal: "User:alice".into(),
            host: "*".into(),
            operation: Operation::Alter,
            permission: Permission::Allow,
        };
        assert_eq!(ok.validate(), Ok(()));
        let bad = |f: fn(&mut AclBinding)| {
            let mut b = ok.clone();
            f(&mut b);
            b.validate()
        };
        assert!(matches!(
            bad(|b| b.name = "x".into()),
            Err(InvalidAcl::ClusterName(_))
        ));
        assert!(matches!(
            bad(|b| b.principal = "alice".into()),
            Err(InvalidAcl::Principal(_))
        ));
        assert!(matches!(
            bad(|b| b.principal = "User:".into()),
            Err(InvalidAcl::Principal(_))
        ));
        assert_eq!(bad(|b| b.host = String::new()), Err(InvalidAcl::EmptyHost));
        assert_eq!(
            bad(|b| {
                b.resource_type = ResourceType::Topic;
                b.name = String::new()
            }),
            Err(InvalidAcl::EmptyName)
        );
    }
}
