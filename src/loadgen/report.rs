//! The result of a run: the JSON written at the end (settings included, so a number never travels without
//! what produced it) and the progress line printed once a second.
//!
//! MB/s means 2^20 bytes of record keys and values per second, as Kafka's `ProducerPerformance` counts, so
//! the two tools' figures compare directly.

use super::args::BenchArgs;
use super::stats::{Snapshot, Timeline};
use hdrhistogram::Histogram;
use serde::Serialize;

const MIB: f64 = 1_048_576.0;

#[derive(Serialize)]
pub struct Report {
    pub tool: &'static str,
    pub version: &'static str,
    pub settings: BenchArgs,
    pub produce: ProduceReport,
    pub consume: ConsumeReport,
    /// Intended send time (embedded in the record) to the consumer's receipt of the fetch response, for
    /// records whose intended send time falls in the measurement window.
    pub end_to_end_latency_ms: Percentiles,
}

#[derive(Serialize)]
pub struct ProduceReport {
    /// Records handed to the broker over the whole run (warm-up and final flush included).
    pub records_sent: u64,
    /// Of those, acknowledged without error (with acks=0: sent).
    pub records_acked: u64,
    /// Records in partitions the broker answered with an error.
    pub records_failed: u64,
    pub rate: Rate,
    /// Produce request sent → its response read, for requests sent in the window (empty with acks=0).
    pub ack_latency_ms: Percentiles,
}

#[derive(Serialize)]
pub struct ConsumeReport {
    /// Records read over the whole run (this run's and, with `--from earliest`, what was there before).
    pub records: u64,
    pub rate: Rate,
}

#[derive(Serialize, Default, Debug, PartialEq)]
pub struct Rate {
    pub window_s: f64,
    pub records_per_s: f64,
    pub mb_per_s: f64,
}

impl Rate {
    fn between(
        from: Option<Snapshot>,
        to: Option<Snapshot>,
        pick: fn(&Snapshot) -> (u64, u64),
    ) -> Rate {
        let (Some(from), Some(to)) = (from, to) else {
            return Rate::default();
        };
        let window_s = to.at_ns.saturating_sub(from.at_ns) as f64 / 1e9;
        if window_s <= 0.0 {
            return Rate::default();
        }
        let ((r0, b0), (r1, b1)) = (pick(&from), pick(&to));
        Rate {
            window_s: round(window_s, 3),
            records_per_s: round((r1 - r0) as f64 / window_s, 1),
            mb_per_s: round((b1 - b0) as f64 / MIB / window_s, 2),
        }
    }

    pub fn produced(t: &Timeline) -> Rate {
        Rate::between(t.start, t.produce_end, |s| (s.acked_records, s.acked_bytes))
    }

    pub fn consumed(t: &Timeline) -> Rate {
        Rate::between(t.start, t.consume_end, |s| {
            (s.consumed_records, s.consumed_bytes)
        })
    }
}

#[derive(Serialize, Default, Debug)]
pub struct Percentiles {
    pub count: u64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p99_9: f64,
    pub max: f64,
}

impl Percentiles {
    /// From a histogram of microseconds, in milliseconds.
    pub fn of(h: &Histogram<u64>) -> Percentiles {
        if h.is_empty() {
            return Percentiles::default();
        }
        let ms = |us: u64| round(us as f64 / 1_000.0, 3);
        Percentiles {
            count: h.len(),
            mean: round(h.mean() / 1_000.0, 3),
            p50: ms(h.value_at_quantile(0.5)),
            p90: ms(h.value_at_quantile(0.9)),
            p99: ms(h.value_at_quantile(0.99)),
            p99_9: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
        }
    }
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

/// One progress line: rates over the last interval, totals so far.
pub fn progress_line(
    elapsed_s: f64,
    last: &Snapshot,
    now: &Snapshot,
    produce_errors: u64,
) -> String {
    let dt = now.at_ns.saturating_sub(last.at_ns).max(1) as f64 / 1e9;
    let rate = |records: u64, bytes: u64| {
        format!(
            "{:>9.0} rec/s {:>8.1} MB/s",
            records as f64 / dt,
            bytes as f64 / MIB / dt
        )
    };
    format!(
        "{elapsed_s:>6.1}s  produce {}  consume {}  totals: acked {} consumed {} failed {produce_errors}",
        rate(
            now.acked_records - last.acked_records,
            now.acked_bytes - last.acked_bytes
        ),
        rate(
            now.consumed_records - last.consumed_records,
            now.consumed_bytes - last.consumed_bytes
        ),
        now.acked_records,
        now.consumed_records,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loadgen::stats::{latency_histogram, record_latency};

    #[test]
    fn rates_cover_only_the_window() {
        let t = Timeline {
            start: Some(Snapshot {
                at_ns: 1_000_000_000,
                acked_records: 100,
                acked_bytes: 100 * 1024,
                ..Default::default()
            }),
            produce_end: Some(Snapshot {
                at_ns: 3_000_000_000,
                acked_records: 2_148,
                acked_bytes: 2_148 * 1024,
                ..Default::default()
            }),
            consume_end: None,
        };
        let r = Rate::produced(&t);
        assert_eq!(r.window_s, 2.0);
        assert_eq!(r.records_per_s, 1_024.0);
        assert_eq!(r.mb_per_s, 1.0);
        assert_eq!(Rate::consumed(&t), Rate::default());
    }

    #[test]
    fn percentiles_in_milliseconds() {
        let mut h = latency_histogram();
        for ms in 1..=100u64 {
            record_latency(&mut h, 0, ms * 1_000_000);
        }
        let p = Percentiles::of(&h);
        assert_eq!(p.count, 100);
        // HDR buckets keep 3 significant digits.
        assert!((p.p50 - 50.0).abs() < 0.1, "{p:?}");
        assert!((p.p99 - 99.0).abs() < 0.1, "{p:?}");
        assert!((p.max - 100.0).abs() < 0.1, "{p:?}");
    }
}
