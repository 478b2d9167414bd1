//! Who is on the other end of a connection: listeners and their security protocols, SASL
//! authentication (PLAIN, SCRAM-SHA-256/512) and the SCRAM credential store.
//!
//! - `listener`: `listeners` / `advertised.listeners` / `listener.security.protocol.map` parsed into
//!   the list of endpoints every shard binds.
//! - `session`: one connection's authentication state (the gate before authentication, the principal,
//!   KIP-368 session expiry). The Kafka layer asks it what a request may do; it knows nothing of sockets.
//! - `sasl`: the mechanisms' message parsers and server state machines (pure, fuzzed).
//! - `credentials`: salted SCRAM credentials (never passwords), kept in the persisted cluster metadata.
//! - `acl`: the ACL model and authorization decision, checked against the principal `session` stores.
//!
//! - `tls_principal`: the principal of a TLS client certificate (its subject, RFC 2253).
//!
//! TLS itself (SSL, SASL_SSL) wraps the stream in `net/tls`; it hands `session` the client
//! certificate's principal. ACLs (`acl`) read the principal that `session` stores.

pub mod acl;
pub mod credentials;
pub mod listener;
pub mod sasl;
pub mod session;
pub mod tls_principal;

use std::fmt;

/// Kafka's security protocols (the right-hand side of `listener.security.protocol.map`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecurityProtocol {
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl SecurityProtocol {
    pub fn parse(name: &str) -> Option<SecurityProtocol> {
        Some(match name.to_ascii_uppercase().as_str() {
            "PLAINTEXT" => SecurityProtocol::Plaintext,
            "SSL" => SecurityProtocol::Ssl,
            "SASL_PLAINTEXT" => SecurityProtocol::SaslPlaintext,
            "SASL_SSL" => SecurityProtocol::SaslSsl,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "PLAINTEXT",
            SecurityProtocol::Ssl => "SSL",
            SecurityProtocol::SaslPlaintext => "SASL_PLAINTEXT",
            SecurityProtocol::SaslSsl => "SASL_SSL",
        }
    }

    /// Whether clients must authenticate with SASL before anything else.
    pub fn uses_sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }

    /// Whether the connection is wrapped in TLS.
    pub fn uses_tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }
}

impl fmt::Display for SecurityProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The identity a request runs as, Kafka style: `User:alice`, or `User:ANONYMOUS` on listeners without
/// authentication.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub kind: &'static str,
    pub name: String,
}

impl Principal {
    pub fn user(name: &str) -> Principal {
        Principal {
            kind: "User",
            name: name.to_string(),
        }
    }

    pub fn anonymous() -> Principal {
        Principal::user("ANONYMOUS")
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.name)
    }
}
