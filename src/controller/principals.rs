//! Who may do what: SCRAM credentials (and `sasl.bootstrap.users`) and ACL bindings.

use super::*;

impl Controller {
    /// AlterUserScramCredentials: applies every change in one persisted metadata change. A user whose
    /// last credential is deleted is removed.
    pub async fn alter_scram_credentials(
        &self,
        changes: Vec<ScramChange>,
    ) -> Result<(), ControllerError> {
        if changes.is_empty() {
            return Ok(());
        }
        self.commit(|image| {
            for change in changes.iter().cloned() {
                match change {
                    ScramChange::Delete(name, m) => {
                        if let Some(u) = image.users.iter_mut().find(|u| u.name == name) {
                            u.credentials.retain(|c| c.mechanism != m.id());
                        }
                        image.users.retain(|u| !u.credentials.is_empty());
                    }
                    ScramChange::Upsert(name, credential) => {
                        match image.users.iter_mut().find(|u| u.name == name) {
                            Some(u) => u.upsert(credential),
                            None => image.users.push(UserRecord {
                                name,
                                credentials: vec![credential],
                            }),
                        }
                    }
                }
            }
            Ok(())
        })
        .await
    }

    /// CreateAcls: stores the bindings not stored yet, all in one persisted metadata change.
    pub async fn create_acls(&self, bindings: Vec<AclBinding>) -> Result<(), ControllerError> {
        if bindings.is_empty() {
            return Ok(());
        }
        self.commit(|image| {
            for b in &bindings {
                if !image.acls.contains(b) {
                    info!(acl = %b, "created ACL");
                    image.acls.push(b.clone());
                }
            }
            Ok(())
        })
        .await
    }

    /// DeleteAcls: removes every binding any filter matches, in one persisted change. Returns, per
    /// filter, the bindings it matched (a binding matched by two filters is listed under both, as Kafka
    /// does).
    pub async fn delete_acls(
        &self,
        filters: Vec<AclFilter>,
    ) -> Result<Vec<Vec<AclBinding>>, ControllerError> {
        self.commit(|image| {
            let matched: Vec<Vec<AclBinding>> = filters
                .iter()
                .map(|f| {
                    image
                        .acls
                        .iter()
                        .filter(|b| f.matches(b))
                        .cloned()
                        .collect()
                })
                .collect();
            image.acls.retain(|b| !filters.iter().any(|f| f.matches(b)));
            for b in matched.iter().flatten() {
                info!(acl = %b, "deleted ACL");
            }
            Ok(matched)
        })
        .await
    }
}

/// One change of AlterUserScramCredentials, validated by the Kafka layer.
#[derive(Clone, Debug)]
pub enum ScramChange {
    Delete(String, ScramMechanism),
    Upsert(String, ScramCredential),
}

/// `sasl.bootstrap.users`: adds SCRAM-SHA-256 and SCRAM-SHA-512 credentials for each listed user that
/// does not exist yet (existing users are left alone). Returns the names created.
pub fn add_bootstrap_users(
    image: &mut MetadataImage,
    list: &str,
) -> Result<Vec<String>, CredentialError> {
    let mut created = Vec::new();
    for (name, password) in parse_bootstrap_users(list)? {
        if image.user(&name).is_some() {
            continue;
        }
        let mut user = UserRecord {
            name: name.clone(),
            credentials: Vec::new(),
        };
        for m in ScramMechanism::ALL {
            user.upsert(ScramCredential::from_password(
                m,
                &password,
                DEFAULT_ITERATIONS,
            )?);
        }
        image.users.push(user);
        created.push(name);
    }
    Ok(created)
}
