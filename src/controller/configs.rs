//! Topic config changes (AlterConfigs, IncrementalAlterConfigs).

use super::*;

impl Controller {
    pub async fn alter_configs(
        &self,
        name: String,
        changes: Vec<ConfigChange>,
        replace_all: bool,
        validate_only: bool,
    ) -> Result<(), ControllerError> {
        if self.image.borrow().topic(&name).is_none() {
            return Err(ControllerError::UnknownTopic(name));
        }
        let broker = self.config.clone();
        let edit = |image: &mut MetadataImage| {
            let topic = image
                .topics
                .iter_mut()
                .find(|t| t.name == name)
                .ok_or_else(|| ControllerError::UnknownTopic(name.clone()))?;
            apply_config_changes(&broker, &mut topic.configs, &changes, replace_all)
        };
        // Checked on a copy first, so validate_only answers as the real change would.
        edit(&mut self.image.borrow().clone())?;
        if validate_only {
            return Ok(());
        }
        self.commit(edit).await
    }
}

/// How an IncrementalAlterConfigs / AlterConfigs change applies to one key.
#[derive(Clone, Debug)]
pub enum ConfigChange {
    Set(String, String),
    Delete(String),
    /// Adds the comma-separated items to a list config (IncrementalAlterConfigs APPEND).
    Append(String, String),
    /// Removes the comma-separated items from a list config (IncrementalAlterConfigs SUBTRACT).
    Subtract(String, String),
}

/// Applies config changes to a topic's overrides; every value it sets (APPEND / SUBTRACT computed
/// from the current value, the default where none is set) is checked first.
fn apply_config_changes(
    broker: &BrokerConfig,
    configs: &mut Vec<(String, String)>,
    changes: &[ConfigChange],
    replace_all: bool,
) -> Result<(), ControllerError> {
    if replace_all {
        configs.clear();
    }
    for c in changes {
        let set = |configs: &mut Vec<(String, String)>, k: &str, v: String| {
            topic_config::validate(k, &v)?;
            configs.retain(|(key, _)| key != k);
            configs.push((k.to_string(), v));
            Ok::<(), ConfigError>(())
        };
        match c {
            ConfigChange::Set(k, v) => set(configs, k, v.clone())?,
            ConfigChange::Delete(k) => configs.retain(|(key, _)| key != k),
            ConfigChange::Append(k, items) | ConfigChange::Subtract(k, items) => {
                let current = topic_config::effective_value(broker, configs, k)
                    .ok_or_else(|| ConfigError::Unknown(k.clone()))?;
                let append = matches!(c, ConfigChange::Append(..));
                let value = topic_config::edit_list(k, &current, items, append)?;
                set(configs, k, value)?
            }
        }
    }
    Ok(())
}
