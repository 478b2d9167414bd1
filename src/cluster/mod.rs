//! Cluster state: metadata (brokers, topics, replicas), placement of partitions on nodes and shards, and
//! the controller that changes them.
pub mod controller;
pub mod fencing;
pub mod liveness;
pub mod metadata;
pub mod placement;
pub mod reassignment;
pub mod registration;
pub mod topic_config;
