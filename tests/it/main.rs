//! The integration tests: one binary (one link) with a module per area. Each module's own doc comment
//! says what it checks and how; `common` is the harness (a real broker process, a raw Kafka connection,
//! client drivers), `jvm_apps` starts Kafka's JVM applications (Streams, Connect, MirrorMaker 2).
//! Run one area with e.g. `cargo test --release --test it cluster::`.

mod common;
mod jvm_apps;

mod acl;
mod bad_input;
mod cli;
mod clients;
mod cluster;
mod compaction;
mod compat_clients;
mod config;
mod connect;
mod durability;
mod fetch_sessions;
mod groups;
mod lag;
mod layering;
mod log_semantics;
mod metrics;
mod mirror_maker;
mod perf_smoke;
mod replication;
mod sasl;
mod streams;
mod tls;
mod topic_configs;
mod transactional_clients;
mod transactions;
mod tune;
