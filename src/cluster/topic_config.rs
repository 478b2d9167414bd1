//! Topic-level configs: which Kafka topic configs shardlog honours, their broker-wide defaults, and how a
//! topic's overrides turn into the `LogConfig` its partitions run with.

use crate::config::BrokerConfig;
use crate::storage::LogConfig;
use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("unknown or unsupported topic config '{0}'")]
    Unknown(String),
    #[error("invalid value '{value}' for '{key}': {why}")]
    Invalid {
        key: String,
        value: String,
        why: &'static str,
    },
}

/// delete.retention.ms default (one day, as Kafka).
const DEFAULT_DELETE_RETENTION_MS: i64 = 86_400_000;

/// One honoured topic config: its name and its broker default rendered as a string.
pub struct ConfigEntry {
    pub name: &'static str,
    pub default: String,
}

/// The topic configs we honour, with the broker's defaults (as DescribeConfigs shows them).
pub fn supported(broker: &BrokerConfig) -> Vec<ConfigEntry> {
    let e = |name, default: String| ConfigEntry { name, default };
    vec![
        e("cleanup.policy", "delete".into()),
        e(
            "delete.retention.ms",
            DEFAULT_DELETE_RETENTION_MS.to_string(),
        ),
        e("segment.bytes", broker.log_segment_bytes.to_string()),
        e("segment.ms", broker.log_roll_ms.to_string()),
        e("retention.ms", broker.log_retention_ms.to_string()),
        e("retention.bytes", broker.log_retention_bytes.to_string()),
        e("max.message.bytes", broker.message_max_bytes.to_string()),
        e(
            "index.interval.bytes",
            broker.log_index_interval_bytes.to_string(),
        ),
        e("compression.type", "producer".into()),
        e(
            "min.insync.replicas",
            broker.min_insync_replicas.to_string(),
        ),
    ]
}

fn parse_int(key: &str, value: &str, min: i64) -> Result<i64, ConfigError> {
    let v: i64 = value.parse().map_err(|_| ConfigError::Invalid {
        key: key.into(),
        value: value.into(),
        why: "not an integer",
    })?;
    if v < min {
        return Err(ConfigError::Invalid {
            key: key.into(),
            value: value.into(),
            why: "below the minimum",
        });
    }
    Ok(v)
}

/// Checks one override; the error says what is wrong in Kafka's words.
pub fn validate(key: &str, value: &str) -> Result<(), ConfigError> {
    match key {
        "cleanup.policy" => cleanup_policy(value).map(drop).ok_or_else(|| ConfigError::Invalid {
            key: key.into(),
            value: value.into(),
            why: "expected delete, compact, or compact,delete",
        }),
        "segment.bytes" => parse_int(key, value, 14).map(drop),
        "segment.ms" | "index.interval.bytes" => parse_int(key, value, 1).map(drop),
        "retention.ms" | "retention.bytes" => parse_int(key, value, -1).map(drop),
        "delete.retention.ms" => parse_int(key, value, 0).map(drop),
        "max.message.bytes" => parse_int(key, value, 0).and_then(|v| {
            i32::try_from(v).map(drop).map_err(|_| ConfigError::Invalid {
                key: key.into(),
                value: value.into(),
                why: "too large",
            })
        }),
        "min.insync.replicas" => parse_int(key, value, 1).map(drop),
        "compression.type" => match value {
            "producer" => Ok(()),
            _ => Err(ConfigError::Invalid {
                key: key.into(),
                value: value.into(),
                why: "batches are stored as the producer compressed them; only 'producer' is supported",
            }),
        },
        _ => Err(ConfigError::Unknown(key.into())),
    }
}

/// (delete, compact) for a cleanup.policy value; `None` if it is not one.
fn cleanup_policy(value: &str) -> Option<(bool, bool)> {
    let mut policy = (false, false);
    for part in value.split(',').map(str::trim) {
        match part {
            "delete" => policy.0 = true,
            "compact" => policy.1 = true,
            _ => return None,
        }
    }
    Some(policy)
}

/// The effective log config of a topic: its overrides over the broker defaults.
pub fn log_config(broker: &BrokerConfig, overrides: &[(String, String)]) -> LogConfig {
    let raw = |key: &str| {
        overrides
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let get = |key: &str| raw(key).and_then(|v| v.parse::<i64>().ok());
    let (delete, compact) = raw("cleanup.policy")
        .and_then(cleanup_policy)
        .unwrap_or((true, false));
    LogConfig {
        delete,
        compact,
        delete_retention_ms: get("delete.retention.ms").unwrap_or(DEFAULT_DELETE_RETENTION_MS),
        segment_bytes: get("segment.bytes").unwrap_or(broker.log_segment_bytes),
        segment_ms: get("segment.ms").unwrap_or(broker.log_roll_ms),
        retention_ms: get("retention.ms").unwrap_or(broker.log_retention_ms),
        retention_bytes: get("retention.bytes").unwrap_or(broker.log_retention_bytes),
        max_message_bytes: get("max.message.bytes").map_or(broker.message_max_bytes, |v| v as i32),
        index_interval_bytes: get("index.interval.bytes")
            .map_or(broker.log_index_interval_bytes, |v| v as u32),
        min_insync_replicas: get("min.insync.replicas").map_or(broker.min_insync_replicas, |v| {
            v.clamp(1, i32::MAX as i64) as i32
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_win_over_defaults_and_bad_values_are_refused() {
        let broker = BrokerConfig::defaults();
        let cfg = log_config(&broker, &[("retention.bytes".into(), "1000".into())]);
        assert_eq!(cfg.retention_bytes, 1000);
        assert_eq!(cfg.segment_bytes, broker.log_segment_bytes);
        assert!(validate("retention.ms", "abc").is_err());
        assert!(validate("no.such.config", "1").is_err());
        assert!(validate("segment.bytes", "1048576").is_ok());
    }
}
