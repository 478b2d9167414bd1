//! A client connection's reading and writing halves: two handles of a plain socket, or the two halves
//! of a TLS session (`tls`). Both read and write whole frames through `Read`/`Write`.

use super::tls::{self, TlsReadHalf, TlsWriteHalf};
use super::ClientError;
use rustls::ClientConfig;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

pub enum ReadHalf {
    Plain(TcpStream),
    Tls(TlsReadHalf),
}

pub enum WriteHalf {
    Plain(TcpStream),
    Tls(TlsWriteHalf),
}

/// Splits a connected socket, after a TLS handshake with `addr` when `tls` is set.
pub fn open(
    mut socket: TcpStream,
    addr: &str,
    tls: Option<&Arc<ClientConfig>>,
    timeout: Duration,
) -> Result<(ReadHalf, WriteHalf), ClientError> {
    Ok(match tls {
        None => (
            ReadHalf::Plain(socket.try_clone()?),
            WriteHalf::Plain(socket),
        ),
        Some(config) => {
            let session = tls::handshake(&mut socket, config.clone(), addr, timeout)?;
            let (r, w) = tls::split(socket, session)?;
            (ReadHalf::Tls(r), WriteHalf::Tls(w))
        }
    })
}

impl ReadHalf {
    pub fn socket(&self) -> &TcpStream {
        match self {
            ReadHalf::Plain(s) => s,
            ReadHalf::Tls(t) => t.socket(),
        }
    }
}

impl Read for ReadHalf {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            ReadHalf::Plain(s) => s.read(buf),
            ReadHalf::Tls(t) => t.read(buf),
        }
    }
}

impl Write for WriteHalf {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            WriteHalf::Plain(s) => s.write(buf),
            WriteHalf::Tls(t) => t.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            WriteHalf::Plain(s) => s.flush(),
            WriteHalf::Tls(t) => t.flush(),
        }
    }
}
