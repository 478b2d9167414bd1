//! `controller.quorum.voters`: `id@host:port,…`, Kafka's syntax. The port is the voter's Raft transport
//! port (not its Kafka listener).

use thiserror::Error;

/// One voter of the metadata quorum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Voter {
    pub id: u64,
    /// host:port of its Raft transport.
    pub address: String,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum VotersError {
    #[error("'{0}' is not id@host:port")]
    Syntax(String),
    #[error("voter id in '{0}' must be a positive integer")]
    Id(String),
    #[error("voter id {0} is listed twice")]
    Duplicate(u64),
    #[error("no voters listed")]
    Empty,
}

/// Parses the voter list; ids are positive and unique.
pub fn parse(list: &str) -> Result<Vec<Voter>, VotersError> {
    let mut voters: Vec<Voter> = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (id, address) = item
            .split_once('@')
            .ok_or_else(|| VotersError::Syntax(item.to_string()))?;
        let id: u64 = match id.parse() {
            Ok(n) if n > 0 && n <= i32::MAX as u64 => n,
            _ => return Err(VotersError::Id(item.to_string())),
        };
        let port_ok = address
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
        if !port_ok {
            return Err(VotersError::Syntax(item.to_string()));
        }
        if voters.iter().any(|v| v.id == id) {
            return Err(VotersError::Duplicate(id));
        }
        voters.push(Voter {
            id,
            address: address.to_string(),
        });
    }
    if voters.is_empty() {
        return Err(VotersError::Empty);
    }
    Ok(voters)
}

/// clap value parser: the list as given, once it parses.
pub fn check(list: &str) -> Result<String, String> {
    parse(list)
        .map(|_| list.to_string())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kafka_syntax() {
        let v = parse("1@127.0.0.1:9093, 2@host-b:9093,3@[::1]:7000").unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(v[1].id, 2);
        assert_eq!(v[1].address, "host-b:9093");
        assert_eq!(v[2].address, "[::1]:7000");
    }

    #[test]
    fn rejects_bad_lists() {
        assert_eq!(parse(""), Err(VotersError::Empty));
        assert!(matches!(parse("1@host"), Err(VotersError::Syntax(_))));
        assert!(matches!(parse("x@h:1"), Err(VotersError::Id(_))));
        assert!(matches!(parse("0@h:1"), Err(VotersError::Id(_))));
        assert_eq!(parse("1@h:1,1@g:2"), Err(VotersError::Duplicate(1)));
    }
}
