//! The SASL server side on arbitrary client messages: PLAIN, and SCRAM's client-first and client-final
//! (the latter after a valid client-first, with a fixed server nonce `srv`, so inputs carrying
//! `r=<client nonce>srv` reach the proof check). No input may panic; bad input is an `Err`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shardlog::security::credentials::{ScramCredential, ScramMechanism, UserRecord};
use shardlog::security::sasl::plain::PlainServer;
use shardlog::security::sasl::scram::{parse_client_final, parse_client_first, ScramServer};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

fn users() -> &'static HashMap<String, Arc<UserRecord>> {
    static USERS: OnceLock<HashMap<String, Arc<UserRecord>>> = OnceLock::new();
    USERS.get_or_init(|| {
        let mut u = UserRecord {
            name: "user".into(),
            credentials: vec![],
        };
        for m in ScramMechanism::ALL {
            u.upsert(ScramCredential::from_password(m, "pencil", 4096).unwrap());
        }
        HashMap::from([("user".to_string(), Arc::new(u))])
    })
}

fuzz_target!(|data: &[u8]| {
    let users = users();
    let _ = parse_client_first(data);
    let _ = parse_client_final(data);
    let _ = PlainServer::default().step(data, users);
    for m in ScramMechanism::ALL {
        // As a client-first, then once more (a finished or continuing exchange).
        let mut s = ScramServer::with_nonce(m, "srv".into());
        let _ = s.step(data, users);
        let _ = s.step(data, users);
        // As a client-final after a valid client-first.
        let mut s = ScramServer::with_nonce(m, "srv".into());
        if s.step(b"n,,n=user,r=c", users).is_ok() {
            let _ = s.step(data, users);
        }
    }
});
