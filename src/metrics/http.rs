//! The admin HTTP endpoint (`--admin-listen`): `GET /metrics` (Prometheus text format), `GET /health`
//! (200 while the process is up) and `GET /ready` (200 once every shard accepts Kafka connections,
//! 503 before).
//!
//! It runs on its own std thread (with `tiny_http`'s small pool for connections), not on a shard: a
//! scrape only reads atomics, so it needs nothing from the shards' executors, and a slow or hostile
//! HTTP client can never stall a shard's Kafka traffic. It starts before the shards, so `/ready`
//! answers 503 during recovery.

use super::Registry;
use std::net::SocketAddr;
use std::sync::Arc;
use thiserror::Error;
use tiny_http::{Header, Method, Response, Server};
use tracing::{debug, info};

#[derive(Debug, Error)]
pub enum AdminError {
    #[error("cannot listen on admin address {addr}: {reason}")]
    Bind { addr: SocketAddr, reason: String },
    #[error("cannot start the admin HTTP thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// Binds `addr` and serves the admin endpoints on a thread of their own for the life of the process.
/// Returns the bound address (useful when `addr` has port 0).
pub fn start(addr: SocketAddr, registry: Arc<Registry>) -> Result<SocketAddr, AdminError> {
    let server = Server::http(addr).map_err(|e| AdminError::Bind {
        addr,
        reason: e.to_string(),
    })?;
    let bound = server
        .server_addr()
        .to_ip()
        .ok_or_else(|| AdminError::Bind {
            addr,
            reason: "not an IP listener".into(),
        })?;
    std::thread::Builder::new()
        .name("admin-http".into())
        .spawn(move || serve(&server, &registry))?;
    info!(addr = %bound, "admin HTTP endpoint listening (/metrics, /health, /ready)");
    Ok(bound)
}

fn serve(server: &Server, registry: &Registry) {
    for request in server.incoming_requests() {
        let path = request.url().split('?').next().unwrap_or("");
        let (status, body, content_type) = match (request.method(), path) {
            (Method::Get, "/metrics") => (
                200,
                registry.render(),
                "text/plain; version=0.0.4; charset=utf-8",
            ),
            (Method::Get, "/health") => (200, "ok\n".to_string(), "text/plain; charset=utf-8"),
            (Method::Get, "/ready") if registry.ready() => {
                (200, "ready\n".to_string(), "text/plain; charset=utf-8")
            }
            (Method::Get, "/ready") => (503, "starting\n".to_string(), "text/plain; charset=utf-8"),
            (Method::Get, _) => (404, "not found\n".to_string(), "text/plain; charset=utf-8"),
            _ => (
                405,
                "only GET is supported\n".to_string(),
                "text/plain; charset=utf-8",
            ),
        };
        let header =
            Header::from_bytes("Content-Type", content_type).expect("a static, valid header");
        let response = Response::from_string(body)
            .with_status_code(status)
            .with_header(header);
        if let Err(e) = request.respond(response) {
            debug!(error = %e, "admin HTTP response not delivered");
        }
    }
}
