//! shardlog: a Kafka-compatible streaming broker, thread-per-core on io_uring.
//!
//! # Layout
//! Bottom to top: a module imports only the modules above it in this table (`tests/it/layering.rs`).
//!
//! | module      | role |
//! |-------------|------|
//! | `types`     | plain types: offset watches and signals, replica sets, process roles, voters, TLS path |
//! | `security`  | listeners and security protocols, SASL (PLAIN, SCRAM), SCRAM credentials, ACLs |
//! | `config`    | every broker setting with its default, in one place |
//! | `metrics`   | per-shard and per-partition counters (relaxed atomics), Prometheus text, the admin HTTP endpoint |
//! | `storage`   | partition logs: batches, segments, indexes, recovery, retention, producer state |
//! | `client`    | a small blocking Kafka client (replication's links, `loadgen`, `cli`) |
//! | `cluster`   | metadata images and snapshots (brokers, topics, replicas), placement on nodes and shards |
//! | `runtime`   | the mesh between shards and its sharded services, the partition table, the router |
//! | `quorum`    | the Raft metadata quorum (TiKV `raft`): disk log, transport between voters, the Ready loop |
//! | `replication` | followers fetching from leaders and truncating divergent tails |
//! | `coordinator` | consumer groups (classic and KIP-848 protocols, committed offsets in `__consumer_offsets`) and transactions (`__transaction_state`) |
//! | `controller` | the only writer of metadata; ISR changes, broker registration and liveness |
//! | `kafka`     | the Kafka API surface: one file per API, one registry of versions, the request scope |
//! | `net`       | listeners, connections, framing, in-order responses, zero-copy send |
//! | `broker`    | the assembly: starts one shard per core and wires its services (`serve`) |
//! | `tune`      | `shardlog tune check`: this machine's Linux settings against tuning/README.md |
//! | `loadgen`   | `shardlog bench`: a Kafka-protocol load generator for any broker (not used by `serve`) |
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
