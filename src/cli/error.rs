//! CLI failures, each with an exit code (see the module doc of `cli`) and a message that says what to do.

use crate::client::ClientError;
use kafka_protocol::ResponseError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error("reading {what}: {source}")]
    Input {
        what: String,
        source: std::io::Error,
    },
    #[error(
        "{source} — is a broker running? start one with \
         `shardlog serve`, or point --brokers (SHARDLOG_BROKERS) at one"
    )]
    Connect {
        brokers: String,
        source: ClientError,
    },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("writing output: {0}")]
    Output(std::io::Error),
}

/// Broker error codes that mean "no such thing".
const NOT_FOUND: [ResponseError; 3] = [
    ResponseError::UnknownTopicOrPartition,
    ResponseError::UnknownTopicId,
    ResponseError::GroupIdNotFound,
];

impl CliError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Usage(_) | CliError::Input { .. } => 1,
            CliError::Connect { .. }
            | CliError::Client(ClientError::Connect { .. } | ClientError::Tls { .. }) => 3,
            CliError::NotFound(_) => 4,
            CliError::Client(e) if NOT_FOUND.iter().any(|&n| e.is(n)) => 4,
            CliError::Refused(_) | CliError::Client(_) | CliError::Output(_) => 5,
        }
    }

    /// A broker's error code about `what` (not-found codes still exit 4, see `exit_code`).
    pub fn broker(what: impl Into<String>, code: i16) -> CliError {
        CliError::Client(ClientError::Broker {
            what: what.into(),
            code,
        })
    }

    /// `Ok` for error code 0.
    pub fn check(code: i16, what: impl FnOnce() -> String) -> Result<(), CliError> {
        Ok(ClientError::check(code, what)?)
    }
}

/// Writing to stdout: a closed pipe (`| head`) ends the command quietly, anything else is an error.
pub fn output(e: std::io::Error) -> CliError {
    CliError::Output(e)
}

/// Whether `e` is a closed pipe on stdout, which is a normal way for output to end.
pub fn is_broken_pipe(e: &CliError) -> bool {
    matches!(e, CliError::Output(io) if io.kind() == std::io::ErrorKind::BrokenPipe)
}
