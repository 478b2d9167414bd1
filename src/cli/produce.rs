//! `shardlog produce TOPIC`: one record per input line (stdin or `--file`), keys optionally split off
//! each line as the Confluent/Kafka console producer does (`--parse-key`, `--key-separator`). Keyed
//! records go where the Java client would put them (murmur2); unkeyed ones stick to a partition for a
//! batch's worth of bytes. Records are batched per partition, one request per leader per round.

use super::error::CliError;
use super::session::{Session, Topic};
use super::BrokerArgs;
use crate::client::partitioner::{partition_for_key, Sticky};
use crate::client::records::producer_record;
use crate::client::{encode_batch, str_bytes, topic_name};
use crate::loadgen::{parse_acks, parse_key_value, CompressionArg};
use bytes::{Bytes, BytesMut};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::ProduceRequest;
use kafka_protocol::records::{Compression, Record};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, IsTerminal, Read};
use std::path::PathBuf;

/// Bytes (keys and values) buffered before a round of produce requests.
const ROUND_BYTES: usize = 4 << 20;
/// A partition's records are cut into batches of about this size, well under the default
/// `max.message.bytes` (1 MiB) even uncompressed.
const BATCH_BYTES: usize = 256 << 10;
/// Per-record overhead assumed when sizing a batch (varints, attributes, deltas).
const RECORD_OVERHEAD: usize = 24;
/// Unkeyed records move to the next partition after this many bytes (the Java client's batch.size).
const STICKY_BATCH_BYTES: usize = 16 << 10;

#[derive(Args)]
pub struct ProduceArgs {
    #[command(flatten)]
    brokers: BrokerArgs,
    topic: String,
    /// Read lines from this file instead of stdin.
    #[arg(long)]
    file: Option<PathBuf>,
    /// Split each line into key and value at the first --key-separator.
    #[arg(long)]
    parse_key: bool,
    #[arg(long, default_value = ":")]
    key_separator: String,
    /// A header on every record, `KEY=VALUE`, repeatable.
    #[arg(long = "header", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    headers: Vec<(String, String)>,
    #[arg(long, value_enum, default_value_t = CompressionArg::None)]
    compression: CompressionArg,
    /// 0, 1 or all.
    #[arg(long, default_value = "all", value_parser = parse_acks)]
    acks: i16,
    /// Send every record to this partition.
    #[arg(long)]
    partition: Option<i32>,
}

pub fn run(args: ProduceArgs) -> Result<(), CliError> {
    let mut s = Session::connect(&args.brokers)?;
    let topic = s.topic(&args.topic)?;
    let count = topic.partitions.len() as i32;
    if let Some(p) = args.partition.filter(|p| !(0..count).contains(p)) {
        return Err(CliError::NotFound(format!(
            "topic {} has no partition {p} (it has {count})",
            args.topic
        )));
    }
    let (input, size, what): (Box<dyn Read>, Option<u64>, String) = match &args.file {
        Some(path) => {
            let what = path.display().to_string();
            let file = std::fs::File::open(path).map_err(|source| CliError::Input {
                what: what.clone(),
                source,
            })?;
            let size = file.metadata().ok().map(|m| m.len());
            (Box::new(file), size, what)
        }
        None => (Box::new(std::io::stdin()), None, "stdin".into()),
    };
    let progress = progress_bar(size);
    let mut producer = Producer {
        session: &mut s,
        topic: &topic,
        args: &args,
        sticky: Sticky::new(count, fastrand::i32(0..count), STICKY_BATCH_BYTES),
        pending: BTreeMap::new(),
        pending_bytes: 0,
        sent: 0,
    };
    let mut reader = BufReader::new(input);
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|source| CliError::Input {
                what: what.clone(),
                source,
            })?;
        if n == 0 {
            break;
        }
        number += 1;
        progress.inc(n as u64);
        producer.add(trim_newline(&line), number)?;
    }
    producer.flush()?;
    progress.finish_and_clear();
    eprintln!("produced {} records to {}", producer.sent, args.topic);
    Ok(())
}

/// A byte bar for a file, a counter for stdin; hidden unless stderr is a terminal.
fn progress_bar(size: Option<u64>) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    match size {
        Some(len) => ProgressBar::new(len).with_style(
            ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {bytes} read, {bytes_per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    }
}

fn trim_newline(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

struct Producer<'a> {
    session: &'a mut Session,
    topic: &'a Topic,
    args: &'a ProduceArgs,
    sticky: Sticky,
    /// Batches waiting, per partition: records and their estimated encoded bytes.
    pending: BTreeMap<i32, Vec<(Vec<Record>, usize)>>,
    pending_bytes: usize,
    sent: u64,
}

impl Producer<'_> {
    /// Adds the record of input line `number`; sends a round when enough is buffered.
    fn add(&mut self, line: &[u8], number: u64) -> Result<(), CliError> {
        let (key, value) = match self.args.parse_key {
            false => (None, line),
            true => {
                let sep = self.args.key_separator.as_bytes();
                let at = find(line, sep).ok_or_else(|| {
                    CliError::Usage(format!(
                        "line {number} has no key separator {:?} (--parse-key)",
                        self.args.key_separator
                    ))
                })?;
                (Some(&line[..at]), &line[at + sep.len()..])
            }
        };
        let partitions = self.topic.partitions.len() as i32;
        let partition = match (self.args.partition, key) {
            (Some(p), _) => p,
            (None, Some(k)) => partition_for_key(k, partitions),
            (None, None) => self.sticky.next(value.len()),
        };
        let size = line.len()
            + RECORD_OVERHEAD
            + self
                .args
                .headers
                .iter()
                .map(|(k, v)| k.len() + v.len() + 2)
                .sum::<usize>();
        let batches = self.pending.entry(partition).or_default();
        if batches
            .last()
            .is_none_or(|(_, bytes)| bytes + size > BATCH_BYTES)
        {
            batches.push((Vec::new(), 0));
        }
        let (batch, bytes) = batches.last_mut().expect("pushed above");
        *bytes += size;
        let index = batch.len() as i32;
        let mut record = producer_record(
            index,
            key.map(Bytes::copy_from_slice),
            Bytes::copy_from_slice(value),
        );
        for (k, v) in &self.args.headers {
            record
                .headers
                .insert(str_bytes(k), Some(Bytes::copy_from_slice(v.as_bytes())));
        }
        batch.push(record);
        self.pending_bytes += size;
        if self.pending_bytes >= ROUND_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    /// Sends everything pending: one request per leader, one batch per partition.
    fn flush(&mut self) -> Result<(), CliError> {
        let compression: Compression = self.args.compression.into();
        let mut by_leader: BTreeMap<i32, Vec<PartitionProduceData>> = BTreeMap::new();
        let mut records = 0u64;
        for (partition, batches) in std::mem::take(&mut self.pending) {
            let mut data = PartitionProduceData::default();
            data.index = partition;
            let mut set = BytesMut::new();
            for (batch, _) in &batches {
                set.extend_from_slice(&encode_batch(batch, compression)?);
                records += batch.len() as u64;
            }
            data.records = Some(set.freeze());
            by_leader
                .entry(self.topic.leader_of(partition))
                .or_default()
                .push(data);
        }
        self.pending_bytes = 0;
        for (leader, partition_data) in by_leader {
            let mut t = TopicProduceData::default();
            t.name = topic_name(&self.topic.name);
            t.partition_data = partition_data;
            let mut req = ProduceRequest::default();
            req.acks = self.args.acks;
            req.timeout_ms = 30_000;
            req.topic_data = vec![t];
            let conn = self.session.node(leader)?;
            if self.args.acks == 0 {
                conn.send(&req)?;
                continue;
            }
            let resp = conn.call(&req)?;
            for p in resp.responses.iter().flat_map(|t| &t.partition_responses) {
                CliError::check(p.error_code, || {
                    format!(
                        "producing to {}-{} ({})",
                        self.topic.name,
                        p.index,
                        p.error_message.as_deref().unwrap_or("")
                    )
                })?;
            }
        }
        self.sent += records;
        Ok(())
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_lose_their_line_ending_only() {
        assert_eq!(trim_newline(b"a:b\r\n"), b"a:b");
        assert_eq!(trim_newline(b"a:b\n"), b"a:b");
        assert_eq!(trim_newline(b"a:b"), b"a:b");
        assert_eq!(trim_newline(b"\n"), b"");
    }

    #[test]
    fn the_key_ends_at_the_first_separator() {
        assert_eq!(find(b"k::v:w", b"::"), Some(1));
        assert_eq!(find(b"k:v:w", b":"), Some(1));
        assert_eq!(find(b"kv", b":"), None);
        assert_eq!(find(b"kv", b""), None);
    }
}
