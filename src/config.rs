//! Every broker setting, its default, and where it can be overridden (flag or `SHARDLOG_*` variable).
//! Names follow Kafka's broker configs where one exists, so Kafka users recognise them.
//! The defaults here *are* the embedded default config: `shardlog serve` with no flags is a working broker.
//!
//! Layering (flag > `SHARDLOG_*` env > TOML file > default) and the file's key names live in the
//! submodules: `keys` (the one key ⇄ flag table), `layered` (loading), `render` (print/reference),
//! `cli` (`shardlog config …`).

pub mod cli;
pub mod keys;
pub mod layered;
pub mod render;

use crate::security::listener::{self, Listener, ListenerError};
use crate::security::SecurityProtocol;
use clap::{Args, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

/// ssl.client.auth: whether TLS listeners ask clients for a certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ClientAuth {
    /// No client certificates.
    None,
    /// A certificate is asked for and checked if sent; clients without one still connect.
    Requested,
    /// Clients without a certificate signed by the truststore are refused.
    Required,
}

/// When produce requests wait for `fdatasync` before they are answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FlushPolicy {
    /// acks=all requests wait for a group-commit fsync; acks=0/1 rely on the background interval flush.
    AcksAll,
    /// Every acknowledged produce waits for fsync (safest, slowest).
    Always,
    /// Nothing waits; a background flush runs every `flush-interval-ms` (Kafka's default behaviour).
    Interval,
}

#[derive(Args, Clone, Debug)]
pub struct BrokerConfig {
    /// Address every shard binds (SO_REUSEPORT spreads connections across shards).
    #[arg(long, env = "SHARDLOG_LISTEN", default_value = "127.0.0.1:9092")]
    pub listen: SocketAddr,
    /// host:port clients are told to connect to (defaults to --listen).
    #[arg(long, env = "SHARDLOG_ADVERTISED")]
    pub advertised: Option<String>,
    /// listeners: NAME://host:port,… every shard binds, e.g.
    /// `PLAINTEXT://127.0.0.1:9092,SASL_PLAINTEXT://127.0.0.1:9093`; each NAME's security protocol comes
    /// from listener.security.protocol.map. Unset: one PLAINTEXT listener on --listen (advertised as
    /// --advertised), and then --listen/--advertised are ignored.
    #[arg(long, env = "SHARDLOG_LISTENERS")]
    pub listeners: Option<String>,
    /// advertised.listeners: NAME://host:port,… clients are told to connect to, per listener (a listener
    /// left out advertises its bind address). Metadata answers with the address of the listener the
    /// client connected to.
    #[arg(long, env = "SHARDLOG_ADVERTISED_LISTENERS")]
    pub advertised_listeners: Option<String>,
    /// listener.security.protocol.map: NAME:PROTOCOL,… with PROTOCOL one of PLAINTEXT, SASL_PLAINTEXT,
    /// SSL, SASL_SSL (the TLS ones need a keystore: ssl.keystore.location).
    #[arg(
        long,
        env = "SHARDLOG_LISTENER_SECURITY_PROTOCOL_MAP",
        default_value = "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL"
    )]
    pub listener_security_protocol_map: String,
    /// sasl.enabled.mechanisms: SASL mechanisms offered on SASL listeners (PLAIN, SCRAM-SHA-256,
    /// SCRAM-SHA-512).
    #[arg(
        long,
        env = "SHARDLOG_SASL_ENABLED_MECHANISMS",
        default_value = "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
        value_parser = sasl_mechanisms
    )]
    pub sasl_enabled_mechanisms: String,
    /// connections.max.reauth.ms: SASL sessions last this long (KIP-368); a client must re-authenticate
    /// on its connection before then or it is closed at its next request. 0: sessions never expire.
    #[arg(long, env = "SHARDLOG_CONNECTIONS_MAX_REAUTH_MS", default_value_t = 0)]
    pub connections_max_reauth_ms: u64,
    /// SASL users created at startup when they do not exist yet, as name:password,… (SCRAM-SHA-256 and
    /// SCRAM-SHA-512 credentials, 4096 iterations): a way in on first start. Existing users are never
    /// changed; manage users with kafka-configs (AlterUserScramCredentials) and remove this setting
    /// afterwards. Prefer the environment variable to keep the password out of files.
    #[arg(long, env = "SHARDLOG_SASL_BOOTSTRAP_USERS", value_parser = bootstrap_users)]
    pub sasl_bootstrap_users: Option<String>,
    /// authorizer.class.name: unset (or empty) for no authorization, every client may do anything;
    /// Kafka's `org.apache.kafka.metadata.authorizer.StandardAuthorizer` (or the older
    /// `kafka.security.authorizer.AclAuthorizer`) checks every request against the ACLs (managed with
    /// kafka-acls or `shardlog acl`). Any other class is refused at startup.
    #[arg(long, env = "SHARDLOG_AUTHORIZER_CLASS_NAME", value_parser = authorizer_class)]
    pub authorizer_class_name: Option<String>,
    /// super.users: principals the authorizer allows everything, `User:admin;User:ops`.
    #[arg(long, env = "SHARDLOG_SUPER_USERS", value_parser = principal_list)]
    pub super_users: Option<String>,
    /// allow.everyone.if.no.acl.found: with the authorizer on, a resource no ACL applies to is open to
    /// everyone (true) or to super users only (false, Kafka's default).
    #[arg(long, env = "SHARDLOG_ALLOW_EVERYONE_IF_NO_ACL_FOUND", default_value_t = false, action = clap::ArgAction::Set)]
    pub allow_everyone_if_no_acl_found: bool,
    /// ssl.keystore.type: the keystore's format. Only PEM: convert a PKCS12 keystore with
    /// `openssl pkcs12 -in broker.p12 -nodes -out broker.pem` (a JKS one with `keytool -importkeystore
    /// -deststoretype PKCS12` first).
    #[arg(long, env = "SHARDLOG_SSL_KEYSTORE_TYPE", default_value = "PEM", value_parser = pem_only)]
    pub ssl_keystore_type: String,
    /// ssl.keystore.location: PEM file with the broker's private key (unencrypted) and its certificate
    /// chain, leaf first, for SSL and SASL_SSL listeners. Re-read when it changes: new connections get the
    /// new certificate, open ones keep theirs.
    #[arg(long, env = "SHARDLOG_SSL_KEYSTORE_LOCATION")]
    pub ssl_keystore_location: Option<PathBuf>,
    /// ssl.keystore.certificate.chain: the certificate chain as PEM text, instead of
    /// ssl.keystore.location; goes with ssl.keystore.key. Not reloaded (it is part of the config).
    #[arg(long, env = "SHARDLOG_SSL_KEYSTORE_CERTIFICATE_CHAIN")]
    pub ssl_keystore_certificate_chain: Option<String>,
    /// ssl.keystore.key: the private key as unencrypted PEM text, with ssl.keystore.certificate.chain.
    #[arg(long, env = "SHARDLOG_SSL_KEYSTORE_KEY", hide_env_values = true)]
    pub ssl_keystore_key: Option<String>,
    /// ssl.key.password: shardlog cannot decrypt private keys, so a TLS listener with this set is refused
    /// at startup; keep the key unencrypted (`openssl pkcs8 -topk8 -nocrypt`) and protect the file.
    #[arg(long, env = "SHARDLOG_SSL_KEY_PASSWORD", hide_env_values = true)]
    pub ssl_key_password: Option<String>,
    /// ssl.truststore.type: the truststore's format. Only PEM.
    #[arg(long, env = "SHARDLOG_SSL_TRUSTSTORE_TYPE", default_value = "PEM", value_parser = pem_only)]
    pub ssl_truststore_type: String,
    /// ssl.truststore.location: PEM file of the CA certificates client certificates must chain to
    /// (ssl.client.auth). Re-read when it changes, like the keystore.
    #[arg(long, env = "SHARDLOG_SSL_TRUSTSTORE_LOCATION")]
    pub ssl_truststore_location: Option<PathBuf>,
    /// ssl.client.auth: whether TLS clients must present a certificate signed by a CA of
    /// ssl.truststore.location. With a certificate, an SSL connection's principal is `User:` + its
    /// subject (RFC 2253, e.g. `User:CN=alice,OU=eng`); on SASL_SSL the SASL login decides.
    #[arg(long, env = "SHARDLOG_SSL_CLIENT_AUTH", value_enum, default_value_t = ClientAuth::None)]
    pub ssl_client_auth: ClientAuth,
    /// Hand each TLS session's keys to the kernel (kTLS) after the handshake when the kernel offers it
    /// (`tls` in /proc/sys/net/ipv4/tcp_available_ulp) and the session uses AES-GCM, so fetches keep
    /// sendfile. Otherwise TLS runs in user space and fetched records are copied and encrypted there.
    #[arg(long, env = "SHARDLOG_SSL_KTLS_ENABLE", default_value_t = true, action = clap::ArgAction::Set)]
    pub ssl_ktls_enable: bool,
    /// Directory holding partition logs and metadata.
    #[arg(long, env = "SHARDLOG_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// This node's id (node.id): its broker id, and its Raft voter id in controller.quorum.voters.
    #[arg(long, env = "SHARDLOG_NODE_ID", default_value_t = 1, value_parser = clap::value_parser!(i32).range(1..))]
    pub node_id: i32,
    /// process.roles: broker, controller, or both (comma-separated). Only matters with
    /// controller.quorum.voters: a controller is a Raft voter of the metadata quorum; a broker registers
    /// and hosts partitions. A broker that is not also a controller is not supported yet.
    #[arg(long, env = "SHARDLOG_PROCESS_ROLES", default_value = "broker,controller", value_parser = crate::types::roles::parse)]
    pub process_roles: String,
    /// controller.quorum.voters: the metadata quorum as id@host:port,… (the port is that voter's Raft
    /// port). Unset: a single node keeping its metadata in a local file.
    #[arg(long, env = "SHARDLOG_CONTROLLER_QUORUM_VOTERS", value_parser = crate::types::voters::check)]
    pub controller_quorum_voters: Option<String>,
    /// A broker-only node's (process.roles=broker) Raft address, host:port: it binds it, and the
    /// quorum's leader sends it the metadata log there (the node is a Raft learner: it follows the
    /// log, never votes). Voters take theirs from controller.quorum.voters.
    #[arg(long, env = "SHARDLOG_RAFT_ADDRESS")]
    pub raft_address: Option<String>,
    /// broker.rack: this broker's rack; replicas of a partition are spread over racks.
    #[arg(long, env = "SHARDLOG_BROKER_RACK")]
    pub broker_rack: Option<String>,
    /// broker.session.timeout.ms: the active controller fences a broker it has not heard from for this
    /// long (its leaderships move to in-sync replicas). Voters answer Raft heartbeats every 200 ms, so
    /// this is far shorter than Kafka's 9000 and failover stays under 5 s.
    #[arg(long, env = "SHARDLOG_BROKER_SESSION_TIMEOUT_MS", default_value_t = 3000, value_parser = clap::value_parser!(u64).range(500..))]
    pub broker_session_timeout_ms: u64,
    /// auto.leader.rebalance.enable: the active controller moves leaderships back to their preferred
    /// replicas (first in the replica list) once those are in sync again.
    #[arg(long, env = "SHARDLOG_AUTO_LEADER_REBALANCE_ENABLE", default_value_t = true, action = clap::ArgAction::Set)]
    pub auto_leader_rebalance_enable: bool,
    /// leader.imbalance.check.interval.seconds: how often preferred leaders are checked for.
    #[arg(long, env = "SHARDLOG_LEADER_IMBALANCE_CHECK_INTERVAL_SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    pub leader_imbalance_check_interval_seconds: u64,
    /// Number of shards (one pinned executor each); default: every online core.
    #[arg(long, env = "SHARDLOG_SHARDS")]
    pub shards: Option<usize>,
    /// io_uring registered-buffer memory per executor, KiB. Locked memory: about shards × 3 × this.
    #[arg(long, env = "SHARDLOG_IO_MEMORY_KIB", default_value_t = 1024)]
    pub io_memory_kib: usize,
    /// io_uring submission ring depth per ring.
    #[arg(long, env = "SHARDLOG_RING_DEPTH", default_value_t = 128)]
    pub ring_depth: usize,
    /// Busy-poll this long before parking an idle shard (0 = park at once; spin only on dedicated cores).
    #[arg(long, env = "SHARDLOG_SPIN_BEFORE_PARK_US", default_value_t = 0)]
    pub spin_before_park_us: u64,

    /// auto.create.topics.enable
    #[arg(long, env = "SHARDLOG_AUTO_CREATE_TOPICS_ENABLE", default_value_t = true, action = clap::ArgAction::Set)]
    pub auto_create_topics_enable: bool,
    /// num.partitions: partitions of an auto-created topic.
    #[arg(long, env = "SHARDLOG_NUM_PARTITIONS", default_value_t = 1)]
    pub num_partitions: i32,
    /// default.replication.factor: replicas of an auto-created topic (or one created with -1); at most
    /// the number of registered brokers.
    #[arg(long, env = "SHARDLOG_DEFAULT_REPLICATION_FACTOR", default_value_t = 1, value_parser = clap::value_parser!(i16).range(1..))]
    pub default_replication_factor: i16,
    /// min.insync.replicas: an acks=all produce is refused with NOT_ENOUGH_REPLICAS while fewer replicas
    /// than this are in sync (topic override: min.insync.replicas).
    #[arg(long, env = "SHARDLOG_MIN_INSYNC_REPLICAS", default_value_t = 1, value_parser = clap::value_parser!(i32).range(1..))]
    pub min_insync_replicas: i32,
    /// replica.lag.time.max.ms: a follower that has not caught up with the leader's log end for this
    /// long leaves the ISR; it rejoins once it reaches the high watermark.
    #[arg(
        long,
        env = "SHARDLOG_REPLICA_LAG_TIME_MAX_MS",
        default_value_t = 30_000,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub replica_lag_time_max_ms: u64,
    /// message.max.bytes: the largest record batch accepted (topic override: max.message.bytes).
    #[arg(long, env = "SHARDLOG_MESSAGE_MAX_BYTES", default_value_t = 1_048_588)]
    pub message_max_bytes: i32,
    /// socket.request.max.bytes: larger request frames close the connection.
    #[arg(
        long,
        env = "SHARDLOG_SOCKET_REQUEST_MAX_BYTES",
        default_value_t = 104_857_600
    )]
    pub socket_request_max_bytes: usize,

    /// offsets.topic.num.partitions: partitions of `__consumer_offsets` (fixed once created).
    #[arg(
        long,
        env = "SHARDLOG_OFFSETS_TOPIC_NUM_PARTITIONS",
        default_value_t = 50
    )]
    pub offsets_topic_num_partitions: i32,
    /// transaction.state.log.num.partitions: partitions of `__transaction_state` (fixed once created).
    #[arg(
        long,
        env = "SHARDLOG_TRANSACTION_STATE_LOG_NUM_PARTITIONS",
        default_value_t = 50
    )]
    pub transaction_state_log_num_partitions: i32,
    /// transaction.state.log.replication.factor: replicas of each `__transaction_state` partition, at
    /// most the number of brokers registered when it is created.
    #[arg(
        long,
        env = "SHARDLOG_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
        default_value_t = 3
    )]
    pub transaction_state_log_replication_factor: i16,
    /// transaction.max.timeout.ms: the longest transaction.timeout.ms a producer may ask for.
    #[arg(
        long,
        env = "SHARDLOG_TRANSACTION_MAX_TIMEOUT_MS",
        default_value_t = 900_000
    )]
    pub transaction_max_timeout_ms: i32,
    /// transaction.abort.timed.out.transaction.cleanup.interval.ms: how often coordinators look for
    /// transactions open longer than their timeout, and abort them.
    #[arg(
        long,
        env = "SHARDLOG_TRANSACTION_ABORT_TIMED_OUT_TRANSACTION_CLEANUP_INTERVAL_MS",
        default_value_t = 10_000
    )]
    pub transaction_abort_timed_out_transaction_cleanup_interval_ms: u64,
    /// group.initial.rebalance.delay.ms: a new group waits this long for more members before its first
    /// rebalance completes.
    #[arg(
        long,
        env = "SHARDLOG_GROUP_INITIAL_REBALANCE_DELAY_MS",
        default_value_t = 3000
    )]
    pub group_initial_rebalance_delay_ms: u64,
    /// group.consumer.session.timeout.ms: KIP-848 members silent this long are removed.
    #[arg(
        long,
        env = "SHARDLOG_GROUP_CONSUMER_SESSION_TIMEOUT_MS",
        default_value_t = 45_000
    )]
    pub group_consumer_session_timeout_ms: u64,
    /// group.consumer.heartbeat.interval.ms: how often KIP-848 members are told to heartbeat.
    #[arg(
        long,
        env = "SHARDLOG_GROUP_CONSUMER_HEARTBEAT_INTERVAL_MS",
        default_value_t = 5_000
    )]
    pub group_consumer_heartbeat_interval_ms: u64,
    /// How often consumer lag is sampled for the lag status (OK/WARNING/ERROR over the last 10 samples).
    #[arg(
        long,
        env = "SHARDLOG_GROUP_LAG_SAMPLE_INTERVAL_MS",
        default_value_t = 5_000
    )]
    pub group_lag_sample_interval_ms: u64,
    /// group.min.session.timeout.ms
    #[arg(
        long,
        env = "SHARDLOG_GROUP_MIN_SESSION_TIMEOUT_MS",
        default_value_t = 6000
    )]
    pub group_min_session_timeout_ms: u64,
    /// group.max.session.timeout.ms
    #[arg(
        long,
        env = "SHARDLOG_GROUP_MAX_SESSION_TIMEOUT_MS",
        default_value_t = 1_800_000
    )]
    pub group_max_session_timeout_ms: u64,

    /// log.segment.bytes
    #[arg(long, env = "SHARDLOG_LOG_SEGMENT_BYTES", default_value_t = 1 << 30)]
    pub log_segment_bytes: i64,
    /// log.roll.ms
    #[arg(long, env = "SHARDLOG_LOG_ROLL_MS", default_value_t = 7 * 24 * 3_600_000)]
    pub log_roll_ms: i64,
    /// log.retention.ms (-1: keep forever)
    #[arg(long, env = "SHARDLOG_LOG_RETENTION_MS", default_value_t = 7 * 24 * 3_600_000)]
    pub log_retention_ms: i64,
    /// log.retention.bytes per partition (-1: no limit)
    #[arg(long, env = "SHARDLOG_LOG_RETENTION_BYTES", default_value_t = -1)]
    pub log_retention_bytes: i64,
    /// log.retention.check.interval.ms
    #[arg(
        long,
        env = "SHARDLOG_LOG_RETENTION_CHECK_INTERVAL_MS",
        default_value_t = 300_000
    )]
    pub log_retention_check_interval_ms: u64,
    /// log.index.interval.bytes: bytes of log between two sparse index entries.
    #[arg(
        long,
        env = "SHARDLOG_LOG_INDEX_INTERVAL_BYTES",
        default_value_t = 4096
    )]
    pub log_index_interval_bytes: u32,
    /// log.cleaner.backoff.ms: how often compacted topics are cleaned.
    #[arg(
        long,
        env = "SHARDLOG_LOG_CLEANER_BACKOFF_MS",
        default_value_t = 15_000
    )]
    pub log_cleaner_backoff_ms: u64,
    /// When produce requests wait for fsync; see README "Durability".
    #[arg(long, env = "SHARDLOG_FLUSH_POLICY", value_enum, default_value_t = FlushPolicy::AcksAll)]
    pub flush_policy: FlushPolicy,
    /// Send fetched records with sendfile (zero-copy). `false` copies them through user space instead;
    /// it exists to measure what zero-copy buys (see perf/README.md).
    #[arg(long, env = "SHARDLOG_FETCH_ZERO_COPY", default_value_t = true, action = clap::ArgAction::Set)]
    pub fetch_zero_copy: bool,
    /// Background flush period for data nobody waited on.
    #[arg(long, env = "SHARDLOG_FLUSH_INTERVAL_MS", default_value_t = 1000)]
    pub flush_interval_ms: u64,

    // ---- Observability (issue #5): the admin HTTP endpoint ----
    /// Address of the admin HTTP endpoint: `GET /metrics` (Prometheus text format), `/health`, `/ready`.
    #[arg(long, env = "SHARDLOG_ADMIN_LISTEN", default_value = "127.0.0.1:9644")]
    pub admin_listen: SocketAddr,
    /// Log level, or a `tracing` filter such as `info,shardlog::storage=debug`. `RUST_LOG`, when set,
    /// takes precedence.
    #[arg(long, env = "SHARDLOG_LOG_LEVEL", default_value = "info")]
    pub log_level: String,

    /// The config keys (`log.retention.ms`) this broker was given by flag, environment or file rather
    /// than left at their built-in defaults; DescribeConfigs reports those as static broker configs.
    /// Filled by `layered::resolve`.
    #[arg(skip)]
    pub explicit_keys: Vec<String>,
}

/// sasl.enabled.mechanisms: only mechanisms the broker implements.
fn sasl_mechanisms(value: &str) -> Result<String, String> {
    crate::security::sasl::parse_enabled(value)
        .map(|_| value.to_string())
        .map_err(|e| e.to_string())
}

/// ssl.keystore.type / ssl.truststore.type: PEM is the only format read.
fn pem_only(value: &str) -> Result<String, String> {
    match value.to_ascii_uppercase().as_str() {
        "PEM" => Ok("PEM".into()),
        other => Err(format!(
            "{other} is not supported, only PEM: convert the store (e.g. `openssl pkcs12 -in store.p12 -nodes -out store.pem`)"
        )),
    }
}

/// sasl.bootstrap.users: name:password pairs.
fn bootstrap_users(value: &str) -> Result<String, String> {
    crate::security::credentials::parse_bootstrap_users(value)
        .map(|_| value.to_string())
        .map_err(|e| e.to_string())
}

/// authorizer.class.name: only the authorizers shardlog implements (or none).
fn authorizer_class(value: &str) -> Result<String, String> {
    crate::security::acl::authorizer_enabled(value).map(|_| value.to_string())
}

/// super.users: `Type:name` entries separated by `;`.
fn principal_list(value: &str) -> Result<String, String> {
    match value
        .split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .find(|p| {
            !p.split_once(':')
                .is_some_and(|(k, n)| !k.is_empty() && !n.is_empty())
        }) {
        Some(bad) => Err(format!("'{bad}' is not a principal of the form User:name")),
        None => Ok(value.to_string()),
    }
}

impl BrokerConfig {
    /// The broker's listeners from its config: `listeners` when set, otherwise one PLAINTEXT listener on
    /// `--listen` advertised as `--advertised`.
    pub fn resolved_listeners(&self) -> Result<Vec<Listener>, ListenerError> {
        match &self.listeners {
            Some(list) => listener::parse(
                list,
                self.advertised_listeners.as_deref(),
                &self.listener_security_protocol_map,
            ),
            None => {
                let (host, port) = self.advertised_host_port();
                Ok(vec![Listener {
                    name: "PLAINTEXT".into(),
                    protocol: SecurityProtocol::Plaintext,
                    bind: self.listen,
                    advertised_host: host,
                    advertised_port: port,
                }])
            }
        }
    }

    /// The address put in Metadata responses.
    pub fn advertised_host_port(&self) -> (String, i32) {
        if let Some(adv) = &self.advertised {
            if let Some((host, port)) = adv.rsplit_once(':') {
                if let Ok(port) = port.parse() {
                    return (host.to_string(), port);
                }
            }
        }
        (self.listen.ip().to_string(), i32::from(self.listen.port()))
    }

    /// The authorizer, when `authorizer.class.name` turns one on.
    pub fn authorizer(&self) -> Option<crate::security::acl::Authorizer> {
        let class = self.authorizer_class_name.as_deref().unwrap_or_default();
        crate::security::acl::authorizer_enabled(class)
            .unwrap_or(false)
            .then(|| {
                crate::security::acl::Authorizer::new(
                    self.super_users.as_deref().unwrap_or_default(),
                    self.allow_everyone_if_no_acl_found,
                )
            })
    }

    /// A config with every default, for tests and tools.
    pub fn defaults() -> Self {
        #[derive(clap::Parser)]
        struct Wrapper {
            #[command(flatten)]
            config: BrokerConfig,
        }
        <Wrapper as clap::Parser>::parse_from(["shardlog"]).config
    }
}
