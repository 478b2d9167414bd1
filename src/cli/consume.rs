//! `shardlog consume TOPIC`: fetch from each partition's leader, decode (any codec), print.
//!
//! Where it starts, per partition: `--offset N` (with `--partition`); else the group's committed offset
//! (`--group`); else the earliest (`--from-beginning`) or latest offset. It stops after `--count`
//! records, after `--timeout-ms` without a record, or on Ctrl-C.
//!
//! `--group` does not join the group: it reads the group's committed offsets (OffsetFetch) and, after
//! every fetch that printed records, commits the new positions as a standalone consumer (OffsetCommit,
//! generation -1, empty member id) — the simple-consumer commit Kafka accepts while the group has no
//! active members. Running two `consume --group` at once therefore reads the same records twice.

use super::error::{output, CliError};
use super::session::{Offsets, Session, Topic, EARLIEST, LATEST};
use super::BrokerArgs;
use crate::client::decode_records;
use crate::client::fetch::{fetch_request, FetchLimits};
use clap::{Args, ValueEnum};
use kafka_protocol::records::Record;
use serde_json::json;
use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

/// Longest a fetch waits on the broker for new records.
const MAX_WAIT_MS: i32 = 500;
const FETCH_MAX_BYTES: i32 = 50 << 20;
const PARTITION_MAX_BYTES: i32 = 1 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Print {
    /// The value.
    Value,
    /// Key, --key-separator, value.
    KeyValue,
    /// One JSON object per record: topic, partition, offset, timestamp, key, value, headers.
    Json,
}

#[derive(Args)]
pub struct ConsumeArgs {
    #[command(flatten)]
    brokers: BrokerArgs,
    topic: String,
    /// Start at the earliest offset (default: the latest, only new records).
    #[arg(long)]
    from_beginning: bool,
    /// Start at this offset (needs --partition).
    #[arg(long, requires = "partition", conflicts_with = "from_beginning")]
    offset: Option<i64>,
    /// Read only this partition.
    #[arg(long)]
    partition: Option<i32>,
    /// Start at this group's committed offsets and commit progress for it (standalone commits: the
    /// group must have no active members).
    #[arg(long)]
    group: Option<String>,
    /// Stop after this many records.
    #[arg(long)]
    count: Option<u64>,
    /// Stop when no record arrived for this long (default: run until --count or Ctrl-C).
    #[arg(long)]
    timeout_ms: Option<u64>,
    #[arg(long, value_enum, default_value_t = Print::Value)]
    print: Print,
    /// Between key and value with --print key-value.
    #[arg(long, default_value = ":")]
    key_separator: String,
}

pub fn run(args: ConsumeArgs) -> Result<(), CliError> {
    let args = &args;
    let mut s = Session::connect(&args.brokers)?;
    let topic = s.topic(&args.topic)?;
    let partitions: Vec<i32> = match args.partition {
        Some(p) if topic.partitions.iter().any(|tp| tp.id == p) => vec![p],
        Some(p) => {
            return Err(CliError::NotFound(format!(
                "topic {} has no partition {p} (it has {})",
                args.topic,
                topic.partitions.len()
            )))
        }
        None => topic.partitions.iter().map(|p| p.id).collect(),
    };
    let mut positions = start_positions(&mut s, &topic, &partitions, args)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut printed = 0u64;
    let mut last_record = Instant::now();
    let idle = args.timeout_ms.map(Duration::from_millis);
    loop {
        if args.count.is_some_and(|c| printed >= c) {
            break;
        }
        let waited = last_record.elapsed();
        if idle.is_some_and(|i| waited >= i) {
            break;
        }
        let max_wait = idle.map_or(MAX_WAIT_MS, |i| {
            (i - waited).as_millis().clamp(1, MAX_WAIT_MS as u128) as i32
        });
        let mut moved = false;
        for (leader, parts) in by_leader(&topic, &positions) {
            let records = fetch(&mut s, &topic, leader, &parts, max_wait)?;
            for (partition, record) in records {
                let at = positions.entry(partition).or_default();
                // A compressed batch can start before the offset asked for; control records are not data.
                if record.offset < *at || record.control {
                    continue;
                }
                if args.count.is_some_and(|c| printed >= c) {
                    break;
                }
                *at = record.offset + 1;
                moved = true;
                print(&mut out, args, partition, &record).map_err(output)?;
                printed += 1;
            }
        }
        out.flush().map_err(output)?;
        if moved {
            last_record = Instant::now();
            if let Some(group) = &args.group {
                s.commit(group, &offsets(&topic, &positions))?;
            }
        }
    }
    Ok(())
}

/// Where each partition starts (see the module doc).
fn start_positions(
    s: &mut Session,
    topic: &Topic,
    partitions: &[i32],
    args: &ConsumeArgs,
) -> Result<BTreeMap<i32, i64>, CliError> {
    if let (Some(offset), Some(p)) = (args.offset, args.partition) {
        return Ok(BTreeMap::from([(p, offset)]));
    }
    let committed = match &args.group {
        Some(group) => {
            let ps: Vec<(String, i32)> = partitions
                .iter()
                .map(|&p| (topic.name.clone(), p))
                .collect();
            s.committed(group, Some(&ps))?
        }
        None => Offsets::new(),
    };
    let parts: Vec<(&Topic, i32)> = partitions.iter().map(|&p| (topic, p)).collect();
    let ends = s.offsets(
        &parts,
        if args.from_beginning {
            EARLIEST
        } else {
            LATEST
        },
    )?;
    Ok(partitions
        .iter()
        .map(|&p| {
            let key = (topic.name.clone(), p);
            let at = committed.get(&key).or(ends.get(&key)).copied().unwrap_or(0);
            (p, at)
        })
        .collect())
}

fn offsets(topic: &Topic, positions: &BTreeMap<i32, i64>) -> Offsets {
    positions
        .iter()
        .map(|(&p, &o)| ((topic.name.clone(), p), o))
        .collect()
}

fn by_leader(topic: &Topic, positions: &BTreeMap<i32, i64>) -> BTreeMap<i32, Vec<(i32, i64)>> {
    let mut out: BTreeMap<i32, Vec<(i32, i64)>> = BTreeMap::new();
    for (&p, &at) in positions {
        out.entry(topic.leader_of(p)).or_default().push((p, at));
    }
    out
}

/// One fetch from `leader` for `parts` (partition, offset): the records, decoded, per partition.
fn fetch(
    s: &mut Session,
    topic: &Topic,
    leader: i32,
    parts: &[(i32, i64)],
    max_wait_ms: i32,
) -> Result<Vec<(i32, Record)>, CliError> {
    let limits = FetchLimits {
        max_wait_ms,
        partition_max_bytes: PARTITION_MAX_BYTES,
        max_bytes: FETCH_MAX_BYTES,
    };
    let req = fetch_request(&topic.name, parts, &limits);
    let resp = s.node(leader)?.call(&req)?;
    CliError::check(resp.error_code, || "Fetch".into())?;
    let mut out = Vec::new();
    for p in resp.responses.into_iter().flat_map(|t| t.partitions) {
        let what = format!("{}-{}", topic.name, p.partition_index);
        CliError::check(p.error_code, || format!("fetching {what}"))?;
        if let Some(records) = p.records {
            let decoded = decode_records(records, &what)?;
            out.extend(decoded.into_iter().map(|r| (p.partition_index, r)));
        }
    }
    Ok(out)
}

fn text(b: &Option<bytes::Bytes>) -> String {
    b.as_ref().map_or_else(
        || "null".into(),
        |b| String::from_utf8_lossy(b).into_owned(),
    )
}

fn print(
    out: &mut impl Write,
    args: &ConsumeArgs,
    partition: i32,
    r: &Record,
) -> std::io::Result<()> {
    match args.print {
        Print::Value => writeln!(out, "{}", text(&r.value)),
        Print::KeyValue => writeln!(
            out,
            "{}{}{}",
            text(&r.key),
            args.key_separator,
            text(&r.value)
        ),
        Print::Json => {
            let lossy = |b: &Option<bytes::Bytes>| {
                b.as_ref().map(|b| String::from_utf8_lossy(b).into_owned())
            };
            let headers: serde_json::Map<String, serde_json::Value> = r
                .headers
                .iter()
                .map(|(k, v)| (k.to_string(), json!(lossy(v))))
                .collect();
            let line = json!({
                "topic": args.topic,
                "partition": partition,
                "offset": r.offset,
                "timestamp": r.timestamp,
                "key": lossy(&r.key),
                "value": lossy(&r.value),
                "headers": headers,
            });
            writeln!(out, "{line}")
        }
    }
}
