//! `shardlog group list|describe|reset-offsets|delete` for classic consumer groups.
//!
//! `describe` adds shardlog's lag status: DescribeGroups v5 carries it as tagged field 10000 (JSON, see
//! `coordinator::lag`); other brokers do not send it and the status shows as `-`.
//! `reset-offsets` commits as a standalone consumer (generation -1), which brokers accept only while
//! the group is empty — as Kafka's own tool requires.

use super::error::CliError;
use super::output;
use super::session::{retry, Offsets, Session, Topic, EARLIEST, LATEST};
use super::{BrokerArgs, Format};
use crate::client::str_bytes;
use crate::kafka::LAG_STATUS_TAG;
use clap::{ArgGroup, Args, Subcommand};
use kafka_protocol::messages::{
    ConsumerProtocolAssignment, DeleteGroupsRequest, DescribeGroupsRequest, GroupId,
    ListGroupsRequest,
};
use kafka_protocol::protocol::Decodable;
use kafka_protocol::ResponseError;
use serde_json::{json, Value};
use std::collections::BTreeMap;

#[derive(Args)]
pub struct GroupArgs {
    #[command(flatten)]
    brokers: BrokerArgs,
    /// Output of list, describe and reset-offsets.
    #[arg(long, global = true, value_enum, default_value_t)]
    format: Format,
    #[command(subcommand)]
    verb: Verb,
}

#[derive(Subcommand)]
enum Verb {
    /// List groups with their state and protocol type.
    List,
    /// State, members, committed offsets, log-end offsets, lag and lag status.
    Describe { group: String },
    /// Move an empty group's committed offsets.
    #[command(group(ArgGroup::new("to").required(true).args(["to_earliest", "to_latest", "to_offset"])))]
    ResetOffsets {
        group: String,
        #[arg(long)]
        to_earliest: bool,
        #[arg(long)]
        to_latest: bool,
        /// Clamped to each partition's earliest..latest.
        #[arg(long)]
        to_offset: Option<i64>,
        /// Only this topic's partitions (all of them); default: every partition the group committed.
        #[arg(long)]
        topic: Option<String>,
    },
    /// Delete an empty group and its committed offsets.
    Delete { group: String },
}

pub fn run(args: GroupArgs) -> Result<(), CliError> {
    let mut s = Session::connect(&args.brokers)?;
    match args.verb {
        Verb::List => list(&mut s, args.format),
        Verb::Describe { group } => describe(&mut s, &group, args.format),
        Verb::ResetOffsets {
            group,
            to_earliest,
            to_latest,
            to_offset,
            topic,
        } => {
            let to = match (to_earliest, to_latest, to_offset) {
                (true, _, _) => Target::Earliest,
                (_, true, _) => Target::Latest,
                (_, _, Some(n)) => Target::Offset(n),
                _ => unreachable!("clap requires one of --to-*"),
            };
            reset(&mut s, &group, to, topic.as_deref(), args.format)
        }
        Verb::Delete { group } => delete(&mut s, &group),
    }
}

fn list(s: &mut Session, format: Format) -> Result<(), CliError> {
    s.metadata(Some(&[]))?;
    let mut brokers: Vec<i32> = s.brokers().into_iter().map(|(id, _)| id).collect();
    if brokers.is_empty() {
        brokers.push(-1);
    }
    let mut groups = BTreeMap::new();
    for id in brokers {
        let resp = s.node(id)?.call(&ListGroupsRequest::default())?;
        CliError::check(resp.error_code, || "ListGroups".into())?;
        for g in resp.groups {
            groups.insert(
                g.group_id.0.to_string(),
                (g.group_state.to_string(), g.protocol_type.to_string()),
            );
        }
    }
    match format {
        Format::Json => output::json(&json!(groups
            .iter()
            .map(|(g, (state, kind))| json!({"group": g, "state": state, "protocol_type": kind}))
            .collect::<Vec<_>>())),
        Format::Table => {
            let rows: Vec<Vec<String>> = groups
                .into_iter()
                .map(|(g, (state, kind))| vec![g, state, kind])
                .collect();
            output::table(&["GROUP", "STATE", "PROTOCOL-TYPE"], &rows)
        }
    }
}

struct Member {
    id: String,
    client_id: String,
    host: String,
    /// (topic, partitions) it was assigned.
    assignment: Vec<(String, Vec<i32>)>,
}

struct Described {
    state: String,
    protocol_type: String,
    protocol: String,
    members: Vec<Member>,
    /// Lag report JSON (shardlog only).
    lag: Option<Value>,
}

fn describe_group(s: &mut Session, group: &str) -> Result<Described, CliError> {
    retry(|| describe_group_once(s, group))
}

fn describe_group_once(s: &mut Session, group: &str) -> Result<Described, CliError> {
    let mut req = DescribeGroupsRequest::default();
    req.groups = vec![GroupId(str_bytes(group))];
    let resp = s.coordinator(group)?.call(&req)?;
    let g = resp
        .groups
        .into_iter()
        .next()
        .ok_or_else(|| CliError::broker(format!("DescribeGroups {group}"), -1))?;
    if g.error_code == ResponseError::GroupIdNotFound.code() {
        return Err(not_found(group));
    }
    CliError::check(g.error_code, || format!("DescribeGroups {group}"))?;
    let consumer = g.protocol_type.as_str() == "consumer";
    Ok(Described {
        state: g.group_state.to_string(),
        protocol_type: g.protocol_type.to_string(),
        protocol: g.protocol_data.to_string(),
        members: g
            .members
            .iter()
            .map(|m| Member {
                id: m.member_id.to_string(),
                client_id: m.client_id.to_string(),
                host: m.client_host.to_string(),
                assignment: match consumer {
                    true => assignment(m.member_assignment.clone()),
                    false => Vec::new(),
                },
            })
            .collect(),
        lag: g
            .unknown_tagged_fields
            .get(&LAG_STATUS_TAG)
            .and_then(|b| serde_json::from_slice(b).ok()),
    })
}

fn not_found(group: &str) -> CliError {
    CliError::NotFound(format!(
        "group {group} does not exist — `shardlog group list` shows the groups there are"
    ))
}

/// A consumer member's assignment (ConsumerProtocolAssignment: a version, then the body); empty if
/// it does not decode.
fn assignment(mut bytes: bytes::Bytes) -> Vec<(String, Vec<i32>)> {
    if bytes.len() < 2 {
        return Vec::new();
    }
    let version = i16::from_be_bytes([bytes[0], bytes[1]]);
    let mut body = bytes.split_off(2);
    ConsumerProtocolAssignment::decode(&mut body, version.clamp(0, 3))
        .map(|a| {
            a.assigned_partitions
                .into_iter()
                .map(|tp| (tp.topic.0.to_string(), tp.partitions))
                .collect()
        })
        .unwrap_or_default()
}

fn describe(s: &mut Session, group: &str, format: Format) -> Result<(), CliError> {
    let d = describe_group(s, group)?;
    if d.state == "Dead" {
        return Err(not_found(group));
    }
    let committed = s.committed(group, None)?;
    let ends = log_ends(s, committed.keys())?;
    let owner = |t: &str, p: i32| {
        d.members
            .iter()
            .find(|m| {
                m.assignment
                    .iter()
                    .any(|(mt, ps)| mt == t && ps.contains(&p))
            })
            .map(|m| m.client_id.clone())
    };
    let status = |t: &str, p: i32| -> Option<String> {
        d.lag.as_ref()?["partitions"]
            .as_array()?
            .iter()
            .find(|x| x["topic"] == t && x["partition"] == p)
            .and_then(|x| x["status"].as_str().map(String::from))
    };
    let group_status = d
        .lag
        .as_ref()
        .and_then(|l| l["status"].as_str().map(String::from));
    let rows: Vec<(String, i32, i64, Option<i64>)> = committed
        .iter()
        .map(|((t, p), &c)| (t.clone(), *p, c, ends.get(&(t.clone(), *p)).copied()))
        .collect();
    match format {
        Format::Json => output::json(&json!({
            "group": group,
            "state": d.state,
            "protocol_type": d.protocol_type,
            "protocol": d.protocol,
            "lag_status": group_status,
            "members": d.members.iter().map(|m| json!({
                "member_id": m.id, "client_id": m.client_id, "host": m.host,
                "assignment": m.assignment.iter().map(|(t, ps)| json!({"topic": t, "partitions": ps})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "offsets": rows.iter().map(|(t, p, c, e)| json!({
                "topic": t, "partition": p, "committed": c, "log_end": e,
                "lag": e.map(|e| (e - c).max(0)), "status": status(t, *p), "owner": owner(t, *p),
            })).collect::<Vec<_>>(),
        })),
        Format::Table => {
            let dash = |o: Option<String>| o.unwrap_or_else(|| "-".into());
            output::line(&format!(
                "Group: {group}  State: {}  Protocol: {}/{}  Lag status: {}",
                d.state,
                or_dash(&d.protocol_type),
                or_dash(&d.protocol),
                dash(group_status.clone())
            ))?;
            output::line("")?;
            let members: Vec<Vec<String>> = d
                .members
                .iter()
                .map(|m| {
                    vec![
                        m.id.clone(),
                        m.client_id.clone(),
                        m.host.clone(),
                        assignment_text(&m.assignment),
                    ]
                })
                .collect();
            output::table(&["MEMBER", "CLIENT-ID", "HOST", "ASSIGNMENT"], &members)?;
            output::line("")?;
            let offsets: Vec<Vec<String>> = rows
                .iter()
                .map(|(t, p, c, e)| {
                    vec![
                        t.clone(),
                        p.to_string(),
                        c.to_string(),
                        dash(e.map(|e| e.to_string())),
                        dash(e.map(|e| (e - c).max(0).to_string())),
                        dash(status(t, *p)),
                        dash(owner(t, *p)),
                    ]
                })
                .collect();
            output::table(
                &[
                    "TOPIC",
                    "PARTITION",
                    "COMMITTED",
                    "LOG-END",
                    "LAG",
                    "STATUS",
                    "OWNER",
                ],
                &offsets,
            )
        }
    }
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() {
        "-"
    } else {
        s
    }
}

fn assignment_text(a: &[(String, Vec<i32>)]) -> String {
    if a.is_empty() {
        return "-".into();
    }
    a.iter()
        .map(|(t, ps)| format!("{t}:{}", output::ids(ps)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Log-end offsets of `partitions`; partitions of topics that no longer exist are left out.
fn log_ends<'a>(
    s: &mut Session,
    partitions: impl Iterator<Item = &'a (String, i32)>,
) -> Result<Offsets, CliError> {
    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for (t, p) in partitions {
        by_topic.entry(t).or_default().push(*p);
    }
    let mut topics = Vec::new();
    for (name, ps) in &by_topic {
        match s.topic(name) {
            Ok(t) => topics.push((t, ps)),
            Err(CliError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    let parts: Vec<(&Topic, i32)> = topics
        .iter()
        .flat_map(|(t, ps)| {
            ps.iter()
                .filter(|p| t.leader_of(**p) >= 0)
                .map(move |&p| (t, p))
        })
        .collect();
    s.offsets(&parts, LATEST)
}

#[derive(Clone, Copy)]
enum Target {
    Earliest,
    Latest,
    Offset(i64),
}

fn reset(
    s: &mut Session,
    group: &str,
    to: Target,
    topic: Option<&str>,
    format: Format,
) -> Result<(), CliError> {
    let d = describe_group(s, group)?;
    if d.state != "Empty" && d.state != "Dead" {
        return Err(CliError::Refused(format!(
            "group {group} is {} with {} member(s): offsets can only be reset while it is empty — \
             stop its consumers first",
            d.state,
            d.members.len()
        )));
    }
    let topics: Vec<Topic> = match topic {
        Some(t) => vec![s.topic(t)?],
        None => {
            let committed = s.committed(group, None)?;
            if committed.is_empty() {
                return Err(CliError::Usage(format!(
                    "group {group} has no committed offsets; name the partitions with --topic"
                )));
            }
            let mut names: Vec<&str> = committed.keys().map(|(t, _)| t.as_str()).collect();
            names.dedup();
            names
                .into_iter()
                .map(|n| s.topic(n))
                .collect::<Result<_, _>>()?
        }
    };
    let parts: Vec<(&Topic, i32)> = topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(move |p| (t, p.id)))
        .collect();
    let earliest = s.offsets(&parts, EARLIEST)?;
    let latest = s.offsets(&parts, LATEST)?;
    let new: Offsets = earliest
        .iter()
        .map(|(k, &lo)| {
            let hi = latest.get(k).copied().unwrap_or(lo);
            let at = match to {
                Target::Earliest => lo,
                Target::Latest => hi,
                Target::Offset(n) => n.clamp(lo, hi.max(lo)),
            };
            (k.clone(), at)
        })
        .collect();
    s.commit(group, &new)?;
    match format {
        Format::Json => output::json(&json!(new
            .iter()
            .map(|((t, p), o)| json!({"topic": t, "partition": p, "offset": o}))
            .collect::<Vec<_>>())),
        Format::Table => {
            let rows: Vec<Vec<String>> = new
                .iter()
                .map(|((t, p), o)| vec![t.clone(), p.to_string(), o.to_string()])
                .collect();
            output::table(&["TOPIC", "PARTITION", "NEW-OFFSET"], &rows)
        }
    }
}

fn delete(s: &mut Session, group: &str) -> Result<(), CliError> {
    let mut req = DeleteGroupsRequest::default();
    req.groups_names = vec![GroupId(str_bytes(group))];
    let resp = retry(|| {
        let resp = s.coordinator(group)?.call(&req)?;
        // Answers explained below are final; anything else may be retried.
        let explained = [ResponseError::GroupIdNotFound, ResponseError::NonEmptyGroup];
        for r in &resp.results {
            if !explained.iter().any(|e| e.code() == r.error_code) {
                CliError::check(r.error_code, || format!("DeleteGroups {group}"))?;
            }
        }
        Ok(resp)
    })?;
    for r in resp.results {
        if r.error_code == ResponseError::GroupIdNotFound.code() {
            return Err(not_found(group));
        }
        if r.error_code == ResponseError::NonEmptyGroup.code() {
            return Err(CliError::Refused(format!(
                "group {group} has active members: stop its consumers first"
            )));
        }
        CliError::check(r.error_code, || format!("DeleteGroups {group}"))?;
    }
    output::line(&format!("deleted group {group}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition;
    use kafka_protocol::protocol::Encodable;

    #[test]
    fn a_consumer_assignment_decodes_after_its_version() {
        let mut a = ConsumerProtocolAssignment::default();
        let mut tp = TopicPartition::default();
        tp.topic = crate::client::topic_name("orders");
        tp.partitions = vec![0, 2];
        a.assigned_partitions = vec![tp];
        let mut buf = bytes::BytesMut::new();
        buf.extend_from_slice(&3i16.to_be_bytes());
        a.encode(&mut buf, 3).unwrap();
        assert_eq!(
            assignment(buf.freeze()),
            [("orders".to_string(), vec![0, 2])]
        );
        assert!(assignment(bytes::Bytes::from_static(&[0])).is_empty());
    }
}
