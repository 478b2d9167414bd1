//! ApiVersions: what we implement, from `SUPPORTED`, and (v3+) the features shardlog implements with
//! their levels (`FEATURES`, what `kafka-features describe` prints and what clients key behaviour
//! on). An unknown (newer) version is answered in v0 with UNSUPPORTED_VERSION and our ranges, so the
//! client retries with a version we know.

use super::{Outcome, RequestContext, SUPPORTED};
use kafka_protocol::messages::api_versions_response::{
    ApiVersion, FinalizedFeatureKey, SupportedFeatureKey,
};
use kafka_protocol::messages::ApiVersionsResponse;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

/// A feature flag as Kafka names it: the levels this broker can run, and the one it runs. Features
/// shardlog does not implement are listed at level 0 only where a client reads them (so it does not
/// assume a default), and otherwise left out.
struct Feature {
    name: &'static str,
    min: i16,
    max: i16,
    /// The cluster's level; 0 is "off", which Kafka leaves out of the finalized list.
    finalized: i16,
}

const FEATURES: &[Feature] = &[
    // 3.3-IV3 (7, the oldest Kafka 4 brokers accept) to 4.0-IV3 (25): the API versions in
    // `SUPPORTED` are those of Kafka 4.0's metadata level.
    Feature {
        name: "metadata.version",
        min: 7,
        max: 25,
        finalized: 25,
    },
    // 1: the KIP-848 consumer group protocol (ConsumerGroupHeartbeat/Describe).
    Feature {
        name: "group.version",
        min: 0,
        max: 1,
        finalized: 1,
    },
    // 0: the classic transaction protocol (KIP-890 part 2 not yet); producers read this to choose it.
    Feature {
        name: "transaction.version",
        min: 0,
        max: 0,
        finalized: 0,
    },
];

/// Features are fixed per binary (nothing upgrades them at runtime), so their epoch never moves.
const FEATURES_EPOCH: i64 = 1;

fn response(error_code: i16) -> ApiVersionsResponse {
    let mut r = ApiVersionsResponse::default();
    r.error_code = error_code;
    r.api_keys = SUPPORTED
        .iter()
        .map(|&(key, min, max)| {
            let mut v = ApiVersion::default();
            v.api_key = key as i16;
            v.min_version = min;
            v.max_version = max;
            v
        })
        .collect();
    r.supported_features = FEATURES
        .iter()
        .map(|f| {
            let mut k = SupportedFeatureKey::default();
            k.name = StrBytes::from_static_str(f.name);
            k.min_version = f.min;
            k.max_version = f.max;
            k
        })
        .collect();
    r.finalized_features_epoch = FEATURES_EPOCH;
    r.finalized_features = FEATURES
        .iter()
        .filter(|f| f.finalized > 0)
        .map(|f| {
            let mut k = FinalizedFeatureKey::default();
            k.name = StrBytes::from_static_str(f.name);
            k.min_version_level = f.finalized;
            k.max_version_level = f.finalized;
            k
        })
        .collect();
    r
}

pub fn handle(ctx: &RequestContext) -> Outcome {
    ctx.respond(&response(0))
}

pub fn unsupported_version(ctx: RequestContext) -> Outcome {
    let v0 = RequestContext { version: 0, ..ctx };
    v0.respond(&response(ResponseError::UnsupportedVersion.code()))
}
