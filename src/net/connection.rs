//! One client connection: read frames, start handling each at once (pipelining), write responses strictly
//! in request order (Kafka clients rely on it). At most `MAX_IN_FLIGHT` requests are in progress per
//! connection; beyond that the reader stops reading, which pushes back on the client through TCP.
//!
//! Reading and writing use two halves over `dup`ed fds of the same socket (`transport`), so the writer
//! can `sendfile` while the reader waits for the next request. On TLS listeners the handshake comes
//! first (`tls::establish`); then the halves are plain sockets again (kTLS) or user-space TLS.

use super::tls::{self, Acceptor, TlsPath};
use super::transport;
use crate::kafka::frame::ResponseFrame;
use crate::kafka::scope::Scope;
use crate::kafka::{self, Outcome};
use crate::metrics::GaugeGuard;
use crate::security::listener::Listener;
use crate::security::session::Connection;
use bytes::{Bytes, BytesMut};
use futures_lite::{AsyncRead, AsyncReadExt};
use glommio::channels::local_channel;
use glommio::net::TcpStream;
use glommio::Task;
use std::io;
use std::os::unix::io::AsRawFd;
use std::rc::Rc;
use std::sync::atomic::Ordering::Relaxed;
use thiserror::Error;
use tracing::{debug, warn};

const MAX_IN_FLIGHT: usize = 64;

/// Largest frame accepted from a SASL connection before it has authenticated (Kafka's
/// `sasl.server.max.receive.size` default), so strangers cannot make the broker buffer 100 MB requests.
const MAX_UNAUTHENTICATED_FRAME: usize = 512 * 1024;

#[derive(Debug, Error)]
enum FrameError {
    #[error("connection closed")]
    Closed,
    #[error("request of {size} bytes exceeds socket.request.max.bytes {max}")]
    TooLarge { size: usize, max: usize },
    #[error("negative frame size {0}")]
    Negative(i32),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Reads one frame; `max` is asked once its length is known (the limit can change meanwhile: a SASL
/// connection may have authenticated while the reader waited).
async fn read_frame(
    stream: &mut (impl AsyncRead + Unpin),
    max: impl Fn() -> usize,
) -> Result<Bytes, FrameError> {
    let mut len = [0u8; 4];
    match stream.read_exact(&mut len).await {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Err(FrameError::Closed),
        Err(e) => return Err(e.into()),
    }
    let size = i32::from_be_bytes(len);
    let size = usize::try_from(size).map_err(|_| FrameError::Negative(size))?;
    let max = max();
    if size > max {
        return Err(FrameError::TooLarge { size, max });
    }
    let mut buf = BytesMut::zeroed(size);
    stream.read_exact(&mut buf).await?;
    Ok(buf.freeze())
}

/// Serves one accepted connection; `tls` is the shard's TLS acceptor on SSL and SASL_SSL listeners.
pub async fn serve(
    scope: Rc<Scope>,
    mut stream: TcpStream,
    listener: Rc<Listener>,
    tls: Option<Rc<Acceptor>>,
) {
    let peer = stream
        .peer_addr()
        .map_or_else(|_| "unknown".to_string(), |a| a.to_string());
    let _ = stream.set_nodelay(true);
    let peer_host: Rc<str> = stream
        .peer_addr()
        .map_or_else(|_| "unknown".into(), |a| a.ip().to_string().into());
    let metrics = &*scope.metrics;
    metrics.connections_accepted.fetch_add(1, Relaxed);
    let _open = GaugeGuard::inc(&metrics.connections_open);
    let (session, tls_principal, path) = match &tls {
        None => (None, None, None),
        Some(acceptor) => match tls::establish(&mut stream, acceptor).await {
            Ok(done) => {
                metrics.count_tls_connection(done.path);
                (done.session, done.principal, Some(done.path))
            }
            Err(e) => {
                metrics.tls_handshake_failures.fetch_add(1, Relaxed);
                warn!(%peer, listener = %listener.name, error = %e, "TLS handshake failed; closing connection");
                return;
            }
        },
    };
    let socket_fd = stream.as_raw_fd();
    let (mut reader, mut writer) =
        match transport::split(stream, session, scope.config.fetch_zero_copy) {
            Ok(halves) => halves,
            Err(e) => {
                warn!(%peer, error = %e, "cannot set up connection");
                return;
            }
        };
    // The connection's security state (listener, protocol, SASL session, principal): the Kafka layer
    // reads and drives it.
    let conn = Rc::new(Connection::new(peer_host, listener.clone(), tls_principal));
    let principal = conn
        .session
        .borrow()
        .principal()
        .map_or_else(|| "(SASL login pending)".to_string(), |p| p.to_string());
    debug!(%peer, shard = scope.id, listener = %listener.name, tls = %path.map_or("none", TlsPath::name), %principal, "connection opened");
    let (tx, rx) = local_channel::new_bounded::<Task<Outcome>>(MAX_IN_FLIGHT);
    let peer_w = peer.clone();
    let writer_task = glommio::spawn_local(async move {
        while let Some(task) = rx.recv().await {
            // Failed authentication answers and then closes: the client gets the error first.
            let (frame, close): (Option<ResponseFrame>, Option<String>) = match task.await {
                Outcome::Respond(frame) => (Some(frame), None),
                Outcome::NoResponse => continue,
                Outcome::Close(reason) => (None, Some(reason)),
                Outcome::RespondAndClose(frame, reason) => (Some(frame), Some(reason)),
            };
            let mut written = true;
            if let Some(frame) = frame {
                if let Err(e) = writer.write_frame(&frame).await {
                    debug!(peer = %peer_w, error = %e, "write failed");
                    written = false;
                }
            }
            if let Some(reason) = close {
                warn!(peer = %peer_w, %reason, "closing connection");
                break;
            }
            if !written {
                break;
            }
        }
        // Wake the reader if we stopped first (it reads from the other fd of the same socket).
        // SAFETY: shutdown on a socket fd that is still open (the reader owns it until it returns).
        unsafe { libc::shutdown(socket_fd, libc::SHUT_RDWR) };
    });
    loop {
        let max = || {
            let max = scope.config.socket_request_max_bytes;
            match conn.session.borrow().principal() {
                Some(_) => max,
                None => max.min(MAX_UNAUTHENTICATED_FRAME),
            }
        };
        match read_frame(&mut reader, max).await {
            Ok(frame) => {
                let task = glommio::spawn_local(kafka::handle(scope.clone(), frame, conn.clone()));
                if tx.send(task).await.is_err() {
                    break;
                }
            }
            Err(FrameError::Closed) => break,
            Err(e @ (FrameError::TooLarge { .. } | FrameError::Negative(_))) => {
                warn!(%peer, error = %e, "bad frame; closing connection");
                break;
            }
            // Only TLS reports undecryptable bytes (InvalidData): worth a line, unlike a reset.
            Err(FrameError::Io(e)) if e.kind() == io::ErrorKind::InvalidData => {
                warn!(%peer, error = %e, "bad TLS data; closing connection");
                break;
            }
            Err(FrameError::Io(e)) => {
                debug!(%peer, error = %e, "read failed");
                break;
            }
        }
    }
    drop(tx);
    writer_task.await;
    debug!(%peer, "connection closed");
}
