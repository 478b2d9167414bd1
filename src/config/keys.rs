//! The config file's key for every broker setting, and each setting's description as the rest of the
//! config tooling sees it — all read from `BrokerConfig`'s clap definitions, so the doc comments in
//! `config.rs` stay the single source of each setting's documentation.
//!
//! **Key scheme**: Kafka's broker config name where Kafka has the same setting (`log.retention.ms`,
//! `num.partitions`, `log.dir`), otherwise `shardlog.` + the flag name with `-` turned into `.`
//! (`--flush-policy` → `shardlog.flush.policy`). Only the Kafka names are listed below; every other flag
//! gets its `shardlog.` key by that rule, so adding a flag to `BrokerConfig` adds its file key too.

use crate::config::BrokerConfig;
use clap::{Arg, Args, Command};
use std::any::TypeId;

/// (clap arg id, file key) for every setting that has a Kafka name. The one place file keys are chosen.
pub const KAFKA_KEYS: &[(&str, &str)] = &[
    ("data_dir", "log.dir"),
    ("node_id", "node.id"),
    ("process_roles", "process.roles"),
    ("controller_quorum_voters", "controller.quorum.voters"),
    ("broker_rack", "broker.rack"),
    ("broker_session_timeout_ms", "broker.session.timeout.ms"),
    (
        "auto_leader_rebalance_enable",
        "auto.leader.rebalance.enable",
    ),
    (
        "leader_imbalance_check_interval_seconds",
        "leader.imbalance.check.interval.seconds",
    ),
    ("auto_create_topics_enable", "auto.create.topics.enable"),
    ("num_partitions", "num.partitions"),
    ("default_replication_factor", "default.replication.factor"),
    ("min_insync_replicas", "min.insync.replicas"),
    ("replica_lag_time_max_ms", "replica.lag.time.max.ms"),
    ("message_max_bytes", "message.max.bytes"),
    ("socket_request_max_bytes", "socket.request.max.bytes"),
    (
        "offsets_topic_num_partitions",
        "offsets.topic.num.partitions",
    ),
    (
        "transaction_state_log_num_partitions",
        "transaction.state.log.num.partitions",
    ),
    (
        "transaction_state_log_replication_factor",
        "transaction.state.log.replication.factor",
    ),
    ("transaction_max_timeout_ms", "transaction.max.timeout.ms"),
    (
        "transaction_abort_timed_out_transaction_cleanup_interval_ms",
        "transaction.abort.timed.out.transaction.cleanup.interval.ms",
    ),
    (
        "group_initial_rebalance_delay_ms",
        "group.initial.rebalance.delay.ms",
    ),
    (
        "group_consumer_session_timeout_ms",
        "group.consumer.session.timeout.ms",
    ),
    (
        "group_consumer_heartbeat_interval_ms",
        "group.consumer.heartbeat.interval.ms",
    ),
    (
        "group_min_session_timeout_ms",
        "group.min.session.timeout.ms",
    ),
    (
        "group_max_session_timeout_ms",
        "group.max.session.timeout.ms",
    ),
    ("log_segment_bytes", "log.segment.bytes"),
    ("log_roll_ms", "log.roll.ms"),
    ("log_retention_ms", "log.retention.ms"),
    ("log_retention_bytes", "log.retention.bytes"),
    (
        "log_retention_check_interval_ms",
        "log.retention.check.interval.ms",
    ),
    ("log_index_interval_bytes", "log.index.interval.bytes"),
    ("log_cleaner_backoff_ms", "log.cleaner.backoff.ms"),
    ("listeners", "listeners"),
    ("advertised_listeners", "advertised.listeners"),
    (
        "listener_security_protocol_map",
        "listener.security.protocol.map",
    ),
    ("sasl_enabled_mechanisms", "sasl.enabled.mechanisms"),
    ("connections_max_reauth_ms", "connections.max.reauth.ms"),
    ("authorizer_class_name", "authorizer.class.name"),
    ("super_users", "super.users"),
    (
        "allow_everyone_if_no_acl_found",
        "allow.everyone.if.no.acl.found",
    ),
    ("ssl_keystore_type", "ssl.keystore.type"),
    ("ssl_keystore_location", "ssl.keystore.location"),
    (
        "ssl_keystore_certificate_chain",
        "ssl.keystore.certificate.chain",
    ),
    ("ssl_keystore_key", "ssl.keystore.key"),
    ("ssl_key_password", "ssl.key.password"),
    ("ssl_truststore_type", "ssl.truststore.type"),
    ("ssl_truststore_location", "ssl.truststore.location"),
    ("ssl_client_auth", "ssl.client.auth"),
];

/// The prefix of every key Kafka has no name for.
pub const SHARDLOG_PREFIX: &str = "shardlog.";

/// What a setting's value is, as TOML types it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Integer,
    Boolean,
    String,
}

impl Kind {
    /// "an integer", … — for error messages.
    pub fn article_name(self) -> &'static str {
        match self {
            Kind::Integer => "an integer",
            Kind::Boolean => "a boolean (true or false)",
            Kind::String => "a string",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Integer => "integer",
            Kind::Boolean => "boolean",
            Kind::String => "string",
        }
    }
}

/// One broker setting: how it is named everywhere, its default and its documentation.
#[derive(Clone, Debug)]
pub struct Setting {
    /// The config file key (`log.retention.ms`).
    pub key: String,
    /// The clap arg id (`log_retention_ms`).
    pub id: String,
    /// The long flag without dashes (`log-retention-ms`).
    pub flag: String,
    /// The environment variable, if any.
    pub env: Option<String>,
    /// The built-in default, if any (`None`: unset unless given).
    pub default: Option<String>,
    /// The doc comment.
    pub help: String,
    pub kind: Kind,
    /// The accepted values of an enumerated setting (empty otherwise).
    pub choices: Vec<String>,
}

/// The file key of a clap arg id.
pub fn key_of(id: &str) -> String {
    KAFKA_KEYS
        .iter()
        .find(|(i, _)| *i == id)
        .map(|(_, k)| k.to_string())
        .unwrap_or_else(|| format!("{SHARDLOG_PREFIX}{}", id.replace('_', ".")))
}

/// The clap command holding exactly the broker settings.
pub fn broker_command() -> Command {
    let mut cmd = BrokerConfig::augment_args(Command::new("shardlog-config"));
    cmd.build();
    cmd
}

fn kind_of(arg: &Arg) -> Kind {
    let ty = arg.get_value_parser().type_id();
    let integers = [
        TypeId::of::<i8>(),
        TypeId::of::<i16>(),
        TypeId::of::<i32>(),
        TypeId::of::<i64>(),
        TypeId::of::<u8>(),
        TypeId::of::<u16>(),
        TypeId::of::<u32>(),
        TypeId::of::<u64>(),
        TypeId::of::<usize>(),
        TypeId::of::<isize>(),
    ];
    if integers.iter().any(|t| ty == *t) {
        Kind::Integer
    } else if ty == TypeId::of::<bool>() {
        Kind::Boolean
    } else {
        Kind::String
    }
}

/// Every broker setting, in `BrokerConfig`'s order.
pub fn settings() -> Vec<Setting> {
    let cmd = broker_command();
    cmd.get_arguments()
        .filter(|a| a.get_long().is_some() && !matches!(a.get_id().as_str(), "help" | "version"))
        .map(|a| Setting {
            key: key_of(a.get_id().as_str()),
            id: a.get_id().to_string(),
            flag: a.get_long().unwrap_or_default().to_string(),
            env: a.get_env().map(|e| e.to_string_lossy().into_owned()),
            default: a
                .get_default_values()
                .first()
                .map(|d| d.to_string_lossy().into_owned()),
            help: a
                .get_long_help()
                .or(a.get_help())
                .map(|h| h.to_string())
                .unwrap_or_default(),
            kind: kind_of(a),
            choices: a
                .get_possible_values()
                .iter()
                .filter(|p| !p.is_hide_set())
                .map(|p| p.get_name().to_string())
                .collect(),
        })
        .collect()
}

/// The valid key closest to `unknown` (always one): exact matches of the flag or arg-id spelling first
/// (`num_partitions`, `flush-policy`), otherwise the most similar key.
pub fn closest_key(unknown: &str, settings: &[Setting]) -> String {
    let norm = |s: &str| s.to_ascii_lowercase().replace(['_', '-'], ".");
    let wanted = norm(unknown);
    let bare = wanted.strip_prefix(SHARDLOG_PREFIX).unwrap_or(&wanted);
    if let Some(s) = settings.iter().find(|s| {
        norm(&s.flag) == bare
            || norm(&s.key) == wanted
            || s.key.strip_prefix(SHARDLOG_PREFIX) == Some(bare)
    }) {
        return s.key.clone();
    }
    let score = |s: &Setting| {
        let by_key = strsim::jaro_winkler(&wanted, &s.key);
        let by_flag = strsim::jaro_winkler(bare, &norm(&s.flag));
        by_key.max(by_flag)
    };
    settings
        .iter()
        .max_by(|a, b| score(a).total_cmp(&score(b)))
        .map(|s| s.key.clone())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kafka_name_is_a_real_setting_and_keys_are_unique() {
        let settings = settings();
        for (id, key) in KAFKA_KEYS {
            assert!(
                settings.iter().any(|s| s.id == *id && s.key == *key),
                "{id} is not a BrokerConfig setting"
            );
        }
        let mut keys: Vec<&str> = settings.iter().map(|s| s.key.as_str()).collect();
        keys.sort();
        let n = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), n, "two settings share a key");
    }

    /// TOML reads `a.b = 1` as table `a` holding `b`: a key that is also the prefix of another could
    /// not be written next to it.
    #[test]
    fn no_key_is_a_prefix_of_another() {
        let settings = settings();
        for a in &settings {
            for b in &settings {
                assert!(
                    !b.key.starts_with(&format!("{}.", a.key)),
                    "{} is a prefix of {}",
                    a.key,
                    b.key
                );
            }
        }
    }

    #[test]
    fn kinds_and_defaults_come_from_clap() {
        let settings = settings();
        let get = |k: &str| settings.iter().find(|s| s.key == k).unwrap().clone();
        assert_eq!(get("num.partitions").kind, Kind::Integer);
        assert_eq!(get("num.partitions").default.as_deref(), Some("1"));
        assert_eq!(get("auto.create.topics.enable").kind, Kind::Boolean);
        assert_eq!(get("shardlog.flush.policy").kind, Kind::String);
        assert_eq!(
            get("shardlog.flush.policy").choices,
            ["acks-all", "always", "interval"]
        );
        assert_eq!(get("shardlog.shards").default, None);
        assert_eq!(get("log.dir").flag, "data-dir");
    }

    #[test]
    fn closest_key_understands_flag_spellings_and_typos() {
        let settings = settings();
        assert_eq!(closest_key("num_partitions", &settings), "num.partitions");
        assert_eq!(
            closest_key("flush-policy", &settings),
            "shardlog.flush.policy"
        );
        assert_eq!(closest_key("data_dir", &settings), "log.dir");
        assert_eq!(
            closest_key("log.retention.msec", &settings),
            "log.retention.ms"
        );
        assert_eq!(closest_key("num.partition", &settings), "num.partitions");
    }
}
