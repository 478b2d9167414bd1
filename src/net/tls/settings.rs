//! What a TLS listener serves, from the broker config: the keystore (private key and certificate
//! chain), the truststore client certificates must chain to, and the client-auth policy — turned into a
//! rustls `ServerConfig`. Loading is all-or-nothing: any unusable file is an error that names it.

use crate::config::{BrokerConfig, ClientAuth};
use rustls::crypto::ring;
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum TlsConfigError {
    #[error("no keystore: set ssl.keystore.location (a PEM file with the private key and the certificate chain), or ssl.keystore.certificate.chain with ssl.keystore.key")]
    NoKeystore,
    #[error("ssl.keystore.certificate.chain and ssl.keystore.key go together; only one is set")]
    HalfInlineKeystore,
    #[error("both ssl.keystore.location and ssl.keystore.certificate.chain/ssl.keystore.key are set; use one")]
    TwoKeystores,
    #[error("ssl.key.password is set, but shardlog cannot decrypt private keys: store the key unencrypted (`openssl pkcs8 -topk8 -nocrypt`) and protect the file's permissions instead")]
    KeyPassword,
    #[error("reading {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("{what}: bad PEM: {detail}")]
    Pem { what: String, detail: String },
    #[error("{0} holds no certificate")]
    NoCertificate(String),
    #[error("{0} holds no private key")]
    NoKey(String),
    #[error("{0} holds an encrypted private key, which shardlog cannot decrypt: store it unencrypted (`openssl pkcs8 -topk8 -nocrypt`)")]
    EncryptedKey(String),
    #[error("ssl.client.auth={0:?} needs ssl.truststore.location (the CAs client certificates must chain to)")]
    NoTruststore(ClientAuth),
    #[error("{0} holds no usable CA certificate")]
    NoTrustedCa(String),
    #[error("{what}: {detail}")]
    Unusable { what: String, detail: String },
}

/// Where the key and chain come from.
#[derive(Debug)]
enum Keystore {
    File(PathBuf),
    Inline { chain: String, key: String },
}

/// The TLS settings shared by every TLS listener.
#[derive(Debug)]
pub struct TlsSettings {
    keystore: Keystore,
    truststore: Option<PathBuf>,
    client_auth: ClientAuth,
    /// Whether connections may move to kernel TLS after the handshake (`ssl.ktls.enable`).
    pub ktls: bool,
}

/// What the files looked like when last read (inode, size, mtime in ns per file; `None`: missing), to
/// notice a replaced or rewritten file without reading it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilesStamp(Vec<Option<(u64, u64, i64, i64)>>);

impl TlsSettings {
    pub fn from_config(c: &BrokerConfig) -> Result<TlsSettings, TlsConfigError> {
        if c.ssl_key_password.is_some() {
            return Err(TlsConfigError::KeyPassword);
        }
        let inline = match (&c.ssl_keystore_certificate_chain, &c.ssl_keystore_key) {
            (Some(chain), Some(key)) => Some(Keystore::Inline {
                chain: chain.clone(),
                key: key.clone(),
            }),
            (None, None) => None,
            _ => return Err(TlsConfigError::HalfInlineKeystore),
        };
        let keystore = match (&c.ssl_keystore_location, inline) {
            (Some(_), Some(_)) => return Err(TlsConfigError::TwoKeystores),
            (Some(path), None) => Keystore::File(path.clone()),
            (None, Some(inline)) => inline,
            (None, None) => return Err(TlsConfigError::NoKeystore),
        };
        if c.ssl_client_auth != ClientAuth::None && c.ssl_truststore_location.is_none() {
            return Err(TlsConfigError::NoTruststore(c.ssl_client_auth));
        }
        Ok(TlsSettings {
            keystore,
            truststore: c.ssl_truststore_location.clone(),
            client_auth: c.ssl_client_auth,
            ktls: c.ssl_ktls_enable,
        })
    }

    fn files(&self) -> impl Iterator<Item = &Path> {
        let keystore = match &self.keystore {
            Keystore::File(path) => Some(path.as_path()),
            Keystore::Inline { .. } => None,
        };
        keystore.into_iter().chain(self.truststore.as_deref())
    }

    /// The files' current stamp (a few `stat`s).
    pub fn stamp(&self) -> FilesStamp {
        FilesStamp(
            self.files()
                .map(|p| {
                    std::fs::metadata(p)
                        .ok()
                        .map(|m| (m.ino(), m.size(), m.mtime(), m.mtime_nsec()))
                })
                .collect(),
        )
    }

    /// Reads the files and builds the rustls server config.
    pub fn load(&self) -> Result<Arc<ServerConfig>, TlsConfigError> {
        let (what, chain_pem, key_pem) = match &self.keystore {
            Keystore::File(path) => {
                let pem = read(path)?;
                (
                    format!("ssl.keystore.location {}", path.display()),
                    pem.clone(),
                    pem,
                )
            }
            Keystore::Inline { chain, key } => (
                "ssl.keystore.certificate.chain/ssl.keystore.key".to_string(),
                chain.as_bytes().to_vec(),
                key.as_bytes().to_vec(),
            ),
        };
        let chain = certificates(&chain_pem, &what)?;
        let key = private_key(&key_pem, &what)?;
        let provider = Arc::new(ring::default_provider());
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| unusable("TLS protocol versions", e))?;
        let builder = match (&self.truststore, self.client_auth) {
            (_, ClientAuth::None) => builder.with_no_client_auth(),
            (Some(path), auth) => {
                let roots = trusted_cas(path)?;
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
                let verifier = match auth {
                    ClientAuth::Requested => verifier.allow_unauthenticated(),
                    _ => verifier,
                };
                let verifier = verifier
                    .build()
                    .map_err(|e| unusable("ssl.truststore.location", e))?;
                builder.with_client_cert_verifier(verifier)
            }
            (None, auth) => return Err(TlsConfigError::NoTruststore(auth)),
        };
        let mut config = builder
            .with_single_cert(chain, key)
            .map_err(|e| unusable(&what, e))?;
        // No TLS 1.3 session tickets: Kafka connections live long, so resumption buys little, and a
        // ticket written after the handshake is one more record in flight when the keys move to the
        // kernel (kTLS).
        config.send_tls13_tickets = 0;
        // kTLS needs the traffic secrets (`dangerous_extract_secrets`).
        config.enable_secret_extraction = true;
        Ok(Arc::new(config))
    }
}

fn unusable(what: &str, e: impl std::fmt::Display) -> TlsConfigError {
    TlsConfigError::Unusable {
        what: what.to_string(),
        detail: e.to_string(),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, TlsConfigError> {
    std::fs::read(path).map_err(|source| TlsConfigError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn certificates(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, TlsConfigError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsConfigError::Pem {
            what: what.to_string(),
            detail: e.to_string(),
        })?;
    match certs.is_empty() {
        true => Err(TlsConfigError::NoCertificate(what.to_string())),
        false => Ok(certs),
    }
}

fn private_key(pem: &[u8], what: &str) -> Result<PrivateKeyDer<'static>, TlsConfigError> {
    let text = String::from_utf8_lossy(pem);
    // PKCS#8 "ENCRYPTED PRIVATE KEY", or the legacy OpenSSL "Proc-Type: 4,ENCRYPTED" header.
    if text.contains("ENCRYPTED PRIVATE KEY") || text.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(TlsConfigError::EncryptedKey(what.to_string()));
    }
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| match e {
        rustls_pki_types::pem::Error::NoItemsFound => TlsConfigError::NoKey(what.to_string()),
        e => TlsConfigError::Pem {
            what: what.to_string(),
            detail: e.to_string(),
        },
    })
}

fn trusted_cas(path: &Path) -> Result<RootCertStore, TlsConfigError> {
    let what = format!("ssl.truststore.location {}", path.display());
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(certificates(&read(path)?, &what)?);
    match added {
        0 => Err(TlsConfigError::NoTrustedCa(what)),
        _ => Ok(roots),
    }
}
