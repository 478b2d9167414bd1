//! SASL on the server side: the enabled mechanisms, one exchange's state machine, and what a step of it
//! produces. The parsers are strict and never panic (`tests/fuzz` drives `Exchange::step` directly).
//! Kafka carries the messages in SaslAuthenticate requests (`kafka/sasl.rs`); this module sees bytes only.

pub mod plain;
pub mod scram;

use super::credentials::{ScramMechanism, UserRecord};
use std::collections::HashMap;
use std::sync::Arc;
use thiserror::Error;

/// Longest SASL message accepted; real ones are a few hundred bytes.
pub const MAX_MESSAGE: usize = 16 * 1024;

/// A SASL mechanism the broker can serve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mechanism {
    Plain,
    Scram(ScramMechanism),
}

impl Mechanism {
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Scram(m) => m.name(),
        }
    }

    pub fn from_name(name: &str) -> Option<Mechanism> {
        if name == "PLAIN" {
            return Some(Mechanism::Plain);
        }
        ScramMechanism::from_name(name).map(Mechanism::Scram)
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
#[error("sasl.enabled.mechanisms: unsupported mechanism '{0}' (supported: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)")]
pub struct UnknownMechanism(pub String);

/// `sasl.enabled.mechanisms`, comma-separated.
pub fn parse_enabled(list: &str) -> Result<Vec<Mechanism>, UnknownMechanism> {
    let mut out = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let m = Mechanism::from_name(name).ok_or_else(|| UnknownMechanism(name.to_string()))?;
        if !out.contains(&m) {
            out.push(m);
        }
    }
    Ok(out)
}

/// Why an exchange failed. Each ends the exchange; the broker answers SASL_AUTHENTICATION_FAILED with the
/// message and closes the connection.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SaslError {
    #[error("malformed {mechanism} message: {reason}")]
    Malformed {
        mechanism: &'static str,
        reason: &'static str,
    },
    /// Unknown user and wrong password read the same, so neither can be probed for.
    #[error("Authentication failed during authentication due to invalid credentials with SASL mechanism {0}")]
    InvalidCredentials(&'static str),
    #[error("{0} exchange already finished")]
    Finished(&'static str),
}

/// What a step produced: bytes for the client and whether the client is now authenticated.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Send `challenge` and wait for the client's next message.
    Continue { challenge: Vec<u8> },
    /// Authenticated as `user`; `response` (possibly empty) goes back to the client.
    Done { user: String, response: Vec<u8> },
}

/// Where an exchange finds users (the metadata snapshot in the broker, a map in tests and the fuzzer).
pub trait UserLookup {
    fn user(&self, name: &str) -> Option<Arc<UserRecord>>;
}

impl UserLookup for HashMap<String, Arc<UserRecord>> {
    fn user(&self, name: &str) -> Option<Arc<UserRecord>> {
        self.get(name).cloned()
    }
}

/// One authentication exchange in progress.
#[derive(Debug)]
pub enum Exchange {
    Plain(plain::PlainServer),
    Scram(Box<scram::ScramServer>),
}

impl Exchange {
    pub fn new(mechanism: Mechanism) -> Exchange {
        match mechanism {
            Mechanism::Plain => Exchange::Plain(plain::PlainServer::default()),
            Mechanism::Scram(m) => Exchange::Scram(Box::new(scram::ScramServer::new(m))),
        }
    }

    pub fn mechanism(&self) -> Mechanism {
        match self {
            Exchange::Plain(_) => Mechanism::Plain,
            Exchange::Scram(s) => Mechanism::Scram(s.mechanism()),
        }
    }

    /// Feeds the client's next message.
    pub fn step(&mut self, input: &[u8], users: &dyn UserLookup) -> Result<Step, SaslError> {
        if input.len() > MAX_MESSAGE {
            return Err(SaslError::Malformed {
                mechanism: self.mechanism().name(),
                reason: "message too long",
            });
        }
        match self {
            Exchange::Plain(p) => p.step(input, users),
            Exchange::Scram(s) => s.step(input, users),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enabled_mechanisms_parse() {
        assert_eq!(
            parse_enabled("PLAIN, SCRAM-SHA-512,PLAIN").unwrap(),
            vec![Mechanism::Plain, Mechanism::Scram(ScramMechanism::Sha512)]
        );
        assert!(parse_enabled("GSSAPI").is_err());
        assert!(parse_enabled("").unwrap().is_empty());
    }
}
