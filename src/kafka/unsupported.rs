//! The rule for what shardlog cannot serve yet: the request is answered at once with a
//! non-retriable error Kafka's clients understand (never left to time out, never a retriable code
//! that makes them loop), and the broker says so at WARN once per client and API, so an operator
//! learns which application wants what without a log line per retry.

use super::RequestContext;
use kafka_protocol::messages::ApiKey;
use std::cell::RefCell;
use std::collections::HashSet;
use tracing::warn;

/// How many (client id, API) pairs a shard remembers; past this it stops warning rather than grow.
const REMEMBERED: usize = 4096;

thread_local! {
    // Per shard thread: each shard warns for the clients it serves; no lock on the request path.
    static WARNED: RefCell<HashSet<(String, ApiKey)>> = RefCell::new(HashSet::new());
}

/// Logs, the first time this client asks this API for it, that `missing` is not served.
pub fn refused(ctx: &RequestContext, missing: &str) {
    let first = WARNED.with(|warned| {
        let mut warned = warned.borrow_mut();
        let key = (ctx.client_id.clone(), ctx.api_key);
        warned.len() < REMEMBERED && warned.insert(key)
    });
    if first {
        warn!(
            client_id = %ctx.client_id,
            client_host = %ctx.client_host,
            api = ?ctx.api_key,
            missing,
            "request refused with INVALID_REQUEST: not served by shardlog yet (logged once per client and API)"
        );
    }
}

/// What the transactional APIs answer until transactions land.
pub const TRANSACTIONS: &str = "transactions are not supported by shardlog yet";
