//! Every shard binds every listener's port with SO_REUSEPORT, so the kernel spreads new connections over
//! shards and a connection stays on the shard that accepted it. Each connection knows its listener
//! (name, security protocol, advertised address); on SSL and SASL_SSL listeners the shard's TLS
//! `Acceptor` goes with it.

use super::connection;
use super::tls::{Acceptor, Loaded};
use crate::kafka::scope::Scope;
use crate::metrics::Registry;
use crate::security::listener::Listener;
use glommio::net::TcpListener;
use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::os::unix::io::{FromRawFd, IntoRawFd};
use std::rc::Rc;
use tracing::{info, warn};

const LISTEN_BACKLOG: i32 = 1024;

fn bind_reuseport(addr: std::net::SocketAddr) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    // glommio links an older socket2, so the listener crosses over as a raw fd.
    // SAFETY: the fd comes from `into_raw_fd`, so this listener becomes its only owner.
    Ok(unsafe { TcpListener::from_raw_fd(socket.into_raw_fd()) })
}

/// SO_REUSEPORT would let a second broker silently share the port (and split clients between two
/// brokers), so before the shards bind we check that nobody accepts connections there already.
/// (A plain bind probe is no good: connections of a killed predecessor linger in FIN_WAIT and block it.)
pub fn ensure_port_free(addr: std::net::SocketAddr) -> io::Result<()> {
    let mut probe = addr;
    if probe.ip().is_unspecified() {
        probe.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    // A predecessor killed a moment ago may still have its listener open while the kernel tears down
    // its io_uring; give that a few seconds before calling the port taken.
    for _ in 0..50 {
        if std::net::TcpStream::connect_timeout(&probe, std::time::Duration::from_millis(200))
            .is_err()
        {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Err(io::Error::new(
        io::ErrorKind::AddrInUse,
        "another process is accepting connections there",
    ))
}

/// Binds every listener on this shard, then accepts on all of them until the shard stops. `tls` is the
/// startup TLS config (present when a listener uses TLS).
pub async fn run(
    scope: Rc<Scope>,
    registry: &Registry,
    listeners: &[Listener],
    tls: Option<Loaded>,
) -> io::Result<()> {
    let acceptor = tls.map(|loaded| Rc::new(Acceptor::new(scope.id, loaded)));
    let mut bound = Vec::with_capacity(listeners.len());
    for l in listeners {
        let socket = bind_reuseport(l.bind).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot listen on {} ({}): {e}", l.bind, l.name),
            )
        })?;
        info!(shard = scope.id, listener = %l.name, protocol = %l.protocol, addr = %l.bind, "listening");
        bound.push((socket, Rc::new(l.clone())));
    }
    registry.shard_listening();
    let tasks: Vec<_> = bound
        .into_iter()
        .map(|(socket, listener)| {
            let tls = acceptor.clone().filter(|_| listener.protocol.uses_tls());
            glommio::spawn_local(accept_loop(scope.clone(), socket, listener, tls))
        })
        .collect();
    for t in tasks {
        t.await;
    }
    Ok(())
}

async fn accept_loop(
    scope: Rc<Scope>,
    listener: TcpListener,
    info: Rc<Listener>,
    tls: Option<Rc<Acceptor>>,
) {
    loop {
        match listener.accept().await {
            Ok(stream) => {
                let serve = connection::serve(scope.clone(), stream, info.clone(), tls.clone());
                glommio::spawn_local(serve).detach();
            }
            Err(e) => {
                warn!(shard = scope.id, listener = %info.name, error = %e, "accept failed");
                glommio::timer::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    }
}
