//! `shardlog user create|list|delete`: SCRAM users through DescribeUserScramCredentials and
//! AlterUserScramCredentials (KIP-554), as Kafka's `kafka-configs --entity-type users` does. The password
//! never leaves this process: it is salted and hashed here (Hi(password, salt, iterations)) and only the
//! salted password is sent, which the broker turns into StoredKey and ServerKey.

use super::error::CliError;
use super::output;
use super::session::Session;
use super::{BrokerArgs, Format};
use crate::client::str_bytes;
use crate::security::credentials::{random_bytes, ScramMechanism, MIN_ITERATIONS};
use bytes::Bytes;
use clap::{Args, Subcommand, ValueEnum};
use kafka_protocol::messages::alter_user_scram_credentials_request::{
    ScramCredentialDeletion, ScramCredentialUpsertion,
};
use kafka_protocol::messages::describe_user_scram_credentials_request::UserName;
use kafka_protocol::messages::{
    AlterUserScramCredentialsRequest, DescribeUserScramCredentialsRequest,
};
use kafka_protocol::ResponseError;
use serde_json::json;

#[derive(Args)]
pub struct UserArgs {
    #[command(flatten)]
    brokers: BrokerArgs,
    /// Output of list.
    #[arg(long, global = true, value_enum, default_value_t)]
    format: Format,
    #[command(subcommand)]
    verb: Verb,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Mechanisms {
    #[value(name = "SCRAM-SHA-256")]
    Sha256,
    #[value(name = "SCRAM-SHA-512")]
    Sha512,
    /// Both SCRAM mechanisms.
    Both,
}

impl Mechanisms {
    fn list(self) -> Vec<ScramMechanism> {
        match self {
            Mechanisms::Sha256 => vec![ScramMechanism::Sha256],
            Mechanisms::Sha512 => vec![ScramMechanism::Sha512],
            Mechanisms::Both => ScramMechanism::ALL.to_vec(),
        }
    }
}

#[derive(Subcommand)]
enum Verb {
    /// Create a user, or set a new password for an existing one.
    Create {
        name: String,
        /// The password (or env SHARDLOG_USER_PASSWORD, which keeps it out of `ps`).
        #[arg(long, env = "SHARDLOG_USER_PASSWORD", hide_env_values = true)]
        password: String,
        #[arg(long, value_enum, default_value_t = Mechanisms::Both)]
        mechanism: Mechanisms,
        /// PBKDF2 iterations (Kafka accepts 4096..=16384).
        #[arg(long, default_value_t = MIN_ITERATIONS)]
        iterations: u32,
    },
    /// Users and their SCRAM mechanisms.
    List,
    /// Delete a user's credentials (every mechanism it has, unless --mechanism says which).
    Delete {
        name: String,
        #[arg(long, value_enum, default_value_t = Mechanisms::Both)]
        mechanism: Mechanisms,
    },
}

pub fn run(args: UserArgs) -> Result<(), CliError> {
    let mut s = Session::connect(&args.brokers)?;
    match args.verb {
        Verb::Create {
            name,
            password,
            mechanism,
            iterations,
        } => {
            let mut req = AlterUserScramCredentialsRequest::default();
            req.upsertions = mechanism
                .list()
                .into_iter()
                .map(|m| {
                    let salt = random_bytes::<32>();
                    let mut u = ScramCredentialUpsertion::default();
                    u.name = str_bytes(&name);
                    u.mechanism = m.id();
                    u.iterations = iterations as i32;
                    u.salted_password =
                        Bytes::from(m.salted_password(password.as_bytes(), &salt, iterations));
                    u.salt = Bytes::copy_from_slice(&salt);
                    u
                })
                .collect();
            alter(&mut s, &name, req)?;
            output::line(&format!("created user {name}"))
        }
        Verb::Delete { name, mechanism } => {
            let held = mechanisms_of(&mut s, &name)?;
            let mut req = AlterUserScramCredentialsRequest::default();
            req.deletions = mechanism
                .list()
                .into_iter()
                .filter(|m| held.contains(m))
                .map(|m| {
                    let mut d = ScramCredentialDeletion::default();
                    d.name = str_bytes(&name);
                    d.mechanism = m.id();
                    d
                })
                .collect();
            if req.deletions.is_empty() {
                return Err(CliError::NotFound(format!(
                    "user {name} has no credentials for that mechanism — `shardlog user list` shows them"
                )));
            }
            alter(&mut s, &name, req)?;
            output::line(&format!("deleted user {name}"))
        }
        Verb::List => list(&mut s, args.format),
    }
}

fn alter(
    s: &mut Session,
    name: &str,
    req: AlterUserScramCredentialsRequest,
) -> Result<(), CliError> {
    let resp = s.bootstrap().call(&req)?;
    for r in resp.results {
        CliError::check(r.error_code, || {
            let detail = r.error_message.as_deref().unwrap_or_default();
            format!("changing user {name}: {detail}")
        })?;
    }
    Ok(())
}

/// The SCRAM mechanisms user `name` has credentials for; exit 4 when there is no such user.
fn mechanisms_of(s: &mut Session, name: &str) -> Result<Vec<ScramMechanism>, CliError> {
    let mut req = DescribeUserScramCredentialsRequest::default();
    let mut user = UserName::default();
    user.name = str_bytes(name);
    req.users = Some(vec![user]);
    let resp = s.bootstrap().call(&req)?;
    CliError::check(resp.error_code, || "DescribeUserScramCredentials".into())?;
    let Some(r) = resp.results.into_iter().next() else {
        return Ok(Vec::new());
    };
    if r.error_code == ResponseError::ResourceNotFound.code() {
        return Err(CliError::NotFound(format!(
            "user {name} does not exist — `shardlog user list` shows the users there are"
        )));
    }
    CliError::check(r.error_code, || format!("describing user {name}"))?;
    Ok(r.credential_infos
        .iter()
        .filter_map(|c| ScramMechanism::from_id(c.mechanism))
        .collect())
}

fn list(s: &mut Session, format: Format) -> Result<(), CliError> {
    let resp = s
        .bootstrap()
        .call(&DescribeUserScramCredentialsRequest::default())?;
    CliError::check(resp.error_code, || "DescribeUserScramCredentials".into())?;
    let users: Vec<(String, Vec<(&'static str, i32)>)> = resp
        .results
        .iter()
        .filter(|r| r.error_code == 0)
        .map(|r| {
            let mechanisms = r
                .credential_infos
                .iter()
                .filter_map(|c| {
                    ScramMechanism::from_id(c.mechanism).map(|m| (m.name(), c.iterations))
                })
                .collect();
            (r.user.to_string(), mechanisms)
        })
        .collect();
    match format {
        Format::Json => output::json(&json!(users
            .iter()
            .map(|(name, ms)| json!({
                "name": name,
                "mechanisms": ms.iter().map(|(m, i)| json!({"mechanism": m, "iterations": i}))
                    .collect::<Vec<_>>(),
            }))
            .collect::<Vec<_>>())),
        Format::Table => {
            let rows: Vec<Vec<String>> = users
                .into_iter()
                .map(|(name, ms)| {
                    let ms: Vec<String> = ms.iter().map(|(m, i)| format!("{m} ({i})")).collect();
                    vec![name, ms.join(", ")]
                })
                .collect();
            output::table(&["USER", "MECHANISMS (ITERATIONS)"], &rows)
        }
    }
}
