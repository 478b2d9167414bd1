//! Reading a partition log: fetches as file slices (never copied), lookups by timestamp, and whole
//! segments for tools.

use super::*;

impl PartitionLog {
    /// Locates up to `max_bytes` (but at least one whole batch) starting at `offset`, below `limit`
    /// (the high watermark for consumers, the log end for followers), with the number of records
    /// (offsets) in its whole batches (for the metrics). `Ok(None)`: nothing to read yet (offset at or
    /// past `limit`). Offsets past the log end are out of range.
    pub fn read(
        &self,
        offset: i64,
        max_bytes: u64,
        limit: i64,
    ) -> Result<Option<(FileSlice, u64)>, ReadError> {
        let st = self.state.borrow();
        let log_end = self.log_end.get();
        if offset < st.log_start_offset || offset > log_end {
            return Err(ReadError::OutOfRange {
                offset,
                log_start: st.log_start_offset,
                log_end,
            });
        }
        if offset >= limit {
            return Ok(None);
        }
        for seg in st
            .segments
            .range(..=offset)
            .next_back()
            .into_iter()
            .map(|(_, s)| s)
            .chain(st.segments.range(offset + 1..).map(|(_, s)| s))
        {
            let found = seg
                .position_of(offset)
                .map_err(|e| ReadError::Storage(e.to_string()))?;
            if let Some((position, header)) = found {
                // `limit` is a batch boundary (a log end, here or on a follower): stop before it.
                let end_position = if limit < seg.next_offset {
                    seg.position_of(limit)
                        .map_err(|e| ReadError::Storage(e.to_string()))?
                        .map_or(seg.size, |(p, _)| p)
                } else {
                    seg.size
                };
                let first = header.total_len() as u64;
                let len = max_bytes.max(first).min(end_position - position);
                let end = seg
                    .end_offset_of_range(position, &header, position + len)
                    .map_err(|e| ReadError::Storage(e.to_string()))?;
                let records = (end - header.base_offset).max(0) as u64;
                let slice = FileSlice {
                    file: seg.file.clone(),
                    position,
                    len,
                };
                return Ok(Some((slice, records)));
            }
        }
        Ok(None)
    }

    /// ListOffsets by timestamp: the first batch whose max timestamp is >= `timestamp`, as
    /// (base offset, max timestamp). `None` when every batch is older.
    pub fn offset_for_timestamp(&self, timestamp: i64) -> Result<Option<(i64, i64)>, ReadError> {
        let st = self.state.borrow();
        for seg in st
            .segments
            .values()
            .filter(|s| s.max_timestamp >= timestamp)
        {
            let found = seg
                .position_of_timestamp(timestamp)
                .map_err(|e| ReadError::Storage(e.to_string()))?;
            if let Some((position, h)) = found {
                // Kafka answers with the first *record* at or after the timestamp, not its batch.
                let exact = seg
                    .record_at_or_after(position, &h, timestamp, st.log_start_offset)
                    .map_err(|e| ReadError::Storage(e.to_string()))?;
                return Ok(Some(exact.unwrap_or((
                    h.base_offset.max(st.log_start_offset),
                    h.max_timestamp,
                ))));
            }
        }
        Ok(None)
    }

    /// Every written byte of every segment, one `Bytes` per segment (replaying small internal topics
    /// such as `__consumer_offsets` at startup).
    pub fn read_segments(&self) -> io::Result<Vec<bytes::Bytes>> {
        let st = self.state.borrow();
        st.segments
            .values()
            .map(|seg| {
                let mut buf = vec![0u8; seg.size as usize];
                std::os::unix::fs::FileExt::read_exact_at(&*seg.file, &mut buf, 0)?;
                Ok(bytes::Bytes::from(buf))
            })
            .collect()
    }
}
