//! Record values and the clock they carry. Each value starts with the record's *intended* send time
//! (8 bytes, big-endian nanoseconds on `CLOCK_MONOTONIC`), so a consumer on the same machine computes
//! end-to-end latency from the record alone; the rest is random uppercase letters, as Kafka's
//! `ProducerPerformance` sends, so compression sees realistic (barely compressible) text rather than zeros.

use bytes::{Bytes, BytesMut};

/// Bytes at the start of every value holding the intended send time.
pub const HEADER_BYTES: usize = 8;

/// Nanoseconds on `CLOCK_MONOTONIC`: one clock for every thread and process on this machine, and unlike
/// the wall clock it never steps, so a latency is never negative or inflated by an NTP correction.
pub fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a valid pointer; CLOCK_MONOTONIC always exists
    // on Linux, so it cannot fail.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Makes record values of one size; one per producer thread (the generator is not shared).
pub struct Values {
    size: usize,
    rng: fastrand::Rng,
}

impl Values {
    pub fn new(size: usize, seed: u64) -> Values {
        Values {
            size,
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    /// A fresh value stamped with `intended_ns`.
    pub fn next(&mut self, intended_ns: u64) -> Bytes {
        let mut value = BytesMut::zeroed(self.size);
        value[..HEADER_BYTES].copy_from_slice(&intended_ns.to_be_bytes());
        let letters = &mut value[HEADER_BYTES..];
        self.rng.fill(letters);
        for b in letters.iter_mut() {
            *b = b'A' + *b % 26;
        }
        value.freeze()
    }
}

/// The intended send time a value carries; `None` for a value too short to be one of ours.
pub fn sent_ns(value: &[u8]) -> Option<u64> {
    let header: [u8; HEADER_BYTES] = value.get(..HEADER_BYTES)?.try_into().ok()?;
    Some(u64::from_be_bytes(header))
}

/// A record key for keyed runs: `key-<n>`, the form the partitioner tests check against Java.
pub fn key(n: u64) -> Bytes {
    Bytes::from(format!("key-{n}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_carry_their_send_time_and_letters() {
        let mut values = Values::new(64, 7);
        let v = values.next(123_456_789);
        assert_eq!(v.len(), 64);
        assert_eq!(sent_ns(&v), Some(123_456_789));
        assert!(v[HEADER_BYTES..].iter().all(u8::is_ascii_uppercase));
        assert_ne!(values.next(1)[HEADER_BYTES..], v[HEADER_BYTES..]);
    }

    #[test]
    fn short_values_have_no_send_time() {
        assert_eq!(sent_ns(b"short"), None);
    }

    #[test]
    fn keys() {
        assert_eq!(&key(42)[..], b"key-42");
    }
}
