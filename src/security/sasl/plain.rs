//! SASL PLAIN (RFC 4616): one message `[authzid] NUL authcid NUL passwd`, checked against the user's
//! SCRAM credentials (salted with the stored salt and iterations, StoredKey compared).

use super::{SaslError, Step, UserLookup};

const NAME: &str = "PLAIN";

/// The parts of a PLAIN message.
#[derive(Debug, PartialEq, Eq)]
pub struct PlainMessage<'a> {
    pub authzid: &'a str,
    pub user: &'a str,
    pub password: &'a str,
}

fn malformed(reason: &'static str) -> SaslError {
    SaslError::Malformed {
        mechanism: NAME,
        reason,
    }
}

/// Parses (strictly) a PLAIN message: exactly two NULs, UTF-8, non-empty user and password.
pub fn parse(input: &[u8]) -> Result<PlainMessage<'_>, SaslError> {
    let text = std::str::from_utf8(input).map_err(|_| malformed("not UTF-8"))?;
    let mut parts = text.split('\0');
    let (Some(authzid), Some(user), Some(password), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("expected authzid NUL user NUL password"));
    };
    if user.is_empty() {
        return Err(malformed("empty user name"));
    }
    if password.is_empty() {
        return Err(malformed("empty password"));
    }
    Ok(PlainMessage {
        authzid,
        user,
        password,
    })
}

/// A PLAIN exchange: one message in, done or failed.
#[derive(Debug, Default)]
pub struct PlainServer {
    finished: bool,
}

impl PlainServer {
    pub fn step(&mut self, input: &[u8], users: &dyn UserLookup) -> Result<Step, SaslError> {
        if std::mem::replace(&mut self.finished, true) {
            return Err(SaslError::Finished(NAME));
        }
        let msg = parse(input)?;
        // Kafka: an authorization id, if given, must be the user itself (no impersonation).
        if !msg.authzid.is_empty() && msg.authzid != msg.user {
            return Err(SaslError::InvalidCredentials(NAME));
        }
        match users.user(msg.user) {
            Some(u) if u.verify_password(msg.password.as_bytes()) => Ok(Step::Done {
                user: msg.user.to_string(),
                response: Vec::new(),
            }),
            _ => Err(SaslError::InvalidCredentials(NAME)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::credentials::{ScramCredential, ScramMechanism, UserRecord};
    use std::collections::HashMap;
    use std::sync::Arc;

    fn users() -> HashMap<String, Arc<UserRecord>> {
        let mut u = UserRecord {
            name: "alice".into(),
            credentials: vec![],
        };
        u.upsert(ScramCredential::from_password(ScramMechanism::Sha512, "secret", 4096).unwrap());
        HashMap::from([("alice".to_string(), Arc::new(u))])
    }

    #[test]
    fn parses_strictly() {
        assert_eq!(
            parse(b"\0alice\0pw").unwrap(),
            PlainMessage {
                authzid: "",
                user: "alice",
                password: "pw"
            }
        );
        assert_eq!(parse(b"alice\0alice\0pw").unwrap().authzid, "alice");
        for bad in [
            &b""[..],
            b"alice",
            b"\0alice",
            b"\0\0pw",
            b"\0alice\0",
            b"\0alice\0pw\0",
            b"\0al\xffice\0pw",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn authenticates_and_refuses() {
        let users = users();
        let ok = PlainServer::default().step(b"\0alice\0secret", &users);
        assert_eq!(
            ok,
            Ok(Step::Done {
                user: "alice".into(),
                response: vec![]
            })
        );
        let bad = [
            &b"\0alice\0wrong"[..],
            b"\0bob\0secret",
            b"bob\0alice\0secret",
        ];
        for input in bad {
            assert_eq!(
                PlainServer::default().step(input, &users),
                Err(SaslError::InvalidCredentials(NAME))
            );
        }
        let mut once = PlainServer::default();
        let _ = once.step(b"\0alice\0secret", &users);
        assert_eq!(
            once.step(b"\0alice\0secret", &users),
            Err(SaslError::Finished(NAME))
        );
    }
}
