//! Where a TLS connection's encryption runs: a plain type shared by the TLS code and the metrics.

/// Where a TLS connection's records are encrypted and decrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsPath {
    /// In the kernel (kTLS): fetches keep sendfile.
    Kernel,
    /// In rustls: fetched records are copied and encrypted.
    Userspace,
}

impl TlsPath {
    pub const ALL: [TlsPath; 2] = [TlsPath::Kernel, TlsPath::Userspace];

    /// The name in logs and in the `path` label of `shardlog_tls_connections_total`.
    pub fn name(self) -> &'static str {
        match self {
            TlsPath::Kernel => "ktls",
            TlsPath::Userspace => "userspace",
        }
    }
}
