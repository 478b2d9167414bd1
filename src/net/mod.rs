//! Client-facing networking: listeners, connections, framing, in-order responses and zero-copy sends.
pub mod connection;
pub mod server;
pub mod tls;
mod transport;
pub mod zero_copy;
