//! ACL authorization against a real broker with the authorizer on (`authorizer.class.name` =
//! StandardAuthorizer, `super.users=User:admin`), a PLAINTEXT and a SASL_PLAINTEXT listener, and users
//! admin/alice/bob: refusals on the wire with Kafka's error codes, prefixed ALLOW and literal DENY, group
//! ACLs, ACLs surviving a restart, the real clients (Java, librdkafka, franz-go) surfacing the
//! refusals, Kafka's own kafka-acls tool, the `shardlog acl` CLI, and User:ANONYMOUS on the PLAINTEXT
//! listener.

use crate::common;

use common::api::{create_topic, fetch, list_offset, produce, topic_name};
use common::{batch_of, free_port, temp_dir, Broker, Conn};
use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::delete_acls_request::DeleteAclsFilter;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use std::process::Command;

const USERS: &str = "admin:admin-secret,alice:alice-secret,bob:bob-secret";
const AUTHORIZER: &str = "org.apache.kafka.metadata.authorizer.StandardAuthorizer";

// Kafka's ACL codes (org.apache.kafka.common.acl / resource).
const TOPIC: i8 = 2;
const GROUP: i8 = 3;
const CLUSTER: i8 = 4;
const ANY: i8 = 1;
const MATCH: i8 = 2;
const LITERAL: i8 = 3;
const PREFIXED: i8 = 4;
const ALL: i8 = 2;
const READ: i8 = 3;
const WRITE: i8 = 4;
const DENY: i8 = 2;
const ALLOW: i8 = 3;

const TAF: i16 = 29; // TOPIC_AUTHORIZATION_FAILED
const GAF: i16 = 30; // GROUP_AUTHORIZATION_FAILED
const CAF: i16 = 31; // CLUSTER_AUTHORIZATION_FAILED

struct AclBroker {
    broker: Broker,
    sasl_port: u16,
}

impl AclBroker {
    fn start(name: &str) -> AclBroker {
        let (plain, sasl) = (free_port(), free_port());
        let listeners = format!("PLAINTEXT://127.0.0.1:{plain},SASL_PLAINTEXT://127.0.0.1:{sasl}");
        let args = [
            "--listeners",
            &listeners,
            "--sasl-bootstrap-users",
            USERS,
            "--authorizer-class-name",
            AUTHORIZER,
            "--super-users",
            "User:admin",
        ];
        AclBroker {
            broker: Broker::start_on(&temp_dir(name), plain, &args, &[]),
            sasl_port: sasl,
        }
    }

    fn sasl_addr(&self) -> String {
        format!("127.0.0.1:{}", self.sasl_port)
    }

    /// A connection logged in as `user` (SASL PLAIN; the password is `<user>-secret`).
    fn login(&self, user: &str) -> Conn {
        let mut c = Conn::connect(&self.sasl_addr());
        let hs: SaslHandshakeResponse = c.request(
            ApiKey::SaslHandshake,
            1,
            &SaslHandshakeRequest::default().with_mechanism(s("PLAIN")),
        );
        assert_eq!(hs.error_code, 0);
        let auth = format!("\0{user}\0{user}-secret");
        let done: SaslAuthenticateResponse = c.request(
            ApiKey::SaslAuthenticate,
            2,
            &SaslAuthenticateRequest::default().with_auth_bytes(auth.into_bytes().into()),
        );
        assert_eq!(done.error_code, 0, "login as {user}");
        c
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.broker.log_path()).unwrap_or_default()
    }
}

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn acl(rtype: i8, name: &str, pattern: i8, principal: &str, op: i8, perm: i8) -> AclCreation {
    let mut c = AclCreation::default();
    c.resource_type = rtype;
    c.resource_name = s(name);
    c.resource_pattern_type = pattern;
    c.principal = s(principal);
    c.host = s("*");
    c.operation = op;
    c.permission_type = perm;
    c
}

/// CreateAcls; the error code of each creation.
fn create_acls(c: &mut Conn, creations: Vec<AclCreation>) -> Vec<i16> {
    let req = CreateAclsRequest::default().with_creations(creations);
    let resp: CreateAclsResponse = c.request(ApiKey::CreateAcls, 3, &req);
    resp.results.iter().map(|r| r.error_code).collect()
}

fn describe_acls(c: &mut Conn, rtype: i8, name: Option<&str>, pattern: i8) -> DescribeAclsResponse {
    let mut req = DescribeAclsRequest::default();
    req.resource_type_filter = rtype;
    req.resource_name_filter = name.map(s);
    req.pattern_type_filter = pattern;
    req.principal_filter = None;
    req.host_filter = None;
    req.operation = ANY;
    req.permission_type = ANY;
    c.request(ApiKey::DescribeAcls, 3, &req)
}

/// (resource name, pattern, principal, operation, permission) of every binding described.
fn bindings(resp: &DescribeAclsResponse) -> Vec<(String, i8, String, i8, i8)> {
    let mut out = Vec::new();
    for r in &resp.resources {
        for a in &r.acls {
            out.push((
                r.resource_name.to_string(),
                r.pattern_type,
                a.principal.to_string(),
                a.operation,
                a.permission_type,
            ));
        }
    }
    out
}

/// Metadata for the named topics (None: all topics); (name, error code) per topic answered.
fn metadata(c: &mut Conn, topics: Option<&[&str]>, auto_create: bool) -> Vec<(String, i16)> {
    let mut req = MetadataRequest::default();
    req.allow_auto_topic_creation = auto_create;
    req.topics = topics.map(|ts| {
        ts.iter()
            .map(|t| MetadataRequestTopic::default().with_name(Some(topic_name(t))))
            .collect()
    });
    let resp: MetadataResponse = c.request(ApiKey::Metadata, 12, &req);
    resp.topics
        .iter()
        .map(|t| {
            let name = t.name.as_ref().map(|n| n.0.to_string()).unwrap_or_default();
            (name, t.error_code)
        })
        .collect()
}

fn produce_code(c: &mut Conn, topic: &str) -> i16 {
    produce(c, topic, 0, 1, batch_of(0..1, 1_700_000_000_000)).0
}

fn join(c: &mut Conn, group: &str, member_id: &str) -> JoinGroupResponse {
    let protocol = JoinGroupRequestProtocol::default()
        .with_name(s("range"))
        .with_metadata(bytes::Bytes::new());
    let req = JoinGroupRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(10_000)
        .with_member_id(s(member_id))
        .with_protocol_type(s("consumer"))
        .with_protocols(vec![protocol]);
    c.request(ApiKey::JoinGroup, 9, &req)
}

fn commit_offset(c: &mut Conn, group: &str, topic: &str) -> i16 {
    let partition = OffsetCommitRequestPartition::default()
        .with_partition_index(0)
        .with_committed_offset(1);
    let t = OffsetCommitRequestTopic::default()
        .with_name(topic_name(topic))
        .with_partitions(vec![partition]);
    let req = OffsetCommitRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_generation_id_or_member_epoch(-1)
        .with_member_id(s(""))
        .with_topics(vec![t]);
    let resp: OffsetCommitResponse = c.request(ApiKey::OffsetCommit, 8, &req);
    resp.topics[0].partitions[0].error_code
}

#[test]
fn a_principal_without_acls_is_refused_everything() {
    let b = AclBroker::start("acl-none");
    let mut admin = b.login("admin");
    assert_eq!(create_topic(&mut admin, "t", 2, &[]), 0);
    assert_eq!(produce_code(&mut admin, "t"), 0);

    let mut alice = b.login("alice");
    // Metadata: the topic is hidden from the listing and refused by name; auto-creation needs CREATE.
    let all = metadata(&mut alice, None, false);
    assert!(all.iter().all(|(n, _)| n != "t"), "{all:?}");
    assert_eq!(
        metadata(&mut alice, Some(&["t"]), false),
        [("t".into(), TAF)]
    );
    assert_eq!(
        metadata(&mut alice, Some(&["auto-x"]), true),
        [("auto-x".into(), TAF)]
    );
    assert!(metadata(&mut admin, None, false)
        .iter()
        .all(|(n, _)| n != "auto-x"));
    // Produce, fetch, list offsets, create.
    assert_eq!(produce_code(&mut alice, "t"), TAF);
    assert_eq!(fetch(&mut alice, "t", 0, 0, 0).error_code, TAF);
    assert_eq!(list_offset(&mut alice, "t", 0, -1).0, TAF);
    assert_eq!(create_topic(&mut alice, "alices", 1, &[]), TAF);
    // Groups.
    let find: FindCoordinatorResponse = alice.request(
        ApiKey::FindCoordinator,
        4,
        &FindCoordinatorRequest::default().with_coordinator_keys(vec![s("g")]),
    );
    assert_eq!(find.coordinators[0].error_code, GAF);
    assert_eq!(join(&mut alice, "g", "").error_code, GAF);
    assert_eq!(commit_offset(&mut alice, "g", "t"), GAF);
    // The cluster: ACLs, idempotent producer ids, log dirs.
    assert_eq!(
        create_acls(
            &mut alice,
            vec![acl(TOPIC, "t", LITERAL, "User:alice", ALL, ALLOW)]
        ),
        [CAF]
    );
    assert_eq!(describe_acls(&mut alice, ANY, None, ANY).error_code, CAF);
    let pid: InitProducerIdResponse = alice.request(
        ApiKey::InitProducerId,
        4,
        &InitProducerIdRequest::default()
            .with_transactional_id(None)
            .with_transaction_timeout_ms(60_000),
    );
    assert_eq!(pid.error_code, CAF);
    let cluster: DescribeClusterResponse = alice.request(
        ApiKey::DescribeCluster,
        1,
        &DescribeClusterRequest::default(),
    );
    let dirs: DescribeLogDirsResponse = alice.request(
        ApiKey::DescribeLogDirs,
        4,
        &DescribeLogDirsRequest::default().with_topics(None),
    );
    assert_eq!((dirs.error_code, dirs.results.len()), (CAF, 0));
    // Kafka's brokers answer DescribeCluster to anyone (the Java admin client needs it).
    assert_eq!(cluster.error_code, 0);
    // Refusals are logged Kafka style; the super user was never refused.
    let log = b.log();
    assert!(
        log.contains("Principal = User:alice is Denied operation = WRITE from host = 127.0.0.1 on resource = Topic:LITERAL:t for request = Produce"),
        "no authorizer log line in {}",
        b.broker.log_path().display()
    );
    assert!(!log.contains("Principal = User:admin is Denied"));
    // The same records are still there for the super user.
    assert_eq!(fetch(&mut admin, "t", 0, 0, 0).error_code, 0);
}

#[test]
fn a_prefixed_allow_opens_exactly_matching_topics_and_deny_wins() {
    let b = AclBroker::start("acl-prefixed");
    let mut admin = b.login("admin");
    for t in ["other", "orders-secret"] {
        assert_eq!(create_topic(&mut admin, t, 1, &[]), 0);
    }
    let codes = create_acls(
        &mut admin,
        vec![
            acl(TOPIC, "orders-", PREFIXED, "User:alice", ALL, ALLOW),
            acl(TOPIC, "orders-secret", LITERAL, "User:alice", WRITE, DENY),
        ],
    );
    assert_eq!(codes, [0, 0]);
    let mut alice = b.login("alice");
    assert_eq!(create_topic(&mut alice, "orders-1", 2, &[]), 0);
    assert_eq!(produce_code(&mut alice, "orders-1"), 0);
    assert_eq!(fetch(&mut alice, "orders-1", 0, 0, 0).error_code, 0);
    assert_eq!(produce_code(&mut alice, "other"), TAF);
    assert_eq!(fetch(&mut alice, "other", 0, 0, 0).error_code, TAF);
    // DENY WRITE on one matching topic beats the prefixed ALLOW ALL; it does not deny READ.
    assert_eq!(produce_code(&mut alice, "orders-secret"), TAF);
    assert_eq!(fetch(&mut alice, "orders-secret", 0, 0, 0).error_code, 0);
    let mut listed: Vec<String> = metadata(&mut alice, None, false)
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    listed.sort();
    assert_eq!(listed, ["orders-1", "orders-secret"]);
    // bob is not named by alice's ACLs.
    let mut bob = b.login("bob");
    assert_eq!(produce_code(&mut bob, "orders-1"), TAF);

    // DescribeAcls filters: MATCH on a topic name finds the prefixed binding and the literal one.
    let matched = bindings(&describe_acls(
        &mut admin,
        TOPIC,
        Some("orders-secret"),
        MATCH,
    ));
    assert_eq!(matched.len(), 2, "{matched:?}");
    let exact = bindings(&describe_acls(&mut admin, TOPIC, Some("orders-"), LITERAL));
    assert!(exact.is_empty(), "{exact:?}");
    let prefixed = bindings(&describe_acls(&mut admin, ANY, Some("orders-"), ANY));
    assert_eq!(
        prefixed,
        [("orders-".into(), PREFIXED, "User:alice".into(), ALL, ALLOW)]
    );

    // Deleting the DENY lets alice write there.
    let mut filter = DeleteAclsFilter::default();
    filter.resource_type_filter = TOPIC;
    filter.resource_name_filter = Some(s("orders-secret"));
    filter.pattern_type_filter = LITERAL;
    filter.principal_filter = None;
    filter.host_filter = None;
    filter.operation = ANY;
    filter.permission_type = DENY;
    let deleted: DeleteAclsResponse = admin.request(
        ApiKey::DeleteAcls,
        3,
        &DeleteAclsRequest::default().with_filters(vec![filter]),
    );
    assert_eq!(deleted.filter_results[0].error_code, 0);
    assert_eq!(deleted.filter_results[0].matching_acls.len(), 1);
    assert_eq!(produce_code(&mut alice, "orders-secret"), 0);
}

#[test]
fn joining_a_group_needs_read_on_the_group() {
    let b = AclBroker::start("acl-group");
    let mut admin = b.login("admin");
    assert_eq!(create_topic(&mut admin, "t", 1, &[]), 0);
    assert_eq!(produce_code(&mut admin, "t"), 0);
    assert_eq!(
        create_acls(
            &mut admin,
            vec![acl(TOPIC, "t", LITERAL, "User:alice", READ, ALLOW)]
        ),
        [0]
    );
    let mut alice = b.login("alice");
    assert_eq!(fetch(&mut alice, "t", 0, 0, 0).error_code, 0);
    assert_eq!(join(&mut alice, "g", "").error_code, GAF);
    assert_eq!(commit_offset(&mut alice, "g", "t"), GAF);

    assert_eq!(
        create_acls(
            &mut admin,
            vec![acl(GROUP, "g", LITERAL, "User:alice", READ, ALLOW)]
        ),
        [0]
    );
    let first = join(&mut alice, "g", "");
    assert_eq!(first.error_code, ResponseError::MemberIdRequired.code());
    let joined = join(&mut alice, "g", &first.member_id);
    assert_eq!(joined.error_code, 0);
    // Another group is still refused.
    assert_eq!(join(&mut alice, "h", "").error_code, GAF);
}

#[test]
fn acls_survive_a_restart() {
    let mut b = AclBroker::start("acl-restart");
    let mut admin = b.login("admin");
    assert_eq!(create_topic(&mut admin, "orders-1", 1, &[]), 0);
    let codes = create_acls(
        &mut admin,
        vec![
            acl(TOPIC, "orders-", PREFIXED, "User:alice", WRITE, ALLOW),
            acl(CLUSTER, "kafka-cluster", LITERAL, "User:bob", ALL, ALLOW),
        ],
    );
    assert_eq!(codes, [0, 0]);
    let before = bindings(&describe_acls(&mut admin, ANY, None, ANY));
    assert_eq!(before.len(), 2);
    drop(admin);
    b.broker.stop_gracefully();
    b.broker.start_again();
    let mut admin = b.login("admin");
    assert_eq!(bindings(&describe_acls(&mut admin, ANY, None, ANY)), before);
    let mut alice = b.login("alice");
    assert_eq!(produce_code(&mut alice, "orders-1"), 0);
    // bob manages ACLs through his cluster ACL, not as a super user.
    let mut bob = b.login("bob");
    assert_eq!(describe_acls(&mut bob, ANY, None, ANY).error_code, 0);
    b.broker.kill9();
    b.broker.start_again();
    let mut alice = b.login("alice");
    assert_eq!(produce_code(&mut alice, "orders-1"), 0);
    assert_eq!(produce_code(&mut alice, "other"), TAF);
}

#[test]
fn anonymous_on_plaintext_is_refused_unless_allowed() {
    let b = AclBroker::start("acl-anonymous");
    let mut admin = b.login("admin");
    assert_eq!(create_topic(&mut admin, "t", 1, &[]), 0);
    let mut anon = b.broker.conn();
    assert_eq!(produce_code(&mut anon, "t"), TAF);
    assert_eq!(
        metadata(&mut anon, Some(&["t"]), false),
        [("t".into(), TAF)]
    );
    assert_eq!(
        create_acls(
            &mut admin,
            vec![acl(TOPIC, "t", LITERAL, "User:ANONYMOUS", WRITE, ALLOW)]
        ),
        [0]
    );
    assert_eq!(produce_code(&mut anon, "t"), 0);
    assert_eq!(metadata(&mut anon, Some(&["t"]), false), [("t".into(), 0)]);
    assert_eq!(
        fetch(&mut anon, "t", 0, 0, 0).error_code,
        TAF,
        "WRITE does not imply READ"
    );
}

#[test]
fn an_unknown_authorizer_class_is_refused_at_startup() {
    let out = Command::new(env!("CARGO_BIN_EXE_shardlog"))
        .args([
            "serve",
            "--authorizer-class-name",
            "com.example.MyAuthorizer",
        ])
        .arg("--data-dir")
        .arg(temp_dir("acl-bad-class"))
        .args(["--listen", &format!("127.0.0.1:{}", free_port())])
        .args(["--admin-listen", &format!("127.0.0.1:{}", free_port())])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("com.example.MyAuthorizer") && stderr.contains(AUTHORIZER),
        "{stderr}"
    );
}

// ---------------------------------------------------------------------------------------------------
// Real clients.

/// Runs a client driver (create topic, produce, consume, verify) as `user` over SASL PLAIN;
/// (success, output).
fn driver(b: &AclBroker, client: &str, user: &str, topic: &str) -> (bool, String) {
    let password = format!("{user}-secret");
    let login = common::sasl_driver_args(client, "SASL_PLAINTEXT", "PLAIN", user, &password);
    common::run_driver(client, &b.sasl_addr(), topic, "2000", &login)
}

/// alice without ACLs is refused (the topic exists: the admin made it); a prefixed ACL on `orders-`
/// gives her a full round trip there, and `other-*` stays refused.
fn real_client(client: &str, refusal: &[&str]) {
    let b = AclBroker::start(&format!("acl-{client}"));
    let mut admin = b.login("admin");
    let refused = format!("{client}-refused");
    assert_eq!(create_topic(&mut admin, &refused, 2, &[]), 0);
    let (ok, out) = driver(&b, client, "alice", &refused);
    assert!(!ok, "{client}: alice without ACLs succeeded:\n{out}");
    assert!(
        refusal.iter().any(|r| out.contains(r)),
        "{client}: no authorization error surfaced:\n{out}"
    );
    // librdkafka's consumer looks up the coordinator of its throw-away group id (client-check-<topic>)
    // even without joining it, so it needs DESCRIBE on that group too (READ implies it).
    let grants = vec![
        acl(TOPIC, "orders-", PREFIXED, "User:alice", ALL, ALLOW),
        acl(GROUP, "client-check-", PREFIXED, "User:alice", READ, ALLOW),
    ];
    assert_eq!(create_acls(&mut admin, grants), [0, 0]);
    let (ok, out) = driver(&b, client, "alice", &format!("orders-{client}"));
    assert!(
        ok,
        "{client}: alice on orders-{client} failed:\n{out}\n(broker log: {})",
        b.broker.log_path().display()
    );
    let (ok, out) = driver(&b, client, "alice", &format!("other-{client}"));
    assert!(!ok, "{client}: alice on other-{client} succeeded:\n{out}");
    assert!(
        refusal.iter().any(|r| out.contains(r)),
        "{client}: no authorization error surfaced:\n{out}"
    );
}

#[test]
fn java_client_is_refused_then_allowed_by_a_prefixed_acl() {
    real_client("java", &["TopicAuthorizationException"]);
}

#[test]
fn librdkafka_is_refused_then_allowed_by_a_prefixed_acl() {
    real_client(
        "python",
        &["TOPIC_AUTHORIZATION_FAILED", "Topic authorization failed"],
    );
}

#[test]
fn franz_go_is_refused_then_allowed_by_a_prefixed_acl() {
    real_client("go", &["TOPIC_AUTHORIZATION_FAILED"]);
}

// ---------------------------------------------------------------------------------------------------
// Kafka's kafka-acls and the shardlog acl CLI.

fn kafka_acls(b: &AclBroker, args: &[&str]) -> String {
    common::kafka_tool_as_admin(&b.broker, &b.sasl_addr(), "AclCommand", args)
}

#[test]
fn kafka_acls_tool_adds_lists_and_removes_acls() {
    let b = AclBroker::start("acl-kafka-acls");
    let resource = ["--topic", "orders-", "--resource-pattern-type", "prefixed"];
    let mut add = vec![
        "--add",
        "--allow-principal",
        "User:alice",
        "--operation",
        "Write",
    ];
    add.extend(["--operation", "Describe"]);
    add.extend(resource);
    kafka_acls(&b, &add);
    let mut group = vec![
        "--add",
        "--allow-principal",
        "User:alice",
        "--operation",
        "Read",
    ];
    group.extend(["--group", "g"]);
    kafka_acls(&b, &group);
    let mut list = vec!["--list"];
    list.extend(resource);
    let listed = kafka_acls(&b, &list);
    assert!(
        listed.contains("User:alice") && listed.contains("WRITE") && listed.contains("DESCRIBE"),
        "--list output:\n{listed}"
    );
    let everything = kafka_acls(&b, &["--list"]);
    assert!(
        everything.contains("name=g"),
        "--list output:\n{everything}"
    );
    // The ACL works.
    let mut admin = b.login("admin");
    assert_eq!(create_topic(&mut admin, "orders-1", 1, &[]), 0);
    let mut alice = b.login("alice");
    assert_eq!(produce_code(&mut alice, "orders-1"), 0);

    let mut remove = vec!["--remove", "--force"];
    remove.extend(resource);
    kafka_acls(&b, &remove);
    let listed = kafka_acls(&b, &list);
    assert!(
        !listed.contains("User:alice"),
        "--list after --remove:\n{listed}"
    );
    assert_eq!(produce_code(&mut alice, "orders-1"), TAF);
    assert_eq!(
        bindings(&describe_acls(&mut admin, GROUP, Some("g"), LITERAL)).len(),
        1
    );
}

/// `shardlog acl ARGS` against the SASL listener, logged in as `user`.
fn acl_cli(b: &AclBroker, user: &str, args: &[&str]) -> std::process::Output {
    let password = format!("{user}-secret");
    Command::new(env!("CARGO_BIN_EXE_shardlog"))
        .arg("acl")
        .args(args)
        .args([
            "--brokers",
            &b.sasl_addr(),
            "--sasl-mechanism",
            "SCRAM-SHA-256",
        ])
        .args(["--sasl-username", user, "--sasl-password", &password])
        .output()
        .unwrap()
}

#[test]
fn the_acl_cli_creates_lists_and_deletes_acls_and_needs_cluster_rights() {
    let b = AclBroker::start("acl-cli");
    let created = acl_cli(
        &b,
        "admin",
        &[
            "create",
            "--allow-principal",
            "User:alice",
            "--operation",
            "read",
            "--operation",
            "write",
            "--topic",
            "orders-",
            "--resource-pattern-type",
            "prefixed",
        ],
    );
    assert!(created.status.success(), "{created:?}");
    let denied = acl_cli(
        &b,
        "admin",
        &["create", "--deny-principal", "User:bob", "--group", "g"],
    );
    assert!(denied.status.success(), "{denied:?}");
    let listed = acl_cli(&b, "admin", &["list", "--format", "json"]);
    assert!(listed.status.success(), "{listed:?}");
    let acls: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let acls = acls.as_array().unwrap();
    assert_eq!(acls.len(), 3, "{acls:?}");
    assert!(acls.iter().any(|a| a["name"] == "orders-"
        && a["pattern_type"] == "PREFIXED"
        && a["operation"] == "WRITE"
        && a["permission"] == "ALLOW"));
    assert!(acls.iter().any(|a| a["name"] == "g"
        && a["resource_type"] == "GROUP"
        && a["operation"] == "ALL"
        && a["permission"] == "DENY"));
    let table = String::from_utf8(
        acl_cli(
            &b,
            "admin",
            &[
                "list",
                "--topic",
                "orders-1",
                "--resource-pattern-type",
                "match",
            ],
        )
        .stdout,
    )
    .unwrap();
    assert!(
        table.starts_with("RESOURCE") && table.contains("orders-") && !table.contains("GROUP"),
        "{table}"
    );

    // alice may use what the ACL grants, and may not manage ACLs (broker error: exit 5).
    let mut admin = b.login("admin");
    assert_eq!(create_topic(&mut admin, "orders-1", 1, &[]), 0);
    let mut alice = b.login("alice");
    assert_eq!(produce_code(&mut alice, "orders-1"), 0);
    let refused = acl_cli(&b, "alice", &["list"]);
    assert_eq!(refused.status.code(), Some(5), "{refused:?}");
    let refused = acl_cli(
        &b,
        "alice",
        &["create", "--allow-principal", "User:alice", "--cluster"],
    );
    assert_eq!(refused.status.code(), Some(5), "{refused:?}");

    let deleted = acl_cli(
        &b,
        "admin",
        &[
            "delete",
            "--topic",
            "orders-",
            "--resource-pattern-type",
            "prefixed",
        ],
    );
    assert!(deleted.status.success(), "{deleted:?}");
    assert_eq!(produce_code(&mut alice, "orders-1"), TAF);
    let again = acl_cli(
        &b,
        "admin",
        &[
            "delete",
            "--topic",
            "orders-",
            "--resource-pattern-type",
            "prefixed",
        ],
    );
    assert_eq!(again.status.code(), Some(4), "{again:?}");
    let usage = acl_cli(&b, "admin", &["delete"]);
    assert_eq!(usage.status.code(), Some(1), "{usage:?}");
}
