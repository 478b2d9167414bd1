//! TLS on SSL and SASL_SSL listeners, with rustls (`ring` provider).
//!
//! After accept, `establish` runs the handshake (time-limited), takes the client certificate's subject
//! as the principal, and then either hands the session to the kernel (kTLS: the socket is plain again
//! and fetches keep sendfile) or keeps it in rustls, where `stream` encrypts and decrypts in user space.
//!
//! | file | role |
//! |------|------|
//! | `settings` | keystore / truststore / client auth from the config → rustls `ServerConfig` |
//! | `acceptor` | one shard's current `ServerConfig`, reloaded when the files change |
//! | `handshake` | the server handshake over the socket, record by record, with a timeout |
//! | `ktls` | moving the session keys into the kernel |
//! | `stream` | user-space TLS: the reader and writer halves over one rustls session |

mod acceptor;
mod handshake;
pub mod ktls;
mod settings;
mod stream;

pub use acceptor::{Acceptor, Loaded};
pub use handshake::HandshakeError;
pub use settings::{TlsConfigError, TlsSettings};
pub use stream::{TlsReader, TlsWriter};

use crate::security::{tls_principal, Principal};
pub use crate::types::TlsPath;
use glommio::net::TcpStream;
use rustls::ServerConnection;
use std::cell::RefCell;
use std::os::unix::io::AsRawFd;
use std::rc::Rc;
use thiserror::Error;
use tracing::{debug, warn};

/// A connection after its handshake.
pub struct Established {
    pub path: TlsPath,
    /// The rustls session, when TLS stays in user space.
    pub session: Option<Rc<RefCell<ServerConnection>>>,
    /// `User:<subject DN>` when the client presented a (verified) certificate.
    pub principal: Option<Principal>,
}

#[derive(Debug, Error)]
pub enum EstablishError {
    #[error(transparent)]
    Handshake(#[from] HandshakeError),
    #[error("client certificate: {0}")]
    Certificate(String),
    #[error("kernel TLS: {0}")]
    Kernel(#[from] ktls::KtlsError),
}

/// Handshake, principal, then kTLS if the kernel and the session allow it.
pub async fn establish(
    stream: &mut TcpStream,
    acceptor: &Acceptor,
) -> Result<Established, EstablishError> {
    let tls = handshake::accept(stream, acceptor.config()).await?;
    let principal = match tls.peer_certificates().and_then(|chain| chain.first()) {
        Some(cert) => {
            Some(tls_principal::from_certificate(cert).map_err(EstablishError::Certificate)?)
        }
        None => None,
    };
    let userspace = |tls| Established {
        path: TlsPath::Userspace,
        session: Some(Rc::new(RefCell::new(tls))),
        principal: principal.clone(),
    };
    if !acceptor.ktls_usable() || ktls::kernel_support().is_err() {
        return Ok(userspace(tls));
    }
    match ktls::offload(stream.as_raw_fd(), tls) {
        Ok(ktls::Offload::Kernel) => Ok(Established {
            path: TlsPath::Kernel,
            session: None,
            principal,
        }),
        Ok(ktls::Offload::Userspace(tls, reason)) => {
            debug!(%reason, "TLS stays in user space");
            Ok(userspace(*tls))
        }
        Err(e) => {
            // The keys already left rustls: this connection is lost. Do not try again on this shard.
            acceptor.disable_ktls();
            warn!(error = %e, "kernel TLS failed after the handshake; new connections on this shard use user-space TLS");
            Err(e.into())
        }
    }
}
