//! A consumer group under the KIP-848 protocol (`group.protocol=consumer`): members only heartbeat, the
//! broker computes the assignment (uniform assignor, sticky) and hands each member its share.
//!
//! A partition moving from member A to member B is given to B only after A has reported (in a heartbeat)
//! that it no longer owns it, so no partition is ever consumed by two members at once. Pure state: the
//! coordinator feeds it heartbeats, the topic metadata and the clock.

use kafka_protocol::ResponseError;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// A topic partition by topic id, as the protocol addresses it.
pub type TopicPartition = (Uuid, i32);

/// The epochs with special meaning in a heartbeat.
pub const JOIN_EPOCH: i32 = 0;
pub const LEAVE_EPOCH: i32 = -1;
pub const STATIC_LEAVE_EPOCH: i32 = -2;

/// A heartbeat as the group sees it.
pub struct Heartbeat {
    pub member_id: String,
    pub member_epoch: i32,
    pub subscribed_topics: Option<Vec<String>>,
    pub owned: Option<Vec<TopicPartition>>,
    /// `group.remote.assignor`: `uniform` (default) or `range`; None keeps the previous choice.
    pub assignor: Option<String>,
    pub client_id: String,
    pub client_host: String,
}

/// The server-side assignors (KIP-848's `uniform` and `range`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Assignor {
    #[default]
    Uniform,
    Range,
}

impl Assignor {
    pub fn parse(name: &str) -> Option<Assignor> {
        match name {
            "uniform" => Some(Assignor::Uniform),
            "range" => Some(Assignor::Range),
            _ => None,
        }
    }
}

/// The answer: the member's id and epoch, and the partitions it may own now (None after leaving).
#[derive(Debug, PartialEq, Eq)]
pub struct HeartbeatAnswer {
    pub member_id: String,
    pub member_epoch: i32,
    pub assignment: Option<BTreeSet<TopicPartition>>,
}

pub struct ConsumerMember {
    pub epoch: i32,
    pub assignor: Assignor,
    pub subscriptions: Vec<String>,
    pub owned: BTreeSet<TopicPartition>,
    pub client_id: String,
    pub client_host: String,
    last_seen: Instant,
}

#[derive(Default)]
pub struct ConsumerGroup {
    pub epoch: i32,
    pub members: BTreeMap<String, ConsumerMember>,
    target: BTreeMap<String, BTreeSet<TopicPartition>>,
}

impl ConsumerGroup {
    /// Handles one heartbeat. `topics` maps each existing topic name to (id, partition count).
    pub fn heartbeat(
        &mut self,
        hb: Heartbeat,
        topics: &HashMap<String, (Uuid, i32)>,
        now: Instant,
    ) -> Result<HeartbeatAnswer, ResponseError> {
        let assignor = match hb.assignor.as_deref() {
            Some(name) => Some(Assignor::parse(name).ok_or(ResponseError::UnsupportedAssignor)?),
            None => None,
        };
        if hb.member_epoch == LEAVE_EPOCH || hb.member_epoch == STATIC_LEAVE_EPOCH {
            self.members.remove(&hb.member_id);
            self.rebalance(topics);
            return Ok(HeartbeatAnswer {
                member_id: hb.member_id,
                member_epoch: LEAVE_EPOCH,
                assignment: None,
            });
        }
        let member_id = if hb.member_epoch == JOIN_EPOCH {
            // KIP-1082: clients pick their member id; older clients leave it to us.
            let id = if hb.member_id.is_empty() {
                Uuid::new_v4().to_string()
            } else {
                hb.member_id
            };
            // A rejoin (epoch 0 again) starts over owning nothing but keeps its subscription.
            let member = self
                .members
                .entry(id.clone())
                .or_insert_with(|| ConsumerMember {
                    epoch: 0,
                    assignor: Assignor::default(),
                    subscriptions: Vec::new(),
                    owned: BTreeSet::new(),
                    client_id: hb.client_id,
                    client_host: hb.client_host,
                    last_seen: now,
                });
            member.owned.clear();
            id
        } else if self.members.contains_key(&hb.member_id) {
            hb.member_id
        } else {
            return Err(ResponseError::UnknownMemberId);
        };
        let member = self.members.get_mut(&member_id).expect("present");
        member.last_seen = now;
        if let Some(assignor) = assignor {
            member.assignor = assignor;
        }
        if let Some(topics) = hb.subscribed_topics {
            member.subscriptions = topics;
        }
        if let Some(owned) = hb.owned {
            member.owned = owned.into_iter().collect();
        }
        self.rebalance(topics);
        let assignment = self.grantable(&member_id);
        let target = self.target.get(&member_id).cloned().unwrap_or_default();
        let member = self.members.get_mut(&member_id).expect("present");
        if member.owned.is_subset(&target) {
            // Nothing left to revoke: the member moves to the group epoch (partitions still owned by
            // others follow in later heartbeats).
            member.epoch = self.epoch;
        }
        Ok(HeartbeatAnswer {
            member_id,
            member_epoch: member.epoch,
            assignment: Some(assignment),
        })
    }

    /// The member's target partitions that no other member still owns.
    fn grantable(&self, member_id: &str) -> BTreeSet<TopicPartition> {
        let owned_elsewhere: BTreeSet<&TopicPartition> = self
            .members
            .iter()
            .filter(|(id, _)| id.as_str() != member_id)
            .flat_map(|(_, m)| m.owned.iter())
            .collect();
        self.target
            .get(member_id)
            .map(|t| {
                t.iter()
                    .filter(|tp| !owned_elsewhere.contains(tp))
                    .copied()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Recomputes the target assignment; bumps the group epoch if it changed.
    /// The assignor most members asked for (uniform on a tie or when none asked).
    fn assignor(&self) -> Assignor {
        let range = self
            .members
            .values()
            .filter(|m| m.assignor == Assignor::Range)
            .count();
        if range * 2 > self.members.len() {
            Assignor::Range
        } else {
            Assignor::Uniform
        }
    }

    fn rebalance(&mut self, topics: &HashMap<String, (Uuid, i32)>) {
        let target = match self.assignor() {
            Assignor::Uniform => uniform_sticky(&self.members, &self.target, topics),
            Assignor::Range => range(&self.members, topics),
        };
        if target != self.target {
            self.target = target;
            self.epoch += 1;
        }
    }

    /// Removes members silent for longer than `session_timeout`; returns their ids.
    pub fn expire(
        &mut self,
        now: Instant,
        session_timeout: Duration,
        topics: &HashMap<String, (Uuid, i32)>,
    ) -> Vec<String> {
        let expired: Vec<String> = self
            .members
            .iter()
            .filter(|(_, m)| now.duration_since(m.last_seen) > session_timeout)
            .map(|(id, _)| id.clone())
            .collect();
        for id in &expired {
            self.members.remove(id);
        }
        if !expired.is_empty() {
            self.rebalance(topics);
        }
        expired
    }

    /// The partitions `member_id` may own now (its target minus what others still hold).
    pub fn current_assignment(&self, member_id: &str) -> BTreeSet<TopicPartition> {
        self.grantable(member_id)
    }

    pub fn assignor_name(&self) -> &'static str {
        match self.assignor() {
            Assignor::Uniform => "uniform",
            Assignor::Range => "range",
        }
    }

    pub fn assignment_of(&self, member_id: &str) -> BTreeSet<TopicPartition> {
        self.target.get(member_id).cloned().unwrap_or_default()
    }
}

/// The uniform assignor: every subscribed partition to exactly one subscriber, counts within one of
/// each other; members keep what they had up to an even share (fewer partitions move).
fn uniform_sticky(
    members: &BTreeMap<String, ConsumerMember>,
    previous: &BTreeMap<String, BTreeSet<TopicPartition>>,
    topics: &HashMap<String, (Uuid, i32)>,
) -> BTreeMap<String, BTreeSet<TopicPartition>> {
    let subscribed = |m: &ConsumerMember, tp: &TopicPartition| {
        m.subscriptions.iter().any(|t| {
            topics
                .get(t)
                .is_some_and(|(id, n)| *id == tp.0 && tp.1 < *n)
        })
    };
    let mut all: BTreeSet<TopicPartition> = BTreeSet::new();
    for m in members.values() {
        for t in &m.subscriptions {
            if let Some((id, n)) = topics.get(t) {
                all.extend((0..*n).map(|p| (*id, p)));
            }
        }
    }
    let share = if members.is_empty() {
        0
    } else {
        all.len() / members.len()
    };
    let mut target: BTreeMap<String, BTreeSet<TopicPartition>> = BTreeMap::new();
    for (id, m) in members {
        let kept: BTreeSet<_> = previous
            .get(id)
            .into_iter()
            .flatten()
            .filter(|tp| all.contains(tp) && subscribed(m, tp))
            .take(share)
            .copied()
            .collect();
        for tp in &kept {
            all.remove(tp);
        }
        target.insert(id.clone(), kept);
    }
    for tp in all {
        let least = members
            .iter()
            .filter(|(_, m)| subscribed(m, &tp))
            .min_by_key(|(id, _)| target[*id].len())
            .map(|(id, _)| id.clone());
        if let Some(id) = least {
            target
                .get_mut(&id)
                .expect("every member has an entry")
                .insert(tp);
        }
    }
    target
}

/// The range assignor: per topic, its subscribers (sorted by id) get contiguous ranges of partitions,
/// the first `partitions % subscribers` one more than the others.
fn range(
    members: &BTreeMap<String, ConsumerMember>,
    topics: &HashMap<String, (Uuid, i32)>,
) -> BTreeMap<String, BTreeSet<TopicPartition>> {
    let mut target: BTreeMap<String, BTreeSet<TopicPartition>> = members
        .keys()
        .map(|id| (id.clone(), BTreeSet::new()))
        .collect();
    let subscribed: BTreeSet<&String> = members.values().flat_map(|m| &m.subscriptions).collect();
    for topic in subscribed {
        let Some((topic_id, count)) = topics.get(topic) else {
            continue;
        };
        let subscribers: Vec<&String> = members
            .iter()
            .filter(|(_, m)| m.subscriptions.contains(topic))
            .map(|(id, _)| id)
            .collect();
        let (per, extra) = (
            *count as usize / subscribers.len(),
            *count as usize % subscribers.len(),
        );
        let mut next = 0;
        for (i, id) in subscribers.into_iter().enumerate() {
            let n = per + usize::from(i < extra);
            let set = target.get_mut(id).expect("every member has an entry");
            set.extend((next..next + n).map(|p| (*topic_id, p as i32)));
            next += n;
        }
    }
    target
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hb(id: &str, epoch: i32, owned: Option<Vec<TopicPartition>>) -> Heartbeat {
        Heartbeat {
            member_id: id.into(),
            member_epoch: epoch,
            subscribed_topics: (epoch == 0).then(|| vec!["t".to_string()]),
            owned,
            assignor: None,
            client_id: "c".into(),
            client_host: "/127.0.0.1".into(),
        }
    }

    #[test]
    fn partitions_move_only_after_the_old_owner_releases_them() {
        let topic = Uuid::new_v4();
        let topics = HashMap::from([("t".to_string(), (topic, 4))]);
        let now = Instant::now();
        let mut g = ConsumerGroup::default();
        let a = g.heartbeat(hb("a", 0, Some(vec![])), &topics, now).unwrap();
        assert_eq!(a.assignment.as_ref().unwrap().len(), 4);
        let all: Vec<_> = a.assignment.unwrap().into_iter().collect();
        g.heartbeat(hb("a", a.member_epoch, Some(all.clone())), &topics, now)
            .unwrap();
        // b joins: its target is half, but a still owns everything, so b gets nothing yet.
        let b = g.heartbeat(hb("b", 0, Some(vec![])), &topics, now).unwrap();
        assert!(b.assignment.unwrap().is_empty());
        // a learns its smaller assignment, revokes, reports; then b gets its half.
        let a2 = g
            .heartbeat(hb("a", a.member_epoch, None), &topics, now)
            .unwrap();
        let kept: Vec<_> = a2.assignment.unwrap().into_iter().collect();
        assert_eq!(kept.len(), 2);
        g.heartbeat(hb("a", a2.member_epoch, Some(kept.clone())), &topics, now)
            .unwrap();
        let b2 = g
            .heartbeat(hb("b", b.member_epoch, None), &topics, now)
            .unwrap();
        let got = b2.assignment.unwrap();
        assert_eq!(got.len(), 2);
        assert!(kept.iter().all(|tp| !got.contains(tp)));
        assert_eq!(
            b2.member_epoch, g.epoch,
            "members with nothing to revoke are at the group epoch"
        );
        // a leaves: b gets everything.
        g.heartbeat(hb("a", LEAVE_EPOCH, None), &topics, now)
            .unwrap();
        assert_eq!(
            g.heartbeat(hb("b", b2.member_epoch, None), &topics, now)
                .unwrap()
                .assignment
                .unwrap()
                .len(),
            4
        );
        assert_eq!(
            g.heartbeat(hb("zz", 3, None), &topics, now),
            Err(ResponseError::UnknownMemberId)
        );
    }

    #[test]
    fn range_assignor_gives_contiguous_ranges_and_unknown_assignors_are_refused() {
        let topic = Uuid::new_v4();
        let topics = HashMap::from([("t".to_string(), (topic, 5))]);
        let now = Instant::now();
        let mut g = ConsumerGroup::default();
        for id in ["a", "b"] {
            let mut join = hb(id, 0, Some(vec![]));
            join.assignor = Some("range".into());
            g.heartbeat(join, &topics, now).unwrap();
        }
        let ps = |id: &str| {
            g.assignment_of(id)
                .into_iter()
                .map(|(_, p)| p)
                .collect::<Vec<_>>()
        };
        assert_eq!((ps("a"), ps("b")), (vec![0, 1, 2], vec![3, 4]));
        let mut bad = hb("c", 0, Some(vec![]));
        bad.assignor = Some("sticky-ish".into());
        assert_eq!(
            g.heartbeat(bad, &topics, now),
            Err(ResponseError::UnsupportedAssignor)
        );
    }
}
