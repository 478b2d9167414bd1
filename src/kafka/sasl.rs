//! SaslHandshake (v1) and SaslAuthenticate (v0–v2): drive the connection's security session. A failed
//! step answers with its error and closes the connection, as Kafka does: unsupported mechanism →
//! UNSUPPORTED_SASL_MECHANISM with the enabled list; bad credentials or a malformed message →
//! SASL_AUTHENTICATION_FAILED with a message; out-of-order requests → ILLEGAL_SASL_STATE.

use super::scope::Scope;
use super::{counted, counted_then_close, Outcome, RequestContext};
use crate::security::sasl::parse_enabled;
use crate::security::session::{AuthError, AuthStep, Connection, HandshakeError};
use bytes::Bytes;
use kafka_protocol::messages::{
    SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use std::time::Instant;
use tracing::info;

pub fn handshake(
    scope: &Scope,
    ctx: &RequestContext,
    conn: &Connection,
    req: SaslHandshakeRequest,
) -> Outcome {
    // Validated when the config was loaded; an empty list refuses every mechanism.
    let enabled = parse_enabled(&scope.config.sasl_enabled_mechanisms).unwrap_or_default();
    let mut resp = SaslHandshakeResponse::default();
    resp.mechanisms = enabled
        .iter()
        .map(|m| StrBytes::from_static_str(m.name()))
        .collect();
    let result = conn
        .session
        .borrow_mut()
        .handshake(&req.mechanism, &enabled);
    match result {
        Ok(()) => counted(scope, ctx, &resp),
        Err(HandshakeError::NotSasl(_)) => {
            // Kafka answers this on non-SASL listeners and keeps the connection.
            resp.error_code = ResponseError::IllegalSaslState.code();
            counted(scope, ctx, &resp)
        }
        Err(e @ HandshakeError::InProgress) => {
            resp.error_code = ResponseError::IllegalSaslState.code();
            counted_then_close(scope, ctx, &resp, e.to_string())
        }
        Err(e @ HandshakeError::Unsupported { .. }) => {
            resp.error_code = ResponseError::UnsupportedSaslMechanism.code();
            counted_then_close(scope, ctx, &resp, e.to_string())
        }
    }
}

pub fn authenticate(
    scope: &Scope,
    ctx: &RequestContext,
    conn: &Connection,
    req: SaslAuthenticateRequest,
) -> Outcome {
    let snapshot = scope.metadata();
    let reauth_ms = scope.config.connections_max_reauth_ms;
    let mut resp = SaslAuthenticateResponse::default();
    let result = conn.session.borrow_mut().authenticate(
        &req.auth_bytes,
        &*snapshot,
        reauth_ms,
        Instant::now(),
    );
    match result {
        Ok(AuthStep::Continue { challenge }) => {
            resp.auth_bytes = Bytes::from(challenge);
            counted(scope, ctx, &resp)
        }
        Ok(AuthStep::Done {
            response,
            session_lifetime_ms,
            reauthenticated,
        }) => {
            let principal = conn.session.borrow().principal();
            info!(
                peer = %conn.peer_host,
                listener = %conn.listener.name,
                principal = %principal.map(|p| p.to_string()).unwrap_or_default(),
                reauthenticated,
                "SASL authentication succeeded"
            );
            resp.auth_bytes = Bytes::from(response);
            if ctx.version >= 1 {
                resp.session_lifetime_ms = session_lifetime_ms;
            }
            counted(scope, ctx, &resp)
        }
        Err(e) => {
            resp.error_code = match e {
                AuthError::NoHandshake => ResponseError::IllegalSaslState.code(),
                AuthError::Failed(_) | AuthError::PrincipalChanged { .. } => {
                    ResponseError::SaslAuthenticationFailed.code()
                }
            };
            let message = e.to_string();
            resp.error_message = Some(StrBytes::from_string(message.clone()));
            counted_then_close(
                scope,
                ctx,
                &resp,
                format!("SASL authentication failed: {message}"),
            )
        }
    }
}
