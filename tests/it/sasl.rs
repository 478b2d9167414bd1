//! Listeners and SASL authentication against a real broker with a PLAINTEXT and a SASL_PLAINTEXT
//! listener (free ports): the authentication gate, SaslHandshake/SaslAuthenticate errors, SCRAM and
//! PLAIN exchanges on the wire, KIP-368 re-authentication, SCRAM users surviving a restart and managed
//! through Alter/DescribeUserScramCredentials, and the real clients (Java, librdkafka, franz-go) and
//! Kafka's own kafka-configs tool over SASL_PLAINTEXT.

use crate::common;

use common::{free_port, temp_dir, Broker, Conn};
use kafka_protocol::messages::alter_user_scram_credentials_request::{
    ScramCredentialDeletion, ScramCredentialUpsertion,
};
use kafka_protocol::messages::describe_user_scram_credentials_request::UserName;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use shardlog::security::credentials::ScramMechanism;
use shardlog::security::sasl::scram::client::client_final;
use std::process::Command;
use std::time::Duration;

const USERS: &str = "admin:admin-secret,alice:alice-secret";

struct SaslBroker {
    broker: Broker,
    sasl_port: u16,
}

impl SaslBroker {
    fn start(name: &str, extra: &[&str]) -> SaslBroker {
        let (plain, sasl) = (free_port(), free_port());
        let listeners = format!("PLAINTEXT://127.0.0.1:{plain},SASL_PLAINTEXT://127.0.0.1:{sasl}");
        let mut args = vec!["--listeners", &listeners, "--sasl-bootstrap-users", USERS];
        args.extend_from_slice(extra);
        SaslBroker {
            broker: Broker::start_on(&temp_dir(name), plain, &args, &[]),
            sasl_port: sasl,
        }
    }

    fn sasl_addr(&self) -> String {
        format!("127.0.0.1:{}", self.sasl_port)
    }

    fn sasl_conn(&self) -> Conn {
        Conn::connect(&self.sasl_addr())
    }
}

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn handshake(c: &mut Conn, mechanism: &str) -> SaslHandshakeResponse {
    c.request(
        ApiKey::SaslHandshake,
        1,
        &SaslHandshakeRequest::default().with_mechanism(s(mechanism)),
    )
}

fn authenticate(c: &mut Conn, version: i16, bytes: &[u8]) -> SaslAuthenticateResponse {
    c.request(
        ApiKey::SaslAuthenticate,
        version,
        &SaslAuthenticateRequest::default().with_auth_bytes(bytes.to_vec().into()),
    )
}

fn plain_login(c: &mut Conn, user: &str, password: &str) -> SaslAuthenticateResponse {
    assert_eq!(handshake(c, "PLAIN").error_code, 0);
    authenticate(c, 2, format!("\0{user}\0{password}").as_bytes())
}

/// A whole SCRAM exchange; returns the final response (error or server-final).
fn scram_login(
    c: &mut Conn,
    m: ScramMechanism,
    user: &str,
    password: &str,
) -> SaslAuthenticateResponse {
    assert_eq!(handshake(c, m.name()).error_code, 0);
    let bare = format!("n={user},r=clientnonce123");
    let first = authenticate(c, 2, format!("n,,{bare}").as_bytes());
    if first.error_code != 0 {
        return first;
    }
    let server_first = String::from_utf8(first.auth_bytes.to_vec()).unwrap();
    let (last, expected) = client_final(m, password, &bare, &server_first).unwrap();
    let done = authenticate(c, 2, last.as_bytes());
    if done.error_code == 0 {
        assert_eq!(
            done.auth_bytes.as_ref(),
            expected.as_bytes(),
            "server signature"
        );
    }
    done
}

fn metadata(c: &mut Conn) -> MetadataResponse {
    c.request(ApiKey::Metadata, 12, &MetadataRequest::default())
}

fn produce_request() -> ProduceRequest {
    let mut partition = PartitionProduceData::default();
    partition.records = Some(common::batch_of(0..1, 1_700_000_000_000));
    let topic = TopicProduceData::default()
        .with_name(TopicName(s("t")))
        .with_partition_data(vec![partition]);
    ProduceRequest::default()
        .with_acks(1)
        .with_timeout_ms(5000)
        .with_topic_data(vec![topic])
}

#[test]
fn sasl_listener_gates_requests_and_answers_with_its_own_address() {
    let b = SaslBroker::start("sasl-gate", &[]);

    // Before authentication: ApiVersions is answered, Produce closes the connection.
    let mut c = b.sasl_conn();
    let versions: ApiVersionsResponse =
        c.request(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default());
    assert_eq!(versions.error_code, 0);
    for key in [ApiKey::SaslHandshake, ApiKey::SaslAuthenticate] {
        assert!(versions.api_keys.iter().any(|k| k.api_key == key as i16));
    }
    let frame = c.encode_request(ApiKey::Produce, 9, &produce_request());
    c.send_raw(&frame).unwrap();
    assert!(c.is_closed_by_peer(), "unauthenticated Produce must close");
    let mut c = b.sasl_conn();
    let frame = c.encode_request(ApiKey::Metadata, 12, &MetadataRequest::default());
    c.send_raw(&frame).unwrap();
    assert!(c.is_closed_by_peer(), "unauthenticated Metadata must close");

    // Before authentication frames are capped at 512 KiB (sasl.server.max.receive.size).
    let mut c = b.sasl_conn();
    c.send_raw(&(600_000i32).to_be_bytes()).unwrap();
    assert!(
        c.is_closed_by_peer(),
        "a large unauthenticated frame must close"
    );

    // Unsupported mechanism: UNSUPPORTED_SASL_MECHANISM with the enabled list, then closed.
    let mut c = b.sasl_conn();
    let r = handshake(&mut c, "GSSAPI");
    assert_eq!(r.error_code, 33);
    let names: Vec<String> = r.mechanisms.iter().map(|m| m.to_string()).collect();
    assert_eq!(names, ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]);
    assert!(c.is_closed_by_peer());

    // SaslAuthenticate without a handshake: ILLEGAL_SASL_STATE, closed.
    let mut c = b.sasl_conn();
    assert_eq!(
        authenticate(&mut c, 1, b"\0alice\0alice-secret").error_code,
        34
    );
    assert!(c.is_closed_by_peer());

    // Wrong password: SASL_AUTHENTICATION_FAILED with a message, closed.
    let mut c = b.sasl_conn();
    let r = plain_login(&mut c, "alice", "wrong");
    assert_eq!(r.error_code, 58);
    assert!(r.error_message.unwrap().contains("invalid credentials"));
    assert!(c.is_closed_by_peer());
    let mut c = b.sasl_conn();
    let r = scram_login(&mut c, ScramMechanism::Sha512, "alice", "wrong");
    assert_eq!(r.error_code, 58);
    assert!(c.is_closed_by_peer());

    // Malformed SCRAM: refused and closed; the broker lives on.
    for garbage in [&b"p=tls,,n=a,r=x"[..], b"\xff\xfe", b"", &[b'n'; 20_000]] {
        let mut c = b.sasl_conn();
        assert_eq!(handshake(&mut c, "SCRAM-SHA-256").error_code, 0);
        assert_eq!(authenticate(&mut c, 2, garbage).error_code, 58);
        assert!(c.is_closed_by_peer());
    }

    // Authenticated: Metadata advertises the SASL listener; the PLAINTEXT one advertises itself.
    let mut c = b.sasl_conn();
    assert_eq!(plain_login(&mut c, "alice", "alice-secret").error_code, 0);
    let md = metadata(&mut c);
    assert_eq!(md.brokers[0].port, i32::from(b.sasl_port));
    // The coordinator may still be loading right after startup: ask until it answers.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let fc = loop {
        let fc: FindCoordinatorResponse = c.request(
            ApiKey::FindCoordinator,
            3,
            &FindCoordinatorRequest::default().with_key(s("g")),
        );
        if fc.error_code == 0 || std::time::Instant::now() > deadline {
            break fc;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!((fc.error_code, fc.port), (0, i32::from(b.sasl_port)));
    let dc: DescribeClusterResponse = c.request(
        ApiKey::DescribeCluster,
        0,
        &DescribeClusterRequest::default(),
    );
    assert_eq!(dc.brokers[0].port, i32::from(b.sasl_port));
    let mut p = b.broker.conn();
    assert_eq!(metadata(&mut p).brokers[0].port, i32::from(b.broker.port));
    // SASL on the PLAINTEXT listener: ILLEGAL_SASL_STATE, connection kept.
    assert_eq!(handshake(&mut p, "PLAIN").error_code, 34);
    assert_eq!(metadata(&mut p).brokers.len(), 1);
    // SCRAM-SHA-512 and SHA-256 both work for a bootstrap user.
    for m in ScramMechanism::ALL {
        let mut c = b.sasl_conn();
        assert_eq!(
            scram_login(&mut c, m, "admin", "admin-secret").error_code,
            0
        );
        assert_eq!(metadata(&mut c).brokers.len(), 1);
    }
}

#[test]
fn sessions_expire_and_reauthenticate_on_the_live_connection() {
    let b = SaslBroker::start("sasl-reauth", &["--connections-max-reauth-ms", "1500"]);
    let mut c = b.sasl_conn();
    let done = scram_login(&mut c, ScramMechanism::Sha256, "alice", "alice-secret");
    assert_eq!(done.error_code, 0);
    assert_eq!(done.session_lifetime_ms, 1500);
    assert_eq!(metadata(&mut c).brokers.len(), 1);
    std::thread::sleep(Duration::from_millis(1000));
    // Re-authentication (KIP-368) renews the session.
    let again = plain_login(&mut c, "alice", "alice-secret");
    assert_eq!(again.error_code, 0);
    assert_eq!(again.session_lifetime_ms, 1500);
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(
        metadata(&mut c).brokers.len(),
        1,
        "renewed session still valid"
    );
    // Re-authenticating as someone else is refused.
    let mut other = b.sasl_conn();
    assert_eq!(
        plain_login(&mut other, "alice", "alice-secret").error_code,
        0
    );
    assert_eq!(
        plain_login(&mut other, "admin", "admin-secret").error_code,
        58
    );
    assert!(other.is_closed_by_peer());
    // An expired session is closed at its next request.
    std::thread::sleep(Duration::from_millis(1000));
    let frame = c.encode_request(ApiKey::Metadata, 12, &MetadataRequest::default());
    c.send_raw(&frame).unwrap();
    assert!(c.is_closed_by_peer(), "expired session must be closed");
}

fn upsertion(
    user: &str,
    m: ScramMechanism,
    iterations: i32,
    password: &str,
) -> ScramCredentialUpsertion {
    let salt = b"some-salt-bytes".to_vec();
    let salted = m.salted_password(password.as_bytes(), &salt, iterations.max(1) as u32);
    ScramCredentialUpsertion::default()
        .with_name(s(user))
        .with_mechanism(m.id())
        .with_iterations(iterations)
        .with_salt(salt.into())
        .with_salted_password(salted.into())
}

fn alter(c: &mut Conn, req: AlterUserScramCredentialsRequest) -> Vec<(String, i16)> {
    let r: AlterUserScramCredentialsResponse =
        c.request(ApiKey::AlterUserScramCredentials, 0, &req);
    r.results
        .iter()
        .map(|r| (r.user.to_string(), r.error_code))
        .collect()
}

fn describe(c: &mut Conn, users: Option<&[&str]>) -> DescribeUserScramCredentialsResponse {
    let req = DescribeUserScramCredentialsRequest::default().with_users(users.map(|u| {
        u.iter()
            .map(|n| UserName::default().with_name(s(n)))
            .collect()
    }));
    c.request(ApiKey::DescribeUserScramCredentials, 0, &req)
}

#[test]
fn scram_users_are_managed_and_survive_restart() {
    let mut b = SaslBroker::start("sasl-users", &[]);
    let mut c = b.sasl_conn();
    assert_eq!(plain_login(&mut c, "admin", "admin-secret").error_code, 0);
    let m512 = ScramMechanism::Sha512;
    let results = alter(
        &mut c,
        AlterUserScramCredentialsRequest::default().with_upsertions(vec![
            upsertion("carol", m512, 8192, "carol-secret"),
            upsertion("weak", m512, 100, "x"),
            upsertion("", m512, 4096, "x"),
            upsertion("dup", m512, 4096, "x"),
            upsertion("dup", m512, 4096, "y"),
        ]),
    );
    assert_eq!(
        results,
        [
            ("carol".into(), 0),
            ("weak".into(), 93),
            ("".into(), 93),
            ("dup".into(), 92)
        ]
    );
    let results = alter(
        &mut c,
        AlterUserScramCredentialsRequest::default().with_deletions(vec![
            ScramCredentialDeletion::default()
                .with_name(s("nobody"))
                .with_mechanism(1),
            ScramCredentialDeletion::default()
                .with_name(s("carol"))
                .with_mechanism(9),
        ]),
    );
    assert_eq!(results, [("nobody".into(), 91), ("carol".into(), 33)]);

    let all = describe(&mut c, None);
    let names: Vec<String> = all.results.iter().map(|r| r.user.to_string()).collect();
    assert_eq!(names, ["admin", "alice", "carol"]);
    let carol = describe(&mut c, Some(&["carol", "ghost"]));
    assert_eq!(carol.results[0].credential_infos.len(), 1);
    assert_eq!(carol.results[0].credential_infos[0].mechanism, 2);
    assert_eq!(carol.results[0].credential_infos[0].iterations, 8192);
    assert_eq!(carol.results[1].error_code, 91);

    // Restart: the user is still there, by SCRAM and by PLAIN (one store).
    b.broker.restart();
    let mut c = b.sasl_conn();
    assert_eq!(
        scram_login(&mut c, m512, "carol", "carol-secret").error_code,
        0
    );
    let mut c = b.sasl_conn();
    assert_eq!(plain_login(&mut c, "carol", "carol-secret").error_code, 0);
    // No SCRAM-SHA-256 credential for carol.
    let mut c2 = b.sasl_conn();
    assert_eq!(
        scram_login(&mut c2, ScramMechanism::Sha256, "carol", "carol-secret").error_code,
        58
    );
    // Deleting the last credential removes the user.
    let results = alter(
        &mut c,
        AlterUserScramCredentialsRequest::default().with_deletions(vec![
            ScramCredentialDeletion::default()
                .with_name(s("carol"))
                .with_mechanism(2),
        ]),
    );
    assert_eq!(results, [("carol".into(), 0)]);
    assert_eq!(describe(&mut c, Some(&["carol"])).results[0].error_code, 91);
    let mut c = b.sasl_conn();
    assert_eq!(plain_login(&mut c, "carol", "carol-secret").error_code, 58);
}

// ---------------------------------------------------------------------------------------------------
// Real clients.

/// Records per run: enough for connections to outlive a 500 ms session. The Java client re-authenticates
/// only when a connection is next used after 85–95% of the session, and it gets through 50,000 records
/// too fast for that.
fn records(client: &str) -> &'static str {
    if client == "java" {
        "300000"
    } else {
        "50000"
    }
}

/// Runs a client driver; returns (success, stdout + stderr).
fn driver(client: &str, bootstrap: &str, topic: &str, security: &[String]) -> (bool, String) {
    common::run_driver(client, bootstrap, topic, records(client), security)
}

/// The driver arguments that make `client` use SASL `mechanism` as `user` over SASL_PLAINTEXT.
fn sasl_args(client: &str, mechanism: &str, user: &str, password: &str) -> Vec<String> {
    common::sasl_driver_args(client, "SASL_PLAINTEXT", mechanism, user, password)
}

/// PLAIN and SCRAM-SHA-512 round trips over SASL_PLAINTEXT, a plain round trip on the PLAINTEXT
/// listener, and a wrong password refused with the SASL error surfacing in the client. Sessions last
/// 500 ms (connections.max.reauth.ms), so the clients must re-authenticate (KIP-368) on their live
/// connections during the runs: the broker log must show it. A connection may still be closed as
/// expired — clients re-authenticate once 85–95% of the session has passed, and a request that reaches
/// the broker after the deadline is answered by closing, as Kafka does — which only a loaded machine's
/// scheduling decides; the client reconnects and the run must still deliver every record.
fn client_over_sasl(client: &str, auth_error: &[&str]) {
    let b = SaslBroker::start(
        &format!("sasl-{client}"),
        &["--connections-max-reauth-ms", "500"],
    );
    for mechanism in ["PLAIN", "SCRAM-SHA-512"] {
        let topic = format!("{client}-{}", mechanism.to_lowercase());
        let args = sasl_args(client, mechanism, "alice", "alice-secret");
        let (ok, out) = driver(client, &b.sasl_addr(), &topic, &args);
        assert!(
            ok,
            "{client} over SASL {mechanism} failed:\n{out}\n(broker log: {})",
            b.broker.log_path().display()
        );
    }
    let (ok, out) = driver(
        client,
        &b.broker.addr(),
        &format!("{client}-plaintext"),
        &[],
    );
    assert!(ok, "{client} on the PLAINTEXT listener failed:\n{out}");
    let log = b.broker.log_text();
    assert!(
        log.contains("reauthenticated=true"),
        "{client} never re-authenticated (see {})",
        b.broker.log_path().display()
    );
    let args = sasl_args(client, "SCRAM-SHA-512", "alice", "not-the-password");
    let (ok, out) = driver(client, &b.sasl_addr(), &format!("{client}-refused"), &args);
    assert!(!ok, "{client} with a wrong password succeeded:\n{out}");
    assert!(
        auth_error.iter().any(|e| out.contains(e)),
        "{client}: the SASL authentication error did not surface:\n{out}"
    );
}

#[test]
fn java_client_over_sasl_plaintext() {
    client_over_sasl("java", &["SaslAuthenticationException"]);
}

#[test]
fn librdkafka_over_sasl_plaintext() {
    client_over_sasl(
        "python",
        &["SASL authentication error", "Authentication failed"],
    );
}

#[test]
fn franz_go_over_sasl_plaintext() {
    client_over_sasl(
        "go",
        &["SASL_AUTHENTICATION_FAILED", "Authentication failed"],
    );
}

// ---------------------------------------------------------------------------------------------------
// Kafka's own kafka-configs tool.

fn kafka_configs(b: &SaslBroker, args: &[&str]) -> String {
    common::kafka_tool_as_admin(&b.broker, &b.sasl_addr(), "ConfigCommand", args)
}

#[test]
fn kafka_configs_tool_creates_a_scram_user() {
    let b = SaslBroker::start("sasl-kafka-configs", &[]);
    kafka_configs(
        &b,
        &[
            "--alter",
            "--entity-type",
            "users",
            "--entity-name",
            "dave",
            "--add-config",
            "SCRAM-SHA-512=[iterations=8192,password=dave-secret]",
        ],
    );
    let described = kafka_configs(
        &b,
        &[
            "--describe",
            "--entity-type",
            "users",
            "--entity-name",
            "dave",
        ],
    );
    assert!(
        described.contains("SCRAM-SHA-512=iterations=8192"),
        "--describe output:\n{described}"
    );
    let all = kafka_configs(&b, &["--describe", "--entity-type", "users"]);
    assert!(
        all.contains("dave") && all.contains("alice"),
        "--describe output:\n{all}"
    );
    // A client authenticates as the new user.
    let mut c = b.sasl_conn();
    assert_eq!(
        scram_login(&mut c, ScramMechanism::Sha512, "dave", "dave-secret").error_code,
        0
    );
    let args = sasl_args("go", "SCRAM-SHA-512", "dave", "dave-secret");
    let (ok, out) = driver("go", &b.sasl_addr(), "dave-topic", &args);
    assert!(ok, "franz-go as dave failed:\n{out}");
}

/// `shardlog user ...` against the broker's PLAINTEXT listener.
fn user_cli(b: &SaslBroker, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_shardlog"))
        .arg("user")
        .args(args)
        .args(["--brokers", &b.broker.addr()])
        .env_remove("SHARDLOG_USER_PASSWORD")
        .output()
        .unwrap()
}

#[test]
fn the_user_cli_creates_lists_and_deletes_scram_users() {
    let b = SaslBroker::start("sasl-user-cli", &[]);
    let created = user_cli(&b, &["create", "erin", "--password", "erin-secret"]);
    assert!(created.status.success(), "{created:?}");
    for m in ScramMechanism::ALL {
        let mut c = b.sasl_conn();
        assert_eq!(scram_login(&mut c, m, "erin", "erin-secret").error_code, 0);
        let mut c = b.sasl_conn();
        assert_ne!(scram_login(&mut c, m, "erin", "wrong").error_code, 0);
    }
    let listed = user_cli(&b, &["list", "--format", "json"]);
    let users: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let erin = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "erin")
        .unwrap_or_else(|| panic!("erin not listed: {users}"));
    assert_eq!(erin["mechanisms"].as_array().unwrap().len(), 2, "{users}");

    let deleted = user_cli(&b, &["delete", "erin", "--mechanism", "SCRAM-SHA-256"]);
    assert!(deleted.status.success(), "{deleted:?}");
    let mut c = b.sasl_conn();
    assert_ne!(
        scram_login(&mut c, ScramMechanism::Sha256, "erin", "erin-secret").error_code,
        0
    );
    let mut c = b.sasl_conn();
    assert_eq!(
        scram_login(&mut c, ScramMechanism::Sha512, "erin", "erin-secret").error_code,
        0
    );
    assert!(user_cli(&b, &["delete", "erin"]).status.success());
    let table = String::from_utf8(user_cli(&b, &["list"]).stdout).unwrap();
    assert!(
        table.starts_with("USER") && !table.contains("erin"),
        "{table}"
    );
    let missing = user_cli(&b, &["delete", "erin"]);
    assert_eq!(missing.status.code(), Some(4), "{missing:?}");
}

/// `shardlog ARGS` against the SASL listener, logged in as `user` with `mechanism`.
fn cli_over_sasl(
    b: &SaslBroker,
    mechanism: &str,
    user: &str,
    password: &str,
    args: &[&str],
    stdin: &str,
) -> std::process::Output {
    let brokers = b.sasl_addr();
    let login = ["--brokers", &brokers, "--sasl-mechanism", mechanism];
    let credentials = ["--sasl-username", user, "--sasl-password", password];
    let args: Vec<&str> = args
        .iter()
        .copied()
        .chain(login)
        .chain(credentials)
        .collect();
    common::shardlog_cli(&args, stdin)
}

#[test]
fn the_cli_logs_in_over_sasl() {
    let b = SaslBroker::start("sasl-cli-login", &[]);
    for (mechanism, topic) in [("SCRAM-SHA-512", "cli-scram"), ("PLAIN", "cli-plain")] {
        let run = |args: &[&str], stdin: &str| {
            let out = cli_over_sasl(&b, mechanism, "alice", "alice-secret", args, stdin);
            assert!(out.status.success(), "{mechanism} {args:?}: {out:?}");
            String::from_utf8(out.stdout).unwrap()
        };
        common::cli_round_trip(topic, run);
    }
    let refused = cli_over_sasl(
        &b,
        "SCRAM-SHA-256",
        "alice",
        "wrong",
        &["topic", "list"],
        "",
    );
    assert_eq!(refused.status.code(), Some(5), "{refused:?}");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("login as alice failed"), "{stderr}");
}
