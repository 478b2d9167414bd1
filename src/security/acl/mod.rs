//! Authorization with Kafka's ACL model (StandardAuthorizer semantics, KIP-290 prefixed patterns).
//!
//! - `model`: resource types, pattern types, operations, permissions (Kafka's wire codes) and the
//!   stored `AclBinding`.
//! - `filter`: DescribeAcls / DeleteAcls filters (ANY and MATCH patterns).
//! - `authorizer`: the decision (super users, DENY over ALLOW, implied operations, the no-ACL rule)
//!   over an `AclIndex` built with each metadata snapshot.
//!
//! Bindings are persisted in the cluster metadata image and changed only by the controller; the Kafka
//! layer (`kafka::authz`) asks the authorizer per resource and answers *_AUTHORIZATION_FAILED.

pub mod authorizer;
pub mod filter;
pub mod model;

pub use authorizer::{AclIndex, Authorizer, Requester};
pub use filter::{AclFilter, PatternFilter};
pub use model::{AclBinding, Operation, PatternType, Permission, ResourceType, CLUSTER_NAME};

/// Kafka's StandardAuthorizer class name: `authorizer.class.name` set to it turns ours on.
pub const STANDARD_AUTHORIZER: &str = "org.apache.kafka.metadata.authorizer.StandardAuthorizer";
/// The ZooKeeper-era class name, accepted for configs carried over from older Kafka.
pub const LEGACY_AUTHORIZER: &str = "kafka.security.authorizer.AclAuthorizer";

/// `authorizer.class.name`: `Ok(true)` for an authorizer we implement, `Ok(false)` for none (empty).
pub fn authorizer_enabled(class_name: &str) -> Result<bool, String> {
    match class_name.trim() {
        "" => Ok(false),
        STANDARD_AUTHORIZER | LEGACY_AUTHORIZER => Ok(true),
        other => Err(format!(
            "authorizer class '{other}' is not available: shardlog implements Kafka's ACL authorizer \
             ({STANDARD_AUTHORIZER}, or {LEGACY_AUTHORIZER}); leave it empty for no authorization"
        )),
    }
}
