//! Cluster state: topic metadata, placement of partitions on shards, and the controller that changes them.
pub mod controller;
pub mod metadata;
pub mod topic_config;
