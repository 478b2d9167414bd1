//! SCRAM credentials (RFC 5802): per user and mechanism a random salt, an iteration count, StoredKey =
//! H(HMAC(SaltedPassword, "Client Key")) and ServerKey = HMAC(SaltedPassword, "Server Key"). The password
//! and the salted password are never kept. PLAIN logins are checked against the same credentials.
//!
//! The records live in the persisted `MetadataImage` (`users`), so they survive restarts and reach
//! every shard in its metadata snapshot.

use hmac::{Hmac, Mac};
use rkyv::{Archive, Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha512};
use thiserror::Error;

/// Kafka's bounds for SCRAM iterations (`ScramMechanism` min/max).
pub const MIN_ITERATIONS: u32 = 4096;
pub const MAX_ITERATIONS: u32 = 16384;
/// Iterations of credentials the broker creates itself (`sasl.bootstrap.users`).
pub const DEFAULT_ITERATIONS: u32 = 4096;

/// A SCRAM mechanism, numbered as Kafka numbers them on the wire (`ScramMechanism`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ScramMechanism {
    Sha256 = 1,
    Sha512 = 2,
}

impl ScramMechanism {
    pub const ALL: [ScramMechanism; 2] = [ScramMechanism::Sha256, ScramMechanism::Sha512];

    pub fn name(self) -> &'static str {
        match self {
            ScramMechanism::Sha256 => "SCRAM-SHA-256",
            ScramMechanism::Sha512 => "SCRAM-SHA-512",
        }
    }

    pub fn from_name(name: &str) -> Option<ScramMechanism> {
        ScramMechanism::ALL.into_iter().find(|m| m.name() == name)
    }

    pub fn from_id(id: i8) -> Option<ScramMechanism> {
        match id {
            1 => Some(ScramMechanism::Sha256),
            2 => Some(ScramMechanism::Sha512),
            _ => None,
        }
    }

    pub fn id(self) -> i8 {
        self as i8
    }

    pub fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramMechanism::Sha256 => Sha256::digest(data).to_vec(),
            ScramMechanism::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    pub fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
        match self {
            ScramMechanism::Sha256 => {
                let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
                m.update(data);
                m.finalize().into_bytes().to_vec()
            }
            ScramMechanism::Sha512 => {
                let mut m = <Hmac<Sha512> as Mac>::new_from_slice(key).expect("any key length");
                m.update(data);
                m.finalize().into_bytes().to_vec()
            }
        }
    }

    /// Hi(password, salt, i): PBKDF2 with this mechanism's HMAC.
    pub fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        match self {
            ScramMechanism::Sha256 => {
                let mut out = vec![0; 32];
                pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out);
                out
            }
            ScramMechanism::Sha512 => {
                let mut out = vec![0; 64];
                pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, iterations, &mut out);
                out
            }
        }
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum CredentialError {
    #[error("iterations {0} below the minimum {MIN_ITERATIONS}")]
    TooFewIterations(i64),
    #[error("iterations {0} above the maximum {MAX_ITERATIONS}")]
    TooManyIterations(i64),
    #[error("empty salt or salted password")]
    Empty,
    #[error("salted password of {got} bytes, {mechanism} needs {want}")]
    SaltedPasswordLength {
        mechanism: &'static str,
        got: usize,
        want: usize,
    },
    #[error("user name is empty")]
    EmptyUser,
    #[error("bootstrap user '{0}' is not of the form name:password")]
    BootstrapSyntax(String),
}

/// One mechanism's credential for a user.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ScramCredential {
    /// Kafka's mechanism id (1 = SCRAM-SHA-256, 2 = SCRAM-SHA-512).
    pub mechanism: i8,
    pub salt: Vec<u8>,
    pub iterations: u32,
    pub stored_key: Vec<u8>,
    pub server_key: Vec<u8>,
}

/// A user and its credentials (at most one per mechanism).
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct UserRecord {
    pub name: String,
    pub credentials: Vec<ScramCredential>,
}

fn check_iterations(iterations: i64) -> Result<u32, CredentialError> {
    if iterations < i64::from(MIN_ITERATIONS) {
        return Err(CredentialError::TooFewIterations(iterations));
    }
    if iterations > i64::from(MAX_ITERATIONS) {
        return Err(CredentialError::TooManyIterations(iterations));
    }
    Ok(iterations as u32)
}

impl ScramCredential {
    /// From a salted password, as AlterUserScramCredentials sends it (KIP-554: clients salt).
    pub fn from_salted_password(
        mechanism: ScramMechanism,
        salt: &[u8],
        iterations: i64,
        salted: &[u8],
    ) -> Result<ScramCredential, CredentialError> {
        let iterations = check_iterations(iterations)?;
        if salt.is_empty() || salted.is_empty() {
            return Err(CredentialError::Empty);
        }
        let want = mechanism.hash(b"").len();
        if salted.len() != want {
            return Err(CredentialError::SaltedPasswordLength {
                mechanism: mechanism.name(),
                got: salted.len(),
                want,
            });
        }
        let client_key = mechanism.hmac(salted, b"Client Key");
        Ok(ScramCredential {
            mechanism: mechanism.id(),
            salt: salt.to_vec(),
            iterations,
            stored_key: mechanism.hash(&client_key),
            server_key: mechanism.hmac(salted, b"Server Key"),
        })
    }

    /// From a password, with a fresh random salt (bootstrap users, tests).
    pub fn from_password(
        mechanism: ScramMechanism,
        password: &str,
        iterations: u32,
    ) -> Result<ScramCredential, CredentialError> {
        let salt = random_bytes::<32>();
        let salted = mechanism.salted_password(password.as_bytes(), &salt, iterations);
        Self::from_salted_password(mechanism, &salt, i64::from(iterations), &salted)
    }

    pub fn scram_mechanism(&self) -> Option<ScramMechanism> {
        ScramMechanism::from_id(self.mechanism)
    }

    /// Whether `password` is this credential's password (PLAIN): salts it and compares StoredKey.
    pub fn verify_password(&self, password: &[u8]) -> bool {
        let Some(m) = self.scram_mechanism() else {
            return false;
        };
        let salted = m.salted_password(password, &self.salt, self.iterations);
        let client_key = m.hmac(&salted, b"Client Key");
        constant_time_eq(&m.hash(&client_key), &self.stored_key)
    }
}

impl UserRecord {
    pub fn credential(&self, mechanism: ScramMechanism) -> Option<&ScramCredential> {
        self.credentials
            .iter()
            .find(|c| c.mechanism == mechanism.id())
    }

    /// Replaces (or adds) the credential for its mechanism.
    pub fn upsert(&mut self, credential: ScramCredential) {
        self.credentials
            .retain(|c| c.mechanism != credential.mechanism);
        self.credentials.push(credential);
        self.credentials.sort_by_key(|c| c.mechanism);
    }

    /// PLAIN: the password is right if it matches any of the user's SCRAM credentials (one store).
    pub fn verify_password(&self, password: &[u8]) -> bool {
        // The strongest first; one PBKDF2 run in the common case.
        self.credentials
            .iter()
            .rev()
            .any(|c| c.verify_password(password))
    }
}

/// `sasl.bootstrap.users`: `name:password` pairs separated by commas.
pub fn parse_bootstrap_users(list: &str) -> Result<Vec<(String, String)>, CredentialError> {
    list.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|e| match e.split_once(':') {
            Some((u, p)) if !u.is_empty() && !p.is_empty() => Ok((u.to_string(), p.to_string())),
            _ => Err(CredentialError::BootstrapSyntax(
                e.split(':').next().unwrap_or_default().to_string(),
            )),
        })
        .collect()
}

/// Compares without an early exit, so timing does not tell how much of a key matched.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Random bytes from the OS (salts, nonces). The OS generator failing is not survivable for security.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    getrandom::getrandom(&mut out).expect("the OS random number generator failed");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7677_test_vector() {
        // RFC 7677 §3: user "user", password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==, 4096 iterations.
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        let salt = b64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let m = ScramMechanism::Sha256;
        let salted = m.salted_password(b"pencil", &salt, 4096);
        let c = ScramCredential::from_salted_password(m, &salt, 4096, &salted).unwrap();
        assert!(c.verify_password(b"pencil"));
        assert!(!c.verify_password(b"pencil "));
        assert_eq!(c.stored_key.len(), 32);
    }

    #[test]
    fn iteration_bounds_and_lengths() {
        let m = ScramMechanism::Sha512;
        let salted = vec![1u8; 64];
        assert_eq!(
            ScramCredential::from_salted_password(m, b"s", 4095, &salted),
            Err(CredentialError::TooFewIterations(4095))
        );
        assert_eq!(
            ScramCredential::from_salted_password(m, b"s", 16385, &salted),
            Err(CredentialError::TooManyIterations(16385))
        );
        assert!(ScramCredential::from_salted_password(m, b"s", 4096, &salted[..32]).is_err());
        assert!(ScramCredential::from_salted_password(m, b"", 4096, &salted).is_err());
    }

    #[test]
    fn users_verify_plain_passwords_against_any_mechanism() {
        let mut u = UserRecord {
            name: "alice".into(),
            credentials: vec![],
        };
        u.upsert(ScramCredential::from_password(ScramMechanism::Sha256, "pw", 4096).unwrap());
        assert!(u.verify_password(b"pw"));
        assert!(!u.verify_password(b"other"));
        u.upsert(ScramCredential::from_password(ScramMechanism::Sha256, "new", 4096).unwrap());
        assert_eq!(u.credentials.len(), 1);
        assert!(u.verify_password(b"new"));
    }

    #[test]
    fn bootstrap_users_parse() {
        assert_eq!(
            parse_bootstrap_users("admin:admin-secret, bob:a:b").unwrap(),
            vec![
                ("admin".to_string(), "admin-secret".to_string()),
                ("bob".to_string(), "a:b".to_string())
            ]
        );
        assert!(parse_bootstrap_users("admin").is_err());
        assert!(parse_bootstrap_users(":pw").is_err());
    }
}
