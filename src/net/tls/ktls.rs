//! Kernel TLS (kTLS): after a handshake in rustls, the session's traffic keys and record sequence
//! numbers go to the kernel (`TCP_ULP` "tls", then `SOL_TLS` `TLS_TX`/`TLS_RX`), after which the socket
//! reads and writes plaintext and the kernel does the records — so fetch responses keep `sendfile`.
//!
//! Only where the kernel lists `tls` in /proc/sys/net/ipv4/tcp_available_ulp, and only for TLS 1.2/1.3
//! AES-GCM sessions (what every kernel with kTLS implements). Everything that can be checked is checked
//! before the keys leave rustls, so a refusal up to there leaves the connection in user-space TLS; once
//! extracted the keys cannot go back, so a failure after that loses the connection (`KtlsError`).
//!
//! Limits: the kernel does not answer TLS 1.3 KeyUpdate or other post-handshake messages for us; such a
//! record makes the next read fail and the connection closes (clients reconnect). The handshake reads
//! record by record and sends no session tickets (see `settings`), so no record is half-processed
//! in rustls when the keys move.

use rustls::{CipherSuite, ConnectionTrafficSecrets, ProtocolVersion, ServerConnection};
use std::io;
use std::os::unix::io::RawFd;
use std::sync::OnceLock;
use thiserror::Error;

const AVAILABLE_ULP: &str = "/proc/sys/net/ipv4/tcp_available_ulp";

#[derive(Debug, Error)]
pub enum KtlsError {
    #[error("extracting the TLS secrets: {0}")]
    Secrets(rustls::Error),
    #[error("{0} secrets are not AES-GCM")]
    Cipher(&'static str),
    #[error("the kernel refused the {0} keys: {1}")]
    Install(&'static str, io::Error),
}

/// `Ok` when the kernel offers kTLS; otherwise what it offers (or why that could not be read).
pub fn kernel_support() -> &'static Result<(), String> {
    static SUPPORT: OnceLock<Result<(), String>> = OnceLock::new();
    SUPPORT.get_or_init(|| match std::fs::read_to_string(AVAILABLE_ULP) {
        Ok(list) if list.split_whitespace().any(|ulp| ulp == "tls") => Ok(()),
        Ok(list) => Err(format!("tcp_available_ulp: {}", list.trim())),
        Err(e) => Err(format!("{AVAILABLE_ULP}: {e}")),
    })
}

/// Where a connection's TLS runs after `offload`.
pub enum Offload {
    /// In the kernel: the socket carries plaintext for us from now on.
    Kernel,
    /// Still in rustls, for the reason given.
    Userspace(Box<ServerConnection>, String),
}

/// Moves `tls` (handshake done, nothing pending) into the kernel on socket `fd` if the session allows.
pub fn offload(fd: RawFd, tls: ServerConnection) -> Result<Offload, KtlsError> {
    let version = match tls.protocol_version() {
        Some(ProtocolVersion::TLSv1_2) => libc::TLS_1_2_VERSION,
        Some(ProtocolVersion::TLSv1_3) => libc::TLS_1_3_VERSION,
        other => {
            return Ok(Offload::Userspace(
                Box::new(tls),
                format!("{other:?} is not offloaded"),
            ))
        }
    };
    let suite = tls.negotiated_cipher_suite().map(|s| s.suite());
    let aes_gcm = matches!(
        suite,
        Some(
            CipherSuite::TLS13_AES_128_GCM_SHA256
                | CipherSuite::TLS13_AES_256_GCM_SHA384
                | CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
                | CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
                | CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
                | CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
        )
    );
    if !aes_gcm {
        let reason = format!("cipher suite {suite:?} is not AES-GCM");
        return Ok(Offload::Userspace(Box::new(tls), reason));
    }
    // The ULP alone changes nothing on the wire, so a refusal here still leaves user-space TLS.
    if let Err(e) = set_option(fd, libc::SOL_TCP, libc::TCP_ULP, b"tls") {
        let reason = format!("the kernel refused the tls ULP: {e}");
        return Ok(Offload::Userspace(Box::new(tls), reason));
    }
    let secrets = tls
        .dangerous_extract_secrets()
        .map_err(KtlsError::Secrets)?;
    install(fd, libc::TLS_TX, "TLS_TX", version, secrets.tx)?;
    install(fd, libc::TLS_RX, "TLS_RX", version, secrets.rx)?;
    Ok(Offload::Kernel)
}

fn install(
    fd: RawFd,
    direction: libc::c_int,
    name: &'static str,
    version: u16,
    (seq, secrets): (u64, ConnectionTrafficSecrets),
) -> Result<(), KtlsError> {
    match secrets {
        ConnectionTrafficSecrets::Aes128Gcm { key, iv } => {
            let info = libc::tls12_crypto_info_aes_gcm_128::new(version, seq);
            install_aes_gcm(fd, direction, name, info, key.as_ref(), iv.as_ref())
        }
        ConnectionTrafficSecrets::Aes256Gcm { key, iv } => {
            let info = libc::tls12_crypto_info_aes_gcm_256::new(version, seq);
            install_aes_gcm(fd, direction, name, info, key.as_ref(), iv.as_ref())
        }
        _ => Err(KtlsError::Cipher(name)),
    }
}

/// The kernel's per-cipher key structs (`tls12_crypto_info_aes_gcm_{128,256}`, used for TLS 1.3 too),
/// which differ only in their array sizes.
trait AesGcmInfo {
    fn new(version: u16, seq: u64) -> Self;
    /// (key, salt, iv), to be filled from rustls's secrets.
    fn parts(&mut self) -> (&mut [u8], &mut [u8], &mut [u8]);
}

macro_rules! aes_gcm_info {
    ($info:ident, $cipher:ident, $iv:ident, $key:ident, $salt:ident) => {
        impl AesGcmInfo for libc::$info {
            fn new(version: u16, seq: u64) -> Self {
                libc::$info {
                    info: libc::tls_crypto_info {
                        version,
                        cipher_type: libc::$cipher,
                    },
                    iv: [0; libc::$iv],
                    key: [0; libc::$key],
                    salt: [0; libc::$salt],
                    rec_seq: seq.to_be_bytes(),
                }
            }
            fn parts(&mut self) -> (&mut [u8], &mut [u8], &mut [u8]) {
                (&mut self.key, &mut self.salt, &mut self.iv)
            }
        }
    };
}

aes_gcm_info!(
    tls12_crypto_info_aes_gcm_128,
    TLS_CIPHER_AES_GCM_128,
    TLS_CIPHER_AES_GCM_128_IV_SIZE,
    TLS_CIPHER_AES_GCM_128_KEY_SIZE,
    TLS_CIPHER_AES_GCM_128_SALT_SIZE
);
aes_gcm_info!(
    tls12_crypto_info_aes_gcm_256,
    TLS_CIPHER_AES_GCM_256,
    TLS_CIPHER_AES_GCM_256_IV_SIZE,
    TLS_CIPHER_AES_GCM_256_KEY_SIZE,
    TLS_CIPHER_AES_GCM_256_SALT_SIZE
);

/// Fills `info` with one direction's key and IV and hands it to the kernel, then wipes our copy.
/// rustls's 12-byte IV is the kernel's 4-byte salt followed by its 8-byte IV.
fn install_aes_gcm<T: AesGcmInfo>(
    fd: RawFd,
    direction: libc::c_int,
    name: &'static str,
    mut info: T,
    key: &[u8],
    iv: &[u8],
) -> Result<(), KtlsError> {
    let (salt, nonce) = iv.split_at_checked(4).ok_or(KtlsError::Cipher(name))?;
    let (k, s, n) = info.parts();
    let filled = fill(k, key, name)
        .and_then(|()| fill(s, salt, name))
        .and_then(|()| fill(n, nonce, name));
    let result = filled.and_then(|()| {
        set_option(fd, libc::SOL_TLS, direction, &info).map_err(|e| KtlsError::Install(name, e))
    });
    wipe(info.parts().0);
    result
}

/// Copies key material, refusing (instead of panicking) on a length rustls never produces.
fn fill(dst: &mut [u8], src: &[u8], name: &'static str) -> Result<(), KtlsError> {
    match dst.len() == src.len() {
        true => {
            dst.copy_from_slice(src);
            Ok(())
        }
        false => Err(KtlsError::Cipher(name)),
    }
}

/// Clears our copy of a key once the kernel has it (volatile, so it is not optimised away).
fn wipe(key: &mut [u8]) {
    for b in key.iter_mut() {
        // SAFETY: `b` is a valid, aligned, exclusive reference into `key`.
        unsafe { std::ptr::write_volatile(b, 0) };
    }
}

fn set_option<T>(fd: RawFd, level: libc::c_int, name: libc::c_int, value: &T) -> io::Result<()> {
    // SAFETY: `value` points to an initialised T that lives for the call, and its exact size is passed.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    match rc {
        0 => Ok(()),
        _ => Err(io::Error::last_os_error()),
    }
}
