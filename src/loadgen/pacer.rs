//! The send schedule. At a fixed rate, record `n` is *intended* to be sent at `start + n / rate`, whether
//! or not the producer manages it; latency is measured from that intended time, so a stalled broker shows
//! up as latency on every record it delayed, not as a single slow one (no coordinated omission). At full
//! speed a record's intended time is simply when it was made.

pub struct Pacer {
    start_ns: u64,
    /// Nanoseconds between records; `None`: as fast as possible.
    interval_ns: Option<f64>,
    taken: u64,
}

impl Pacer {
    /// `rate` in records/s; 0 means as fast as possible.
    pub fn new(start_ns: u64, rate: f64) -> Pacer {
        Pacer {
            start_ns,
            interval_ns: (rate > 0.0).then(|| 1e9 / rate),
            taken: 0,
        }
    }

    fn scheduled_ns(&self, n: u64) -> Option<u64> {
        self.interval_ns
            .map(|i| self.start_ns + (n as f64 * i) as u64)
    }

    /// The next record's intended send time if it is due at `now_ns` (and counts it as taken).
    pub fn take(&mut self, now_ns: u64) -> Option<u64> {
        let due = self.scheduled_ns(self.taken).unwrap_or(now_ns);
        (due <= now_ns).then(|| {
            self.taken += 1;
            due
        })
    }

    /// When the next record is due; `None` at full speed (always due).
    pub fn next_due_ns(&self) -> Option<u64> {
        self.scheduled_ns(self.taken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_rate_keeps_the_schedule_even_when_late() {
        let mut p = Pacer::new(1_000, 1_000.0); // one record per ms
        assert_eq!(p.take(1_000), Some(1_000));
        assert_eq!(p.take(1_000), None);
        assert_eq!(p.next_due_ns(), Some(1_001_000));
        // 3 ms late: the overdue records keep their intended times.
        assert_eq!(p.take(4_000_000), Some(1_001_000));
        assert_eq!(p.take(4_000_000), Some(2_001_000));
        assert_eq!(p.take(4_000_000), Some(3_001_000));
        assert_eq!(p.take(4_000_000), None);
    }

    #[test]
    fn full_speed_is_always_due() {
        let mut p = Pacer::new(0, 0.0);
        assert_eq!(p.take(5), Some(5));
        assert_eq!(p.take(6), Some(6));
        assert_eq!(p.next_due_ns(), None);
    }
}
