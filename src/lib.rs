//! shardlog: a Kafka-compatible streaming broker, thread-per-core on io_uring.
//!
//! # Layout
//! | module      | role |
//! |-------------|------|
//! | `config`    | every broker setting with its default, in one place |
//! | `runtime`   | shards: one glommio executor per core, the cross-shard mesh, waiters |
//! | `net`       | listeners, connections, framing, in-order responses, zero-copy send |
//! | `kafka`     | the Kafka API surface: one file per API, one registry of versions |
//! | `coordinator` | consumer groups: classic rebalance protocol, committed offsets in `__consumer_offsets` |
//! | `storage`   | partition logs: batches, segments, indexes, recovery, retention, producer state |
//! | `cluster`   | metadata (brokers, topics, replicas), partition placement on nodes and shards, the controller |
//! | `quorum`    | the Raft metadata quorum (TiKV `raft`): disk log, transport between voters, the Ready loop |
//! | `replication` | followers fetching from leaders, the high watermark, ISR shrink and expand |
//! | `client`    | a small blocking Kafka client shared by `loadgen` and `cli` (not used by `serve`) |
//! | `loadgen`   | `shardlog bench`: a Kafka-protocol load generator for any broker (not used by `serve`) |
//! | `tune`      | `shardlog tune check`: this machine's Linux settings against tuning/README.md |
//! | `security`  | listeners and security protocols, SASL (PLAIN, SCRAM) authentication, SCRAM credentials |
//! | `metrics`   | per-shard and per-partition counters (relaxed atomics), Prometheus text, the admin HTTP endpoint |
//! | `cli`       | the operator CLI: `shardlog topic|produce|consume|group|cluster ...` against any broker |
//!
//! See ARCHITECTURE.md for how a request travels through these.

pub mod broker;
pub mod cli;
pub mod client;
pub mod cluster;
pub mod config;
pub mod controller;
pub mod coordinator;
pub mod kafka;
pub mod loadgen;
pub mod metrics;
pub mod net;
pub mod quorum;
pub mod replication;
pub mod runtime;
pub mod security;
pub mod storage;
pub mod tune;
pub mod types;

/// Huge allocations become lazy mappings so a hostile array length cannot abort the process
/// (see `runtime::allocator`).
#[global_allocator]
static ALLOCATOR: runtime::allocator::Allocator = runtime::allocator::Allocator;
