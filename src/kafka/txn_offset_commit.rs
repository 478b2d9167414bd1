//! TxnOffsetCommit: a transactional producer commits a group's offsets inside its transaction
//! (`sendOffsetsToTransaction`). They are written to the group's `__consumer_offsets` partition at
//! once, as a transactional batch, and become the group's committed offsets only when the
//! transaction's COMMIT marker reaches that partition (dropped on ABORT). Needs READ on the group and
//! topics (as OffsetCommit) and WRITE on the transactional id.

use super::authz::Access;
use super::offsets::{commit_offsets, CommitInput};
use super::scope::Scope;
use super::RequestContext;
use crate::security::acl::{Operation, ResourceType};
use kafka_protocol::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use kafka_protocol::messages::{TxnOffsetCommitRequest, TxnOffsetCommitResponse};
use kafka_protocol::ResponseError;
use std::rc::Rc;

pub async fn handle(
    scope: &Rc<Scope>,
    ctx: &RequestContext,
    req: TxnOffsetCommitRequest,
) -> TxnOffsetCommitResponse {
    let access = Access::of(scope, ctx);
    let id_allowed = access.allows(
        Operation::Write,
        ResourceType::TransactionalId,
        &req.transactional_id,
    );
    let input = CommitInput {
        group_id: req.group_id.0.to_string(),
        member_id: req.member_id.to_string(),
        generation: req.generation_id,
        txn: Some((req.producer_id.0, req.producer_epoch)),
        topics: req
            .topics
            .into_iter()
            .map(|t| {
                let partitions = t
                    .partitions
                    .into_iter()
                    .map(|p| {
                        let (offset, epoch) = (p.committed_offset, p.committed_leader_epoch);
                        (p.partition_index, offset, epoch, p.committed_metadata)
                    })
                    .collect();
                (t.name, partitions)
            })
            .collect(),
    };
    let answered = if id_allowed {
        commit_offsets(scope, &access, input).await
    } else {
        let code = ResponseError::TransactionalIdAuthorizationFailed.code();
        input
            .topics
            .into_iter()
            .map(|(name, ps)| (name, ps.into_iter().map(|p| (p.0, code)).collect()))
            .collect()
    };
    let mut resp = TxnOffsetCommitResponse::default();
    resp.topics = answered
        .into_iter()
        .map(|(name, codes)| {
            let mut t = TxnOffsetCommitResponseTopic::default();
            t.name = name;
            t.partitions = codes
                .into_iter()
                .map(|(p, code)| {
                    let mut r = TxnOffsetCommitResponsePartition::default();
                    r.partition_index = p;
                    r.error_code = code;
                    r
                })
                .collect();
            t
        })
        .collect();
    resp
}
