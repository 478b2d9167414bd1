//! Fetch sessions (KIP-227): a consumer sends its full partition list once, then only what changed; the
//! broker answers only partitions with news. Sessions live on the shard that owns the connection (a
//! client that reconnects elsewhere gets FETCH_SESSION_ID_NOT_FOUND and starts a new one, as the protocol
//! expects), bounded by `MAX_SESSIONS` per shard with least-recently-used eviction.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

/// Sessions kept per shard; beyond this the least recently used is evicted.
const MAX_SESSIONS: usize = 1000;
/// `session_epoch` values with special meaning.
pub const INITIAL_EPOCH: i32 = 0;
pub const FINAL_EPOCH: i32 = -1;

/// What the session remembers of one partition.
#[derive(Clone, Debug)]
pub struct SessionPartition {
    pub topic_id: uuid::Uuid,
    pub fetch_offset: i64,
    pub max_bytes: u64,
    /// The client's view of the leader epoch (KIP-320), checked on every read.
    pub current_leader_epoch: i32,
    /// Last values sent to the client: a change makes the partition part of the next response.
    pub sent_high_watermark: i64,
    pub sent_log_start_offset: i64,
}

pub type PartitionKey = (String, i32);

#[derive(Debug)]
pub struct Session {
    pub partitions: BTreeMap<PartitionKey, SessionPartition>,
    /// The epoch the next request must carry.
    pub next_epoch: i32,
    last_used: Instant,
}

#[derive(Debug, PartialEq, Eq)]
pub enum SessionError {
    NotFound,
    WrongEpoch,
}

#[derive(Default)]
pub struct SessionCache {
    sessions: RefCell<HashMap<i32, Session>>,
    next_id: Cell<i32>,
}

impl SessionCache {
    /// Starts a session with `partitions`; returns its id (0 if none could be kept).
    pub fn create(&self, partitions: BTreeMap<PartitionKey, SessionPartition>) -> i32 {
        let mut sessions = self.sessions.borrow_mut();
        if sessions.len() >= MAX_SESSIONS {
            let oldest = sessions
                .iter()
                .min_by_key(|(_, s)| s.last_used)
                .map(|(id, _)| *id);
            if let Some(id) = oldest {
                sessions.remove(&id);
            }
        }
        let id = self.next_id.get().wrapping_add(1).max(1);
        self.next_id.set(id);
        sessions.insert(
            id,
            Session {
                partitions,
                next_epoch: 1,
                last_used: Instant::now(),
            },
        );
        id
    }

    pub fn remove(&self, id: i32) {
        self.sessions.borrow_mut().remove(&id);
    }

    /// Runs `f` on session `id` without an epoch check (bookkeeping after a response is built).
    pub fn with_current<T>(&self, id: i32, f: impl FnOnce(&mut Session) -> T) -> Option<T> {
        self.sessions.borrow_mut().get_mut(&id).map(f)
    }

    /// Runs `f` on session `id` if `epoch` is the one it expects, then advances the epoch.
    pub fn with_session<T>(
        &self,
        id: i32,
        epoch: i32,
        f: impl FnOnce(&mut Session) -> T,
    ) -> Result<T, SessionError> {
        let mut sessions = self.sessions.borrow_mut();
        let session = sessions.get_mut(&id).ok_or(SessionError::NotFound)?;
        if session.next_epoch != epoch {
            return Err(SessionError::WrongEpoch);
        }
        session.next_epoch = session.next_epoch.wrapping_add(1).max(1);
        session.last_used = Instant::now();
        Ok(f(session))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_must_follow_and_unknown_ids_are_refused() {
        let cache = SessionCache::default();
        let id = cache.create(BTreeMap::new());
        assert_eq!(cache.with_session(id, 1, |_| ()), Ok(()));
        assert_eq!(
            cache.with_session(id, 1, |_| ()),
            Err(SessionError::WrongEpoch)
        );
        assert_eq!(cache.with_session(id, 2, |_| ()), Ok(()));
        assert_eq!(
            cache.with_session(id + 1, 1, |_| ()),
            Err(SessionError::NotFound)
        );
        cache.remove(id);
        assert_eq!(
            cache.with_session(id, 3, |_| ()),
            Err(SessionError::NotFound)
        );
    }
}
