//! Raft messages between voters (and to learners) over TCP: `[length: u32 BE][protobuf eraftpb::Message]`.
//!
//! Outbound, one connection per peer, owned by that peer's sender task, fed through a bounded queue.
//! A full queue drops the message (Raft retransmits: heartbeats and appends repeat), so a dead,
//! partitioned or paused (SIGSTOP) peer can fill only its own queue and never blocks the Ready loop.
//! A broken connection is redialled with exponential backoff. Inbound, every accepted connection gets
//! a reader task that hands decoded messages to the Ready loop's inbox.

use super::Event;
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::channels::local_channel::{self, LocalSender};
use glommio::net::{TcpListener, TcpStream};
use protobuf::Message as _;
use raft::eraftpb::{Message, MessageType};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;
use tracing::{debug, info, warn};

/// Messages queued per peer before new ones are dropped.
const PEER_QUEUE: usize = 4096;
/// Largest inbound frame: a snapshot carries the whole metadata image.
const MAX_FRAME: usize = 64 << 20;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
const BACKOFF_MIN: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// The sending side: a queue per peer (the other voters, and learners once they are known).
pub struct Transport {
    peers: HashMap<u64, LocalSender<Message>>,
    inbox: Rc<LocalSender<Event>>,
}

impl Transport {
    /// Starts a sender task per peer (`id`, `host:port`); snapshot outcomes go to `inbox`.
    pub fn start(peers: &[(u64, String)], inbox: &Rc<LocalSender<Event>>) -> Transport {
        let mut transport = Transport {
            peers: HashMap::new(),
            inbox: inbox.clone(),
        };
        for (id, address) in peers {
            transport.add_peer(*id, address);
        }
        transport
    }

    /// Starts sending to `id` at `address`, unless it is already a peer.
    pub fn add_peer(&mut self, id: u64, address: &str) {
        if self.peers.contains_key(&id) {
            return;
        }
        let (tx, rx) = local_channel::new_bounded(PEER_QUEUE);
        let address = address.to_string();
        let inbox = self.inbox.clone();
        glommio::spawn_local(async move {
            let mut backoff = BACKOFF_MIN;
            loop {
                match TcpStream::connect_timeout(address.as_str(), CONNECT_TIMEOUT).await {
                    Ok(mut stream) => {
                        let _ = stream.set_nodelay(true);
                        info!(peer = id, %address, "Raft connection to peer established");
                        backoff = BACKOFF_MIN;
                        if let Err(e) = send_until_error(&mut stream, &rx, id, &inbox).await {
                            warn!(peer = id, error = %e, "Raft connection to peer lost");
                        }
                    }
                    Err(e) => debug!(peer = id, error = %e, "cannot reach Raft peer"),
                }
                glommio::timer::sleep(backoff).await;
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        })
        .detach();
        self.peers.insert(id, tx);
    }

    /// Queues messages for their peers; never waits. Returns the peers whose snapshot message was
    /// dropped (queue full), for the Ready loop to report.
    pub fn send(&self, messages: Vec<Message>) -> Vec<u64> {
        let mut lost_snapshots = Vec::new();
        for m in messages {
            let (to, snapshot) = (m.to, is_snapshot(&m));
            match self.peers.get(&to) {
                Some(queue) => {
                    if queue.try_send(m).is_err() {
                        debug!(
                            peer = to,
                            "Raft peer queue full; message dropped (Raft retransmits)"
                        );
                        if snapshot {
                            lost_snapshots.push(to);
                        }
                    }
                }
                None => warn!(to, "Raft message for an unknown voter dropped"),
            }
        }
        lost_snapshots
    }
}

fn is_snapshot(m: &Message) -> bool {
    m.get_msg_type() == MessageType::MsgSnapshot
}

async fn send_until_error(
    stream: &mut TcpStream,
    queue: &local_channel::LocalReceiver<Message>,
    peer: u64,
    inbox: &LocalSender<Event>,
) -> std::io::Result<()> {
    let mut frame = Vec::new();
    while let Some(m) = queue.recv().await {
        frame.clear();
        frame.extend_from_slice(&[0; 4]);
        m.write_to_writer(&mut frame)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let len = (frame.len() - 4) as u32;
        frame[..4].copy_from_slice(&len.to_be_bytes());
        let written = stream.write_all(&frame).await;
        if is_snapshot(&m) {
            let delivered = written.is_ok();
            let _ = inbox.send(Event::SnapshotSent { peer, delivered }).await;
        }
        written?;
    }
    Ok(())
}

/// Accepts peers' connections on the Raft port and feeds their messages to `inbox`.
pub fn serve(listener: TcpListener, inbox: Rc<LocalSender<Event>>) {
    glommio::spawn_local(async move {
        loop {
            match listener.accept().await {
                Ok(stream) => {
                    let inbox = inbox.clone();
                    glommio::spawn_local(async move {
                        let peer = stream.peer_addr().ok();
                        if let Err(e) = receive(stream, &inbox).await {
                            debug!(?peer, error = %e, "Raft connection from peer closed");
                        }
                    })
                    .detach();
                }
                Err(e) => {
                    warn!(error = %e, "accepting a Raft connection failed");
                    glommio::timer::sleep(BACKOFF_MIN).await;
                }
            }
        }
    })
    .detach();
}

async fn receive(mut stream: TcpStream, inbox: &LocalSender<Event>) -> std::io::Result<()> {
    let mut len = [0u8; 4];
    let mut body = Vec::new();
    loop {
        stream.read_exact(&mut len).await?;
        let n = u32::from_be_bytes(len) as usize;
        if n > MAX_FRAME {
            return Err(std::io::Error::other(format!(
                "Raft frame of {n} bytes is over the {MAX_FRAME}-byte limit"
            )));
        }
        body.resize(n, 0);
        stream.read_exact(&mut body).await?;
        let mut m = Message::default();
        m.merge_from_bytes(&body)
            .map_err(|e| std::io::Error::other(format!("undecodable Raft message: {e}")))?;
        if inbox.send(Event::Message(Box::new(m))).await.is_err() {
            return Ok(()); // the Ready loop is gone
        }
    }
}
