//! The server side of the TLS handshake over the connection's socket, with a time limit.
//!
//! The socket is read one TLS record at a time (header, then exactly its body), so when the handshake
//! ends rustls holds no bytes the client sent after its Finished: whatever follows is still in the
//! socket, where kernel TLS (if it takes over) or the user-space reader finds it.

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::TcpStream;
use rustls::{ServerConfig, ServerConnection};
use std::io;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

/// A client that has not finished its handshake by then is dropped, so stalled or silent peers do not
/// hold connections open.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// TLS 1.2's largest record body (2^14 + 2048); anything longer is not TLS.
const MAX_RECORD: usize = 16384 + 2048;
const RECORD_HEADER: usize = 5;

#[derive(Debug, Error)]
pub enum HandshakeError {
    #[error("no TLS handshake within {0:?}")]
    Timeout(Duration),
    #[error("closed by the client during the TLS handshake")]
    Closed,
    #[error("a {0}-byte TLS record: not a TLS client")]
    RecordTooLarge(usize),
    #[error("not a TLS record (a plaintext client on a TLS listener?)")]
    NotTls,
    #[error("TLS handshake failed: {0}")]
    Tls(#[from] rustls::Error),
    #[error("i/o during the TLS handshake: {0}")]
    Io(io::Error),
}

impl From<io::Error> for HandshakeError {
    fn from(e: io::Error) -> HandshakeError {
        match e.kind() {
            io::ErrorKind::UnexpectedEof => HandshakeError::Closed,
            _ => HandshakeError::Io(e),
        }
    }
}

/// Runs the handshake on `stream`; the returned connection is ready for application data.
pub async fn accept(
    stream: &mut TcpStream,
    config: Arc<ServerConfig>,
) -> Result<ServerConnection, HandshakeError> {
    let handshake = drive(stream, config);
    let timeout = async {
        glommio::timer::sleep(HANDSHAKE_TIMEOUT).await;
        Err(HandshakeError::Timeout(HANDSHAKE_TIMEOUT))
    };
    futures_lite::future::or(handshake, timeout).await
}

async fn drive(
    stream: &mut TcpStream,
    config: Arc<ServerConfig>,
) -> Result<ServerConnection, HandshakeError> {
    let mut tls = ServerConnection::new(config)?;
    let mut out = Vec::new();
    let mut record = Vec::new();
    while tls.is_handshaking() {
        send_pending(stream, &mut tls, &mut out).await?;
        read_record(stream, &mut record).await?;
        let mut rest = record.as_slice();
        while !rest.is_empty() {
            if tls.read_tls(&mut rest)? == 0 {
                break;
            }
            if let Err(e) = tls.process_new_packets() {
                // rustls queued an alert saying why; the client should see it before the close.
                let _ = send_pending(stream, &mut tls, &mut out).await;
                return Err(e.into());
            }
        }
    }
    // TLS 1.2: the server's Finished goes out after the client's.
    send_pending(stream, &mut tls, &mut out).await?;
    Ok(tls)
}

/// Reads one whole TLS record (header and body) into `record`.
async fn read_record(stream: &mut TcpStream, record: &mut Vec<u8>) -> Result<(), HandshakeError> {
    let mut header = [0u8; RECORD_HEADER];
    stream.read_exact(&mut header).await?;
    // Content type change_cipher_spec..application_data (20–23), protocol version 3.x: anything else
    // (a plaintext Kafka request starts with 0) is refused now rather than after waiting for its body.
    if !(20..=23).contains(&header[0]) || header[1] != 3 {
        return Err(HandshakeError::NotTls);
    }
    let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
    if len > MAX_RECORD {
        return Err(HandshakeError::RecordTooLarge(len));
    }
    record.clear();
    record.extend_from_slice(&header);
    record.resize(RECORD_HEADER + len, 0);
    stream.read_exact(&mut record[RECORD_HEADER..]).await?;
    Ok(())
}

/// Writes whatever rustls has queued for the peer.
pub async fn send_pending(
    stream: &mut TcpStream,
    tls: &mut ServerConnection,
    out: &mut Vec<u8>,
) -> io::Result<()> {
    out.clear();
    while tls.wants_write() {
        tls.write_tls(out)?;
    }
    if !out.is_empty() {
        stream.write_all(out).await?;
    }
    Ok(())
}
