//! Listeners as Kafka names them: `listeners = NAME://host:port,…`, `advertised.listeners` (same form;
//! a listener left out advertises its bind address) and `listener.security.protocol.map = NAME:PROTOCOL,…`.
//! Without `listeners`, the broker has one PLAINTEXT listener on `--listen`, advertised as
//! `--advertised` — today's zero-config start.

use super::SecurityProtocol;
use std::net::{SocketAddr, ToSocketAddrs};
use thiserror::Error;

/// One endpoint every shard binds (SO_REUSEPORT) and the address clients are told to use for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listener {
    pub name: String,
    pub protocol: SecurityProtocol,
    pub bind: SocketAddr,
    pub advertised_host: String,
    pub advertised_port: i32,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ListenerError {
    #[error("listener '{0}' is not of the form NAME://host:port")]
    Syntax(String),
    #[error("listener {name}: cannot resolve '{addr}'")]
    Address { name: String, addr: String },
    #[error("listener {0}: port 0 is not allowed (every shard must bind the same port)")]
    PortZero(String),
    #[error("listener name {0} appears twice")]
    DuplicateName(String),
    #[error("listeners {0} and {1} bind the same address")]
    DuplicateAddress(String, String),
    #[error("listener {0} has no entry in listener.security.protocol.map")]
    UnmappedName(String),
    #[error("listener.security.protocol.map entry '{0}' is not NAME:PROTOCOL with PROTOCOL one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL")]
    BadMapEntry(String),
    #[error("advertised.listeners names {0}, which is not in listeners")]
    UnknownAdvertised(String),
    #[error("no listeners configured")]
    Empty,
}

/// `NAME://host:port` → (NAME, host, port). `host` may be empty (all interfaces) or `[v6]`.
fn split_endpoint(entry: &str) -> Result<(String, String, u16), ListenerError> {
    let syntax = || ListenerError::Syntax(entry.to_string());
    let (name, rest) = entry.split_once("://").ok_or_else(syntax)?;
    let (host, port) = rest.rsplit_once(':').ok_or_else(syntax)?;
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(syntax());
    }
    let port: u16 = port.parse().map_err(|_| syntax())?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Ok((name.to_ascii_uppercase(), host.to_string(), port))
}

fn entries(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').map(str::trim).filter(|e| !e.is_empty())
}

/// `listener.security.protocol.map` as (NAME, protocol) pairs.
pub fn parse_protocol_map(map: &str) -> Result<Vec<(String, SecurityProtocol)>, ListenerError> {
    entries(map)
        .map(|e| {
            let bad = || ListenerError::BadMapEntry(e.to_string());
            let (name, proto) = e.split_once(':').ok_or_else(bad)?;
            let proto = SecurityProtocol::parse(proto.trim()).ok_or_else(bad)?;
            if name.trim().is_empty() {
                return Err(bad());
            }
            Ok((name.trim().to_ascii_uppercase(), proto))
        })
        .collect()
}

fn resolve_bind(name: &str, host: &str, port: u16) -> Result<SocketAddr, ListenerError> {
    if port == 0 {
        return Err(ListenerError::PortZero(name.to_string()));
    }
    let host = if host.is_empty() { "0.0.0.0" } else { host };
    (host, port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| ListenerError::Address {
            name: name.to_string(),
            addr: format!("{host}:{port}"),
        })
}

/// Parses `listeners`, `advertised.listeners` and the protocol map.
pub fn parse(
    listeners: &str,
    advertised: Option<&str>,
    map: &str,
) -> Result<Vec<Listener>, ListenerError> {
    let map = parse_protocol_map(map)?;
    let mut out: Vec<Listener> = Vec::new();
    for entry in entries(listeners) {
        let (name, host, port) = split_endpoint(entry)?;
        if out.iter().any(|l| l.name == name) {
            return Err(ListenerError::DuplicateName(name));
        }
        let protocol = map
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, p)| *p)
            .ok_or_else(|| ListenerError::UnmappedName(name.clone()))?;
        let bind = resolve_bind(&name, &host, port)?;
        if let Some(other) = out.iter().find(|l| l.bind == bind) {
            return Err(ListenerError::DuplicateAddress(other.name.clone(), name));
        }
        out.push(Listener {
            advertised_host: bind.ip().to_string(),
            advertised_port: i32::from(port),
            name,
            protocol,
            bind,
        });
    }
    if out.is_empty() {
        return Err(ListenerError::Empty);
    }
    for entry in entries(advertised.unwrap_or_default()) {
        let (name, host, port) = split_endpoint(entry)?;
        let l = out
            .iter_mut()
            .find(|l| l.name == name)
            .ok_or(ListenerError::UnknownAdvertised(name))?;
        if !host.is_empty() {
            l.advertised_host = host;
        }
        l.advertised_port = i32::from(port);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAP: &str = "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL";

    #[test]
    fn parses_listeners_and_advertised() {
        let l = parse(
            "PLAINTEXT://127.0.0.1:9092, SASL_PLAINTEXT://127.0.0.1:9093",
            Some("SASL_PLAINTEXT://broker.example:19093"),
            MAP,
        )
        .unwrap();
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].protocol, SecurityProtocol::Plaintext);
        assert_eq!(
            (l[0].advertised_host.as_str(), l[0].advertised_port),
            ("127.0.0.1", 9092)
        );
        assert_eq!(l[1].protocol, SecurityProtocol::SaslPlaintext);
        assert_eq!(
            (l[1].advertised_host.as_str(), l[1].advertised_port),
            ("broker.example", 19093)
        );
    }

    #[test]
    fn custom_names_map_to_protocols() {
        let l = parse("INTERNAL://127.0.0.1:9094", None, "INTERNAL:SASL_PLAINTEXT").unwrap();
        assert_eq!(l[0].protocol, SecurityProtocol::SaslPlaintext);
        assert_eq!(
            parse("OTHER://127.0.0.1:9094", None, MAP),
            Err(ListenerError::UnmappedName("OTHER".into()))
        );
    }

    #[test]
    fn rejects_bad_input() {
        for bad in [
            "",
            "PLAINTEXT",
            "PLAINTEXT://host",
            "://1.2.3.4:9",
            "P L://1.2.3.4:9",
        ] {
            assert!(parse(bad, None, MAP).is_err(), "{bad}");
        }
        assert!(matches!(
            parse(
                "PLAINTEXT://127.0.0.1:9092,PLAINTEXT://127.0.0.1:9093",
                None,
                MAP
            ),
            Err(ListenerError::DuplicateName(_))
        ));
        assert!(matches!(
            parse("PLAINTEXT://127.0.0.1:9092,SSL://127.0.0.1:9092", None, MAP),
            Err(ListenerError::DuplicateAddress(..))
        ));
        assert!(matches!(
            parse("PLAINTEXT://127.0.0.1:0", None, MAP),
            Err(ListenerError::PortZero(_))
        ));
        assert!(matches!(
            parse("PLAINTEXT://127.0.0.1:9092", Some("SSL://x:1"), MAP),
            Err(ListenerError::UnknownAdvertised(_))
        ));
        assert!(parse_protocol_map("A:TLS").is_err());
    }
}
