//! Partition replication between nodes (Kafka's model): followers fetch from the leader over
//! dedicated connections and append the leader's batches as they are; the leader tracks each
//! follower's log end, derives the high watermark from the in-sync replicas, and changes the ISR
//! through the controller. See ARCHITECTURE.md §9. The
//! per-partition replica state is `types::replica_set`; the leader's ISR check is `controller::isr`.
//!
//! | file | role |
//! |------|------|
//! | `fetcher` | per shard: one fetcher per (leader node, leader shard), started and stopped by metadata |
//! | `truncation` | per fetcher: cut a follower's divergent tail (OffsetForLeaderEpoch) before it fetches |
//! | `connection` | a fetcher's Kafka connection to the leader (glommio socket, one request at a time) |

pub mod connection;
pub mod fetcher;
mod truncation;
