//! One consumer group under the classic protocol (JoinGroup / SyncGroup / Heartbeat / LeaveGroup): its
//! members, generation, chosen protocol and the rebalance state machine
//! Empty → PreparingRebalance → CompletingRebalance → Stable (→ PreparingRebalance on any change).
//!
//! Pure state: no I/O, no timers. The coordinator feeds it requests and the clock (`tick`), and delivers
//! the answers it produces through each member's waiting channel.

use bytes::Bytes;
use futures_channel::oneshot;
use kafka_protocol::ResponseError;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
}

impl GroupState {
    /// The names Kafka's tools print and filter on.
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
        }
    }
}

/// What a JoinGroup caller eventually receives.
#[derive(Debug)]
pub struct JoinResult {
    pub error: Option<ResponseError>,
    pub generation: i32,
    pub protocol_type: Option<String>,
    pub protocol: Option<String>,
    pub leader: String,
    pub member_id: String,
    /// Filled for the leader only: every member with its metadata for the chosen protocol.
    pub members: Vec<(String, Option<String>, Bytes)>,
}

impl JoinResult {
    pub fn error(error: ResponseError, member_id: String) -> JoinResult {
        JoinResult {
            error: Some(error),
            generation: -1,
            protocol_type: None,
            protocol: None,
            leader: String::new(),
            member_id,
            members: Vec::new(),
        }
    }
}

/// What a SyncGroup caller eventually receives: its assignment, or an error.
pub type SyncResult = Result<Bytes, ResponseError>;

/// A JoinGroup as the group sees it.
pub struct JoinRequest {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout: Duration,
    pub rebalance_timeout: Duration,
    pub protocol_type: String,
    pub protocols: Vec<(String, Bytes)>,
    /// JoinGroup v4+: a new member must first be handed an id (MEMBER_ID_REQUIRED) and rejoin with it.
    pub require_known_member_id: bool,
}

pub struct Member {
    pub id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout: Duration,
    pub rebalance_timeout: Duration,
    pub protocols: Vec<(String, Bytes)>,
    pub assignment: Bytes,
    join_waiter: Option<oneshot::Sender<JoinResult>>,
    sync_waiter: Option<oneshot::Sender<SyncResult>>,
    last_seen: Instant,
}

impl Member {
    fn metadata_for(&self, protocol: &str) -> Bytes {
        self.protocols
            .iter()
            .find(|(name, _)| name == protocol)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }
}

/// Answer of `join` when it can be given at once instead of after the rebalance.
pub enum JoinOutcome {
    Wait(oneshot::Receiver<JoinResult>),
    Now(JoinResult),
}

pub enum SyncOutcome {
    Wait(oneshot::Receiver<SyncResult>),
    Now(SyncResult),
}

pub struct Group {
    pub id: String,
    pub state: GroupState,
    pub generation: i32,
    pub protocol_type: Option<String>,
    pub protocol: Option<String>,
    pub leader: Option<String>,
    pub members: BTreeMap<String, Member>,
    /// Member ids handed out with MEMBER_ID_REQUIRED, valid until the given instant.
    pending: HashMap<String, Instant>,
    /// While PreparingRebalance: when members that have not rejoined are dropped.
    rebalance_deadline: Option<Instant>,
    /// A new group waits this long for more members before its first rebalance completes.
    initial_delay_until: Option<Instant>,
}

fn new_member_id(client_id: &str) -> String {
    format!("{client_id}-{}", uuid::Uuid::new_v4())
}

impl Group {
    pub fn new(id: String) -> Group {
        Group {
            id,
            state: GroupState::Empty,
            generation: 0,
            protocol_type: None,
            protocol: None,
            leader: None,
            members: BTreeMap::new(),
            pending: HashMap::new(),
            rebalance_deadline: None,
            initial_delay_until: None,
        }
    }

    /// Protocols every current member (and `extra`) supports.
    fn supports_common_protocol(&self, extra: &[(String, Bytes)]) -> bool {
        extra.iter().any(|(name, _)| {
            self.members
                .values()
                .all(|m| m.protocols.iter().any(|(n, _)| n == name))
        })
    }

    pub fn join(&mut self, req: JoinRequest, now: Instant, initial_delay: Duration) -> JoinOutcome {
        let empty_group = self.members.is_empty();
        if !empty_group
            && (self.protocol_type.as_deref() != Some(req.protocol_type.as_str())
                || !self.supports_common_protocol(&req.protocols))
        {
            return JoinOutcome::Now(JoinResult::error(
                ResponseError::InconsistentGroupProtocol,
                req.member_id,
            ));
        }
        let member_id = match self.resolve_member_id(&req, now) {
            Ok(id) => id,
            Err(result) => return JoinOutcome::Now(*result),
        };
        let (tx, rx) = oneshot::channel();
        let member = self
            .members
            .entry(member_id.clone())
            .or_insert_with(|| Member {
                id: member_id.clone(),
                instance_id: req.instance_id.clone(),
                client_id: req.client_id.clone(),
                client_host: req.client_host.clone(),
                session_timeout: req.session_timeout,
                rebalance_timeout: req.rebalance_timeout,
                protocols: Vec::new(),
                assignment: Bytes::new(),
                join_waiter: None,
                sync_waiter: None,
                last_seen: now,
            });
        member.protocols = req.protocols;
        member.session_timeout = req.session_timeout;
        member.rebalance_timeout = req.rebalance_timeout;
        member.last_seen = now;
        member.join_waiter = Some(tx);
        self.protocol_type = Some(req.protocol_type);
        if self.state != GroupState::PreparingRebalance {
            self.prepare_rebalance(now, empty_group.then_some(initial_delay));
        }
        self.try_complete_join(now);
        JoinOutcome::Wait(rx)
    }

    /// Finds or issues the member id for a JoinGroup (KIP-394 handshake, static membership).
    fn resolve_member_id(
        &mut self,
        req: &JoinRequest,
        now: Instant,
    ) -> Result<String, Box<JoinResult>> {
        if let Some(instance) = &req.instance_id {
            // Static member: a rejoin under the same instance id replaces (fences) the old member id.
            let old = self
                .members
                .values()
                .find(|m| m.instance_id.as_deref() == Some(instance.as_str()))
                .map(|m| m.id.clone());
            if let Some(old) = old {
                if req.member_id.is_empty() || req.member_id != old {
                    if let Some(mut m) = self.members.remove(&old) {
                        if let Some(w) = m.join_waiter.take() {
                            let _ = w.send(JoinResult::error(
                                ResponseError::FencedInstanceId,
                                old.clone(),
                            ));
                        }
                        if let Some(w) = m.sync_waiter.take() {
                            let _ = w.send(Err(ResponseError::FencedInstanceId));
                        }
                        if self.leader.as_deref() == Some(old.as_str()) {
                            self.leader = None;
                        }
                    }
                    return Ok(new_member_id(&req.client_id));
                }
                return Ok(old);
            }
            return Ok(if req.member_id.is_empty() {
                new_member_id(&req.client_id)
            } else {
                req.member_id.clone()
            });
        }
        if req.member_id.is_empty() {
            let id = new_member_id(&req.client_id);
            if req.require_known_member_id {
                self.pending.insert(id.clone(), now + req.session_timeout);
                return Err(Box::new(JoinResult::error(
                    ResponseError::MemberIdRequired,
                    id,
                )));
            }
            return Ok(id);
        }
        if self.members.contains_key(&req.member_id)
            || self.pending.remove(&req.member_id).is_some()
        {
            return Ok(req.member_id.clone());
        }
        Err(Box::new(JoinResult::error(
            ResponseError::UnknownMemberId,
            req.member_id.clone(),
        )))
    }

    fn prepare_rebalance(&mut self, now: Instant, initial_delay: Option<Duration>) {
        // Members waiting for an assignment of the old generation must rejoin.
        for m in self.members.values_mut() {
            if let Some(w) = m.sync_waiter.take() {
                let _ = w.send(Err(ResponseError::RebalanceInProgress));
            }
        }
        let longest = self
            .members
            .values()
            .map(|m| m.rebalance_timeout)
            .max()
            .unwrap_or_default();
        self.state = GroupState::PreparingRebalance;
        self.rebalance_deadline = Some(now + longest);
        self.initial_delay_until = initial_delay.map(|d| now + d.min(longest));
    }

    /// Completes the rebalance if every member has rejoined (and a new group's initial delay is over).
    fn try_complete_join(&mut self, now: Instant) {
        if self.state != GroupState::PreparingRebalance {
            return;
        }
        let all_joined = self.members.values().all(|m| m.join_waiter.is_some());
        let delay_over = self.initial_delay_until.is_none_or(|t| now >= t);
        if all_joined && delay_over {
            self.complete_join();
        }
    }

    /// Ends PreparingRebalance: drops members that did not rejoin, starts the next generation and
    /// answers every waiting JoinGroup (the leader with the member list).
    fn complete_join(&mut self) {
        self.members.retain(|_, m| m.join_waiter.is_some());
        self.rebalance_deadline = None;
        self.initial_delay_until = None;
        self.generation += 1;
        if self.members.is_empty() {
            self.state = GroupState::Empty;
            self.protocol = None;
            self.leader = None;
            return;
        }
        self.protocol = self.choose_protocol();
        if !self
            .leader
            .as_ref()
            .is_some_and(|l| self.members.contains_key(l))
        {
            self.leader = self.members.keys().next().cloned();
        }
        self.state = GroupState::CompletingRebalance;
        let protocol = self.protocol.clone().unwrap_or_default();
        let leader = self.leader.clone().unwrap_or_default();
        let all: Vec<(String, Option<String>, Bytes)> = self
            .members
            .values()
            .map(|m| {
                (
                    m.id.clone(),
                    m.instance_id.clone(),
                    m.metadata_for(&protocol),
                )
            })
            .collect();
        for m in self.members.values_mut() {
            m.assignment = Bytes::new();
            if let Some(w) = m.join_waiter.take() {
                let _ = w.send(JoinResult {
                    error: None,
                    generation: self.generation,
                    protocol_type: self.protocol_type.clone(),
                    protocol: self.protocol.clone(),
                    leader: leader.clone(),
                    member_id: m.id.clone(),
                    members: if m.id == leader {
                        all.clone()
                    } else {
                        Vec::new()
                    },
                });
            }
        }
    }

    /// The protocol supported by every member that most members list first (ties: lexical order).
    fn choose_protocol(&self) -> Option<String> {
        let first = self.members.values().next()?;
        let candidates: Vec<&String> = first
            .protocols
            .iter()
            .map(|(n, _)| n)
            .filter(|n| {
                self.members
                    .values()
                    .all(|m| m.protocols.iter().any(|(p, _)| p == *n))
            })
            .collect();
        let mut votes: BTreeMap<&String, usize> = candidates.iter().map(|c| (*c, 0)).collect();
        for m in self.members.values() {
            if let Some((name, _)) = m.protocols.iter().find(|(n, _)| votes.contains_key(n)) {
                *votes.get_mut(name).expect("a candidate") += 1;
            }
        }
        votes
            .into_iter()
            .max_by_key(|(_, v)| *v)
            .map(|(n, _)| n.clone())
    }

    /// Checks that `member_id` belongs to `generation` of this group.
    pub fn check_member(&self, member_id: &str, generation: i32) -> Result<(), ResponseError> {
        if !self.members.contains_key(member_id) {
            return Err(ResponseError::UnknownMemberId);
        }
        if generation != self.generation {
            return Err(ResponseError::IllegalGeneration);
        }
        Ok(())
    }

    pub fn sync(
        &mut self,
        member_id: &str,
        generation: i32,
        assignments: Vec<(String, Bytes)>,
        now: Instant,
    ) -> SyncOutcome {
        if let Err(e) = self.check_member(member_id, generation) {
            return SyncOutcome::Now(Err(e));
        }
        if let Some(m) = self.members.get_mut(member_id) {
            m.last_seen = now;
        }
        match self.state {
            GroupState::Empty | GroupState::PreparingRebalance => {
                SyncOutcome::Now(Err(ResponseError::RebalanceInProgress))
            }
            GroupState::Stable => SyncOutcome::Now(Ok(self.members[member_id].assignment.clone())),
            GroupState::CompletingRebalance => {
                let (tx, rx) = oneshot::channel();
                self.members
                    .get_mut(member_id)
                    .expect("checked")
                    .sync_waiter = Some(tx);
                if self.leader.as_deref() == Some(member_id) {
                    let mut assignments: HashMap<String, Bytes> = assignments.into_iter().collect();
                    for m in self.members.values_mut() {
                        m.assignment = assignments.remove(&m.id).unwrap_or_default();
                        if let Some(w) = m.sync_waiter.take() {
                            let _ = w.send(Ok(m.assignment.clone()));
                        }
                    }
                    self.state = GroupState::Stable;
                }
                SyncOutcome::Wait(rx)
            }
        }
    }

    pub fn heartbeat(
        &mut self,
        member_id: &str,
        generation: i32,
        now: Instant,
    ) -> Result<(), ResponseError> {
        if !self.members.contains_key(member_id) {
            return Err(ResponseError::UnknownMemberId);
        }
        if let Some(m) = self.members.get_mut(member_id) {
            m.last_seen = now;
        }
        match self.state {
            GroupState::PreparingRebalance => Err(ResponseError::RebalanceInProgress),
            _ if generation != self.generation => Err(ResponseError::IllegalGeneration),
            _ => Ok(()),
        }
    }

    /// Removes a member (LeaveGroup, or by instance id for static members); rebalances the rest.
    pub fn leave(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        now: Instant,
    ) -> Result<(), ResponseError> {
        let id = match instance_id {
            Some(instance) => self
                .members
                .values()
                .find(|m| m.instance_id.as_deref() == Some(instance))
                .map(|m| m.id.clone())
                .ok_or(ResponseError::UnknownMemberId)?,
            None => member_id.to_string(),
        };
        if self.members.remove(&id).is_none() {
            return Err(ResponseError::UnknownMemberId);
        }
        self.after_departure(now);
        Ok(())
    }

    fn after_departure(&mut self, now: Instant) {
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance => {
                self.prepare_rebalance(now, None);
                self.try_complete_join(now);
            }
            GroupState::PreparingRebalance => self.try_complete_join(now),
            GroupState::Empty => {}
        }
    }

    /// Advances time: evicts members whose session expired and finishes rebalances whose deadline or
    /// initial delay passed. Returns the ids of evicted members (for the log).
    pub fn tick(&mut self, now: Instant) -> Vec<String> {
        self.pending.retain(|_, until| *until > now);
        let expired: Vec<String> = self
            .members
            .values()
            // A member parked in JoinGroup or SyncGroup is alive by definition.
            .filter(|m| m.join_waiter.is_none() && m.sync_waiter.is_none())
            .filter(|m| now.duration_since(m.last_seen) > m.session_timeout)
            .map(|m| m.id.clone())
            .collect();
        for id in &expired {
            self.members.remove(id);
        }
        if !expired.is_empty() {
            self.after_departure(now);
        }
        if self.state == GroupState::PreparingRebalance {
            if self.rebalance_deadline.is_some_and(|d| now >= d) {
                self.complete_join();
            } else {
                self.try_complete_join(now);
            }
        }
        expired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn join_req(member_id: &str, protocols: &[&str]) -> JoinRequest {
        JoinRequest {
            member_id: member_id.into(),
            instance_id: None,
            client_id: "c".into(),
            client_host: "/127.0.0.1".into(),
            session_timeout: Duration::from_secs(10),
            rebalance_timeout: Duration::from_secs(30),
            protocol_type: "consumer".into(),
            protocols: protocols
                .iter()
                .map(|p| (p.to_string(), Bytes::from_static(b"meta")))
                .collect(),
            require_known_member_id: false,
        }
    }

    fn joined(outcome: JoinOutcome) -> oneshot::Receiver<JoinResult> {
        match outcome {
            JoinOutcome::Wait(rx) => rx,
            JoinOutcome::Now(r) => panic!("answered at once: {:?}", r.error),
        }
    }

    #[test]
    fn two_members_rebalance_sync_and_a_leave_triggers_a_new_generation() {
        let t0 = Instant::now();
        let mut g = Group::new("g".into());
        let mut a = joined(g.join(join_req("", &["range"]), t0, Duration::from_millis(100)));
        let mut b = joined(g.join(
            join_req("", &["cooperative-sticky", "range"]),
            t0,
            Duration::from_millis(100),
        ));
        assert_eq!(g.state, GroupState::PreparingRebalance);
        assert!(
            a.try_recv().unwrap().is_none(),
            "initial delay holds the first rebalance"
        );
        g.tick(t0 + Duration::from_millis(150));
        let (ra, rb) = (
            a.try_recv().unwrap().unwrap(),
            b.try_recv().unwrap().unwrap(),
        );
        assert_eq!((ra.generation, rb.generation), (1, 1));
        assert_eq!(
            ra.protocol.as_deref(),
            Some("range"),
            "the only protocol both support"
        );
        let (leader, follower) = if ra.members.is_empty() {
            (rb, ra)
        } else {
            (ra, rb)
        };
        assert_eq!(leader.members.len(), 2);
        let now = t0 + Duration::from_millis(200);
        let SyncOutcome::Wait(mut fs) = g.sync(&follower.member_id, 1, vec![], now) else {
            panic!()
        };
        let assignments = vec![
            (follower.member_id.clone(), Bytes::from_static(b"p1")),
            (leader.member_id.clone(), Bytes::from_static(b"p0")),
        ];
        let SyncOutcome::Wait(mut ls) = g.sync(&leader.member_id, 1, assignments, now) else {
            panic!()
        };
        assert_eq!(
            fs.try_recv().unwrap().unwrap().unwrap(),
            Bytes::from_static(b"p1")
        );
        assert_eq!(
            ls.try_recv().unwrap().unwrap().unwrap(),
            Bytes::from_static(b"p0")
        );
        assert_eq!(g.state, GroupState::Stable);
        assert_eq!(g.heartbeat(&follower.member_id, 1, now), Ok(()));
        assert_eq!(
            g.heartbeat(&follower.member_id, 0, now),
            Err(ResponseError::IllegalGeneration)
        );
        g.leave(&leader.member_id, None, now).unwrap();
        assert_eq!(
            g.heartbeat(&follower.member_id, 1, now),
            Err(ResponseError::RebalanceInProgress)
        );
        let mut f2 = joined(g.join(
            join_req(&follower.member_id, &["range"]),
            now,
            Duration::ZERO,
        ));
        let r = f2.try_recv().unwrap().unwrap();
        assert_eq!(
            (r.generation, r.leader.as_str()),
            (2, follower.member_id.as_str())
        );
    }

    #[test]
    fn silent_member_is_evicted_after_its_session_timeout() {
        let t0 = Instant::now();
        let mut g = Group::new("g".into());
        let mut a = joined(g.join(join_req("", &["range"]), t0, Duration::ZERO));
        let id = a.try_recv().unwrap().unwrap().member_id;
        assert!(g.tick(t0 + Duration::from_secs(5)).is_empty());
        assert_eq!(g.tick(t0 + Duration::from_secs(11)), vec![id]);
        assert_eq!(g.state, GroupState::Empty);
    }

    #[test]
    fn v4_join_requires_a_member_id_and_unknown_ids_are_refused() {
        let t0 = Instant::now();
        let mut g = Group::new("g".into());
        let mut req = join_req("", &["range"]);
        req.require_known_member_id = true;
        let JoinOutcome::Now(r) = g.join(req, t0, Duration::ZERO) else {
            panic!()
        };
        assert_eq!(r.error, Some(ResponseError::MemberIdRequired));
        let _waiting = joined(g.join(join_req(&r.member_id, &["range"]), t0, Duration::ZERO));
        let JoinOutcome::Now(r) = g.join(join_req("made-up", &["range"]), t0, Duration::ZERO)
        else {
            panic!()
        };
        assert_eq!(r.error, Some(ResponseError::UnknownMemberId));
        let JoinOutcome::Now(r) = g.join(join_req("", &["roundrobin"]), t0, Duration::ZERO) else {
            panic!()
        };
        assert_eq!(r.error, Some(ResponseError::InconsistentGroupProtocol));
    }
}
