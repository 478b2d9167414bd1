//! Cluster state: metadata (brokers, topics, replicas), placement of partitions on nodes and shards, and
//! the pure computations the controller (`crate::controller`) applies to it.
pub mod fencing;
pub mod metadata;
pub mod placement;
pub mod reassignment;
pub mod topic_config;
pub mod view;
