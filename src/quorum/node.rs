//! The Ready loop: one task on the controller shard owns the `RawNode`. It wakes on a peer's message,
//! a queued proposal or the tick timer, then handles raft-rs's `Ready` in the documented order:
//!
//! 1. send the leader's messages (they do not depend on local persistence),
//! 2. install a snapshot received from the leader (storage and image),
//! 3. apply committed entries,
//! 4. append new entries and the hard state, then `fdatasync`,
//! 5. only now send the messages that depend on them (votes, append responses),
//! 6. `advance`, then apply what it newly committed, `advance_apply`,
//! 7. compact the log into a snapshot every `SNAPSHOT_EVERY` applied entries.
//!
//! Applying an entry installs its image on the controller when the image is still at the entry's base
//! version (`proposal.rs` explains why that keeps every node identical), publishes it to every shard
//! and resolves the proposal if this node made it.
//!
//! Broker-only nodes are Raft learners: they follow the log and never vote. A new learner knows no
//! leader, so its registration goes to every voter as a `MsgPropose` (raft-rs forwards it to the
//! leader; the copies are harmless: after the first, the others are stale and skipped). Once the
//! registration (with the learner's Raft address) is applied, the leader adds the learner with a
//! `AddLearnerNode` conf change, and every node starts sending to that address.

use super::proposal::{Proposal, LEARNER_REGISTRATION};
use super::transport::{self, Transport};
use super::{logging, Boot, Event, MetadataStateMachine, Outcome, Quorum, QuorumError};
use crate::cluster::metadata::MetadataImage;
use glommio::channels::local_channel::{LocalReceiver, LocalSender};
use protobuf::Message as _;
use raft::eraftpb::{ConfChange, ConfChangeType, Entry, EntryType, Message, MessageType};
use raft::{RawNode, SnapshotStatus};
use std::os::unix::io::{FromRawFd, IntoRawFd};
use std::rc::Rc;
use std::time::{Duration, Instant};
use tracing::{debug, error, info, warn};

use super::storage::DiskStorage;

/// One Raft tick. Elections after 10–20 ticks without a leader (1–2 s), heartbeats every 2 ticks.
const TICK: Duration = Duration::from_millis(100);
const ELECTION_TICKS: usize = 10;
const HEARTBEAT_TICKS: usize = 2;
/// Applied entries between log compactions (each entry holds a whole image, so keep the log short).
const SNAPSHOT_EVERY: u64 = 64;

struct Driver<M> {
    raw: RawNode<DiskStorage>,
    transport: Transport,
    controller: Rc<M>,
    quorum: Rc<Quorum>,
    node_id: u64,
    /// The voters' ids (a learner's registration goes to all of them).
    voter_ids: Vec<u64>,
    applied: u64,
    snapshot_index: u64,
}

/// Starts the Raft listener, the peer connections and the Ready loop on this (the controller) shard.
pub fn start<M: MetadataStateMachine + 'static>(
    controller: Rc<M>,
    boot: Boot,
    quorum: Rc<Quorum>,
    inbox: LocalReceiver<Event>,
    inbox_sender: Rc<LocalSender<Event>>,
) -> Result<(), QuorumError> {
    let config = raft::Config {
        id: boot.node_id,
        election_tick: ELECTION_TICKS,
        heartbeat_tick: HEARTBEAT_TICKS,
        applied: boot.applied,
        // A leader that cannot hear a majority steps down, so a minority never claims to be controller.
        check_quorum: true,
        // A node returning from a partition cannot disrupt a working leader with higher terms.
        pre_vote: true,
        max_size_per_msg: 1 << 20,
        max_inflight_msgs: 256,
        ..Default::default()
    };
    config.validate()?;
    let transport = Transport::start(&peers_of(&boot), &inbox_sender);
    let raw = RawNode::new(&config, boot.storage, &logging::raft_logger(boot.node_id))?;
    // SAFETY: the fd comes from `into_raw_fd`, so the glommio listener becomes its only owner.
    let listener = unsafe { glommio::net::TcpListener::from_raw_fd(boot.listener.into_raw_fd()) };
    transport::serve(listener, inbox_sender);
    let mut driver = Driver {
        raw,
        transport,
        controller,
        quorum,
        node_id: boot.node_id,
        voter_ids: boot.voters.iter().map(|v| v.id).collect(),
        applied: boot.applied,
        snapshot_index: boot.applied,
    };
    driver.connect_learners();
    info!(
        node_id = boot.node_id,
        voters = boot.voters.len(),
        applied = boot.applied,
        "metadata quorum started"
    );
    glommio::spawn_local(driver.run(inbox)).detach();
    Ok(())
}

/// Every other voter's id and Raft address.
fn peers_of(boot: &Boot) -> Vec<(u64, String)> {
    boot.voters
        .iter()
        .filter(|v| v.id != boot.node_id)
        .map(|v| (v.id, v.address.clone()))
        .collect()
}

impl<M: MetadataStateMachine + 'static> Driver<M> {
    fn controller(&self) -> &M {
        &self.controller
    }

    async fn run(mut self, inbox: LocalReceiver<Event>) {
        let mut next_tick = Instant::now() + TICK;
        loop {
            let wait = next_tick.saturating_duration_since(Instant::now());
            let event = futures_lite::future::or(inbox.recv(), async {
                glommio::timer::sleep(wait).await;
                None
            })
            .await;
            match event {
                Some(Event::Message(m)) => {
                    self.quorum.heard_from(m.from);
                    if let Err(e) = self.raw.step(*m) {
                        debug!(error = %e, "Raft message ignored");
                    }
                }
                Some(Event::SnapshotSent { peer, delivered }) => {
                    self.report_snapshot(peer, delivered)
                }
                Some(Event::Proposed) | None => {}
            }
            if Instant::now() >= next_tick {
                self.raw.tick();
                next_tick = Instant::now() + TICK;
            }
            self.propose_queued();
            if let Err(e) = self.on_ready().await {
                // The log can no longer be trusted to be durable: stop voting rather than risk
                // acknowledging what is not on disk. The node keeps serving its last metadata.
                error!(error = %e, "metadata quorum stopped on a storage error; restart the node");
                self.quorum.set_leader(0);
                return;
            }
        }
    }

    fn report_snapshot(&mut self, peer: u64, delivered: bool) {
        let status = if delivered {
            SnapshotStatus::Finish
        } else {
            warn!(
                peer,
                "metadata snapshot to peer lost; it will be sent again"
            );
            SnapshotStatus::Failure
        };
        self.raw.report_snapshot(peer, status);
    }

    /// Hands messages to the transport; a snapshot it had to drop is reported as failed at once.
    fn send(&mut self, messages: Vec<raft::eraftpb::Message>) {
        for peer in self.transport.send(messages) {
            self.report_snapshot(peer, false);
        }
    }

    fn propose_queued(&mut self) {
        for (seq, data) in self.quorum.take_queued() {
            if self.quorum.learner && self.raw.raft.leader_id == 0 {
                self.propose_to_voters(data);
                continue;
            }
            if let Err(e) = self.raw.propose(Vec::new(), data) {
                debug!(error = %e, "proposal dropped (no leader)");
                self.quorum.resolve(seq, Err(QuorumError::NoLeader));
            }
        }
    }

    /// A learner that knows no leader yet hands its proposal to every voter; the proposal resolves
    /// when this node applies it, or times out and is retried.
    fn propose_to_voters(&mut self, data: Vec<u8>) {
        let messages = self
            .voter_ids
            .iter()
            .map(|&to| {
                let entry = Entry {
                    data: data.clone().into(),
                    ..Default::default()
                };
                let mut m = Message::default();
                m.set_msg_type(MessageType::MsgPropose);
                m.from = self.node_id;
                m.to = to;
                m.entries = vec![entry].into();
                m
            })
            .collect();
        self.send(messages);
    }

    /// Sends to every registered learner (their addresses are in the image).
    fn connect_learners(&mut self) {
        for (id, address) in self.controller().learner_addresses() {
            if id as u64 != self.node_id {
                self.transport.add_peer(id as u64, &address);
            }
        }
    }

    /// On the leader: adds one registered learner missing from the Raft configuration (raft-rs
    /// takes one conf change at a time; the next waits until this one is applied).
    fn add_missing_learner(&mut self) {
        let raft = &self.raw.raft;
        if raft.state != raft::StateRole::Leader || raft.pending_conf_index > self.applied {
            return;
        }
        let missing = self
            .controller()
            .learner_addresses()
            .into_iter()
            .map(|(id, _)| id as u64)
            .find(|&id| raft.prs().get(id).is_none());
        if let Some(id) = missing {
            let mut cc = ConfChange::default();
            cc.set_change_type(ConfChangeType::AddLearnerNode);
            cc.node_id = id;
            match self.raw.propose_conf_change(Vec::new(), cc) {
                Ok(()) => info!(learner = id, "adding a broker-only node as a Raft learner"),
                Err(e) => debug!(learner = id, error = %e, "learner conf change not proposed"),
            }
        }
    }

    async fn on_ready(&mut self) -> Result<(), QuorumError> {
        if !self.raw.has_ready() {
            return Ok(());
        }
        let mut ready = self.raw.ready();
        let leader_changed = ready.ss().map(|ss| ss.leader_id);
        if let Some(leader) = leader_changed {
            self.quorum.set_leader(leader);
            info!(
                leader,
                node_id = self.node_id,
                "metadata quorum leader changed"
            );
        }
        self.send(ready.take_messages());
        if !ready.snapshot().is_empty() {
            self.install_snapshot(ready.snapshot().clone()).await?;
        }
        self.apply(ready.take_committed_entries()).await;
        let store = self.raw.mut_store();
        let wrote = !ready.entries().is_empty() || ready.hs().is_some();
        if !ready.entries().is_empty() {
            store.append(ready.entries())?;
        }
        if let Some(hs) = ready.hs() {
            store.set_hard_state(hs)?;
        }
        if wrote {
            store.sync()?;
        }
        self.send(ready.take_persisted_messages());
        let mut light = self.raw.advance(ready);
        if let Some(commit) = light.commit_index() {
            // Durable with the next sync; a commit index lost to a crash is learnt again from the leader.
            self.raw.mut_store().set_commit(commit)?;
        }
        self.send(light.take_messages());
        self.apply(light.take_committed_entries()).await;
        self.raw.advance_apply();
        if leader_changed.is_some() {
            self.controller().republish().await;
        }
        self.connect_learners();
        self.add_missing_learner();
        self.maybe_compact()
    }

    async fn install_snapshot(
        &mut self,
        snapshot: raft::eraftpb::Snapshot,
    ) -> Result<(), QuorumError> {
        let index = snapshot.get_metadata().index;
        let image = MetadataImage::decode(&snapshot.data, self.node_id as i32)?;
        self.raw.mut_store().apply_snapshot(snapshot)?;
        self.applied = index;
        self.snapshot_index = index;
        info!(
            index,
            version = image.version,
            "installed a metadata snapshot from the leader"
        );
        self.controller().install(image).await;
        Ok(())
    }

    async fn apply(&mut self, entries: Vec<Entry>) {
        for entry in entries {
            self.applied = entry.index;
            if entry.get_entry_type() == EntryType::EntryConfChange {
                self.apply_conf_change(&entry);
                continue;
            }
            if entry.data.is_empty() {
                continue; // a new leader's empty entry
            }
            let Some(p) = Proposal::decode(&entry.data) else {
                warn!(index = entry.index, "undecodable metadata entry skipped");
                continue;
            };
            let outcome = if p.base_version == LEARNER_REGISTRATION {
                self.register_learner(&p).await
            } else if p.base_version == self.controller().image_version() {
                match MetadataImage::decode(p.image, self.node_id as i32) {
                    Ok(image) => {
                        self.controller().install(image).await;
                        Outcome::Installed
                    }
                    Err(e) => {
                        // Decoding is deterministic: every node skips this entry alike.
                        warn!(index = entry.index, error = %e, "corrupt metadata image in entry skipped");
                        Outcome::Stale
                    }
                }
            } else {
                Outcome::Stale
            };
            if p.origin == self.node_id {
                self.quorum.resolve(p.seq, Ok(outcome));
            }
        }
    }

    /// Upserts the broker record a learner's registration carries into the current image.
    async fn register_learner(&self, p: &Proposal<'_>) -> Outcome {
        let record = MetadataImage::decode(p.image, self.node_id as i32)
            .ok()
            .and_then(|image| image.broker(p.origin as i32).cloned());
        let Some(record) = record else {
            // Deterministic: every node skips it alike.
            warn!(
                origin = p.origin,
                "learner registration without its broker record skipped"
            );
            return Outcome::Stale;
        };
        let image = self.controller().with_broker(record);
        self.controller().install(image).await;
        Outcome::Installed
    }

    /// Voters are fixed by configuration; conf changes only add learners.
    fn apply_conf_change(&mut self, entry: &Entry) {
        let Ok(cc) = ConfChange::parse_from_bytes(&entry.data) else {
            warn!(index = entry.index, "undecodable Raft conf change skipped");
            return;
        };
        match self.raw.apply_conf_change(&cc) {
            Ok(state) => {
                info!(node = cc.node_id, learners = ?state.learners, "Raft configuration changed");
                self.raw.mut_store().set_conf_state(state);
            }
            Err(e) => warn!(index = entry.index, error = %e, "Raft conf change not applied"),
        }
    }

    fn maybe_compact(&mut self) -> Result<(), QuorumError> {
        if self.applied < self.snapshot_index + SNAPSHOT_EVERY {
            return Ok(());
        }
        let data = self.controller().encoded_image();
        if self.raw.mut_store().compact(self.applied, data)? {
            debug!(index = self.applied, "Raft log compacted into a snapshot");
            self.snapshot_index = self.applied;
        }
        Ok(())
    }
}
