//! SCRAM (RFC 5802, RFC 7677) server side, without channel binding:
//!
//! ```text
//! client-first  n,[a=authzid],n=user,r=cnonce[,ext…]
//! server-first  r=cnonce+snonce,s=base64(salt),i=iterations
//! client-final  c=base64(gs2-header),r=cnonce+snonce[,ext…],p=base64(ClientProof)
//! server-final  v=base64(ServerSignature)
//! ```
//!
//! The proof is checked as H(ClientProof XOR HMAC(StoredKey, AuthMessage)) == StoredKey. Each exchange
//! has a fresh random server nonce, so a recorded client-final cannot be replayed.

use super::{SaslError, Step, UserLookup};
use crate::security::credentials::{
    constant_time_eq, random_bytes, ScramCredential, ScramMechanism, DEFAULT_ITERATIONS,
};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use std::sync::OnceLock;

/// The parsed client-first message.
#[derive(Debug, PartialEq, Eq)]
pub struct ClientFirst<'a> {
    /// `n,,` / `y,,` / `n,a=…,`: echoed (base64) in the client-final `c=`.
    pub gs2_header: &'a str,
    pub authzid: Option<String>,
    pub user: String,
    pub nonce: &'a str,
    /// The message without the gs2 header: the start of AuthMessage.
    pub bare: &'a str,
    /// `tokenauth=true` (delegation tokens) was asked for.
    pub token_auth: bool,
}

/// The parsed client-final message.
#[derive(Debug, PartialEq, Eq)]
pub struct ClientFinal<'a> {
    pub channel_binding: Vec<u8>,
    pub nonce: &'a str,
    pub proof: Vec<u8>,
    /// Everything before `,p=`: the end of AuthMessage.
    pub without_proof: &'a str,
}

type Malformed = &'static str;

/// A SCRAM `saslname`: `=2C` is ',', `=3D` is '=', any other '=' (and ',') is invalid.
fn decode_saslname(s: &str) -> Result<String, Malformed> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(['=', ',']) {
        out.push_str(&rest[..i]);
        match rest.get(i..i + 3) {
            Some("=2C") => out.push(','),
            Some("=3D") => out.push('='),
            _ => return Err("bad escape in user name"),
        }
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    if out.is_empty() {
        return Err("empty user name");
    }
    Ok(out)
}

/// A nonce: printable ASCII except ','.
fn valid_nonce(n: &str) -> bool {
    !n.is_empty() && n.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b',')
}

/// `k=value`: the value of attribute `k`.
fn attribute(part: Option<&str>, key: char) -> Option<&str> {
    let part = part?;
    let mut chars = part.chars();
    (chars.next() == Some(key) && chars.next() == Some('=')).then(|| &part[2..])
}

pub fn parse_client_first(input: &[u8]) -> Result<ClientFirst<'_>, Malformed> {
    let msg = std::str::from_utf8(input).map_err(|_| "not UTF-8")?;
    // gs2-header: cbind-flag "," [authzid] ","
    let (flag, rest) = msg.split_once(',').ok_or("no gs2 header")?;
    match flag {
        "n" | "y" => {}
        f if f.starts_with("p=") => return Err("channel binding is not supported"),
        _ => return Err("bad channel binding flag"),
    }
    let (authzid, bare) = rest.split_once(',').ok_or("no gs2 header")?;
    let authzid = match authzid {
        "" => None,
        a => Some(decode_saslname(
            attribute(Some(a), 'a').ok_or("bad authzid")?,
        )?),
    };
    let gs2_header = &msg[..msg.len() - bare.len()];
    let mut parts = bare.split(',');
    let first = parts.next();
    if attribute(first, 'm').is_some() {
        return Err("mandatory extensions are not supported");
    }
    let user = decode_saslname(attribute(first, 'n').ok_or("no user name")?)?;
    let nonce = attribute(parts.next(), 'r').ok_or("no nonce")?;
    if !valid_nonce(nonce) {
        return Err("bad nonce");
    }
    let mut token_auth = false;
    for ext in parts {
        let (k, v) = ext.split_once('=').ok_or("bad extension")?;
        if k.is_empty() || !k.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err("bad extension");
        }
        if k == "tokenauth" && v.eq_ignore_ascii_case("true") {
            token_auth = true;
        }
    }
    Ok(ClientFirst {
        gs2_header,
        authzid,
        user,
        nonce,
        bare,
        token_auth,
    })
}

pub fn parse_client_final(input: &[u8]) -> Result<ClientFinal<'_>, Malformed> {
    let msg = std::str::from_utf8(input).map_err(|_| "not UTF-8")?;
    let (without_proof, proof) = msg.rsplit_once(",p=").ok_or("no proof")?;
    let mut parts = without_proof.split(',');
    let cb = attribute(parts.next(), 'c').ok_or("no channel binding attribute")?;
    let channel_binding = B64
        .decode(cb)
        .map_err(|_| "channel binding is not base64")?;
    let nonce = attribute(parts.next(), 'r').ok_or("no nonce")?;
    if !valid_nonce(nonce) {
        return Err("bad nonce");
    }
    for ext in parts {
        match ext.split_once('=') {
            Some((k, _)) if !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric()) => {}
            _ => return Err("bad extension"),
        }
    }
    let proof = B64.decode(proof).map_err(|_| "proof is not base64")?;
    Ok(ClientFinal {
        channel_binding,
        nonce,
        proof,
        without_proof,
    })
}

#[derive(Debug)]
enum State {
    First,
    Final {
        gs2_header: String,
        nonce: String,
        user: String,
        /// `None`: unknown user (or no credential for this mechanism); the proof check fails.
        credential: Option<ScramCredential>,
        /// client-first-bare "," server-first ","
        auth_prefix: String,
    },
    Finished,
}

#[derive(Debug)]
pub struct ScramServer {
    mechanism: ScramMechanism,
    server_nonce: String,
    state: State,
}

impl ScramServer {
    pub fn new(mechanism: ScramMechanism) -> ScramServer {
        Self::with_nonce(mechanism, B64.encode(random_bytes::<24>()))
    }

    /// With a chosen server nonce (tests, fuzzing). It must be a valid nonce (no ',').
    pub fn with_nonce(mechanism: ScramMechanism, server_nonce: String) -> ScramServer {
        ScramServer {
            mechanism,
            server_nonce,
            state: State::First,
        }
    }

    pub fn mechanism(&self) -> ScramMechanism {
        self.mechanism
    }

    fn malformed(&self, reason: Malformed) -> SaslError {
        SaslError::Malformed {
            mechanism: self.mechanism.name(),
            reason,
        }
    }

    pub fn step(&mut self, input: &[u8], users: &dyn UserLookup) -> Result<Step, SaslError> {
        // Any failure finishes the exchange: the state is only put back on success.
        match std::mem::replace(&mut self.state, State::Finished) {
            State::First => self.first(input, users),
            State::Final {
                gs2_header,
                nonce,
                user,
                credential,
                auth_prefix,
            } => self.last(
                input,
                &gs2_header,
                &nonce,
                user,
                credential.as_ref(),
                auth_prefix,
            ),
            State::Finished => Err(SaslError::Finished(self.mechanism.name())),
        }
    }

    fn first(&mut self, input: &[u8], users: &dyn UserLookup) -> Result<Step, SaslError> {
        let m = self.mechanism;
        let first = parse_client_first(input).map_err(|r| self.malformed(r))?;
        if first.token_auth {
            return Err(self.malformed("delegation tokens are not supported"));
        }
        // Kafka: an authorization id must be the user itself.
        if first.authzid.as_ref().is_some_and(|a| *a != first.user) {
            return Err(SaslError::InvalidCredentials(m.name()));
        }
        // An unknown user gets a made-up but stable salt and fails only at the proof, like a wrong
        // password (RFC 5802 §5.1), so the exchange does not tell which users exist.
        let credential = users
            .user(&first.user)
            .and_then(|u| u.credential(m).cloned());
        let (salt, iterations) = match &credential {
            Some(c) => (c.salt.clone(), c.iterations),
            None => (fake_salt(m, &first.user), DEFAULT_ITERATIONS),
        };
        let nonce = format!("{}{}", first.nonce, self.server_nonce);
        let server_first = format!("r={nonce},s={},i={iterations}", B64.encode(&salt));
        let auth_prefix = format!("{},{server_first},", first.bare);
        self.state = State::Final {
            gs2_header: first.gs2_header.to_string(),
            nonce,
            user: first.user,
            credential,
            auth_prefix,
        };
        Ok(Step::Continue {
            challenge: server_first.into_bytes(),
        })
    }

    fn last(
        &mut self,
        input: &[u8],
        gs2_header: &str,
        nonce: &str,
        user: String,
        credential: Option<&ScramCredential>,
        mut auth_message: String,
    ) -> Result<Step, SaslError> {
        let m = self.mechanism;
        let fin = parse_client_final(input).map_err(|r| self.malformed(r))?;
        if fin.channel_binding != gs2_header.as_bytes() {
            return Err(self.malformed("channel binding does not match the gs2 header"));
        }
        if fin.nonce != nonce {
            return Err(self.malformed("nonce does not match"));
        }
        auth_message.push_str(fin.without_proof);
        let Some(credential) = credential else {
            return Err(SaslError::InvalidCredentials(m.name()));
        };
        let signature = m.hmac(&credential.stored_key, auth_message.as_bytes());
        if fin.proof.len() != signature.len() {
            return Err(SaslError::InvalidCredentials(m.name()));
        }
        let client_key: Vec<u8> = fin
            .proof
            .iter()
            .zip(&signature)
            .map(|(p, s)| p ^ s)
            .collect();
        if !constant_time_eq(&m.hash(&client_key), &credential.stored_key) {
            return Err(SaslError::InvalidCredentials(m.name()));
        }
        let server_signature = m.hmac(&credential.server_key, auth_message.as_bytes());
        Ok(Step::Done {
            user,
            response: format!("v={}", B64.encode(server_signature)).into_bytes(),
        })
    }
}

/// A salt for a user without a credential: HMAC of the name under a per-process random key, so asking
/// twice gives the same answer, as it would for a real user.
fn fake_salt(m: ScramMechanism, user: &str) -> Vec<u8> {
    static KEY: OnceLock<[u8; 32]> = OnceLock::new();
    let key = KEY.get_or_init(random_bytes::<32>);
    let mut salt = m.hmac(key, user.as_bytes());
    salt.truncate(32);
    salt
}

/// The client side, for tests and the fuzzer's seeds: (client-first, a function from server-first to
/// client-final and the expected server signature).
pub mod client {
    use super::*;

    /// The client-final message for `server_first`, and the server-final the client should expect.
    pub fn client_final(
        m: ScramMechanism,
        password: &str,
        client_first_bare: &str,
        server_first: &str,
    ) -> Option<(String, String)> {
        let mut nonce = None;
        let mut salt = None;
        let mut iterations = None;
        for part in server_first.split(',') {
            match part.split_once('=')? {
                ("r", v) => nonce = Some(v),
                ("s", v) => salt = B64.decode(v).ok(),
                ("i", v) => iterations = v.parse().ok(),
                _ => {}
            }
        }
        let salted = m.salted_password(password.as_bytes(), &salt?, iterations?);
        let client_key = m.hmac(&salted, b"Client Key");
        let stored_key = m.hash(&client_key);
        let without_proof = format!("c={},r={}", B64.encode("n,,"), nonce?);
        let auth = format!("{client_first_bare},{server_first},{without_proof}");
        let sig = m.hmac(&stored_key, auth.as_bytes());
        let proof: Vec<u8> = client_key.iter().zip(&sig).map(|(a, b)| a ^ b).collect();
        let server_key = m.hmac(&salted, b"Server Key");
        let server_sig = m.hmac(&server_key, auth.as_bytes());
        Some((
            format!("{without_proof},p={}", B64.encode(proof)),
            format!("v={}", B64.encode(server_sig)),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::credentials::UserRecord;
    use std::collections::HashMap;
    use std::sync::Arc;

    fn users(m: ScramMechanism) -> HashMap<String, Arc<UserRecord>> {
        let mut u = UserRecord {
            name: "user".into(),
            credentials: vec![],
        };
        u.upsert(ScramCredential::from_password(m, "pencil", 4096).unwrap());
        let mut comma = u.clone();
        comma.name = "a,b=c".into();
        HashMap::from([
            ("user".into(), Arc::new(u)),
            ("a,b=c".into(), Arc::new(comma)),
        ])
    }

    fn challenge(step: Result<Step, SaslError>) -> String {
        match step {
            Ok(Step::Continue { challenge }) => String::from_utf8(challenge).unwrap(),
            other => panic!("expected a challenge, got {other:?}"),
        }
    }

    /// A full exchange; returns the server's result for the client-final.
    fn exchange(m: ScramMechanism, user: &str, password: &str) -> Result<Step, SaslError> {
        let users = users(m);
        let mut s = ScramServer::new(m);
        let bare = format!("n={user},r=fyko+d2lbbFgONRv9qkxdawL");
        let sf = challenge(s.step(format!("n,,{bare}").as_bytes(), &users));
        assert!(sf.starts_with("r=fyko+d2lbbFgONRv9qkxdawL"));
        let (cf, expected) = client::client_final(m, password, &bare, &sf).unwrap();
        let result = s.step(cf.as_bytes(), &users);
        if let Ok(Step::Done { response, .. }) = &result {
            assert_eq!(String::from_utf8(response.clone()).unwrap(), expected);
        }
        result
    }

    #[test]
    fn full_exchange_both_mechanisms() {
        for m in ScramMechanism::ALL {
            assert!(matches!(
                exchange(m, "user", "pencil"),
                Ok(Step::Done { ref user, .. }) if user == "user"
            ));
            assert_eq!(
                exchange(m, "user", "wrong"),
                Err(SaslError::InvalidCredentials(m.name()))
            );
            // Escaped user names: "a,b=c" is sent as "a=2Cb=3Dc".
            assert!(matches!(
                exchange(m, "a=2Cb=3Dc", "pencil"),
                Ok(Step::Done { ref user, .. }) if user == "a,b=c"
            ));
        }
    }

    #[test]
    fn rfc7677_exchange() {
        // RFC 7677 §3, byte for byte.
        let m = ScramMechanism::Sha256;
        let salt = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let salted = m.salted_password(b"pencil", &salt, 4096);
        let user = UserRecord {
            name: "user".into(),
            credentials: vec![
                ScramCredential::from_salted_password(m, &salt, 4096, &salted).unwrap(),
            ],
        };
        let users = HashMap::from([("user".to_string(), Arc::new(user))]);
        let mut s = ScramServer::with_nonce(m, "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0".into());
        assert_eq!(
            challenge(s.step(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO", &users)),
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
        );
        let last = s.step(
            b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
            &users,
        );
        assert_eq!(
            last,
            Ok(Step::Done {
                user: "user".into(),
                response: b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=".to_vec()
            })
        );
    }

    #[test]
    fn unknown_user_reads_like_a_wrong_password() {
        let m = ScramMechanism::Sha256;
        let users = users(m);
        // The first step succeeds with a stable made-up salt; the proof fails like a wrong password.
        let sf = |user: &str| {
            let mut s = ScramServer::with_nonce(m, "srv".into());
            challenge(s.step(format!("n,,n={user},r=abc").as_bytes(), &users))
        };
        assert_eq!(sf("nobody"), sf("nobody"));
        assert_ne!(sf("nobody"), sf("somebody"));
        assert_eq!(
            exchange(m, "nobody", "pencil"),
            Err(SaslError::InvalidCredentials(m.name()))
        );
        // A user without a credential for this mechanism is unknown to it.
        let m512 = ScramMechanism::Sha512;
        let mut s = ScramServer::new(m512);
        let sf = challenge(s.step(b"n,,n=user,r=abc", &users));
        let (cf, _) = client::client_final(m512, "pencil", "n=user,r=abc", &sf).unwrap();
        assert_eq!(
            s.step(cf.as_bytes(), &users),
            Err(SaslError::InvalidCredentials(m512.name()))
        );
    }

    #[test]
    fn client_first_is_parsed_strictly() {
        let ok = parse_client_first(b"n,a=user,n=user,r=abc,ext=1").unwrap();
        assert_eq!(ok.gs2_header, "n,a=user,");
        assert_eq!(ok.bare, "n=user,r=abc,ext=1");
        assert!(
            parse_client_first(b"n,,n=u,r=x,tokenauth=true")
                .unwrap()
                .token_auth
        );
        for bad in [
            &b""[..],
            b"n",
            b"n,",
            b"n,,",
            b"p=tls-unique,,n=u,r=x",
            b"x,,n=u,r=x",
            b"n,b=u,n=u,r=x",
            b"n,,m=ext,n=u,r=x",
            b"n,,n=,r=x",
            b"n,,n=u=,r=x",
            b"n,,n=u=2X,r=x",
            b"n,,n=u",
            b"n,,n=u,r=",
            b"n,,n=u,r=a b",
            b"n,,r=x,n=u",
            b"n,,n=u,r=x,novalue",
            b"n,,n=u\xff,r=x",
        ] {
            assert!(
                parse_client_first(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn client_final_is_parsed_strictly() {
        let ok = parse_client_final(b"c=biws,r=abc,p=AAAA").unwrap();
        assert_eq!(ok.channel_binding, b"n,,");
        assert_eq!(ok.without_proof, "c=biws,r=abc");
        for bad in [
            &b""[..],
            b"c=biws,r=abc",
            b"c=biws,p=AAAA",
            b"r=abc,c=biws,p=AAAA",
            b"c=***,r=abc,p=AAAA",
            b"c=biws,r=abc,p=***",
            b"c=biws,r=abc,,p=AAAA",
            b"c=biws,r=a\xffbc,p=AAAA",
        ] {
            assert!(
                parse_client_final(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn wrong_nonce_binding_and_replay_fail() {
        let m = ScramMechanism::Sha512;
        let users = users(m);
        let bare = "n=user,r=cnonce";
        // Recorded exchange.
        let mut s1 = ScramServer::new(m);
        let sf1 = challenge(s1.step(format!("n,,{bare}").as_bytes(), &users));
        let (cf1, _) = client::client_final(m, "pencil", bare, &sf1).unwrap();
        assert!(matches!(
            s1.step(cf1.as_bytes(), &users),
            Ok(Step::Done { .. })
        ));
        // Replaying it in a new exchange: the server nonce differs.
        let mut s2 = ScramServer::new(m);
        let _ = challenge(s2.step(format!("n,,{bare}").as_bytes(), &users));
        assert!(matches!(
            s2.step(cf1.as_bytes(), &users),
            Err(SaslError::Malformed {
                reason: "nonce does not match",
                ..
            })
        ));
        // A channel binding other than the gs2 header.
        let mut s3 = ScramServer::new(m);
        let sf3 = challenge(s3.step(format!("n,,{bare}").as_bytes(), &users));
        let (cf3, _) = client::client_final(m, "pencil", bare, &sf3).unwrap();
        let cf3 = cf3.replacen("c=biws", "c=eSws", 1);
        assert!(s3.step(cf3.as_bytes(), &users).is_err());
        // A truncated proof.
        let mut s4 = ScramServer::new(m);
        let sf4 = challenge(s4.step(format!("n,,{bare}").as_bytes(), &users));
        let (cf4, _) = client::client_final(m, "pencil", bare, &sf4).unwrap();
        let short = &cf4[..cf4.len() - 8];
        assert!(s4.step(short.as_bytes(), &users).is_err());
        // Finished exchanges refuse more input.
        assert_eq!(s4.step(b"x", &users), Err(SaslError::Finished(m.name())));
    }

    #[test]
    fn random_input_never_panics() {
        let m = ScramMechanism::Sha256;
        let users = users(m);
        let alphabet = b"nyrcpa=,2CD3biws\0\xff";
        let rng = fastrand::Rng::with_seed(7);
        for _ in 0..20_000 {
            let len = rng.usize(0..40);
            let input: Vec<u8> = (0..len)
                .map(|_| alphabet[rng.usize(0..alphabet.len())])
                .collect();
            let mut s = ScramServer::with_nonce(m, "srv".into());
            if s.step(&input, &users).is_ok() {
                let _ = s.step(&input, &users);
            }
            let _ = parse_client_final(&input);
            let _ = super::super::plain::parse(&input);
        }
        // Huge input is refused before parsing.
        let mut e = super::super::Exchange::new(super::super::Mechanism::Scram(m));
        assert!(e.step(&vec![b'a'; 1 << 20], &users).is_err());
    }
}
