//! One connection's authentication state. `net/` creates it with the listener's security protocol; the
//! Kafka layer asks it whether a request may run (`admit`) and drives SaslHandshake/SaslAuthenticate
//! through it. The authenticated principal it stores is what ACLs will check.
//!
//! Rules (Kafka's): on a SASL listener only ApiVersions, SaslHandshake and SaslAuthenticate are allowed
//! before authentication completes, anything else closes the connection; a failed authentication closes
//! it; with `connections.max.reauth.ms` set, the session expires after that long and the next request
//! other than those three closes the connection unless the client re-authenticated (KIP-368) — as the
//! same principal — on the live connection.

use super::listener::Listener;
use super::sasl::{Exchange, Mechanism, SaslError, Step, UserLookup};
use super::{Principal, SecurityProtocol};
use kafka_protocol::messages::ApiKey;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};
use thiserror::Error;

/// What the Kafka layer knows about a connection: where it came from, on which listener, and who it is.
pub struct Connection {
    /// The peer's IP address, as text.
    pub peer_host: Rc<str>,
    pub listener: Rc<Listener>,
    pub session: RefCell<Session>,
}

impl Connection {
    /// `tls_principal`: the client certificate's principal, on TLS listeners with client auth.
    pub fn new(
        peer_host: Rc<str>,
        listener: Rc<Listener>,
        tls_principal: Option<Principal>,
    ) -> Connection {
        let session = RefCell::new(Session::new(listener.protocol, tls_principal));
        Connection {
            peer_host,
            listener,
            session,
        }
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum HandshakeError {
    #[error("SASL is not enabled on this {0} listener")]
    NotSasl(SecurityProtocol),
    #[error("SaslHandshake while an authentication exchange is in progress")]
    InProgress,
    #[error("unsupported SASL mechanism {requested}")]
    Unsupported { requested: String },
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("SaslAuthenticate without a preceding SaslHandshake")]
    NoHandshake,
    #[error(transparent)]
    Failed(#[from] SaslError),
    #[error("re-authentication as {new} on a connection authenticated as {old} is not allowed")]
    PrincipalChanged { old: String, new: String },
}

/// The result of one SaslAuthenticate step.
#[derive(Debug, PartialEq, Eq)]
pub enum AuthStep {
    Continue {
        challenge: Vec<u8>,
    },
    Done {
        response: Vec<u8>,
        /// KIP-368 session lifetime (0: no limit).
        session_lifetime_ms: i64,
        /// The connection was already authenticated (KIP-368 re-authentication).
        reauthenticated: bool,
    },
}

#[derive(Debug)]
pub struct Session {
    protocol: SecurityProtocol,
    principal: Option<Rc<Principal>>,
    exchange: Option<Exchange>,
    expires_at: Option<Instant>,
}

/// APIs allowed before authentication completes (and after the session expired).
fn auth_api(api: ApiKey) -> bool {
    matches!(
        api,
        ApiKey::ApiVersions | ApiKey::SaslHandshake | ApiKey::SaslAuthenticate
    )
}

impl Session {
    /// Without SASL the principal is the TLS client certificate's (`tls_principal`), else ANONYMOUS; with
    /// SASL (also SASL_SSL with a client certificate, as in Kafka) it is whoever logs in.
    pub fn new(protocol: SecurityProtocol, tls_principal: Option<Principal>) -> Session {
        let principal = (!protocol.uses_sasl())
            .then(|| Rc::new(tls_principal.unwrap_or_else(Principal::anonymous)));
        Session {
            protocol,
            principal,
            exchange: None,
            expires_at: None,
        }
    }

    pub fn protocol(&self) -> SecurityProtocol {
        self.protocol
    }

    /// The authenticated principal (`User:ANONYMOUS` without SASL), `None` before authentication.
    pub fn principal(&self) -> Option<Rc<Principal>> {
        self.principal.clone()
    }

    /// `Err(reason)`: close the connection instead of handling a request of `api`.
    pub fn admit(&self, api: ApiKey, now: Instant) -> Result<(), String> {
        if !self.protocol.uses_sasl() || auth_api(api) {
            return Ok(());
        }
        if self.principal.is_none() {
            return Err(format!(
                "{api:?} request before SASL authentication completed"
            ));
        }
        if self.expires_at.is_some_and(|t| now >= t) {
            return Err(format!(
                "{api:?} request after the SASL session expired (connections.max.reauth.ms); the client did not re-authenticate"
            ));
        }
        Ok(())
    }

    /// SaslHandshake: starts an exchange with `mechanism` if it is enabled.
    pub fn handshake(
        &mut self,
        mechanism: &str,
        enabled: &[Mechanism],
    ) -> Result<(), HandshakeError> {
        if !self.protocol.uses_sasl() {
            return Err(HandshakeError::NotSasl(self.protocol));
        }
        if self.exchange.is_some() {
            return Err(HandshakeError::InProgress);
        }
        let m = Mechanism::from_name(mechanism)
            .filter(|m| enabled.contains(m))
            .ok_or_else(|| HandshakeError::Unsupported {
                requested: mechanism.chars().take(64).collect(),
            })?;
        self.exchange = Some(Exchange::new(m));
        Ok(())
    }

    /// SaslAuthenticate: one step of the exchange. Any error ends it (the caller closes the connection).
    pub fn authenticate(
        &mut self,
        bytes: &[u8],
        users: &dyn UserLookup,
        reauth_ms: u64,
        now: Instant,
    ) -> Result<AuthStep, AuthError> {
        let mut exchange = self.exchange.take().ok_or(AuthError::NoHandshake)?;
        match exchange.step(bytes, users)? {
            Step::Continue { challenge } => {
                self.exchange = Some(exchange);
                Ok(AuthStep::Continue { challenge })
            }
            Step::Done { user, response } => {
                let principal = Principal::user(&user);
                let reauthenticated = self.principal.is_some();
                if let Some(old) = &self.principal {
                    if **old != principal {
                        return Err(AuthError::PrincipalChanged {
                            old: old.to_string(),
                            new: principal.to_string(),
                        });
                    }
                }
                self.principal = Some(Rc::new(principal));
                self.expires_at = (reauth_ms > 0).then(|| now + Duration::from_millis(reauth_ms));
                Ok(AuthStep::Done {
                    response,
                    session_lifetime_ms: i64::try_from(reauth_ms).unwrap_or(i64::MAX),
                    reauthenticated,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::credentials::{ScramCredential, ScramMechanism, UserRecord};
    use std::collections::HashMap;
    use std::sync::Arc;

    fn users() -> HashMap<String, Arc<UserRecord>> {
        let mut map = HashMap::new();
        for name in ["alice", "bob"] {
            let mut u = UserRecord {
                name: name.into(),
                credentials: vec![],
            };
            u.upsert(ScramCredential::from_password(ScramMechanism::Sha256, "pw", 4096).unwrap());
            map.insert(name.to_string(), Arc::new(u));
        }
        map
    }

    const ALL: [Mechanism; 2] = [Mechanism::Plain, Mechanism::Scram(ScramMechanism::Sha256)];

    #[test]
    fn plaintext_admits_everything_and_refuses_sasl() {
        let mut s = Session::new(SecurityProtocol::Plaintext, None);
        assert!(s.admit(ApiKey::Produce, Instant::now()).is_ok());
        assert_eq!(s.principal().unwrap().to_string(), "User:ANONYMOUS");
        assert!(matches!(
            s.handshake("PLAIN", &ALL),
            Err(HandshakeError::NotSasl(_))
        ));
    }

    #[test]
    fn a_client_certificate_names_the_principal_unless_sasl_decides() {
        let alice = || Some(Principal::user("CN=alice,O=acme"));
        let s = Session::new(SecurityProtocol::Ssl, alice());
        assert_eq!(s.principal().unwrap().to_string(), "User:CN=alice,O=acme");
        let s = Session::new(SecurityProtocol::Ssl, None);
        assert_eq!(s.principal().unwrap().to_string(), "User:ANONYMOUS");
        let s = Session::new(SecurityProtocol::SaslSsl, alice());
        assert!(s.principal().is_none());
    }

    #[test]
    fn sasl_gates_until_authenticated_then_expires() {
        let now = Instant::now();
        let mut s = Session::new(SecurityProtocol::SaslPlaintext, None);
        assert!(s.admit(ApiKey::ApiVersions, now).is_ok());
        assert!(s.admit(ApiKey::Produce, now).is_err());
        assert!(matches!(
            s.authenticate(b"\0alice\0pw", &users(), 0, now),
            Err(AuthError::NoHandshake)
        ));
        assert!(matches!(
            s.handshake("SCRAM-SHA-512", &ALL),
            Err(HandshakeError::Unsupported { .. })
        ));
        s.handshake("PLAIN", &ALL).unwrap();
        assert_eq!(
            s.authenticate(b"\0alice\0pw", &users(), 1000, now),
            Ok(AuthStep::Done {
                response: vec![],
                session_lifetime_ms: 1000,
                reauthenticated: false
            })
        );
        assert_eq!(s.principal().unwrap().to_string(), "User:alice");
        assert!(s.admit(ApiKey::Produce, now).is_ok());
        let later = now + Duration::from_millis(1000);
        assert!(s.admit(ApiKey::Produce, later).is_err());
        // Re-authentication on the live connection renews the session; another user is refused.
        s.handshake("PLAIN", &ALL).unwrap();
        assert!(s
            .authenticate(b"\0alice\0pw", &users(), 1000, later)
            .is_ok());
        assert!(s.admit(ApiKey::Produce, later).is_ok());
        s.handshake("PLAIN", &ALL).unwrap();
        assert!(matches!(
            s.authenticate(b"\0bob\0pw", &users(), 1000, later),
            Err(AuthError::PrincipalChanged { .. })
        ));
    }

    #[test]
    fn failures_end_the_exchange() {
        let now = Instant::now();
        let mut s = Session::new(SecurityProtocol::SaslPlaintext, None);
        s.handshake("PLAIN", &ALL).unwrap();
        assert!(matches!(
            s.authenticate(b"\0alice\0nope", &users(), 0, now),
            Err(AuthError::Failed(SaslError::InvalidCredentials(_)))
        ));
        assert!(s.principal().is_none());
        assert!(matches!(
            s.authenticate(b"\0alice\0pw", &users(), 0, now),
            Err(AuthError::NoHandshake)
        ));
    }
}
