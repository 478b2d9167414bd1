//! TLS for the blocking client (CLI and `shardlog bench`): rustls over the std `TcpStream`, for SSL and
//! SASL_SSL listeners. The handshake runs at connect; after it the connection splits like a plain one
//! — the writing half encrypts and sends, the reading half (often another thread) receives and
//! decrypts — around one rustls session behind a mutex that is never held during socket I/O.
//! Only the writing half writes to the socket, so records go out in order.

use super::ClientError;
use clap::Args;
use rustls::crypto::ring;
use rustls::{ClientConfig, ClientConnection, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde::Serialize;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Where the system's CA bundle lives on Debian/Ubuntu and on Fedora/RHEL (used without --tls-ca-file).
const SYSTEM_CA_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
];

/// TLS options shared by every CLI command and `shardlog bench`.
#[derive(Args, Clone, Debug, Default, Serialize)]
pub struct TlsArgs {
    /// Connect with TLS (an SSL listener; with --sasl-mechanism, a SASL_SSL one). Implied by the other
    /// --tls-* options.
    #[arg(long, global = true, env = "SHARDLOG_TLS")]
    pub tls: bool,
    /// PEM file of the CA certificates that may sign the broker's certificate (default: the system's).
    #[arg(long, global = true, env = "SHARDLOG_TLS_CA_FILE", value_name = "PEM")]
    pub tls_ca_file: Option<PathBuf>,
    /// PEM file with this client's certificate chain, for brokers that ask for one (ssl.client.auth);
    /// needs --tls-key-file.
    #[arg(
        long,
        global = true,
        env = "SHARDLOG_TLS_CERT_FILE",
        value_name = "PEM"
    )]
    pub tls_cert_file: Option<PathBuf>,
    /// PEM file with the private key (unencrypted) of --tls-cert-file.
    #[arg(long, global = true, env = "SHARDLOG_TLS_KEY_FILE", value_name = "PEM")]
    pub tls_key_file: Option<PathBuf>,
}

impl TlsArgs {
    /// The client TLS config these options ask for (`None`: plaintext). `Err` says what is wrong.
    pub fn config(&self) -> Result<Option<Arc<ClientConfig>>, String> {
        let wanted = self.tls
            || self.tls_ca_file.is_some()
            || self.tls_cert_file.is_some()
            || self.tls_key_file.is_some();
        if !wanted {
            return Ok(None);
        }
        let roots = match &self.tls_ca_file {
            Some(path) => roots(path)?,
            None => system_roots()?,
        };
        let builder = ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots);
        let config = match (&self.tls_cert_file, &self.tls_key_file) {
            (None, None) => builder.with_no_client_auth(),
            (Some(cert), Some(key)) => {
                let chain = certificates(cert)?;
                let key = PrivateKeyDer::from_pem_file(key)
                    .map_err(|e| format!("--tls-key-file {}: {e}", key.display()))?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| format!("--tls-cert-file/--tls-key-file: {e}"))?
            }
            _ => return Err("--tls-cert-file and --tls-key-file go together".into()),
        };
        Ok(Some(Arc::new(config)))
    }
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let bad = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(&e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(&e))?;
    match certs.is_empty() {
        true => Err(bad(&"no certificate in the file")),
        false => Ok(certs),
    }
}

fn roots(path: &Path) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(certificates(path)?);
    match added {
        0 => Err(format!("{}: no usable CA certificate", path.display())),
        _ => Ok(roots),
    }
}

fn system_roots() -> Result<RootCertStore, String> {
    SYSTEM_CA_BUNDLES
        .iter()
        .map(Path::new)
        .find(|p| p.exists())
        .map_or_else(
            || Err("no system CA bundle found; name the broker's CA with --tls-ca-file".into()),
            roots,
        )
}

type Session = Arc<Mutex<ClientConnection>>;

fn lock(tls: &Session) -> MutexGuard<'_, ClientConnection> {
    // A thread that panicked mid-call leaves the session as consistent as rustls left it.
    tls.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs the handshake with the broker at `addr` (its host is the name its certificate must carry)
/// over `socket`, within `timeout`.
pub fn handshake(
    socket: &mut TcpStream,
    config: Arc<ClientConfig>,
    addr: &str,
    timeout: Duration,
) -> Result<Session, ClientError> {
    let failed = |detail: String| ClientError::Tls {
        addr: addr.to_string(),
        detail,
    };
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let name = ServerName::try_from(host.to_string()).map_err(|e| failed(e.to_string()))?;
    let mut tls = ClientConnection::new(config, name).map_err(|e| failed(e.to_string()))?;
    socket.set_read_timeout(Some(timeout))?;
    while tls.is_handshaking() {
        tls.complete_io(socket).map_err(|e| failed(e.to_string()))?;
    }
    while tls.wants_write() {
        tls.write_tls(socket).map_err(|e| failed(e.to_string()))?;
    }
    socket.set_read_timeout(None)?;
    // The writing half encrypts whole requests at once (a produce request may be MiBs).
    tls.set_buffer_limit(None);
    Ok(Arc::new(Mutex::new(tls)))
}

pub struct TlsReadHalf {
    socket: TcpStream,
    tls: Session,
    buf: Box<[u8]>,
    /// Ciphertext in `buf` rustls has not taken yet.
    pending: std::ops::Range<usize>,
}

pub struct TlsWriteHalf {
    socket: TcpStream,
    tls: Session,
    /// Ciphertext on its way out; reused.
    out: Vec<u8>,
}

/// The two halves over `socket` (one TLS session, two handles of the socket).
pub fn split(socket: TcpStream, tls: Session) -> io::Result<(TlsReadHalf, TlsWriteHalf)> {
    let reader = TlsReadHalf {
        socket: socket.try_clone()?,
        tls: tls.clone(),
        buf: vec![0; 64 * 1024].into_boxed_slice(),
        pending: 0..0,
    };
    let writer = TlsWriteHalf {
        socket,
        tls,
        out: Vec::new(),
    };
    Ok((reader, writer))
}

impl TlsReadHalf {
    pub fn socket(&self) -> &TcpStream {
        &self.socket
    }
}

impl Read for TlsReadHalf {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            match lock(&self.tls).reader().read(out) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            if self.pending.is_empty() {
                let n = self.socket.read(&mut self.buf)?;
                if n == 0 {
                    return Ok(0);
                }
                self.pending = 0..n;
            }
            let mut tls = lock(&self.tls);
            let mut rest = &self.buf[self.pending.clone()];
            let taken = tls.read_tls(&mut rest)?;
            if taken == 0 {
                return Err(io::Error::other("TLS receive buffer full"));
            }
            self.pending.start += taken;
            tls.process_new_packets()
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        }
    }
}

impl Write for TlsWriteHalf {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.out.clear();
        {
            let mut tls = lock(&self.tls);
            tls.writer().write_all(data)?;
            while tls.wants_write() {
                tls.write_tls(&mut self.out)?;
            }
        }
        self.socket.write_all(&self.out)?;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
