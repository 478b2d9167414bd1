//! The Kafka error codes inside each response body, for `shardlog_request_errors_total`: top-level codes
//! and every per-topic, per-partition, per-group or per-member code the response carries. Walked once
//! per response just before it is encoded; nothing is allocated.

use kafka_protocol::messages::*;

pub trait ErrorCodes {
    /// Calls `f` with every error code in the response (zeros included; the caller skips them).
    fn error_codes(&self, f: &mut dyn FnMut(i16));
}

/// `impl ErrorCodes` from a list of paths to codes: `field` for a top-level code, `[list].field` for
/// one code per element, `[list][inner].field` one level deeper.
macro_rules! error_codes {
    ($t:ty { $($path:tt)* }) => {
        impl ErrorCodes for $t {
            fn error_codes(&self, f: &mut dyn FnMut(i16)) {
                error_codes!(@walk self, f, $($path)*);
            }
        }
    };
    (@walk $s:ident, $f:ident,) => {};
    (@walk $s:ident, $f:ident, $code:ident; $($rest:tt)*) => {
        $f($s.$code);
        error_codes!(@walk $s, $f, $($rest)*);
    };
    (@walk $s:ident, $f:ident, [$list:ident] . $code:ident; $($rest:tt)*) => {
        for x in &$s.$list {
            $f(x.$code);
        }
        error_codes!(@walk $s, $f, $($rest)*);
    };
    (@walk $s:ident, $f:ident, [$list:ident][$inner:ident] . $code:ident; $($rest:tt)*) => {
        for x in &$s.$list {
            for y in &x.$inner {
                $f(y.$code);
            }
        }
        error_codes!(@walk $s, $f, $($rest)*);
    };
}

error_codes!(MetadataResponse { [topics].error_code; [topics][partitions].error_code; });
error_codes!(ListOffsetsResponse { [topics][partitions].error_code; });
error_codes!(CreateTopicsResponse { [topics].error_code; });
error_codes!(DeleteTopicsResponse { [responses].error_code; });
error_codes!(CreatePartitionsResponse { [results].error_code; });
error_codes!(AlterPartitionReassignmentsResponse { error_code; [responses][partitions].error_code; });
error_codes!(ListPartitionReassignmentsResponse { error_code; });
error_codes!(InitProducerIdResponse { error_code; });
error_codes!(DescribeConfigsResponse { [results].error_code; });
error_codes!(AlterConfigsResponse { [responses].error_code; });
error_codes!(IncrementalAlterConfigsResponse { [responses].error_code; });
error_codes!(DescribeClusterResponse { error_code; });
error_codes!(DeleteRecordsResponse { [topics][partitions].error_code; });
impl ErrorCodes for WriteTxnMarkersResponse {
    fn error_codes(&self, f: &mut dyn FnMut(i16)) {
        let partitions = self.markers.iter().flat_map(|m| &m.topics);
        for p in partitions.flat_map(|t| &t.partitions) {
            f(p.error_code);
        }
    }
}
error_codes!(AddOffsetsToTxnResponse { error_code; });
error_codes!(EndTxnResponse { error_code; });
error_codes!(ListTransactionsResponse { error_code; });
error_codes!(DescribeTransactionsResponse { [transaction_states].error_code; });
error_codes!(TxnOffsetCommitResponse { [topics][partitions].error_code; });
impl ErrorCodes for AddPartitionsToTxnResponse {
    fn error_codes(&self, f: &mut dyn FnMut(i16)) {
        // v0-3: one transaction's topics; v4+: a top-level code and per-transaction topics.
        f(self.error_code);
        let v4 = self
            .results_by_transaction
            .iter()
            .flat_map(|r| &r.topic_results);
        for t in self.results_by_topic_v3_and_below.iter().chain(v4) {
            t.results_by_partition
                .iter()
                .for_each(|p| f(p.partition_error_code));
        }
    }
}
error_codes!(DescribeProducersResponse { [topics][partitions].error_code; });
error_codes!(DescribeLogDirsResponse { error_code; [results].error_code; });
error_codes!(FindCoordinatorResponse { error_code; [coordinators].error_code; });
error_codes!(JoinGroupResponse { error_code; });
error_codes!(SyncGroupResponse { error_code; });
error_codes!(HeartbeatResponse { error_code; });
error_codes!(LeaveGroupResponse { error_code; [members].error_code; });
error_codes!(OffsetCommitResponse { [topics][partitions].error_code; });
impl ErrorCodes for OffsetFetchResponse {
    fn error_codes(&self, f: &mut dyn FnMut(i16)) {
        // v0-7: one group, top-level topics; v8+: per-group codes and topics.
        f(self.error_code);
        for t in &self.topics {
            t.partitions.iter().for_each(|p| f(p.error_code));
        }
        for g in &self.groups {
            f(g.error_code);
            for t in &g.topics {
                t.partitions.iter().for_each(|p| f(p.error_code));
            }
        }
    }
}
error_codes!(OffsetDeleteResponse { error_code; [topics][partitions].error_code; });
error_codes!(ListGroupsResponse { error_code; });
error_codes!(DescribeGroupsResponse { [groups].error_code; });
error_codes!(DeleteGroupsResponse { [results].error_code; });
error_codes!(ConsumerGroupDescribeResponse { [groups].error_code; });
error_codes!(ConsumerGroupHeartbeatResponse { error_code; });
error_codes!(SaslHandshakeResponse { error_code; });
error_codes!(SaslAuthenticateResponse { error_code; });
error_codes!(DescribeUserScramCredentialsResponse { error_code; [results].error_code; });
error_codes!(AlterUserScramCredentialsResponse { [results].error_code; });
error_codes!(DescribeClientQuotasResponse { error_code; });
error_codes!(OffsetForLeaderEpochResponse { [topics][partitions].error_code; });
error_codes!(CreateAclsResponse { [results].error_code; });
error_codes!(DescribeAclsResponse { error_code; });
error_codes!(DeleteAclsResponse { [filter_results].error_code; });
