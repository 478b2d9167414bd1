//! `shardlog reassign start|list|cancel`: move partitions' replicas online (KIP-455's
//! AlterPartitionReassignments and ListPartitionReassignments), from `TOPIC:PARTITION=BROKERS`
//! arguments or a plan file in the JSON format of Kafka's `kafka-reassign-partitions` tool.

use super::error::CliError;
use super::output::{self, ids};
use super::session::Session;
use super::{BrokerArgs, Format};
use crate::client::topic_name;
use kafka_protocol::messages::alter_partition_reassignments_request::{
    ReassignablePartition, ReassignableTopic,
};
use kafka_protocol::messages::list_partition_reassignments_request::ListPartitionReassignmentsTopics;
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, BrokerId, ListPartitionReassignmentsRequest,
};
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const TIMEOUT_MS: i32 = 30_000;
const POLL: Duration = Duration::from_millis(500);

#[derive(clap::Args)]
pub struct ReassignArgs {
    #[command(flatten)]
    brokers: BrokerArgs,
    /// Output of list.
    #[arg(long, global = true, value_enum, default_value_t)]
    format: Format,
    #[command(subcommand)]
    verb: Verb,
}

#[derive(clap::Subcommand)]
enum Verb {
    /// Move partitions to new replica lists (the first broker is the preferred leader).
    Start {
        /// `TOPIC:PARTITION=BROKER,BROKER,...`, repeatable.
        #[arg(value_name = "TOPIC:PARTITION=BROKERS", value_parser = parse_move)]
        moves: Vec<Move>,
        /// A plan file as `kafka-reassign-partitions --reassignment-json-file` takes:
        /// `{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2,3]}]}`.
        #[arg(long, value_name = "FILE")]
        plan: Option<std::path::PathBuf>,
        /// Return only once every move has completed (new replicas in sync, old ones removed).
        #[arg(long)]
        wait: bool,
        /// How long --wait waits before giving up.
        #[arg(long, default_value_t = 600, value_name = "SECONDS")]
        wait_timeout: u64,
    },
    /// Reassignments in progress: replicas, and those being added and removed.
    List,
    /// Stop moves in progress; partitions go back to their replicas before the move.
    Cancel {
        /// `TOPIC:PARTITION`, repeatable.
        #[arg(required = true, value_name = "TOPIC:PARTITION", value_parser = parse_partition)]
        partitions: Vec<(String, i32)>,
    },
}

/// One partition's new replica list.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Move {
    topic: String,
    partition: i32,
    replicas: Vec<i32>,
}

/// Kafka's reassignment plan file.
#[derive(Deserialize)]
struct Plan {
    partitions: Vec<Move>,
}

fn parse_partition(s: &str) -> Result<(String, i32), String> {
    let (topic, partition) = s
        .rsplit_once(':')
        .ok_or_else(|| format!("want TOPIC:PARTITION, got {s:?}"))?;
    let partition = partition
        .parse()
        .map_err(|_| format!("partition {partition:?} is not a number"))?;
    Ok((topic.to_string(), partition))
}

fn parse_move(s: &str) -> Result<Move, String> {
    let (at, replicas) = s
        .split_once('=')
        .ok_or_else(|| format!("want TOPIC:PARTITION=BROKER,BROKER,..., got {s:?}"))?;
    let (topic, partition) = parse_partition(at)?;
    let replicas = replicas
        .split(',')
        .map(|b| {
            b.trim()
                .parse()
                .map_err(|_| format!("broker id {b:?} is not a number"))
        })
        .collect::<Result<Vec<i32>, _>>()?;
    Ok(Move {
        topic,
        partition,
        replicas,
    })
}

fn read_plan(path: &std::path::Path) -> Result<Vec<Move>, CliError> {
    let text = std::fs::read_to_string(path).map_err(|source| CliError::Input {
        what: path.display().to_string(),
        source,
    })?;
    let plan: Plan = serde_json::from_str(&text)
        .map_err(|e| CliError::Usage(format!("plan {}: {e}", path.display())))?;
    Ok(plan.partitions)
}

pub fn run(args: ReassignArgs) -> Result<(), CliError> {
    let mut s = Session::connect(&args.brokers)?;
    match args.verb {
        Verb::Start {
            mut moves,
            plan,
            wait,
            wait_timeout,
        } => {
            if let Some(path) = plan {
                moves.extend(read_plan(&path)?);
            }
            if moves.is_empty() {
                return Err(CliError::Usage(
                    "nothing to move: give TOPIC:PARTITION=BROKERS or --plan FILE".into(),
                ));
            }
            let targets = moves
                .iter()
                .map(|m| ((m.topic.clone(), m.partition), Some(m.replicas.clone())))
                .collect();
            alter(&mut s, targets)?;
            output::line(&format!("started {} partition move(s)", moves.len()))?;
            if wait {
                wait_until_done(&mut s, &moves, Duration::from_secs(wait_timeout))?;
                output::line("all moves completed")?;
            }
            Ok(())
        }
        Verb::List => list(&mut s, args.format),
        Verb::Cancel { partitions } => {
            let count = partitions.len();
            alter(&mut s, partitions.into_iter().map(|p| (p, None)).collect())?;
            output::line(&format!("cancelled {count} partition move(s)"))
        }
    }
}

/// Sends one AlterPartitionReassignments: a new replica list per partition, `None` to cancel.
fn alter(
    s: &mut Session,
    targets: BTreeMap<(String, i32), Option<Vec<i32>>>,
) -> Result<(), CliError> {
    let mut by_topic: BTreeMap<String, Vec<ReassignablePartition>> = BTreeMap::new();
    for ((topic, partition), replicas) in targets {
        let mut p = ReassignablePartition::default();
        p.partition_index = partition;
        p.replicas = replicas.map(|r| r.into_iter().map(BrokerId).collect());
        by_topic.entry(topic).or_default().push(p);
    }
    let mut req = AlterPartitionReassignmentsRequest::default();
    req.timeout_ms = TIMEOUT_MS;
    req.topics = by_topic
        .into_iter()
        .map(|(name, partitions)| {
            let mut t = ReassignableTopic::default();
            t.name = topic_name(&name);
            t.partitions = partitions;
            t
        })
        .collect();
    let resp = s.bootstrap().call(&req)?;
    CliError::check(resp.error_code, || {
        format!("reassignment refused: {}", message(&resp.error_message))
    })?;
    for t in &resp.responses {
        for p in &t.partitions {
            CliError::check(p.error_code, || {
                format!(
                    "{}:{}: {}",
                    t.name.0.as_str(),
                    p.partition_index,
                    message(&p.error_message)
                )
            })?;
        }
    }
    Ok(())
}

fn message(m: &Option<kafka_protocol::protocol::StrBytes>) -> &str {
    m.as_ref().map_or("", |m| m.as_str())
}

/// One reassignment in progress, as ListPartitionReassignments reports it.
struct Ongoing {
    topic: String,
    partition: i32,
    replicas: Vec<i32>,
    adding: Vec<i32>,
    removing: Vec<i32>,
}

/// Reassignments in progress, of `only` these partitions when given.
fn ongoing(s: &mut Session, only: Option<&[Move]>) -> Result<Vec<Ongoing>, CliError> {
    let mut req = ListPartitionReassignmentsRequest::default();
    req.timeout_ms = TIMEOUT_MS;
    req.topics = only.map(|moves| {
        let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
        for m in moves {
            by_topic.entry(&m.topic).or_default().push(m.partition);
        }
        by_topic
            .into_iter()
            .map(|(name, partitions)| {
                let mut t = ListPartitionReassignmentsTopics::default();
                t.name = topic_name(name);
                t.partition_indexes = partitions;
                t
            })
            .collect()
    });
    let resp = s.bootstrap().call(&req)?;
    CliError::check(resp.error_code, || {
        format!("listing reassignments: {}", message(&resp.error_message))
    })?;
    let brokers = |v: &[BrokerId]| v.iter().map(|b| b.0).collect::<Vec<_>>();
    let mut all: Vec<Ongoing> = resp
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(|p| Ongoing {
                topic: t.name.0.to_string(),
                partition: p.partition_index,
                replicas: brokers(&p.replicas),
                adding: brokers(&p.adding_replicas),
                removing: brokers(&p.removing_replicas),
            })
        })
        .collect();
    all.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
    Ok(all)
}

fn list(s: &mut Session, format: Format) -> Result<(), CliError> {
    let all = ongoing(s, None)?;
    match format {
        Format::Json => output::json(&json!(all
            .iter()
            .map(|o| json!({
                "topic": o.topic, "partition": o.partition, "replicas": o.replicas,
                "adding": o.adding, "removing": o.removing,
            }))
            .collect::<Vec<_>>())),
        Format::Table => {
            let rows: Vec<Vec<String>> = all
                .iter()
                .map(|o| {
                    vec![
                        o.topic.clone(),
                        o.partition.to_string(),
                        ids(&o.replicas),
                        ids(&o.adding),
                        ids(&o.removing),
                    ]
                })
                .collect();
            output::table(
                &["TOPIC", "PARTITION", "REPLICAS", "ADDING", "REMOVING"],
                &rows,
            )
        }
    }
}

/// Polls until none of `moves` is in progress any more, or `timeout` passes.
fn wait_until_done(s: &mut Session, moves: &[Move], timeout: Duration) -> Result<(), CliError> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = ongoing(s, Some(moves))?;
        if left.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            let names: Vec<String> = left
                .iter()
                .map(|o| format!("{}:{}", o.topic, o.partition))
                .collect();
            return Err(CliError::Refused(format!(
                "moves still in progress after {}s: {} — `shardlog reassign list` shows them",
                timeout.as_secs(),
                names.join(" ")
            )));
        }
        std::thread::sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_and_partitions_parse() {
        assert_eq!(
            parse_move("orders:2=4,1,3"),
            Ok(Move {
                topic: "orders".into(),
                partition: 2,
                replicas: vec![4, 1, 3]
            })
        );
        assert_eq!(parse_partition("orders:7"), Ok(("orders".into(), 7)));
        assert!(parse_move("orders:2").is_err());
        assert!(parse_move("orders:x=1").is_err());
        assert!(parse_move("orders:1=1,x").is_err());
    }

    #[test]
    fn kafka_plan_files_parse() {
        let plan: Plan = serde_json::from_str(
            r#"{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2],"log_dirs":["any","any"]}]}"#,
        )
        .unwrap();
        assert_eq!(
            plan.partitions,
            vec![Move {
                topic: "t".into(),
                partition: 0,
                replicas: vec![1, 2]
            }]
        );
    }
}
