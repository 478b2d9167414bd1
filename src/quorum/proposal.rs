//! A replicated metadata change, as a Raft entry carries it: who proposed it, the image version it was
//! computed on, and the whole new image.
//!
//! Why this is correct: every node applies the same committed entries in the same order, and each
//! entry is installed only if the node's image is still at `base_version` — a deterministic test on
//! replicated state, so all nodes install exactly the same entries and hold the same image at every
//! index. A change computed on a stale image (another change committed first) is skipped everywhere,
//! and its proposer, seeing the skip when it applies the entry, recomputes on the newer image. So a
//! change is never lost or applied on top of something it did not see (optimistic concurrency, like a
//! compare-and-set).

/// The `base_version` of a learner's (broker-only node's) registration. A new learner has not
/// received the log, so it cannot compute on the current image; its entry's image holds just its
/// broker record, which every node upserts into whatever image it holds at that index — still a
/// deterministic function of replicated state.
pub const LEARNER_REGISTRATION: u64 = u64::MAX;

/// The fixed part before the image: origin, sequence, base version (u64 BE each).
const HEADER: usize = 24;

pub struct Proposal<'a> {
    /// The proposing node, and its sequence number for the change (to find the waiting request).
    pub origin: u64,
    pub seq: u64,
    pub base_version: u64,
    /// `MetadataImage::encode` of the new image.
    pub image: &'a [u8],
}

impl Proposal<'_> {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER + self.image.len());
        out.extend_from_slice(&self.origin.to_be_bytes());
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.base_version.to_be_bytes());
        out.extend_from_slice(self.image);
        out
    }

    pub fn decode(data: &[u8]) -> Option<Proposal<'_>> {
        let word = |at: usize| Some(u64::from_be_bytes(data.get(at..at + 8)?.try_into().ok()?));
        Some(Proposal {
            origin: word(0)?,
            seq: word(8)?,
            base_version: word(16)?,
            image: &data[HEADER..],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let p = Proposal {
            origin: 3,
            seq: 77,
            base_version: 12,
            image: b"img",
        };
        let bytes = p.encode();
        let back = Proposal::decode(&bytes).unwrap();
        assert_eq!((back.origin, back.seq, back.base_version), (3, 77, 12));
        assert_eq!(back.image, b"img");
        assert!(Proposal::decode(&bytes[..10]).is_none());
    }
}
