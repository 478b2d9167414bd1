//! DescribeUserScramCredentials and AlterUserScramCredentials (KIP-554). Clients send the *salted*
//! password (Hi(password, salt, iterations)); the broker keeps only StoredKey and ServerKey derived from
//! it. Validation follows Kafka's: empty user → UNACCEPTABLE_CREDENTIAL, unknown mechanism →
//! UNSUPPORTED_SASL_MECHANISM, iterations outside 4096..=16384 → UNACCEPTABLE_CREDENTIAL, the same
//! user and mechanism twice in one request → DUPLICATE_RESOURCE, deleting what does not exist →
//! RESOURCE_NOT_FOUND. Errors are per user: a user with any bad change gets none of its changes applied.
//!
//! With the authorizer on, describing needs DESCRIBE on the cluster and altering ALTER on the cluster
//! (CLUSTER_AUTHORIZATION_FAILED); without one, like Kafka, any client that may connect may manage users.

use super::authz::Access;
use super::scope::Scope;
use super::{on_controller, RequestContext};
use crate::controller::ScramChange;
use crate::security::acl::Operation;
use crate::security::credentials::{CredentialError, ScramCredential, ScramMechanism};
use kafka_protocol::messages::alter_user_scram_credentials_response::AlterUserScramCredentialsResult;
use kafka_protocol::messages::describe_user_scram_credentials_response::{
    CredentialInfo, DescribeUserScramCredentialsResult,
};
use kafka_protocol::messages::{
    AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse,
    DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use std::collections::HashMap;
use std::rc::Rc;

pub fn describe(
    scope: &Scope,
    ctx: &RequestContext,
    req: DescribeUserScramCredentialsRequest,
) -> DescribeUserScramCredentialsResponse {
    let snapshot = scope.metadata();
    let mut resp = DescribeUserScramCredentialsResponse::default();
    if !Access::of(scope, ctx).allows_cluster(Operation::Describe) {
        resp.error_code = ResponseError::ClusterAuthorizationFailed.code();
        return resp;
    }
    let names: Vec<String> = match req.users {
        Some(users) if !users.is_empty() => users.iter().map(|u| u.name.to_string()).collect(),
        _ => {
            let mut all: Vec<String> = snapshot.users.keys().cloned().collect();
            all.sort();
            all
        }
    };
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for n in &names {
        *seen.entry(n).or_default() += 1;
    }
    let mut done = std::collections::HashSet::new();
    for name in &names {
        if !done.insert(name.as_str()) {
            continue;
        }
        let mut r = DescribeUserScramCredentialsResult::default();
        r.user = StrBytes::from_string(name.clone());
        if seen[name.as_str()] > 1 {
            r.error_code = ResponseError::DuplicateResource.code();
            r.error_message = Some(StrBytes::from_string(format!(
                "Cannot describe SCRAM credentials for the same user twice in a single request: {name}"
            )));
        } else if let Some(user) = snapshot.users.get(name) {
            r.credential_infos = user
                .credentials
                .iter()
                .map(|c| {
                    let mut info = CredentialInfo::default();
                    info.mechanism = c.mechanism;
                    info.iterations = c.iterations as i32;
                    info
                })
                .collect();
        } else {
            r.error_code = ResponseError::ResourceNotFound.code();
            r.error_message = Some(StrBytes::from_string(format!(
                "Attempt to describe nonexistent user: {name}"
            )));
        }
        resp.results.push(r);
    }
    resp
}

type UserError = (ResponseError, String);

fn credential_error(e: CredentialError) -> UserError {
    (ResponseError::UnacceptableCredential, e.to_string())
}

fn mechanism(id: i8) -> Result<ScramMechanism, UserError> {
    ScramMechanism::from_id(id).ok_or_else(|| {
        (
            ResponseError::UnsupportedSaslMechanism,
            format!("Unknown SCRAM mechanism {id}"),
        )
    })
}

pub async fn alter(
    scope: &Rc<Scope>,
    ctx: &RequestContext,
    req: AlterUserScramCredentialsRequest,
) -> AlterUserScramCredentialsResponse {
    if !Access::of(scope, ctx).allows_cluster(Operation::Alter) {
        return refused_alter(&req);
    }
    let snapshot = scope.metadata();
    // Users in order of first appearance, each with its changes or its first error.
    let mut order: Vec<String> = Vec::new();
    let mut per_user: HashMap<String, Result<Vec<ScramChange>, UserError>> = HashMap::new();
    let mut mechanisms_seen: HashMap<(String, i8), usize> = HashMap::new();
    let deletions = req
        .deletions
        .iter()
        .map(|d| (d.name.to_string(), d.mechanism, None));
    let upsertions = req
        .upsertions
        .iter()
        .map(|u| (u.name.to_string(), u.mechanism, Some(u)));
    for (name, mech_id, upsert) in deletions.chain(upsertions) {
        if !per_user.contains_key(&name) {
            order.push(name.clone());
            per_user.insert(name.clone(), Ok(Vec::new()));
        }
        *mechanisms_seen.entry((name.clone(), mech_id)).or_default() += 1;
        let entry = per_user.get_mut(&name).expect("inserted above");
        let Ok(changes) = entry else { continue };
        let change = (|| -> Result<ScramChange, UserError> {
            if name.is_empty() {
                return Err(credential_error(CredentialError::EmptyUser));
            }
            let m = mechanism(mech_id)?;
            match upsert {
                None => {
                    let exists = snapshot
                        .users
                        .get(&name)
                        .is_some_and(|u| u.credential(m).is_some());
                    if !exists {
                        return Err((
                            ResponseError::ResourceNotFound,
                            "Attempt to delete a user credential that does not exist".into(),
                        ));
                    }
                    Ok(ScramChange::Delete(name.clone(), m))
                }
                Some(u) => ScramCredential::from_salted_password(
                    m,
                    &u.salt,
                    i64::from(u.iterations),
                    &u.salted_password,
                )
                .map(|c| ScramChange::Upsert(name.clone(), c))
                .map_err(credential_error),
            }
        })();
        match change {
            Ok(c) => changes.push(c),
            Err(e) => *entry = Err(e),
        }
    }
    for ((name, _), count) in &mechanisms_seen {
        if *count > 1 {
            per_user.insert(
                name.clone(),
                Err((
                    ResponseError::DuplicateResource,
                    "A user credential cannot be altered twice in the same request".into(),
                )),
            );
        }
    }
    let changes: Vec<ScramChange> = order
        .iter()
        .filter_map(|n| per_user[n].as_ref().ok())
        .flatten()
        .cloned()
        .collect();
    let applied = on_controller(scope, move |controller| async move {
        controller.alter_scram_credentials(changes).await
    })
    .await;
    let mut resp = AlterUserScramCredentialsResponse::default();
    resp.results = order
        .into_iter()
        .map(|name| {
            let mut r = AlterUserScramCredentialsResult::default();
            let outcome = match &per_user[&name] {
                Ok(_) => applied.clone(),
                Err(e) => Err(e.clone()),
            };
            if let Err((code, message)) = outcome {
                r.error_code = code.code();
                r.error_message = Some(StrBytes::from_string(message));
            }
            r.user = StrBytes::from_string(name);
            r
        })
        .collect();
    resp
}

/// CLUSTER_AUTHORIZATION_FAILED for every user the request names, once each, in order.
fn refused_alter(req: &AlterUserScramCredentialsRequest) -> AlterUserScramCredentialsResponse {
    let names = req.deletions.iter().map(|d| &d.name);
    let names = names.chain(req.upsertions.iter().map(|u| &u.name));
    let mut resp = AlterUserScramCredentialsResponse::default();
    for name in names {
        if resp.results.iter().any(|r| r.user == *name) {
            continue;
        }
        let mut r = AlterUserScramCredentialsResult::default();
        r.user = name.clone();
        r.error_code = ResponseError::ClusterAuthorizationFailed.code();
        resp.results.push(r);
    }
    resp
}
