//! The per-core runtime every service runs on: the mesh between shards and the handles that reach a
//! service on any shard (`mesh`), the partition table of a shard (`partitions`), splitting a request by
//! partition owner (`router`), publishing metadata to every shard (`publisher`), and the allocator.
//! Starting the shards is the broker assembly's job (`crate::broker`).

pub mod allocator;
pub mod mesh;
pub mod partitions;
pub mod publisher;
pub mod router;
