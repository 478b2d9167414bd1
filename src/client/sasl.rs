//! Logging in over SASL (PLAIN or SCRAM-SHA-256/512) right after connecting: SaslHandshake v1, then
//! SaslAuthenticate rounds, as the Java client does on a SASL_PLAINTEXT listener.

use super::{str_bytes, ClientError, Connection};
use crate::security::credentials::{random_bytes, ScramMechanism};
use crate::security::sasl::scram::client::client_final;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use bytes::Bytes;
use kafka_protocol::messages::{SaslAuthenticateRequest, SaslHandshakeRequest};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SaslMechanism {
    Plain,
    Scram(ScramMechanism),
}

impl SaslMechanism {
    pub fn name(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::Scram(m) => m.name(),
        }
    }
}

/// Who to log in as, and how.
#[derive(Clone, Debug)]
pub struct SaslLogin {
    pub mechanism: SaslMechanism,
    pub username: String,
    pub password: String,
}

/// Authenticates `conn` as `login`; a refusal is `ClientError::Authentication` with the broker's message.
pub fn authenticate(conn: &mut Connection, login: &SaslLogin) -> Result<(), ClientError> {
    let mut handshake = SaslHandshakeRequest::default();
    handshake.mechanism = str_bytes(login.mechanism.name());
    let resp = conn.call(&handshake)?;
    if resp.error_code != 0 {
        let offered: Vec<String> = resp.mechanisms.iter().map(|m| m.to_string()).collect();
        return Err(refused(
            login,
            &format!(
                "mechanism not enabled (the broker offers {})",
                offered.join(", ")
            ),
        ));
    }
    match login.mechanism {
        SaslMechanism::Plain => {
            let token = format!("\0{}\0{}", login.username, login.password);
            round(conn, login, token.into_bytes()).map(drop)
        }
        SaslMechanism::Scram(m) => scram(conn, login, m),
    }
}

fn scram(conn: &mut Connection, login: &SaslLogin, m: ScramMechanism) -> Result<(), ClientError> {
    // RFC 5802 saslname: ',' and '=' are escaped in the user name.
    let name = login.username.replace('=', "=3D").replace(',', "=2C");
    let nonce = B64.encode(random_bytes::<18>());
    let bare = format!("n={name},r={nonce}");
    let server_first = round(conn, login, format!("n,,{bare}").into_bytes())?;
    let server_first = String::from_utf8_lossy(&server_first).into_owned();
    let server_nonce_ok = server_first
        .split(',')
        .any(|p| p.strip_prefix("r=").is_some_and(|r| r.starts_with(&nonce)));
    let Some((last, expected)) = server_nonce_ok
        .then(|| client_final(m, &login.password, &bare, &server_first))
        .flatten()
    else {
        return Err(refused(login, "malformed SCRAM server-first message"));
    };
    let server_final = round(conn, login, last.into_bytes())?;
    if server_final.as_ref() != expected.as_bytes() {
        return Err(refused(
            login,
            "the broker's SCRAM signature does not match",
        ));
    }
    Ok(())
}

/// One SaslAuthenticate exchange: our bytes out, the broker's back.
fn round(conn: &mut Connection, login: &SaslLogin, bytes: Vec<u8>) -> Result<Bytes, ClientError> {
    let mut req = SaslAuthenticateRequest::default();
    req.auth_bytes = Bytes::from(bytes);
    let resp = conn.call(&req)?;
    if resp.error_code != 0 {
        let message = resp
            .error_message
            .as_deref()
            .unwrap_or("refused")
            .to_string();
        return Err(refused(login, &message));
    }
    Ok(resp.auth_bytes)
}

fn refused(login: &SaslLogin, why: &str) -> ClientError {
    ClientError::Authentication(format!(
        "SASL {} login as {} failed: {why}",
        login.mechanism.name(),
        login.username
    ))
}
