//! `shardlog cluster info`: cluster id, controller and brokers, from DescribeCluster where the broker
//! speaks it, else from Metadata.

use super::error::CliError;
use super::output;
use super::session::Session;
use super::{BrokerArgs, Format};
use clap::{Args, Subcommand};
use kafka_protocol::messages::{ApiKey, DescribeClusterRequest};
use serde_json::json;

#[derive(Args)]
pub struct ClusterArgs {
    #[command(flatten)]
    brokers: BrokerArgs,
    #[arg(long, global = true, value_enum, default_value_t)]
    format: Format,
    #[command(subcommand)]
    verb: Verb,
}

#[derive(Subcommand)]
enum Verb {
    /// Cluster id, controller and brokers.
    Info,
}

struct Broker {
    id: i32,
    host: String,
    port: i32,
    rack: Option<String>,
}

pub fn run(args: ClusterArgs) -> Result<(), CliError> {
    let mut s = Session::connect(&args.brokers)?;
    let Verb::Info = args.verb;
    let (cluster_id, controller, brokers): (String, i32, Vec<Broker>) =
        match s.bootstrap().supports(ApiKey::DescribeCluster) {
            true => {
                let resp = s.bootstrap().call(&DescribeClusterRequest::default())?;
                CliError::check(resp.error_code, || "DescribeCluster".into())?;
                let brokers = resp
                    .brokers
                    .iter()
                    .map(|b| Broker {
                        id: b.broker_id.0,
                        host: b.host.to_string(),
                        port: b.port,
                        rack: b.rack.as_ref().map(|r| r.to_string()),
                    })
                    .collect();
                (resp.cluster_id.to_string(), resp.controller_id.0, brokers)
            }
            false => {
                let resp = s.metadata(Some(&[]))?;
                let brokers = resp
                    .brokers
                    .iter()
                    .map(|b| Broker {
                        id: b.node_id.0,
                        host: b.host.to_string(),
                        port: b.port,
                        rack: b.rack.as_ref().map(|r| r.to_string()),
                    })
                    .collect();
                let id = resp.cluster_id.map_or_else(String::new, |c| c.to_string());
                (id, resp.controller_id.0, brokers)
            }
        };
    match args.format {
        Format::Json => output::json(&json!({
            "cluster_id": cluster_id,
            "controller": controller,
            "brokers": brokers.iter().map(|b| json!({
                "id": b.id, "host": b.host, "port": b.port, "rack": b.rack,
            })).collect::<Vec<_>>(),
        })),
        Format::Table => {
            output::line(&format!("Cluster id: {cluster_id}"))?;
            output::line(&format!("Controller: {controller}"))?;
            output::line("")?;
            let rows: Vec<Vec<String>> = brokers
                .into_iter()
                .map(|b| {
                    vec![
                        b.id.to_string(),
                        b.host,
                        b.port.to_string(),
                        b.rack.unwrap_or_else(|| "-".into()),
                    ]
                })
                .collect();
            output::table(&["BROKER", "HOST", "PORT", "RACK"], &rows)
        }
    }
}
