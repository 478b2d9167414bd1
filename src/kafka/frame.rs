//! Encoded responses as a list of chunks: memory, or a range of a segment file sent with `sendfile`.
//!
//! `FrameWriter` is the `ByteBufMut` kafka-protocol encodes into. A Fetch response's record sets are given
//! to the encoder as slices of `HOLE` (a static, never-touched region): when the encoder copies such a
//! slice, the writer records a file chunk instead of copying. That way the generated codec writes every
//! header, length and tagged field, and record bytes never pass through user space.

use crate::storage::FileSlice;
use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::protocol::buf::ByteBufMut;
use std::collections::VecDeque;
use std::ops::Range;

/// Largest file range one fetch partition can stand for (larger reads are clamped to it).
pub const MAX_HOLE: usize = 64 << 20;
static HOLE: [u8; MAX_HOLE] = [0; MAX_HOLE];

/// A placeholder the size of `len` file bytes, to put in a Fetch response's `records`.
pub fn hole(len: usize) -> Bytes {
    Bytes::from_static(&HOLE[..len.min(MAX_HOLE)])
}

#[derive(Debug)]
pub enum Chunk {
    Memory(Bytes),
    File(FileSlice),
}

/// A complete response frame (its 4-byte length included), ready to send in order.
#[derive(Debug, Default)]
pub struct ResponseFrame {
    pub chunks: Vec<Chunk>,
}

/// Encoding target that turns `HOLE` slices into file chunks (in encounter order from `files`).
pub struct FrameWriter {
    chunks: Vec<Chunk>,
    current: BytesMut,
    files: VecDeque<FileSlice>,
}

impl FrameWriter {
    pub fn new(capacity: usize, files: VecDeque<FileSlice>) -> Self {
        FrameWriter {
            chunks: Vec::new(),
            current: BytesMut::with_capacity(capacity),
            files,
        }
    }

    pub fn finish(mut self) -> ResponseFrame {
        if !self.current.is_empty() {
            self.chunks.push(Chunk::Memory(self.current.freeze()));
        }
        ResponseFrame {
            chunks: self.chunks,
        }
    }

    /// Total bytes written so far across chunks.
    fn total(&self) -> usize {
        self.chunks
            .iter()
            .map(|c| match c {
                Chunk::Memory(b) => b.len(),
                Chunk::File(f) => f.len as usize,
            })
            .sum::<usize>()
            + self.current.len()
    }

    fn is_hole(src: &[u8]) -> bool {
        !src.is_empty() && std::ptr::eq(src.as_ptr(), HOLE.as_ptr())
    }
}

// SAFETY: chunk_mut/advance_mut delegate to the inner BytesMut unchanged.
unsafe impl BufMut for FrameWriter {
    fn remaining_mut(&self) -> usize {
        self.current.remaining_mut()
    }
    unsafe fn advance_mut(&mut self, cnt: usize) {
        // SAFETY: forwarded; the caller guarantees `cnt` bytes of chunk_mut were initialised.
        unsafe { self.current.advance_mut(cnt) }
    }
    fn chunk_mut(&mut self) -> &mut bytes::buf::UninitSlice {
        self.current.chunk_mut()
    }
    fn put_slice(&mut self, src: &[u8]) {
        if Self::is_hole(src) {
            if let Some(file) = self.files.pop_front() {
                debug_assert_eq!(file.len as usize, src.len());
                let mem = std::mem::take(&mut self.current).freeze();
                if !mem.is_empty() {
                    self.chunks.push(Chunk::Memory(mem));
                }
                self.chunks.push(Chunk::File(file));
                return;
            }
        }
        self.current.put_slice(src);
    }
}

impl ByteBufMut for FrameWriter {
    fn offset(&self) -> usize {
        self.total()
    }
    fn seek(&mut self, offset: usize) {
        // kafka-protocol seeks only to reserve gaps in the current memory chunk, never across a file chunk.
        let base = self.total() - self.current.len();
        self.current.resize(offset - base, 0);
    }
    fn range(&mut self, r: Range<usize>) -> &mut [u8] {
        let base = self.total() - self.current.len();
        &mut self.current[r.start - base..r.end - base]
    }
}
