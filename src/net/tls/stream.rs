//! User-space TLS after the handshake: the connection's reader and writer halves (two fds of one
//! socket, see `net::connection`) share the rustls session on their shard (`Rc<RefCell<_>>`, borrowed
//! only between awaits). The reader decrypts as it reads; the writer encrypts each response frame —
//! file chunks of fetch responses are read into memory first, since the bytes must pass through the
//! cipher (no sendfile).
//!
//! Messages rustls must send on its own after the handshake (a TLS 1.3 KeyUpdate answer) wait in the
//! session until the writer's next flush; the peer does not wait for them.

use crate::kafka::frame::{Chunk, ResponseFrame};
use futures_lite::{AsyncRead, AsyncWriteExt};
use glommio::net::TcpStream;
use rustls::ServerConnection;
use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{ready, Context, Poll};

/// One TLS record's worth of ciphertext per socket read.
const READ_BUF: usize = 16 * 1024 + 512;
const FILE_CHUNK: usize = 64 * 1024;

pub type Session = Rc<RefCell<ServerConnection>>;

pub struct TlsReader {
    stream: TcpStream,
    tls: Session,
    buf: Box<[u8]>,
    /// Ciphertext in `buf` that rustls has not taken yet.
    pending: std::ops::Range<usize>,
}

impl TlsReader {
    pub fn new(stream: TcpStream, tls: Session) -> TlsReader {
        TlsReader {
            stream,
            tls,
            buf: vec![0; READ_BUF].into_boxed_slice(),
            pending: 0..0,
        }
    }
}

fn invalid(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

impl AsyncRead for TlsReader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        loop {
            match this.tls.borrow_mut().reader().read(out) {
                Ok(n) => return Poll::Ready(Ok(n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
            // No plaintext buffered: feed rustls more ciphertext, from `buf` or else the socket.
            if this.pending.is_empty() {
                let n = ready!(Pin::new(&mut this.stream).poll_read(cx, &mut this.buf))?;
                if n == 0 {
                    return Poll::Ready(Ok(0));
                }
                this.pending = 0..n;
            }
            let mut tls = this.tls.borrow_mut();
            let mut rest = &this.buf[this.pending.clone()];
            let taken = tls.read_tls(&mut rest)?;
            if taken == 0 {
                // Cannot happen with no plaintext buffered; never spin on it.
                return Poll::Ready(Err(io::Error::other("TLS receive buffer full")));
            }
            this.pending.start += taken;
            tls.process_new_packets().map_err(invalid)?;
        }
    }
}

pub struct TlsWriter {
    stream: TcpStream,
    tls: Session,
    /// Ciphertext on its way to the socket; reused.
    out: Vec<u8>,
    /// File chunks are read here before encryption; reused.
    file_buf: Vec<u8>,
}

impl TlsWriter {
    pub fn new(stream: TcpStream, tls: Session) -> TlsWriter {
        TlsWriter {
            stream,
            tls,
            out: Vec::new(),
            file_buf: Vec::new(),
        }
    }

    /// Encrypts and sends one response frame.
    pub async fn write_frame(&mut self, frame: &ResponseFrame) -> io::Result<()> {
        let mut file_buf = std::mem::take(&mut self.file_buf);
        for chunk in &frame.chunks {
            match chunk {
                Chunk::Memory(bytes) => self.write_plain(bytes).await?,
                Chunk::File(slice) => {
                    file_buf.resize(FILE_CHUNK.min(slice.len as usize), 0);
                    let end = slice.position + slice.len;
                    let mut pos = slice.position;
                    while pos < end {
                        let len = file_buf.len().min((end - pos) as usize);
                        slice.file.read_exact_at(&mut file_buf[..len], pos)?;
                        self.write_plain(&file_buf[..len]).await?;
                        pos += len as u64;
                    }
                }
            }
        }
        self.file_buf = file_buf;
        self.flush().await
    }

    /// Hands `data` to rustls, sending ciphertext whenever its buffer is full.
    async fn write_plain(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let taken = self.tls.borrow_mut().writer().write(data)?;
            data = &data[taken..];
            if !data.is_empty() {
                self.flush().await?;
            }
        }
        Ok(())
    }

    /// Sends all ciphertext rustls holds.
    async fn flush(&mut self) -> io::Result<()> {
        self.out.clear();
        {
            let mut tls = self.tls.borrow_mut();
            while tls.wants_write() {
                tls.write_tls(&mut self.out)?;
            }
        }
        if !self.out.is_empty() {
            self.stream.write_all(&self.out).await?;
        }
        Ok(())
    }
}
