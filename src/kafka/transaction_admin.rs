//! ListTransactions and DescribeTransactions: what `kafka-transactions list` and `describe` print.
//! List asks every shard for the ids it coordinates (on this node) and filters by state, producer id
//! and (v1+) how long the transaction has run; Describe asks each id's coordinator. Both need DESCRIBE
//! on each transactional id: List leaves out the others, Describe answers
//! TRANSACTIONAL_ID_AUTHORIZATION_FAILED.

use super::authz::Access;
use super::scope::Scope;
use super::txn_routing::on_txn_shard;
use super::RequestContext;
use crate::coordinator::txn_log::{TxnRecord, TxnStatus};
use crate::security::acl::{Operation, ResourceType};
use crate::storage::log::now_ms;
use kafka_protocol::messages::describe_transactions_response::{self, TopicData};
use kafka_protocol::messages::list_transactions_response;
use kafka_protocol::messages::{
    DescribeTransactionsRequest, DescribeTransactionsResponse, ListTransactionsRequest,
    ListTransactionsResponse, ProducerId, TransactionalId,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use std::rc::Rc;

const STATES: [TxnStatus; 8] = [
    TxnStatus::Empty,
    TxnStatus::Ongoing,
    TxnStatus::PrepareCommit,
    TxnStatus::PrepareAbort,
    TxnStatus::CompleteCommit,
    TxnStatus::CompleteAbort,
    TxnStatus::Dead,
    TxnStatus::PrepareEpochFence,
];

pub async fn list(
    scope: &Rc<Scope>,
    ctx: &RequestContext,
    req: ListTransactionsRequest,
) -> ListTransactionsResponse {
    let mut resp = ListTransactionsResponse::default();
    let mut states = Vec::new();
    for f in &req.state_filters {
        match STATES.iter().find(|s| s.name() == f.as_str()) {
            Some(s) => states.push(*s),
            None => resp.unknown_state_filters.push(f.clone()),
        }
    }
    let mut all = Vec::new();
    for target in 0..scope.transactions.shards() {
        all.extend(
            scope
                .transactions
                .invoke_on(target, |txns| async move { txns.list() })
                .await
                .unwrap_or_default(),
        );
    }
    let access = Access::of(scope, ctx);
    let now = now_ms();
    let wanted = |id: &str, r: &TxnRecord| {
        (states.is_empty() || states.contains(&r.status))
            && (req.producer_id_filters.is_empty()
                || req.producer_id_filters.contains(&ProducerId(r.producer_id)))
            && (req.duration_filter < 0
                || (r.status == TxnStatus::Ongoing && now - r.start_ms > req.duration_filter))
            && access.sees(Operation::Describe, ResourceType::TransactionalId, id)
    };
    all.sort_by(|a, b| a.0.cmp(&b.0));
    resp.transaction_states = all
        .into_iter()
        .filter(|(id, r)| wanted(id, r))
        .map(|(id, r)| {
            let mut t = list_transactions_response::TransactionState::default();
            t.transactional_id = TransactionalId(StrBytes::from_string(id));
            t.producer_id = ProducerId(r.producer_id);
            t.transaction_state = StrBytes::from_static_str(r.status.name());
            t
        })
        .collect();
    resp
}

fn described(
    id: TransactionalId,
    state: Result<TxnRecord, ResponseError>,
) -> describe_transactions_response::TransactionState {
    let mut t = describe_transactions_response::TransactionState::default();
    t.transactional_id = id;
    t.producer_id = ProducerId(-1);
    t.producer_epoch = -1;
    t.transaction_start_time_ms = -1;
    match state {
        Err(e) => t.error_code = e.code(),
        Ok(r) => {
            t.transaction_state = StrBytes::from_static_str(r.status.name());
            t.transaction_timeout_ms = r.timeout_ms;
            t.transaction_start_time_ms = r.start_ms;
            t.producer_id = ProducerId(r.producer_id);
            t.producer_epoch = r.producer_epoch;
            let mut topics: Vec<TopicData> = Vec::new();
            for (topic, partition) in r.partitions {
                match topics.last_mut() {
                    Some(t) if t.topic.0.as_str() == topic => t.partitions.push(partition),
                    _ => {
                        let mut d = TopicData::default();
                        d.topic = crate::client::topic_name(&topic);
                        d.partitions = vec![partition];
                        topics.push(d);
                    }
                }
            }
            t.topics = topics;
        }
    }
    t
}

pub async fn describe(
    scope: &Rc<Scope>,
    ctx: &RequestContext,
    req: DescribeTransactionsRequest,
) -> DescribeTransactionsResponse {
    let access = Access::of(scope, ctx);
    let mut resp = DescribeTransactionsResponse::default();
    for id in req.transactional_ids {
        let name = id.0.to_string();
        let state = if !access.allows(Operation::Describe, ResourceType::TransactionalId, &name) {
            Err(ResponseError::TransactionalIdAuthorizationFailed)
        } else {
            on_txn_shard(scope, &name.clone(), move |txns, _| async move {
                txns.describe(&name)
                    .ok_or(ResponseError::TransactionalIdNotFound)
            })
            .await
        };
        resp.transaction_states.push(described(id, state));
    }
    resp
}
