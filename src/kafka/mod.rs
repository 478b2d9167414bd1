//! The Kafka API surface. `SUPPORTED` lists every API and version range we implement (and advertise in
//! ApiVersions); each API has its own file with one `handle` function. Codecs come from `kafka-protocol`.
//!
//! Bad input never panics: an unknown API key, an unsupported version (except ApiVersions, which answers
//! in v0 with UNSUPPORTED_VERSION as clients expect) or an undecodable body closes the connection with a
//! log line, as Kafka does; semantic errors are answered with Kafka's error codes.
//!
//! Every request passes the connection's security session first (`security::session`): on a SASL
//! listener, anything but ApiVersions/SaslHandshake/SaslAuthenticate before authentication (or after the
//! session expired) closes the connection. The principal and listener then travel in `RequestContext`.

mod acls;
mod add_offsets_to_txn;
mod add_partitions_to_txn;
mod api_versions;
mod authz;
mod by_partition;
mod client_quotas;
mod configs;
mod consumer_group_describe;
mod consumer_group_heartbeat;
mod create_partitions;
mod create_topics;
mod delete_records;
mod delete_topics;
mod describe_cluster;
mod describe_log_dirs;
mod describe_producers;
mod end_txn;
mod error_codes;
mod errors;
mod fetch;
pub mod fetch_session;
mod find_coordinator;
pub mod frame;
mod group_admin;
mod group_membership;
mod group_routing;
mod init_producer_id;
mod list_offsets;
mod metadata;
mod offset_for_leader_epoch;
mod offsets;
mod produce;
mod reassignments;
mod sasl;
pub mod scope;
mod scram_credentials;
mod transaction_admin;
pub mod txn_markers;
mod txn_offset_commit;
mod txn_routing;
mod write_txn_markers;

/// The DescribeGroups tagged field carrying shardlog's lag report (read by the CLI).
pub use group_admin::LAG_STATUS_TAG;
/// The Metadata tagged field carrying the shard that serves a partition (read by the CLI).
pub use metadata::SHARD_TAG;

use crate::controller::Controller;
use crate::kafka::frame::{FrameWriter, ResponseFrame};
use crate::metrics::GaugeGuard;
use crate::runtime::mesh::CONTROLLER_SHARD;
use crate::security::listener::Listener;
use crate::security::session::Connection;
use crate::security::Principal;
use crate::storage::FileSlice;
use bytes::{BufMut, Bytes};
use error_codes::ErrorCodes;
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable};
use scope::Scope;
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;
use tracing::warn;

/// (API, lowest version, highest version) we implement.
pub const SUPPORTED: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 3, 12),
    (ApiKey::Fetch, 4, 12),
    (ApiKey::ListOffsets, 1, 6),
    (ApiKey::Metadata, 0, 12),
    (ApiKey::ApiVersions, 0, 4),
    (ApiKey::CreateTopics, 2, 7),
    (ApiKey::DeleteTopics, 1, 6),
    (ApiKey::CreatePartitions, 0, 3),
    (ApiKey::InitProducerId, 0, 5),
    (ApiKey::DescribeConfigs, 1, 4),
    (ApiKey::AlterConfigs, 0, 2),
    (ApiKey::IncrementalAlterConfigs, 0, 1),
    (ApiKey::DescribeCluster, 0, 1),
    (ApiKey::DeleteRecords, 0, 2),
    (ApiKey::DescribeLogDirs, 1, 4),
    (ApiKey::OffsetForLeaderEpoch, 2, 4),
    (ApiKey::FindCoordinator, 0, 6),
    (ApiKey::JoinGroup, 0, 9),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 5),
    (ApiKey::OffsetCommit, 2, 9),
    (ApiKey::OffsetFetch, 1, 9),
    (ApiKey::ListGroups, 0, 5),
    (ApiKey::DescribeGroups, 0, 5),
    (ApiKey::DeleteGroups, 0, 2),
    (ApiKey::OffsetDelete, 0, 0),
    (ApiKey::ConsumerGroupHeartbeat, 0, 1),
    (ApiKey::ConsumerGroupDescribe, 0, 1),
    // v0 handshakes are followed by raw SASL tokens outside Kafka framing: not supported, so a v0
    // SaslHandshake is an unsupported version (connection closed). Every current client uses v1.
    (ApiKey::SaslHandshake, 1, 1),
    (ApiKey::SaslAuthenticate, 0, 2),
    (ApiKey::DescribeUserScramCredentials, 0, 0),
    (ApiKey::AlterUserScramCredentials, 0, 0),
    // Answered with no quotas (none are enforced); kafka-configs --describe asks for them.
    (ApiKey::DescribeClientQuotas, 0, 1),
    (ApiKey::CreateAcls, 1, 3),
    (ApiKey::DescribeAcls, 1, 3),
    (ApiKey::DeleteAcls, 1, 3),
    (ApiKey::AlterPartitionReassignments, 0, 1),
    (ApiKey::ListPartitionReassignments, 0, 0),
    (ApiKey::WriteTxnMarkers, 0, 1),
    (ApiKey::DescribeProducers, 0, 0),
    (ApiKey::AddPartitionsToTxn, 0, 5),
    (ApiKey::AddOffsetsToTxn, 0, 4),
    (ApiKey::EndTxn, 0, 4),
    (ApiKey::TxnOffsetCommit, 0, 4),
    // v2's transactional-id pattern (a Java regex) is not served.
    (ApiKey::ListTransactions, 0, 1),
    (ApiKey::DescribeTransactions, 0, 0),
];

pub fn supports(api_key: ApiKey, version: i16) -> bool {
    SUPPORTED
        .iter()
        .any(|&(k, lo, hi)| k == api_key && (lo..=hi).contains(&version))
}

/// What the connection does with a request once handled.
pub enum Outcome {
    Respond(ResponseFrame),
    /// acks=0 produce: Kafka sends nothing back.
    NoResponse,
    /// Protocol violation: log and close the connection.
    Close(String),
    /// Send this response, then log the reason and close (failed authentication).
    RespondAndClose(ResponseFrame, String),
}

/// The parts of a request header handlers need.
pub struct RequestContext {
    pub api_key: ApiKey,
    pub version: i16,
    pub correlation_id: i32,
    /// The request header's client id ("" when null).
    pub client_id: String,
    /// The peer address, as Kafka shows it ("/127.0.0.1").
    pub client_host: String,
    /// Who sent it: `User:name` after SASL, `User:ANONYMOUS` on plaintext listeners (ACLs check it).
    pub principal: Option<Rc<Principal>>,
    /// The listener the request arrived on (its advertised address answers Metadata and friends).
    pub listener: Option<Rc<Listener>>,
}

impl RequestContext {
    /// Encodes `body` as this request's response. `files` fills the Fetch record holes, in order.
    pub fn respond_with_files<R: Encodable>(
        &self,
        body: &R,
        files: VecDeque<FileSlice>,
    ) -> Outcome {
        let header_version = self.api_key.response_header_version(self.version);
        self.encode(body, self.version, header_version, files)
    }

    pub fn respond<R: Encodable>(&self, body: &R) -> Outcome {
        self.respond_with_files(body, VecDeque::new())
    }

    fn encode<R: Encodable>(
        &self,
        body: &R,
        version: i16,
        header_version: i16,
        files: VecDeque<FileSlice>,
    ) -> Outcome {
        let mut header = ResponseHeader::default();
        header.correlation_id = self.correlation_id;
        let size = header
            .compute_size(header_version)
            .and_then(|h| body.compute_size(version).map(|b| h + b));
        let size = match size {
            Ok(s) => s,
            Err(e) => {
                return Outcome::Close(format!("cannot size {:?} response: {e}", self.api_key))
            }
        };
        let in_memory = if files.is_empty() { size + 4 } else { 4096 };
        let mut w = FrameWriter::new(in_memory, files);
        w.put_i32(size as i32);
        if let Err(e) = header
            .encode(&mut w, header_version)
            .and_then(|_| body.encode(&mut w, version))
        {
            return Outcome::Close(format!("cannot encode {:?} response: {e}", self.api_key));
        }
        Outcome::Respond(w.finish())
    }
}

/// Handles one request frame (without its length prefix).
pub async fn handle(scope: Rc<Scope>, frame: Bytes, conn: Rc<Connection>) -> Outcome {
    // ApiVersions at a version we don't know is answered (in v0), not closed: clients probe with their
    // newest version and retry with one from our answer. Everything else unsupported closes, below.
    if let Ok(ctx) = request_context(&frame) {
        if ctx.api_key == ApiKey::ApiVersions && !supports(ctx.api_key, ctx.version) {
            return api_versions::unsupported_version(ctx);
        }
    }
    let (ctx, request) = match decode_request(frame) {
        Ok((ctx, request)) => (
            RequestContext {
                client_host: format!("/{}", conn.peer_host),
                principal: conn.session.borrow().principal(),
                listener: Some(conn.listener.clone()),
                ..ctx
            },
            request,
        ),
        Err(reason) => return Outcome::Close(reason),
    };
    // The authentication gate: checked as the request starts, in arrival order.
    if let Err(reason) = conn.session.borrow().admit(ctx.api_key, Instant::now()) {
        return Outcome::Close(reason);
    }
    // Per-API counters: relaxed atomics of this shard, indexed by API (no lock, no allocation).
    let metrics = &*scope.metrics;
    let _in_flight = match ctx.api_key {
        ApiKey::Produce => Some(GaugeGuard::inc(&metrics.produce_in_flight)),
        ApiKey::Fetch => Some(GaugeGuard::inc(&metrics.fetch_in_flight)),
        _ => None,
    };
    let started = Instant::now();
    let outcome = dispatch(&scope, &ctx, request, &conn).await;
    if let Some(api) = metrics.api(ctx.api_key) {
        api.requests.fetch_add(1, Relaxed);
        api.latency.observe(started.elapsed());
    }
    outcome
}

/// Everything done to a request frame (without its length prefix) before dispatch: the fixed header
/// prefix, the version check, the full request header and the body. Pure, so the fuzzer
/// (`tests/fuzz/`) can drive it. `Err` is the reason to close the connection; this includes an
/// unsupported ApiVersions version, which `handle` answers before calling this.
pub fn decode_request(mut frame: Bytes) -> Result<(RequestContext, RequestKind), String> {
    let ctx = request_context(&frame)?;
    let (api_key, version) = (ctx.api_key, ctx.version);
    if !supports(api_key, version) {
        return Err(format!("unsupported version {version} of {api_key:?}"));
    }
    let header = match RequestHeader::decode(&mut frame, api_key.request_header_version(version)) {
        Ok(h) => h,
        Err(e) => {
            return Err(format!(
                "malformed request header for {api_key:?} v{version}: {e}"
            ))
        }
    };
    let ctx = RequestContext {
        client_id: header.client_id.map(|c| c.to_string()).unwrap_or_default(),
        ..ctx
    };
    match RequestKind::decode(api_key, &mut frame, version) {
        Ok(request) => Ok((ctx, request)),
        Err(e) => Err(format!("malformed {api_key:?} v{version} request: {e}")),
    }
}

/// API key, version and correlation id: the first 8 bytes of every request header version.
fn request_context(frame: &[u8]) -> Result<RequestContext, String> {
    if frame.len() < 8 {
        return Err(format!("request header truncated ({} bytes)", frame.len()));
    }
    let raw_key = i16::from_be_bytes([frame[0], frame[1]]);
    let Ok(api_key) = ApiKey::try_from(raw_key) else {
        return Err(format!("unknown API key {raw_key}"));
    };
    Ok(RequestContext {
        api_key,
        version: i16::from_be_bytes([frame[2], frame[3]]),
        correlation_id: i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]),
        client_id: String::new(),
        client_host: String::new(),
        principal: None,
        listener: None,
    })
}

async fn dispatch(
    scope: &Rc<Scope>,
    ctx: &RequestContext,
    request: RequestKind,
    conn: &Connection,
) -> Outcome {
    match request {
        RequestKind::SaslHandshake(r) => sasl::handshake(scope, ctx, conn, r),
        RequestKind::SaslAuthenticate(r) => sasl::authenticate(scope, ctx, conn, r),
        RequestKind::DescribeUserScramCredentials(r) => {
            counted(scope, ctx, &scram_credentials::describe(scope, ctx, r))
        }
        RequestKind::AlterUserScramCredentials(r) => {
            counted(scope, ctx, &scram_credentials::alter(scope, ctx, r).await)
        }
        RequestKind::DescribeClientQuotas(_) => {
            counted(scope, ctx, &client_quotas::describe(scope, ctx))
        }
        RequestKind::CreateAcls(r) => counted(scope, ctx, &acls::create(scope, ctx, r).await),
        RequestKind::DescribeAcls(r) => counted(scope, ctx, &acls::describe(scope, ctx, r)),
        RequestKind::DeleteAcls(r) => counted(scope, ctx, &acls::delete(scope, ctx, r).await),
        RequestKind::ApiVersions(_) => api_versions::handle(ctx),
        RequestKind::Metadata(r) => counted(scope, ctx, &metadata::handle(scope, ctx, r).await),
        RequestKind::Produce(r) => produce::handle(scope, ctx, r).await,
        RequestKind::Fetch(r) => fetch::handle(scope, ctx, r).await,
        RequestKind::ListOffsets(r) => {
            counted(scope, ctx, &list_offsets::handle(scope, ctx, r).await)
        }
        RequestKind::CreateTopics(r) => {
            counted(scope, ctx, &create_topics::handle(scope, ctx, r).await)
        }
        RequestKind::DeleteTopics(r) => {
            counted(scope, ctx, &delete_topics::handle(scope, ctx, r).await)
        }
        RequestKind::CreatePartitions(r) => {
            counted(scope, ctx, &create_partitions::handle(scope, ctx, r).await)
        }
        RequestKind::AlterPartitionReassignments(r) => {
            counted(scope, ctx, &reassignments::alter(scope, ctx, r).await)
        }
        RequestKind::ListPartitionReassignments(r) => {
            counted(scope, ctx, &reassignments::list(scope, ctx, r).await)
        }
        RequestKind::InitProducerId(r) => {
            counted(scope, ctx, &init_producer_id::handle(scope, ctx, r).await)
        }
        RequestKind::DescribeConfigs(r) => counted(scope, ctx, &configs::describe(scope, ctx, r)),
        RequestKind::AlterConfigs(r) => counted(scope, ctx, &configs::alter(scope, ctx, r).await),
        RequestKind::IncrementalAlterConfigs(r) => {
            counted(scope, ctx, &configs::incremental_alter(scope, ctx, r).await)
        }
        RequestKind::DescribeCluster(_) => {
            counted(scope, ctx, &describe_cluster::handle(scope, ctx))
        }
        RequestKind::DescribeProducers(r) => {
            counted(scope, ctx, &describe_producers::handle(scope, ctx, r).await)
        }
        RequestKind::AddPartitionsToTxn(r) => counted(
            scope,
            ctx,
            &add_partitions_to_txn::handle(scope, ctx, r).await,
        ),
        RequestKind::AddOffsetsToTxn(r) => {
            counted(scope, ctx, &add_offsets_to_txn::handle(scope, ctx, r).await)
        }
        RequestKind::EndTxn(r) => counted(scope, ctx, &end_txn::handle(scope, ctx, r).await),
        RequestKind::TxnOffsetCommit(r) => {
            counted(scope, ctx, &txn_offset_commit::handle(scope, ctx, r).await)
        }
        RequestKind::ListTransactions(r) => {
            counted(scope, ctx, &transaction_admin::list(scope, ctx, r).await)
        }
        RequestKind::DescribeTransactions(r) => counted(
            scope,
            ctx,
            &transaction_admin::describe(scope, ctx, r).await,
        ),
        RequestKind::WriteTxnMarkers(r) => {
            counted(scope, ctx, &write_txn_markers::handle(scope, ctx, r).await)
        }
        RequestKind::DeleteRecords(r) => {
            counted(scope, ctx, &delete_records::handle(scope, ctx, r).await)
        }
        RequestKind::DescribeLogDirs(r) => {
            counted(scope, ctx, &describe_log_dirs::handle(scope, ctx, r).await)
        }
        RequestKind::FindCoordinator(r) => {
            counted(scope, ctx, &find_coordinator::handle(scope, ctx, r))
        }
        RequestKind::JoinGroup(r) => {
            counted(scope, ctx, &group_membership::join(scope, ctx, r).await)
        }
        RequestKind::SyncGroup(r) => {
            counted(scope, ctx, &group_membership::sync(scope, ctx, r).await)
        }
        RequestKind::Heartbeat(r) => counted(
            scope,
            ctx,
            &group_membership::heartbeat(scope, ctx, r).await,
        ),
        RequestKind::LeaveGroup(r) => {
            counted(scope, ctx, &group_membership::leave(scope, ctx, r).await)
        }
        RequestKind::OffsetCommit(r) => counted(scope, ctx, &offsets::commit(scope, ctx, r).await),
        RequestKind::OffsetFetch(r) => counted(scope, ctx, &offsets::fetch(scope, ctx, r).await),
        RequestKind::OffsetDelete(r) => counted(scope, ctx, &offsets::delete(scope, ctx, r).await),
        RequestKind::ListGroups(r) => counted(scope, ctx, &group_admin::list(scope, ctx, r).await),
        RequestKind::DescribeGroups(r) => {
            counted(scope, ctx, &group_admin::describe(scope, ctx, r).await)
        }
        RequestKind::DeleteGroups(r) => {
            counted(scope, ctx, &group_admin::delete(scope, ctx, r).await)
        }
        RequestKind::ConsumerGroupDescribe(r) => counted(
            scope,
            ctx,
            &consumer_group_describe::handle(scope, ctx, r).await,
        ),
        RequestKind::ConsumerGroupHeartbeat(r) => counted(
            scope,
            ctx,
            &consumer_group_heartbeat::handle(scope, ctx, r).await,
        ),
        RequestKind::OffsetForLeaderEpoch(r) => counted(
            scope,
            ctx,
            &offset_for_leader_epoch::handle(scope, ctx, r).await,
        ),
        other => {
            // Unreachable while SUPPORTED and this match agree; a clean close, never a panic.
            warn!(api = ?ctx.api_key, "advertised API has no handler");
            drop(other);
            Outcome::Close(format!("no handler for {:?}", ctx.api_key))
        }
    }
}

/// Counts the response's error codes for the metrics, then encodes it.
fn counted<R: Encodable + ErrorCodes>(scope: &Scope, ctx: &RequestContext, body: &R) -> Outcome {
    body.error_codes(&mut |code| scope.metrics.record_error(ctx.api_key, code));
    ctx.respond(body)
}

/// Like `counted`, then closes the connection once the response is sent (failed authentication).
fn counted_then_close<R: Encodable + ErrorCodes>(
    scope: &Scope,
    ctx: &RequestContext,
    body: &R,
    reason: String,
) -> Outcome {
    match counted(scope, ctx, body) {
        Outcome::Respond(frame) => Outcome::RespondAndClose(frame, reason),
        other => other,
    }
}

/// The node id and advertised endpoint of this broker, as Metadata-like responses show it: the advertised
/// address of the listener the request came in on (Kafka's rule), so each listener's clients are sent
/// back to a listener they can speak to.
pub fn broker_endpoint(scope: &Scope, ctx: &RequestContext) -> (i32, String, i32) {
    let (host, port) = match &ctx.listener {
        Some(l) => (l.advertised_host.clone(), l.advertised_port),
        None => scope.config.advertised_host_port(),
    };
    (scope.config.node_id, host, port)
}

/// A broker as Metadata-like responses list it.
pub struct BrokerEndpoint {
    pub node_id: i32,
    pub host: String,
    pub port: i32,
    pub rack: Option<String>,
}

/// Every broker clients should know, with its advertised endpoint for the request's listener: the
/// registered brokers in a cluster (ourselves as our listener says), just us on a single node.
pub fn cluster_brokers(scope: &Scope, ctx: &RequestContext) -> Vec<BrokerEndpoint> {
    let (me, host, port) = broker_endpoint(scope, ctx);
    let snapshot = scope.metadata();
    let listener = ctx.listener.as_ref().map(|l| l.name.as_str());
    let mut brokers: Vec<BrokerEndpoint> = snapshot
        .brokers
        .iter()
        .filter(|b| b.node_id != me && !snapshot.fenced_brokers.contains(&b.node_id))
        .filter_map(|b| {
            let e = b.endpoint(listener)?;
            Some(BrokerEndpoint {
                node_id: b.node_id,
                host: e.host.clone(),
                port: e.port,
                rack: b.rack.clone(),
            })
        })
        .collect();
    brokers.push(BrokerEndpoint {
        node_id: me,
        host,
        port,
        rack: scope.config.broker_rack.clone(),
    });
    brokers.sort_by_key(|b| b.node_id);
    brokers
}

/// The active controller's id as responses show it (-1 while a cluster has no quorum leader).
pub fn controller_id(scope: &Scope) -> i32 {
    scope.metadata().controller_id.unwrap_or(-1)
}

/// Runs a controller operation on the controller shard; a vanished controller reads as a storage error.
pub async fn on_controller<T, F, Fut>(
    scope: &Scope,
    op: F,
) -> Result<T, (kafka_protocol::ResponseError, String)>
where
    T: Send + 'static,
    F: FnOnce(Rc<Controller>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<T, crate::controller::ControllerError>> + 'static,
{
    match scope.controller.invoke_on(CONTROLLER_SHARD, op).await {
        Some(Ok(v)) => Ok(v),
        Some(Err(e)) => Err((errors::controller_code(&e), e.to_string())),
        None => Err((
            kafka_protocol::ResponseError::CoordinatorNotAvailable,
            "controller unavailable".into(),
        )),
    }
}
