//! Partition replication between nodes (Kafka's model): followers fetch from the leader over
//! dedicated connections and append the leader's batches as they are; the leader tracks each
//! follower's log end, derives the high watermark from the in-sync replicas, and changes the ISR
//! through the controller. See ARCHITECTURE.md §9.
//!
//! | file | role |
//! |------|------|
//! | `replica_set` | per partition: leader or follower, follower positions, high watermark, wanted ISR |
//! | `fetcher` | per shard: one fetcher per (leader node, leader shard), started and stopped by metadata |
//! | `truncation` | per fetcher: cut a follower's divergent tail (OffsetForLeaderEpoch) before it fetches |
//! | `connection` | a fetcher's Kafka connection to the leader (glommio socket, one request at a time) |
//! | `isr` | per shard: the periodic ISR shrink/expand check, committed through the controller |

pub mod connection;
pub mod fetcher;
pub mod isr;
mod truncation;
