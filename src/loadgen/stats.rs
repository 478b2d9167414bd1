//! What every thread counts, and the measurement window. Counters are shared atomics (bumped once per
//! request or fetch, not per record); latencies go into per-thread HDR histograms merged at the end, so the
//! hot paths never contend.

use hdrhistogram::Histogram;
use std::sync::atomic::{AtomicU64, Ordering};

/// Latencies are recorded in microseconds, up to an hour, to 3 significant digits.
const LATENCY_MAX_US: u64 = 3_600_000_000;

pub fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, LATENCY_MAX_US, 3).expect("constant bounds are valid")
}

/// Records `from_ns → to_ns` (saturating: a latency above an hour is recorded as an hour).
pub fn record_latency(h: &mut Histogram<u64>, from_ns: u64, to_ns: u64) {
    h.saturating_record((to_ns.saturating_sub(from_ns) / 1_000).max(1));
}

/// The part of the run that counts: after the warm-up, until producing stops.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub from_ns: u64,
    pub until_ns: u64,
}

impl Window {
    pub fn contains(&self, t_ns: u64) -> bool {
        (self.from_ns..self.until_ns).contains(&t_ns)
    }
}

#[derive(Default)]
pub struct Counters {
    pub sent_records: AtomicU64,
    pub acked_records: AtomicU64,
    pub acked_bytes: AtomicU64,
    pub produce_errors: AtomicU64,
    pub consumed_records: AtomicU64,
    pub consumed_bytes: AtomicU64,
}

/// Counters are independent totals; nothing is ordered by them, so relaxed loads and stores suffice.
pub fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Snapshot {
    pub at_ns: u64,
    pub acked_records: u64,
    pub acked_bytes: u64,
    pub consumed_records: u64,
    pub consumed_bytes: u64,
}

impl Counters {
    pub fn snapshot(&self, at_ns: u64) -> Snapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Snapshot {
            at_ns,
            acked_records: get(&self.acked_records),
            acked_bytes: get(&self.acked_bytes),
            consumed_records: get(&self.consumed_records),
            consumed_bytes: get(&self.consumed_bytes),
        }
    }
}

/// Snapshots at the window's edges. Producing's window ends at the window's end or when producers stop
/// (a `--records` limit), consuming's when consumers finish: the drain after the window does not count.
#[derive(Default)]
pub struct Timeline {
    pub start: Option<Snapshot>,
    pub produce_end: Option<Snapshot>,
    pub consume_end: Option<Snapshot>,
}

impl Timeline {
    pub fn observe(&mut self, window: &Window, snap: Snapshot, producing: bool, consuming: bool) {
        if self.start.is_none() && snap.at_ns >= window.from_ns {
            self.start = Some(snap);
        }
        if self.start.is_none() {
            return;
        }
        let over = snap.at_ns >= window.until_ns;
        if self.produce_end.is_none() && (over || !producing) {
            self.produce_end = Some(snap);
        }
        if self.consume_end.is_none() && (over || !consuming) {
            self.consume_end = Some(snap);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(at_ns: u64, acked_records: u64) -> Snapshot {
        Snapshot {
            at_ns,
            acked_records,
            ..Default::default()
        }
    }

    #[test]
    fn the_window_starts_after_warm_up_and_ends_when_producers_stop() {
        let w = Window {
            from_ns: 10,
            until_ns: 100,
        };
        let mut t = Timeline::default();
        t.observe(&w, snap(5, 1), true, true);
        assert!(t.start.is_none(), "still warming up");
        t.observe(&w, snap(10, 2), true, true);
        t.observe(&w, snap(50, 3), false, true);
        t.observe(&w, snap(60, 4), false, true);
        assert_eq!(t.start.map(|s| s.acked_records), Some(2));
        assert_eq!(t.produce_end.map(|s| s.acked_records), Some(3));
        assert!(t.consume_end.is_none());
        t.observe(&w, snap(100, 5), false, true);
        assert_eq!(t.consume_end.map(|s| s.acked_records), Some(5));
    }

    #[test]
    fn latencies_are_microseconds_and_at_least_one() {
        let mut h = latency_histogram();
        record_latency(&mut h, 1_000, 3_500_000);
        record_latency(&mut h, 5, 1);
        assert_eq!(h.len(), 2);
        assert_eq!(h.min(), 1);
        assert!(h.equivalent(h.max(), 3_499));
    }
}
