//! Plain types every layer may use: protocol-free, runtime-free state and wake-ups. Nothing here imports
//! another module of the crate.

pub mod replica_set;
pub mod roles;
pub mod signal;
mod tls_path;
pub mod voters;

pub use tls_path::TlsPath;
