//! The operator CLI: `shardlog <noun> <verb>` against any Kafka-compatible broker (shardlog or Apache
//! Kafka), over the shared blocking client (`crate::client`).
//!
//! | file | role |
//! |------|------|
//! | `session` | connections: the bootstrap broker, partition leaders, group coordinators; metadata, offsets |
//! | `output` | aligned tables and `--format json` |
//! | `error` | `CliError` and its exit code |
//! | `topic` | `topic create|list|describe|alter-config|add-partitions|delete` |
//! | `produce` | `produce TOPIC`: lines from stdin or a file, batched per partition |
//! | `consume` | `consume TOPIC`: fetch, decode, print; optional committed offsets of a group |
//! | `group` | `group list|describe|reset-offsets|delete` |
//! | `cluster` | `cluster info` |
//! | `reassign` | `reassign start|list|cancel`: move partitions' replicas (KIP-455) |
//! | `user` | `user create|list|delete`: SCRAM users (KIP-554) |
//! | `acl` | `acl create|list|delete`: ACL bindings, kafka-acls style |
//!
//! # Exit codes
//! | code | meaning |
//! |------|---------|
//! | 0 | success |
//! | 1 | bad input: a flag value or input line the command cannot use, an unreadable `--file` |
//! | 2 | the command line does not parse (clap) |
//! | 3 | cannot connect to any broker in `--brokers`, or its TLS handshake failed (untrusted certificate) |
//! | 4 | not found: unknown topic, partition or group |
//! | 5 | the broker answered an error (or does not speak a needed API version) |
//!
//! Every error is one line on stderr saying what to do next.

mod acl;
mod cluster;
mod consume;
mod error;
mod group;
mod output;
mod produce;
mod reassign;
mod session;
mod topic;
mod user;

pub use error::CliError;

use crate::client::sasl::{SaslLogin, SaslMechanism};
use crate::client::tls::TlsArgs;
use crate::security::credentials::ScramMechanism;
use clap::{Args, Subcommand, ValueEnum};

/// The CLI's commands; `main.rs` flattens them into `shardlog`'s own.
#[derive(Subcommand)]
pub enum CliCommand {
    /// Create, list, describe, alter and delete topics.
    Topic(topic::TopicArgs),
    /// Produce lines from stdin or a file to a topic, one record per line.
    Produce(produce::ProduceArgs),
    /// Print records of a topic.
    Consume(consume::ConsumeArgs),
    /// List, describe, reset and delete consumer groups.
    Group(group::GroupArgs),
    /// Show the cluster: id, controller, brokers.
    Cluster(cluster::ClusterArgs),
    /// Move partitions' replicas between brokers online; list and cancel moves.
    Reassign(reassign::ReassignArgs),
    /// Create, list and delete SCRAM users (SASL).
    User(user::UserArgs),
    /// Create, list and delete ACLs (with the broker's authorizer on).
    Acl(Box<acl::AclArgs>),
}

/// Where to connect; every command takes it.
#[derive(Args, Clone, Debug)]
pub struct BrokerArgs {
    /// Bootstrap broker(s), `host:port`, comma-separated: the first that answers is used.
    #[arg(
        long,
        global = true,
        env = "SHARDLOG_BROKERS",
        default_value = "127.0.0.1:9092"
    )]
    pub brokers: String,
    /// Log in with SASL on every connection (a SASL_PLAINTEXT listener, or SASL_SSL with --tls); needs
    /// --sasl-username and --sasl-password.
    #[arg(long, global = true, env = "SHARDLOG_SASL_MECHANISM", value_enum)]
    pub sasl_mechanism: Option<SaslMechanismArg>,
    #[arg(long, global = true, env = "SHARDLOG_SASL_USERNAME")]
    pub sasl_username: Option<String>,
    /// The password (env SHARDLOG_SASL_PASSWORD keeps it out of `ps`).
    #[arg(
        long,
        global = true,
        env = "SHARDLOG_SASL_PASSWORD",
        hide_env_values = true
    )]
    pub sasl_password: Option<String>,
    #[command(flatten)]
    pub tls: TlsArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SaslMechanismArg {
    #[value(name = "PLAIN")]
    Plain,
    #[value(name = "SCRAM-SHA-256")]
    ScramSha256,
    #[value(name = "SCRAM-SHA-512")]
    ScramSha512,
}

impl BrokerArgs {
    /// The SASL login the flags ask for, if any.
    pub fn sasl_login(&self) -> Result<Option<SaslLogin>, CliError> {
        let Some(mechanism) = self.sasl_mechanism else {
            return Ok(None);
        };
        let (Some(username), Some(password)) = (&self.sasl_username, &self.sasl_password) else {
            return Err(CliError::Usage(
                "--sasl-mechanism needs --sasl-username and --sasl-password".into(),
            ));
        };
        let mechanism = match mechanism {
            SaslMechanismArg::Plain => SaslMechanism::Plain,
            SaslMechanismArg::ScramSha256 => SaslMechanism::Scram(ScramMechanism::Sha256),
            SaslMechanismArg::ScramSha512 => SaslMechanism::Scram(ScramMechanism::Sha512),
        };
        Ok(Some(SaslLogin {
            mechanism,
            username: username.clone(),
            password: password.clone(),
        }))
    }
}

/// How list/describe/info commands print.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    #[default]
    Table,
    /// One JSON document for scripts.
    Json,
}

/// Runs one CLI command.
/// Runs one CLI command. Output ending at a closed pipe (`| head`) is not an error.
pub fn run(command: CliCommand) -> Result<(), CliError> {
    let result = match command {
        CliCommand::Topic(args) => topic::run(args),
        CliCommand::Produce(args) => produce::run(args),
        CliCommand::Consume(args) => consume::run(args),
        CliCommand::Group(args) => group::run(args),
        CliCommand::Cluster(args) => cluster::run(args),
        CliCommand::Reassign(args) => reassign::run(args),
        CliCommand::User(args) => user::run(args),
        CliCommand::Acl(args) => acl::run(*args),
    };
    match result {
        Err(e) if error::is_broken_pipe(&e) => Ok(()),
        other => other,
    }
}
