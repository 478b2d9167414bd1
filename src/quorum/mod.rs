//! The metadata quorum: the cluster metadata replicated by Raft (TiKV's `raft` crate) among the
//! voters of `controller.quorum.voters`, driven from the controller shard's event loop.
//!
//! | module      | role |
//! |-------------|------|
//! | `voters`, `roles` | the settings: who votes, what this node does |
//! | `frame`     | CRC-framed records (the log and snapshot files) |
//! | `storage`   | the durable Raft log: entries, hard state, snapshot; recovery; compaction |
//! | `transport` | TCP between voters: one connection and bounded queue per peer, reconnect with backoff |
//! | `proposal`  | a metadata change as a Raft entry, installed only on the image version it was based on |
//! | `node`      | the Ready loop: tick, step, persist, send, apply, compact |
//! | `logging`   | raft's slog records into `tracing` |
//!
//! `Quorum` is the controller's handle: it proposes changes and learns their fate. Without
//! `controller.quorum.voters` none of this runs and the controller keeps its single local file.

pub mod frame;
pub mod logging;
pub mod node;
pub mod proposal;
pub mod storage;
pub mod transport;

use crate::cluster::metadata::{BrokerRecord, MetadataImage};
use crate::config::BrokerConfig;
use crate::types::roles;
use crate::types::voters::{self, Voter};
use glommio::channels::local_channel::LocalSender;
use raft::eraftpb::Message;
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, Instant};
use storage::{DiskStorage, RaftStorageError};
use thiserror::Error;

/// How long a proposal may take to be committed and applied here before the request fails.
pub const PROPOSAL_TIMEOUT: Duration = Duration::from_secs(5);

/// What wakes the Ready loop.
pub enum Event {
    /// A message from a peer voter.
    Message(Box<Message>),
    /// A proposal was queued.
    Proposed,
    /// A snapshot message to `peer` was written to its connection (`delivered`) or lost. raft-rs
    /// holds a follower in snapshot state until told, so a lost snapshot would stall it for good.
    SnapshotSent { peer: u64, delivered: bool },
}

#[derive(Debug, Error)]
pub enum QuorumError {
    #[error("no active controller: the metadata quorum has no leader (no majority of voters reachable, or an election is under way)")]
    NoLeader,
    #[error(
        "the metadata change was not committed within {0:?} (no majority of voters reachable?)"
    )]
    Timeout(Duration),
    #[error("Raft storage: {0}")]
    Storage(#[from] RaftStorageError),
    #[error("metadata snapshot: {0}")]
    Snapshot(#[from] crate::cluster::metadata::MetadataError),
    #[error("this node ({0}) is a controller but not listed in controller.quorum.voters")]
    NotAVoter(i32),
    #[error(
        "this node ({0}) is listed in controller.quorum.voters but process.roles has no controller"
    )]
    VoterWithoutControllerRole(i32),
    #[error("a broker-only node (process.roles=broker) needs shardlog.raft.address (--raft-address): the Raft address the quorum sends it the metadata log at")]
    LearnerWithoutAddress,
    #[error("raft: {0}")]
    Raft(#[from] raft::Error),
    #[error("Raft port {address}: {source}")]
    Bind {
        address: String,
        source: std::io::Error,
    },
}

/// How a proposal ended once this node applied its entry.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Installed,
    /// The image moved on before the entry committed: recompute on the new image and propose again.
    Stale,
}

type Waiter = futures_channel::oneshot::Sender<Result<Outcome, QuorumError>>;

/// What the Ready loop applies committed entries to: the controller, which sits above the quorum and
/// proposes through it.
pub trait MetadataStateMachine {
    fn image_version(&self) -> u64;
    fn encoded_image(&self) -> Vec<u8>;
    /// Every registered learner's node id and Raft address.
    fn learner_addresses(&self) -> Vec<(i32, String)>;
    /// The current image with `broker` registered (replacing an earlier record of that node).
    fn with_broker(&self, broker: BrokerRecord) -> MetadataImage;
    /// Installs a committed image and publishes it to every shard.
    fn install(&self, image: MetadataImage) -> impl std::future::Future<Output = ()>;
    /// Publishes the current image again (the active controller changed).
    fn republish(&self) -> impl std::future::Future<Output = ()>;
}

/// The controller's side of the quorum (on the controller shard only).
pub struct Quorum {
    pub node_id: u64,
    /// A broker-only node: a Raft learner that follows the log and never votes.
    pub learner: bool,
    /// Raft leader id, 0 when none is known.
    leader: Cell<u64>,
    next_seq: Cell<u64>,
    /// Encoded proposals waiting for the Ready loop, with their sequence numbers.
    queued: RefCell<VecDeque<(u64, Vec<u8>)>>,
    waiters: RefCell<HashMap<u64, Waiter>>,
    inbox: Rc<LocalSender<Event>>,
    /// When each peer's last Raft message arrived: a voter answers the leader's heartbeats every
    /// 200 ms, so this is the broker heartbeat fencing watches (`controller/liveness.rs`).
    heard: RefCell<HashMap<u64, Instant>>,
    /// Since when this node has been the leader (None when it is not).
    leading_since: Cell<Option<Instant>>,
}

impl Quorum {
    pub fn new(node_id: u64, learner: bool, inbox: Rc<LocalSender<Event>>) -> Quorum {
        Quorum {
            node_id,
            learner,
            leader: Cell::new(0),
            // Random start: entries this node proposed before a restart are replayed with their old
            // sequence numbers and must not resolve a new proposal.
            next_seq: Cell::new(fastrand::u64(..u64::MAX / 2)),
            queued: RefCell::default(),
            waiters: RefCell::default(),
            inbox,
            heard: RefCell::default(),
            leading_since: Cell::new(None),
        }
    }

    /// The active controller (Raft leader), if known.
    pub fn leader(&self) -> Option<i32> {
        match self.leader.get() {
            0 => None,
            id => Some(id as i32),
        }
    }

    /// Proposes `image` as the successor of version `base_version` and waits until this node has
    /// applied the entry (or the timeout passes: the change may still commit later).
    pub async fn propose(
        &self,
        base_version: u64,
        image: &MetadataImage,
    ) -> Result<Outcome, QuorumError> {
        // A learner not yet added knows no leader: its proposal (registration) goes to the voters.
        if self.leader.get() == 0 && !self.learner {
            return Err(QuorumError::NoLeader);
        }
        let seq = self.next_seq.get();
        self.next_seq.set(seq + 1);
        let encoded = image.encode();
        let data = proposal::Proposal {
            origin: self.node_id,
            seq,
            base_version,
            image: &encoded,
        }
        .encode();
        let (tx, rx) = futures_channel::oneshot::channel();
        self.waiters.borrow_mut().insert(seq, tx);
        self.queued.borrow_mut().push_back((seq, data));
        let _ = self.inbox.try_send(Event::Proposed); // a full inbox is awake anyway
        let outcome = futures_lite::future::or(async { rx.await.ok() }, async {
            glommio::timer::sleep(PROPOSAL_TIMEOUT).await;
            None
        })
        .await;
        self.waiters.borrow_mut().remove(&seq);
        outcome.unwrap_or(Err(QuorumError::Timeout(PROPOSAL_TIMEOUT)))
    }

    fn take_queued(&self) -> Vec<(u64, Vec<u8>)> {
        self.queued.borrow_mut().drain(..).collect()
    }

    fn resolve(&self, seq: u64, outcome: Result<Outcome, QuorumError>) {
        if let Some(w) = self.waiters.borrow_mut().remove(&seq) {
            let _ = w.send(outcome);
        }
    }

    fn set_leader(&self, id: u64) {
        self.leader.set(id);
        let leading = id == self.node_id;
        if leading != self.leading_since.get().is_some() {
            self.leading_since.set(leading.then(Instant::now));
        }
    }

    fn heard_from(&self, peer: u64) {
        self.heard.borrow_mut().insert(peer, Instant::now());
    }

    /// How long this leader has not heard from `peer`, counting from when it became leader at the
    /// earliest (a new leader gives every peer a full session); None when this node is not leader.
    pub fn silence(&self, peer: u64) -> Option<Duration> {
        let since = self.leading_since.get()?;
        let last = self
            .heard
            .borrow()
            .get(&peer)
            .map_or(since, |&t| t.max(since));
        Some(last.elapsed())
    }
}

/// What a node of a quorum opens before its shards start: its Raft storage, the image at the storage's
/// snapshot, the voters and its Raft listener.
pub struct Boot {
    pub node_id: u64,
    /// A broker-only node: it joins as a Raft learner.
    pub learner: bool,
    pub voters: Vec<Voter>,
    pub storage: DiskStorage,
    /// The image at `applied` (the snapshot's; empty on a new node: every voter starts the same).
    pub image: MetadataImage,
    pub applied: u64,
    pub listener: std::net::TcpListener,
}

impl Boot {
    /// Opens `<data dir>/raft` and binds this node's Raft port: a voter's from the voter list, a
    /// broker-only node's (a learner) from `shardlog.raft.address`.
    pub fn open(config: &BrokerConfig, voters_list: &str) -> Result<Boot, QuorumError> {
        let voters = voters::parse(voters_list).expect("checked when the config was parsed");
        let node_id = config.node_id as u64;
        let listed = voters.iter().find(|v| v.id == node_id);
        let learner = !roles::Roles::of(&config.process_roles).controller;
        let address = match (listed, learner) {
            (Some(v), false) => v.address.clone(),
            (None, false) => return Err(QuorumError::NotAVoter(config.node_id)),
            (Some(_), true) => return Err(QuorumError::VoterWithoutControllerRole(config.node_id)),
            (None, true) => config
                .raft_address
                .clone()
                .ok_or(QuorumError::LearnerWithoutAddress)?,
        };
        let ids: Vec<u64> = voters.iter().map(|v| v.id).collect();
        let storage = DiskStorage::open(&raft_dir(&config.data_dir), &ids)?;
        let snapshot = storage.latest_snapshot();
        let applied = snapshot.get_metadata().index;
        let image = if applied == 0 {
            MetadataImage::default()
        } else {
            MetadataImage::decode(&snapshot.data, config.node_id)?
        };
        let listener = std::net::TcpListener::bind(&address)
            .map_err(|source| QuorumError::Bind { address, source })?;
        Ok(Boot {
            node_id,
            learner,
            voters,
            storage,
            image,
            applied,
            listener,
        })
    }
}

pub fn raft_dir(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("raft")
}
