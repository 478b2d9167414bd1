//! Everything that can stop a benchmark run. Talking to the broker fails with the shared client's
//! `ClientError` (broker error codes kept with Kafka's name); the rest is the run's own.

use crate::client::ClientError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum BenchError {
    #[error("invalid arguments: {0}")]
    Args(String),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
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

impl BenchError {
    /// A broker error code about `what`.
    pub fn broker(what: impl Into<String>, code: i16) -> BenchError {
        ClientError::Broker {
            what: what.into(),
            code,
        }
        .into()
    }

    pub fn decode(what: impl Into<String>, e: impl std::fmt::Display) -> BenchError {
        ClientError::decode(what, e).into()
    }
}
