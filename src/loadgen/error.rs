//! Everything that can stop a benchmark run. Broker-side error codes are kept as codes (with Kafka's
//! name) so a failed run says exactly what the broker answered.

use kafka_protocol::error::ParseResponseErrorCode;
use kafka_protocol::messages::ApiKey;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum BenchError {
    #[error("invalid arguments: {0}")]
    Args(String),
    #[error("connecting to {addr}: {source}")]
    Connect {
        addr: String,
        source: std::io::Error,
    },
    #[error("i/o with the broker: {0}")]
    Io(#[from] std::io::Error),
    #[error("encoding {what}: {detail}")]
    Encode { what: String, detail: String },
    #[error("undecodable {what} from the broker: {detail}")]
    Decode { what: String, detail: String },
    #[error("the broker sent a response frame of {0} bytes")]
    FrameSize(i32),
    #[error("response correlation id {got}, expected {expected}")]
    Correlation { got: i32, expected: i32 },
    #[error("the broker does not support {api:?} v{version}")]
    Unsupported { api: ApiKey, version: i16 },
    #[error("{what}: the broker answered {}", code_name(*.code))]
    Broker { what: String, code: i16 },
    #[error("topic {topic} has {actual} partitions, --partitions asks for {wanted}")]
    PartitionCount {
        topic: String,
        actual: usize,
        wanted: i32,
    },
    #[error("topic {0} did not get a leader for every partition in time")]
    TopicNotReady(String),
    #[error("the {0} thread panicked")]
    Panicked(&'static str),
    #[error("writing the result: {0}")]
    Output(String),
}

/// Kafka's name for an error code, e.g. `NotLeaderOrFollower (6)`.
fn code_name(code: i16) -> String {
    match code.err() {
        Some(e) => format!("{e:?} ({code})"),
        None => format!("no error ({code})"),
    }
}

impl BenchError {
    pub fn decode(what: impl Into<String>, e: impl std::fmt::Display) -> BenchError {
        BenchError::Decode {
            what: what.into(),
            detail: e.to_string(),
        }
    }

    pub fn encode(what: impl Into<String>, e: impl std::fmt::Display) -> BenchError {
        BenchError::Encode {
            what: what.into(),
            detail: e.to_string(),
        }
    }
}
