//! DescribeAcls / DeleteAcls filters, as Kafka defines `AclBindingFilter`: every field may be "any"
//! (`None`), and the pattern filter adds ANY (either pattern type, exact name) and MATCH (every stored
//! pattern that would apply to the named resource: the literal name, the `*` wildcard, and prefixes).

use super::model::{
    AclBinding, Operation, PatternType, Permission, ResourceType, CODE_ANY, CODE_MATCH, WILDCARD,
};
use thiserror::Error;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatternFilter {
    Any,
    Match,
    Exact(PatternType),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AclFilter {
    pub resource_type: Option<ResourceType>,
    pub name: Option<String>,
    pub pattern: PatternFilter,
    pub principal: Option<String>,
    pub host: Option<String>,
    pub operation: Option<Operation>,
    pub permission: Option<Permission>,
}

#[derive(Debug, Error, PartialEq, Eq)]
#[error("invalid ACL filter: unknown {field} code {code}")]
pub struct InvalidFilter {
    pub field: &'static str,
    pub code: i8,
}

/// `None` for ANY, the value for a concrete code, an error for UNKNOWN or out-of-range codes.
fn any_or<T>(
    code: i8,
    field: &'static str,
    from: fn(i8) -> Option<T>,
) -> Result<Option<T>, InvalidFilter> {
    if code == CODE_ANY {
        return Ok(None);
    }
    from(code).map(Some).ok_or(InvalidFilter { field, code })
}

impl AclFilter {
    /// A filter from the wire fields of DescribeAcls / DeleteAcls.
    pub fn from_wire(
        resource_type: i8,
        name: Option<&str>,
        pattern: i8,
        principal: Option<&str>,
        host: Option<&str>,
        operation: i8,
        permission: i8,
    ) -> Result<AclFilter, InvalidFilter> {
        let pattern = match pattern {
            CODE_ANY => PatternFilter::Any,
            CODE_MATCH => PatternFilter::Match,
            code => PatternFilter::Exact(PatternType::from_code(code).ok_or(InvalidFilter {
                field: "pattern type",
                code,
            })?),
        };
        Ok(AclFilter {
            resource_type: any_or(resource_type, "resource type", ResourceType::from_code)?,
            name: name.map(str::to_string),
            pattern,
            principal: principal.map(str::to_string),
            host: host.map(str::to_string),
            operation: any_or(operation, "operation", Operation::from_code)?,
            permission: any_or(permission, "permission type", Permission::from_code)?,
        })
    }

    pub fn matches(&self, b: &AclBinding) -> bool {
        self.resource_type.is_none_or(|t| t == b.resource_type)
            && self.matches_pattern(b)
            && self.principal.as_ref().is_none_or(|p| *p == b.principal)
            && self.host.as_ref().is_none_or(|h| *h == b.host)
            && self.operation.is_none_or(|o| o == b.operation)
            && self.permission.is_none_or(|p| p == b.permission)
    }

    fn matches_pattern(&self, b: &AclBinding) -> bool {
        match (self.pattern, &self.name) {
            (PatternFilter::Exact(p), _) if p != b.pattern => false,
            (_, None) => true,
            (PatternFilter::Any | PatternFilter::Exact(_), Some(name)) => *name == b.name,
            (PatternFilter::Match, Some(name)) => match b.pattern {
                PatternType::Literal => b.name == *name || b.name == WILDCARD,
                PatternType::Prefixed => name.starts_with(&b.name),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(pattern: PatternType, name: &str) -> AclBinding {
        AclBinding {
            resource_type: ResourceType::Topic,
            name: name.into(),
            pattern,
            principal: "User:alice".into(),
            host: "*".into(),
            operation: Operation::Read,
            permission: Permission::Allow,
        }
    }

    fn filter(pattern: PatternFilter, name: Option<&str>) -> AclFilter {
        AclFilter {
            resource_type: Some(ResourceType::Topic),
            name: name.map(Into::into),
            pattern,
            principal: None,
            host: None,
            operation: None,
            permission: None,
        }
    }

    #[test]
    fn pattern_filters_follow_kafka() {
        use PatternType::*;
        let stored = [
            binding(Literal, "orders-1"),
            binding(Literal, "*"),
            binding(Prefixed, "orders-"),
            binding(Prefixed, "other"),
        ];
        let hits = |f: AclFilter| -> Vec<usize> {
            stored
                .iter()
                .enumerate()
                .filter(|(_, b)| f.matches(b))
                .map(|(i, _)| i)
                .collect()
        };
        assert_eq!(hits(filter(PatternFilter::Any, None)), vec![0, 1, 2, 3]);
        assert_eq!(hits(filter(PatternFilter::Any, Some("orders-"))), vec![2]);
        assert_eq!(
            hits(filter(PatternFilter::Exact(Literal), None)),
            vec![0, 1]
        );
        assert_eq!(
            hits(filter(PatternFilter::Exact(Prefixed), Some("orders-1"))),
            Vec::<usize>::new()
        );
        assert_eq!(
            hits(filter(PatternFilter::Match, Some("orders-1"))),
            vec![0, 1, 2]
        );
        assert_eq!(
            hits(filter(PatternFilter::Match, Some("other-x"))),
            vec![1, 3]
        );
        let mut group = filter(PatternFilter::Any, None);
        group.resource_type = Some(ResourceType::Group);
        assert!(hits(group).is_empty());
    }

    #[test]
    fn entry_fields_filter_and_wire_codes_are_checked() {
        let b = binding(PatternType::Literal, "t");
        let f = AclFilter::from_wire(1, None, 1, Some("User:alice"), Some("*"), 3, 3).unwrap();
        assert!(f.matches(&b));
        let f = AclFilter::from_wire(2, Some("t"), 3, Some("User:bob"), None, 1, 1).unwrap();
        assert!(!f.matches(&b));
        let f = AclFilter::from_wire(1, None, 1, None, None, 4, 1).unwrap();
        assert!(!f.matches(&b));
        assert!(AclFilter::from_wire(0, None, 1, None, None, 1, 1).is_err());
        assert!(AclFilter::from_wire(1, None, 5, None, None, 1, 1).is_err());
        assert!(AclFilter::from_wire(1, None, 1, None, None, 99, 1).is_err());
        assert!(AclFilter::from_wire(1, None, 1, None, None, 1, 0).is_err());
    }
}
