//! A connection's two halves as `connection` drives them: plain sockets (PLAINTEXT, SASL_PLAINTEXT, and
//! TLS sessions the kernel took over) or user-space TLS. The halves are two glommio streams over
//! `dup`ed fds of the same socket, so the writer can `sendfile` while the reader waits for a request.

use super::tls::{TlsReader, TlsWriter};
use super::zero_copy;
use crate::kafka::frame::ResponseFrame;
use futures_lite::AsyncRead;
use glommio::net::TcpStream;
use rustls::ServerConnection;
use std::cell::RefCell;
use std::io;
use std::os::unix::io::{AsRawFd, FromRawFd};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

pub enum ReadHalf {
    Plain(TcpStream),
    Tls(TlsReader),
}

pub enum WriteHalf {
    /// File chunks go by sendfile when `zero_copy` (`fetch_zero_copy`), else through a buffer.
    Plain {
        stream: TcpStream,
        zero_copy: bool,
    },
    Tls(TlsWriter),
}

/// Splits an accepted (and, on TLS listeners, handshaken) socket; `tls` is the rustls session when TLS
/// runs in user space.
pub fn split(
    stream: TcpStream,
    tls: Option<Rc<RefCell<ServerConnection>>>,
    zero_copy: bool,
) -> io::Result<(ReadHalf, WriteHalf)> {
    let writer = writer_half(&stream)?;
    Ok(match tls {
        None => (
            ReadHalf::Plain(stream),
            WriteHalf::Plain {
                stream: writer,
                zero_copy,
            },
        ),
        Some(tls) => (
            ReadHalf::Tls(TlsReader::new(stream, tls.clone())),
            WriteHalf::Tls(TlsWriter::new(writer, tls)),
        ),
    })
}

fn writer_half(stream: &TcpStream) -> io::Result<TcpStream> {
    // SAFETY: dup of an open socket fd; the new fd is owned by the returned stream alone.
    let fd = unsafe { libc::dup(stream.as_raw_fd()) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh, owned, connected TCP socket.
    let writer = unsafe { TcpStream::from_raw_fd(fd) };
    zero_copy::set_nonblocking(&writer)?;
    Ok(writer)
}

impl AsyncRead for ReadHalf {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ReadHalf::Plain(stream) => Pin::new(stream).poll_read(cx, buf),
            ReadHalf::Tls(reader) => Pin::new(reader).poll_read(cx, buf),
        }
    }
}

impl WriteHalf {
    pub async fn write_frame(&mut self, frame: &ResponseFrame) -> io::Result<()> {
        match self {
            WriteHalf::Plain { stream, zero_copy } => {
                zero_copy::write_frame(stream, frame, *zero_copy).await
            }
            WriteHalf::Tls(writer) => writer.write_frame(frame).await,
        }
    }
}
