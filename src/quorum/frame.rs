//! CRC-framed records, as the Raft log and snapshot files store them:
//! `[body length: u32 BE][CRC-32 of body: u32 BE][body]`, body = `[kind: u8][payload]`.
//! Reading stops at the first record that is short or fails its CRC: a write torn by a crash.

const HEADER: usize = 8;

/// One record read back.
pub struct Record<'a> {
    pub kind: u8,
    pub payload: &'a [u8],
    /// Where the record starts in the input.
    pub start: usize,
}

/// Appends one framed record to `out`.
pub fn encode(out: &mut Vec<u8>, kind: u8, payload: &[u8]) {
    let len = 1 + payload.len();
    let mut crc = crc32fast::Hasher::new();
    crc.update(&[kind]);
    crc.update(payload);
    out.extend_from_slice(&(len as u32).to_be_bytes());
    out.extend_from_slice(&crc.finalize().to_be_bytes());
    out.push(kind);
    out.extend_from_slice(payload);
}

/// Every intact record from the start of `bytes`, and the length they cover (where a torn tail
/// begins, or `bytes.len()`).
pub fn decode_all(bytes: &[u8]) -> (Vec<Record<'_>>, usize) {
    let mut records = Vec::new();
    let mut at = 0;
    while let Some((record, next)) = decode_at(bytes, at) {
        records.push(record);
        at = next;
    }
    (records, at)
}

fn decode_at(bytes: &[u8], at: usize) -> Option<(Record<'_>, usize)> {
    let header = bytes.get(at..at + HEADER)?;
    let len = u32::from_be_bytes(header[..4].try_into().ok()?) as usize;
    let crc = u32::from_be_bytes(header[4..].try_into().ok()?);
    let body = bytes.get(at + HEADER..(at + HEADER).checked_add(len)?)?;
    if len == 0 || crc32fast::hash(body) != crc {
        return None;
    }
    Some((
        Record {
            kind: body[0],
            payload: &body[1..],
            start: at,
        },
        at + HEADER + len,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_at_a_torn_or_corrupt_record() {
        let mut bytes = Vec::new();
        encode(&mut bytes, 1, b"first");
        encode(&mut bytes, 2, b"");
        let whole = bytes.len();
        encode(&mut bytes, 1, b"torn away");
        bytes.truncate(bytes.len() - 3);
        let (records, valid) = decode_all(&bytes);
        assert_eq!(valid, whole);
        assert_eq!(records.len(), 2);
        assert_eq!((records[0].kind, records[0].payload), (1, &b"first"[..]));
        bytes[HEADER + 2] ^= 1; // inside the first body
        assert_eq!(decode_all(&bytes).1, 0);
    }
}
