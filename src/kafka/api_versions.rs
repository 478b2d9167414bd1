//! ApiVersions: what we implement, from `SUPPORTED`. An unknown (newer) version is answered in v0 with
//! UNSUPPORTED_VERSION and our ranges, so the client retries with a version we know.

use super::{Outcome, RequestContext, SUPPORTED};
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::ApiVersionsResponse;
use kafka_protocol::ResponseError;

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
    r
}

pub fn handle(ctx: &RequestContext) -> Outcome {
    ctx.respond(&response(0))
}

pub fn unsupported_version(ctx: RequestContext) -> Outcome {
    let v0 = RequestContext { version: 0, ..ctx };
    v0.respond(&response(ResponseError::UnsupportedVersion.code()))
}
