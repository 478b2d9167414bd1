//! The Raft log on disk (`<data dir>/raft/`), implementing raft-rs's `Storage`.
//!
//! - `log`: append-only CRC-framed records (`frame.rs`): an entry, or a hard state. Replaying them in
//!   order rebuilds the state: an entry at an index already present replaces it and everything after
//!   (Raft's overwrite of an uncommitted suffix), the last hard state wins. A torn tail is truncated
//!   on open.
//! - `snapshot`: one CRC-framed protobuf `Snapshot` whose data is the encoded `MetadataImage` at its
//!   index, with the conf state. Replaced atomically (temp file, fsync, rename, directory fsync).
//!
//! Compaction writes a snapshot, then rewrites `log` with only the entries after it (again temp +
//! rename), so the log never holds more than the entries since the last snapshot. Everything is also
//! kept in memory (metadata is small), so `Storage` reads never touch the disk.
//!
//! Writes go through `std::fs` on the controller shard's thread: metadata changes are rare and small,
//! and raft-rs requires entries and hard state to be durable before the messages that depend on them
//! are sent, so the Ready loop waits for the `fdatasync` anyway.

use super::frame;
use protobuf::Message as _;
use raft::eraftpb::{ConfState, Entry, HardState, Snapshot};
use raft::{GetEntriesContext, RaftState, StorageError};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use thiserror::Error;
use tracing::warn;

const KIND_ENTRY: u8 = 1;
const KIND_HARD_STATE: u8 = 2;
const KIND_SNAPSHOT: u8 = 3;
const LOG_FILE: &str = "log";
const SNAPSHOT_FILE: &str = "snapshot";

#[derive(Debug, Error)]
pub enum RaftStorageError {
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("Raft snapshot {0} is corrupt")]
    CorruptSnapshot(PathBuf),
    #[error("protobuf encoding failed: {0}")]
    Encode(#[from] protobuf::ProtobufError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RaftStorageError {
    let path = path.to_path_buf();
    move |source| RaftStorageError::Io { path, source }
}

pub struct DiskStorage {
    dir: PathBuf,
    log: File,
    hard_state: HardState,
    conf_state: ConfState,
    /// The latest snapshot (index 0 and no data before the first compaction).
    snapshot: Snapshot,
    /// Entries after the snapshot, contiguous.
    entries: Vec<Entry>,
}

impl DiskStorage {
    /// Opens (or creates) the storage in `dir`. A new storage starts with `voters` as its
    /// configuration; every voter starts from the same empty state, as raft-rs requires.
    pub fn open(dir: &Path, voters: &[u64]) -> Result<DiskStorage, RaftStorageError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let snapshot = read_snapshot(&dir.join(SNAPSHOT_FILE))?;
        let conf_state = if snapshot.get_metadata().index > 0 {
            snapshot.get_metadata().get_conf_state().clone()
        } else {
            ConfState::from((voters.to_vec(), vec![]))
        };
        let log_path = dir.join(LOG_FILE);
        let bytes = match std::fs::read(&log_path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io(&log_path)(e)),
        };
        let mut storage = DiskStorage {
            dir: dir.to_path_buf(),
            log: open_append(&log_path)?,
            hard_state: HardState::default(),
            conf_state,
            entries: Vec::new(),
            snapshot,
        };
        let valid = storage.replay(&bytes);
        if valid < bytes.len() {
            warn!(
                path = %log_path.display(),
                kept_bytes = valid,
                dropped_bytes = bytes.len() - valid,
                "Raft log ends in a torn or corrupt record; truncating it there"
            );
            storage.log.set_len(valid as u64).map_err(io(&log_path))?;
            storage.log.sync_data().map_err(io(&log_path))?;
        }
        // A commit index is only meaningful over entries we still have.
        let last = storage.last_index();
        if storage.hard_state.commit > last {
            storage.hard_state.commit = last;
        }
        Ok(storage)
    }

    /// Applies the log's records; returns the length of the intact prefix.
    fn replay(&mut self, bytes: &[u8]) -> usize {
        let (records, valid) = frame::decode_all(bytes);
        for r in &records {
            let ok = match r.kind {
                KIND_ENTRY => {
                    let mut e = Entry::default();
                    e.merge_from_bytes(r.payload).is_ok() && self.put_entry(e)
                }
                KIND_HARD_STATE => {
                    let mut hs = HardState::default();
                    let ok = hs.merge_from_bytes(r.payload).is_ok();
                    if ok {
                        self.hard_state = hs;
                    }
                    ok
                }
                _ => false,
            };
            if !ok {
                // Framed and checksummed but not what we wrote: the log ends here, as at a torn tail.
                return r.start;
            }
        }
        valid
    }

    /// Places `e` at its index, dropping any entries from there on. False if it leaves a gap.
    fn put_entry(&mut self, e: Entry) -> bool {
        let snap_index = self.snapshot.get_metadata().index;
        if e.index <= snap_index {
            return true; // already covered by the snapshot
        }
        let keep = (e.index - snap_index - 1) as usize;
        if keep > self.entries.len() {
            return false;
        }
        self.entries.truncate(keep);
        self.entries.push(e);
        true
    }

    /// Appends entries (replacing any conflicting suffix); durable after `sync`.
    pub fn append(&mut self, entries: &[Entry]) -> Result<(), RaftStorageError> {
        let mut out = Vec::new();
        for e in entries {
            frame::encode(&mut out, KIND_ENTRY, &e.write_to_bytes()?);
            if !self.put_entry(e.clone()) {
                panic!(
                    "raft appended entry {} after a gap (last index {})",
                    e.index,
                    self.last_index()
                );
            }
        }
        self.write_log(&out)
    }

    /// Records the hard state; durable after `sync`.
    pub fn set_hard_state(&mut self, hs: &HardState) -> Result<(), RaftStorageError> {
        let mut out = Vec::new();
        frame::encode(&mut out, KIND_HARD_STATE, &hs.write_to_bytes()?);
        self.hard_state = hs.clone();
        self.write_log(&out)
    }

    /// Raises the commit index (raft-rs reports it after `advance`); durable after `sync`.
    pub fn set_commit(&mut self, commit: u64) -> Result<(), RaftStorageError> {
        let mut hs = self.hard_state.clone();
        hs.commit = commit;
        self.set_hard_state(&hs)
    }

    fn write_log(&mut self, bytes: &[u8]) -> Result<(), RaftStorageError> {
        let path = self.dir.join(LOG_FILE);
        self.log.write_all(bytes).map_err(io(&path))
    }

    /// Makes everything written so far durable.
    pub fn sync(&mut self) -> Result<(), RaftStorageError> {
        let path = self.dir.join(LOG_FILE);
        self.log.sync_data().map_err(io(&path))
    }

    /// Installs a snapshot received from the leader: entries it covers are dropped (all of them unless
    /// the log agrees with it at its index), the commit index moves up to it.
    pub fn apply_snapshot(&mut self, snapshot: Snapshot) -> Result<(), RaftStorageError> {
        let meta = snapshot.get_metadata();
        let (index, term) = (meta.index, meta.term);
        let agrees = self.term_of(index) == Some(term);
        if !agrees {
            self.entries.clear();
        }
        self.conf_state = meta.get_conf_state().clone();
        self.hard_state.term = self.hard_state.term.max(term);
        self.hard_state.commit = self.hard_state.commit.max(index);
        self.install_snapshot(snapshot)
    }

    /// The configuration after an applied conf change (a learner added); the next compaction's
    /// snapshot carries it, and until then replaying the log applies the change again.
    pub fn set_conf_state(&mut self, conf_state: ConfState) {
        self.conf_state = conf_state;
    }

    /// Log compaction: a snapshot of the state machine (`data`, the image) at applied index `index`
    /// replaces every entry up to it. False (nothing done) if `index` is not in the log.
    pub fn compact(&mut self, index: u64, data: Vec<u8>) -> Result<bool, RaftStorageError> {
        let Some(term) = self.term_of(index) else {
            return Ok(false);
        };
        let mut snapshot = Snapshot::default();
        snapshot.set_data(data.into());
        let meta = snapshot.mut_metadata();
        meta.index = index;
        meta.term = term;
        meta.set_conf_state(self.conf_state.clone());
        self.install_snapshot(snapshot)?;
        Ok(true)
    }

    /// Writes `snapshot` durably, then drops the entries it covers and rewrites the log without them.
    fn install_snapshot(&mut self, snapshot: Snapshot) -> Result<(), RaftStorageError> {
        let index = snapshot.get_metadata().index;
        let mut body = Vec::new();
        frame::encode(&mut body, KIND_SNAPSHOT, &snapshot.write_to_bytes()?);
        write_atomically(&self.dir, SNAPSHOT_FILE, &body)?;
        let first = self.first_index();
        let drop = (index + 1)
            .saturating_sub(first)
            .min(self.entries.len() as u64);
        self.entries.drain(..drop as usize);
        self.snapshot = snapshot;
        self.rewrite_log()
    }

    /// Replaces the log file by one holding exactly the in-memory entries and hard state.
    fn rewrite_log(&mut self) -> Result<(), RaftStorageError> {
        let mut out = Vec::new();
        for e in &self.entries {
            frame::encode(&mut out, KIND_ENTRY, &e.write_to_bytes()?);
        }
        frame::encode(
            &mut out,
            KIND_HARD_STATE,
            &self.hard_state.write_to_bytes()?,
        );
        write_atomically(&self.dir, LOG_FILE, &out)?;
        self.log = open_append(&self.dir.join(LOG_FILE))?;
        Ok(())
    }

    pub fn hard_state(&self) -> &HardState {
        &self.hard_state
    }

    /// The latest snapshot (its data is the image at its index; empty before the first compaction).
    pub fn latest_snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    fn first_index(&self) -> u64 {
        self.snapshot.get_metadata().index + 1
    }

    fn last_index(&self) -> u64 {
        self.entries
            .last()
            .map_or(self.snapshot.get_metadata().index, |e| e.index)
    }

    fn term_of(&self, index: u64) -> Option<u64> {
        let meta = self.snapshot.get_metadata();
        if index == meta.index {
            return Some(meta.term);
        }
        let at = index.checked_sub(self.first_index())?;
        self.entries.get(at as usize).map(|e| e.term)
    }
}

impl raft::Storage for DiskStorage {
    fn initial_state(&self) -> raft::Result<RaftState> {
        Ok(RaftState::new(
            self.hard_state.clone(),
            self.conf_state.clone(),
        ))
    }

    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        _context: GetEntriesContext,
    ) -> raft::Result<Vec<Entry>> {
        if low < self.first_index() {
            return Err(raft::Error::Store(StorageError::Compacted));
        }
        if high > self.last_index() + 1 || low > high {
            return Err(raft::Error::Store(StorageError::Unavailable));
        }
        let from = (low - self.first_index()) as usize;
        let to = (high - self.first_index()) as usize;
        let mut out = self.entries[from..to].to_vec();
        raft::util::limit_size(&mut out, max_size.into());
        Ok(out)
    }

    fn term(&self, idx: u64) -> raft::Result<u64> {
        if idx < self.snapshot.get_metadata().index {
            return Err(raft::Error::Store(StorageError::Compacted));
        }
        self.term_of(idx)
            .ok_or(raft::Error::Store(StorageError::Unavailable))
    }

    fn first_index(&self) -> raft::Result<u64> {
        Ok(DiskStorage::first_index(self))
    }

    fn last_index(&self) -> raft::Result<u64> {
        Ok(DiskStorage::last_index(self))
    }

    fn snapshot(&self, request_index: u64, _to: u64) -> raft::Result<Snapshot> {
        if self.snapshot.get_metadata().index < request_index.max(1) {
            return Err(raft::Error::Store(
                StorageError::SnapshotTemporarilyUnavailable,
            ));
        }
        Ok(self.snapshot.clone())
    }
}

fn open_append(path: &Path) -> Result<File, RaftStorageError> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io(path))
}

fn read_snapshot(path: &Path) -> Result<Snapshot, RaftStorageError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Snapshot::default()),
        Err(e) => return Err(io(path)(e)),
    };
    let corrupt = || RaftStorageError::CorruptSnapshot(path.to_path_buf());
    let (records, valid) = frame::decode_all(&bytes);
    match records.as_slice() {
        [r] if r.kind == KIND_SNAPSHOT && valid == bytes.len() => {
            let mut s = Snapshot::default();
            s.merge_from_bytes(r.payload).map_err(|_| corrupt())?;
            Ok(s)
        }
        _ => Err(corrupt()),
    }
}

/// temp file, fsync, rename, directory fsync: the file is either the old or the new one after a crash.
fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), RaftStorageError> {
    let path = dir.join(name);
    let tmp = dir.join(format!("{name}.tmp"));
    let mut f = File::create(&tmp).map_err(io(&tmp))?;
    f.write_all(bytes).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(io(&path))?;
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

#[cfg(test)]
mod tests {
    use super::*;
    use raft::Storage;

    fn entry(index: u64, term: u64) -> Entry {
        Entry {
            index,
            term,
            data: format!("e{index}").into_bytes().into(),
            ..Default::default()
        }
    }

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("shardlog-raft-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn hard(term: u64, vote: u64, commit: u64) -> HardState {
        HardState {
            term,
            vote,
            commit,
            ..Default::default()
        }
    }

    #[test]
    fn reopens_after_a_torn_tail() {
        let dir = temp("torn");
        let mut s = DiskStorage::open(&dir, &[1, 2, 3]).unwrap();
        s.append(&[entry(1, 1), entry(2, 1), entry(3, 1)]).unwrap();
        s.set_hard_state(&hard(1, 1, 2)).unwrap();
        // A later append with a conflicting suffix replaces entry 3.
        s.append(&[entry(3, 2)]).unwrap();
        s.sync().unwrap();
        let intact = std::fs::metadata(dir.join(LOG_FILE)).unwrap().len();
        s.append(&[entry(4, 2)]).unwrap();
        s.sync().unwrap();
        drop(s);
        // Tear the last record in half, as a crash mid-write would.
        let log = dir.join(LOG_FILE);
        let len = std::fs::metadata(&log).unwrap().len();
        let f = OpenOptions::new().write(true).open(&log).unwrap();
        f.set_len(len - 5).unwrap();

        let s = DiskStorage::open(&dir, &[1, 2, 3]).unwrap();
        assert_eq!(std::fs::metadata(&log).unwrap().len(), intact);
        assert_eq!(Storage::last_index(&s).unwrap(), 3);
        assert_eq!(s.term(3).unwrap(), 2);
        assert_eq!(s.hard_state(), &hard(1, 1, 2));
        let state = s.initial_state().unwrap();
        assert_eq!(state.conf_state.voters, vec![1, 2, 3]);
        // The truncated log takes appends again and survives another reopen.
        let mut s = s;
        s.append(&[entry(4, 3)]).unwrap();
        s.sync().unwrap();
        drop(s);
        let s = DiskStorage::open(&dir, &[1, 2, 3]).unwrap();
        assert_eq!(s.term(4).unwrap(), 3);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn snapshot_and_compaction_round_trip() {
        let dir = temp("snap");
        let mut s = DiskStorage::open(&dir, &[1, 2, 3]).unwrap();
        let entries: Vec<Entry> = (1..=10).map(|i| entry(i, 1)).collect();
        s.append(&entries).unwrap();
        s.set_hard_state(&hard(1, 2, 8)).unwrap();
        s.sync().unwrap();
        assert!(s.compact(7, b"image at 7".to_vec()).unwrap());
        assert!(!s.compact(99, Vec::new()).unwrap());
        assert_eq!(Storage::first_index(&s).unwrap(), 8);
        assert!(matches!(
            s.entries(5, 9, None, GetEntriesContext::empty(false)),
            Err(raft::Error::Store(StorageError::Compacted))
        ));
        drop(s);

        let s = DiskStorage::open(&dir, &[9]).unwrap();
        assert_eq!(Storage::first_index(&s).unwrap(), 8);
        assert_eq!(Storage::last_index(&s).unwrap(), 10);
        assert_eq!(s.term(7).unwrap(), 1);
        let snap = s.snapshot(0, 2).unwrap();
        assert_eq!(snap.get_metadata().index, 7);
        assert_eq!(&snap.data[..], b"image at 7");
        // The conf state comes from the snapshot, not the voters passed in.
        assert_eq!(s.initial_state().unwrap().conf_state.voters, vec![1, 2, 3]);
        let got = s
            .entries(8, 11, None, GetEntriesContext::empty(false))
            .unwrap();
        assert_eq!(got, entries[7..].to_vec());
        assert_eq!(s.hard_state(), &hard(1, 2, 8));

        // A snapshot from the leader beyond our log replaces all of it.
        let mut s = s;
        let mut remote = Snapshot::default();
        remote.set_data(b"image at 20".to_vec().into());
        remote.mut_metadata().index = 20;
        remote.mut_metadata().term = 3;
        remote
            .mut_metadata()
            .set_conf_state(ConfState::from((vec![1, 2, 3], vec![])));
        s.apply_snapshot(remote).unwrap();
        drop(s);
        let s = DiskStorage::open(&dir, &[1, 2, 3]).unwrap();
        assert_eq!(Storage::first_index(&s).unwrap(), 21);
        assert_eq!(Storage::last_index(&s).unwrap(), 20);
        assert_eq!(s.hard_state().commit, 20);
        assert_eq!(s.hard_state().term, 3);
        assert_eq!(&s.latest_snapshot().data[..], b"image at 20");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
