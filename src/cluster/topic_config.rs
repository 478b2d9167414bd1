//! Topic-level configs: which Kafka topic configs shardlog honours, their types, their broker-wide
//! defaults (and the broker setting each falls back to, Kafka's "synonym"), how values are checked, and
//! how a topic's overrides turn into the `LogConfig` its partitions run with.

use crate::config::BrokerConfig;
use crate::storage::{LogConfig, TimestampType, TopicCompression};
use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("unknown or unsupported topic config '{0}'")]
    Unknown(String),
    #[error("invalid value '{value}' for '{key}': {why}")]
    Invalid {
        key: String,
        value: String,
        why: String,
    },
    #[error("'{0}' is not a list config: APPEND and SUBTRACT apply to list configs only")]
    NotAList(String),
}

/// Kafka's config value types, numbered as DescribeConfigs reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigType {
    String = 2,
    Int = 3,
    Long = 5,
    List = 7,
}

/// What a value must be.
enum Rule {
    /// An integer in `min..=max`.
    Int { min: i64, max: i64 },
    /// One of these words.
    OneOf(&'static [&'static str]),
    /// A comma-separated list of these words (at least one).
    ListOf(&'static [&'static str]),
}

/// Where a topic config's value comes from when the topic does not override it.
enum Fallback {
    /// A broker setting of shardlog's (Kafka's broker config of the same name).
    Broker(fn(&BrokerConfig) -> String),
    /// Kafka's built-in default; shardlog has no broker-wide setting for it.
    Fixed(&'static str),
}

/// One honoured topic config.
pub struct TopicConfigDef {
    pub name: &'static str,
    pub kind: ConfigType,
    /// Kafka's broker config this topic config defaults to (its synonym).
    pub broker_name: &'static str,
    rule: Rule,
    fallback: Fallback,
}

const I32_MAX: i64 = i32::MAX as i64;
const CLEANUP_POLICIES: &[&str] = &["delete", "compact"];
/// `producer` stores batches as the producer compressed them; any other value makes the leader
/// recompress batches with another codec (`storage::admission`).
const COMPRESSION_TYPES: &[&str] = &["producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"];
const TIMESTAMP_TYPES: &[&str] = &["CreateTime", "LogAppendTime"];

/// Every topic config shardlog honours. Kafka's defaults where shardlog has no broker setting:
/// delete.retention.ms one day; message.timestamp.after.max.ms one hour (Kafka 4.x).
const DEFS: &[TopicConfigDef] = &[
    TopicConfigDef {
        name: "cleanup.policy",
        kind: ConfigType::List,
        broker_name: "log.cleanup.policy",
        rule: Rule::ListOf(CLEANUP_POLICIES),
        fallback: Fallback::Fixed("delete"),
    },
    TopicConfigDef {
        name: "delete.retention.ms",
        kind: ConfigType::Long,
        broker_name: "log.cleaner.delete.retention.ms",
        rule: Rule::Int {
            min: 0,
            max: i64::MAX,
        },
        fallback: Fallback::Fixed("86400000"),
    },
    TopicConfigDef {
        name: "segment.bytes",
        kind: ConfigType::Int,
        broker_name: "log.segment.bytes",
        rule: Rule::Int {
            min: 14,
            max: I32_MAX,
        },
        fallback: Fallback::Broker(|b| b.log_segment_bytes.to_string()),
    },
    TopicConfigDef {
        name: "segment.ms",
        kind: ConfigType::Long,
        broker_name: "log.roll.ms",
        rule: Rule::Int {
            min: 1,
            max: i64::MAX,
        },
        fallback: Fallback::Broker(|b| b.log_roll_ms.to_string()),
    },
    TopicConfigDef {
        name: "retention.ms",
        kind: ConfigType::Long,
        broker_name: "log.retention.ms",
        rule: Rule::Int {
            min: -1,
            max: i64::MAX,
        },
        fallback: Fallback::Broker(|b| b.log_retention_ms.to_string()),
    },
    TopicConfigDef {
        name: "retention.bytes",
        kind: ConfigType::Long,
        broker_name: "log.retention.bytes",
        rule: Rule::Int {
            min: -1,
            max: i64::MAX,
        },
        fallback: Fallback::Broker(|b| b.log_retention_bytes.to_string()),
    },
    TopicConfigDef {
        name: "max.message.bytes",
        kind: ConfigType::Int,
        broker_name: "message.max.bytes",
        rule: Rule::Int {
            min: 0,
            max: I32_MAX,
        },
        fallback: Fallback::Broker(|b| b.message_max_bytes.to_string()),
    },
    TopicConfigDef {
        name: "index.interval.bytes",
        kind: ConfigType::Int,
        broker_name: "log.index.interval.bytes",
        rule: Rule::Int {
            min: 1,
            max: I32_MAX,
        },
        fallback: Fallback::Broker(|b| b.log_index_interval_bytes.to_string()),
    },
    TopicConfigDef {
        name: "compression.type",
        kind: ConfigType::String,
        broker_name: "compression.type",
        rule: Rule::OneOf(COMPRESSION_TYPES),
        fallback: Fallback::Fixed("producer"),
    },
    TopicConfigDef {
        name: "min.insync.replicas",
        kind: ConfigType::Int,
        broker_name: "min.insync.replicas",
        rule: Rule::Int {
            min: 1,
            max: I32_MAX,
        },
        fallback: Fallback::Broker(|b| b.min_insync_replicas.to_string()),
    },
    TopicConfigDef {
        name: "message.timestamp.type",
        kind: ConfigType::String,
        broker_name: "log.message.timestamp.type",
        rule: Rule::OneOf(TIMESTAMP_TYPES),
        fallback: Fallback::Fixed("CreateTime"),
    },
    TopicConfigDef {
        name: "message.timestamp.before.max.ms",
        kind: ConfigType::Long,
        broker_name: "log.message.timestamp.before.max.ms",
        rule: Rule::Int {
            min: 0,
            max: i64::MAX,
        },
        fallback: Fallback::Fixed("9223372036854775807"),
    },
    TopicConfigDef {
        name: "message.timestamp.after.max.ms",
        kind: ConfigType::Long,
        broker_name: "log.message.timestamp.after.max.ms",
        rule: Rule::Int {
            min: 0,
            max: i64::MAX,
        },
        fallback: Fallback::Fixed("3600000"),
    },
];

impl TopicConfigDef {
    /// The value a topic without an override runs with.
    pub fn default_value(&self, broker: &BrokerConfig) -> String {
        match &self.fallback {
            Fallback::Broker(value) => value(broker),
            Fallback::Fixed(value) => (*value).to_string(),
        }
    }

    /// Whether that default was set for this broker (flag, environment, file) rather than built in:
    /// DescribeConfigs reports it as a static broker config then.
    pub fn default_is_static(&self, broker: &BrokerConfig) -> bool {
        matches!(self.fallback, Fallback::Broker(_))
            && broker.explicit_keys.iter().any(|k| k == self.broker_name)
    }

    fn check(&self, value: &str) -> Result<(), ConfigError> {
        let invalid = |why: String| ConfigError::Invalid {
            key: self.name.into(),
            value: value.into(),
            why,
        };
        match self.rule {
            Rule::Int { min, max } => {
                let v: i64 = value
                    .trim()
                    .parse()
                    .map_err(|_| invalid("not an integer".into()))?;
                if !(min..=max).contains(&v) {
                    return Err(invalid(format!("must be in [{min}, {max}]")));
                }
            }
            Rule::OneOf(words) if !words.contains(&value) => {
                return Err(invalid(format!("expected one of {}", words.join(", "))));
            }
            Rule::OneOf(_) => {}
            Rule::ListOf(words) => {
                let items = list_items(value);
                if items.is_empty() || items.iter().any(|i| !words.contains(i)) {
                    return Err(invalid(format!(
                        "expected a comma-separated list of {}",
                        words.join(", ")
                    )));
                }
            }
        }
        Ok(())
    }
}

/// The honoured topic configs, in DescribeConfigs order.
pub fn supported() -> &'static [TopicConfigDef] {
    DEFS
}

/// The definition of `key`, if shardlog honours it.
pub fn definition(key: &str) -> Result<&'static TopicConfigDef, ConfigError> {
    DEFS.iter()
        .find(|d| d.name == key)
        .ok_or_else(|| ConfigError::Unknown(key.into()))
}

/// Checks one override; the error says what is wrong in Kafka's words.
pub fn validate(key: &str, value: &str) -> Result<(), ConfigError> {
    definition(key)?.check(value)
}

fn list_items(value: &str) -> Vec<&str> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// IncrementalAlterConfigs APPEND (`append = true`) or SUBTRACT of `items` on the list config `key`,
/// whose value now is `current` (the override, else the default): the new value, items kept in order
/// and not repeated.
pub fn edit_list(
    key: &str,
    current: &str,
    items: &str,
    append: bool,
) -> Result<String, ConfigError> {
    if definition(key)?.kind != ConfigType::List {
        return Err(ConfigError::NotAList(key.into()));
    }
    let mut list: Vec<&str> = list_items(current);
    for item in list_items(items) {
        if append && !list.contains(&item) {
            list.push(item);
        } else if !append {
            list.retain(|i| *i != item);
        }
    }
    Ok(list.join(","))
}

/// The value a topic runs with for `key`: its override, else the broker default.
pub fn effective_value(
    broker: &BrokerConfig,
    overrides: &[(String, String)],
    key: &str,
) -> Option<String> {
    let def = definition(key).ok()?;
    Some(
        overrides
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map_or_else(|| def.default_value(broker), |(_, v)| v.clone()),
    )
}

/// (delete, compact) for a cleanup.policy value.
fn cleanup_policy(value: &str) -> (bool, bool) {
    let items = list_items(value);
    (items.contains(&"delete"), items.contains(&"compact"))
}

/// The effective log config of a topic: its overrides over the broker defaults. Values were checked
/// when they were set; one that does not parse falls back to the default.
pub fn log_config(broker: &BrokerConfig, overrides: &[(String, String)]) -> LogConfig {
    let value = |key: &str| effective_value(broker, overrides, key).unwrap_or_default();
    let int = |key: &str| {
        value(key).trim().parse::<i64>().unwrap_or_else(|_| {
            let def = definition(key).expect("a defined config");
            def.default_value(broker).parse().unwrap_or_default()
        })
    };
    let int32 = |key: &str| int(key).clamp(0, I32_MAX) as i32;
    let (delete, compact) = cleanup_policy(&value("cleanup.policy"));
    LogConfig {
        delete,
        compact,
        delete_retention_ms: int("delete.retention.ms"),
        segment_bytes: int("segment.bytes"),
        segment_ms: int("segment.ms"),
        retention_ms: int("retention.ms"),
        retention_bytes: int("retention.bytes"),
        max_message_bytes: int32("max.message.bytes"),
        index_interval_bytes: int32("index.interval.bytes") as u32,
        min_insync_replicas: int32("min.insync.replicas").max(1),
        timestamp_type: match value("message.timestamp.type").as_str() {
            "LogAppendTime" => TimestampType::LogAppendTime,
            _ => TimestampType::CreateTime,
        },
        timestamp_before_max_ms: int("message.timestamp.before.max.ms"),
        timestamp_after_max_ms: int("message.timestamp.after.max.ms"),
        compression: TopicCompression::parse(&value("compression.type"))
            .unwrap_or(TopicCompression::Producer),
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
        assert_eq!(cfg.timestamp_after_max_ms, 3_600_000);
        assert_eq!(cfg.timestamp_before_max_ms, i64::MAX);
        assert!(validate("retention.ms", "abc").is_err());
        assert!(validate("no.such.config", "1").is_err());
        assert!(validate("segment.bytes", "1048576").is_ok());
        assert!(validate("cleanup.policy", "compact,delete").is_ok());
        assert!(validate("cleanup.policy", "compact,nope").is_err());
        assert!(validate("message.timestamp.type", "LogAppendTime").is_ok());
        assert!(validate("message.timestamp.type", "Wallclock").is_err());
        assert!(validate("compression.type", "producer").is_ok());
        assert!(validate("compression.type", "zstd").is_ok());
        assert!(validate("compression.type", "brotli").is_err());
    }

    #[test]
    fn topic_values_become_the_log_config() {
        let broker = BrokerConfig::defaults();
        let cfg = log_config(
            &broker,
            &[
                ("message.timestamp.type".into(), "LogAppendTime".into()),
                ("cleanup.policy".into(), "compact, delete".into()),
            ],
        );
        assert_eq!(cfg.timestamp_type, TimestampType::LogAppendTime);
        assert_eq!(cfg.compression, TopicCompression::Producer);
        assert!(cfg.compact && cfg.delete);
    }

    #[test]
    fn lists_are_appended_to_and_subtracted_from() {
        assert_eq!(
            edit_list("cleanup.policy", "delete", "compact", true).unwrap(),
            "delete,compact"
        );
        assert_eq!(
            edit_list("cleanup.policy", "delete,compact", "compact", true).unwrap(),
            "delete,compact"
        );
        assert_eq!(
            edit_list("cleanup.policy", "delete,compact", "delete", false).unwrap(),
            "compact"
        );
        assert_eq!(
            edit_list("retention.ms", "1", "2", true),
            Err(ConfigError::NotAList("retention.ms".into()))
        );
    }
}
