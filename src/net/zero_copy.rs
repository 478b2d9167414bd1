//! Sending a response frame: memory chunks through glommio's async write, file chunks with `sendfile`
//! straight from the segment's page cache to the socket.
//!
//! glommio 0.9 offers no sendfile and no "wait until writable", so: the socket is non-blocking, `sendfile`
//! runs until the socket buffer is full (EAGAIN), then one small piece of the file is copied and written
//! through glommio's async write — which parks the task until the socket drains — and `sendfile` resumes.
//! Only that piece (at most `EAGAIN_BRIDGE` bytes per stall) is copied.

use crate::kafka::frame::{Chunk, ResponseFrame};
use crate::storage::FileSlice;
use futures_lite::AsyncWriteExt;
use glommio::net::TcpStream;
use std::io;
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;

/// Small on purpose: it only has to make glommio wait for POLLOUT (a third of the send buffer free),
/// after which sendfile moves the bulk; anything bigger is copied needlessly.
const EAGAIN_BRIDGE: usize = 1024;
const COPY_CHUNK: usize = 64 * 1024;

/// Puts the socket in non-blocking mode so `sendfile` returns EAGAIN instead of stalling the shard.
pub fn set_nonblocking(stream: &TcpStream) -> io::Result<()> {
    let fd = stream.as_raw_fd();
    // SAFETY: fcntl on a valid, owned socket fd with standard flags.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Sends a frame; file chunks go by `sendfile` when `zero_copy`, else through a user-space buffer.
pub async fn write_frame(
    stream: &mut TcpStream,
    frame: &ResponseFrame,
    zero_copy: bool,
) -> io::Result<()> {
    for chunk in &frame.chunks {
        match chunk {
            Chunk::Memory(bytes) => stream.write_all(bytes).await?,
            Chunk::File(slice) if zero_copy => send_file(stream, slice).await?,
            Chunk::File(slice) => copy_file(stream, slice).await?,
        }
    }
    Ok(())
}

/// The copying path: pread into a buffer, then an async write. Used to bridge a full socket buffer,
/// and for the whole fetch when zero-copy is turned off.
async fn copy_file(stream: &mut TcpStream, slice: &FileSlice) -> io::Result<()> {
    let end = slice.position + slice.len;
    let mut buf = vec![0u8; COPY_CHUNK.min(slice.len as usize)];
    let mut pos = slice.position;
    while pos < end {
        let len = buf.len().min((end - pos) as usize);
        slice.file.read_exact_at(&mut buf[..len], pos)?;
        stream.write_all(&buf[..len]).await?;
        pos += len as u64;
    }
    Ok(())
}

async fn send_file(stream: &mut TcpStream, slice: &FileSlice) -> io::Result<()> {
    let socket = stream.as_raw_fd();
    let file = slice.file.as_raw_fd();
    let mut pos = slice.position;
    let end = slice.position + slice.len;
    while pos < end {
        let mut offset = pos as libc::off_t;
        // SAFETY: both fds are open for the duration of the call (the Arc<File> and the stream are borrowed);
        // `offset` is a valid out-parameter.
        let n = unsafe { libc::sendfile(socket, file, &mut offset, (end - pos) as usize) };
        if n > 0 {
            pos += n as u64;
            continue;
        }
        let err = io::Error::last_os_error();
        match err.kind() {
            _ if n == 0 => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "segment file shorter than its index says",
                ))
            }
            io::ErrorKind::Interrupted => {}
            io::ErrorKind::WouldBlock => {
                // Bridge the stall: copy a small piece and let glommio wait for the socket to drain.
                let len = EAGAIN_BRIDGE.min((end - pos) as usize) as u64;
                let piece = FileSlice {
                    file: slice.file.clone(),
                    position: pos,
                    len,
                };
                copy_file(stream, &piece).await?;
                pos += len;
            }
            _ => return Err(err),
        }
    }
    Ok(())
}
