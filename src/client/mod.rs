//! A small blocking Kafka client shared by `shardlog bench` (`loadgen`) and the operator CLI (`cli`):
//! one connection per broker over a std `TcpStream` (optionally TLS), kafka-protocol's codecs, one fixed version per API.
//! It works against any Kafka-compatible broker.
//!
//! | file | role |
//! |------|------|
//! | `connection` | one Kafka connection: frames, codecs, the versions spoken and offered |
//! | `error` | `ClientError`: connect, i/o, codec and broker-code failures |
//! | `fetch` | the Fetch request of a plain consumer |
//! | `partitioner` | Java-compatible murmur2 and sticky partitioning |
//! | `sasl` | logging in with SASL PLAIN or SCRAM after connecting |
//! | `tls` | TLS options (`--tls`, `--tls-ca-file`, …) and rustls over the socket |
//! | `transport` | a connection's reading and writing halves: plain socket or TLS |
//! | `records` | record batches: encoding (lz4 at the Java client's speed), decoding fetched sets |

pub mod connection;
mod error;
pub mod fetch;
pub mod partitioner;
pub mod records;
pub mod sasl;
pub mod tls;
mod transport;

pub use connection::Connection;
pub use error::{code_name, ClientError};
pub use records::{decode_records, encode_batch};

use kafka_protocol::messages::TopicName;
use kafka_protocol::protocol::StrBytes;

pub fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_string()))
}

/// A `StrBytes` owning a copy of `s`.
pub fn str_bytes(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}
