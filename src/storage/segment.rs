//! One segment file: `<base-offset, 20 digits>.log`, record batches back to back exactly as clients sent them
//! (with the broker's base offset patched in). Appends go to the end with `pwritev` into the page cache;
//! reads use `pread`, and fetches hand the file to the socket with `sendfile`, so the data fd is an
//! `Arc<File>` that other shards may hold while they send from it.

use super::batch::{self, BatchHeader, ControlRecord, HEADER_LEN};
use super::index::SegmentIndex;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A batch accepted by the partition, waiting to be written: its rewritten prefix plus the untouched rest.
#[derive(Debug)]
pub struct PendingBatch {
    /// The batch's header as stored (offset and epoch assigned, maybe stamped with the append time).
    pub head: [u8; HEADER_LEN],
    /// The records, a slice of the request (or of the leader's fetch response), never copied.
    pub rest: bytes::Bytes,
    pub header: BatchHeader,
}

impl PendingBatch {
    /// `bytes` (one whole batch) as stored with `header`'s base offset and leader epoch.
    pub fn new(bytes: &bytes::Bytes, header: BatchHeader) -> PendingBatch {
        PendingBatch {
            head: batch::stored_head(bytes, header.base_offset, header.leader_epoch),
            rest: bytes.slice(HEADER_LEN..),
            header,
        }
    }

    /// Stamps the batch with the broker's append time (message.timestamp.type=LogAppendTime).
    pub fn stamp_log_append_time(&mut self, now_ms: i64) {
        batch::stamp_log_append_time(&mut self.head, &self.rest, now_ms);
        self.header = BatchHeader::parse(&self.head).expect("a header that parsed before");
    }

    /// Bytes this batch occupies in the segment (never zero: a batch has at least its header).
    pub fn size(&self) -> usize {
        HEADER_LEN + self.rest.len()
    }
}

#[derive(Debug)]
pub struct Segment {
    pub base_offset: i64,
    pub path: PathBuf,
    pub file: Arc<File>,
    /// Bytes written (everything below is readable).
    pub size: u64,
    /// One past the last offset stored here.
    pub next_offset: i64,
    pub max_timestamp: i64,
    /// Wall-clock creation time, for `segment.ms` rolls.
    pub created_ms: i64,
    pub index: SegmentIndex,
}

/// Where a scan of a segment stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum ScanEnd {
    Clean,
    /// Bytes from `at` on are not a whole valid batch: a torn write or corruption.
    Torn {
        at: u64,
        reason: String,
    },
}

pub fn segment_file_name(base_offset: i64) -> String {
    format!("{base_offset:020}.log")
}

pub fn parse_segment_file_name(name: &str) -> Option<i64> {
    name.strip_suffix(".log")?.parse().ok()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Segment {
    pub fn create(dir: &Path, base_offset: i64) -> io::Result<Segment> {
        let path = dir.join(segment_file_name(base_offset));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)?;
        Ok(Segment {
            base_offset,
            path,
            file: Arc::new(file),
            size: 0,
            next_offset: base_offset,
            max_timestamp: -1,
            created_ms: now_ms(),
            index: SegmentIndex::default(),
        })
    }

    /// Opens an existing segment and scans every batch header, rebuilding the index and handing each
    /// header to `on_batch`. With `verify_crc`, every batch's CRC is checked too. A torn or corrupt tail is
    /// truncated away (and reported), so what remains is exactly the valid prefix.
    pub fn open_and_scan(
        path: &Path,
        base_offset: i64,
        index_interval: u32,
        verify_crc: bool,
        mut on_batch: impl FnMut(&BatchHeader, Option<ControlRecord>),
    ) -> io::Result<(Segment, ScanEnd)> {
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        let file_len = file.metadata()?.len();
        let created_ms = file
            .metadata()?
            .modified()
            .ok()
            .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or_else(now_ms, |d| d.as_millis() as i64);
        let mut seg = Segment {
            base_offset,
            path: path.to_path_buf(),
            file: Arc::new(file),
            size: 0,
            next_offset: base_offset,
            max_timestamp: -1,
            created_ms,
            index: SegmentIndex::default(),
        };
        let mut header_buf = [0u8; batch::HEADER_LEN];
        let mut body = Vec::new();
        let end = loop {
            let pos = seg.size;
            if pos == file_len {
                break ScanEnd::Clean;
            }
            let header = match read_header(&seg.file, pos, &mut header_buf) {
                Ok(h) => h,
                Err(reason) => break ScanEnd::Torn { at: pos, reason },
            };
            let len = header.total_len() as u64;
            if pos + len > file_len {
                break ScanEnd::Torn {
                    at: pos,
                    reason: format!("batch of {len} bytes runs past the end of the file"),
                };
            }
            // Offsets only ever increase; compaction leaves gaps between batches.
            if header.base_offset < seg.next_offset {
                break ScanEnd::Torn {
                    at: pos,
                    reason: format!(
                        "offset {} where at least {} was expected",
                        header.base_offset, seg.next_offset
                    ),
                };
            }
            if verify_crc || header.is_control() {
                body.resize(len as usize, 0);
                seg.file.read_exact_at(&mut body, pos)?;
            }
            if verify_crc {
                if let Err(e) = batch::verify_crc(&body, &header) {
                    break ScanEnd::Torn {
                        at: pos,
                        reason: e.to_string(),
                    };
                }
            }
            seg.note_appended(&header, pos, len as u32, index_interval);
            on_batch(&header, batch::marker_of(&header, &body));
        };
        if let ScanEnd::Torn { at, .. } = &end {
            seg.file.set_len(*at)?;
            seg.file.sync_all()?;
        }
        Ok((seg, end))
    }

    fn note_appended(
        &mut self,
        header: &BatchHeader,
        position: u64,
        len: u32,
        index_interval: u32,
    ) {
        self.max_timestamp = self.max_timestamp.max(header.max_timestamp);
        let relative = (header.base_offset - self.base_offset) as u32;
        self.index.on_append(
            index_interval,
            relative,
            position as u32,
            len,
            self.max_timestamp,
        );
        self.size = position + u64::from(len);
        self.next_offset = header.last_offset() + 1;
    }

    /// Writes `batches` at the end of the file with one `pwritev` per 512 batches (two iovecs each).
    pub fn append(&mut self, batches: &[PendingBatch], index_interval: u32) -> io::Result<()> {
        for chunk in batches.chunks(512) {
            let iovecs: Vec<libc::iovec> = chunk
                .iter()
                .flat_map(|b| {
                    [
                        libc::iovec {
                            iov_base: b.head.as_ptr() as *mut libc::c_void,
                            iov_len: b.head.len(),
                        },
                        libc::iovec {
                            iov_base: b.rest.as_ptr() as *mut libc::c_void,
                            iov_len: b.rest.len(),
                        },
                    ]
                })
                .collect();
            let total: usize = chunk.iter().map(PendingBatch::size).sum();
            write_all_vectored(&self.file, &iovecs, total, self.size)?;
            let mut pos = self.size;
            for b in chunk {
                self.note_appended(&b.header, pos, b.size() as u32, index_interval);
                pos += b.size() as u64;
            }
        }
        Ok(())
    }

    /// Cuts the file before the batch holding `offset` (nothing if it is past the end) and rescans
    /// what is left as recovery does, so the index, ends and max timestamp describe the rest only.
    pub fn truncate_to(&mut self, offset: i64, index_interval: u32) -> io::Result<()> {
        let Some((position, _)) = self.position_of(offset)? else {
            return Ok(());
        };
        self.file.set_len(position)?;
        self.file.sync_all()?;
        let (rest, _) = Segment::open_and_scan(
            &self.path,
            self.base_offset,
            index_interval,
            false,
            |_, _| {},
        )?;
        *self = rest;
        Ok(())
    }

    /// Hands every batch header, in order, to `f`.
    pub fn for_each_header(
        &self,
        mut f: impl FnMut(&BatchHeader, Option<ControlRecord>),
    ) -> io::Result<()> {
        let mut pos = 0;
        let mut body = Vec::new();
        while pos < self.size {
            let h = self.header_at(pos)?;
            if h.is_control() {
                body.resize(h.total_len(), 0);
                self.file.read_exact_at(&mut body, pos)?;
            }
            f(&h, batch::marker_of(&h, &body));
            pos += h.total_len() as u64;
        }
        Ok(())
    }

    /// Reads the header of the batch at `position` (which must be a batch boundary below `size`).
    pub fn header_at(&self, position: u64) -> io::Result<BatchHeader> {
        let mut buf = [0u8; batch::HEADER_LEN];
        read_header(&self.file, position, &mut buf).map_err(io::Error::other)
    }

    /// Position of the first batch whose last offset is >= `offset` (None: past the end of this segment).
    pub fn position_of(&self, offset: i64) -> io::Result<Option<(u64, BatchHeader)>> {
        let relative = (offset - self.base_offset).max(0) as u32;
        let pos = u64::from(self.index.floor_position(relative));
        self.scan_from(pos, |h| h.last_offset() >= offset)
    }

    /// One past the last offset of the whole batches in bytes `[position, end)`, where `position` is the
    /// batch `first` (what a fetch of that range delivers; a partial last batch delivers nothing).
    /// Cheap: a range reaching the segment end needs no I/O, otherwise the scan starts at the sparse
    /// index entry below `end`, so it reads at most `index.interval.bytes` worth of headers.
    pub fn end_offset_of_range(
        &self,
        position: u64,
        first: &BatchHeader,
        end: u64,
    ) -> io::Result<i64> {
        if end >= self.size {
            return Ok(self.next_offset);
        }
        if position + first.total_len() as u64 > end {
            return Ok(first.base_offset);
        }
        let floor = u64::from(
            self.index
                .floor_by_position(u32::try_from(end).unwrap_or(u32::MAX)),
        );
        let mut pos = floor.max(position);
        let mut last = first.last_offset() + 1;
        while pos < end {
            let h = self.header_at(pos)?;
            let next = pos + h.total_len() as u64;
            if next > end {
                // Every batch before this one is whole (it starts at or below `end`).
                last = last.max(h.base_offset);
                break;
            }
            last = h.last_offset() + 1;
            pos = next;
        }
        Ok(last)
    }

    /// Position of the first batch whose max timestamp is >= `timestamp`.
    pub fn position_of_timestamp(&self, timestamp: i64) -> io::Result<Option<(u64, BatchHeader)>> {
        let pos = u64::from(self.index.floor_for_timestamp(timestamp));
        self.scan_from(pos, |h| h.max_timestamp >= timestamp)
    }

    /// The first record of the batch at `position` with timestamp >= `timestamp` and offset >=
    /// `min_offset`, as (offset, timestamp). Decodes (and decompresses) this one batch only: the answer
    /// to a ListOffsets-by-time lookup, which Kafka gives per record. `None` if the batch cannot be
    /// decoded or holds no such record.
    pub fn record_at_or_after(
        &self,
        position: u64,
        header: &BatchHeader,
        timestamp: i64,
        min_offset: i64,
    ) -> io::Result<Option<(i64, i64)>> {
        // A LogAppendTime batch gives every record its maxTimestamp (the append time).
        if header.is_log_append_time() {
            let first = header.base_offset.max(min_offset);
            let found = header.max_timestamp >= timestamp && first <= header.last_offset();
            return Ok(found.then_some((first, header.max_timestamp)));
        }
        let mut buf = vec![0u8; header.total_len()];
        self.file.read_exact_at(&mut buf, position)?;
        let mut bytes = bytes::Bytes::from(buf);
        let Ok(set) = kafka_protocol::records::RecordBatchDecoder::decode(&mut bytes) else {
            return Ok(None);
        };
        Ok(set
            .records
            .iter()
            .find(|r| r.timestamp >= timestamp && r.offset >= min_offset)
            .map(|r| (r.offset, r.timestamp)))
    }

    fn scan_from(
        &self,
        mut pos: u64,
        stop: impl Fn(&BatchHeader) -> bool,
    ) -> io::Result<Option<(u64, BatchHeader)>> {
        while pos < self.size {
            let h = self.header_at(pos)?;
            if stop(&h) {
                return Ok(Some((pos, h)));
            }
            pos += h.total_len() as u64;
        }
        Ok(None)
    }
}

fn read_header(
    file: &File,
    pos: u64,
    buf: &mut [u8; batch::HEADER_LEN],
) -> Result<BatchHeader, String> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], pos + filled as u64) {
            Ok(0) => return Err(format!("only {filled} header bytes before end of file")),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    BatchHeader::parse(buf).map_err(|e| e.to_string())
}

fn write_all_vectored(
    file: &File,
    iovecs: &[libc::iovec],
    total: usize,
    offset: u64,
) -> io::Result<()> {
    let mut written = 0usize;
    let mut iovecs = iovecs.to_vec();
    let mut first = 0;
    while written < total {
        // SAFETY: every iovec points into a live buffer (`PendingBatch` head/rest) borrowed for this call,
        // with its exact length; pwritev only reads them.
        let n = unsafe {
            libc::pwritev(
                file.as_raw_fd(),
                iovecs[first..].as_ptr(),
                (iovecs.len() - first) as libc::c_int,
                (offset + written as u64) as libc::off_t,
            )
        };
        if n < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        let mut n = n as usize;
        written += n;
        // Skip fully written iovecs and trim a partly written one.
        while first < iovecs.len() && n >= iovecs[first].iov_len {
            n -= iovecs[first].iov_len;
            first += 1;
        }
        if n > 0 {
            let iov = &mut iovecs[first];
            // SAFETY: n < iov_len, so the advanced pointer stays inside the same buffer.
            iov.iov_base = unsafe { (iov.iov_base as *mut u8).add(n) } as *mut libc::c_void;
            iov.iov_len -= n;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::batch::test_support::build_batch;
    use crate::storage::batch::validate_record_set;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("shardlog-seg-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// `count` batches of 3 records each, offsets assigned from `base`, as the partition would queue them.
    fn pending(base: i64, count: usize) -> Vec<PendingBatch> {
        (0..count)
            .map(|i| {
                let bytes = bytes::Bytes::from(build_batch(3, 1000 + i as i64, (-1, -1, -1)));
                let valid = validate_record_set(&bytes, 1 << 20).unwrap().remove(0);
                let offset = base + 3 * i as i64;
                let mut header = valid.header;
                header.base_offset = offset;
                header.leader_epoch = 0;
                PendingBatch::new(&valid.bytes, header)
            })
            .collect()
    }

    fn reopen(seg: &Segment) -> (Segment, ScanEnd) {
        Segment::open_and_scan(&seg.path, seg.base_offset, 64, true, |_, _| {}).unwrap()
    }

    #[test]
    fn appended_batches_are_found_by_offset_and_timestamp() {
        let dir = temp_dir("find");
        let mut seg = Segment::create(&dir, 100).unwrap();
        seg.append(&pending(100, 20), 64).unwrap();
        assert_eq!(seg.next_offset, 160);
        let (pos, h) = seg.position_of(131).unwrap().unwrap();
        assert_eq!((h.base_offset, h.last_offset()), (130, 132));
        assert_eq!(seg.header_at(pos).unwrap(), h);
        assert!(seg.position_of(160).unwrap().is_none());
        let (_, h) = seg.position_of_timestamp(1005).unwrap().unwrap();
        assert_eq!(h.base_offset, 115);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn end_offset_of_range_counts_whole_batches_only() {
        let dir = temp_dir("range");
        let mut seg = Segment::create(&dir, 100).unwrap();
        // 20 batches of 3 records, an index entry every 64 bytes (so scans start mid-segment).
        seg.append(&pending(100, 20), 64).unwrap();
        let (pos, first) = seg.position_of(106).unwrap().unwrap();
        let len = first.total_len() as u64;
        assert_eq!(first.base_offset, 106);
        // To the segment end: no scan needed.
        assert_eq!(seg.end_offset_of_range(pos, &first, seg.size).unwrap(), 160);
        // Part of the first batch only: nothing whole.
        assert_eq!(
            seg.end_offset_of_range(pos, &first, pos + len - 1).unwrap(),
            106
        );
        // Exactly one, then two and a half batches.
        assert_eq!(
            seg.end_offset_of_range(pos, &first, pos + len).unwrap(),
            109
        );
        let end = pos + 2 * len + len / 2;
        assert_eq!(seg.end_offset_of_range(pos, &first, end).unwrap(), 112);
        // Far into the segment (the scan starts at the index entry below the end).
        let end = pos + 10 * len + 1;
        assert_eq!(seg.end_offset_of_range(pos, &first, end).unwrap(), 136);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn scan_after_reopen_rebuilds_the_same_state() {
        let dir = temp_dir("reopen");
        let mut seg = Segment::create(&dir, 0).unwrap();
        seg.append(&pending(0, 10), 64).unwrap();
        let (again, end) = reopen(&seg);
        assert_eq!(end, ScanEnd::Clean);
        assert_eq!(
            (again.size, again.next_offset, again.max_timestamp),
            (seg.size, seg.next_offset, seg.max_timestamp)
        );
        assert_eq!(again.index.entries(), seg.index.entries());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn truncation_cuts_before_the_batch_and_rebuilds_the_index() {
        let dir = temp_dir("cut");
        let mut seg = Segment::create(&dir, 0).unwrap();
        seg.append(&pending(0, 10), 64).unwrap();
        // Offset 13 is inside the batch 12..=14: that whole batch goes.
        seg.truncate_to(13, 64).unwrap();
        assert_eq!(seg.next_offset, 12);
        assert_eq!(std::fs::metadata(&seg.path).unwrap().len(), seg.size);
        let (again, end) = reopen(&seg);
        assert_eq!(end, ScanEnd::Clean);
        assert_eq!(again.index.entries(), seg.index.entries());
        assert!(seg.position_of(12).unwrap().is_none());
        let mut bases = Vec::new();
        seg.for_each_header(|h, _| bases.push(h.base_offset))
            .unwrap();
        assert_eq!(bases, vec![0, 3, 6, 9]);
        // Past the end: nothing changes.
        seg.truncate_to(30, 64).unwrap();
        assert_eq!(seg.next_offset, 12);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn torn_tail_and_corrupt_batch_are_truncated() {
        let dir = temp_dir("torn");
        let mut seg = Segment::create(&dir, 0).unwrap();
        seg.append(&pending(0, 5), 64).unwrap();
        let good = seg.size;
        // A torn write: half a header.
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&seg.path)
            .unwrap();
        std::io::Write::write_all(&mut file, &[0; 30]).unwrap();
        let (again, end) = reopen(&seg);
        assert!(matches!(end, ScanEnd::Torn { at, .. } if at == good));
        assert_eq!(
            (again.size, std::fs::metadata(&seg.path).unwrap().len()),
            (good, good)
        );
        // A flipped bit inside the third batch: it and everything after it go.
        let third = again.position_of(6).unwrap().unwrap().0;
        let mut bytes = std::fs::read(&seg.path).unwrap();
        bytes[third as usize + 70] ^= 1;
        std::fs::write(&seg.path, bytes).unwrap();
        let (cut, end) = reopen(&seg);
        assert!(matches!(end, ScanEnd::Torn { at, .. } if at == third));
        assert_eq!(cut.next_offset, 6);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
