//! What can go wrong talking to a broker. Broker-side error codes are kept as codes (with Kafka's name)
//! so a failure says exactly what the broker answered.

use kafka_protocol::error::ParseResponseErrorCode;
use kafka_protocol::messages::ApiKey;
use kafka_protocol::ResponseError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ClientError {
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: String,
        source: std::io::Error,
    },
    #[error("TLS with {addr} failed: {detail}")]
    Tls { addr: String, detail: String },
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
    #[error("{0}")]
    Authentication(String),
}

/// Kafka's name for an error code, e.g. `NotLeaderOrFollower (6)`.
pub fn code_name(code: i16) -> String {
    match code.err() {
        Some(e) => format!("{e:?} ({code})"),
        None => format!("no error ({code})"),
    }
}

impl ClientError {
    pub fn decode(what: impl Into<String>, e: impl std::fmt::Display) -> ClientError {
        ClientError::Decode {
            what: what.into(),
            detail: e.to_string(),
        }
    }

    pub fn encode(what: impl Into<String>, e: impl std::fmt::Display) -> ClientError {
        ClientError::Encode {
            what: what.into(),
            detail: e.to_string(),
        }
    }

    /// `Ok` for error code 0, else a `Broker` error about `what`.
    pub fn check(code: i16, what: impl FnOnce() -> String) -> Result<(), ClientError> {
        match code {
            0 => Ok(()),
            code => Err(ClientError::Broker { what: what(), code }),
        }
    }

    /// The broker's error code, if this is a broker-side error.
    pub fn broker_code(&self) -> Option<i16> {
        match self {
            ClientError::Broker { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// Whether the broker answered `e`.
    pub fn is(&self, e: ResponseError) -> bool {
        self.broker_code() == Some(e.code())
    }
}
