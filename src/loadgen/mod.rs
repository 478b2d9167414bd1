//! `shardlog bench`: a load generator speaking the Kafka protocol to any broker (shardlog or Apache
//! Kafka): N producers and M consumers on one topic, in the spirit of the OpenMessaging Benchmark. It
//! reports produce and consume throughput and end-to-end latency percentiles, prints progress once a
//! second on stderr and writes a JSON result.
//!
//! Plain threads and blocking sockets, not an async runtime: each producer is a thread that makes, batches
//! and writes (plus one reading its acks, so requests are pipelined), each consumer a thread that fetches
//! and decodes, and the calling thread watches the clock. The client's cost stays simple to see, and
//! `--null-broker` measures it alone. Connections, record encoding and the partitioner are the shared
//! blocking client's (`crate::client`).
//!
//! | file | role |
//! |------|------|
//! | `args` | the command line, echoed into the result |
//! | `admin` | creating the topic, reading partition offsets |
//! | `pacer` | the fixed-rate schedule (intended send times) |
//! | `payload` | record values carrying their intended send time; the clock |
//! | `accumulator` | per-partition batches, when a request is due, what it takes |
//! | `producer` | the producer thread and its acks reader |
//! | `consumer` | the consumer thread: fetch, decode, time |
//! | `stats` | shared counters, latency histograms, the measurement window |
//! | `report` | the JSON result and the progress line |
//! | `null_broker` | an in-process sink: the load generator's own ceiling |

mod accumulator;
mod admin;
mod args;
mod consumer;
mod error;
mod null_broker;
mod pacer;
mod payload;
mod producer;
mod report;
mod stats;

pub use args::{parse_acks, parse_key_value, BenchArgs, CompressionArg};
pub use error::BenchError;
pub use report::Report;

use crate::client::Connection;
use admin::End;
use args::StartFrom;
use consumer::Targets;
use hdrhistogram::Histogram;
use kafka_protocol::messages::ApiKey;
use null_broker::NullBroker;
use payload::now_ns;
use report::{ConsumeReport, Percentiles, ProduceReport, Rate};
use rustls::ClientConfig;
use stats::{latency_histogram, Counters, Snapshot, Timeline, Window};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tracing::warn;

/// How often the clock is checked (window edges are this precise).
const TICK: Duration = Duration::from_millis(5);

/// What every thread of a run shares, read-only except the counters.
pub struct Plan {
    pub args: BenchArgs,
    /// The broker actually used (the null broker's port with `--null-broker`).
    pub addr: String,
    /// TLS for every connection (`--tls`…), when set.
    pub tls: Option<Arc<ClientConfig>>,
    /// When the run (and the fixed-rate schedule) starts.
    pub start_ns: u64,
    pub window: Window,
    pub counters: Counters,
}

impl Plan {
    /// Pins the calling thread to `--cpus`, the `n`th thread taking the `n mod len`th CPU.
    fn pin(&self, n: usize) {
        if self.args.cpus.is_empty() {
            return;
        }
        let id = self.args.cpus[n % self.args.cpus.len()];
        if !core_affinity::set_for_current(core_affinity::CoreId { id }) {
            warn!(cpu = id, "could not pin a load generator thread");
        }
    }
}

/// The APIs a run uses, checked at every connect so an unfit broker fails the run at once.
const APIS: &[ApiKey] = &[
    ApiKey::Produce,
    ApiKey::Fetch,
    ApiKey::ListOffsets,
    ApiKey::Metadata,
    ApiKey::CreateTopics,
    ApiKey::DeleteTopics,
];

/// A connection for the load generator: named `shardlog-bench`, speaking every API a run uses.
fn connect(addr: &str, tls: Option<&Arc<ClientConfig>>) -> Result<Connection, BenchError> {
    let conn = Connection::connect(addr, "shardlog-bench", tls)?;
    conn.require(APIS)?;
    Ok(conn)
}

/// Runs the benchmark and writes its JSON result to `--json` or stdout.
pub fn bench(args: BenchArgs) -> Result<(), BenchError> {
    let json_path = args.json.clone();
    let report = run(args)?;
    let json =
        serde_json::to_string_pretty(&report).map_err(|e| BenchError::Output(e.to_string()))?;
    match json_path {
        Some(path) => std::fs::write(&path, json + "\n")
            .map_err(|e| BenchError::Output(format!("{}: {e}", path.display()))),
        None => {
            println!("{json}");
            Ok(())
        }
    }
}

pub fn run(args: BenchArgs) -> Result<Report, BenchError> {
    args.validate()?;
    let null_broker = match args.null_broker {
        true => Some(NullBroker::start(args.partitions)?),
        false => None,
    };
    let addr = null_broker
        .as_ref()
        .map_or_else(|| args.bootstrap.clone(), NullBroker::addr);
    let tls = args.tls.config().map_err(BenchError::Args)?;
    let mut admin = connect(&addr, tls.as_ref())?;
    admin::prepare_topic(
        &mut admin,
        &args.topic,
        args.partitions,
        &args.topic_configs,
    )?;
    let ends = admin::offsets(&mut admin, &args.topic, args.partitions, End::Latest)?;
    let starts = match args.from {
        StartFrom::Latest => ends.clone(),
        StartFrom::Earliest => {
            admin::offsets(&mut admin, &args.topic, args.partitions, End::Earliest)?
        }
    };
    let start_ns = now_ns();
    let from_ns = start_ns + (args.warmup_s * 1e9) as u64;
    let plan = Arc::new(Plan {
        window: Window {
            from_ns,
            until_ns: from_ns + (args.duration_s * 1e9) as u64,
        },
        args,
        addr,
        tls,
        start_ns,
        counters: Counters::default(),
    });
    let mut run = Run::start(&plan, &starts);
    let timeline = run.watch(&plan, ends)?;
    let e2e = run.join_consumers()?;
    if plan.args.delete_topic {
        admin::delete_topic(&mut admin, &plan.args.topic)?;
    }
    Ok(report(&plan, &timeline, run.ack_latency, &e2e))
}

/// The threads of a run while it goes.
struct Run {
    producers: Vec<JoinHandle<Result<producer::Outcome, BenchError>>>,
    consumers: Vec<JoinHandle<Result<Histogram<u64>, BenchError>>>,
    targets: Targets,
    stop: Arc<AtomicBool>,
    ack_latency: Histogram<u64>,
}

impl Run {
    fn start(plan: &Arc<Plan>, starts: &[i64]) -> Run {
        let args = &plan.args;
        let targets = Targets::default();
        let stop = Arc::new(AtomicBool::new(false));
        let consumers = (0..args.consumers)
            .map(|id| {
                let positions = consumer::assignment(args.partitions, args.consumers, id)
                    .into_iter()
                    .map(|p| (p, starts[p as usize]))
                    .collect();
                consumer::spawn(
                    Arc::clone(plan),
                    id,
                    positions,
                    Arc::clone(&targets),
                    Arc::clone(&stop),
                )
            })
            .collect();
        let producers = (0..args.producers)
            .map(|id| producer::spawn(Arc::clone(plan), id))
            .collect();
        Run {
            producers,
            consumers,
            targets,
            stop,
            ack_latency: latency_histogram(),
        }
    }

    /// Watches the clock until consumers have read everything produced (or the drain times out): takes
    /// the window's snapshots, prints progress, and tells consumers their targets once producing ends.
    fn watch(&mut self, plan: &Plan, ends: Vec<i64>) -> Result<Timeline, BenchError> {
        let mut timeline = Timeline::default();
        // Counters start at zero when the run starts (threads are spawned after `start_ns`).
        let mut last = Snapshot {
            at_ns: plan.start_ns,
            ..Snapshot::default()
        };
        // Without a warm-up the window opens now, before a fast catch-up read can finish within a tick.
        timeline.observe(&plan.window, last, true, true);
        let mut produced_at: Option<u64> = None;
        let drain_ns = (plan.args.drain_timeout_s * 1e9) as u64;
        loop {
            std::thread::sleep(TICK);
            let now = now_ns();
            if produced_at.is_none() && self.producers.iter().all(JoinHandle::is_finished) {
                self.producers_done(&ends)?;
                produced_at = Some(now);
            }
            let consuming = !self.consumers.iter().all(JoinHandle::is_finished);
            let snap = plan.counters.snapshot(now);
            timeline.observe(&plan.window, snap, produced_at.is_none(), consuming);
            if now - last.at_ns >= 1_000_000_000 {
                let failed = plan.counters.produce_errors.load(Ordering::Relaxed);
                let elapsed_s = (now - plan.start_ns) as f64 / 1e9;
                eprintln!("{}", report::progress_line(elapsed_s, &last, &snap, failed));
                last = snap;
            }
            match produced_at {
                Some(_) if !consuming => return Ok(timeline),
                Some(at) if now - at > drain_ns => {
                    warn!(
                        "consumers did not read everything within --drain-timeout-s; stopping them"
                    );
                    self.stop.store(true, Ordering::Relaxed);
                    timeline.observe(&plan.window, snap, false, false);
                    return Ok(timeline);
                }
                _ => {}
            }
        }
    }

    /// Joins the producers; sets the consumers' targets to where producing left each partition.
    fn producers_done(&mut self, ends: &[i64]) -> Result<(), BenchError> {
        let mut targets = ends.to_vec();
        for handle in self.producers.drain(..) {
            let outcome = match handle.join() {
                Ok(result) => result,
                Err(_) => Err(BenchError::Panicked("producer")),
            };
            let outcome = outcome.inspect_err(|_| self.stop.store(true, Ordering::Relaxed))?;
            for (t, acked) in targets.iter_mut().zip(&outcome.acked_per_partition) {
                *t += *acked as i64;
            }
            // Histograms of the same bounds always merge.
            let _ = self.ack_latency.add(&outcome.ack_latency);
        }
        let _ = self.targets.set(targets);
        Ok(())
    }

    fn join_consumers(&mut self) -> Result<Histogram<u64>, BenchError> {
        let mut merged = latency_histogram();
        for handle in self.consumers.drain(..) {
            let h = handle
                .join()
                .map_err(|_| BenchError::Panicked("consumer"))??;
            let _ = merged.add(&h);
        }
        Ok(merged)
    }
}

fn report(
    plan: &Plan,
    timeline: &Timeline,
    ack_latency: Histogram<u64>,
    e2e: &Histogram<u64>,
) -> Report {
    let c = &plan.counters;
    let get = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    if timeline.start.is_none() {
        warn!("the run ended before its warm-up did: nothing was measured");
    }
    Report {
        tool: "shardlog bench",
        version: env!("CARGO_PKG_VERSION"),
        settings: plan.args.clone(),
        produce: ProduceReport {
            records_sent: get(&c.sent_records),
            records_acked: get(&c.acked_records),
            records_failed: get(&c.produce_errors),
            rate: Rate::produced(timeline),
            ack_latency_ms: Percentiles::of(&ack_latency),
        },
        consume: ConsumeReport {
            records: get(&c.consumed_records),
            rate: Rate::consumed(timeline),
        },
        end_to_end_latency_ms: Percentiles::of(e2e),
    }
}
