//! Consumer lag and a Burrow-style status per group, computed by the broker.
//!
//! Every sample interval the coordinator records, for each committed partition, (committed offset, log
//! end offset). Over the last `WINDOW` samples a partition is
//! - **OK** when it has no lag now, or its lag is not growing;
//! - **WARNING** when commits advance but the lag grows anyway (the consumer is falling behind);
//! - **ERROR** when commits have stopped while the lag grows (the consumer is stuck or gone).
//!
//! A group's status is its worst partition's. Kafka and Redpanda leave this to external tools (Burrow).

use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};

/// Samples kept per partition: the sliding window the status is judged over.
pub const WINDOW: usize = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LagStatus {
    Ok,
    Warning,
    Error,
}

/// One observation of a partition: ((topic, partition), committed offset, log end offset).
pub type Observation = ((String, i32), i64, i64);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Sample {
    committed: i64,
    end: i64,
}

impl Sample {
    fn lag(&self) -> i64 {
        (self.end - self.committed).max(0)
    }
}

/// One partition's lag as reported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PartitionLag {
    pub topic: String,
    pub partition: i32,
    pub committed: i64,
    pub end: i64,
    pub lag: i64,
    pub status: LagStatus,
}

/// A group's lag report: overall status and per-partition detail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupLag {
    pub status: LagStatus,
    pub total_lag: i64,
    pub partitions: Vec<PartitionLag>,
}

#[derive(Default)]
pub struct LagTracker {
    windows: BTreeMap<(String, i32), VecDeque<Sample>>,
}

fn judge(window: &VecDeque<Sample>) -> LagStatus {
    let (Some(first), Some(last)) = (window.front(), window.back()) else {
        return LagStatus::Ok;
    };
    if last.lag() == 0 || window.len() < 2 {
        return LagStatus::Ok;
    }
    let never_shrinks = window
        .iter()
        .zip(window.iter().skip(1))
        .all(|(a, b)| b.lag() >= a.lag());
    let growing = never_shrinks && last.lag() > first.lag();
    match (first.committed == last.committed, growing) {
        (true, true) => LagStatus::Error,
        (false, true) => LagStatus::Warning,
        _ => LagStatus::Ok,
    }
}

impl LagTracker {
    /// Records one sample per partition; partitions no longer committed are forgotten.
    pub fn record(&mut self, samples: &[Observation]) {
        self.windows
            .retain(|k, _| samples.iter().any(|(s, ..)| s == k));
        for (key, committed, end) in samples {
            let window = self.windows.entry(key.clone()).or_default();
            if window.len() == WINDOW {
                window.pop_front();
            }
            window.push_back(Sample {
                committed: *committed,
                end: *end,
            });
        }
    }

    pub fn report(&self) -> GroupLag {
        let partitions: Vec<PartitionLag> = self
            .windows
            .iter()
            .filter_map(|((topic, partition), w)| {
                let last = w.back()?;
                Some(PartitionLag {
                    topic: topic.clone(),
                    partition: *partition,
                    committed: last.committed,
                    end: last.end,
                    lag: last.lag(),
                    status: judge(w),
                })
            })
            .collect();
        GroupLag {
            status: partitions
                .iter()
                .map(|p| p.status)
                .max()
                .unwrap_or(LagStatus::Ok),
            total_lag: partitions.iter().map(|p| p.lag).sum(),
            partitions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status_after(samples: &[(i64, i64)]) -> LagStatus {
        let mut t = LagTracker::default();
        for &(committed, end) in samples {
            t.record(&[(("t".to_string(), 0), committed, end)]);
        }
        t.report().status
    }

    #[test]
    fn burrow_rules() {
        assert_eq!(
            status_after(&[(10, 10), (20, 20), (30, 30)]),
            LagStatus::Ok,
            "keeping up"
        );
        assert_eq!(
            status_after(&[(10, 50), (20, 50), (30, 50)]),
            LagStatus::Ok,
            "catching up"
        );
        assert_eq!(
            status_after(&[(10, 20), (15, 40), (20, 60)]),
            LagStatus::Warning,
            "committing but falling behind"
        );
        assert_eq!(
            status_after(&[(10, 20), (10, 40), (10, 60)]),
            LagStatus::Error,
            "stopped committing, lag grows"
        );
        assert_eq!(
            status_after(&[(10, 20), (10, 20), (10, 20)]),
            LagStatus::Ok,
            "idle topic, idle consumer"
        );
    }

    #[test]
    fn window_slides_and_report_sums_lag() {
        let mut t = LagTracker::default();
        for i in 0..(WINDOW as i64 + 5) {
            t.record(&[(("a".to_string(), 0), 0, i), (("a".to_string(), 1), i, i)]);
        }
        let r = t.report();
        assert_eq!(r.total_lag, WINDOW as i64 + 4);
        assert_eq!(r.status, LagStatus::Error);
        assert_eq!(r.partitions[1].status, LagStatus::Ok);
    }
}
