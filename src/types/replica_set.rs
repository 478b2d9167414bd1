//! What one partition's log knows about its replicas: whether this node leads it, and, on the leader,
//! each follower's log end and when it last caught up. From that it derives the high watermark and the
//! ISR changes to ask the controller for. Pure state, kept inside the `PartitionLog` on its shard.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The partition's replicas as the metadata says (one per applied snapshot).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    pub leader: i32,
    pub leader_epoch: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
}

/// A follower as its leader sees it.
#[derive(Clone, Copy, Debug)]
struct Follower {
    /// Its log end offset: the offset of its last fetch (`None` until it fetches).
    log_end: Option<i64>,
    /// When its fetch offset last reached the leader's log end (or it became a follower).
    caught_up_at: Instant,
    /// The previous fetch: when, and the leader's log end then.
    last_fetch: Option<(Instant, i64)>,
}

#[derive(Debug)]
enum Role {
    Leader {
        isr: Vec<i32>,
        replicas: Vec<i32>,
        followers: HashMap<i32, Follower>,
    },
    Follower {
        leader: i32,
        /// The leader's high watermark from its last fetch answer.
        leader_high_watermark: i64,
    },
}

/// A partition's replication state on this node. The default is a lone leader (a single node, or a
/// log before its first metadata snapshot): the high watermark is simply the log end.
#[derive(Debug)]
pub struct ReplicaSet {
    me: i32,
    role: Role,
}

impl Default for ReplicaSet {
    fn default() -> Self {
        ReplicaSet {
            me: -1,
            role: Role::Leader {
                isr: Vec::new(),
                replicas: Vec::new(),
                followers: HashMap::new(),
            },
        }
    }
}

impl ReplicaSet {
    /// Applies the metadata's view of the partition for node `me`. A follower that stays a follower
    /// of the same leader keeps its position; a new leader starts every follower's lag clock now.
    pub fn assign(&mut self, me: i32, a: &Assignment, now: Instant) {
        self.me = me;
        if a.leader != me {
            let keep = match self.role {
                Role::Follower {
                    leader,
                    leader_high_watermark,
                } if leader == a.leader => leader_high_watermark,
                _ => 0,
            };
            self.role = Role::Follower {
                leader: a.leader,
                leader_high_watermark: keep,
            };
            return;
        }
        let mut old = match std::mem::replace(
            &mut self.role,
            Role::Follower {
                leader: me,
                leader_high_watermark: 0,
            },
        ) {
            Role::Leader { followers, .. } => followers,
            Role::Follower { .. } => HashMap::new(),
        };
        let followers = a
            .replicas
            .iter()
            .filter(|&&r| r != me)
            .map(|&r| {
                let f = old.remove(&r).unwrap_or(Follower {
                    log_end: None,
                    caught_up_at: now,
                    last_fetch: None,
                });
                (r, f)
            })
            .collect();
        self.role = Role::Leader {
            isr: a.isr.clone(),
            replicas: a.replicas.clone(),
            followers,
        };
    }

    pub fn is_leader(&self) -> bool {
        matches!(self.role, Role::Leader { .. })
    }

    /// The ISR size a leader counts for min.insync.replicas (a lone leader counts itself).
    pub fn in_sync_replicas(&self) -> usize {
        match &self.role {
            Role::Leader { isr, .. } => isr.len().max(1),
            Role::Follower { .. } => 0,
        }
    }

    /// This node leads and some replica is out of the ISR.
    pub fn under_replicated(&self) -> bool {
        match &self.role {
            Role::Leader { isr, replicas, .. } => isr.len() < replicas.len(),
            Role::Follower { .. } => false,
        }
    }

    /// The ISR as this leader last applied it.
    pub fn isr(&self) -> Vec<i32> {
        match &self.role {
            Role::Leader { isr, .. } => isr.clone(),
            Role::Follower { .. } => Vec::new(),
        }
    }

    /// A follower fetched from `fetch_offset` while this leader's log ended at `leader_log_end`.
    /// Kafka's rule for "caught up": the fetch reached the log end of now, or of the previous fetch.
    pub fn record_fetch(
        &mut self,
        replica: i32,
        fetch_offset: i64,
        leader_log_end: i64,
        now: Instant,
    ) {
        let Role::Leader { followers, .. } = &mut self.role else {
            return;
        };
        let Some(f) = followers.get_mut(&replica) else {
            return;
        };
        f.log_end = Some(fetch_offset);
        if fetch_offset >= leader_log_end {
            f.caught_up_at = now;
        } else if let Some((at, then)) = f.last_fetch {
            if fetch_offset >= then && at > f.caught_up_at {
                f.caught_up_at = at;
            }
        }
        f.last_fetch = Some((now, leader_log_end));
    }

    /// A follower learned its leader's high watermark.
    pub fn set_leader_high_watermark(&mut self, hw: i64) {
        if let Role::Follower {
            leader_high_watermark,
            ..
        } = &mut self.role
        {
            *leader_high_watermark = hw;
        }
    }

    /// The high watermark for a log ending at `log_end`: on the leader the smallest log end over the
    /// ISR (a follower that has not fetched yet counts as 0); on a follower its own log end capped by
    /// the leader's high watermark.
    pub fn high_watermark(&self, log_end: i64) -> i64 {
        match &self.role {
            Role::Leader { isr, followers, .. } => isr
                .iter()
                .filter(|&&r| r != self.me)
                .map(|r| followers.get(r).and_then(|f| f.log_end).unwrap_or(0))
                .fold(log_end, i64::min),
            Role::Follower {
                leader_high_watermark,
                ..
            } => log_end.min(*leader_high_watermark),
        }
    }

    /// The ISR this leader should ask for: followers that have not caught up for `lag_max` leave,
    /// followers whose log reached `high_watermark` join. `None` when nothing changes.
    pub fn wanted_isr(
        &self,
        high_watermark: i64,
        lag_max: Duration,
        now: Instant,
    ) -> Option<Vec<i32>> {
        let Role::Leader {
            isr,
            replicas,
            followers,
        } = &self.role
        else {
            return None;
        };
        let in_sync = |r: &i32| {
            if *r == self.me {
                return true;
            }
            let Some(f) = followers.get(r) else {
                return false;
            };
            if isr.contains(r) {
                now.saturating_duration_since(f.caught_up_at) <= lag_max
            } else {
                f.log_end.is_some_and(|end| end >= high_watermark)
            }
        };
        let wanted: Vec<i32> = replicas.iter().copied().filter(in_sync).collect();
        let mut current = isr.clone();
        current.sort_unstable();
        let mut sorted = wanted.clone();
        sorted.sort_unstable();
        (sorted != current).then_some(wanted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assignment(leader: i32, isr: &[i32]) -> Assignment {
        Assignment {
            leader,
            leader_epoch: 0,
            replicas: vec![1, 2, 3],
            isr: isr.to_vec(),
        }
    }

    #[test]
    fn lone_leader_high_watermark_is_the_log_end() {
        let set = ReplicaSet::default();
        assert_eq!(set.high_watermark(42), 42);
        assert_eq!(set.in_sync_replicas(), 1);
    }

    #[test]
    fn leader_high_watermark_is_the_slowest_in_sync_follower() {
        let now = Instant::now();
        let mut set = ReplicaSet::default();
        set.assign(1, &assignment(1, &[1, 2, 3]), now);
        assert_eq!(set.high_watermark(10), 0, "followers have not fetched yet");
        set.record_fetch(2, 10, 10, now);
        set.record_fetch(3, 7, 10, now);
        assert_eq!(set.high_watermark(10), 7);
        // Out of the ISR, a slow follower no longer holds the high watermark back.
        set.assign(1, &assignment(1, &[1, 2]), now);
        assert_eq!(set.high_watermark(10), 10);
    }

    #[test]
    fn lagging_follower_leaves_and_caught_up_follower_rejoins() {
        let start = Instant::now();
        let lag = Duration::from_secs(10);
        let mut set = ReplicaSet::default();
        set.assign(1, &assignment(1, &[1, 2, 3]), start);
        set.record_fetch(2, 5, 5, start);
        set.record_fetch(3, 5, 5, start);
        assert_eq!(set.wanted_isr(5, lag, start + lag), None);
        // Follower 2 keeps up (its fetch reaches the previous fetch's log end); 3 stops fetching.
        let later = start + Duration::from_secs(8);
        set.record_fetch(2, 9, 12, later);
        let much_later = start + Duration::from_secs(12);
        set.record_fetch(2, 12, 15, much_later);
        assert_eq!(set.wanted_isr(12, lag, much_later), Some(vec![1, 2]));
        set.assign(1, &assignment(1, &[1, 2]), much_later);
        // 3 comes back below the high watermark: not yet; at it: back in.
        set.record_fetch(3, 11, 15, much_later);
        assert_eq!(set.wanted_isr(12, lag, much_later), None);
        set.record_fetch(3, 12, 15, much_later);
        assert_eq!(set.wanted_isr(12, lag, much_later), Some(vec![1, 2, 3]));
    }

    #[test]
    fn follower_high_watermark_is_capped_by_the_leaders() {
        let mut set = ReplicaSet::default();
        set.assign(2, &assignment(1, &[1, 2, 3]), Instant::now());
        assert!(!set.is_leader());
        set.set_leader_high_watermark(8);
        assert_eq!(set.high_watermark(5), 5);
        assert_eq!(set.high_watermark(10), 8);
    }
}
