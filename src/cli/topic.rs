//! `shardlog topic create|list|describe|alter-config|add-partitions|delete`.

use super::error::CliError;
use super::output::{self, ids};
use super::session::{check_topic, Session, Topic, EARLIEST, LATEST};
use super::{BrokerArgs, Format};
use crate::client::{str_bytes, topic_name};
use crate::loadgen::parse_key_value;
use clap::{Args, Subcommand};
use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_log_dirs_request::DescribableLogDirTopic;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::{
    ApiKey, CreatePartitionsRequest, CreateTopicsRequest, DeleteTopicsRequest,
    DescribeConfigsRequest, DescribeLogDirsRequest, IncrementalAlterConfigsRequest,
};
use kafka_protocol::ResponseError;
use serde_json::json;
use std::collections::BTreeMap;

/// ConfigResource type of a topic.
const TOPIC_RESOURCE: i8 = 2;
const TIMEOUT_MS: i32 = 30_000;

#[derive(Args)]
pub struct TopicArgs {
    #[command(flatten)]
    brokers: BrokerArgs,
    /// Output of list and describe.
    #[arg(long, global = true, value_enum, default_value_t)]
    format: Format,
    #[command(subcommand)]
    verb: Verb,
}

#[derive(Subcommand)]
enum Verb {
    /// Create a topic.
    Create {
        topic: String,
        /// Partitions (default: the broker's num.partitions).
        #[arg(long)]
        partitions: Option<i32>,
        /// Replication factor (default: the broker's default).
        #[arg(long)]
        replication_factor: Option<i16>,
        /// Topic config, `KEY=VALUE`, repeatable (e.g. `retention.ms=60000`).
        #[arg(long = "config", value_name = "KEY=VALUE", value_parser = parse_key_value)]
        configs: Vec<(String, String)>,
    },
    /// List topics with their partition counts.
    List,
    /// Partitions (leader, replicas, ISR, shard, earliest and latest offsets, size), configs.
    Describe { topic: String },
    /// Set or remove topic configs (IncrementalAlterConfigs).
    AlterConfig {
        topic: String,
        /// Config to set, `KEY=VALUE`, repeatable.
        #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_key_value)]
        set: Vec<(String, String)>,
        /// Config to return to its default, repeatable.
        #[arg(long = "delete", value_name = "KEY")]
        delete: Vec<String>,
    },
    /// Grow a topic to a new total number of partitions.
    AddPartitions {
        topic: String,
        /// The new total (more than it has now).
        #[arg(long)]
        partitions: i32,
    },
    /// Delete a topic and its data.
    Delete { topic: String },
}

pub fn run(args: TopicArgs) -> Result<(), CliError> {
    let mut s = Session::connect(&args.brokers)?;
    match args.verb {
        Verb::Create {
            topic,
            partitions,
            replication_factor,
            configs,
        } => create(&mut s, &topic, partitions, replication_factor, &configs),
        Verb::List => list(&mut s, args.format),
        Verb::Describe { topic } => describe(&mut s, &topic, args.format),
        Verb::AlterConfig { topic, set, delete } => alter_config(&mut s, &topic, &set, &delete),
        Verb::AddPartitions { topic, partitions } => add_partitions(&mut s, &topic, partitions),
        Verb::Delete { topic } => delete_topic(&mut s, &topic),
    }
}

fn create(
    s: &mut Session,
    topic: &str,
    partitions: Option<i32>,
    replication_factor: Option<i16>,
    configs: &[(String, String)],
) -> Result<(), CliError> {
    let mut t = CreatableTopic::default();
    t.name = topic_name(topic);
    t.num_partitions = partitions.unwrap_or(-1);
    t.replication_factor = replication_factor.unwrap_or(-1);
    t.configs = configs
        .iter()
        .map(|(k, v)| {
            let mut c = CreatableTopicConfig::default();
            c.name = str_bytes(k);
            c.value = Some(str_bytes(v));
            c
        })
        .collect();
    let mut req = CreateTopicsRequest::default();
    req.topics = vec![t];
    req.timeout_ms = TIMEOUT_MS;
    let resp = s.bootstrap().call(&req)?;
    for r in resp.topics {
        if r.error_code == ResponseError::TopicAlreadyExists.code() {
            return Err(CliError::Refused(format!("topic {topic} already exists")));
        }
        CliError::check(r.error_code, || {
            format!(
                "creating topic {topic} ({})",
                r.error_message.as_deref().unwrap_or("")
            )
        })?;
        output::line(&format!(
            "created topic {topic} with {} partitions",
            r.num_partitions
        ))?;
    }
    Ok(())
}

fn list(s: &mut Session, format: Format) -> Result<(), CliError> {
    let topics = s.topics()?;
    match format {
        Format::Json => output::json(&json!(topics
            .iter()
            .map(|t| json!({"name": t.name, "partitions": t.partitions.len(), "internal": t.internal}))
            .collect::<Vec<_>>())),
        Format::Table => {
            let rows: Vec<Vec<String>> = topics
                .iter()
                .map(|t| {
                    vec![
                        t.name.clone(),
                        t.partitions.len().to_string(),
                        if t.internal { "yes" } else { "" }.to_string(),
                    ]
                })
                .collect();
            output::table(&["TOPIC", "PARTITIONS", "INTERNAL"], &rows)
        }
    }
}

/// A topic config as DescribeConfigs answers it.
struct Config {
    name: String,
    value: Option<String>,
    source: &'static str,
}

fn describe(s: &mut Session, name: &str, format: Format) -> Result<(), CliError> {
    let topic = s.topic(name)?;
    let parts: Vec<(&Topic, i32)> = topic.partitions.iter().map(|p| (&topic, p.id)).collect();
    let earliest = s.offsets(&parts, EARLIEST)?;
    let latest = s.offsets(&parts, LATEST)?;
    let configs = configs(s, name)?;
    let sizes = sizes(s, &topic)?;
    let offset = |m: &BTreeMap<(String, i32), i64>, p: i32| m.get(&(name.to_string(), p)).copied();
    match format {
        Format::Json => output::json(&json!({
            "name": topic.name,
            "internal": topic.internal,
            "partitions": topic.partitions.iter().map(|p| json!({
                "partition": p.id,
                "leader": p.leader,
                "replicas": p.replicas,
                "isr": p.isr,
                "shard": p.shard,
                "earliest_offset": offset(&earliest, p.id),
                "latest_offset": offset(&latest, p.id),
                "size_bytes": sizes.as_ref().and_then(|s| s.get(&p.id)),
            })).collect::<Vec<_>>(),
            "configs": configs.iter().map(|c| (c.name.clone(), json!({"value": c.value, "source": c.source})))
                .collect::<serde_json::Map<_, _>>(),
        })),
        Format::Table => {
            output::line(&format!(
                "Topic: {}  Partitions: {}{}",
                topic.name,
                topic.partitions.len(),
                if topic.internal { "  (internal)" } else { "" }
            ))?;
            let show = |o: Option<i64>| o.map_or_else(|| "-".into(), |o| o.to_string());
            let rows: Vec<Vec<String>> = topic
                .partitions
                .iter()
                .map(|p| {
                    vec![
                        p.id.to_string(),
                        p.leader.to_string(),
                        ids(&p.replicas),
                        ids(&p.isr),
                        p.shard.map_or_else(|| "-".into(), |s| s.to_string()),
                        show(offset(&earliest, p.id)),
                        show(offset(&latest, p.id)),
                        show(sizes.as_ref().and_then(|s| s.get(&p.id).copied())),
                    ]
                })
                .collect();
            output::table(
                &[
                    "PARTITION",
                    "LEADER",
                    "REPLICAS",
                    "ISR",
                    "SHARD",
                    "EARLIEST",
                    "LATEST",
                    "SIZE",
                ],
                &rows,
            )?;
            output::line("")?;
            let rows: Vec<Vec<String>> = configs
                .into_iter()
                .map(|c| {
                    vec![
                        c.name,
                        c.value.unwrap_or_else(|| "-".into()),
                        c.source.into(),
                    ]
                })
                .collect();
            output::table(&["CONFIG", "VALUE", "SOURCE"], &rows)
        }
    }
}

fn configs(s: &mut Session, topic: &str) -> Result<Vec<Config>, CliError> {
    let mut r = DescribeConfigsResource::default();
    r.resource_type = TOPIC_RESOURCE;
    r.resource_name = str_bytes(topic);
    r.configuration_keys = None;
    let mut req = DescribeConfigsRequest::default();
    req.resources = vec![r];
    let resp = s.bootstrap().call(&req)?;
    let mut out = Vec::new();
    for r in resp.results {
        CliError::check(r.error_code, || {
            format!("DescribeConfigs for topic {topic}")
        })?;
        out.extend(r.configs.into_iter().map(|c| Config {
            name: c.name.to_string(),
            value: c.value.map(|v| v.to_string()),
            source: source_name(c.config_source),
        }));
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Kafka's ConfigSource names.
fn source_name(source: i8) -> &'static str {
    match source {
        1 => "topic",
        2 => "dynamic-broker",
        3 => "dynamic-default-broker",
        4 => "static-broker",
        5 => "default",
        _ => "other",
    }
}

/// Partition sizes from DescribeLogDirs, summed over every broker; `None` where a broker does not
/// implement it.
fn sizes(s: &mut Session, topic: &Topic) -> Result<Option<BTreeMap<i32, i64>>, CliError> {
    let mut total: BTreeMap<i32, i64> = BTreeMap::new();
    let mut brokers: Vec<i32> = s.brokers().into_iter().map(|(id, _)| id).collect();
    if brokers.is_empty() {
        brokers.push(-1);
    }
    for id in brokers {
        let conn = s.node(id)?;
        if !conn.supports(ApiKey::DescribeLogDirs) {
            return Ok(None);
        }
        let mut t = DescribableLogDirTopic::default();
        t.topic = topic_name(&topic.name);
        t.partitions = topic.partitions.iter().map(|p| p.id).collect();
        let mut req = DescribeLogDirsRequest::default();
        req.topics = Some(vec![t]);
        let resp = conn.call(&req)?;
        if resp.error_code != 0 {
            return Ok(None);
        }
        for p in resp
            .results
            .iter()
            .filter(|r| r.error_code == 0)
            .flat_map(|r| &r.topics)
            .flat_map(|t| &t.partitions)
        {
            *total.entry(p.partition_index).or_default() += p.partition_size;
        }
    }
    Ok(Some(total))
}

fn alter_config(
    s: &mut Session,
    topic: &str,
    set: &[(String, String)],
    delete: &[String],
) -> Result<(), CliError> {
    if set.is_empty() && delete.is_empty() {
        return Err(CliError::Usage(
            "nothing to change: pass --set KEY=VALUE and/or --delete KEY".into(),
        ));
    }
    let op = |name: &str, operation: i8, value: Option<&str>| {
        let mut c = AlterableConfig::default();
        c.name = str_bytes(name);
        c.config_operation = operation;
        c.value = value.map(str_bytes);
        c
    };
    let mut r = AlterConfigsResource::default();
    r.resource_type = TOPIC_RESOURCE;
    r.resource_name = str_bytes(topic);
    r.configs = set
        .iter()
        .map(|(k, v)| op(k, 0, Some(v)))
        .chain(delete.iter().map(|k| op(k, 1, None)))
        .collect();
    let mut req = IncrementalAlterConfigsRequest::default();
    req.resources = vec![r];
    let resp = s.bootstrap().call(&req)?;
    for r in resp.responses {
        check_topic(r.error_code, topic, || {
            format!(
                "altering configs of topic {topic} ({})",
                r.error_message.as_deref().unwrap_or("")
            )
        })?;
    }
    output::line(&format!("altered configs of topic {topic}"))
}

fn add_partitions(s: &mut Session, topic: &str, partitions: i32) -> Result<(), CliError> {
    let mut t = CreatePartitionsTopic::default();
    t.name = topic_name(topic);
    t.count = partitions;
    t.assignments = None;
    let mut req = CreatePartitionsRequest::default();
    req.topics = vec![t];
    req.timeout_ms = TIMEOUT_MS;
    let resp = s.bootstrap().call(&req)?;
    for r in resp.results {
        check_topic(r.error_code, topic, || {
            format!(
                "adding partitions to topic {topic} ({})",
                r.error_message.as_deref().unwrap_or("")
            )
        })?;
    }
    output::line(&format!("topic {topic} now has {partitions} partitions"))
}

fn delete_topic(s: &mut Session, topic: &str) -> Result<(), CliError> {
    let mut req = DeleteTopicsRequest::default();
    req.topic_names = vec![topic_name(topic)];
    req.timeout_ms = TIMEOUT_MS;
    let resp = s.bootstrap().call(&req)?;
    for r in resp.responses {
        check_topic(r.error_code, topic, || format!("deleting topic {topic}"))?;
    }
    output::line(&format!("deleted topic {topic}"))
}
