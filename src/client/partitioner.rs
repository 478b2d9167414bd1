//! Which partition a record goes to, as the Java producer decides it: keyed records by murmur2 of the key
//! (so a keyed run spreads exactly like a Java client's), keyless records stickily — a batch's worth of
//! bytes to one partition, then the next (KIP-480/794), so batches fill instead of trickling everywhere.

/// Kafka's `Utils.murmur2` (seed 0x9747b28c), bit for bit; no maintained crate implements this variant.
pub fn murmur2(data: &[u8]) -> i32 {
    const M: u32 = 0x5bd1e995;
    const R: u32 = 24;
    let mut h: u32 = 0x9747b28c ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate().rev() {
            h ^= u32::from(b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The Java client's `toPositive(murmur2(key)) % numPartitions`.
pub fn partition_for_key(key: &[u8], partitions: i32) -> i32 {
    (murmur2(key) & 0x7fff_ffff) % partitions
}

/// Keyless placement: stay on one partition until a batch's worth of bytes went there.
pub struct Sticky {
    partitions: i32,
    current: i32,
    bytes_on_current: usize,
    batch_size: usize,
}

impl Sticky {
    /// Producers start on different partitions (`first`) so N producers do not all fill the same one.
    pub fn new(partitions: i32, first: i32, batch_size: usize) -> Sticky {
        Sticky {
            partitions,
            current: first % partitions,
            bytes_on_current: 0,
            batch_size,
        }
    }

    pub fn next(&mut self, value_bytes: usize) -> i32 {
        if self.bytes_on_current >= self.batch_size {
            self.current = (self.current + 1) % self.partitions;
            self.bytes_on_current = 0;
        }
        self.bytes_on_current += value_bytes;
        self.current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values printed by the Java client itself (`Utils.murmur2`, kafka-clients 4.4.0).
    #[test]
    fn murmur2_matches_java() {
        let java = [
            ("21", -973932308),
            ("foobar", -790332482),
            ("a-little-bit-long-string", -985981536),
            ("abc", 479470107),
            ("", 275646681),
            ("key-0", 29210041),
        ];
        for (key, expected) in java {
            assert_eq!(murmur2(key.as_bytes()), expected, "murmur2({key:?})");
        }
    }

    #[test]
    fn key_partitions_match_java() {
        // toPositive(murmur2(key)) % 16, as printed by the Java client.
        for (key, expected) in [
            ("21", 12),
            ("foobar", 14),
            ("abc", 11),
            ("key-1", 8),
            ("key-7", 11),
        ] {
            assert_eq!(partition_for_key(key.as_bytes(), 16), expected, "{key}");
        }
    }

    #[test]
    fn sticky_moves_on_after_a_batch() {
        let mut s = Sticky::new(3, 2, 100);
        let placed: Vec<i32> = (0..7).map(|_| s.next(50)).collect();
        assert_eq!(placed, [2, 2, 0, 0, 1, 1, 2]);
    }
}
